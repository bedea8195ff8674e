//! The campaign commands: `lapse queue` (a work list with a holdout) and `lapse effect` (what
//! it saved).

use std::time::Instant;

use crate::cli::{EffectArgs, QueueArgs, UpliftArgs};
use crate::commands::{as_of_or_extract_date, html_context};
use crate::exit::{Context, Failure, fail};
use lapse_core::dates::format_day;
use lapse_model::registry::Registry;
use lapse_model::scoring::score_snapshot;
use lapse_reports::effect::{EffectOptions, measured_economics};
use lapse_reports::pages::effect_page;
use lapse_reports::{write_html, write_json};
use lapse_retention::campaign::{Arm, CampaignRequest, CampaignStore, plan, read_campaign, write_campaign};
use lapse_retention::spec::DEFAULT_CAPACITY;
use lapse_retention::{Economics, RankBy, Ranking, WorkListRequest, work_order};

impl QueueArgs {
    /// The work-list request these flags make (checked by the retention crate's spec, as
    /// `GET /v1/queue`'s parameters are).
    fn work_list(&self) -> WorkListRequest {
        let f = &self.filters;
        WorkListRequest {
            capacity: self.capacity.clone(),
            channel: f.channel.clone(),
            region: f.region.clone(),
            agent_id: f.agent_id.clone(),
            product: f.product.clone(),
            min_value: f.min_value,
            due_within_days: f.due_within_days,
            overdue: f.overdue,
            include_no_action: Some(f.include_no_action),
            campaign: self.campaign.clone(),
            holdout: self.holdout,
            rank_by: Some(self.rank_by.clone()),
        }
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
    if lapse_core::extract::read::FileFormat::of(&args.out).is_none() {
        fail!("--out {}: expected a .csv or .parquet file", args.out.display());
    }
    let economics = economics_arg(args.economics.as_deref())?;
    let spec = args.work_list().check(&economics, DEFAULT_CAPACITY).map_err(|e| Failure::input(anyhow::anyhow!("{}: {}", e.flag(), e.reason)))?;
    let model = Registry::new(&args.models).load_champion()?;
    let scored =
        score_snapshot(&args.snapshot, &model.model, &economics, false).map_err(|e| Failure { input: !e.model, error: anyhow::Error::new(e) })?;
    if scored.rows.is_empty() {
        return Err(Failure {
            input: true,
            error: anyhow::anyhow!("snapshot {}: no renewals to list (is --as-of right?); nothing written", args.snapshot.display()),
        });
    }
    let uplift = match spec.rank_by {
        RankBy::Risk => None,
        RankBy::Uplift => Some(
            lapse_retention::uplift::ranking(&args.models, &scored.frame, &scored.rows, &economics)
                .map_err(anyhow::Error::from)?
                .context("--rank-by uplift: no uplift learner is registered (run lapse uplift on a campaign with a holdout first)")?,
        ),
    };
    let order = work_order(&scored.rows);
    let ranking = match &uplift {
        None => Ranking::Risk { order: &order },
        Some(gains) => Ranking::Gains(gains),
    };
    let name = spec.campaign.as_ref().map_or_else(|| format!("worklist-{}", format_day(scored.as_of)), |c| c.name.clone());
    let holdout = spec.campaign.as_ref().map_or(0.0, |c| c.holdout);
    let request = CampaignRequest { name: &name, holdout, capacity: &spec.capacity, filters: &spec.filters };
    let campaign = plan(&request, &scored.rows, ranking, &economics, scored.as_of, &model.version).map_err(anyhow::Error::from)?.campaign;
    let store = CampaignStore::new(&args.campaigns);
    if args.campaign.is_some() {
        store.check(&campaign.settings)?;
    }
    let written = write_campaign(&args.out, &campaign).map_err(anyhow::Error::from)?;
    if args.campaign.is_some() {
        let stored = store.save(&campaign)?;
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
        "campaign {name} (snapshot {}, model {}, ranked by {}): {written} renewals, {treatment} to contact, {control} held out as control -> {}",
        format_day(scored.as_of),
        model.version,
        campaign.settings.ranking,
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
    let loaded = lapse_core::extract::load_book_encoded(&args.data, args.on_error.into(), args.encoding.into())?;
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
        write_html(path, &effect_page(&html_context(&report.outcomes_as_of, &args.report.lang), &report))?;
    }
    tracing::info!(campaign = %report.campaign, renewals = report.renewals, elapsed_ms = started.elapsed().as_millis() as u64, "campaign effect");
    Ok(())
}

pub fn run_uplift(args: UpliftArgs) -> Result<(), Failure> {
    use lapse_retention::uplift::{UpliftPointer, fit, register};
    let started = Instant::now();
    if args.rounds == 0 {
        fail!("--rounds must be at least 1");
    }
    let base_economics = economics_arg(args.economics.as_deref())?;
    let campaign = read_campaign(&args.campaign).map_err(|e| Failure { input: true, error: anyhow::Error::new(e) })?;
    let loaded = lapse_core::extract::load_book_encoded(&args.data, args.on_error.into(), args.encoding.into())?;
    let as_of = as_of_or_extract_date(args.as_of.as_deref(), &loaded.book)?;
    let params = lapse_model::train::Params { gbdt_rounds: args.rounds, ..lapse_model::train::Params::default() };
    let staging = args.models.join("uplift").join(format!(".staging-{}", std::process::id()));
    let fitted = fit(&campaign, &args.snapshot, &loaded.book, as_of, args.grace_days, &params, &staging).map_err(|e| {
        let _ = std::fs::remove_dir_all(&staging);
        Failure {
            input: matches!(e, lapse_retention::uplift::UpliftError::Data(_) | lapse_retention::uplift::UpliftError::Snapshot { .. }),
            error: anyhow::Error::new(e),
        }
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
        economics.validate().map_err(anyhow::Error::msg)?;
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
        write_html(path, &lapse_reports::pages::uplift_page(&html_context(&report.outcomes_as_of, &args.report.lang), &report))?;
    }
    tracing::info!(campaign = %report.campaign, elapsed_ms = started.elapsed().as_millis() as u64, "uplift");
    Ok(())
}
