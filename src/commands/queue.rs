//! `lapse queue`: the work list as a campaign file, with a holdout.

use std::time::Instant;

use super::economics_arg;
use crate::exit::Context;
use crate::exit::Failure;
use crate::exit::fail;
use crate::flags::QueueArgs;

use lapse_core::dates::format_day;
use lapse_model::registry::Registry;
use lapse_model::scoring::score_snapshot;
use lapse_retention::CustomerOrder;
use lapse_retention::RankBy;
use lapse_retention::WorkListRequest;
use lapse_retention::campaign::Arm;
use lapse_retention::campaign::CampaignRequest;
use lapse_retention::campaign::CampaignStore;
use lapse_retention::campaign::plan;
use lapse_retention::campaign::write_campaign;
use lapse_retention::spec::DEFAULT_CAPACITY;

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
            orphan: f.orphan,
            include_no_action: Some(f.include_no_action),
            campaign: self.campaign.clone(),
            holdout: self.holdout,
            rank_by: Some(self.rank_by.clone()),
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

pub fn run_queue(args: QueueArgs) -> Result<(), Failure> {
    let started = Instant::now();
    match &args.out {
        Some(out) if args.plan && out.extension().is_none_or(|e| e != "json") => {
            fail!("--out {} with --plan: the plan is written as .json", out.display())
        }
        Some(out) if !args.plan && lapse_core::extract::read::FileFormat::of(out).is_none() => {
            fail!("--out {}: expected a .csv or .parquet file", out.display())
        }
        _ => {}
    }
    let economics = economics_arg(args.economics.as_deref())?;
    let spec = args.work_list().check(&economics, DEFAULT_CAPACITY).map_err(|e| Failure::input(anyhow::anyhow!("{}: {}", e.flag(), e.reason)))?;
    let model = Registry::new(&args.models).load_champion()?;
    // Reasons only for the hand-out files (explaining every renewal costs time).
    let scored = score_snapshot(&args.snapshot, &model.model, &economics, args.handout.is_some())?;
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
    let order = match uplift {
        None => CustomerOrder::by_risk(&scored.rows, &economics),
        Some(order) => order,
    };
    let name = spec.campaign.as_ref().map_or_else(|| format!("worklist-{}", format_day(scored.as_of)), |c| c.name.clone());
    let holdout = spec.campaign.as_ref().map_or(0.0, |c| c.holdout);
    let request = CampaignRequest { name: &name, holdout, capacity: &spec.capacity, filters: &spec.filters };
    // The contact rules, when the list is to obey a store's outcomes.
    let rules = super::contact_rules_arg(args.contact_rules.as_deref())?;
    // With a store: its outcomes, and the customers other campaigns hold out.
    let (index, holdouts) = match &args.store {
        Some(url) => {
            let (outcomes, holdouts) =
                lapse_store::with_store_blocking(url, async |store| Ok((store.recorded_since(0).await?, store.holdouts_open(scored.as_of).await?)))?;
            let holdouts: Vec<String> =
                holdouts.into_iter().filter(|h| args.campaign.as_deref() != Some(h.campaign.as_str())).map(|h| h.customer_id).collect();
            (Some(lapse_retention::contact::OutcomeIndex::new(outcomes)), holdouts)
        }
        None => (None, Vec::new()),
    };
    let mut contacts = lapse_retention::worklist::Contacts::new(&rules, index.as_ref(), &order, &scored.rows, &economics, scored.as_of);
    contacts.hold_out(&holdouts, &scored.rows, &order);
    let planned = plan(&request, &scored.rows, &order, &economics, Some(&contacts), scored.as_of, &model.version)?;
    for (rule, n) in &planned.held.to_map() {
        println!("  held back by {rule}: {n} renewals");
    }
    if planned.held.held_out_customers() > 0 {
        println!("  {} customers held out by other campaigns' control arms", planned.held.held_out_customers());
    }
    let campaign = planned.campaign;
    if args.plan {
        return print_plan(&campaign, &economics, scored.grace_days, args.out.as_deref());
    }
    let out = args.out.as_deref().expect("clap requires --out without --plan");
    let store = CampaignStore::new(&args.campaigns);
    if args.campaign.is_some() {
        store.check(&campaign.settings)?;
        // With an outcome store, the store binds the name for every server and command sharing
        // it (a name another server bound to other settings is refused here, nothing written).
        if let Some(url) = &args.store {
            let stored =
                lapse_store::with_store_blocking(url, async |s| s.save_campaign(&campaign, &lapse_core::dates::now_utc_rfc3339(), now_ms()).await)
                    .map_err(|e| if e.is_input() { Failure::input(e.into()) } else { Failure::from(anyhow::Error::from(e)) })?;
            tracing::info!(campaign = %name, ?stored, "campaign recorded in the store");
        }
    }
    let written = write_campaign(out, &campaign).map_err(anyhow::Error::from)?;
    if args.campaign.is_some() {
        let stored = store.save(&campaign)?;
        tracing::info!(campaign = %name, ?stored, dir = %store.dir().display(), "campaign recorded");
        // Its control customers stay off every other list (any server or command sharing the
        // store) until its outcome window closes.
        if let (Some(url), Some((customers, until))) = (&args.store, campaign.holdout(scored.grace_days)) {
            let added = lapse_store::with_store_blocking(url, async |store| store.hold_out(&name, &customers, until, now_ms()).await)?;
            println!("  {} control customers held out of other lists until {} ({added} new in the store)", customers.len(), format_day(until));
        }
    }
    let (treatment, control) = (campaign.count(Arm::Treatment), campaign.count(Arm::Control));
    let (treated_customers, control_customers) = (campaign.contacts(Arm::Treatment), campaign.contacts(Arm::Control));
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
    if let Some(dir) = &args.handout {
        let encoding = lapse_retention::handout::Encoding::parse(&args.encoding).expect("clap checked the encoding");
        let files = lapse_retention::handout::write_handout(dir, &campaign, &scored.rows, args.lang, encoding)?;
        println!(
            "hand-out: {} files, {} renewals to contact ({}) -> {}",
            files.len(),
            files.iter().map(|(_, n)| n).sum::<usize>(),
            args.encoding,
            dir.display()
        );
    }
    println!(
        "campaign {name} (snapshot {}, model {}, ranked by {}): {written} renewals of {} customers; {treated_customers} customers to contact ({treatment} renewals), {control_customers} held out as control ({control} renewals) -> {}",
        format_day(scored.as_of),
        model.version,
        campaign.settings.ranking,
        treated_customers + control_customers,
        out.display()
    );
    for (action, t, c) in per_action {
        println!("  {action}: {t} to contact, {c} control");
    }
    Ok(())
}

