//! `cargo xtask chaos`: a soak under faults, with exact accounting.
//!
//! Four consumers, `mcp serve` and `mcp submit --wait` run a job of the `faulty` model's honest
//! work mode on the local RabbitMQ, while this task SIGKILLs a random consumer every one to four
//! seconds and starts a new one, and restarts the broker (`rabbitmqctl stop_app` / `start_app`)
//! when the job is a third and two thirds done. At the end, the summary that `mcp submit` printed
//! and the job `mcp serve` recorded must both equal the embedded run's: every scenario counted
//! once, the outputs identical to the last bit.

use crate::broker::ensure_broker;
use crate::{run, target_dir};
use anyhow::{Context, Result, bail};
use mcp_testkit::within;
use serde_json::Value;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const USAGE: &str =
    "cargo xtask chaos [--scenarios N] [--min-seconds S] [--consumers K] [--seed X] [--debug]";

struct Options {
    scenarios: u64,
    min_seconds: u64,
    consumers: usize,
    kill_every_ms: u64,
    seed: u64,
    debug: bool,
}

impl Options {
    fn parse(args: &[String]) -> Result<Options> {
        let mut o = Options {
            scenarios: 6_000_000,
            min_seconds: 180,
            consumers: 4,
            kill_every_ms: 2500,
            seed: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_secs(),
            debug: false,
        };
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let mut value = || -> Result<u64> {
                let v = it
                    .next()
                    .with_context(|| format!("{flag} needs a value; {USAGE}"))?;
                v.parse()
                    .with_context(|| format!("{flag} {v}: not a whole number; {USAGE}"))
            };
            match flag.as_str() {
                "--scenarios" => o.scenarios = value()?,
                "--min-seconds" => o.min_seconds = value()?,
                "--consumers" => o.consumers = value()?.max(1) as usize,
                "--kill-every-ms" => o.kill_every_ms = value()?.max(100),
                "--seed" => o.seed = value()?,
                "--debug" => o.debug = true,
                other => bail!("unknown flag `{other}`; {USAGE}"),
            }
        }
        Ok(o)
    }
}

/// A small deterministic generator, so that a run's faults replay with its `--seed`.
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: u64) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) % n
    }
}

/// The processes of the run, killed when it ends however it ends.
struct Fleet {
    mcp: PathBuf,
    broker: String,
    prefix: String,
    logs: PathBuf,
    consumers: Vec<Child>,
    started: usize,
    others: Vec<Child>,
}

impl Fleet {
    fn log(&self, name: &str) -> Result<std::fs::File> {
        Ok(std::fs::File::create(self.logs.join(name))?)
    }

    fn start_consumer(&mut self) -> Result<Child> {
        self.started += 1;
        let id = format!("chaos-{}", self.started);
        Ok(Command::new(&self.mcp)
            .args([
                "consumer",
                "--broker",
                &self.broker,
                "--prefix",
                &self.prefix,
            ])
            .args(["--id", &id, "--threads", "1"])
            .stdout(Stdio::null())
            .stderr(self.log(&format!("{id}.log"))?)
            .spawn()?)
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for child in self.consumers.iter_mut().chain(self.others.iter_mut()) {
            let _ = child.kill();
            let _ = child.wait();
        }
        crate::broker::delete_queues(&self.prefix);
    }
}

fn get(url: &str) -> Result<Value> {
    Ok(ureq::get(url).call()?.body_mut().read_json()?)
}

fn rabbitmqctl(args: &[&str]) -> Result<()> {
    run(Command::new("rabbitmqctl").args(args).stdout(Stdio::null()))
}

/// The parts of a summary that must match: count, failures, outputs.
fn accounted(summary: &Value) -> (Value, Value, String) {
    (
        summary["scenarios"].clone(),
        summary["failed"].clone(),
        summary["outputs"].to_string(),
    )
}

