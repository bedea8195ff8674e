//! The campaign commands: `lapse queue` (a work list with a holdout) and `lapse effect` (what
//! it saved).

use std::time::Instant;

use crate::cli::{EffectArgs, QueueArgs, WorkListFilters};
use crate::commands::{as_of_or_extract_date, html_context};
use crate::exit::{Failure, fail};
use lapse_core::dates::format_day;
use lapse_model::campaign::{Arm, CampaignRequest, CampaignStore, plan, read_campaign, write_campaign};
use lapse_model::registry::Registry;
use lapse_model::scoring::assign::Capacity;
use lapse_model::scoring::{Economics, Filters, score_snapshot, work_order};
use lapse_reports::effect::{EffectOptions, measured_economics};
use lapse_reports::pages::effect_page;
use lapse_reports::{write_html, write_json};

impl WorkListFilters {
    /// The filters as the work list takes them, checked.
    pub fn checked(&self) -> Result<Filters, Failure> {
        if let Some(v) = self.min_value
            && !(v.is_finite() && v >= 0.0)
        {
            fail!("--min-value must be a number >= 0");
        }
        Ok(Filters {
            channel: self.channel.clone(),
            region: self.region.clone(),
            agent_id: self.agent_id.clone(),
            product: self.product.clone(),
            min_value: self.min_value,
            due_within_days: self.due_within_days,
            overdue: self.overdue,
            include_no_action: self.include_no_action,
        })
    }
}

/// The economics of `--economics`, or the defaults.
pub fn economics_arg(path: Option<&std::path::Path>) -> Result<Economics, Failure> {
    Ok(match path {
        Some(path) => Economics::from_file(path)?,
        None => Economics::default(),
    })
}

pub fn run_queue(args: QueueArgs) -> Result<(), Failure> {
    let started = Instant::now();
    if !(args.holdout.is_finite() && (0.0..=lapse_model::campaign::MAX_HOLDOUT).contains(&args.holdout)) {
        fail!("--holdout {} is outside [0, {}]", args.holdout, lapse_model::campaign::MAX_HOLDOUT);
    }
    if args.campaign.is_none() && args.holdout > 0.0 {
        fail!("--holdout needs --campaign NAME: the name keys the holdout draw and keeps it from being redrawn");
    }
    if let Some(name) = &args.campaign {
        lapse_model::campaign::check_name(name).map_err(anyhow::Error::from)?;
    }
    if lapse_core::extract::read::FileFormat::of(&args.out).is_none() {
        fail!("--out {}: expected a .csv or .parquet file", args.out.display());
    }
    let economics = economics_arg(args.economics.as_deref())?;
    let action_names: Vec<&str> = economics.actions.iter().map(|a| a.name.as_str()).collect();
    let capacity = Capacity::parse(&args.capacity, &action_names).map_err(|e| anyhow::anyhow!("--capacity: {e}"))?;
    let filters = args.filters.checked()?;

    let model = Registry::new(&args.models).load_champion()?;
    let scored = score_snapshot(&args.snapshot, &model.model, &economics).map_err(|e| Failure { input: !e.model, error: anyhow::Error::new(e) })?;
    if scored.rows.is_empty() {
        return Err(Failure {
            input: true,
            error: anyhow::anyhow!("snapshot {}: no renewals to list (is --as-of right?); nothing written", args.snapshot.display()),
        });
    }
    let order = work_order(&scored.rows);
    let name = args.campaign.clone().unwrap_or_else(|| format!("worklist-{}", format_day(scored.as_of)));
    let request = CampaignRequest { name: &name, holdout: args.holdout, capacity: &capacity, filters: &filters };
    let campaign = plan(&request, &scored.rows, &order, &economics, scored.as_of, &model.version).map_err(anyhow::Error::from)?.campaign;
    let store = CampaignStore::new(&args.campaigns);
    if args.campaign.is_some() {
        store.check(&campaign.settings).map_err(anyhow::Error::from)?;
    }
    let written = write_campaign(&args.out, &campaign).map_err(anyhow::Error::from)?;
    if args.campaign.is_some() {
        let stored = store.save(&campaign).map_err(anyhow::Error::from)?;
        tracing::info!(campaign = %name, ?stored, dir = %store.dir().display(), "campaign recorded");
    }
    let (treatment, control) = (campaign.count(Arm::Treatment), campaign.count(Arm::Control));
    let mut per_action: Vec<(String, usize, usize)> = Vec::new();
    for row in &campaign.rows {
        let at = match per_action.iter().position(|(a, _, _)| *a == row.action) {
            Some(i) => i,
            None => {
                per_action.push((row.action.clone(), 0, 0));
                per_action.len() - 1
            }
        };
        match row.arm {
            Arm::Treatment => per_action[at].1 += 1,
            Arm::Control => per_action[at].2 += 1,
        }
    }
    tracing::info!(campaign = %name, renewals = written, treatment, control, elapsed_ms = started.elapsed().as_millis() as u64, "campaign written");
    println!(
        "campaign {name} (snapshot {}, model {}): {written} renewals, {treatment} to contact, {control} held out as control -> {}",
        format_day(scored.as_of),
        model.version,
        args.out.display()
    );
    for (action, t, c) in per_action {
        println!("  {action}: {t} to contact, {c} control");
    }
    Ok(())
}

pub fn run_effect(args: EffectArgs) -> Result<(), Failure> {
    let started = Instant::now();
    if !(args.prior_sd.is_finite() && args.prior_sd > 0.0) {
        fail!("--prior-sd must be > 0");
    }
    if args.grace_days < 0 {
        fail!("--grace-days must be >= 0");
    }
    let economics = economics_arg(args.economics.as_deref())?;
    let campaign = read_campaign(&args.campaign).map_err(|e| Failure { input: true, error: anyhow::Error::new(e) })?;
    let loaded = lapse_core::extract::load_book(&args.data, args.on_error.into())?;
    let as_of = as_of_or_extract_date(args.as_of.as_deref(), &loaded.book)?;
    let options = EffectOptions {
        as_of,
        grace_days: args.grace_days,
        economics,
        prior_sd: args.prior_sd,
        min_segment_control_lapses: args.min_segment_control_lapses,
    };
    let report =
        lapse_reports::effect::report(&campaign, &loaded.book, &options).map_err(|e| Failure { input: true, error: anyhow::Error::new(e) })?;
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
        measured.validate().map_err(anyhow::Error::msg)?;
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
        write_html(path, &effect_page(&html_context(&report.outcomes_as_of), &report))?;
    }
    tracing::info!(campaign = %report.campaign, renewals = report.renewals, elapsed_ms = started.elapsed().as_millis() as u64, "campaign effect");
    Ok(())
}

/// A campaign file as the generator replays it.
pub fn campaign_plan(path: &std::path::Path) -> Result<lapse_core::generate::campaign::CampaignPlan, Failure> {
    use lapse_core::generate::campaign::{CampaignPlan, PlannedContact};
    let file = read_campaign(path).map_err(|e| Failure { input: true, error: anyhow::Error::new(e) })?;
    let mut plan = CampaignPlan { name: file.name, as_of: file.as_of, by_policy: Default::default() };
    for row in file.rows {
        plan.by_policy.entry(row.policy_id).or_default().push(PlannedContact {
            installment_no: row.installment_no,
            action: row.action,
            treated: row.arm == Arm::Treatment,
            segment: row.segment,
        });
    }
    Ok(plan)
}
