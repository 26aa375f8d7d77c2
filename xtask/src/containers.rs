//! `cargo xtask images`: the container images the deployment tests run, built on this machine
//! from Debian packages alone (no container registry is needed), then the offline checks of
//! `deploy/` (`deploy::check_deploy_files`).
//!
//! Podman keeps the images in a storage root of its own outside the repository
//! ([`STATE_DIR`]`/root`, run state in [`RUN_DIR`]), configured by the `containers.conf` written
//! beside it (runc, which works with this machine's cgroups, and ulimits within its hard limits),
//! so they survive between runs:
//!
//! - `localhost/debian-local:bookworm` and `:trixie`: `debootstrap --variant=minbase` from the
//!   Debian mirror apt uses, trimmed and imported once, then kept (`debian.rs`);
//! - `localhost/mcp-rabbitmq:3` (bookworm: RabbitMQ 3.10), `localhost/mcp-rabbitmq:4` (trixie:
//!   RabbitMQ 4.x) and `localhost/mcp-prometheus`, from `deploy/images/` (podman's layer cache
//!   makes their rebuild a second or two while nothing changed);
//! - `localhost/mcp:test`: `deploy/Dockerfile`'s `prebuilt` target around a binary built on the
//!   host, rebuilt every run.
//!
//! Other xtask code calls [`ensure_images`] and drives the result through [`Podman`]: podman
//! itself, docker-compose against [`Podman::service`], and `podman kube play` of a kustomize
//! overlay through [`Podman::kube_play`].

use crate::{on_path, project_root, run, shown, target_dir};
use anyhow::{Context, Result, bail};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The mcp image the tests run: `deploy/Dockerfile`'s `prebuilt` target.
pub(crate) const MCP_IMAGE: &str = "localhost/mcp:test";
/// RabbitMQ 4.x (Debian trixie's package).
pub(crate) const RABBITMQ_IMAGE: &str = "localhost/mcp-rabbitmq:4";
/// RabbitMQ 3.10 (Debian bookworm's package).
pub(crate) const RABBITMQ3_IMAGE: &str = "localhost/mcp-rabbitmq:3";
/// Prometheus (Debian bookworm's package).
pub(crate) const PROMETHEUS_IMAGE: &str = "localhost/mcp-prometheus";
/// The runtime base of [`MCP_IMAGE`].
const RUNTIME_BASE: &str = "localhost/debian-local:bookworm";

/// Podman's storage and what else outlives a run: images, the validators' virtualenv.
pub(crate) const STATE_DIR: &str = "/var/lib/mcp-containers";
/// Podman's run state (containers' runtime files, the API sockets).
pub(crate) const RUN_DIR: &str = "/run/mcp-containers";

/// runc, because crun refuses this machine's hybrid cgroups; ulimits at or under its hard limits,
/// since podman's defaults exceed them and every container start would fail on setrlimit; and
/// networks of our own (`--root` does not move them: they live in /etc/containers/networks).
const CONTAINERS_CONF: &str = "\
# Written by `cargo xtask images` (xtask/src/containers.rs).
[containers]
default_ulimits = [\"nofile=20000:20000\", \"nproc=32768:32768\"]
[engine]
runtime = \"runc\"
[network]
network_config_dir = \"/var/lib/mcp-containers/networks\"
";

/// The tools this module runs (a program on PATH, or a file by its absolute path), each with the
/// Debian package that brings it.
const APT_TOOLS: &[(&str, &str)] = &[
    ("podman", "podman"),
    ("runc", "runc"),
    // The CNI plugin that lets containers on a compose or pod network find each other by name
    // (podman 4.3 only recommends it, and recommends are not installed here).
    (
        "/usr/lib/cni/dnsname",
        "golang-github-containernetworking-plugin-dnsname",
    ),
    // The init of the pause image `podman kube play` builds for its pods (also a recommend).
    ("catatonit", "catatonit"),
    ("debootstrap", "debootstrap"),
    ("docker-compose", "docker-compose"),
    ("promtool", "prometheus"),
];

/// `cargo xtask images [--binary PATH]`: the tools, the images, then the offline checks.
pub(crate) fn images(args: &[String]) -> Result<()> {
    let binary = match args {
        [] => default_binary(),
        [flag, path] if flag == "--binary" => PathBuf::from(path),
        _ => bail!("usage: cargo xtask images [--binary PATH]"),
    };
    let podman = ensure_images(&binary)?;
    crate::deploy::check_deploy_files()?;
    run(podman
        .command()
        .args(["images", "--filter", "reference=localhost/*"]))
}

/// The mcp binary the image wraps when none is named: `$MCP_BINARY`, else the release build in
/// the target directory.
pub(crate) fn default_binary() -> PathBuf {
    std::env::var_os("MCP_BINARY")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("release/mcp"))
}

