//! The command-line grammar.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// mcp: Monte Carlo simulation with models as WebAssembly components.
#[derive(Debug, Parser)]
#[command(name = "mcp", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// How log lines look on stderr: `text` for people, `json` (one object a line) for log
    /// collectors. The level comes from RUST_LOG.
    #[arg(long, global = true, env = "MCP_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One line of text per event, coloured only on a terminal.
    Text,
    /// One JSON object per event.
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a job: sample every scenario from the spec, evaluate the model, summarise the outputs.
    #[command(
        after_help = "Example:\n  mcp submit target/models/pricing.wasm --spec example-models/pricing/vars.toml --json"
    )]
    Submit(SubmitArgs),
    /// What-if: run two models, or one model under two specs, on the same random numbers and
    /// compare their outputs scenario by scenario.
    #[command(
        after_help = "Examples:\n  mcp compare target/models/pricing.wasm --spec example-models/pricing/vars.toml --spec-b vol25.toml\n  mcp compare old.wasm new.wasm --spec vars.toml --json\n\nBoth runs use the same seed and scenarios: a variable whose distribution is the same in both\nspecs takes the same value in both runs (common random numbers), so the interval of the\ndifference of the means is much narrower than two independent runs would give."
    )]
    Compare(CompareArgs),
    /// Run a finished job of `mcp serve` again, embedded, and check its outputs are the same
    /// bits.
    #[command(
        after_help = "Example:\n  mcp rerun pricing-1a2b3c --model target/models/pricing.wasm --api http://127.0.0.1:8080\n\nThe job's spec and provenance come from the API; the model file must be the bytes the job\nran (its digest is checked). Exit 0 when every output is reproduced bit for bit, 6 when not."
    )]
    Rerun(RerunArgs),
    /// Write one self-contained HTML page of a job: summary, histograms, convergence,
    /// sensitivity charts, spec and provenance, to look at or send.
    #[command(
        after_help = "Examples:\n  mcp report pricing-1a2b3c --api http://127.0.0.1:8080 -o report.html\n  mcp submit model.wasm --spec vars.toml --json > run.json && mcp report run.json -o report.html\n\nThe page has no script and fetches nothing: it opens offline, in any browser, attached to a\nmail. A summary of `mcp submit --json` holds no spec; the report of a job of `mcp serve` shows it."
    )]
    Report(ReportArgs),
    /// Check a model against a spec and run a handful of scenarios, without running the job.
    #[command(
        after_help = "Example:\n  mcp validate target/models/pricing.wasm --spec example-models/pricing/vars.toml"
    )]
    Validate(ValidateArgs),
    /// Evaluate one scenario of a job alone and print its inputs and outputs (or its failure):
    /// the way to debug scenario 41,235,117 of a billion without running the others.
    #[command(
        after_help = "Example:\n  mcp replay target/models/pricing.wasm --spec example-models/pricing/vars.toml --scenario 41235117\n\nScenario i's inputs depend only on the spec, the seed and i, so the replay sees exactly what\nthe run saw. Exit codes: 0 the scenario succeeded, 5 it failed (kind and message printed),\n1 bad input."
    )]
    Replay(ReplayArgs),
    /// Export a job's summary, or the scenarios its spec kept whole, as CSV, JSON or Parquet.
    #[command(
        after_help = "Examples:\n  mcp results pricing-1a2b3c --format csv\n  mcp results pricing-1a2b3c --scenarios --format parquet -o scenarios.parquet\n  mcp submit model.wasm --spec vars.toml --json > run.json; mcp results run.json --format parquet -o summary.parquet\n\nJOB is a job id of the `mcp serve` at --api, or a JSON file holding a summary (`mcp submit\n--json`) or a job (`GET /api/jobs/ID`). The scenarios are those `keep = ...` under\n[simulation] kept; an embedded run saves them with `mcp submit --save-scenarios FILE`."
    )]
    Results(ResultsArgs),
    /// Evaluate scenario batches from a RabbitMQ broker until stopped (SIGTERM or Ctrl-C drains).
    #[command(
        after_help = "Example:\n  mcp consumer --broker amqp://guest:guest@127.0.0.1:5672/%2f --id C1 --threads 4"
    )]
    Consumer(ConsumerArgs),
    /// Coordinate a cluster: aggregate results, keep the job history, serve the HTTP API.
    #[command(
        after_help = "Example:\n  mcp serve --broker amqp://guest:guest@127.0.0.1:5672/%2f --listen 127.0.0.1:8080\n\nThe job history lives in --db (default $XDG_DATA_HOME/mcp/history.sqlite3, else\n~/.local/share/mcp/history.sqlite3)."
    )]
    Serve(ServeArgs),
    /// Pause, resume or drain consumers through the broker's control exchange.
    #[command(
        after_help = "Example:\n  mcp control pause --consumer C1 --broker amqp://guest:guest@127.0.0.1:5672/%2f"
    )]
    Control(ControlArgs),
    /// Print a model's name, version, digest, inputs and outputs.
    #[command(after_help = "Example:\n  mcp inspect target/models/pricing.wasm")]
    Inspect(InspectArgs),
    /// Fit distributions to a column of historical data, rank them and print the best as a
    /// line for vars.toml.
    #[command(
        after_help = "Example:\n  mcp fit losses.csv --column loss --plot loss.svg\n\nPrints, per family: log-likelihood, parameters k, AIC, BIC, Kolmogorov-Smirnov D and its\np-value (optimistic: the parameters come from the same data), Anderson-Darling A²."
    )]
    Fit(FitArgs),
    /// Write a model skeleton in Rust, Python, JavaScript or C that builds and runs unchanged:
    /// the model file, vars.toml, its build entry and one native test.
    #[command(
        after_help = "Examples:\n  mcp new loss-model --lang python\n  mcp new loss-model --lang c --dir ~/models --sdk ~/mcp/model-sdk\n\nThen, in the mcp checkout: `cargo xtask test-model DIR` (the native test), `cargo xtask\nbuild-model DIR` (the component, to target/models/NAME.wasm) and `mcp submit\ntarget/models/NAME.wasm --spec DIR/vars.toml`."
    )]
    New(NewArgs),
    /// Exit 0 when URL answers 200 (a container's health check: the image has no curl).
    #[command(after_help = "Example:\n  mcp health http://127.0.0.1:9100/readyz")]
    Health(HealthArgs),
}

