//! `mcp submit`: runs a job embedded (optionally with its live dashboard), or publishes it to a
//! broker and, with `--wait`, follows it to its end, or (`--api`) uploads it to a running
//! `mcp serve` and follows it there; then prints the summary.

use crate::args::SubmitArgs;
use crate::commands::{
    EXIT_CANCELLED, EXIT_INPUT, EXIT_SUPERSEDED, EXIT_TIMED_OUT, prepare_job, read_spec, reconnect,
    resolve_broker, token_or_new, workers,
};
use crate::interrupt;
use crate::table;
use anyhow::{Context, anyhow, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use mcp_broker::{CoordinatorLink, ProducerLink};
use mcp_broker_amqp::AmqpBroker;
use mcp_coordinator::{Book, Ended, JobState, Resume};
use mcp_embedded::Embedded;
use mcp_producer::{Packing, ProducerEnd, ProducerProgress, new_job_id};
use mcp_protocol::{FailureTally, JobAnnouncement, JobModel, JobSummary, StopCause, now_ms};
use mcp_sandbox::Sandbox;
use mcp_server::{Api, HttpServer};
use mcp_spec::Spec;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

pub(crate) fn submit(args: SubmitArgs) -> anyhow::Result<ExitCode> {
    if let Some(api) = &args.api {
        crate::results::embedded_only(&args)?;
        return crate::api::submit(api, &args);
    }
    let mut spec = read_spec(&args.spec)?;
    args.run
        .overrides()
        .apply(&mut spec, "--")
        .map_err(anyhow::Error::msg)?;
    let save = crate::results::scenarios_to_save(&args, &spec)?;
    let workers = workers(args.run.workers)?;
    if args.dashboard.is_some() && args.broker.is_some() {
        bail!(
            "--dashboard shows an embedded run; for jobs on a broker, run `mcp serve` and open \
             its dashboard"
        );
    }
    if args.checkpoint.is_some() && args.broker.is_some() {
        bail!(
            "--checkpoint keeps an embedded run's progress; a job on a broker is kept by the \
             history of `mcp serve` (or of `mcp submit --wait`); drop one of the two"
        );
    }
    if args.wait && args.broker.is_none() {
        bail!(
            "--wait follows a job on a broker; give --broker (or set MCP_BROKER), or drop --wait \
             to run embedded"
        );
    }
    let distributed = args.broker.is_some();
    let (sandbox, job) = prepare_job(&args.model, spec, |digest| {
        if distributed {
            new_job_id(digest)
        } else {
            mcp_embedded::LOCAL.to_string()
        }
    })?;
    let bar = progress_bar(job.spec.simulation.scenarios);
    let ended = match &args.broker {
        Some(url) => {
            let origin = args.spec.display().to_string();
            mcp_protocol::check_message_size(&job, args.connection.message_bytes(), &origin)
                .map_err(anyhow::Error::msg)?;
            let url = resolve_broker(url, &args.connection)?;
            let packing = match args.batches_per_message {
                Some(per_message) => Packing {
                    per_message,
                    seconds_per_scenario: None,
                },
                None => Packing::of(&sandbox, &job, args.connection.message_bytes()),
            };
            tracing::info!(job = %job.job, ?packing, "batches per message");
            match distributed_job(&url, &args, &job, packing, &bar)? {
                Distributed::Ended(ended) => *ended,
                Distributed::Stopped(cause) => {
                    bar.finish_and_clear();
                    return Ok(report_stop(&job, cause));
                }
                Distributed::Published => {
                    bar.finish_and_clear();
                    eprintln!(
                        "job {} published: {} scenarios of model {} ({})",
                        job.job, job.spec.simulation.scenarios, job.info.name, job.info.digest
                    );
                    println!("{}", job.job);
                    return Ok(ExitCode::SUCCESS);
                }
            }
        }
        None => embedded_job(&args, &sandbox, &job, workers, &bar, save.as_ref())?,
    };
    bar.finish_and_clear();
    report(&args, &job.spec, &Outcome::of(&ended))
}

/// The progress bar on stderr, when stderr is a terminal.
pub(crate) fn progress_bar(total: u64) -> ProgressBar {
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "[{bar:30}] {human_pos}/{human_len} scenarios  {rate}  eta {eta}",
        )
        .expect("valid template")
        .with_key(
            "rate",
            |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{}/s", table::count_f(state.per_sec()));
            },
        )
        .progress_chars("=> "),
    );
    bar
}

