//! Exports read back: the Parquet file of a summary equals the summary in every column it
//! carries, bit for bit; CSV and JSON parse back to the same values; kept scenarios keep their
//! rows, names and failures.

use mcp_export::{Cells, Format, Table, read_parquet, scenario_table, summary_table};
use mcp_protocol::{FailureKind, JobSummary, KeptScenario, ModelInfo, ScenarioFailure};
use mcp_stats::{BucketCounts, ExceedanceCounts, Moments, RiskAsk, summarize};

/// A summary of two outputs, made by the statistics the aggregator uses: `loss` with two
/// exceedance thresholds and two VaR levels, `y` with none; values chosen so that the
/// figures have long binary expansions.
fn summary() -> JobSummary {
    let loss: Vec<f64> = (0..1000)
        .map(|i| (f64::from(i) * 0.37).sin() * 1e6 + 0.1)
        .collect();
    let y: Vec<f64> = (0..1000).map(|i| 1.0 / (1.0 + f64::from(i))).collect();
    let out = |values: &[f64], thresholds: &[f64], levels: &[f64]| {
        let mut counts = BucketCounts::default();
        counts.add(values);
        let mut exceedance = ExceedanceCounts::new(thresholds);
        exceedance.add(values);
        summarize(
            &Moments::of_slice(values),
            &[values],
            &counts,
            RiskAsk {
                levels,
                exceedance: Some(&exceedance),
            },
        )
    };
    serde_json::from_value(serde_json::json!({
        "model": {"name": "pricing", "version": "1.0.0", "digest": "sha256:abc"},
        "seed": 42,
        "scenarios": 1003,
        "failed": 3,
        "elapsed_s": 0.125,
        "outputs": {
            "loss": out(&loss, &[0.0, 5e5], &[0.95, 0.99]),
            "y": out(&y, &[], &[]),
        },
        "provenance": {
            "model_digest": "sha256:abc",
            "spec_digest": "sha256:def",
            "seed": 42,
            "mcp_version": "0.1.0",
            "protocol_version": 3
        }
    }))
    .unwrap()
}

/// A table's cells as bits, so that NaN equals NaN and 0.0 differs from -0.0.
fn bits(t: &Table) -> Vec<(String, Vec<Option<String>>)> {
    t.columns
        .iter()
        .map(|c| {
            let cells = match &c.cells {
                Cells::Real(v) => v
                    .iter()
                    .map(|x| x.map(|x| format!("{:016x}", x.to_bits())))
                    .collect(),
                Cells::Count(v) => v.iter().map(|n| n.map(|n| n.to_string())).collect(),
                Cells::Text(v) => v.clone(),
            };
            (c.name.clone(), cells)
        })
        .collect()
}

fn reals(t: &Table, name: &str) -> Vec<Option<f64>> {
    match t.column(name) {
        Some(Cells::Real(v)) => v.clone(),
        other => panic!("{name}: {other:?}"),
    }
}

#[test]
fn the_parquet_summary_read_back_equals_the_summary() {
    let s = summary();
    let table = summary_table(&s);
    let bytes = mcp_export::summary(&s, Format::Parquet).unwrap();
    assert_eq!(&bytes[..4], b"PAR1");
    let back = read_parquet(&bytes).unwrap();
    assert_eq!(bits(&back), bits(&table));
    assert_eq!(back.metadata, table.metadata);

    // And the table is the summary: every field of each output, in its column.
    let (name, loss) = &s.outputs.0[0];
    assert_eq!(name, "loss");
    let at = |column: &str| reals(&back, column)[0].map(f64::to_bits);
    for (column, value) in [
        ("mean", loss.mean),
        ("std", loss.std),
        ("stderr", loss.stderr),
        ("ci95_low", loss.ci95[0]),
        ("ci95_high", loss.ci95[1]),
        ("min", loss.min),
        ("max", loss.max),
        ("p1", loss.percentiles.p1),
        ("p50", loss.percentiles.p50),
        ("p99", loss.percentiles.p99),
        ("percentile_error", loss.percentile_error),
        ("p5_ci95_low", loss.percentile_ci95.unwrap().p5[0]),
        ("p99_ci95_high", loss.percentile_ci95.unwrap().p99[1]),
        ("exceedance2_threshold", 5e5),
        ("exceedance2_probability", loss.exceedance[1].probability),
        ("exceedance1_ci95_high", loss.exceedance[0].ci95[1]),
        ("var1_level", 0.95),
        ("var2_value", loss.var[1].var),
        ("var2_ci95_low", loss.var[1].var_ci95[0]),
        ("var1_cvar", loss.var[0].cvar),
    ] {
        assert_eq!(at(column), Some(value.to_bits()), "{column}");
    }
    let Some(Cells::Count(counts)) = back.column("count") else {
        panic!("no count column")
    };
    assert_eq!(counts, &[Some(1000), Some(1000)]);
    let Some(Cells::Count(tails)) = back.column("var2_tail") else {
        panic!("no tail column")
    };
    assert_eq!(tails, &[Some(loss.var[1].tail), None]);
    // `y` asked for no risk figures: its cells there are null.
    assert_eq!(reals(&back, "exceedance1_probability")[1], None);
    let meta = |k: &str| {
        back.metadata
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(meta("mcp.model_digest"), Some("sha256:abc"));
    assert_eq!(meta("mcp.seed"), Some("42"));
    assert_eq!(meta("mcp.spec_digest"), Some("sha256:def"));
    assert_eq!(meta("mcp.scenarios"), Some("1003"));
}

#[test]
fn the_csv_summary_parses_back_to_the_same_bits() {
    let s = summary();
    let table = summary_table(&s);
    let bytes = mcp_export::summary(&s, Format::Csv).unwrap();
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let names: Vec<String> = table.columns.iter().map(|c| c.name.clone()).collect();
    assert_eq!(header, names);
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 2);
    for (j, column) in table.columns.iter().enumerate() {
        for (i, record) in records.iter().enumerate() {
            let cell = &record[j];
            match &column.cells {
                Cells::Real(v) => match v[i] {
                    Some(x) => assert_eq!(
                        cell.parse::<f64>().unwrap().to_bits(),
                        x.to_bits(),
                        "{} of row {i}: {cell}",
                        column.name
                    ),
                    None => assert_eq!(cell, ""),
                },
                Cells::Count(v) => {
                    assert_eq!(cell, v[i].map(|n| n.to_string()).unwrap_or_default())
                }
                Cells::Text(v) => assert_eq!(cell, v[i].clone().unwrap_or_default()),
            }
        }
    }
}