/// Installs what is missing (tools, validators) and builds what is not cached, then
/// [`MCP_IMAGE`] around `binary`. Returns the podman that holds the images.
pub(crate) fn ensure_images(binary: &Path) -> Result<Podman> {
    if !binary.is_file() {
        bail!(
            "no mcp binary at {}: build one with `cargo xtask web && cargo build --release -p \
             mcp-cli`, or name one with `cargo xtask images --binary PATH` (or MCP_BINARY)",
            binary.display()
        );
    }
    ensure_tools()?;
    let podman = Podman::new()?;
    let mirror = crate::debian::mirror();
    std::thread::scope(|s| {
        let bases = ["bookworm", "trixie"].map(|suite| {
            let (podman, mirror) = (&podman, &mirror);
            s.spawn(move || crate::debian::ensure_base(podman, suite, mirror))
        });
        bases
            .into_iter()
            .try_for_each(|b| b.join().expect("base image thread panicked"))
    })?;
    let images = project_root().join("deploy/images");
    for (tag, containerfile, suite) in [
        (RABBITMQ3_IMAGE, "rabbitmq.Containerfile", "bookworm"),
        (RABBITMQ_IMAGE, "rabbitmq.Containerfile", "trixie"),
        (PROMETHEUS_IMAGE, "prometheus.Containerfile", "bookworm"),
    ] {
        let base = format!("BASE=localhost/debian-local:{suite}");
        podman.build(&images.join(containerfile), &images, tag, &[&base], None)?;
    }
    // The build context is a directory holding only the binary: the repository root would do
    // (its .dockerignore lets target/release/mcp through), but the binary may live elsewhere.
    let context = Path::new(STATE_DIR).join("mcp-context");
    fs::create_dir_all(&context)
        .with_context(|| format!("could not create {}", context.display()))?;
    fs::copy(binary, context.join("mcp")).with_context(|| {
        format!(
            "could not copy {} into {}",
            binary.display(),
            context.display()
        )
    })?;
    podman.build(
        &project_root().join("deploy/Dockerfile"),
        &context,
        MCP_IMAGE,
        &[&format!("RUNTIME_IMAGE={RUNTIME_BASE}"), "MCP_BINARY=mcp"],
        Some("prebuilt"),
    )?;
    // The images the rebuilt tags replaced (their layers stay cached under the current ones).
    podman.output(&["image", "prune", "--force"])?;
    Ok(podman)
}