/// Runs the job embedded; with `--dashboard`, serves its live page meanwhile. The first Ctrl-C
/// or SIGTERM cancels it (the summary covers what finished), the second quits at once.
fn embedded_job(
    args: &SubmitArgs,
    sandbox: &Sandbox,
    job: &Arc<JobModel>,
    workers: usize,
    bar: &ProgressBar,
    save: Option<&(std::path::PathBuf, mcp_export::Format)>,
) -> anyhow::Result<Ended> {
    let live = args.dashboard.is_some();
    let run = match &args.checkpoint {
        None => Embedded::new(job.clone(), workers, live)?,
        Some(path) => {
            let (run, resume) = Embedded::with_checkpoint(job.clone(), workers, live, path)?;
            let total = job.spec.simulation.scenarios;
            match resume {
                Resume::Fresh => {}
                Resume::Resumed { scenarios, .. } => {
                    eprintln!(
                        "mcp submit: resuming from {}: {} of {} scenarios counted already",
                        path.display(),
                        table::count(scenarios),
                        table::count(total)
                    );
                    bar.set_position(scenarios);
                }
                Resume::Finished(ended) => {
                    eprintln!(
                        "mcp submit: {} holds this run, ended; its summary follows (delete the \
                         file to run it again)",
                        path.display()
                    );
                    save_kept(save, &run.book(), job, &ended)?;
                    return Ok(*ended);
                }
            }
            run
        }
    };
    let history = run.book();
    let dashboard = match args.dashboard {
        Some(address) => {
            let (token, generated) = token_or_new(args.token.as_deref())?;
            let listener = std::net::TcpListener::bind(address).with_context(|| {
                format!(
                    "could not serve the dashboard on {address}; give --dashboard another \
                     address (port 0 picks a free one)"
                )
            })?;
            let api = Api::new(run.book(), None)
                .with_controller(run.controller())
                .with_token(&token);
            let http = HttpServer::start(listener, api)?;
            let url = format!("http://{}/", http.address());
            if generated {
                eprintln!("mcp submit: dashboard on {url} (token for its buttons: {token})");
            } else {
                eprintln!("mcp submit: dashboard on {url}");
            }
            Some(http)
        }
        None => None,
    };
    let (book, controller) = (run.book(), run.controller());
    let ended = interrupt::cancelling(&job.job, book, controller, || {
        run.run(sandbox, &mut |done| bar.set_position(done))
    })??;
    if let Some(http) = dashboard
        && let Err(e) = http.stop_after_final_snapshot()
    {
        tracing::warn!("dashboard: {e}");
    }
    if let Some(path) = &args.checkpoint
        && matches!(ended.state, JobState::Cancelled | JobState::TimedOut)
    {
        eprintln!(
            "mcp submit: {} keeps the scenarios counted; run the same command again to resume",
            path.display()
        );
    }
    save_kept(save, &history, job, &ended)?;
    Ok(ended)
}

/// With `--save-scenarios`: writes the scenarios the ended job kept, from its books.
fn save_kept(
    save: Option<&(std::path::PathBuf, mcp_export::Format)>,
    history: &Mutex<Book>,
    job: &JobModel,
    ended: &Ended,
) -> anyhow::Result<()> {
    if let Some((path, format)) = save {
        let kept = history.lock().expect("book lock").kept(&job.job)?;
        crate::results::save_scenarios(path, *format, &job.info, &kept, &ended.summary)?;
    }
    Ok(())
}

