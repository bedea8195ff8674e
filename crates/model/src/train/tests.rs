//! The trainer and the registry: held-out validation, calibration, reproducible artifacts,
//! and refusing corrupt or incompatible models.

use std::fs;
use std::path::{Path, PathBuf};

use crate::registry::{Registry, RegistryError};
use crate::train::{Dataset, DatasetOptions, Family, Params, TrainConfig, Validation, train};
use lapse_core::extract::read::FileFormat;
use lapse_core::extract::{OnError, load_book};
use lapse_core::features::BuildPlan;
use lapse_core::generate::{GenerateConfig, generate};

use lapse_core::testkit::day;

/// Small, fast hyper-parameters for tests.
fn quick_params() -> Params {
    Params { forest_trees: 15, forest_max_depth: 6, gbdt_rounds: 40, gbdt_learning_rate: 0.1, ..Params::default() }
}

/// A stacked training set from a generated book: 12 monthly snapshots.
fn training_table(dir: &Path, policies: usize, seed: u64) -> PathBuf {
    let book_dir = dir.join("book");
    generate(&GenerateConfig::new(policies, seed)).write(&book_dir, FileFormat::Csv).unwrap();
    let loaded = load_book(&book_dir, OnError::Strict).unwrap();
    let dates = lapse_core::dates::date_series(day("2025-03-31"), day("2026-02-28"), lapse_core::dates::Step::Months(1));
    let out = dir.join("train.parquet");
    BuildPlan { as_of: dates, horizon_days: 30, grace_days: 60, extract_date: day("2026-09-30") }.write(&loaded.book, &out).unwrap();
    out
}

fn config(families: &[Family]) -> TrainConfig {
    TrainConfig { families: families.to_vec(), params: quick_params(), ..TrainConfig::default() }
}

#[test]
fn out_of_time_training_registers_a_verifiable_calibrated_model() {
    let dir = tempfile::tempdir().unwrap();
    let table = training_table(dir.path(), 2500, 8);
    let data = Dataset::read(&table, &DatasetOptions::default()).unwrap();
    assert!(data.features.iter().any(|f| f.name == "channel"), "categorical features are used");
    assert!(data.excluded.iter().any(|(n, why)| n == "policy_id" && why == "key"));
    assert!(!data.features.iter().any(|f| f.name == "lapsed" || f.name == "as_of"));

    let outcome = train(&data, &config(&Family::ALL)).unwrap();
    let report = &outcome.report;
    assert_eq!(report.validation, Validation::OutOfTime);
    assert_eq!(report.families.len(), Family::ALL.len());
    assert_eq!(report.validation_window.as_ref().unwrap().1, "2026-02-28");
    for f in &report.families {
        let auc = f.roc_auc.unwrap();
        assert!(auc > 0.6, "{:?} held-out AUC {auc}", f.family);
        assert!(f.ece <= f.raw_ece + 0.02, "{:?}: calibration must not make ECE much worse", f.family);
    }
    let best = report.families.iter().map(|f| f.log_loss).fold(f64::INFINITY, f64::min);
    let kept = report.families.iter().find(|f| f.family == report.chosen).unwrap();
    assert_eq!(kept.log_loss, best, "the kept family has the lowest held-out log loss");
    // With a choice, the headline is the choice judged on rows that did not make it: each half
    // of the validation rows scored by the pick of the other half.
    let selection = report.selection.as_ref().unwrap();
    assert_eq!((selection.log_loss, selection.roc_auc, selection.group_picks.len()), (report.log_loss, report.roc_auc, 2));
    assert_eq!(outcome.held_out_scores.len(), report.rows_validation);

    let registry = Registry::new(dir.path().join("models"));
    let version = registry.register(&outcome.model, report, &table, "2026-11-22T00:00:00Z").unwrap();
    assert_eq!(version, "v0001");
    for file in ["model.json", "model.sha256", "metrics.json", "schema.json", "manifest.json", "card.md"] {
        assert!(dir.path().join("models/v0001").join(file).is_file(), "{file}");
    }
    let metrics: serde_json::Value = serde_json::from_slice(&fs::read(dir.path().join("models/v0001/metrics.json")).unwrap()).unwrap();
    assert!(metrics["roc_auc"].as_f64().unwrap() > 0.6);
    assert_eq!(metrics["families"].as_array().unwrap().len(), Family::ALL.len());
    let loaded = registry.load("v0001").unwrap();
    let rows: Vec<usize> = (0..data.len()).collect();
    let p = loaded.model.predict(&data, &rows).unwrap();
    assert!(p.iter().all(|p| (0.0..=1.0).contains(p)));
    assert_eq!(p, outcome.model.predict(&data, &rows).unwrap(), "a loaded model predicts like the trained one");
}

