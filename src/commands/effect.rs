//! `lapse effect`: what a campaign saved, from a later extract.

use std::time::Instant;

use super::{as_of_or_extract_date, economics_arg, html_context, read_campaign_file};
use crate::exit::Failure;
use crate::exit::fail;
use crate::flags::EffectArgs;

use lapse_reports::effect::EffectOptions;
use lapse_reports::effect::measured_economics;
use lapse_reports::pages::effect_page;
use lapse_reports::write_html;
use lapse_reports::write_json;

pub fn run_effect(args: EffectArgs) -> Result<(), Failure> {
    let started = Instant::now();
    if !(args.prior_sd.is_finite() && args.prior_sd > 0.0) {
        fail!("--prior-sd must be > 0");
    }
    if args.grace_days < 0 {
        fail!("--grace-days must be >= 0");
    }
    let economics = economics_arg(args.economics.as_deref())?;
    let campaign = read_campaign_file(&args.campaign)?;
    let loaded = args.extract.load(args.on_error.into())?;
    let as_of = as_of_or_extract_date(args.as_of, &loaded.book)?;
    let options = EffectOptions {
        as_of,
        grace_days: args.grace_days,
        economics,
        prior_sd: args.prior_sd,
        min_segment_control_lapses: args.min_segment_control_lapses,
        recorded_contacts: match &args.store {
            Some(url) => lapse_reports::effect::recorded_contacts(&lapse_store::read_all_blocking(url)?),
            None => Default::default(),
        },
    };
    let report = lapse_reports::effect::report(&campaign, &loaded.book, &options)?;
    println!(
        "campaign {} of {}: {} renewals ({} treated, {} control); outcomes as of {}: {} matured, {} pending, {} unknown to the extract{}",
        report.campaign,
        report.campaign_as_of,
        report.renewals,
        report.treated,
        report.control,
        report.outcomes_as_of,
        report.matured,
        report.pending,
        report.unknown,
        if report.readable { String::new() } else { format!(" (not final: readable on {})", report.readable_on) }
    );
    let show = |x: Option<f64>| x.map_or("-".to_string(), |x| format!("{:.1}%", 100.0 * x));
    println!(
        "{:<8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>19} {:>11} {:>11}",
        "action", "treated", "control", "lapse_t", "lapse_c", "save", "95% interval", "detectable", "delivered"
    );
    for e in &report.actions {
        println!(
            "{:<8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>19} {:>11} {:>11}",
            e.action,
            e.treated_matured,
            e.control_matured,
            show(e.lapse_rate_treated),
            show(e.lapse_rate_control),
            show(e.save_rate),
            format!("{} to {}", show(e.ci_low), show(e.ci_high)),
            show(e.min_detectable_save_rate),
            show(e.delivered_treated),
        );
    }
    if let Some(path) = &args.economics_out {
        let measured = measured_economics(&options.economics, &report.measured_economics);
        measured.validate()?;
        let bytes = serde_json::to_vec_pretty(&measured)?;
        lapse_core::io_util::atomic_write(path, |w| w.write_all(&bytes))?;
        println!("measured economics -> {}", path.display());
        if let Some(change) = &report.work_list_change {
            println!("  on this campaign's renewals the best action changes for {} of {}", change.changed, change.renewals);
        }
    }
    if let Some(out) = &args.report.out {
        write_json(out, &report)?;
    }
    if let Some(path) = &args.report.html {
        write_html(path, &effect_page(&html_context(&report.outcomes_as_of, args.report.lang), &report))?;
    }
    tracing::info!(campaign = %report.campaign, renewals = report.renewals, elapsed_ms = started.elapsed().as_millis() as u64, "campaign effect");
    Ok(())
}