/// Installs the tools with apt-get (and the manifest validators into their virtualenv) when they
/// are missing; fails with the command that installs them when it cannot.
pub(crate) fn ensure_tools() -> Result<()> {
    let missing: Vec<&str> = APT_TOOLS
        .iter()
        .filter(|(tool, _)| {
            if tool.starts_with('/') {
                !Path::new(tool).is_file()
            } else {
                !on_path(tool)
            }
        })
        .map(|(_, package)| *package)
        .collect();
    if !missing.is_empty() {
        let install = format!(
            "apt-get install -y --no-install-recommends {}",
            missing.join(" ")
        );
        if !on_path("apt-get") {
            bail!("missing tools; on Debian, install them with `{install}`");
        }
        run(Command::new("apt-get").args(["update", "-qq"]))
            .with_context(|| format!("could not install the missing tools: run `{install}`"))?;
        run(Command::new("apt-get")
            .args(["install", "-y", "-qq", "--no-install-recommends"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive"))
        .with_context(|| format!("could not install the missing tools: run `{install}` as root"))?;
    }
    if !on_path("kubectl") {
        bail!(
            "kubectl is not installed (1.27 or newer: `kubectl kustomize` renders deploy/k8s); see \
             https://kubernetes.io/docs/tasks/tools/"
        );
    }
    ensure_venv()?;
    Ok(())
}

/// The virtualenv holding the manifest validators (`deploy/k8s/validate/requirements.txt`),
/// (re)installed when the requirements changed.
pub(crate) fn ensure_venv() -> Result<PathBuf> {
    let venv = Path::new(STATE_DIR).join("venv");
    let requirements = project_root().join("deploy/k8s/validate/requirements.txt");
    let wanted = fs::read_to_string(&requirements)
        .with_context(|| format!("could not read {}", requirements.display()))?;
    let stamp = venv.join("installed-requirements.txt");
    if fs::read_to_string(&stamp).is_ok_and(|installed| installed == wanted) {
        return Ok(venv);
    }
    if !venv.join("bin/python").is_file() {
        run(Command::new("python3").arg("-m").arg("venv").arg(&venv)).with_context(|| {
            format!(
                "could not create the validators' virtualenv {}; on Debian `apt-get install \
                 python3-venv` brings what `python3 -m venv` needs",
                venv.display()
            )
        })?;
    }
    run(Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
        .arg(&requirements))
    .with_context(|| {
        format!(
            "could not install the manifest validators: try `{} install -r {}`",
            venv.join("bin/pip").display(),
            requirements.display()
        )
    })?;
    fs::write(&stamp, wanted)?;
    Ok(venv)
}

/// Runs `cmd` with its output in `log`; on failure, names the command and shows the log's end.
pub(crate) fn run_logged(cmd: &mut Command, log: &Path) -> Result<()> {
    let file =
        fs::File::create(log).with_context(|| format!("could not create {}", log.display()))?;
    let status = cmd
        .stdout(file.try_clone()?)
        .stderr(file)
        .status()
        .with_context(|| format!("could not start {}", shown(cmd)))?;
    if status.success() {
        return Ok(());
    }
    let text = fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(25)..].join("\n");
    bail!(
        "{} failed with {status}; the end of its log ({}):\n{tail}",
        shown(cmd),
        log.display()
    )
}

/// Podman with this module's storage root, run root and `containers.conf`.
#[derive(Debug, Clone)]
pub(crate) struct Podman {
    root: PathBuf,
    runroot: PathBuf,
    conf: PathBuf,
}

impl Podman {
    /// Creates the directories and writes `containers.conf` when it differs.
    pub(crate) fn new() -> Result<Podman> {
        let podman = Podman {
            root: Path::new(STATE_DIR).join("root"),
            runroot: PathBuf::from(RUN_DIR),
            conf: Path::new(STATE_DIR).join("containers.conf"),
        };
        for dir in [&podman.root, &podman.runroot] {
            fs::create_dir_all(dir).with_context(|| {
                format!(
                    "could not create {} (podman's storage needs root)",
                    dir.display()
                )
            })?;
        }
        if fs::read_to_string(&podman.conf).ok().as_deref() != Some(CONTAINERS_CONF) {
            fs::write(&podman.conf, CONTAINERS_CONF)
                .with_context(|| format!("could not write {}", podman.conf.display()))?;
        }
        Ok(podman)
    }

    /// `podman --root ... --runroot ...` with `CONTAINERS_CONF` set; add the arguments.
    pub(crate) fn command(&self) -> Command {
        let mut cmd = Command::new("podman");
        cmd.env("CONTAINERS_CONF", &self.conf)
            .arg("--root")
            .arg(&self.root)
            .arg("--runroot")
            .arg(&self.runroot);
        cmd
    }

    /// Runs `podman ARGS`, failing with the command line when it fails.
    pub(crate) fn run(&self, args: &[&str]) -> Result<()> {
        run(self.command().args(args))
    }

    /// The standard output of `podman ARGS`; fails with the command line and its stderr.
    pub(crate) fn output(&self, args: &[&str]) -> Result<String> {
        let mut cmd = self.command();
        cmd.args(args);
        let out = cmd
            .output()
            .with_context(|| format!("could not start {}", shown(&cmd)))?;
        if !out.status.success() {
            bail!(
                "{} failed with {}: {}",
                shown(&cmd),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    pub(crate) fn image_exists(&self, image: &str) -> bool {
        self.command()
            .args(["image", "exists", image])
            .status()
            .is_ok_and(|s| s.success())
    }

    /// `podman build` in the docker image format (the OCI format drops HEALTHCHECK), never
    /// pulling: every base is local. The output goes to a log shown when the build fails.
    fn build(
        &self,
        containerfile: &Path,
        context: &Path,
        tag: &str,
        build_args: &[&str],
        target: Option<&str>,
    ) -> Result<()> {
        let started = Instant::now();
        let mut cmd = self.command();
        cmd.args(["build", "--format", "docker", "--pull=never", "--file"])
            .arg(containerfile)
            .args(["--tag", tag]);
        for arg in build_args {
            cmd.args(["--build-arg", arg]);
        }
        if let Some(target) = target {
            cmd.args(["--target", target]);
        }
        cmd.arg(context);
        let log = Path::new(STATE_DIR).join(format!(
            "build-{}.log",
            tag.trim_start_matches("localhost/")
                .replace([':', '/'], "-")
        ));
        run_logged(&mut cmd, &log)?;
        eprintln!("{tag}: built in {:.1} s", started.elapsed().as_secs_f64());
        Ok(())
    }

    /// A `podman system service` on a socket of its own, for docker-compose; stopped on drop.
    pub(crate) fn service(&self) -> Result<PodmanService> {
        let socket = Path::new(RUN_DIR).join(format!("podman-{}.sock", std::process::id()));
        let _ = fs::remove_file(&socket);
        let log = Path::new(RUN_DIR).join(format!("podman-service-{}.log", std::process::id()));
        let mut cmd = self.command();
        cmd.args(["system", "service", "--time", "0"])
            .arg(format!("unix://{}", socket.display()))
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log)?);
        let child = cmd
            .spawn()
            .with_context(|| format!("could not start {}", shown(&cmd)))?;
        let mut service = PodmanService {
            child,
            socket,
            log: log.clone(),
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        while std::os::unix::net::UnixStream::connect(&service.socket).is_err() {
            if let Some(status) = service.child.try_wait()? {
                bail!(
                    "{} exited with {status}: {}",
                    shown(&cmd),
                    fs::read_to_string(&log).unwrap_or_default().trim()
                );
            }
            if Instant::now() > deadline {
                bail!(
                    "{} opened no socket in 15 s: {}",
                    shown(&cmd),
                    fs::read_to_string(&log).unwrap_or_default().trim()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(service)
    }

    /// Runs the kustomize overlay `overlay` (e.g. deploy/k8s/test) with `podman kube play` on
    /// `network` (created with DNS when missing, so pods find each other by name); torn down on
    /// drop. podman 4.3 cannot read back the Secrets it plays, so they become podman secrets of
    /// the form it reads (deploy/k8s/test/podman_secrets.py).
    pub(crate) fn kube_play(&self, overlay: &Path, network: &str) -> Result<KubePlay> {
        if !self
            .command()
            .args(["network", "exists", network])
            .status()?
            .success()
        {
            self.run(&["network", "create", network])?;
        }
        let rendered = kustomize(overlay)?;
        let dir = Path::new(RUN_DIR).join(format!("kube-{}", std::process::id()));
        let secrets_dir = dir.join("secrets");
        fs::create_dir_all(&secrets_dir)?;
        let venv = ensure_venv()?;
        let mut split = Command::new(venv.join("bin/python"));
        split
            .arg(project_root().join("deploy/k8s/test/podman_secrets.py"))
            .arg(&secrets_dir)
            .stdin(fs::File::open(&rendered)?)
            .stdout(fs::File::create(dir.join("play.yaml"))?);
        run(&mut split)?;
        let mut play = KubePlay {
            podman: self.clone(),
            file: dir.join("play.yaml"),
            dir: dir.clone(),
            secrets: Vec::new(),
        };
        for entry in fs::read_dir(&secrets_dir)?.flatten() {
            let path = entry.path();
            let name = path
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let _ = self.output(&["secret", "rm", &name]);
            self.run(&["secret", "create", &name, &path.to_string_lossy()])?;
            play.secrets.push(name);
        }
        self.run(&[
            "kube",
            "play",
            "--network",
            network,
            &play.file.to_string_lossy(),
        ])?;
        Ok(play)
    }
}

/// A running `podman system service`: docker-compose talks to it through [`Self::compose`].
#[derive(Debug)]
pub(crate) struct PodmanService {
    child: Child,
    socket: PathBuf,
    log: PathBuf,
}

impl PodmanService {
    /// `unix:///...`, for DOCKER_HOST.
    pub(crate) fn docker_host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// `docker-compose` on deploy/compose.yaml with the test override (local images, no Grafana)
    /// and deploy/.env.example, as project `project`, against this service; add the arguments
    /// (`up -d --scale consumer=4`, `down -v`, ...).
    pub(crate) fn compose(&self, project: &str) -> Command {
        let deploy = project_root().join("deploy");
        let mut cmd = Command::new("docker-compose");
        cmd.env("DOCKER_HOST", self.docker_host())
            .arg("--file")
            .arg(deploy.join("compose.yaml"))
            .arg("--file")
            .arg(deploy.join("compose.test.yaml"))
            .arg("--env-file")
            .arg(deploy.join(".env.example"))
            .args(["--project-name", project]);
        cmd
    }
}

impl Drop for PodmanService {
    fn drop(&mut self) {
        // SIGTERM lets it close the socket; it holds no state of its own.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
        let _ = fs::remove_file(&self.socket);
        let _ = fs::remove_file(&self.log);
    }
}

/// Manifests played by [`Podman::kube_play`]; `podman kube down` and the secrets and volumes
/// removed on drop.
#[derive(Debug)]
pub(crate) struct KubePlay {
    podman: Podman,
    file: PathBuf,
    dir: PathBuf,
    secrets: Vec<String>,
}

impl Drop for KubePlay {
    fn drop(&mut self) {
        let file = self.file.to_string_lossy().into_owned();
        let _ = self.podman.output(&["kube", "down", &file]);
        for secret in &self.secrets {
            let _ = self.podman.output(&["secret", "rm", secret]);
        }
        // PersistentVolumeClaims and emptyDirs became named volumes, which `kube down` keeps.
        let _ = self.podman.output(&["volume", "prune", "--force"]);
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// `kubectl kustomize DIR`, written to a file of its own under RUN_DIR; returns its path.
pub(crate) fn kustomize(dir: &Path) -> Result<PathBuf> {
    let mut cmd = Command::new("kubectl");
    cmd.arg("kustomize").arg(dir);
    let out = cmd
        .output()
        .with_context(|| format!("could not start {}", shown(&cmd)))?;
    if !out.status.success() {
        bail!(
            "{} failed: {}",
            shown(&cmd),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let relative = dir.strip_prefix(project_root()).unwrap_or(dir);
    let name = relative.to_string_lossy().replace('/', "-");
    fs::create_dir_all(RUN_DIR)?;
    let path = Path::new(RUN_DIR).join(format!("rendered-{name}.yaml"));
    fs::write(&path, out.stdout)?;
    Ok(path)
}
