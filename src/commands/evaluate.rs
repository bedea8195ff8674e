//! `lapse evaluate`: a registered model on a later labelled table, on renewals it never fitted.

use crate::exit::{Context, Failure};
use crate::flags::EvaluateArgs;

use lapse_model::train::Dataset;
use lapse_model::train::DatasetOptions;
use lapse_reports::write_json;

pub fn run_evaluate(args: EvaluateArgs) -> Result<(), Failure> {
    let (registry, loaded) = args.registry.load()?;
    let fitted = registry.fitted(&loaded.version)?;
    let options = DatasetOptions { label: Some(loaded.model.label.clone()), strict_maturity: args.strict, ..DatasetOptions::default() };
    let data = Dataset::read(&args.features, &options)?;
    let report = lapse_model::evaluate::evaluate(&loaded.model, &loaded.version, fitted.as_ref(), &data)
        .with_context(|| format!("{}: model {}", args.features.display(), loaded.version))?;
    for s in &report.immature_snapshots {
        println!("left out snapshot {}: {} ({} of {} rows labelled)", lapse_core::dates::format_day(s.as_of), s.reason, s.labelled, s.rows);
    }
    let e = &report.evaluation;
    println!(
        "model {} on {}: {} matured labelled rows, {}; judged on {}: roc_auc {}, log_loss {:.5}, ece {:.4}, mean predicted {:.4} vs observed {:.4}",
        report.model_version,
        args.features.display(),
        report.rows,
        match report.fitted_rows {
            Some(k) => format!("{k} of them fitted by the model and left out"),
            None => "the model keeps no list of the renewals it was fitted on (the figures may be in-sample)".to_string(),
        },
        e.rows,
        e.roc_auc.map_or("-".to_string(), |a| format!("{a:.4}")),
        e.log_loss,
        e.ece,
        e.mean_predicted,
        e.lapse_rate
    );
    if let Some(out) = &args.out {
        write_json(out, &report)?;
    }
    Ok(())
}
