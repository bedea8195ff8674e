//! `lapse drift`: population drift of one table against another or a model's reference.

use super::html_context;
use crate::exit::Context;
use crate::exit::Failure;
use crate::exit::fail;
use crate::flags::DriftArgs;

use lapse_core::table::read_features;
use lapse_model::drift::Reference;
use lapse_model::registry::Registry;
use lapse_reports::pages::drift_page;
use lapse_reports::write_html;
use lapse_reports::write_json;

pub fn run_drift(args: DriftArgs) -> Result<(), Failure> {
    let thresholds = args.thresholds.checked()?;
    let mut current = read_features(&args.current)?;
    let report = match (&args.reference, &args.model) {
        (Some(path), None) => Reference::fit(&read_features(path)?).compare(&current, thresholds),
        (None, Some(version)) => {
            let registry = Registry::new(&args.models);
            let version = if version == "champion" { registry.champion()?.context("the registry has no champion")? } else { version.clone() };
            let reference = registry
                .reference(&version)?
                .with_context(|| format!("{version} was registered without a drift reference (retrain it with this version of lapse)"))?;
            // The score's drift: the model scores the current table.
            let model = registry.load(&version)?.model;
            let scores = model.scores_of(&current);
            reference.compare_scored(|name| current.iter().position(|c| c.name == name).map(|i| current.swap_remove(i)), scores, thresholds)
        }
        _ => fail!("give either --reference TABLE or --model VERSION"),
    };
    println!("{:<32} {:>8} {:>8} {:>9} {:>9}  status", "feature", "psi", "ks", "miss_ref", "miss_cur");
    for f in &report.features {
        let ks = f.ks.map_or("-".to_string(), |k| format!("{k:.4}"));
        println!("{:<32} {:>8.4} {:>8} {:>9.4} {:>9.4}  {}", f.feature, f.psi, ks, f.missing_reference, f.missing_current, f.status);
    }
    if !report.missing_features.is_empty() {
        println!("missing from the current table: {}", report.missing_features.join(", "));
    }
    println!("{} of {} features flagged (watch >= {}, act >= {})", report.flagged.len(), report.features.len(), thresholds.watch, thresholds.act);
    if let Some(out) = &args.report.out {
        write_json(out, &report)?;
    }
    if let Some(path) = &args.report.html {
        let against = match (&args.model, &args.reference) {
            (Some(version), _) => version.clone(),
            (_, Some(path)) => path.display().to_string(),
            _ => String::new(),
        };
        write_html(path, &drift_page(&html_context(&args.current.display().to_string(), args.report.lang), &against, &report, None))?;
    }
    Ok(())
}
