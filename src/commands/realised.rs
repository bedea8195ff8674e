//! `lapse realised`: the score log joined with outcomes.

use super::{as_of_or_extract_date, html_context};
use crate::exit::Failure;
use crate::flags::RealisedArgs;

use lapse_core::extract::OnError;
use lapse_reports::pages::realised_page;
use lapse_reports::write_html;
use lapse_reports::write_json;

pub fn run_realised(args: RealisedArgs) -> Result<(), Failure> {
    let loaded = args.extract.load(OnError::Strict)?;
    let as_of = as_of_or_extract_date(args.as_of, &loaded.book)?;
    let report = lapse_reports::realised::report(&args.score_log, &loaded.book, as_of, args.grace_days)?;
    let show = |x: Option<f64>| x.map_or("-".to_string(), |x| format!("{x:.4}"));
    println!(
        "outcomes as of {}: {} log lines ({} malformed, skipped), {} renewals unknown to the extract",
        report.outcomes_as_of, report.log_lines, report.malformed_lines, report.unknown_renewals
    );
    println!(
        "{:<8} {:>8} {:>9} {:>8} {:>9} {:>9} {:>9} {:>8} {:>9}",
        "month", "scored", "labelled", "auc", "exp_auc", "log_loss", "observed", "predicted", "lift"
    );
    for m in report.months.iter().filter(|m| m.dimension == "all") {
        println!(
            "{:<8} {:>8} {:>9} {:>8} {:>9} {:>9} {:>9} {:>8} {:>9}",
            m.month,
            m.scored,
            m.labelled,
            show(m.roc_auc),
            show(m.expected_auc),
            show(m.log_loss),
            show(m.observed_lapse_rate),
            show(m.predicted_lapse_rate),
            show(m.top_decile_lift)
        );
    }
    if let Some(out) = &args.report.out {
        write_json(out, &report)?;
    }
    if let Some(path) = &args.report.html {
        write_html(path, &realised_page(&html_context(&report.outcomes_as_of, args.report.lang), &report))?;
    }
    Ok(())
}
