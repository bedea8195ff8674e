//! `lapse train`: fit, validate, calibrate and register a model.

use std::time::Instant;

use super::watched;
use crate::exit::Context;
use crate::exit::Failure;
use crate::exit::fail;
use crate::flags::{ModelChoice, TrainArgs};

use lapse_core::dates::now_utc_rfc3339;
use lapse_model::registry::Registry;
use lapse_model::train::Dataset;
use lapse_model::train::DatasetOptions;
use lapse_model::train::Family;
use lapse_model::train::Params;
use lapse_model::train::TrainConfig;
use lapse_model::train::train_deciding_groups;

pub fn run_train(args: TrainArgs) -> Result<(), Failure> {
    let mut params: Params = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading --config {}", path.display()))?;
            serde_json::from_str(&text).with_context(|| format!("--config {}: not a valid parameter file", path.display()))?
        }
        None => Params::default(),
    };
    if let Some(v) = args.seed {
        params.seed = v;
    }
    if let Some(v) = args.rounds {
        params.gbdt_rounds = v;
    }
    if let Some(v) = args.learning_rate {
        params.gbdt_learning_rate = v;
    }
    if let Some(v) = args.max_depth {
        params.gbdt_max_depth = v;
    }
    if let Some(v) = args.trees {
        params.forest_trees = v;
    }
    if let Some(v) = args.alpha {
        params.logistic_alpha = v;
    }
    if args.folds < 2 {
        fail!("--folds must be at least 2");
    }
    let families = args.model.families();
    let started = Instant::now();
    let options = DatasetOptions {
        label: args.label.clone(),
        exclude: args.exclude.clone(),
        value_column: args.value_column.clone(),
        strict_maturity: args.strict,
    };
    // The training file's checksum (recorded in the manifest) on its own thread, while the
    // models train: a few tenths of a second on a large table.
    let source_sha256 = {
        let path = args.features.clone();
        std::thread::spawn(move || lapse_model::registry::sha256_file(&path))
    };
    let data = Dataset::read(&args.features, &options)?;
    tracing::info!(rows = data.len(), unlabelled = data.unlabelled_rows, features = data.features.len(), "training table read");
    let config = TrainConfig {
        families,
        validation: args.validation.map(Into::into),
        folds: args.folds,
        validation_snapshots: args.validation_snapshots,
        params,
        progress: watched(),
        refit: !args.no_refit,
        search: args.model == ModelChoice::Auto && !args.no_search,
        blend: args.model == ModelChoice::Auto && !args.no_search,
        keep_fold_models: false,
        leave_out: Vec::new(),
        only_settings: Vec::new(),
    };
    let outcome = train_deciding_groups(&data, &config)?;
    let registry = Registry::new(&args.models);
    let created_at = now_utc_rfc3339();
    let source_sha256 = source_sha256.join().map_err(|_| Failure::from(anyhow::anyhow!("the checksum thread panicked")))??;
    let version = registry.register_described(
        &outcome.model,
        &outcome.report,
        Some(&outcome.reference),
        outcome.fitted.as_ref(),
        &args.features.display().to_string(),
        &source_sha256,
        &created_at,
    )?;
    let promote = args.promote || registry.champion()?.is_none();
    if promote {
        registry.promote(&version)?;
    }
    let report = &outcome.report;
    for s in &report.immature_snapshots {
        println!(
            "left out snapshot {}: outcomes not all known at the extract date ({}; {} of {} rows labelled); --strict refuses such a table",
            lapse_core::dates::format_day(s.as_of),
            s.reason,
            s.labelled,
            s.rows
        );
    }
    println!(
        "{} ({}): {} labelled rows, lapse rate {:.2}%",
        args.features.display(),
        report.validation_detail,
        report.rows_labelled,
        100.0 * report.lapse_rate
    );
    println!("{:<9} {:<34} {:>8} {:>9} {:>8} {:>8} {:>10} {:>7}", "family", "setting", "roc_auc", "log_loss", "brier", "ece", "raw_ece", "fit_s");
    for f in &report.families {
        let setting = if f.family == Family::Blend { "best of each family".to_string() } else { f.setting.clone() };
        println!(
            "{:<9} {:<34} {:>8.4} {:>9.4} {:>8.4} {:>8.4} {:>10.4} {:>7.1}{}",
            f.family.as_str(),
            setting,
            f.roc_auc.unwrap_or(f64::NAN),
            f.log_loss,
            f.brier,
            f.ece,
            f.raw_ece,
            f.fit_seconds,
            if f.family == report.chosen && (f.family == Family::Blend || f.setting == report.chosen_setting) { "  <- kept" } else { "" }
        );
    }
    if let Some(selection) = &report.selection {
        println!(
            "kept: {}; judged on rows that did not choose it ({}): roc_auc {:.4}, log_loss {:.4}; {} settings tried in {:.1} s",
            report.chosen_setting,
            selection.method,
            selection.roc_auc.unwrap_or(f64::NAN),
            selection.log_loss,
            selection.candidates_tried,
            selection.search_seconds
        );
    }
    for group in &report.feature_groups {
        match (group.log_loss_with, group.log_loss_without) {
            (Some(with), Some(without)) => println!(
                "{}: {} ({}: held-out log loss {with:.4} with, {without:.4} without; {})",
                group.family,
                if group.kept { "kept" } else { "left out" },
                group.probe,
                group.reason
            ),
            _ => println!("{}: left out ({})", group.family, group.reason),
        }
    }
    println!(
        "registered {} in {} ({}){} in {:.1} s",
        version,
        args.models.display(),
        report.chosen.as_str(),
        if promote { ", now champion" } else { "" },
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
