//! What a model instance sees of the host: WASI without authority, capped logs, and one memory
//! limit for the instance as a whole.

use bytes::Bytes;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wasmtime::component::{Resource, ResourceTable};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{DynPollable, OutputStream, Pollable, StreamResult};
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxView, WasiView};

/// Most bytes of stdout and of stderr kept per model instance; the rest is counted and dropped.
pub const LOG_CAPACITY: usize = 64 * 1024;

/// The store data of one model instance.
pub(crate) struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limiter: MemoryLimiter,
    pub(crate) stdout: CappedLog,
    pub(crate) stderr: CappedLog,
    /// Epoch ticks the current call may still run.
    pub(crate) ticks_left: u64,
    /// Set by the owner of the runner to interrupt the call at the next tick.
    pub(crate) abort: Option<Arc<AtomicBool>>,
    /// Whether the last call was interrupted through `abort`.
    pub(crate) aborted: bool,
}

impl HostState {
    /// A state granting no authority: no files, sockets, environment or arguments, closed stdin,
    /// clocks stuck at zero, and entropy from a fixed seed, so a model cannot observe the host and
    /// cannot make its results depend on when or where it runs.
    pub(crate) fn new(memory_limit_bytes: usize, abort: Option<Arc<AtomicBool>>) -> HostState {
        let stdout = CappedLog::default();
        let stderr = CappedLog::default();
        let wasi = WasiCtx::builder()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .wall_clock(FrozenClock)
            .monotonic_clock(FrozenClock)
            .secure_random(rand_pcg::Mcg128Xsl64::new(FIXED_ENTROPY_SEED))
            .insecure_random(rand_pcg::Mcg128Xsl64::new(FIXED_ENTROPY_SEED))
            .insecure_random_seed(FIXED_ENTROPY_SEED)
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .max_random_size(MAX_RANDOM_BYTES)
            .build();
        let mut table = ResourceTable::new();
        table.set_max_capacity(MAX_HOST_RESOURCES);
        HostState {
            wasi,
            table,
            limiter: MemoryLimiter::new(memory_limit_bytes),
            stdout,
            stderr,
            ticks_left: 0,
            abort,
            aborted: false,
        }
    }