/// Publishes the job to the broker at `url`; with `--wait`, follows it to its end on queues of
/// its own (made before the job is announced, so that nothing slips past). Both survive broker
/// restarts, and both stop when `mcp serve` (or a newer job) stops the job.
fn distributed_job(
    url: &str,
    args: &SubmitArgs,
    job: &Arc<JobModel>,
    packing: Packing,
    bar: &ProgressBar,
) -> anyhow::Result<Distributed> {
    let prefix = &args.connection.prefix;
    let name = format!("mcp submit {}", job.job);
    let mut reconnect = reconnect(&name, url);
    let connect = || AmqpBroker::connect(url, prefix, &name);
    if args.wait {
        reconnect
            .connect(|| connect()?.prepare_follower(&job.job))
            .map_err(|e| anyhow!("{e}"))?;
    }
    let announcement = JobAnnouncement::of(job, now_ms());
    let mut producer =
        || -> Result<Box<dyn ProducerLink>, _> { Ok(Box::new(connect()?.producer()?)) };
    let progress = ProducerProgress::default().packing(packing.per_message);
    let end = mcp_producer::publish(
        &mut producer,
        &mut reconnect,
        job.clone(),
        &announcement,
        &progress,
    )
    .map_err(|e| anyhow!("{e}"))?;
    match end {
        // `mcp serve` judged the job's `[stop]` rule while it was being published: it is
        // complete, and a follower reaches the same end on the same prefix.
        ProducerEnd::Ended(StopCause::Finished { .. }) if args.wait => {}
        ProducerEnd::Ended(StopCause::Finished { .. }) => return Ok(Distributed::Published),
        ProducerEnd::Ended(cause) => return Ok(Distributed::Stopped(cause)),
        ProducerEnd::Stopped => return Ok(Distributed::Published),
        ProducerEnd::Completed if !args.wait => return Ok(Distributed::Published),
        ProducerEnd::Completed => {}
    }
    let mut last = None;
    let mut follower = || -> Result<Box<dyn CoordinatorLink>, _> {
        let broker = connect()?;
        last = Some(broker.clone());
        Ok(Box::new(broker.follower(&job.job)?))
    };
    let ended =
        mcp_coordinator::follow(&mut follower, &mut reconnect, announcement, &mut |done| {
            bar.set_position(done)
        })?;
    if let Some(broker) = last
        && let Err(e) = broker.delete_follower(&job.job)
    {
        tracing::warn!("could not delete the job's queues: {e}");
    }
    Ok(Distributed::Ended(Box::new(ended)))
}

/// What became of a job published to a broker.
enum Distributed {
    /// Every batch is published (and not followed: no `--wait`).
    Published,
    /// It was stopped elsewhere while it was being published.
    Stopped(StopCause),
    /// Followed to its end (`--wait`).
    Ended(Box<Ended>),
}

/// Says why a job stopped while it was being published, and picks the exit code.
fn report_stop(job: &JobModel, cause: StopCause) -> ExitCode {
    let id = &job.job;
    let kept = "what was evaluated meanwhile is in the history of `mcp serve`";
    match cause {
        StopCause::Cancelled => {
            eprintln!("error: job {id} was cancelled while it was being published; {kept}");
            ExitCode::from(EXIT_CANCELLED)
        }
        StopCause::Superseded { by } => {
            eprintln!(
                "error: job {id} was superseded by job {by} while it was being published; {kept}"
            );
            ExitCode::from(EXIT_SUPERSEDED)
        }
        StopCause::TimedOut => {
            eprintln!(
                "error: job {id} timed out after {} s while it was being published; raise \
                 limits.timeout_s to let it finish",
                job.spec.limits.timeout_s
            );
            ExitCode::from(EXIT_TIMED_OUT)
        }
        StopCause::Failed { reason } => {
            eprintln!("error: job {id} failed: {reason}");
            ExitCode::from(EXIT_INPUT)
        }
        // Not reported as a stop (see `distributed_job`); said here all the same.
        StopCause::Finished { reason } => {
            eprintln!(
                "job {id} met its [stop] rule ({}) while it was being published; its summary \
                 is in the history of `mcp serve`",
                reason.as_str()
            );
            ExitCode::SUCCESS
        }
    }
}

/// How a job ended, wherever it was followed: what [`report`] prints.
pub(crate) struct Outcome {
    /// Its id.
    pub job: String,
    /// Where it stands.
    pub state: JobState,
    /// Its summary.
    pub summary: JobSummary,
    /// Its failures.
    pub failures: FailureTally,
    /// Why it ended, when it did not complete.
    pub message: Option<String>,
    /// The job that superseded it.
    pub superseded_by: Option<String>,
}

