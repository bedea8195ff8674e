//! `lapse winback`: the lapsed policies that can still be won back at T, as a work list
//! (`lapse_core::winback`); `lapse funnel`: the renewal funnel (`lapse_reports::funnel`).

use crate::cli::{FunnelArgs, WinbackArgs};
use crate::commands::{as_of_or_extract_date, html_context};
use crate::exit::{Failure, fail};
use lapse_core::extract::load_book_encoded;
use lapse_core::extract::read::FileFormat;

pub fn run_winback(args: WinbackArgs) -> Result<(), Failure> {
    if FileFormat::of(&args.out).is_none() {
        fail!("--out {}: expected a .csv or .parquet file", args.out.display());
    }
    if args.reinstatement_days < 1 || args.grace_days < 0 {
        fail!("--reinstatement-days must be at least 1 and --grace-days at least 0");
    }
    let loaded = load_book_encoded(&args.data, args.on_error.into(), args.encoding.into())?;
    let as_of = as_of_or_extract_date(args.as_of.as_deref(), &loaded.book)?;
    let economics = crate::campaign_commands::economics_arg(args.economics.as_deref())?;
    let list = lapse_core::winback::candidates(&loaded.book, as_of, args.grace_days, args.reinstatement_days, economics.value_cap_years);
    let rows = lapse_core::winback::write(&args.out, &loaded.book, &list, as_of).map_err(anyhow::Error::from)?;
    let mut arrears: Vec<f64> = list.iter().map(|c| c.arrears).collect();
    arrears.sort_by(f64::total_cmp);
    println!(
        "{rows} win-back candidates at {} (lapsed within {} days, not surrendered, claimed, matured or cancelled); median arrears {:.0}; written to {}",
        lapse_core::dates::format_day(as_of),
        args.reinstatement_days,
        arrears.get(arrears.len() / 2).copied().unwrap_or(0.0),
        args.out.display()
    );
    println!("priority: {} (train and register a reinstatement model to rank by its probability)", lapse_core::winback::FALLBACK_BASIS);
    Ok(())
}

pub fn run_funnel(args: FunnelArgs) -> Result<(), Failure> {
    if args.months < 1 {
        fail!("--months must be at least 1");
    }
    let loaded = load_book_encoded(&args.data, lapse_core::extract::OnError::Strict, args.encoding.into())?;
    let as_of = as_of_or_extract_date(args.as_of.as_deref(), &loaded.book)?;
    let report = lapse_reports::funnel::report(&loaded.book, as_of, args.grace_days, args.months);
    println!("renewal funnel to {} (grace {} days)", report.as_of, report.grace_days);
    println!(
        "{:<9} {:>9} {:>9} {:>10} {:>11} {:>9} {:>7} {:>6}",
        "due", "renewals", "reminded", "contacted", "before_due", "in_grace", "lapsed", "open"
    );
    for r in report.rows.iter().filter(|r| r.dimension == "all") {
        println!(
            "{:<9} {:>9} {:>9} {:>10} {:>11} {:>9} {:>7} {:>6}",
            r.due_month, r.renewals, r.reminded, r.contacted, r.paid_before_due, r.paid_in_grace, r.lapsed, r.open
        );
    }
    if let Some(out) = &args.report.out {
        lapse_reports::write_json(out, &report)?;
        println!("full report (by channel, first action, first contact timing): {}", out.display());
    }
    if let Some(path) = &args.report.html {
        lapse_reports::write_html(path, &lapse_reports::pages::funnel_page(&html_context(&report.as_of, &args.report.lang), &report))?;
    }
    Ok(())
}