#[test]
fn same_data_and_seed_give_the_same_model_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let table = training_table(dir.path(), 1200, 3);
    let data = Dataset::read(&table, &DatasetOptions::default()).unwrap();
    for family in Family::ALL {
        let a = train(&data, &config(&[family])).unwrap().model.to_json();
        let b = train(&data, &config(&[family])).unwrap().model.to_json();
        assert!(a == b, "{family:?} artifacts differ between two runs");
    }
}

#[test]
fn registry_refuses_corrupt_truncated_and_inconsistent_artifacts() {
    let dir = tempfile::tempdir().unwrap();
    let table = training_table(dir.path(), 1000, 5);
    let data = Dataset::read(&table, &DatasetOptions::default()).unwrap();
    let outcome = train(&data, &config(&[Family::Logistic])).unwrap();
    let registry = Registry::new(dir.path().join("models"));
    for _ in 0..4 {
        registry.register(&outcome.model, &outcome.report, &table, "2026-11-22T00:00:00Z").unwrap();
    }
    assert_eq!(registry.versions().unwrap(), ["v0001", "v0002", "v0003", "v0004"]);
    let path = |v: &str, f: &str| dir.path().join("models").join(v).join(f);

    // Truncated artifact.
    let bytes = fs::read(path("v0001", "model.json")).unwrap();
    fs::write(path("v0001", "model.json"), &bytes[..bytes.len() / 2]).unwrap();
    let err = registry.load("v0001").err().expect("truncated artifact refused");
    assert!(matches!(err, RegistryError::Corrupt { .. }) && err.to_string().contains("SHA-256"), "{err}");

    // Modified artifact with a matching checksum, but not a model of this format.
    let forged = br#"{"format_version": 99}"#;
    fs::write(path("v0002", "model.json"), forged).unwrap();
    fs::write(path("v0002", "model.sha256"), format!("{}  model.json\n", crate::registry::sha256_hex(forged))).unwrap();
    let err = registry.load("v0002").err().expect("unknown format refused");
    assert!(err.to_string().contains("format 99 is not supported"), "{err}");

    // Schema file disagreeing with the artifact.
    let schema = fs::read_to_string(path("v0003", "schema.json")).unwrap().replacen("\"numeric\"", "\"categorical\"", 1);
    fs::write(path("v0003", "schema.json"), schema).unwrap();
    assert!(registry.load("v0003").err().unwrap().to_string().contains("does not match"));

    // The list of fitted renewals is checksummed too: a version without one says so (None), a
    // modified one is refused, never read as a shorter list.
    assert!(registry.fitted("v0004").unwrap().is_none(), "registered without a list");
    let with_list =
        registry.register_described(&outcome.model, &outcome.report, None, outcome.fitted.as_ref(), "table", "-", "2026-11-22T00:00:00Z").unwrap();
    assert_eq!(registry.fitted(&with_list).unwrap().as_ref(), outcome.fitted.as_ref());
    let keys = fs::read(path(&with_list, "fitted.keys")).unwrap();
    fs::write(path(&with_list, "fitted.keys"), &keys[..keys.len() - 8]).unwrap();
    let err = registry.fitted(&with_list).unwrap_err();
    assert!(matches!(err, RegistryError::Corrupt { .. }) && err.to_string().contains("fitted.keys"), "{err}");

    // Promotion verifies first; the champion pointer only moves to a loadable model.
    assert!(registry.promote("v0001").is_err());
    assert_eq!(registry.champion().unwrap(), None);
    registry.promote("v0004").unwrap();
    assert_eq!(registry.champion().unwrap().as_deref(), Some("v0004"));
    assert!(registry.promote("v0009").is_err());
    assert_eq!(registry.champion().unwrap().as_deref(), Some("v0004"));
    assert_eq!(registry.load_champion().unwrap().version, "v0004");
}

