//! `lapse audit`: the data-quality audit of an extract against the previous one.

use super::{audit_thresholds_arg, html_context};
use crate::exit::Failure;
use crate::flags::AuditArgs;
use lapse_core::audit::{AuditOptions, Fingerprint, audit_extract, fingerprint_extract};

pub fn run_audit(args: AuditArgs) -> Result<(), Failure> {
    let thresholds = audit_thresholds_arg(args.audit_thresholds.as_deref())?;
    let encoding = args.extract.encoding.into();
    let previous = if args.previous.is_dir() {
        fingerprint_extract(&args.previous, encoding, args.previous_date)?
    } else {
        let mut print = Fingerprint::read(&args.previous).map_err(|e| Failure::input(anyhow::Error::new(e)))?;
        if let Some(d) = args.previous_date {
            print.extract_date = Some(d);
        }
        print
    };
    let options = AuditOptions { grace_days: args.grace_days, encoding, current_date: args.extract_date, examples: args.examples };
    let run = audit_extract(&args.extract.data, &previous, &options)?;
    drop(previous);
    let mut report = run.report;
    let verdict = thresholds.judge(&report);
    report.verdict = Some(verdict.clone());
    println!(
        "audit of {} ({}) against {} ({})",
        report.current.source,
        report.current.extract_date.as_deref().unwrap_or("-"),
        report.previous.source,
        report.previous.extract_date.as_deref().unwrap_or("-")
    );
    println!("{:<24} {:<13} {:>10} {:>9}", "check", "table", "rows", "share");
    for c in &report.checks {
        println!("{:<24} {:<13} {:>10} {:>8.3}%", c.check, c.table, c.rows, 100.0 * c.share);
    }
    if report.unreadable_cells > 0 {
        println!("{} unreadable cells in today's extract (left out of the comparisons they cannot take)", report.unreadable_cells);
    }
    for w in &verdict.warnings {
        println!("warning: {w}");
    }
    for s in &verdict.stops {
        println!("STOP: {s}");
    }
    let night = report.current.extract_date.clone().unwrap_or_default();
    if let Some(out) = &args.report.out {
        lapse_reports::write_json(out, &report)?;
        println!("report: {}", out.display());
    }
    if let Some(path) = &args.report.html {
        let history = args.history.as_deref().map(|dir| lapse_reports::audit::history(dir, &night)).unwrap_or_default();
        lapse_reports::write_html(path, &lapse_reports::pages::audit_page(&html_context(&night, args.report.lang), &report, &history))?;
    }
    if let Some(path) = &args.fingerprint_out {
        // A second pass, once yesterday's fingerprint is dropped (never both in memory).
        let date = report.current.extract_date.as_deref().and_then(lapse_core::dates::parse_day);
        let print = fingerprint_extract(&args.extract.data, encoding, date)?;
        print.write(path).map_err(|e| Failure { input: false, error: anyhow::Error::new(e) })?;
        println!("today's fingerprint: {} (for tomorrow's --previous)", path.display());
    }
    if !verdict.stops.is_empty() {
        return Err(Failure::input(anyhow::anyhow!("{} check(s) above their stop threshold: {}", verdict.stops.len(), verdict.stops.join("; "))));
    }
    Ok(())
}
