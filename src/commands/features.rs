//! `lapse features`: point-in-time feature rows at one or more snapshot dates.

use std::path::Path;
use std::path::PathBuf;
use std::time::Instant;

use super::{snapshot_dates, watched};
use crate::exit::Context;
use crate::exit::Failure;
use crate::exit::fail;
use crate::flags::FeaturesArgs;

use lapse_core::dates::Day;
use lapse_core::dates::format_day;
use lapse_core::extract::OnError;
use lapse_core::extract::read::FileFormat;
use lapse_core::features::BuildPlan;

pub fn run_features(args: FeaturesArgs) -> Result<(), Failure> {
    let as_of = snapshot_dates(&args.as_of, &args.every)?;
    if args.horizon_days < 0 || args.grace_days < 0 {
        fail!("--horizon-days and --grace-days must be >= 0");
    }
    if FileFormat::of(&args.out).is_none() {
        fail!("--out {}: use a .parquet or .csv file name", args.out.display());
    }
    let mut args = args;
    if let Some(budget) = args.memory_budget_gib {
        let spec = lapse_core::extract::schema::TABLES.iter().find(|t| t.name == "policies").expect("the contract's policies table");
        let file = lapse_core::extract::read::locate(&args.extract.data, spec)?
            .with_context(|| format!("{}: no policies table", args.extract.data.display()))?;
        let policies = lapse_core::extract::split::count_rows(&file)?;
        args.shards = lapse_core::extract::split::shards_for_budget(policies, budget).context("--memory-budget-gib")?;
        println!(
            "{policies} policies, memory budget {budget} GiB: {} customer shard(s), estimated peak {:.1} GiB",
            args.shards,
            lapse_core::extract::split::estimated_peak_gib(policies, args.shards)
        );
    }
    let outcomes = super::outcomes::outcomes_for_features(args.store.as_deref(), args.outcomes.as_deref())?;
    if args.shards > 1 {
        return run_features_sharded(args, as_of, outcomes.as_deref());
    }
    let started = Instant::now();
    let mut loaded = args.extract.load(args.on_error.into()).with_context(|| format!("reading the extract in {}", args.extract.data.display()))?;
    if let Some(outcomes) = &outcomes {
        let unmatched = loaded.book.attach_contacts(outcomes.iter().map(|o| o.recorded()));
        println!("{} recorded contact outcomes attached ({unmatched} about policies the extract does not hold: not used)", outcomes.len());
    }
    let book = &loaded.book;
    tracing::info!(
        policies = book.policies.len(),
        installments = book.installments.len(),
        events = book.events.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "extract loaded"
    );
    if !loaded.rejected.is_empty() {
        debug_assert_eq!(OnError::from(args.on_error), OnError::Skip);
        let path = rejects_path(&args.out);
        loaded.rejected.write_rejects(&path)?;
        eprintln!(
            "warning: skipped {} bad row(s) ({} issue(s)); they are in {} with their reasons:\n{}",
            loaded.rejected.bad_row_count(),
            loaded.rejected.len(),
            path.display(),
            loaded.rejected.report(10)
        );
    }
    let extract_date = match &args.extract_date {
        Some(day) => *day,
        None => book.latest_observed.unwrap_or(*as_of.last().expect("at least one date")),
    };
    let plan = BuildPlan { as_of, horizon_days: args.horizon_days, grace_days: args.grace_days, extract_date };
    let aggregates = match &args.aggregates {
        Some(path) => Some(lapse_core::features::aggregates::BookAggregates::read(path)?),
        None => None,
    };
    if args.max_rows == Some(0) {
        fail!("--max-rows must be at least 1");
    }
    let summary = plan.write_sampled(book, &args.out, watched(), aggregates.as_ref(), args.max_rows).context("writing the feature table")?;
    tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, "done");
    println!(
        "wrote {} renewal rows from {} snapshot(s) ({}..{}, extract date {}) to {}",
        summary.rows,
        summary.snapshots,
        format_day(plan.as_of[0]),
        format_day(*plan.as_of.last().expect("at least one date")),
        format_day(extract_date),
        args.out.display()
    );
    Ok(())
}

/// `lapse features --shards K`: the build a customer shard at a time
/// ([`lapse_core::features::sharded`]), its work directory beside `--out`.
fn run_features_sharded(args: FeaturesArgs, as_of: Vec<Day>, outcomes: Option<&[lapse_retention::outcomes::Outcome]>) -> Result<(), Failure> {
    if OnError::from(args.on_error) != OnError::Strict {
        fail!("--shards: only with --on-error strict (a skipped row's number would be its shard's, not the file's)");
    }
    let started = Instant::now();
    let parent = args.out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let work = parent.join(format!(".lapse-shards-{}", std::process::id()));
    let recorded: Option<Vec<_>> = outcomes.map(|all| all.iter().map(|o| o.recorded()).collect());
    let build = lapse_core::features::sharded::ShardedBuild {
        data: &args.extract.data,
        encoding: args.extract.encoding.into(),
        shards: args.shards,
        as_of,
        horizon_days: args.horizon_days,
        grace_days: args.grace_days,
        extract_date: args.extract_date,
        contacts: recorded.as_deref(),
    };
    let summary = build.write(&args.out, &work)?;
    println!(
        "wrote {} renewal rows from {} snapshot(s) in {} customer shards to {} ({:.1} s)",
        summary.rows,
        summary.snapshots,
        args.shards,
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `<out stem>.rejects.csv` beside the output.
fn rejects_path(out: &Path) -> PathBuf {
    let stem = out.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "features".into());
    out.with_file_name(format!("{stem}.rejects.csv"))
}