#[test]
fn the_json_summary_is_the_summary() {
    let s = summary();
    let bytes = mcp_export::summary(&s, Format::Json).unwrap();
    let back: JobSummary = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(back, s);
}

fn model() -> ModelInfo {
    ModelInfo {
        name: "m".into(),
        version: "1".into(),
        inputs: vec!["rate".into(), "path".into()],
        sizes: vec![1, 3],
        outputs: vec!["price".into(), "hit".into()],
        digest: "sha256:abc".into(),
    }
}

fn kept() -> Vec<KeptScenario> {
    vec![
        KeptScenario {
            scenario: 0,
            inputs: vec![0.05, 1.0, 1.1, 0.1 + 0.2],
            outputs: vec![3.25, 1.0],
            failure: None,
        },
        KeptScenario {
            scenario: 7,
            inputs: vec![-0.0, 2.0, f64::MIN_POSITIVE, 1e300],
            outputs: vec![],
            failure: Some(ScenarioFailure {
                scenario: 7,
                kind: FailureKind::ModelError,
                message: "rate, path: \"out of range\"\nsecond line".into(),
            }),
        },
    ]
}

#[test]
fn kept_scenarios_have_a_column_per_input_value_and_output_and_their_failure() {
    let table = scenario_table(&model(), &kept());
    let names: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "scenario",
            "rate",
            "path[0]",
            "path[1]",
            "path[2]",
            "price",
            "hit",
            "failure_kind",
            "failure_message"
        ]
    );
    assert_eq!(reals(&table, "path[2]"), [Some(0.1 + 0.2), Some(1e300)]);
    assert_eq!(reals(&table, "price"), [Some(3.25), None]);
    assert_eq!(
        table.column("failure_kind"),
        Some(&Cells::Text(vec![None, Some("model_error".into())]))
    );
    for format in Format::ALL {
        let bytes = mcp_export::scenarios(&model(), &kept(), vec![], format).unwrap();
        match format {
            Format::Parquet => assert_eq!(bits(&read_parquet(&bytes).unwrap()), bits(&table)),
            Format::Json => {
                let rows: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                assert_eq!(rows[1]["scenario"], 7);
                assert_eq!(rows[1]["path[2]"], 1e300);
                assert_eq!(rows[1]["price"], serde_json::Value::Null);
                assert_eq!(
                    rows[0]["path[2]"].as_f64().unwrap().to_bits(),
                    (0.1f64 + 0.2).to_bits()
                );
                assert_eq!(
                    rows[1]["failure_message"],
                    "rate, path: \"out of range\"\nsecond line"
                );
            }
            Format::Csv => {
                let mut reader = csv::Reader::from_reader(bytes.as_slice());
                let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
                assert_eq!(&rows[0][0], "0");
                assert_eq!(
                    rows[1][1].parse::<f64>().unwrap().to_bits(),
                    (-0.0f64).to_bits()
                );
                assert_eq!(&rows[1][5], "");
                assert_eq!(&rows[1][8], "rate, path: \"out of range\"\nsecond line");
            }
        }
    }
}

#[test]
fn names_that_collide_are_prefixed_by_their_role() {
    let mut info = model();
    info.outputs = vec!["rate".into(), "scenario".into()];
    let table = scenario_table(&info, &kept());
    let names: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "scenario",
            "input.rate",
            "input.path[0]",
            "input.path[1]",
            "input.path[2]",
            "output.rate",
            "output.scenario",
            "failure_kind",
            "failure_message"
        ]
    );
}

#[test]
fn formats_are_named_by_name_or_extension() {
    assert_eq!(Format::named("Parquet"), Ok(Format::Parquet));
    assert_eq!(
        Format::of_path(std::path::Path::new("out/s.csv")),
        Some(Format::Csv)
    );
    assert_eq!(Format::of_path(std::path::Path::new("s.xlsx")), None);
    assert_eq!(
        Format::named("xlsx").unwrap_err().to_string(),
        "unknown format `xlsx`; use csv, json or parquet"
    );
}

#[test]
fn a_file_that_is_not_parquet_is_refused() {
    let err = read_parquet(b"output,mean\ny,1\n").unwrap_err();
    assert!(err.to_string().starts_with("parquet: "), "{err}");
}