/// Arguments of `mcp rerun`.
#[derive(Debug, Args)]
pub struct RerunArgs {
    /// The job's id, as `mcp submit` printed it or `GET /api/jobs` lists it.
    pub job: String,
    /// The model component the job ran (its digest must match the job's).
    #[arg(long, short)]
    pub model: PathBuf,
    /// The `mcp serve` that keeps the job's history (e.g. http://127.0.0.1:8080).
    #[arg(long, env = "MCP_API", value_name = "URL")]
    pub api: String,
    /// Worker threads [default: one per core]; the result does not depend on it.
    #[arg(long, short)]
    pub workers: Option<usize>,
}

/// The JOB of `mcp report` and `mcp results`, and where to find it when it is an id.
#[derive(Debug, Args)]
pub struct JobArgs {
    /// The job: a JSON file (`mcp submit --json > run.json`, or `GET /api/jobs/ID` saved), or
    /// the id of a job of the `mcp serve` at --api.
    pub job: String,
    /// The `mcp serve` that keeps the job's history, when JOB is an id.
    #[arg(
        long,
        env = "MCP_API",
        value_name = "URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub api: String,
}

/// Arguments of `mcp report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub source: JobArgs,
    /// Where to write the page; `-` or nothing for stdout (refused on a terminal).
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Arguments of `mcp results`.
#[derive(Debug, Args)]
pub struct ResultsArgs {
    #[command(flatten)]
    pub source: JobArgs,
    /// csv, json or parquet [default: from -o's extension, else json].
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Write to FILE instead of stdout (needed for parquet on a terminal).
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Export the scenarios the job kept whole (`keep = ...` in its spec), not its summary.
    #[arg(long)]
    pub scenarios: bool,
}

/// Arguments of `mcp health`.
#[derive(Debug, Args)]
pub struct HealthArgs {
    /// The URL to ask.
    #[arg(
        env = "MCP_HEALTH_URL",
        default_value = "http://127.0.0.1:8080/healthz"
    )]
    pub url: String,
    /// Print what it answered (e.g. a consumer's /metrics) on stdout.
    #[arg(long)]
    pub print: bool,
}

