//! Test helpers: finding the model components that `cargo xtask build-models` wrote, waiting
//! for a condition with a deadline, and (feature `fixtures`) small jobs, results and heartbeats.
//!
//! Tests never hard-code paths: they ask for a model by name and get a clear message naming the
//! command to run when it has not been built. Tests never sleep in place of synchronising: they
//! wait for the state they need with [`eventually`]. Used only as a dev-dependency (and by
//! xtask, for [`eventually`]).

#[cfg(feature = "fixtures")]
pub mod fixtures;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How often [`eventually`] looks again.
const POLL: Duration = Duration::from_millis(20);

/// Calls `check` until it returns `Some`, at most until `deadline` has passed, and returns
/// what it returned; panics naming `what` it waited for when the deadline passes first.
pub fn eventually<T>(what: &str, deadline: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    match within(deadline, &mut check) {
        Some(value) => value,
        None => panic!("gave up after {deadline:?} waiting for {what}"),
    }
}

/// [`eventually`] inside a tokio runtime: awaits `check` until it returns `Some`, at most for
/// a minute, sleeping without blocking the runtime between tries.
#[cfg(feature = "async")]
pub async fn eventually_async<T, F, Fut>(mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < until, "gave up after a minute waiting");
        tokio::time::sleep(POLL).await;
    }
}

/// Calls `check` until it returns `Some`, at most until `deadline` has passed; `None` when
/// the deadline passed first (for callers that report the failure themselves).
pub fn within<T>(deadline: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let until = Instant::now() + deadline;
    loop {
        if let Some(value) = check() {
            return Some(value);
        }
        if Instant::now() >= until {
            return None;
        }
        std::thread::sleep(POLL);
    }
}

/// The target directory of the running test binary (`target/debug/deps/<test>` → `target`).
pub fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        let dir = PathBuf::from(dir);
        if dir.is_absolute() {
            return dir;
        }
    }
    let exe = std::env::current_exe().expect("test binary path");
    exe.ancestors()
        .find(|p| p.join("models").is_dir() || p.file_name().is_some_and(|n| n == "target"))
        .map(Path::to_path_buf)
        .unwrap_or_else(|| {
            exe.parent()
                .unwrap()
                .parent()
                .unwrap()
                .parent()
                .unwrap()
                .to_path_buf()
        })
}

/// Path of the built model `name`; panics with the command to build it when it is missing.
pub fn model_path(name: &str) -> PathBuf {
    let path = target_dir().join("models").join(format!("{name}.wasm"));
    assert!(
        path.exists(),
        "{} does not exist; build the models first with `cargo xtask build-models` (or run the \
         tests with `cargo xtask test`)",
        path.display()
    );
    path
}

/// The bytes of the built model `name`.
pub fn model_bytes(name: &str) -> Vec<u8> {
    std::fs::read(model_path(name)).expect("read the model")
}

/// Path of a file in the project, from the project root (e.g. `example-models/sum/vars.toml`).
///
/// The root is found from the package under test, which `cargo test` names at run time: the
/// directory this crate was compiled in may be another checkout sharing the target directory.
pub fn project_file(relative: &str) -> PathBuf {
    let package = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    let root = package
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").is_file())
        .unwrap_or(&package);
    root.join(relative)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eventually_returns_what_the_check_found_and_gives_up_at_the_deadline() {
        let mut calls = 0;
        let found = eventually("the third call", Duration::from_secs(5), || {
            calls += 1;
            (calls == 3).then_some(calls)
        });
        assert_eq!(found, 3);
        assert_eq!(within(Duration::from_millis(50), || None::<()>), None);
        let gave_up = std::panic::catch_unwind(|| {
            eventually("nothing", Duration::ZERO, || None::<()>);
        });
        let message = *gave_up.unwrap_err().downcast::<String>().unwrap();
        assert_eq!(message, "gave up after 0ns waiting for nothing");
    }
}