    /// Called at every epoch tick while the model runs: interrupts it when the caller aborted or
    /// when its time is up.
    pub(crate) fn on_epoch_tick(&mut self) -> wasmtime::UpdateDeadline {
        if self
            .abort
            .as_ref()
            .is_some_and(|a| a.load(Ordering::Relaxed))
        {
            self.aborted = true;
            return wasmtime::UpdateDeadline::Interrupt;
        }
        if self.ticks_left == 0 {
            return wasmtime::UpdateDeadline::Interrupt;
        }
        self.ticks_left -= 1;
        wasmtime::UpdateDeadline::Continue(1)
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Most random bytes the host makes for one `get-random-bytes` call (WASI's default is 64 MiB,
/// allocated on the host before the model's memory limit can see them).
const MAX_RANDOM_BYTES: u64 = 1 << 20;

/// Most host resources (streams, pollables) one instance may hold at once; WASI's default is
/// a million, each one host memory outside the model's limit.
pub(crate) const MAX_HOST_RESOURCES: usize = 10_000;

const FIXED_ENTROPY_SEED: u128 = 0x6d63_705f_6e6f_5f65_6e74_726f_7079_2121;

/// The WASI version whose clock interface [`freeze_sleeps`] replaces.
const WASI_CLOCKS: &str = "wasi:clocks/monotonic-clock@0.2.12";

/// Replaces the monotonic clock's `subscribe-duration` and `subscribe-instant` with pollables
/// that are ready at once. A sleep is one blocking host call, out of reach of fuel and of the
/// epoch, so a model sleeping for an hour would hold its consumer thread for an hour; with time
/// frozen for models anyway, letting no time pass is both safe and consistent.
pub(crate) fn freeze_sleeps(
    linker: &mut wasmtime::component::Linker<HostState>,
) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let mut clock = linker.instance(WASI_CLOCKS)?;
    clock.func_wrap(
        "subscribe-duration",
        |mut store: wasmtime::StoreContextMut<'_, HostState>, (_nanos,): (u64,)| {
            Ok((store.data_mut().elapsed()?,))
        },
    )?;
    clock.func_wrap(
        "subscribe-instant",
        |mut store: wasmtime::StoreContextMut<'_, HostState>, (_when,): (u64,)| {
            Ok((store.data_mut().elapsed()?,))
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

impl HostState {
    /// A pollable that is already ready: a sleep that has already passed.
    fn elapsed(&mut self) -> wasmtime::Result<Resource<DynPollable>> {
        let resource = self.table.push(Elapsed)?;
        wasmtime_wasi::p2::subscribe(&mut self.table, resource)
    }
}

/// What every sleep of a model becomes: already over.
struct Elapsed;

#[async_trait::async_trait]
impl Pollable for Elapsed {
    async fn ready(&mut self) {}
}

/// A clock that always reads zero: models cannot tell the time.
struct FrozenClock;

impl HostWallClock for FrozenClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

impl HostMonotonicClock for FrozenClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}

/// Most core instances, memories and tables one model instance may create. A Rust model
/// built with the SDK makes a handful of each; the counts bound the host's bookkeeping for
/// them, which lives outside every linear memory.
pub const MAX_CORE_INSTANCES: usize = 64;
/// See [`MAX_CORE_INSTANCES`].
pub const MAX_MEMORIES: usize = 16;
/// See [`MAX_CORE_INSTANCES`].
pub const MAX_TABLES: usize = 64;
/// What one table element is counted as against the memory limit, in bytes.
const TABLE_ELEMENT_BYTES: usize = 8;

/// Holds the whole instance (every memory and every table of every core instance a component
/// creates, counted together) within one limit, and remembers when it refused growth.
pub(crate) struct MemoryLimiter {
    limit: usize,
    /// Bytes reserved so far by memories, and by tables at [`TABLE_ELEMENT_BYTES`] an element.
    used: usize,
    /// Whether the model tried to grow past the limit since the last reset.
    pub(crate) hit: bool,
}

impl MemoryLimiter {
    pub(crate) fn new(limit: usize) -> MemoryLimiter {
        MemoryLimiter {
            limit,
            used: 0,
            hit: false,
        }
    }

    /// Reserves `more` bytes, or refuses naming the limit and what the instance would hold.
    fn reserve(&mut self, more: usize, what: &str) -> wasmtime::Result<bool> {
        let total = self.used.saturating_add(more);
        if total > self.limit {
            self.hit = true;
            return Err(wasmtime::format_err!(
                "memory limit of {} MiB reached (the model's memories and tables would hold {} \
                 MiB with this {what}); raise limits.memory_mib if the model needs more",
                self.limit >> 20,
                total.div_ceil(1 << 20)
            ));
        }
        self.used = total;
        Ok(true)
    }
}

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.reserve(desired.saturating_sub(current), "memory growth")
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let more = desired.saturating_sub(current);
        self.reserve(more.saturating_mul(TABLE_ELEMENT_BYTES), "table growth")
    }

    fn instances(&self) -> usize {
        MAX_CORE_INSTANCES
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES
    }

    fn tables(&self) -> usize {
        MAX_TABLES
    }
}

/// Output a model wrote, kept up to [`LOG_CAPACITY`] bytes per instance; writes never fail, so a
/// chatty model is not broken by its log being full.
#[derive(Clone, Default)]
pub(crate) struct CappedLog {
    inner: Arc<Mutex<LogBuffer>>,
}

#[derive(Default)]
struct LogBuffer {
    unread: Vec<u8>,
    kept: usize,
    truncated: bool,
}

impl CappedLog {
    /// Takes what was written since the last call, lossily decoded.
    pub(crate) fn take(&self) -> String {
        let mut buf = self.inner.lock().expect("log lock");
        let text = String::from_utf8_lossy(&buf.unread).into_owned();
        buf.unread.clear();
        text
    }

    fn write(&self, bytes: &[u8]) {
        let mut buf = self.inner.lock().expect("log lock");
        let room = LOG_CAPACITY.saturating_sub(buf.kept);
        let n = room.min(bytes.len());
        buf.unread.extend_from_slice(&bytes[..n]);
        buf.kept += n;
        if n < bytes.len() && !buf.truncated {
            buf.truncated = true;
            buf.unread
                .extend_from_slice(b"\n[mcp: model output truncated at 64 KiB per stream]\n");
        }
    }
}

impl IsTerminal for CappedLog {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CappedLog {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        // Only WASI 0.3 guests use this interface, and the sandbox links WASI 0.2 alone.
        Box::new(tokio::io::sink())
    }
}

#[async_trait::async_trait]
impl Pollable for CappedLog {
    async fn ready(&mut self) {}
}

impl OutputStream for CappedLog {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        CappedLog::write(self, &bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 * 1024)
    }
}
