//! `lapse why`: why customers lapse, by group.

use super::{economics_arg, html_context};
use crate::exit::Failure;
use crate::flags::WhyArgs;

use lapse_reports::pages::why_page;
use lapse_reports::why::why_table;
use lapse_reports::write_html;
use lapse_reports::write_json;

pub fn run_why(args: WhyArgs) -> Result<(), Failure> {
    let (registry, loaded) = args.registry.load()?;
    let economics = economics_arg(args.economics.as_deref())?;
    let fitted = registry.fitted(&loaded.version)?;
    let report = why_table(&args.features, &loaded.version, &loaded.model, fitted.as_ref(), &economics)?;
    println!(
        "{} renewals ({} with a known outcome), snapshots {}, model {}",
        report.renewals,
        report.labelled,
        report.snapshots.join(", "),
        report.model_version
    );
    println!("predictions: {}", report.predictions);
    println!("{:<13} {:<24} {:>9} {:>9} {:>10}  top reason", "dimension", "group", "renewals", "observed", "predicted");
    let rate = |r: Option<f64>| r.map_or("-".to_string(), |r| format!("{:.1}%", 100.0 * r));
    for g in report.groups.iter().filter(|g| matches!(g.dimension.as_str(), "channel" | "age_band")) {
        println!(
            "{:<13} {:<24} {:>9} {:>9} {:>10}  {}",
            g.dimension,
            g.value,
            g.renewals,
            rate(g.observed_lapse_rate),
            rate(Some(g.mean_predicted)),
            g.top_reasons.first().map_or("-".to_string(), |r| format!("{} ({:.0}%)", r.feature, 100.0 * r.share))
        );
    }
    write_json(&args.out, &report)?;
    println!("full report (every dimension, three reasons per group): {}", args.out.display());
    if let Some(path) = &args.html {
        let night = report.snapshots.last().cloned().unwrap_or_default();
        write_html(path, &why_page(&html_context(&night, args.lang), &report))?;
    }
    Ok(())
}
