//! `faulty`: a test model that misbehaves on request, one way per value of its `mode` input.
//!
//! It implements the generated guest bindings directly rather than through the SDK's batch loop,
//! so that it can also break the ABI (wrong number of outputs).
//!
//! | mode | behaviour |
//! |---|---|
//! | 0 | `y = x` |
//! | 1 | returns an error |
//! | 2 | panics |
//! | 3 | loops forever (out of fuel) |
//! | 4 | returns NaN |
//! | 5 | grows memory without bound |
//! | 6 | recurses without bound |
//! | 7 | executes `unreachable` |
//! | 8 | returns no outputs at all for the batch |
//! | 9 | prints to stdout and stderr, then `y = x` |
//! | 10 | fills a 4 MiB buffer with bulk memory operations (`memory.fill`) forever |
//! | 11 | divides an integer by zero (a bare `i32.div_s`, which traps) |
//! | 12 | probes the host: `y` is a bit set of what it could see (0 when nothing) |
//! | 13 | `y` is a value drawn from the host's entropy and clocks (same everywhere when reproducible) |
//! | 14 | sleeps for an hour (a blocking WASI poll: one call, no fuel), then `y = x` |
//! | 15 | honest work: `y` is the logistic map iterated 20,000 times from `x` (tens of µs) |
//! | 16 | `y = x`, but the call reports a failure at index `count`, past its last scenario |

#![allow(missing_debug_implementations)]

use mcp_model_sdk::bindings::exports::mcp::model::evaluate::{BatchOutput, Failure, Guest, Info};

/// The misbehaving model.
pub struct Faulty;

fn evaluate(mode: f64, x: f64) -> Result<f64, String> {
    match mode as i64 {
        0 => Ok(x),
        1 => Err(format!("mode 1 refuses x = {x}")),
        2 => panic!("mode 2 panics on x = {x}"),
        3 => {
            let mut i: u64 = 0;
            loop {
                i = std::hint::black_box(i.wrapping_add(1));
            }
        }
        4 => Ok(f64::NAN),
        5 => {
            // Reserve without touching, so that growing memory, not fuel, is the limit hit.
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(std::hint::black_box(Vec::with_capacity(1 << 20)));
            }
        }
        6 => Ok(recurse(std::hint::black_box(x) as u64 + 1) as f64),
        7 => unreachable_instruction(),
        9 => {
            println!("faulty says hello on stdout, x = {x}");
            eprintln!("faulty says hello on stderr");
            Ok(x)
        }
        10 => {
            let mut buffer = vec![0u8; 4 << 20];
            let mut pass: u8 = 0;
            loop {
                pass = pass.wrapping_add(1);
                buffer.fill(std::hint::black_box(pass));
                std::hint::black_box(&buffer);
            }
        }
        11 => {
            let divisor = std::hint::black_box(0i32);
            // SAFETY: deliberately false. Promising a non-zero divisor removes Rust's check, so
            // the division compiles to a bare `i32.div_s`, which WebAssembly defines to trap.
            #[allow(unsafe_code)]
            unsafe {
                core::hint::assert_unchecked(divisor != 0 && divisor != -1)
            };
            Ok(f64::from(std::hint::black_box(7i32) / divisor))
        }
        12 => Ok(f64::from(probe_host())),
        13 => Ok(entropy_and_time()),
        14 => {
            std::thread::sleep(std::time::Duration::from_secs(3600));
            Ok(x)
        }
        15 => {
            let mut y = x;
            for _ in 0..20_000 {
                y = 3.9 * y * (1.0 - y);
            }
            Ok(y)
        }
        _ => Ok(x),
    }
}

/// What the model could reach of the host, one bit each: 1 a file, 2 the working directory,
/// 4 an environment variable, 8 a program argument, 16 a TCP socket, 32 a name lookup, 64 a
/// UDP socket, 128 a wall clock past the epoch, 256 a monotonic clock that moves.
fn probe_host() -> u32 {
    let mut seen = 0;
    if std::fs::read("/etc/passwd").is_ok() || std::fs::read("faulty.wasm").is_ok() {
        seen |= 1;
    }
    if std::fs::read_dir(".").is_ok() || std::fs::read_dir("/").is_ok() {
        seen |= 2;
    }
    if std::env::vars_os().next().is_some() {
        seen |= 4;
    }
    if std::env::args_os().next().is_some() {
        seen |= 8;
    }
    if std::net::TcpStream::connect("127.0.0.1:5672").is_ok() {
        seen |= 16;
    }
    if std::net::ToSocketAddrs::to_socket_addrs("localhost:80").is_ok() {
        seen |= 32;
    }
    if std::net::UdpSocket::bind("127.0.0.1:0").is_ok() {
        seen |= 64;
    }
    let now = std::time::SystemTime::now();
    if now
        .duration_since(std::time::UNIX_EPOCH)
        .is_ok_and(|d| !d.is_zero())
    {
        seen |= 128;
    }
    let start = std::time::Instant::now();
    let mut spin: u64 = 0;
    for i in 0..100_000u64 {
        spin = std::hint::black_box(spin.wrapping_add(i));
    }
    if !start.elapsed().is_zero() {
        seen |= 256;
    }
    seen
}

/// Mixes what the host offers as entropy and time into one number: the hash seed of a
/// `HashMap` (drawn from the host's random source), and both clocks.
fn entropy_and_time() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(42);
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let hash = hasher.finish() ^ wall;
    // 52 bits keep the value exact in an f64.
    (hash >> 12) as f64
}

/// Recursion whose frames live on the wasm call stack (no locals spill to the shadow stack in
/// linear memory), so it ends in a stack-overflow trap.
#[inline(never)]
fn recurse(n: u64) -> u64 {
    if n == 0 {
        0
    } else {
        recurse(std::hint::black_box(n.wrapping_add(1))).wrapping_add(1)
    }
}

#[cfg(target_family = "wasm")]
fn unreachable_instruction() -> Result<f64, String> {
    core::arch::wasm32::unreachable()
}

#[cfg(not(target_family = "wasm"))]
fn unreachable_instruction() -> Result<f64, String> {
    unreachable!("mode 7 only makes sense in wasm")
}

impl Guest for Faulty {
    fn describe() -> Info {
        Info {
            name: "faulty".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            inputs: vec!["mode".into(), "x".into()],
            outputs: vec!["y".into()],
        }
    }

    fn run_batch(count: u32, inputs: Vec<f64>) -> BatchOutput {
        let mut values = Vec::with_capacity(count as usize);
        for (i, row) in inputs.chunks_exact(2).enumerate() {
            if row[0] as i64 == 8 {
                return BatchOutput {
                    values: Vec::new(),
                    failure: None,
                };
            }
            match evaluate(row[0], row[1]) {
                Ok(y) => values.push(y),
                Err(message) => {
                    return BatchOutput {
                        values,
                        failure: Some(Failure {
                            index: i as u32,
                            message,
                        }),
                    };
                }
            }
        }
        // Mode 16: every output, and then a failure that no scenario of the call has.
        let past_end = inputs.chunks_exact(2).any(|row| row[0] as i64 == 16);
        BatchOutput {
            values,
            failure: past_end.then(|| Failure {
                index: count,
                message: "mode 16 reports a failure past the batch".into(),
            }),
        }
    }
}

#[cfg(target_family = "wasm")]
mcp_model_sdk::bindings::__export_model_world!(Faulty with_types_in mcp_model_sdk::bindings);