/// Arguments of `mcp submit`.
#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// The model component (.wasm), as built by `cargo xtask build-model NAME`.
    pub model: PathBuf,
    /// The job spec (vars.toml).
    #[arg(long, short)]
    pub spec: PathBuf,
    #[command(flatten)]
    pub run: RunArgs,
    /// Print the summary as JSON on stdout (progress still goes to stderr).
    #[arg(long)]
    pub json: bool,
    /// Embedded: keep the run's counted batches in FILE (created when missing), so that a run
    /// stopped by Ctrl-C, its time-out or a crash resumes where it ended when the same command
    /// is run again, and finishes with the same summary as an uninterrupted run.
    #[arg(long, value_name = "FILE")]
    pub checkpoint: Option<PathBuf>,
    /// Run distributed: publish to this RabbitMQ broker (`amqp://user:pass@host:port/vhost`)
    /// instead of running embedded.
    #[arg(long, env = "MCP_BROKER", hide_env_values = true)]
    pub broker: Option<String>,
    #[command(flatten)]
    pub connection: BrokerOptions,
    /// With --broker: follow the job to its end and print its summary.
    #[arg(long)]
    pub wait: bool,
    /// With --broker: scenario batches per message [default: about 50 ms of evaluation a
    /// message, from a quick timing of the model]. Changes no result: each batch is still
    /// evaluated and counted as if it came alone.
    #[arg(
        long,
        value_name = "N",
        requires = "broker",
        value_parser = clap::value_parser!(u32).range(1..=65536)
    )]
    pub batches_per_message: Option<u32>,
    /// Embedded: serve the live dashboard while the job runs, on ADDR [default:
    /// 127.0.0.1:8080; port 0 picks a free one]. The URL is printed on stderr.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:8080")]
    pub dashboard: Option<std::net::SocketAddr>,
    /// With --dashboard: the token its buttons need [default: a new random one, printed with
    /// the URL]. With --api: the token of that `mcp serve`.
    #[arg(long, env = "MCP_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Submit through a running `mcp serve`'s HTTP API (e.g. http://127.0.0.1:8080) with the
    /// token of --token or MCP_TOKEN, wait for the job's end and print its summary. Takes
    /// precedence over --broker.
    #[arg(long, env = "MCP_API", value_name = "URL")]
    pub api: Option<String>,
    /// Embedded: write the scenarios the spec keeps whole (`keep = ...` under [simulation])
    /// to FILE at the end, as CSV, JSON or Parquet after its extension.
    #[arg(long, value_name = "FILE")]
    pub save_scenarios: Option<PathBuf>,
    /// The format of --save-scenarios: csv, json or parquet [default: from its extension].
    #[arg(long, value_name = "FORMAT", requires = "save_scenarios")]
    pub format: Option<String>,
}

/// How a run in this process goes: workers, and the spec's values it replaces (`mcp submit`,
/// and both specs of `mcp compare`).
#[derive(Debug, Clone, Copy, Args)]
pub struct RunArgs {
    /// Worker threads evaluating scenarios [default: one per core].
    #[arg(long, short)]
    pub workers: Option<usize>,
    /// Override `simulation.scenarios` from the spec (both specs, for `mcp compare`).
    #[arg(long)]
    pub scenarios: Option<u64>,
    /// Override `simulation.seed` from the spec (both specs, for `mcp compare`).
    #[arg(long)]
    pub seed: Option<u64>,
}

impl RunArgs {
    /// --scenarios and --seed.
    pub fn overrides(&self) -> mcp_spec::Overrides {
        mcp_spec::Overrides {
            scenarios: self.scenarios,
            seed: self.seed,
        }
    }
}

/// Arguments of `mcp compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Model A, the baseline (.wasm).
    #[arg(value_name = "MODEL_A")]
    pub model_a: PathBuf,
    /// Model B, the variant [default: model A, under --spec-b].
    #[arg(value_name = "MODEL_B")]
    pub model_b: Option<PathBuf>,
    /// The spec of run A (vars.toml), and of run B unless --spec-b is given.
    #[arg(long, short)]
    pub spec: PathBuf,
    /// The spec of run B. Its `simulation` seed, scenarios, batch and sampling must be A's.
    #[arg(long, value_name = "SPEC")]
    pub spec_b: Option<PathBuf>,
    #[command(flatten)]
    pub run: RunArgs,
    /// Print the comparison as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `mcp consumer`.
