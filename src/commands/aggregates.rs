//! `lapse aggregates`: the book-wide agent and book lapse records of each snapshot date.

use super::snapshot_dates;
use crate::exit::Context;
use crate::exit::Failure;
use crate::exit::fail;

use lapse_core::extract::OnError;

pub fn run_aggregates(args: crate::flags::AggregatesArgs) -> Result<(), Failure> {
    let as_of = snapshot_dates(&args.as_of, &args.every)?;
    if args.grace_days < 0 {
        fail!("--grace-days must be >= 0");
    }
    let loaded = args.extract.load(OnError::Strict).with_context(|| format!("reading the extract in {}", args.extract.data.display()))?;
    let aggregates = lapse_core::features::aggregates::BookAggregates::compute(&loaded.book, &as_of, args.grace_days);
    aggregates.write(&args.out).context("writing the aggregates")?;
    let agents: usize = aggregates.dates.values().map(|d| d.agents.len()).sum();
    println!("wrote the book's and {agents} agent lapse records over {} snapshot date(s) to {}", as_of.len(), args.out.display());
    Ok(())
}
