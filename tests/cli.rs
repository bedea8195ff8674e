//! The `lapse` binary end to end: commands, exit codes, and what is (not) left on disk.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use crate::common::{CsvBook, read_parquet};

fn lapse(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lapse")).args(args).env("LAPSE_LOG", "warn").output().expect("run lapse")
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

#[test]
fn generate_then_build_a_snapshot_and_a_stacked_training_set() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("book");
    let out = lapse(&["generate", "--policies", "300", "--seed", "1", "--out", data.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(files_in(&data), ["agents.csv", "customers.csv", "events.csv", "installments.csv", "policies.csv"]);

    let snapshot = dir.path().join("snapshot.parquet");
    let out = lapse(&["features", "--data", data.to_str().unwrap(), "--as-of", "2026-06-30", "--out", snapshot.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let frame = read_parquet(&snapshot);
    assert!(frame.height() > 0);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&format!("wrote {} renewal rows", frame.height())), "{stdout}");

    let train = dir.path().join("train.csv");
    let out = lapse(&[
        "features",
        "--data",
        data.to_str().unwrap(),
        "--as-of",
        "2025-01-31..2025-12-31",
        "--every",
        "1mo",
        "--out",
        train.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = fs::read_to_string(&train).unwrap();
    assert!(text.starts_with("as_of,policy_id,installment_no,due_date,customer_id,agent_id,lapsed,"));
    assert_eq!(text.lines().filter(|l| l.starts_with("as_of,")).count(), 1, "one header for all snapshots");

    // A repeated flag that takes several values accumulates (`--exclude a --exclude b`).
    let models = dir.path().join("models");
    let out = lapse(&[
        "train",
        "--features",
        train.to_str().unwrap(),
        "--model",
        "logistic",
        "--validation",
        "kfold",
        "--models",
        models.to_str().unwrap(),
        "--exclude",
        "channel",
        "--exclude",
        "region",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let metrics: serde_json::Value = serde_json::from_slice(&fs::read(models.join("v0001/metrics.json")).unwrap()).unwrap();
    let excluded: Vec<&str> = metrics["excluded_columns"].as_array().unwrap().iter().map(|e| e[0].as_str().unwrap()).collect();
    assert!(excluded.contains(&"channel") && excluded.contains(&"region"), "{excluded:?}");
}

#[test]
fn strict_failure_exits_2_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("book");
    let mut book = CsvBook::new();
    book.annual_policy("P1", "2022-01-01").installment("P1", 2, "2023-01-01", "yesterday");
    book.write(&data);
    let out_dir = dir.path().join("out");
    fs::create_dir(&out_dir).unwrap();
    let out = lapse(&["features", "--data", data.to_str().unwrap(), "--as-of", "2023-01-15", "--out", out_dir.join("f.parquet").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("installments.csv row 2 (line 3), column paid_date, value \"yesterday\": not a valid date"), "{stderr}");
    assert!(files_in(&out_dir).is_empty(), "nothing written, not even a temp file: {:?}", files_in(&out_dir));
}

#[test]
fn skip_mode_writes_a_rejects_file_and_says_how_many() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("book");
    let mut book = CsvBook::new();
    book.annual_policy("P1", "2022-01-01").installment("P1", 2, "2023-01-01", "");
    book.installment("P1", 3, "2024-01-01", "yesterday");
    book.write(&data);
    let out_path = dir.path().join("f.parquet");
    let out =
        lapse(&["features", "--data", data.to_str().unwrap(), "--as-of", "2023-01-15", "--on-error", "skip", "--out", out_path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("skipped 1 bad row(s)"), "{stderr}");
    let rejects = fs::read_to_string(dir.path().join("f.rejects.csv")).unwrap();
    assert_eq!(rejects.lines().count(), 2);
    assert!(rejects.contains("paid_date,yesterday,not a valid date"));
    assert_eq!(read_parquet(&out_path).height(), 1);
}

#[test]
fn bad_flags_are_refused_with_a_message() {
    // Flags are the caller's input: exit 2, as clap's own usage errors.
    let out = lapse(&["features", "--data", "nowhere", "--as-of", "2024-13-01", "--out", "x.parquet"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--as-of \"2024-13-01\" is not a date"));
    let out = lapse(&["features", "--data", "nowhere", "--as-of", "2024-01-01", "--out", "x.parquet"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("nowhere"), "names the missing directory");
}

#[test]
fn committed_feature_catalog_matches_the_code() {
    let committed = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/features/CATALOG.md")).expect("features/CATALOG.md");
    assert_eq!(committed, lapse_core::features::catalog_markdown(), "regenerate with: cargo run -- catalog > features/CATALOG.md");
    let metrics = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/metrics.md")).expect("docs/metrics.md");
    assert_eq!(metrics, lapse_reports::pages::metrics::document(), "regenerate with: cargo run -- catalog --metrics > docs/metrics.md");
    let out = lapse(&["catalog", "--format", "json"]);
    let entries: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(entries.as_array().unwrap().len(), lapse_core::features::FEATURES.len());
}

#[test]
fn a_gb18030_extract_gives_the_same_snapshot_as_its_utf8_twin_with_chinese_values_intact() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    assert!(lapse(&["generate", "--policies", "600", "--seed", "4", "--out", p("book").to_str().unwrap()]).status.success());
    // Chinese regions and channels, as a Chinese core system writes them.
    let chinese = [("Shanghai", "上海"), ("Beijing", "北京"), ("Guangdong", "广东"), ("bancassurance", "银保"), ("telemarketing", "电销")];
    fs::create_dir_all(p("utf8")).unwrap();
    fs::create_dir_all(p("gb18030")).unwrap();
    for table in ["policies", "customers", "installments", "events", "agents"] {
        let mut text = fs::read_to_string(p("book").join(format!("{table}.csv"))).unwrap();
        for (from, to) in chinese {
            text = text.replace(&format!(",{from},"), &format!(",{to},")).replace(&format!(",{from}\n"), &format!(",{to}\n"));
        }
        // One UTF-8 table carries a byte-order mark, as spreadsheet exports do.
        let bom = if table == "policies" { "\u{feff}" } else { "" };
        fs::write(p("utf8").join(format!("{table}.csv")), format!("{bom}{text}")).unwrap();
        let (encoded, _, unmappable) = encoding_rs::GB18030.encode(&text);
        assert!(!unmappable);
        fs::write(p("gb18030").join(format!("{table}.csv")), encoded).unwrap();
    }
    assert!(fs::read(p("gb18030/policies.csv")).unwrap().windows(2).any(|w| w == [0xc9, 0xcf]), "上 is GB18030 0xC9CF in the file");
    for (book, encoding) in [("utf8", "utf-8"), ("gb18030", "gb18030")] {
        let out = lapse(&[
            "features",
            "--data",
            p(book).to_str().unwrap(),
            "--as-of",
            "2026-06-30",
            "--encoding",
            encoding,
            "--out",
            p(&format!("{book}.parquet")).to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{book}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let (utf8, gb) = (read_parquet(&p("utf8.parquet")), read_parquet(&p("gb18030.parquet")));
    assert!(utf8.equals_missing(&gb), "the two encodings give the same snapshot");
    let regions = utf8.column("region").unwrap().cast(&polars::prelude::DataType::String).unwrap();
    assert!(regions.str().unwrap().iter().any(|r| r == Some("上海")), "Chinese category values flow through unchanged");
    // Read as UTF-8, the GB18030 export is refused with a hint, and nothing is written.
    let out = lapse(&["features", "--data", p("gb18030").to_str().unwrap(), "--as-of", "2026-06-30", "--out", p("wrong.parquet").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--encoding gb18030"), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!p("wrong.parquet").exists());
}

#[test]
fn serve_and_nightly_settings_layer_defaults_file_environment_flags_and_say_where_each_came_from() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lapse.toml");
    fs::write(
        &file,
        "[serve]\nsnapshot = \"s.parquet\"\naddr = \"127.0.0.1:9000\"\ntimeout_seconds = 5\nmax_batch = 200\nno_auth = true\n\n[nightly]\ndata = \"extract\"\nwindow_months = 6\n",
    )
        .unwrap();
    let show = |extra: &[&str], env: &[(&str, &str)]| -> String {
        let mut command = Command::new(env!("CARGO_BIN_EXE_lapse"));
        command.args(["config", "show"]).args(extra).env("LAPSE_LOG", "warn");
        for (k, v) in env {
            command.env(k, v);
        }
        let out = command.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let text = show(
        &["serve", "--config", file.to_str().unwrap(), "--max-batch", "50"],
        &[("LAPSE_SERVE_TIMEOUT_SECONDS", "7"), ("LAPSE_SERVE_ADDR", "127.0.0.1:9001")],
    );
    for line in [
        "addr = 127.0.0.1:9001  # env LAPSE_SERVE_ADDR",
        "timeout_seconds = 7  # env LAPSE_SERVE_TIMEOUT_SECONDS",
        "max_batch = 50  # flag",
        "no_auth = true  # file",
        "max_in_flight = 1024  # default",
    ] {
        assert!(text.lines().any(|l| l == line), "{line:?} in\n{text}");
    }
    assert!(show(&["nightly", "--config", file.to_str().unwrap()], &[]).lines().any(|l| l == "window_months = 6  # file"));
    // A `--config` that is not TOML stays the nightly's trainer parameters.
    let both = show(&["nightly", "--config", file.to_str().unwrap(), "--config", "params.json"], &[]);
    assert!(both.lines().any(|l| l == "config = params.json  # flag") && both.lines().any(|l| l == "window_months = 6  # file"), "{both}");
    // The committed example parses, for both commands.
    for sub in ["serve", "nightly"] {
        show(&[sub, "--config", "deploy/lapse.toml"], &[]);
    }
    // Secrets and unknown settings are refused, naming the key.
    fs::write(&file, "[serve]\nscore_token = \"s3cret\"\n").unwrap();
    let out = lapse(&["serve", "--config", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("secrets are not read from the configuration file"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("s3cret"));
    fs::write(&file, "[serve]\nmax_batchh = 5\n").unwrap();
    let out = lapse(&["serve", "--config", file.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no setting \"max_batchh\""), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn the_systemd_units_verify() {
    if Command::new("systemd-analyze").arg("--version").output().is_err() {
        eprintln!("systemd-analyze is not installed: units not verified");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for unit in ["lapse-serve.service", "lapse-nightly.service", "lapse-nightly.timer"] {
        // The binary path as installed does not exist here: point it at the one just built.
        let text = fs::read_to_string(Path::new("deploy").join(unit)).unwrap().replace("/usr/local/bin/lapse", env!("CARGO_BIN_EXE_lapse"));
        fs::write(dir.path().join(unit), text).unwrap();
    }
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .args(["lapse-serve.service", "lapse-nightly.service", "lapse-nightly.timer"].map(|u| dir.path().join(u)))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn features_of_customer_parts_with_the_books_aggregates_are_the_whole_books_rows() {
    let dir = tempfile::tempdir().unwrap();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("training-data-samples/book");
    let parts = lapse_core::extract::split::split_by_customer(&sample, 2, &dir.path().join("parts"), Default::default()).unwrap().dirs;
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let dates = "2026-04-30..2026-06-30";
    let ok = |run: Output| assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    ok(lapse(&["features", "--data", sample.to_str().unwrap(), "--as-of", dates, "--out", &path("whole.parquet")]));
    ok(lapse(&["aggregates", "--data", sample.to_str().unwrap(), "--as-of", dates, "--out", &path("agg.csv")]));
    let mut rows = 0;
    for (k, part) in parts.iter().enumerate() {
        let out = path(&format!("part-{k}.parquet"));
        let part = part.to_str().unwrap();
        // Without the whole book's extract date a part would label by its own latest date: refused.
        let refused = lapse(&["features", "--data", part, "--as-of", dates, "--aggregates", &path("agg.csv"), "--out", &out]);
        assert_eq!(refused.status.code(), Some(2), "{}", String::from_utf8_lossy(&refused.stderr));
        ok(lapse(&["features", "--data", part, "--as-of", dates, "--aggregates", &path("agg.csv"), "--extract-date", "2026-09-30", "--out", &out]));
        rows += read_parquet(Path::new(&out)).height();
    }
    let whole = read_parquet(&dir.path().join("whole.parquet"));
    assert_eq!(rows, whole.height());
    // Aggregates that lack a date of the plan are refused, naming it.
    let short = lapse(&[
        "features",
        "--data",
        parts[0].to_str().unwrap(),
        "--as-of",
        "2026-07-31",
        "--aggregates",
        &path("agg.csv"),
        "--extract-date",
        "2026-09-30",
        "--out",
        &path("x.parquet"),
    ]);
    assert!(!short.status.success() && String::from_utf8_lossy(&short.stderr).contains("2026-07-31"), "{}", String::from_utf8_lossy(&short.stderr));
    assert!(!dir.path().join("x.parquet").exists());
}

#[test]
fn features_built_in_customer_shards_are_the_unsharded_table() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let ok = |run: Output| {
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        String::from_utf8_lossy(&run.stdout).into_owned()
    };
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("training-data-samples/book");
    ok(lapse(&["generate", "--policies", "1500", "--seed", "31", "--format", "parquet", "--out", &path("parquet-book")]));
    for (book, name) in [(sample.to_str().unwrap().to_string(), "csv"), (path("parquet-book"), "parquet")] {
        let (whole, sharded) = (path(&format!("{name}-whole.parquet")), path(&format!("{name}-sharded.parquet")));
        ok(lapse(&["features", "--data", &book, "--as-of", "2026-03-31..2026-06-30", "--out", &whole]));
        let said = ok(lapse(&["features", "--data", &book, "--as-of", "2026-03-31..2026-06-30", "--out", &sharded, "--shards", "4"]));
        assert!(said.contains("in 4 customer shards"), "{said}");
        let (a, b) = (read_parquet(Path::new(&whole)), read_parquet(Path::new(&sharded)));
        assert!(a.height() > 500 && a.equals_missing(&b), "{name}: the sharded table differs from the unsharded one");
        // The same metadata (dates, extract date, keys) and nothing left beside the output.
        assert_eq!(fs::read(&whole).unwrap(), fs::read(&sharded).unwrap(), "{name}: not the same bytes");
    }
    let leftovers: Vec<_> =
        fs::read_dir(dir.path()).unwrap().filter_map(|e| e.ok()).filter(|e| e.file_name().to_string_lossy().starts_with('.')).collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // A memory budget picks the shards (one for this small book) and says so; one below any
    // split's need is refused.
    let said = ok(lapse(&[
        "features",
        "--data",
        sample.to_str().unwrap(),
        "--as-of",
        "2026-06-30",
        "--out",
        &path("budget.parquet"),
        "--memory-budget-gib",
        "3",
    ]));
    assert!(said.contains("3000 policies, memory budget 3 GiB: 1 customer shard(s)"), "{said}");
    let refused =
        lapse(&["features", "--data", sample.to_str().unwrap(), "--as-of", "2026-06-30", "--out", &path("y.parquet"), "--memory-budget-gib", "1"]);
    assert_eq!(refused.status.code(), Some(2), "{}", String::from_utf8_lossy(&refused.stderr));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("below"));
    // Shards with a row budget cannot give the unsharded sample: refused by the flags.
    let refused = lapse(&[
        "features",
        "--data",
        sample.to_str().unwrap(),
        "--as-of",
        "2026-06-30",
        "--out",
        &path("x.parquet"),
        "--shards",
        "2",
        "--max-rows",
        "10",
    ]);
    assert_eq!(refused.status.code(), Some(2));
}

/// `lapse train` on a stack built to its extract date validates only on matured snapshots
/// (the immature ones named, or refused with `--strict`: exit 2, nothing registered), and
/// `lapse evaluate` judges the model on a later snapshot, leaving out what it was fitted on.
#[test]
fn train_leaves_out_immature_snapshots_and_evaluate_judges_on_unseen_renewals() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let out = lapse(&["generate", "--policies", "2000", "--seed", "31", "--out", &p("book")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stack = ["features", "--data", &p("book"), "--as-of", "2025-05-31..2026-05-31", "--every", "1mo", "--extract-date", "2026-06-30", "--out"];
    let out = lapse(&[&stack[..], &[p("stack.parquet").as_str()]].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let strict = lapse(&["train", "--features", &p("stack.parquet"), "--model", "logistic", "--models", &p("models"), "--strict"]);
    assert_eq!(strict.status.code(), Some(2), "{}", String::from_utf8_lossy(&strict.stderr));
    assert!(String::from_utf8_lossy(&strict.stderr).contains("2026-04-30"), "{}", String::from_utf8_lossy(&strict.stderr));
    assert!(!dir.path().join("models").join("v0001").exists(), "nothing registered");

    let out = lapse(&["train", "--features", &p("stack.parquet"), "--model", "logistic", "--models", &p("models")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    // 2026-03-31 + 30 + 60 days is 2026-06-29, before the extract date; April's is not.
    assert!(stdout.contains("left out snapshot 2026-04-30") && stdout.contains("left out snapshot 2026-05-31"), "{stdout}");
    assert!(!stdout.contains("left out snapshot 2026-03-31"), "{stdout}");
    let metrics: serde_json::Value = serde_json::from_slice(&fs::read(dir.path().join("models/v0001/metrics.json")).unwrap()).unwrap();
    assert_eq!(metrics["validation_window"][1], "2026-03-31");
    assert_eq!(metrics["immature_snapshots"].as_array().unwrap().len(), 2);
    // The model card says what it learnt from and what was left out.
    let card = lapse(&["models", "show", "v0001", "--models", &p("models")]);
    let card = String::from_utf8_lossy(&card.stdout);
    assert!(card.contains("renewals learnt from") && card.contains("snapshots left out | 2026-04-30"), "{card}");

    // Judged on its own training table, nothing is left: refused. On the snapshot three months
    // later (every outcome known by the book's extract date), nothing was fitted.
    let own = lapse(&["evaluate", "--models", &p("models"), "--features", &p("stack.parquet")]);
    assert_eq!(own.status.code(), Some(2), "{}", String::from_utf8_lossy(&own.stdout));
    assert!(String::from_utf8_lossy(&own.stderr).contains("nothing held out"), "{}", String::from_utf8_lossy(&own.stderr));
    let out = lapse(&["features", "--data", &p("book"), "--as-of", "2026-06-30", "--out", &p("later.parquet")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = lapse(&["evaluate", "--models", &p("models"), "--features", &p("later.parquet"), "--out", &p("evaluate.json")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&fs::read(dir.path().join("evaluate.json")).unwrap()).unwrap();
    assert_eq!(report["fitted_rows"], 0);
    assert_eq!(report["evaluation"]["rows"], report["rows"]);
    assert!(report["evaluation"]["roc_auc"].as_f64().unwrap() > 0.6, "{report}");
}

/// Every `[default: X]` that `--help` prints for a flag, per subcommand: `(command, flag,
/// value)`. Subcommands are read from `lapse --help`, so a new one is covered without a change
/// here.
fn help_defaults() -> Vec<(String, String, String)> {
    let top = String::from_utf8(lapse(&["--help"]).stdout).unwrap();
    let commands: Vec<String> = top
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .filter(|c| c != "help")
        .collect();
    assert!(commands.len() >= 15, "read the subcommands from `lapse --help`: {commands:?}");
    let mut out = Vec::new();
    for command in commands {
        let help = String::from_utf8(lapse(&[&command, "--help"]).stdout).unwrap();
        // A flag's block runs from its `--name` line to the next flag.
        let mut flag: Option<String> = None;
        for line in help.lines() {
            let trimmed = line.trim_start();
            if trimmed.starts_with("--") || trimmed.starts_with("-h,") {
                flag = trimmed.split([' ', ',']).find(|w| w.starts_with("--")).map(|w| w.trim_start_matches("--").to_string());
            }
            if let (Some(name), Some(at)) = (&flag, line.find("[default: ")) {
                let value = line[at + "[default: ".len()..].split(']').next().unwrap().to_string();
                out.push((command.clone(), name.clone(), value));
            }
        }
    }
    out
}

#[test]
fn every_default_in_help_agrees_with_the_library() {
    use lapse_core::features::SnapshotSpec;
    let limits = lapse_api::Limits::default();
    let log = lapse_api::score_log::LogPolicy::default();
    let night = lapse_nightly::NightlyConfig::new("d".into(), "m".into(), 0, "o".into());
    let reload = lapse_nightly::ReloadOptions::default();
    let train = lapse_model::train::TrainConfig::default();
    let psi = lapse_model::drift::Thresholds::default();
    // (command or "*" for every command, flag, the library's value)
    let expected: Vec<(&str, &str, f64)> = vec![
        ("*", "grace-days", f64::from(SnapshotSpec::DEFAULT_GRACE_DAYS)),
        ("features", "horizon-days", f64::from(SnapshotSpec::DEFAULT_HORIZON_DAYS)),
        ("nightly", "horizon-days", f64::from(night.horizon_days)),
        ("winback-table", "horizon-days", f64::from(lapse_core::winback::features::DEFAULT_LABEL_DAYS)),
        ("*", "reinstatement-days", f64::from(lapse_core::winback::REINSTATEMENT_DAYS)),
        ("nightly", "window-months", f64::from(night.window_months)),
        ("nightly", "validation-snapshots", night.validation_snapshots as f64),
        ("nightly", "max-extract-age-days", f64::from(night.max_extract_age_days)),
        ("nightly", "max-train-rows", night.max_train_rows.unwrap() as f64),
        ("nightly", "reload-timeout-seconds", reload.timeout.as_secs_f64()),
        ("nightly", "reload-attempts", f64::from(reload.attempts)),
        ("train", "folds", train.folds as f64),
        ("train", "validation-snapshots", train.validation_snapshots as f64),
        ("*", "watch", psi.watch),
        ("*", "act", psi.act),
        ("serve", "max-body-bytes", limits.max_body_bytes as f64),
        ("serve", "max-batch", limits.max_batch as f64),
        ("serve", "max-inline-rows", limits.max_inline_rows as f64),
        ("serve", "timeout-seconds", limits.timeout_seconds),
        ("serve", "max-in-flight", limits.max_in_flight as f64),
        ("serve", "max-connections", limits.connections.max_connections as f64),
        ("serve", "header-timeout-seconds", limits.connections.header_timeout.as_secs_f64()),
        ("serve", "shutdown-grace-seconds", limits.connections.shutdown_grace.as_secs_f64()),
        ("serve", "max-campaigns-per-day", limits.max_campaigns_per_day as f64),
        ("serve", "score-log-max-mb", (log.max_file_bytes >> 20) as f64),
        ("serve", "score-log-retention-days", f64::from(log.retention_days.unwrap())),
        ("serve", "score-log-max-total-gb", (log.max_total_bytes.unwrap() >> 30) as f64),
        ("effect", "prior-sd", lapse_reports::effect::DEFAULT_PRIOR_SD),
        ("effect", "min-segment-control-lapses", lapse_reports::effect::DEFAULT_MIN_SEGMENT_CONTROL_LAPSES as f64),
        ("funnel", "months", f64::from(lapse_reports::funnel::DEFAULT_MONTHS)),
    ];
    let defaults = help_defaults();
    for (command, flag, value) in &expected {
        let shown: Vec<&(String, String, String)> = defaults.iter().filter(|(c, f, _)| (*command == "*" || c == command) && f == flag).collect();
        assert!(!shown.is_empty(), "`lapse {command} --help` shows no default for --{flag}");
        for (c, f, text) in shown {
            let number: f64 = text.parse().unwrap_or_else(|_| panic!("lapse {c} --{f}: default {text:?} is not a number"));
            assert_eq!(number, *value, "lapse {c} --help: --{f} defaults to {text}, the library to {value}");
        }
    }
    // Every other numeric default with the same flag name agrees across commands (one
    // meaning, one default), except where a command's flag means something else: the
    // reinstatement label's window, and the nightly's validation window inside its rolling
    // training window (train's covers a whole table).
    let differs = |command: &str, flag: &str| {
        matches!((command, flag), ("winback-table", "horizon-days") | ("winback-table", "snapshots") | ("nightly", "validation-snapshots"))
    };
    let numeric = |v: &str| v.parse::<f64>().is_ok();
    for (c, f, v) in &defaults {
        for (d, g, w) in &defaults {
            if f == g && v != w && numeric(v) && !differs(c, f) && !differs(d, g) {
                panic!("--{f} defaults to {v} in `lapse {c}` but {w} in `lapse {d}`");
            }
        }
    }
}

#[test]
fn a_work_list_takes_the_same_defaults_and_errors_from_the_command_line_as_from_the_api() {
    // The spec names the field; the command line shows it as its flag and exits 2.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("q.csv");
    let run = lapse(&["queue", "--snapshot", "nowhere.parquet", "--holdout", "0.2", "--out", out.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(2), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(String::from_utf8_lossy(&run.stderr).contains("--holdout: a holdout needs a campaign name"), "{}", String::from_utf8_lossy(&run.stderr));
    let run = lapse(&["queue", "--snapshot", "nowhere.parquet", "--capacity", "fax=3", "--out", out.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&run.stderr).contains("--capacity: capacity \"fax=3\": no action \"fax\""),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let run = lapse(&["queue", "--snapshot", "nowhere.parquet", "--rank-by", "value", "--out", out.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(2), "clap refuses a ranking the spec does not know");
    assert!(!out.exists(), "nothing written");
}

#[test]
fn contact_rules_come_from_the_settings_file_and_config_show_prints_them() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lapse.toml");
    std::fs::write(&file, "[serve]\naddr = \"127.0.0.1:9999\"\nsnapshot = \"s.parquet\"\n\n[contact_rules]\nrefused_days = 45\n[contact_rules.caps]\ncall = { max = 2, days = 5 }\n").unwrap();
    let run = lapse(&["config", "show", "serve", "--config", file.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(out.contains("contact_rules = ") && out.contains("# file"), "{out}");
    assert!(out.contains("refused_days = 45") && out.contains("call = { max = 2, days = 5 }"), "{out}");
    assert!(out.contains("promise_grace_days = 3"), "unset rules keep their defaults: {out}");
    // Without the section: the documented defaults.
    let run = lapse(&["config", "show", "serve", "--snapshot", "s.parquet"]);
    assert!(String::from_utf8_lossy(&run.stdout).contains("refused_days = 30"), "{}", String::from_utf8_lossy(&run.stdout));
    // A misspelt rule is refused, naming it.
    std::fs::write(&file, "[contact_rules]\nrefused_dayz = 45\n").unwrap();
    let run = lapse(&["config", "show", "serve", "--snapshot", "s.parquet", "--config", file.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(2), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(String::from_utf8_lossy(&run.stderr).contains("refused_dayz"), "{}", String::from_utf8_lossy(&run.stderr));
}

#[test]
fn performance_writes_the_report_page_and_incentive_export_and_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let book = concat!(env!("CARGO_MANIFEST_DIR"), "/training-data-samples/book");
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    fs::write(dir.path().join("targets.csv"), "level,key,month,target_rate\nall,all,2026-05,0.95\nteam,T001,2026-05,92%\n").unwrap();
    let out = lapse(&[
        "performance",
        "--data",
        book,
        "--as-of",
        "2026-09-30",
        "--months",
        "2026-03..2026-09",
        "--targets",
        &path("targets.csv"),
        "--out",
        &path("performance.json"),
        "--html",
        &path("performance.html"),
        "--csv",
        &path("agents.csv"),
        "--lang",
        "zh-CN",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("2026-09") && stdout.contains("in progress") && stdout.contains("closed"), "{stdout}");
    let report: serde_json::Value = serde_json::from_slice(&fs::read(path("performance.json")).unwrap()).unwrap();
    let groups = report["groups"].as_array().unwrap();
    let may = groups.iter().find(|g| g["level"] == "team" && g["key"] == "T001" && g["month"] == "2026-05").unwrap();
    assert_eq!(may["target_rate"], 0.92);
    assert!(may["gap_premium"].is_number() && may["attainment"].is_number(), "{may}");
    for level in ["all", "agent", "team", "branch", "region", "channel", "product"] {
        assert!(groups.iter().any(|g| g["level"] == level), "{level}");
    }
    let html = fs::read_to_string(path("performance.html")).unwrap();
    assert!(html.contains("<html lang=\"zh-CN\">") && html.contains("续期考核") && html.contains("目标达成"), "the page in Chinese");
    let csv = fs::read(path("agents.csv")).unwrap();
    assert!(csv.starts_with(b"\xef\xbb\xbfmonth,agent_id,team,branch,"), "a byte-order mark, then the documented header");
    // Bad input: exit 2, the flag or file and row named, nothing written.
    for (args, says) in [(vec!["--by", "agent,division"], "--by \"division\""), (vec!["--months", "2026-13"], "--months \"2026-13\"")] {
        let mut all = vec!["performance", "--data", book, "--out", "/nonexistent/x.json"];
        all.extend(args);
        let out = lapse(&all);
        assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stderr).contains(says), "{}", String::from_utf8_lossy(&out.stderr));
    }
    fs::write(dir.path().join("bad.csv"), "level,key,month,target_rate\nagent,A1,2026-05,1.7\n").unwrap();
    let out = lapse(&["performance", "--data", book, "--targets", &path("bad.csv"), "--out", &path("never.json")]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.csv") && stderr.contains("row 1 (target_rate)"), "{stderr}");
    assert!(!dir.path().join("never.json").exists());
}

/// The `lapse ...` commands written in a document: inline code spans and code blocks (lines
/// continued with a backslash joined), each cut at the next `lapse ` or shell separator.
fn documented_commands(text: &str) -> Vec<String> {
    let mut segments: Vec<String> = Vec::new();
    let mut in_block = false;
    let mut block_line = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if in_block {
            let trimmed = line.trim_end();
            block_line.push_str(trimmed.trim_end_matches('\\'));
            block_line.push(' ');
            if !trimmed.ends_with('\\') {
                segments.push(std::mem::take(&mut block_line));
            }
            continue;
        }
        for (i, span) in line.split('`').enumerate() {
            if i % 2 == 1 {
                segments.push(span.to_string());
            }
        }
    }
    let mut commands = Vec::new();
    for segment in segments {
        for piece in segment.split(['|', ';', '&', '>']) {
            let mut rest = piece;
            while let Some(at) = rest.find("lapse ") {
                let after = &rest[at + 6..];
                let end = after.find("lapse ").unwrap_or(after.len());
                commands.push(format!("lapse {}", &after[..end]));
                rest = &after[end..];
            }
        }
    }
    commands
}

#[test]
fn every_flag_the_docs_give_a_command_is_one_its_help_knows() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut docs = vec![root.join("README.md")];
    docs.extend(fs::read_dir(root.join("docs")).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "md")));
    let mut helps: std::collections::HashMap<String, Option<String>> = std::collections::HashMap::new();
    let mut unknown = Vec::new();
    let mut checked = 0;
    for doc in docs {
        let text = fs::read_to_string(&doc).unwrap();
        for command in documented_commands(&text) {
            let words: Vec<&str> = command.split_whitespace().collect();
            let Some(&name) = words.get(1) else { continue };
            if !name.chars().all(|c| c.is_ascii_lowercase() || c == '-') || name.is_empty() {
                continue;
            }
            // `lapse outcomes import`, `lapse config show`: the subcommand's own help.
            let sub = words.get(2).filter(|w| matches!(**w, "import" | "export" | "show")).copied();
            let key = format!("{name} {}", sub.unwrap_or(""));
            let help = helps
                .entry(key.clone())
                .or_insert_with(|| {
                    let mut args = vec![name];
                    args.extend(sub);
                    args.push("--help");
                    let out = lapse(&args);
                    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
                })
                .clone();
            let Some(help) = help else { continue };
            for word in &words[2..] {
                let flag = word.trim_matches(|c: char| !(c.is_ascii_alphanumeric() || c == '-')).split('=').next().unwrap_or("");
                if !flag.starts_with("--") || flag.len() < 4 || flag == "--help" {
                    continue;
                }
                checked += 1;
                if !help.contains(&format!("{flag} ")) && !help.contains(&format!("{flag}\n")) && !help.contains(&format!("{flag} <")) {
                    unknown.push(format!("{}: `{}` has no {flag}", doc.strip_prefix(root).unwrap().display(), key.trim()));
                }
            }
        }
    }
    unknown.sort();
    unknown.dedup();
    assert!(checked > 100, "the documents give flags: {checked}");
    assert!(unknown.is_empty(), "flags the docs give that --help does not know:\n{}", unknown.join("\n"));
}