#[derive(Debug, Args)]
pub struct ConsumerArgs {
    /// The RabbitMQ broker (`amqp://user:pass@host:port/vhost`).
    #[arg(long, env = "MCP_BROKER", hide_env_values = true)]
    pub broker: String,
    #[command(flatten)]
    pub connection: BrokerOptions,
    /// This consumer's id, shown in telemetry [default: HOST-PID].
    #[arg(long, env = "MCP_CONSUMER_ID")]
    pub id: Option<String>,
    /// Serve `/metrics` (Prometheus), `/healthz` and `/readyz` on ADDR, e.g. 0.0.0.0:9100.
    #[arg(long, env = "MCP_METRICS", value_name = "ADDR")]
    pub metrics: Option<std::net::SocketAddr>,
    /// Threads evaluating batches [default: one per core].
    #[arg(long)]
    pub threads: Option<usize>,
    /// Batches each thread may hold unacknowledged: the one it evaluates, those whose results
    /// await the broker's confirm (up to 16), and a few queued ahead.
    #[arg(long, default_value_t = 32)]
    pub prefetch: u16,
    /// The jobs this consumer refuses (it gives their batches back to other consumers and
    /// says why in its heartbeat; a job every consumer refuses fails with their reasons).
    #[command(flatten)]
    pub ceilings: CeilingArgs,
    #[command(flatten)]
    pub sandbox: SandboxArgs,
}

/// What the WebAssembly sandbox spends on compiling models.
#[derive(Debug, Clone, Copy, Args)]
pub struct SandboxArgs {
    /// Largest model (component) compiled, in MiB; larger ones are refused unread.
    #[arg(
        long,
        env = "MCP_MAX_MODEL_MIB",
        value_name = "MIB",
        default_value_t = 64
    )]
    pub max_model_mib: usize,
    /// Most models compiled at once; further uploads wait their turn.
    #[arg(long, env = "MCP_MAX_COMPILES", value_name = "N", default_value_t = 2)]
    pub max_compiles: usize,
}

impl SandboxArgs {
    /// The sandbox's limits these flags set.
    pub fn limits(&self) -> mcp_sandbox::SandboxLimits {
        mcp_sandbox::SandboxLimits {
            max_model_bytes: self.max_model_mib.saturating_mul(1 << 20),
            concurrent_compiles: self.max_compiles.max(1),
            ..mcp_sandbox::SandboxLimits::default()
        }
    }
}

/// The operator's ceilings on a job's limits, and floor on its batch size. A spec's value
/// over one is refused, naming the ceiling [default: none, besides the spec's own bounds].
#[derive(Debug, Clone, Copy, Args)]
pub struct CeilingArgs {
    /// Most `limits.fuel_per_scenario` a job may ask for.
    #[arg(long, env = "MCP_MAX_FUEL", value_name = "FUEL")]
    pub max_fuel: Option<u64>,
    /// Most `limits.scenario_timeout_ms` a job may ask for.
    #[arg(long, env = "MCP_MAX_SCENARIO_MS", value_name = "MS")]
    pub max_scenario_ms: Option<u64>,
    /// Most `limits.memory_mib` a job may ask for.
    #[arg(long, env = "MCP_MAX_MEMORY_MIB", value_name = "MIB")]
    pub max_memory_mib: Option<u32>,
    /// Most `limits.timeout_s` a job may ask for.
    #[arg(long, env = "MCP_MAX_TIMEOUT_S", value_name = "SECONDS")]
    pub max_timeout_s: Option<u64>,
    /// Least `simulation.batch` a job may use (each batch costs the broker a message).
    #[arg(long, env = "MCP_MIN_BATCH", value_name = "SCENARIOS")]
    pub min_batch: Option<u32>,
}

impl CeilingArgs {
    /// The ceilings these flags set.
    pub fn ceilings(&self) -> mcp_spec::Ceilings {
        let none = mcp_spec::Ceilings::default();
        mcp_spec::Ceilings {
            fuel_per_scenario: self.max_fuel.unwrap_or(none.fuel_per_scenario),
            scenario_timeout_ms: self.max_scenario_ms.unwrap_or(none.scenario_timeout_ms),
            memory_mib: self.max_memory_mib.unwrap_or(none.memory_mib),
            timeout_s: self.max_timeout_s.unwrap_or(none.timeout_s),
            min_batch: self.min_batch.unwrap_or(none.min_batch),
        }
    }
}