#[test]
fn plain_table_kfold_on_its_fold_column_with_unseen_and_missing_values() {
    // A plain table (no snapshot dates): a label driven by a category and a number, 4 folds.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plain.csv");
    let mut text = String::from("lapse,channel,premium,age,fold\n");
    for i in 0..2000u32 {
        let channel = ["agent", "bank", "online", "phone"][(i % 4) as usize];
        let premium = 100.0 + f64::from((i * 37) % 500);
        let risky = (channel == "online") as u32 + (premium > 400.0) as u32;
        let lapse = u32::from((i * 7919) % 10 < 1 + 3 * risky);
        let age = if i % 50 == 0 { String::new() } else { format!("{}", 20 + i % 50) };
        text.push_str(&format!("{lapse},{channel},{premium},{age},{}\n", i % 4));
    }
    fs::write(&path, text).unwrap();
    let data = Dataset::read(&path, &DatasetOptions::default()).unwrap();
    assert_eq!(data.label_column, "lapse");
    assert!(data.fold.is_some());
    let outcome = train(&data, &config(&[Family::Logistic, Family::Gbdt])).unwrap();
    assert_eq!(outcome.report.validation, Validation::Kfold);
    assert!(outcome.report.validation_detail.contains("4-fold"));
    for f in &outcome.report.families {
        assert_eq!(f.folds.len(), 4);
        assert!(f.roc_auc.unwrap() > 0.7, "{:?} {:?}", f.family, f.roc_auc);
    }
    // linfa-logistic's probability is for the more frequent class; ours must be P(lapse).
    let logistic = outcome.report.families.iter().find(|f| f.family == Family::Logistic).unwrap();
    assert!(logistic.raw_roc_auc.unwrap() > 0.7, "raw logistic scores rank lapses first");

    // Scoring a table with an unseen channel and a missing age works; a missing column is an error.
    let new = dir.path().join("new.csv");
    fs::write(&new, "lapse,channel,premium,age,fold\n0,carrier_pigeon,450,,0\n1,online,480,33,0\n").unwrap();
    let new_data = Dataset::read(&new, &DatasetOptions::default()).unwrap();
    let p = outcome.model.predict(&new_data, &[0, 1]).unwrap();
    assert!(p.iter().all(|p| p.is_finite() && (0.0..=1.0).contains(p)));
    let partial = dir.path().join("partial.csv");
    fs::write(&partial, "lapse,channel,fold\n0,online,0\n1,agent,1\n").unwrap();
    let partial = Dataset::read(&partial, &DatasetOptions::default()).unwrap();
    assert!(outcome.model.predict(&partial, &[0]).unwrap_err().to_string().contains("\"premium\" is missing"));
}

#[test]
fn bad_labels_are_reported_with_their_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.csv");
    fs::write(&path, "lapse,x\n0,1\n1,2\nmaybe,3\n").unwrap();
    let err = Dataset::read(&path, &DatasetOptions::default()).unwrap_err().to_string();
    assert!(err.contains("row 3") && err.contains("maybe"), "{err}");
    fs::write(&path, "lapse,x\n,1\n,2\n").unwrap();
    let unlabelled = Dataset::read(&path, &DatasetOptions::default()).unwrap();
    assert_eq!((unlabelled.len(), unlabelled.unlabelled_rows), (0, 2));
    assert!(train(&unlabelled, &config(&[Family::Gbdt])).err().unwrap().to_string().contains("no labelled rows"));
    fs::write(&path, "y,x\n0,1\n").unwrap();
    assert!(Dataset::read(&path, &DatasetOptions::default()).unwrap_err().to_string().contains("no label column"));
}

#[test]
fn tree_shap_matches_forusts_reference_implementation() {
    // Our TreeSHAP (fast, no allocation per node) against forust's own Shapley contributions
    // on a boosted model of a generated book, rows with missing values included.
    let dir = tempfile::tempdir().unwrap();
    let table = training_table(dir.path(), 1500, 3);
    let data = Dataset::read(&table, &DatasetOptions::default()).unwrap();
    let model = train(&data, &config(&[Family::Gbdt])).unwrap().model;
    let crate::estimators::Estimator::Gbdt(booster) = &model.estimator else { panic!("a gbdt was asked for") };
    let rows: Vec<usize> = (0..300).collect();
    let design = model.design(&data.features, &rows).unwrap();
    assert!(design.values.iter().any(|v| v.is_nan()), "the sample has missing values");
    let matrix = forust_ml::data::Matrix::new(&design.values, design.rows, design.cols());
    let reference = booster.predict_contributions(&matrix, forust_ml::gradientbooster::ContributionsMethod::Shapley, false);
    let width = design.cols();
    let tabulated = model.contributions(&design).unwrap();
    let recursive = crate::shap::TreeExplainer::recursive_only(booster).explain(&design.values, design.rows, width);
    for (name, ours) in [("tabulated", &tabulated), ("recursive", &recursive)] {
        let mut worst = 0.0f64;
        for r in 0..design.rows {
            for j in 0..width {
                worst = worst.max((ours[r * width + j] - reference[r * (width + 1) + j]).abs());
            }
        }
        // forust keeps path weights in f32; ours are f64.
        assert!(worst < 1e-4, "{name}: largest difference {worst}");
    }
    assert!(tabulated.iter().filter(|v| v.abs() > 1e-3).count() > 1000, "the contributions are not trivially zero");
}

