//! `cargo xtask web`: the dashboard's npm packages; and the Chromium the browser test drives.

use crate::{apt_install, on_path, project_root, run};
use anyhow::{Result, bail};
use std::path::Path;
use std::process::Command;

/// Installs the dashboard's npm packages, exactly as `web/package-lock.json` pins them. The
/// chart library is compiled into the binary, so this runs before any build of `mcp-server`
/// that should have charts.
pub(crate) fn web() -> Result<()> {
    let web = project_root().join("web");
    if !on_path("npm") {
        bail!("npm is not installed; install Node.js (it brings npm), then run `cargo xtask web`");
    }
    run(Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&web))
}

/// Debian's Chromium for the browser test: the one on the machine, else installed with apt-get.
pub(crate) fn ensure_chromium() -> Result<String> {
    if let Ok(path) = std::env::var("MCP_TEST_CHROMIUM") {
        return Ok(path);
    }
    const CHROMIUM: &str = "/usr/bin/chromium";
    if !Path::new(CHROMIUM).is_file() {
        if !on_path("apt-get") {
            bail!(
                "the browser test needs Chromium at {CHROMIUM}: install Debian's `chromium` and \
                 `chromium-driver` packages, or set MCP_TEST_CHROMIUM to a Chromium binary"
            );
        }
        apt_install(&["chromium", "chromium-driver"])?;
    }
    Ok(CHROMIUM.to_string())
}
