//! `mcp compare`: two models, or one model under two specs, run on the same random numbers and
//! compared output by output (the work is `mcp_embedded::compare`); here the files, the flags
//! and the printing.

use crate::args::CompareArgs;
use crate::commands::{EXIT_TIMED_OUT, prepare_job_in, read_spec, sandbox, workers};
use crate::submit::progress_bar;
use crate::table::{self, count, num};
use anyhow::bail;
use mcp_embedded::compare::{Compared, check_paired, compare as run};
use mcp_protocol::JobModel;
use mcp_spec::Spec;
use mcp_stats::Comparison;
use serde_json::json;
use std::fmt::Write;
use std::path::Path;
use std::process::ExitCode;

pub(crate) fn compare(args: CompareArgs) -> anyhow::Result<ExitCode> {
    if args.model_b.is_none() && args.spec_b.is_none() {
        bail!(
            "one model under one spec has nothing to compare with; give a second model \
             (`mcp compare A.wasm B.wasm --spec vars.toml`) or a second spec (`--spec-b \
             other.toml`)"
        );
    }
    let model_b = args.model_b.as_ref().unwrap_or(&args.model_a);
    let spec_b = args.spec_b.as_ref().unwrap_or(&args.spec);
    let specs = [&args.spec, spec_b].map(|path| -> anyhow::Result<Spec> {
        let mut spec = read_spec(path)?;
        args.run
            .overrides()
            .apply(&mut spec, "--")
            .map_err(anyhow::Error::msg)?;
        Ok(spec)
    });
    let [spec_a, spec_b] = specs;
    let (spec_a, spec_b) = (spec_a?, spec_b?);
    check_paired(&spec_a, &spec_b).map_err(anyhow::Error::msg)?;
    let workers = workers(args.run.workers)?;
    let sandbox = sandbox()?;
    let a = prepare_job_in(&sandbox, &args.model_a, spec_a, |_| "compare-a".into())?;
    let b = prepare_job_in(&sandbox, model_b, spec_b, |_| "compare-b".into())?;
    let bar = progress_bar(a.spec.simulation.scenarios);
    let compared = run(&sandbox, &a, &b, workers, &mut |n| bar.set_position(n))?;
    bar.finish_and_clear();
    let runs = [
        (&*a, args.model_a.as_path(), &a.spec),
        (&*b, model_b.as_path(), &b.spec),
    ];
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&as_json(&compared, &runs))?
        );
    } else {
        print!("{}", as_table(&compared, &runs));
    }
    if compared.timed_out {
        eprintln!(
            "the comparison ran past limits.timeout_s ({} s); the results cover the {} \
             scenarios finished before it",
            a.spec.limits.timeout_s.min(b.spec.limits.timeout_s),
            compared.scenarios
        );
        return Ok(ExitCode::from(EXIT_TIMED_OUT));
    }
    Ok(ExitCode::SUCCESS)
}

/// A run: its job, the model's file and the spec.
type Run<'a> = (&'a JobModel, &'a Path, &'a Spec);

fn comparisons(c: &Compared) -> impl Iterator<Item = (&str, Comparison)> {
    c.outputs
        .shared
        .iter()
        .zip(&c.moments)
        .map(|((name, _, _), m)| (name.as_str(), m.comparison()))
}

fn as_json(c: &Compared, runs: &[Run; 2]) -> serde_json::Value {
    let run = |i: usize| {
        let (job, model, spec) = runs[i];
        json!({
            "model": {"name": job.info.name, "version": job.info.version, "digest": job.info.digest},
            "file": model.display().to_string(),
            "spec": spec.source.origin,
            "failed": c.failures[i].total(),
            "failures": c.failures[i],
        })
    };
    let outputs: serde_json::Map<String, serde_json::Value> = comparisons(c)
        .map(|(name, cmp)| (name.to_string(), json!(cmp)))
        .collect();
    let sim = runs[0].2.simulation;
    json!({
        "a": run(0),
        "b": run(1),
        "seed": sim.seed,
        "scenarios": c.scenarios,
        "pairs": c.pairs,
        "timed_out": c.timed_out,
        "elapsed_s": c.elapsed_s,
        "outputs": outputs,
        "not_compared": {"a": c.outputs.only_a, "b": c.outputs.only_b},
    })
}

fn as_table(c: &Compared, runs: &[Run; 2]) -> String {
    let mut out = String::new();
    for (label, (job, model, spec)) in ["A", "B"].iter().zip(runs) {
        let info = &job.info;
        let short = info.digest.get(..19).unwrap_or(&info.digest);
        let _ = writeln!(
            out,
            "{label:<10} {} {} ({short}…) {} under {}",
            info.name,
            info.version,
            model.display(),
            spec.source.origin
        );
    }
    let _ = writeln!(
        out,
        "{:<10} {} ({} pairs; failed in A: {}, in B: {}), seed {}, {:.2} s",
        "scenarios",
        count(c.scenarios),
        count(c.pairs),
        count(c.failures[0].total()),
        count(c.failures[1].total()),
        runs[0].2.simulation.seed,
        c.elapsed_s
    );
    out.push('\n');
    let all: Vec<(&str, Comparison)> = comparisons(c).collect();
    let names: Vec<&str> = all.iter().map(|(n, _)| *n).collect();
    let row = |label: &str, f: &dyn Fn(&Comparison) -> String| {
        (label.to_string(), all.iter().map(|(_, c)| f(c)).collect())
    };
    let rows = vec![
        row("mean A", &|c| num(c.mean_a)),
        row("mean B", &|c| num(c.mean_b)),
        row("B − A", &|c| num(c.mean_diff)),
        row("ci95 low", &|c| num(c.ci95[0])),
        row("ci95 high", &|c| num(c.ci95[1])),
        row("± paired", &|c| num(c.half_width_paired)),
        row("± independent", &|c| num(c.half_width_independent)),
        row("narrowing", &|c| {
            c.narrowing
                .map_or_else(|| "-".into(), |r| format!("{}×", num(r)))
        }),
    ];
    out.push_str(&table::grid(&names, &rows));
    out.push_str(
        "\nci95 and ± paired: the 95% interval of B − A from the paired scenarios (common random\n\
         numbers); ± independent: its half-width had A and B been run on independent draws;\n\
         narrowing: how many times narrower pairing makes it.\n",
    );
    for (side, only) in [("A", &c.outputs.only_a), ("B", &c.outputs.only_b)] {
        if !only.is_empty() {
            let _ = writeln!(out, "not compared (only in {side}): {}", only.join(", "));
        }
    }
    for (side, failures) in ["A", "B"].iter().zip(&c.failures) {
        if failures.total() > 0 {
            let _ = writeln!(out, "\nrun {side}: {}", table::failures(failures));
        }
    }
    out
}