#[test]
fn out_of_time_refits_the_chosen_model_on_every_labelled_row_and_reports_held_out_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let table = training_table(dir.path(), 2500, 8);
    let data = Dataset::read(&table, &DatasetOptions::default()).unwrap();
    let refit = train(&data, &config(&[Family::Gbdt])).unwrap();
    let kept = train(&data, &TrainConfig { refit: false, ..config(&[Family::Gbdt]) }).unwrap();
    let (r, k) = (&refit.report, &kept.report);
    // Validation is the same: the same held-out rows, predictions and metrics.
    assert_eq!((r.log_loss, r.roc_auc, r.rows_train, r.rows_validation), (k.log_loss, k.roc_auc, k.rows_train, k.rows_validation));
    assert_eq!(refit.held_out_scores, kept.held_out_scores);
    // The served model saw every labelled row (the newest outcomes too), not only the earlier.
    assert_eq!((r.rows_fitted, k.rows_fitted), (data.len(), k.rows_train));
    assert!(r.rows_train < data.len());
    let rows: Vec<usize> = (0..data.len()).collect();
    let (a, b) = (refit.model.predict(&data, &rows).unwrap(), kept.model.predict(&data, &rows).unwrap());
    assert!(a.iter().zip(&b).filter(|(x, y)| (*x - *y).abs() > 1e-9).count() > data.len() / 2, "a different fit");
    // The card says which rows the served model saw.
    let card = crate::registry::Registry::new(dir.path().join("models"));
    let version = card.register(&refit.model, r, &table, "2026-11-22T00:00:00Z").unwrap();
    let text = card.card(&version).unwrap();
    assert!(text.contains(&format!("| served model fitted on | {} rows: every labelled row", data.len())), "{text}");
    // What it learnt: partial dependence of its most influential numeric inputs.
    let pd = &r.partial_dependence;
    assert!(!pd.is_empty() && pd.len() <= 5, "{pd:?}");
    for curve in pd {
        assert!(curve.points.len() >= 2 && curve.points.iter().all(|(_, p)| (0.0..=1.0).contains(p)), "{curve:?}");
        assert!(curve.points.windows(2).all(|w| w[0].0 < w[1].0), "grid ascending: {curve:?}");
    }
    let swing = |c: &crate::partial_dependence::PartialDependence| {
        let ps: Vec<f64> = c.points.iter().map(|p| p.1).collect();
        ps.iter().copied().fold(f64::MIN, f64::max) - ps.iter().copied().fold(f64::MAX, f64::min)
    };
    assert!(pd.iter().any(|c| swing(c) > 0.01), "the top inputs move the prediction: {pd:?}");
    assert!(text.contains("## What the model learnt (partial dependence)"), "{text}");
}

