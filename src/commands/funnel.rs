//! `lapse funnel`: the renewal funnel by due month.

use super::{as_of_or_extract_date, html_context};
use crate::exit::Failure;
use crate::exit::fail;
use crate::flags::FunnelArgs;

pub fn run_funnel(args: FunnelArgs) -> Result<(), Failure> {
    if args.months < 1 {
        fail!("--months must be at least 1");
    }
    let loaded = args.extract.load(lapse_core::extract::OnError::Strict)?;
    let as_of = as_of_or_extract_date(args.as_of, &loaded.book)?;
    let listed = match &args.score_log {
        Some(dir) => Some(lapse_reports::funnel::listed_from_log(dir, as_of).map_err(|e| Failure { input: true, error: anyhow::Error::new(e) })?),
        None => None,
    };
    let recorded = match &args.store {
        Some(url) => Some(lapse_reports::funnel::recorded_outcomes(&lapse_store::read_all_blocking(url)?, as_of)),
        None => None,
    };
    let report = lapse_reports::funnel::report(
        &loaded.book,
        as_of,
        args.grace_days,
        args.months,
        listed.as_ref().map(|(l, read)| (l, read.log_lines)),
        recorded.as_ref(),
    );
    println!("renewal funnel to {} (grace {} days)", report.as_of, report.grace_days);
    if let Some((_, read)) = &listed {
        println!("score log: {} lines read, {} malformed (skipped)", read.log_lines, read.malformed_lines);
    }
    println!(
        "{:<9} {:>9} {:>8} {:>9} {:>10} {:>11} {:>9} {:>7} {:>6}",
        "due", "renewals", "listed", "reminded", "contacted", "before_due", "in_grace", "lapsed", "open"
    );
    for r in report.rows.iter().filter(|r| r.dimension == "all") {
        let listed = r.listed.map_or("-".to_string(), |n| n.to_string());
        println!(
            "{:<9} {:>9} {:>8} {:>9} {:>10} {:>11} {:>9} {:>7} {:>6}",
            r.due_month, r.renewals, listed, r.reminded, r.contacted, r.paid_before_due, r.paid_in_grace, r.lapsed, r.open
        );
    }
    if let Some(n) = report.renewals_with_outcomes {
        println!("outcomes recorded before {} on {n} renewals:", report.as_of);
        println!("{:<9} {:>8} {:>9} {:>13}", "due", "reached", "promised", "promise_kept");
        for r in report.rows.iter().filter(|r| r.dimension == "all") {
            println!("{:<9} {:>8} {:>9} {:>13}", r.due_month, r.reached.unwrap_or(0), r.promised.unwrap_or(0), r.promise_kept.unwrap_or(0));
        }
    }
    if let Some(out) = &args.report.out {
        lapse_reports::write_json(out, &report)?;
        println!("full report (by channel, first action, first contact timing): {}", out.display());
    }
    if let Some(path) = &args.report.html {
        lapse_reports::write_html(path, &lapse_reports::pages::funnel_page(&html_context(&report.as_of, args.report.lang), &report))?;
    }
    Ok(())
}
