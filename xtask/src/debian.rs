//! The Debian base images the test images start from, made without a registry: `debootstrap
//! --variant=minbase` from the mirror apt uses here, trimmed, then imported into podman once
//! and kept.

use crate::containers::{Podman, STATE_DIR, run_logged};
use anyhow::{Context, Result, bail};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// The Debian archive apt uses here: the first source of this system's own release in
/// /etc/apt (`MCP_DEBIAN_MIRROR` overrides it), else deb.debian.org.
pub(crate) fn mirror() -> String {
    if let Ok(mirror) = std::env::var("MCP_DEBIAN_MIRROR") {
        return mirror;
    }
    let codename = fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("VERSION_CODENAME=").map(str::to_string))
        })
        .unwrap_or_else(|| "bookworm".into());
    let mut files = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(dir) = fs::read_dir("/etc/apt/sources.list.d") {
        let mut more: Vec<PathBuf> = dir.flatten().map(|e| e.path()).collect();
        more.sort();
        files.extend(more);
    }
    files
        .iter()
        .filter_map(|f| fs::read_to_string(f).ok())
        .find_map(|text| mirror_in(&text, &codename))
        .unwrap_or_else(|| "http://deb.debian.org/debian".into())
}

/// The archive URI that serves suite `codename` in a sources file, one-line or deb822 style.
fn mirror_in(text: &str, codename: &str) -> Option<String> {
    for stanza in text.split("\n\n") {
        let field = |name: &str| {
            stanza
                .lines()
                .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
        };
        if let (Some(uris), Some(suites)) = (field("URIs:"), field("Suites:"))
            && suites.split_whitespace().any(|s| s == codename)
        {
            return uris.split_whitespace().next().map(str::to_string);
        }
    }
    text.lines().find_map(|line| {
        let mut words = line.split_whitespace().filter(|w| !w.starts_with('['));
        let (Some("deb"), Some(uri), Some(suite)) = (words.next(), words.next(), words.next())
        else {
            return None;
        };
        (suite == codename).then(|| uri.to_string())
    })
}

/// Debian `suite` as `localhost/debian-local:SUITE`: debootstrapped, trimmed and imported when the
/// image is missing (about a minute), kept otherwise.
pub(crate) fn ensure_base(podman: &Podman, suite: &str, mirror: &str) -> Result<()> {
    let image = format!("localhost/debian-local:{suite}");
    if podman.image_exists(&image) {
        return Ok(());
    }
    let started = Instant::now();
    let rootfs = Path::new(STATE_DIR).join(format!("rootfs-{suite}"));
    if rootfs.exists() {
        fs::remove_dir_all(&rootfs)
            .with_context(|| format!("could not remove {}", rootfs.display()))?;
    }
    eprintln!(
        "debootstrap {suite} from {mirror} (about a minute; set MCP_DEBIAN_MIRROR to change)"
    );
    run_logged(
        Command::new("debootstrap")
            .args(["--variant=minbase", suite])
            .arg(&rootfs)
            .arg(mirror),
        &Path::new(STATE_DIR).join(format!("debootstrap-{suite}.log")),
    )?;
    trim_rootfs(&rootfs)?;
    let mut tar = Command::new("tar")
        .arg("-C")
        .arg(&rootfs)
        .args(["-c", "."])
        .stdout(Stdio::piped())
        .spawn()
        .context("could not start tar")?;
    let imported = podman
        .command()
        .args(["import", "--quiet"])
        .args([
            "--change",
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        ])
        .args(["--change", "CMD [\"bash\"]", "-", &image])
        .stdin(tar.stdout.take().expect("tar's stdout is piped"))
        .stdout(Stdio::null())
        .status()
        .context("could not start podman import")?;
    let tarred = tar.wait()?;
    if !imported.success() || !tarred.success() {
        bail!(
            "could not import {} as {image} (tar: {tarred}, podman import: {imported})",
            rootfs.display()
        );
    }
    fs::remove_dir_all(&rootfs)?;
    eprintln!("{image}: made in {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Leaves out of a fresh root file system what a container never reads (documentation other than
/// copyright notices, manual pages, translations, apt's lists and caches), now and, through a
/// dpkg configuration, in every package installed later.
fn trim_rootfs(rootfs: &Path) -> Result<()> {
    let clear = |dir: &str, keep: Option<&str>| -> Result<()> {
        let Ok(entries) = fs::read_dir(rootfs.join(dir)) else {
            return Ok(());
        };
        for entry in entries.flatten() {
            let path = entry.path();
            match keep {
                Some(keep) if path.is_dir() && !path.is_symlink() => {
                    for inner in fs::read_dir(&path)?.flatten() {
                        if inner.file_name() != keep {
                            remove(&inner.path())?;
                        }
                    }
                }
                _ => remove(&path)?,
            }
        }
        Ok(())
    };
    clear("usr/share/doc", Some("copyright"))?;
    for dir in [
        "usr/share/man",
        "usr/share/info",
        "usr/share/locale",
        "var/lib/apt/lists",
    ] {
        clear(dir, None)?;
    }
    clear("var/cache/apt", None)?;
    fs::write(
        rootfs.join("etc/dpkg/dpkg.cfg.d/mcp-slim"),
        "# Written by `cargo xtask images`: no documentation, manual pages or translations.\n\
         path-exclude /usr/share/doc/*\n\
         path-include /usr/share/doc/*/copyright\n\
         path-exclude /usr/share/man/*\n\
         path-exclude /usr/share/info/*\n\
         path-exclude /usr/share/locale/*\n",
    )?;
    Ok(())
}

fn remove(path: &Path) -> Result<()> {
    let removed = if path.is_dir() && !path.is_symlink() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    };
    removed.with_context(|| format!("could not remove {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mirror_is_the_one_apt_uses_for_this_release() {
        let deb822 = "Types: deb\nURIs: https://deb.nodesource.com/node_20.x\nSuites: nodistro\n\n\
                      Types: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\n\n\
                      Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\n";
        assert_eq!(
            mirror_in(deb822, "bookworm").as_deref(),
            Some("http://mirror.example/debian")
        );
        let list = "deb https://packages.cloud.google.com/apt cloud-sdk-bookworm main\n\
                    deb [arch=amd64] http://ftp.example/debian bookworm main\n";
        assert_eq!(
            mirror_in(list, "bookworm").as_deref(),
            Some("http://ftp.example/debian")
        );
        assert_eq!(mirror_in(list, "trixie"), None);
    }
}