#[test]
fn auto_searches_settings_and_a_blend_is_an_exact_linear_stack_of_its_members() {
    use crate::artifact::LapseModel;
    use crate::calibrate::Calibrator;
    use crate::encode::FeatureSchema;
    use crate::estimators::{BlendMember, Estimator};
    let dir = tempfile::tempdir().unwrap();
    let table = training_table(dir.path(), 1500, 11);
    let data = Dataset::read(&table, &DatasetOptions::default()).unwrap();
    let families = [Family::Logistic, Family::Spline, Family::Gbdt];
    let outcome = train(&data, &TrainConfig { search: true, blend: true, ..config(&families) }).unwrap();
    let report = &outcome.report;
    // Three settings per linear family, four for boosting on a small table (the fourth early
    // stopped), and the blend (forward-selected members) as a row of its own.
    assert_eq!(report.families.len(), 11, "{:?}", report.families.iter().map(|f| (&f.family, &f.setting)).collect::<Vec<_>>());
    assert!(report.families.iter().any(|f| f.setting.ends_with("early_stopping=100")));
    let blend = report.families.iter().find(|f| f.family == Family::Blend).unwrap();
    let members = blend.setting.matches(" + ").count() + 1;
    assert!((2..=crate::train::select::MAX_BLEND_MEMBERS).contains(&members), "{}", blend.setting);
    let selection = report.selection.as_ref().unwrap();
    assert_eq!(selection.candidates_tried, 10);
    assert!(report.roc_auc.unwrap() > 0.75, "{report:?}");
    // The served model is whatever won; it scores every row as a probability.
    let all: Vec<usize> = (0..data.len()).collect();
    assert!(outcome.model.predict(&data, &all).unwrap().iter().all(|p| (0.0..=1.0).contains(p)));

    // A blend, built by hand from a logistic and a boosted member: its probability is the
    // stack of the members' log-odds, it survives the artifact round trip, and its
    // contributions are exact (they sum to the log-odds minus one constant).
    let schema = FeatureSchema::fit(&data, &all, 20);
    let mut members = Vec::new();
    for family in [Family::Spline, Family::Gbdt] {
        let design = schema.design(&data, &all, family.style());
        let estimator = Estimator::fit(family, &quick_params(), &design, &data.labels).unwrap();
        members.push(BlendMember { family, setting: String::new(), columns: design.cols(), estimator });
    }
    let model = LapseModel::new(
        Family::Blend,
        "lapsed".into(),
        schema,
        Estimator::Blend { members, weights: vec![0.6, 0.5], intercept: -0.1 },
        Calibrator::fit(crate::calibrate::Method::Identity, &[], &[]),
    );
    let rows: Vec<usize> = (0..400).collect();
    let design = model.design(&data.features, &rows).unwrap();
    let p = model.predict_design(&design);
    let Estimator::Blend { members, .. } = &model.estimator else { unreachable!() };
    let logit = |p: f64| (p / (1.0 - p)).ln();
    let member_p: Vec<Vec<f64>> = members.iter().map(|m| m.estimator.predict(&model.schema.design(&data, &rows, m.family.style()))).collect();
    for r in 0..rows.len() {
        let z = -0.1 + 0.6 * logit(member_p[0][r]) + 0.5 * logit(member_p[1][r]);
        assert!((logit(p[r]) - z).abs() < 1e-6, "row {r}");
    }
    let again = LapseModel::from_json(&model.to_json()).unwrap();
    assert_eq!(again.predict_design(&again.design(&data.features, &rows).unwrap()), p);
    let k = model.schema.columns.len();
    let contributions = model.contributions(&design).unwrap();
    let offsets: Vec<f64> = (0..rows.len()).map(|r| logit(p[r]) - contributions[r * k..(r + 1) * k].iter().sum::<f64>()).collect();
    assert!(offsets.iter().all(|o| (o - offsets[0]).abs() < 1e-4), "{:?}", &offsets[..5]);
    assert!(contributions.iter().filter(|c| c.abs() > 1e-3).count() > rows.len(), "not trivially zero");
}

#[test]
fn big_designs_built_in_parallel_equal_the_sequential_build() {
    use crate::encode::{FeatureSchema, Style};
    let dir = tempfile::tempdir().unwrap();
    let table = training_table(dir.path(), 800, 5);
    let data = Dataset::read(&table, &DatasetOptions::default()).unwrap();
    let all: Vec<usize> = (0..data.len()).collect();
    let schema = FeatureSchema::fit(&data, &all, 20);
    // 20,000 rows (repeating the table's) take the parallel path; each half the sequential one.
    let rows: Vec<usize> = (0..20_000).map(|i| (i * 7) % data.len()).collect();
    for style in [Style::Linear, Style::Spline, Style::TreeWithMissing, Style::TreeImputed] {
        let whole = schema.design(&data, &rows, style);
        let (a, b) = (schema.design(&data, &rows[..10_000], style), schema.design(&data, &rows[10_000..], style));
        assert_eq!(whole.names, a.names);
        for j in 0..whole.cols() {
            let column = &whole.values[j * 20_000..(j + 1) * 20_000];
            let halves: Vec<f64> = a.values[j * 10_000..(j + 1) * 10_000].iter().chain(&b.values[j * 10_000..(j + 1) * 10_000]).copied().collect();
            assert!(column.iter().zip(&halves).all(|(x, y)| x.to_bits() == y.to_bits()), "{style:?} column {}", whole.names[j]);
        }
    }
}

