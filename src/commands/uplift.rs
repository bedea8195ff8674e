//! `lapse uplift`: per-renewal effects learnt from a campaign's two arms.

use std::time::Instant;

use super::{as_of_or_extract_date, economics_arg, html_context, read_campaign_file};
use crate::exit::Failure;
use crate::exit::fail;
use crate::flags::UpliftArgs;

use lapse_core::dates::format_day;
use lapse_reports::write_html;
use lapse_reports::write_json;

pub fn run_uplift(args: UpliftArgs) -> Result<(), Failure> {
    use lapse_retention::uplift::{UpliftPointer, fit, register};
    let started = Instant::now();
    if args.rounds == 0 {
        fail!("--rounds must be at least 1");
    }
    let base_economics = economics_arg(args.economics.as_deref())?;
    let campaign = read_campaign_file(&args.campaign)?;
    let loaded = args.extract.load(args.on_error.into())?;
    let as_of = as_of_or_extract_date(args.as_of, &loaded.book)?;
    let params = lapse_model::train::Params { gbdt_rounds: args.rounds, ..lapse_model::train::Params::default() };
    let staging = args.models.join("uplift").join(format!(".staging-{}", std::process::id()));
    let fitted = fit(&campaign, &args.snapshot, &loaded.book, as_of, args.grace_days, &params, &staging).inspect_err(|_| {
        let _ = std::fs::remove_dir_all(&staging);
    })?;
    let judged = lapse_reports::uplift::report(&campaign.name, &format_day(as_of), &fitted, None);
    // A learner that ranks worse than risk on held-out Qini is not registered: work lists keep
    // ranking by risk (the report says so).
    let registered = if args.no_register || judged.qini_uplift <= judged.qini_risk {
        None
    } else {
        let pointer = UpliftPointer {
            learner: judged.chosen.to_string(),
            rates: fitted.stratified.clone(),
            treated: String::new(),
            control: String::new(),
            campaign: campaign.name.clone(),
            created_at: lapse_core::dates::now_utc_rfc3339(),
            qini_uplift: judged.qini_uplift,
            qini_risk: judged.qini_risk,
        };
        let created_at = pointer.created_at.clone();
        Some(register(&args.models, &fitted, pointer, &args.campaign.display().to_string(), &created_at).map_err(anyhow::Error::from)?)
    };
    let report = lapse_reports::uplift::report(&campaign.name, &format_day(as_of), &fitted, registered.clone());
    if let Some(path) = &args.rows_out {
        lapse_retention::uplift::write_rows(path, &fitted).map_err(anyhow::Error::from)?;
    }
    if let Some(path) = &args.economics_out {
        let economics = fitted.stratified.economics(&base_economics);
        economics.validate()?;
        let bytes = serde_json::to_vec_pretty(&economics)?;
        lapse_core::io_util::atomic_write(path, |w| w.write_all(&bytes))?;
        println!("economics with the stratified learner's save rates -> {}", path.display());
    }
    println!(
        "uplift from campaign {}: {} matured renewals ({} pending); held-out Qini: {}, risk ranking {:.4}; kept: {}",
        report.campaign,
        report.renewals,
        report.pending,
        report.learners.iter().map(|l| format!("{} {:.4}", l.name, l.qini)).collect::<Vec<_>>().join(", "),
        report.qini_risk,
        report.chosen
    );
    for b in &report.budgets {
        println!(
            "  contacting the top {:>3.0}%: {:>7.1} ± {:>5.1} lapses prevented by uplift, {:>7.1} ± {:>5.1} by risk, {:>7.1} at random",
            100.0 * b.share,
            b.by_uplift,
            b.by_uplift_se,
            b.by_risk,
            b.by_risk_se,
            b.random
        );
    }
    match &registered {
        Some(p) => println!(
            "registered in {}: the {} learner (T-learner models: treatment {}, control {}); rank a work list by it with lapse queue --rank-by uplift",
            args.models.join("uplift").display(),
            p.learner,
            p.treated,
            p.control
        ),
        None => println!("{}", report.registration),
    }
    if let Some(out) = &args.report.out {
        write_json(out, &report)?;
    }
    if let Some(path) = &args.report.html {
        write_html(path, &lapse_reports::pages::uplift_page(&html_context(&report.outcomes_as_of, args.report.lang), &report))?;
    }
    tracing::info!(campaign = %report.campaign, elapsed_ms = started.elapsed().as_millis() as u64, "uplift");
    Ok(())
}