/// Arguments of `mcp serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The RabbitMQ broker (`amqp://user:pass@host:port/vhost`).
    #[arg(long, env = "MCP_BROKER", hide_env_values = true)]
    pub broker: String,
    #[command(flatten)]
    pub connection: BrokerOptions,
    /// The job history (SQLite) [default: $XDG_DATA_HOME/mcp/history.sqlite3, else
    /// ~/.local/share/mcp/history.sqlite3].
    #[arg(long, env = "MCP_DB")]
    pub db: Option<PathBuf>,
    /// Address of the HTTP API, `/metrics`, `/healthz` and `/readyz` (port 0 picks a free
    /// port; the URL is printed).
    #[arg(long, env = "MCP_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// Result batches the coordinator may hold unacknowledged while it records them.
    #[arg(long, default_value_t = 512)]
    pub prefetch: u16,
    /// The token that submitting, cancelling and controlling through the API need (reading
    /// does not) [default: a new random one, printed at start].
    #[arg(long, env = "MCP_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Largest model + spec upload `POST /api/jobs` takes, in MiB.
    #[arg(long, default_value_t = 64)]
    pub max_upload_mib: usize,
    /// Most scenarios a job submitted through the API may have.
    #[arg(long, default_value_t = 10_000_000_000)]
    pub max_scenarios: u64,
    /// Largest `simulation.batch` a job submitted through the API may use.
    #[arg(long, default_value_t = 1 << 20)]
    pub max_batch: u32,
    /// Most outputs the model of a job submitted through the API may have.
    #[arg(long, default_value_t = 256)]
    pub max_outputs: usize,
    /// The jobs this coordinator refuses: uploads get a 422 naming the ceiling, and a job
    /// announced on the broker (by `mcp submit --broker`) fails at once with the reason.
    #[command(flatten)]
    pub ceilings: CeilingArgs,
    #[command(flatten)]
    pub sandbox: SandboxArgs,
    /// A host name the API answers for, besides IP addresses and localhost (its name behind a
    /// proxy or in DNS); repeat for several, `*` for any (which gives up the protection
    /// against DNS rebinding).
    #[arg(
        long = "allowed-host",
        env = "MCP_ALLOWED_HOSTS",
        value_delimiter = ','
    )]
    pub allowed_hosts: Vec<String>,
    /// Most API requests handled at once (event streams apart); past it the API answers 503.
    #[arg(long, default_value_t = mcp_server::DEFAULT_MAX_REQUESTS)]
    pub max_requests: usize,
    /// Most event streams (open dashboards) at once; past it the API answers 503.
    #[arg(long, default_value_t = mcp_server::DEFAULT_MAX_STREAMS)]
    pub max_streams: usize,
}

/// Arguments of `mcp validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The model component (.wasm).
    pub model: PathBuf,
    /// The job spec (vars.toml).
    #[arg(long, short)]
    pub spec: PathBuf,
    /// How many scenarios to try.
    #[arg(long, default_value_t = 16)]
    pub scenarios: u32,
}

/// Arguments of `mcp replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The model component (.wasm).
    pub model: PathBuf,
    /// The job spec (vars.toml); its limits are the replay's.
    #[arg(long, short)]
    pub spec: PathBuf,
    /// The scenario to evaluate: its index in the job, from 0.
    #[arg(long, value_name = "I")]
    pub scenario: u64,
    /// Override `simulation.scenarios` from the spec, as given to `mcp submit` (Latin
    /// hypercube strata depend on it).
    #[arg(long)]
    pub scenarios: Option<u64>,
    /// Override `simulation.seed` from the spec, as given to `mcp submit`.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Print the scenario as JSON on stdout, vector inputs in full.
    #[arg(long)]
    pub json: bool,
}

impl ReplayArgs {
    /// --scenarios and --seed.
    pub fn overrides(&self) -> mcp_spec::Overrides {
        mcp_spec::Overrides {
            scenarios: self.scenarios,
            seed: self.seed,
        }
    }
}