/// A stack built up to the extract date: its latest snapshots hold early payers (labelled 0)
/// and not yet the lapses (unlabelled until grace ends). The trainer leaves them out, by the
/// table's metadata or, without metadata (CSV), because some of their rows are unlabelled, and
/// validates on matured snapshots only; `--strict` refuses the table.
#[test]
fn snapshots_whose_outcomes_are_not_all_known_are_left_out_or_refused() {
    let dir = tempfile::tempdir().unwrap();
    let book_dir = dir.path().join("book");
    generate(&GenerateConfig::new(2000, 5)).write(&book_dir, FileFormat::Csv).unwrap();
    let loaded = load_book(&book_dir, OnError::Strict).unwrap();
    let month_ends = [
        "2025-09-30",
        "2025-10-31",
        "2025-11-30",
        "2025-12-31",
        "2026-01-31",
        "2026-02-28",
        "2026-03-31",
        "2026-04-30",
        "2026-05-31",
        "2026-06-30",
        "2026-07-31",
        "2026-08-31",
    ];
    let plan = BuildPlan { as_of: month_ends.iter().map(|d| day(d)).collect(), horizon_days: 30, grace_days: 60, extract_date: day("2026-09-30") };
    let (parquet, csv) = (dir.path().join("stack.parquet"), dir.path().join("stack.csv"));
    plan.write(&loaded.book, &parquet).unwrap();
    plan.write(&loaded.book, &csv).unwrap();

    // The latest snapshot's labelled rows are its payers and only the lapses of its renewals
    // overdue at T: their lapse rate understates the matured snapshots'.
    let (frame, _) = lapse_core::table::read_frame(&parquet).unwrap();
    let as_of = frame.column("as_of").unwrap().cast(&polars::prelude::DataType::String).unwrap();
    let labels = frame.column("lapsed").unwrap().cast(&polars::prelude::DataType::Float64).unwrap();
    let labelled_rate = |date: &str| {
        let y: Vec<f64> =
            as_of.str().unwrap().iter().zip(labels.f64().unwrap().iter()).filter(|(d, _)| *d == Some(date)).filter_map(|(_, y)| y).collect();
        y.iter().sum::<f64>() / y.len() as f64
    };
    let (latest, matured) = (labelled_rate("2026-08-31"), labelled_rate("2026-06-30"));
    assert!(latest < 0.8 * matured, "labelled lapse rate {latest} in the latest snapshot vs {matured} in a matured one");

    for table in [&parquet, &csv] {
        let data = Dataset::read(table, &DatasetOptions::default()).unwrap();
        let dropped: Vec<String> = data.immature.iter().map(|s| lapse_core::dates::format_day(s.as_of)).collect();
        // 2026-07-02 + 90 days is the extract date: from July's snapshot on, some outcome is unknown.
        assert_eq!(dropped, ["2026-07-31", "2026-08-31"], "{}", table.display());
        assert!(data.as_of.as_ref().unwrap().iter().all(|&d| d <= day("2026-06-30")));
        let outcome = train(&data, &config(&[Family::Logistic])).unwrap();
        assert_eq!(outcome.report.validation_window.as_ref().unwrap().1, "2026-06-30");
        assert_eq!(outcome.report.immature_snapshots.len(), 2);
        // Every row it learnt from is in the fitted list, keyed by renewal.
        let fitted = outcome.fitted.as_ref().unwrap();
        assert!((0..data.len()).all(|r| fitted.contains(crate::fitted::row_key(&data, r).unwrap())));
    }
    let metadata_reason = &Dataset::read(&parquet, &DatasetOptions::default()).unwrap().immature[0].reason;
    assert!(metadata_reason.contains("extract date 2026-09-30"), "{metadata_reason}");
    let strict = Dataset::read(&parquet, &DatasetOptions { strict_maturity: true, ..DatasetOptions::default() }).unwrap_err();
    assert!(strict.to_string().contains("2026-07-31") && strict.to_string().contains("--strict"), "{strict}");
}

