//! `lapse persistency`: 13th- and 25th-month persistency.

use super::{as_of_or_extract_date, html_context};
use crate::exit::Failure;
use crate::flags::PersistencyArgs;

use lapse_reports::pages::persistency_page;
use lapse_reports::write_html;
use lapse_reports::write_json;

pub fn run_persistency(args: PersistencyArgs) -> Result<(), Failure> {
    let loaded = args.extract.load(args.on_error.into())?;
    let as_of = as_of_or_extract_date(args.as_of, &loaded.book)?;
    let report = lapse_reports::persistency::report(&loaded.book, as_of, args.grace_days);
    println!("persistency as of {} (grace {} days)", report.as_of, report.grace_days);
    println!("{:<6} {:<13} {:<22} {:>9} {:>10} {:>9} {:>11}", "month", "dimension", "group", "policies", "persisting", "by_count", "by_premium");
    let ratio = |r: Option<f64>| r.map_or("-".to_string(), |r| format!("{:.1}%", 100.0 * r));
    for k in report.kpis.iter().filter(|k| matches!(k.dimension, "all" | "issue_year" | "channel")) {
        println!(
            "{:<6} {:<13} {:<22} {:>9} {:>10} {:>9} {:>11}",
            k.month,
            k.dimension,
            k.group,
            k.policies,
            k.persisting,
            ratio(k.ratio_by_count),
            ratio(k.ratio_by_premium)
        );
    }
    if let Some(out) = &args.report.out {
        write_json(out, &report)?;
        println!("full report (with product type and region): {}", out.display());
    }
    if let Some(path) = &args.report.html {
        write_html(path, &persistency_page(&html_context(&report.as_of, args.report.lang), &report))?;
    }
    Ok(())
}