pub(crate) fn chaos(args: &[String]) -> Result<()> {
    let o = Options::parse(args)?;
    let broker = ensure_broker()?.url;
    crate::models::build_model("faulty", crate::languages::Install::NameTheCommand)?;
    let profile = if o.debug { "debug" } else { "release" };
    let mut build = crate::cargo();
    build.args(["build", "--package", "mcp-cli"]);
    if !o.debug {
        build.arg("--release");
    }
    run(&mut build)?;
    let mcp = target_dir().join(profile).join("mcp");
    let model = target_dir().join("models/faulty.wasm");
    let dir = target_dir().join("chaos");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let spec = dir.join("vars.toml");
    std::fs::write(
        &spec,
        format!(
            "# The soak job of `cargo xtask chaos`: the faulty model's honest work mode.\n\
             [simulation]\nscenarios = {}\nseed = {}\nbatch = 1000\n\n\
             [variables]\nmode = {{ dist = \"constant\", value = 15 }}\n\
             x = {{ dist = \"uniform\", min = 0.01, max = 0.99 }}\n",
            o.scenarios, o.seed
        ),
    )?;
    println!(
        "chaos: {} scenarios, {} consumers, seed {} (logs in {})",
        o.scenarios,
        o.consumers,
        o.seed,
        dir.display()
    );

    let mut fleet = Fleet {
        mcp: mcp.clone(),
        broker: broker.clone(),
        prefix: format!("chaos-{}", std::process::id()),
        logs: dir.clone(),
        consumers: Vec::new(),
        started: 0,
        others: Vec::new(),
    };
    let api = start_serve(&mut fleet, &dir.join("history.sqlite3"))?;
    for _ in 0..o.consumers {
        let c = fleet.start_consumer()?;
        fleet.consumers.push(c);
    }
    let (m, s) = (model.to_str().unwrap(), spec.to_str().unwrap());
    let submit = Command::new(&mcp)
        .args(["submit", m, "--spec", s, "--broker", &broker])
        .args(["--prefix", &fleet.prefix, "--wait", "--json"])
        .stdout(fleet.log("submit.json")?)
        .stderr(fleet.log("submit.log")?)
        .spawn()?;
    fleet.others.push(submit);
    let started = Instant::now();

    let mut dice = Dice(o.seed);
    // A kill every `kill_every_ms` on average, uniformly between half and one and a half of it.
    let gap =
        |dice: &mut Dice| Duration::from_millis(o.kill_every_ms / 2 + dice.below(o.kill_every_ms));
    let mut next_kill = started + gap(&mut dice);
    let (mut kills, mut restarts) = (0u32, 0u32);
    let status = loop {
        if let Some(status) = fleet.others.last_mut().unwrap().try_wait()? {
            break status;
        }
        let done = get(&format!("{api}/api/jobs"))
            .ok()
            .and_then(|jobs| jobs[0]["scenarios"].as_u64())
            .unwrap_or(0);
        if restarts < 2 && done * 3 >= o.scenarios * (u64::from(restarts) + 1) {
            restarts += 1;
            println!(
                "chaos: {:>6.1} s  restarting the broker ({done} scenarios recorded)",
                started.elapsed().as_secs_f64()
            );
            rabbitmqctl(&["stop_app"])?;
            rabbitmqctl(&["start_app"])?;
        }
        if Instant::now() >= next_kill {
            let k = dice.below(fleet.consumers.len() as u64) as usize;
            let mut victim = fleet.consumers.swap_remove(k);
            let _ = victim.kill();
            victim.wait()?;
            kills += 1;
            let c = fleet.start_consumer()?;
            fleet.consumers.push(c);
            next_kill = Instant::now() + gap(&mut dice);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let elapsed = started.elapsed().as_secs_f64();
    if !status.success() {
        bail!(
            "mcp submit failed; see {}",
            dir.join("submit.log").display()
        );
    }
    println!(
        "chaos: job done in {elapsed:.1} s with {kills} consumers SIGKILLed and {restarts} broker restarts"
    );
    let distributed: Value = serde_json::from_slice(&std::fs::read(dir.join("submit.json"))?)?;
    let id = get(&format!("{api}/api/jobs"))?[0]["id"]
        .as_str()
        .context("mcp serve recorded no job")?
        .to_string();
    let recorded = wait_for_end(&api, &id)?;

    println!("chaos: the same job embedded, for reference");
    let out = Command::new(&mcp)
        .args(["submit", m, "--spec", s, "--json"])
        .output()?;
    if !out.status.success() {
        bail!(
            "embedded run failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let embedded: Value = serde_json::from_slice(&out.stdout)?;

    let expected = accounted(&embedded);
    if expected.0 != o.scenarios {
        bail!(
            "the embedded run counted {} scenarios, not {}",
            expected.0,
            o.scenarios
        );
    }
    if accounted(&distributed) != expected {
        bail!(
            "mcp submit --wait differs from embedded:\n  distributed {}\n  embedded    {}",
            distributed,
            embedded
        );
    }
    if recorded["state"] != "completed" || accounted(&recorded) != expected {
        bail!(
            "mcp serve recorded something else than embedded:\n  serve    {}\n  embedded {}",
            recorded,
            embedded
        );
    }
    if restarts < 2 {
        bail!("the job ended before the broker was restarted twice; raise --scenarios");
    }
    if elapsed < o.min_seconds as f64 {
        bail!(
            "the job ran {elapsed:.0} s, under the {} s asked for; raise --scenarios",
            o.min_seconds
        );
    }
    println!(
        "chaos: OK: {} scenarios, none lost, none counted twice; outputs identical to embedded \
         (mcp submit and mcp serve)",
        o.scenarios
    );
    Ok(())
}

/// Starts `mcp serve` on a free port; returns its base URL.
fn start_serve(fleet: &mut Fleet, db: &Path) -> Result<String> {
    let mut serve = Command::new(&fleet.mcp)
        .args([
            "serve",
            "--broker",
            &fleet.broker,
            "--prefix",
            &fleet.prefix,
        ])
        .args(["--listen", "127.0.0.1:0", "--db", db.to_str().unwrap()])
        .env("MCP_TOKEN", "chaos")
        .stdout(Stdio::piped())
        .stderr(fleet.log("serve.log")?)
        .spawn()?;
    let mut line = String::new();
    std::io::BufReader::new(serve.stdout.take().unwrap()).read_line(&mut line)?;
    fleet.others.push(serve);
    let url = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("http://"))
        .and_then(|w| w.strip_suffix('/'))
        .with_context(|| format!("no URL in mcp serve's first line {line:?}"))?;
    Ok(format!("http://{url}"))
}

/// Polls `mcp serve` until the job has ended (at most two minutes after `mcp submit` saw it end).
fn wait_for_end(api: &str, id: &str) -> Result<Value> {
    let mut job = Value::Null;
    let ended = within(Duration::from_secs(120), || {
        match get(&format!("{api}/api/jobs/{id}")) {
            Ok(seen) => job = seen,
            Err(e) => return Some(Err(e)),
        }
        (job["state"] != "running").then(|| Ok(job.clone()))
    });
    ended.unwrap_or_else(|| bail!("mcp serve still shows the job running: {job}"))
}
