//! `lapse winback`: the lapsed policies that can still be won back at T, as a work list
//! (`lapse_core::winback`); `lapse funnel`: the renewal funnel (`lapse_reports::funnel`).

use crate::cli::{FunnelArgs, WinbackArgs, WinbackTableArgs};
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
    let Some(lang) = lapse_model::scoring::lang::Lang::from_tag(&args.lang) else {
        fail!("--lang {:?}: use en or zh-CN", args.lang);
    };
    let loaded = load_book_encoded(&args.data, args.on_error.into(), args.encoding.into())?;
    let as_of = as_of_or_extract_date(args.as_of.as_deref(), &loaded.book)?;
    let economics = crate::campaign_commands::economics_arg(args.economics.as_deref())?;
    let mut list = lapse_core::winback::candidates(&loaded.book, as_of, args.grace_days, args.reinstatement_days, economics.value_cap_years);
    let ranked = match &args.models {
        Some(dir) => lapse_retention::winback::rank_with_champion(dir, &loaded.book, &mut list, as_of).map_err(anyhow::Error::from)?,
        None => None,
    };
    let basis = ranked.clone().unwrap_or_else(|| lapse_core::winback::FALLBACK_BASIS.to_string());
    let reasons = lapse_retention::winback::reasons(&list, lang);
    let rows = lapse_core::winback::write(&args.out, &loaded.book, &list, as_of, &basis, &reasons).map_err(anyhow::Error::from)?;
    let mut arrears: Vec<f64> = list.iter().map(|c| c.arrears).collect();
    arrears.sort_by(f64::total_cmp);
    println!(
        "{rows} win-back candidates at {} (lapsed within {} days, not surrendered, claimed, matured or cancelled); median arrears {:.0}; written to {}",
        lapse_core::dates::format_day(as_of),
        args.reinstatement_days,
        arrears.get(arrears.len() / 2).copied().unwrap_or(0.0),
        args.out.display()
    );
    match (ranked, &args.models) {
        (Some(basis), _) => println!("priority: {basis}"),
        (None, Some(dir)) => println!("priority: {basis} ({} has no champion yet)", dir.display()),
        (None, None) => {
            println!("priority: {basis} (`lapse winback-table`, then `lapse train --models DIR`, then --models DIR to rank by its probability)")
        }
    }
    Ok(())
}

pub fn run_winback_table(args: WinbackTableArgs) -> Result<(), Failure> {
    use lapse_core::winback::features::{LabelPlan, TablePlan, describe_dates};
    if FileFormat::of(&args.out).is_none() {
        fail!("--out {}: expected a .csv or .parquet file", args.out.display());
    }
    if args.reinstatement_days < 1 || args.grace_days < 0 || args.horizon_days < 1 || args.snapshots < 1 {
        fail!("--reinstatement-days, --horizon-days and --snapshots must be at least 1 and --grace-days at least 0");
    }
    let step = lapse_core::dates::Step::parse(&args.every).map_err(|e| anyhow::anyhow!("--every: {e}"))?;
    let loaded = load_book_encoded(&args.data, args.on_error.into(), args.encoding.into())?;
    let extract_date =
        loaded.book.latest_observed.ok_or_else(|| anyhow::anyhow!("the extract records no date: cannot tell which outcomes are known"))?;
    let last = match args.as_of.as_deref() {
        Some(text) => crate::commands::day_arg("as-of", text)?,
        None => extract_date - args.horizon_days,
    };
    let economics = crate::campaign_commands::economics_arg(args.economics.as_deref())?;
    let plan = TablePlan {
        dates: TablePlan::dates_back(last, step, args.snapshots),
        label: LabelPlan { horizon_days: args.horizon_days, extract_date },
        grace_days: args.grace_days,
        reinstatement_days: args.reinstatement_days,
        value_cap_years: economics.value_cap_years,
    };
    let (rows, labelled) = plan.write(&loaded.book, &args.out).map_err(anyhow::Error::from)?;
    println!(
        "{rows} win-back candidate rows ({labelled} labelled: reinstated within {} days, known by the extract date {}) from {}; written to {}",
        args.horizon_days,
        lapse_core::dates::format_day(extract_date),
        describe_dates(&plan.dates),
        args.out.display()
    );
    println!("train it: lapse train --features {} --models models/winback", args.out.display());
    Ok(())
}

pub fn run_funnel(args: FunnelArgs) -> Result<(), Failure> {
    if args.months < 1 {
        fail!("--months must be at least 1");
    }
    let loaded = load_book_encoded(&args.data, lapse_core::extract::OnError::Strict, args.encoding.into())?;
    let as_of = as_of_or_extract_date(args.as_of.as_deref(), &loaded.book)?;
    let listed = match &args.score_log {
        Some(dir) => Some(lapse_reports::funnel::listed_from_log(dir, as_of).map_err(|e| Failure { input: true, error: anyhow::Error::new(e) })?),
        None => None,
    };
    let report =
        lapse_reports::funnel::report(&loaded.book, as_of, args.grace_days, args.months, listed.as_ref().map(|(l, read)| (l, read.log_lines)));
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
    if let Some(out) = &args.report.out {
        lapse_reports::write_json(out, &report)?;
        println!("full report (by channel, first action, first contact timing): {}", out.display());
    }
    if let Some(path) = &args.report.html {
        lapse_reports::write_html(path, &lapse_reports::pages::funnel_page(&html_context(&report.as_of, &args.report.lang), &report))?;
    }
    Ok(())
}
