//! `lapse performance`: renewal team performance (续期考核).

use super::{as_of_or_extract_date, html_context};
use crate::exit::{Context, Failure, fail};
use crate::flags::PerformanceArgs;

use lapse_model::registry::Registry;
use lapse_reports::pages::performance_page;
use lapse_reports::performance::{self, Level, Month, PerformanceOptions, RenewalInputs};
use lapse_reports::{write_html, write_json};

pub fn run_performance(args: PerformanceArgs) -> Result<(), Failure> {
    let started = std::time::Instant::now();
    let lap = |step: &str, since: &mut std::time::Instant| {
        tracing::info!(step, seconds = format!("{:.2}", since.elapsed().as_secs_f64()), "performance step");
        *since = std::time::Instant::now();
    };
    let mut since = started;
    let levels = if args.by.is_empty() {
        Level::ALL.to_vec()
    } else {
        let mut levels = vec![Level::All];
        for name in &args.by {
            let Some(level) = Level::parse(name) else { fail!("--by {name:?}: use all, agent, team, branch, region, channel or product") };
            if !levels.contains(&level) {
                levels.push(level);
            }
        }
        levels
    };
    if args.grace_days < 0 {
        fail!("--grace-days must be >= 0");
    }
    let targets = match &args.targets {
        Some(path) => performance::read_targets(path).map_err(|e| Failure::input(e.into()))?,
        None => Vec::new(),
    };
    let loaded = args.extract.load(args.on_error.into()).with_context(|| format!("reading the extract in {}", args.extract.data.display()))?;
    let book = &loaded.book;
    lap("load", &mut since);
    let as_of = as_of_or_extract_date(args.as_of, book)?;
    let months = match &args.months {
        Some(text) => match Month::range(text) {
            Some(months) => months,
            None => fail!("--months {text:?}: give FROM..TO (2026-01..2026-03, at most 10 years) or one month"),
        },
        None => performance::default_months(as_of, args.grace_days, 3),
    };
    let options = PerformanceOptions { as_of, months, levels, grace_days: args.grace_days, targets };
    let expected = match &args.models {
        Some(dir) => {
            let registry = Registry::new(dir);
            let model = match &args.model {
                Some(version) if version != "champion" => registry.load(version)?,
                _ => registry.load_champion()?,
            };
            let fitted = registry.fitted(&model.version)?;
            let (lapse, risk) =
                performance::expected::expected_lapse(book, &model.model, &model.version, fitted.as_ref(), &options.months, args.grace_days)
                    .map_err(|e| Failure::from(anyhow::anyhow!("scoring the renewals with model {}: {e}", model.version)))?;
            Some((lapse, risk))
        }
        None => None,
    };
    // The work behind the figures: the store's outcomes and campaigns, a campaigns directory, the
    // score log's lists.
    let (outcomes, mut campaigns) = match &args.store {
        Some(url) => {
            let (outcomes, campaigns) = super::read_store(url)?;
            (Some(outcomes), campaigns)
        }
        None => (None, Vec::new()),
    };
    if let Some(dir) = &args.campaigns {
        let store = lapse_retention::campaign::CampaignStore::new(dir);
        for name in store.names().with_context(|| format!("listing the campaigns in {}", dir.display()))? {
            if !campaigns.iter().any(|(r, _)| r.settings.name == name) {
                campaigns.push(store.load(&name).with_context(|| format!("reading campaign {name} in {}", dir.display()))?);
            }
        }
    }
    lap("expected", &mut since);
    let listed = match &args.score_log {
        Some(dir) => {
            let (listed, read) =
                lapse_reports::funnel::listed_from_log(dir, as_of).with_context(|| format!("reading the score log in {}", dir.display()))?;
            Some((listed, read.log_lines))
        }
        None => None,
    };
    let work = performance::work::inputs(book, as_of, outcomes.as_deref(), &campaigns, listed);
    let inputs = RenewalInputs {
        expected: expected.as_ref().map(|(l, r)| (l.as_slice(), r)),
        work: work.as_ref().map(|(flags, source)| (flags.as_slice(), source)),
    };
    let mut report = performance::report(book, &options, inputs);
    report.campaign_save_rates = performance::campaign_save_rates(&campaigns, book, &options, outcomes.as_deref());
    lap("report", &mut since);
    println!("renewal team performance as of {} (grace {} days), due months {}", report.as_of, report.grace_days, report.months.join(", "));
    for (level, why) in &report.omitted_levels {
        println!("not reported: {} ({why})", level.as_str());
    }
    let rate = |r: Option<f64>| r.map_or("-".to_string(), |r| format!("{:.1}%", 100.0 * r));
    println!("{:<17} {:>9} {:>15} {:>15} {:>8} {:>8}  status", "due month", "renewals", "premium due", "collected", "rate", "count");
    for g in report.groups.iter().filter(|g| g.level == Level::All) {
        println!(
            "{:<17} {:>9} {:>15.2} {:>15.2} {:>8} {:>8}  {}",
            g.month,
            g.renewals_due,
            g.premium_due,
            g.premium_collected,
            rate(g.collection_rate),
            rate(g.count_rate),
            if g.open { "in progress" } else { "closed" }
        );
    }
    if let Some(model) = &report.risk_model {
        println!(
            "risk-adjusted with model {} ({} renewals scored; agent record neutralized: {})",
            model.version,
            model.scored,
            model.neutralized.join(", ")
        );
    }
    if let Some(source) = &report.work {
        println!(
            "work: {} outcomes used ({} name a renewal the extract lacks), {} campaigns listed{}",
            source.outcomes_used,
            source.outcomes_unmatched,
            source.campaigns,
            source.score_log_lines.map_or(String::new(), |n| format!(", score log {n} lines"))
        );
    }
    if !report.campaign_save_rates.is_empty() {
        println!("save rates by team: {} (campaign, action, team) rows", report.campaign_save_rates.len());
    }
    if !report.unmatched_targets.is_empty() {
        eprintln!("warning: {} target(s) name no group of the report: {}", report.unmatched_targets.len(), report.unmatched_targets.join("; "));
    }
    if let Some(out) = &args.report.out {
        write_json(out, &report)?;
        println!("report: {}", out.display());
    }
    if let Some(path) = &args.report.html {
        write_html(path, &performance_page(&html_context(&report.as_of, args.report.lang), &report))?;
        println!("page: {}", path.display());
    }
    if let Some(path) = &args.csv {
        performance::export::write_agent_csv(path, &report, book)?;
        println!("incentive export (one row per agent and month): {}", path.display());
    }
    lap("write", &mut since);
    tracing::info!(seconds = format!("{:.2}", started.elapsed().as_secs_f64()), "team performance done");
    Ok(())
}