#[test]
fn the_recorded_contact_outcomes_are_kept_only_when_they_lower_the_held_out_log_loss() {
    use crate::train::train_deciding_groups;
    use lapse_core::table::FeatureValues;
    let dir = tempfile::tempdir().unwrap();
    let table = training_table(dir.path(), 2500, 8);
    let mut data = Dataset::read(&table, &DatasetOptions::default()).unwrap();
    let family: Vec<String> = lapse_core::features::FEATURES
        .iter()
        .filter(|f| f.family == lapse_core::features::FeatureFamily::ContactOutcomes)
        .map(|f| f.name.to_string())
        .collect();
    let in_schema = |outcome: &crate::train::TrainOutcome, name: &str| outcome.model.schema.columns.iter().any(|c| c.name == name);
    // No outcomes attached: every column of the family is empty, left out without a probe.
    let none = train_deciding_groups(&data, &config(&[Family::Gbdt])).unwrap();
    let decision = &none.report.feature_groups[0];
    assert_eq!((decision.kept, decision.log_loss_with, &decision.columns), (false, None, &family));
    assert!(family.iter().all(|name| !in_schema(&none, name)));
    // A column of the family that knows something of the outcome (what a refusal is): kept.
    fn column<'d>(data: &'d mut Dataset, name: &str) -> &'d mut Vec<f64> {
        match &mut data.features.iter_mut().find(|c| c.name == name).unwrap().values {
            FeatureValues::Numeric(v) => v,
            FeatureValues::Categorical(_) => unreachable!("numeric"),
        }
    }
    let labels = data.labels.clone();
    let mut state = 7u64;
    let mut draw = move || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    *column(&mut data, "do_not_contact") = labels.iter().map(|&y| if y == 1 && draw() < 0.4 { 1.0 } else { 0.0 }).collect();
    let informed = train_deciding_groups(&data, &config(&[Family::Gbdt])).unwrap();
    let decision = &informed.report.feature_groups[0];
    assert!(decision.kept, "{decision:?}");
    assert!(decision.log_loss_with.unwrap() < decision.log_loss_without.unwrap());
    assert!(in_schema(&informed, "do_not_contact"));
    // The same column as noise: it does not help, and the model does not read it.
    *column(&mut data, "do_not_contact") = (0..labels.len()).map(|_| if draw() < 0.3 { 1.0 } else { 0.0 }).collect();
    *column(&mut data, "reached_90d") = (0..labels.len()).map(|_| (draw() * 4.0).floor()).collect();
    let noise = train_deciding_groups(&data, &config(&[Family::Gbdt])).unwrap();
    let decision = &noise.report.feature_groups[0];
    assert!(!decision.kept && decision.log_loss_with.unwrap() >= decision.log_loss_without.unwrap(), "{decision:?}");
    assert!(family.iter().all(|name| !in_schema(&noise, name)));
    // The report says so in metrics.json.
    let json = serde_json::to_value(&noise.report).unwrap();
    assert_eq!(json["feature_groups"][0]["family"], "recorded contact outcomes");
}

#[test]
fn early_stopping_picks_the_rounds_and_the_model_is_refitted_with_them() {
    use crate::encode::FeatureSchema;
    use crate::estimators::Estimator;
    let dir = tempfile::tempdir().unwrap();
    let table = training_table(dir.path(), 1500, 11);
    let data = Dataset::read(&table, &DatasetOptions::default()).unwrap();
    let all: Vec<usize> = (0..data.len()).collect();
    let schema = FeatureSchema::fit(&data, &all, 20);
    let design = schema.design(&data, &all, Family::Gbdt.style());
    // A fast rate and a cap far above what the rows support: early stopping ends well before it.
    let params = Params { gbdt_rounds: 2_000, gbdt_learning_rate: 0.3, gbdt_early_stopping: Some(20), ..Params::default() };
    let fit = |p: &Params| match Estimator::fit(Family::Gbdt, p, &design, &data.labels).unwrap() {
        Estimator::Gbdt(booster) => booster.trees.len(),
        other => panic!("{other:?}"),
    };
    let trees = fit(&params);
    assert!((1..2_000).contains(&trees), "{trees} trees");
    // The same rows and seed choose the same rounds; without early stopping the cap is used.
    assert_eq!(fit(&params), trees);
    assert_eq!(fit(&Params { gbdt_rounds: 50, gbdt_early_stopping: None, ..params.clone() }), 50);
}