/// `--plan`: what the campaign could measure, printed (and written as JSON to `out`).
fn print_plan(
    campaign: &lapse_retention::campaign::Campaign,
    economics: &lapse_retention::Economics,
    grace_days: i32,
    out: Option<&std::path::Path>,
) -> Result<(), Failure> {
    let plan = lapse_retention::campaign::power::plan_power(campaign, economics, grace_days);
    let pct = |x: Option<f64>| x.map_or("-".to_string(), |x| format!("{:.1}%", 100.0 * x));
    println!(
        "plan of campaign {} on the snapshot of {} with {:.0}% held out; readable on {}",
        plan.campaign,
        plan.as_of,
        100.0 * plan.holdout,
        plan.readable_on
    );
    println!(
        "{:<8} {:>9} {:>9} {:>10} {:>10} {:>10} {:>10} {:>11} {:>10}",
        "action", "contact", "control", "renewals", "control", "lapse_c", "save rate", "detectable", "needs"
    );
    for a in &plan.actions {
        println!(
            "{:<8} {:>9} {:>9} {:>10} {:>10} {:>10} {:>10} {:>11} {:>10}",
            a.action,
            a.treated_customers,
            a.control_customers,
            a.treated_renewals,
            a.control_renewals,
            pct(Some(a.expected_control_lapse_rate)),
            pct(Some(a.configured_save_rate)),
            pct(a.min_detectable_save_rate),
            pct(a.holdout_needed)
        );
    }
    for a in &plan.actions {
        match (a.control_renewals, a.detects_configured, a.holdout_needed, a.campaigns_to_pool) {
            (0, ..) => println!("  {}: no control arm, nothing to measure (give --campaign NAME and --holdout)", a.action),
            (_, true, ..) => println!("  {}: the configured save rate {} is detectable", a.action, pct(Some(a.configured_save_rate))),
            (_, false, Some(h), _) => println!(
                "  {}: only a save rate of {} or more is detectable; holding out {} would detect {}",
                a.action,
                pct(a.min_detectable_save_rate),
                pct(Some(h)),
                pct(Some(a.configured_save_rate))
            ),
            (_, false, None, Some(k)) => println!(
                "  {}: only a save rate of {} or more is detectable, at any holdout; pool about {k} campaigns like this one to detect {}",
                a.action,
                pct(a.min_detectable_save_rate),
                pct(Some(a.configured_save_rate))
            ),
            (_, false, None, None) => println!("  {}: too few renewals to detect any save rate", a.action),
        }
    }
    if let Some(path) = out {
        lapse_core::io_util::atomic_write(path, |w| serde_json::to_writer_pretty(&mut *w, &plan).map_err(std::io::Error::other))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        println!("plan: {}", path.display());
    }
    Ok(())
}