/// The languages `mcp new` writes models in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// A crate using `mcp-model-sdk` (built with cargo).
    Rust,
    /// `model.py` (built with componentize-py).
    Python,
    /// `model.js` (built with componentize-js).
    Js,
    /// `model.c` (built with clang and wasi-libc).
    C,
}

/// Arguments of `mcp new`.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// The model's name (lowercase letters, digits and `-`): its directory and the name it
    /// reports.
    pub name: String,
    /// The language to write it in.
    #[arg(long, value_enum)]
    pub lang: Lang,
    /// The directory to make NAME/ in [default: example-models/ in an mcp checkout, else .].
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// The model SDK (`model-sdk/` of an mcp checkout) [default: the nearest one above DIR].
    #[arg(long, value_name = "PATH")]
    pub sdk: Option<PathBuf>,
}

/// Arguments of `mcp inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The model component (.wasm).
    pub model: PathBuf,
    /// Print as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `mcp fit`.
#[derive(Debug, Args)]
pub struct FitArgs {
    /// The data: a CSV file whose first line names the columns. Empty cells are skipped.
    pub data: PathBuf,
    /// The column to fit [default: the one column of numbers].
    #[arg(long, short)]
    pub column: Option<String>,
    /// What ranks the fits (lower is better): AIC = 2k - 2 ln L, BIC = k ln n - 2 ln L.
    #[arg(long, value_enum, default_value_t = Criterion::Aic)]
    pub criterion: Criterion,
    /// Which families to try [default: discrete when every value is a whole number of 0 or
    /// more, else continuous].
    #[arg(long, value_enum)]
    pub kind: Option<DataKind>,
    /// Also draw the data's histogram with the three best fits, as SVG, into FILE.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Print the table as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// What ranks the fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Criterion {
    /// Akaike's information criterion.
    Aic,
    /// The Bayesian (Schwarz) information criterion: charges more per parameter.
    Bic,
}

/// Which families `mcp fit` tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DataKind {
    /// Measurements: normal, lognormal, exponential, gamma, weibull, beta, uniform,
    /// triangular, pert.
    Continuous,
    /// Counts: poisson, binomial, bernoulli.
    Discrete,
}

/// What `mcp control` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Action {
    /// Take no new batches until resumed.
    Pause,
    /// Take batches again.
    Resume,
    /// Finish the batches in flight and exit.
    Drain,
}

/// Arguments of `mcp control`.
#[derive(Debug, Args)]
pub struct ControlArgs {
    /// What to do.
    pub action: Action,
    /// The consumer's id [default: every consumer].
    #[arg(long)]
    pub consumer: Option<String>,
    /// The RabbitMQ broker (`amqp://user:pass@host:port/vhost`).
    #[arg(long, env = "MCP_BROKER", hide_env_values = true)]
    pub broker: String,
    #[command(flatten)]
    pub connection: BrokerOptions,
}

/// How to reach the broker, besides its URL: shared by every command that takes `--broker`.
#[derive(Debug, Args)]
pub struct BrokerOptions {
    /// A file holding the broker's `user:password`, which replace any in the URL (keeps the
    /// password out of `ps` and shell history).
    #[arg(long, env = "MCP_BROKER_CREDENTIALS")]
    pub broker_credentials: Option<PathBuf>,
    /// For `amqps://`: a PEM file of CA certificates to trust besides the system's (for a
    /// broker whose certificate a private CA signed).
    #[arg(long, env = "MCP_BROKER_CA")]
    pub broker_ca: Option<PathBuf>,
    /// The prefix of the queue and exchange names.
    #[arg(long, env = "MCP_PREFIX", default_value = "mcp")]
    pub prefix: String,
    /// The broker's largest message (RabbitMQ's `max_message_size`: 16 MiB by default on 4.x,
    /// 128 MiB on 3.x), in MiB. A job whose model or result batches cannot fit is refused at
    /// submission, and by consumers.
    #[arg(
        long,
        env = "MCP_MAX_MESSAGE_MIB",
        value_name = "MIB",
        default_value_t = 16
    )]
    pub max_message_mib: usize,
}

impl BrokerOptions {
    /// --max-message-mib in bytes.
    pub fn message_bytes(&self) -> usize {
        self.max_message_mib.saturating_mul(1 << 20)
    }
}
