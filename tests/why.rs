//! `lapse why` end to end: per-group lapse rates equal the table's labels, each group has the
//! model's reasons, and bad input names its row.

use std::collections::BTreeMap;
use std::fs;
use std::process::{Command, Output};

use serde_json::Value;

use crate::common::{column_strings, fixture, read_parquet};

fn lapse(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lapse")).args(args).env("LAPSE_LOG", "warn").output().expect("run lapse")
}

#[test]
fn why_gives_each_channels_observed_lapse_rate_and_its_reasons() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let (out, html) = (dir.path().join("why.json"), dir.path().join("why.html"));
    let training = f.training.to_str().unwrap();
    let run = lapse(&[
        "why",
        "--models",
        f.models.to_str().unwrap(),
        "--features",
        training,
        "--out",
        out.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let report: Value = serde_json::from_slice(&fs::read(&out).unwrap()).unwrap();

    // The table's own labels, per channel.
    let table = read_parquet(&f.training);
    let (channels, labels) = (column_strings(&table, "channel"), column_strings(&table, "lapsed"));
    let mut expected: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (c, y) in channels.iter().zip(&labels) {
        let e = expected.entry(c.clone()).or_default();
        if y != "null" {
            e.0 += 1;
            e.1 += usize::from(y == "1");
        }
    }
    let groups = report["groups"].as_array().unwrap();
    let by_channel: Vec<&Value> = groups.iter().filter(|g| g["dimension"] == "channel").collect();
    assert_eq!(by_channel.len(), expected.len());
    for g in &by_channel {
        let (labelled, lapses) = expected[g["value"].as_str().unwrap()];
        assert_eq!(g["labelled"].as_u64().unwrap() as usize, labelled);
        assert!((g["observed_lapse_rate"].as_f64().unwrap() - lapses as f64 / labelled as f64).abs() < 1e-12, "{g}");
        // Reasons come from a sample: every renewal of a group up to 400, more spread over the table.
        let (renewals, explained) = (g["renewals"].as_u64().unwrap(), g["explained"].as_u64().unwrap());
        assert!(explained <= renewals && explained >= renewals.min(400), "{g}");
        let reasons = g["top_reasons"].as_array().unwrap();
        assert!(!reasons.is_empty() && reasons.len() <= 3, "{g}");
        assert!(reasons.iter().all(|r| r["share"].as_f64().unwrap() > 0.0
            && r["mean_contribution"].as_f64().unwrap() > 0.0
            && !r["example"].as_str().unwrap().is_empty()));
        let p = g["mean_predicted"].as_f64().unwrap();
        assert!(p > 0.0 && p < 1.0);
    }
    // Every dimension, and the groups of one dimension cover every renewal once.
    for dimension in ["channel", "product_type", "region", "age_band", "policy_year", "segment"] {
        let total: u64 = groups.iter().filter(|g| g["dimension"] == dimension).map(|g| g["renewals"].as_u64().unwrap()).sum();
        assert_eq!(total as usize, channels.len(), "{dimension}");
    }
    // A stacked table: the latest snapshot against the one before.
    let snapshots = report["snapshots"].as_array().unwrap();
    assert!(snapshots.len() > 1);
    let change = &by_channel[0]["change"];
    assert_eq!(change["latest"], *snapshots.last().unwrap());
    assert_eq!(change["previous"], snapshots[snapshots.len() - 2]);
    let page = fs::read_to_string(&html).unwrap();
    assert!(page.contains("Why customers lapse") && page.contains("By channel") && page.contains("By segment"));

    // Bad input: a label that is neither 0 nor 1 is named with its row; nothing written.
    let csv = dir.path().join("bad.csv");
    let mut df = table.head(Some(20));
    let mut text = Vec::new();
    {
        use polars::prelude::SerWriter;
        polars::prelude::CsvWriter::new(&mut text).finish(&mut df).unwrap();
    }
    let text = String::from_utf8(text).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let at = header.iter().position(|h| *h == "lapsed").unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut cells: Vec<String> = lines[3].split(',').map(str::to_string).collect();
    cells[at] = "2".into();
    lines[3] = cells.join(",");
    fs::write(&csv, lines.join("\n")).unwrap();
    let bad_out = dir.path().join("bad.json");
    let run = lapse(&["why", "--models", f.models.to_str().unwrap(), "--features", csv.to_str().unwrap(), "--out", bad_out.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(2), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(String::from_utf8_lossy(&run.stderr).contains("row 3: lapsed is 2"), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(!bad_out.exists());
}