impl Outcome {
    fn of(ended: &Ended) -> Outcome {
        Outcome {
            job: ended.announcement.job.clone(),
            state: ended.state,
            summary: ended.summary.clone(),
            failures: ended.failures.clone(),
            message: ended.message.clone(),
            superseded_by: ended.superseded_by.clone(),
        }
    }
}

/// What `--json` prints: the summary; for a job that stopped before its last scenario (other
/// than by its `[stop]` rule, which the summary's own `stopped` tells), `"partial": true` and
/// `"stopped"`, the state it ended in (`cancelled` for Ctrl-C, `timed_out`, `superseded`,
/// `failed`).
#[derive(serde::Serialize)]
struct Printed<'a> {
    #[serde(flatten)]
    summary: &'a JobSummary,
    #[serde(skip_serializing_if = "Option::is_none")]
    partial: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stopped: Option<JobState>,
}

/// Prints a job's summary as the table or as JSON, and picks the exit code; `spec` is the
/// job's spec, read from `args.spec`.
pub(crate) fn report(
    args: &SubmitArgs,
    spec: &Spec,
    outcome: &Outcome,
) -> anyhow::Result<ExitCode> {
    let (summary, failures) = (&outcome.summary, &outcome.failures);
    let total = spec.simulation.scenarios;
    // A job that stopped before its last scenario: the summary covers the ones evaluated. A
    // job its `[stop]` rule ended is complete, not partial: its summary says `stopped` itself.
    let stopped = (summary.scenarios < total && outcome.state != JobState::Completed)
        .then_some(outcome.state);
    if args.json {
        let printed = Printed {
            summary,
            partial: stopped.map(|_| true),
            stopped,
        };
        println!("{}", serde_json::to_string_pretty(&printed)?);
    } else {
        if let Some(state) = stopped {
            let state = serde_json::to_value(state)?;
            println!(
                "partial    {} of {} scenarios evaluated (stopped: {}); the summary covers those",
                table::count(summary.scenarios),
                table::count(total),
                state.as_str().unwrap_or("early")
            );
        }
        print!("{}", table::summary(summary, failures));
        print!("{}", crate::sobol_table::sobol(summary));
        print!("{}", crate::tornado_table::tornado(summary));
    }
    if summary.failed > 0 && args.json {
        eprintln!("{}", table::failures(failures));
    }
    let job = &outcome.job;
    Ok(match outcome.state {
        // A job whose every scenario failed still ran to its end: the table says what failed.
        JobState::Completed | JobState::Running => ExitCode::SUCCESS,
        JobState::Failed if summary.scenarios > 0 && summary.failed == summary.scenarios => {
            ExitCode::SUCCESS
        }
        // It could not run: refused by `mcp serve`, or by every consumer.
        JobState::Failed => {
            eprintln!(
                "error: job {job} failed: {}",
                outcome.message.as_deref().unwrap_or("it could not run")
            );
            ExitCode::from(EXIT_INPUT)
        }
        JobState::TimedOut => {
            eprintln!(
                "error: the job timed out after {} s with {} of {total} scenarios evaluated; the \
                 summary covers those; raise limits.timeout_s in {} to let it finish",
                spec.limits.timeout_s,
                summary.scenarios,
                args.spec.display()
            );
            ExitCode::from(EXIT_TIMED_OUT)
        }
        JobState::Superseded => {
            let by = match (&outcome.superseded_by, &outcome.message) {
                (Some(by), _) => format!("by job {by}"),
                (None, Some(message)) => format!("({message})"),
                (None, None) => "by a newer job".to_string(),
            };
            eprintln!(
                "error: job {job} was superseded {by} with {} of {total} scenarios \
                 evaluated; the summary covers those",
                summary.scenarios
            );
            ExitCode::from(EXIT_SUPERSEDED)
        }
        JobState::Cancelled => ExitCode::from(EXIT_CANCELLED),
    })
}
