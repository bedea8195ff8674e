//! `lapse winback-table`: the reinstatement model's training table.

use super::economics_arg;
use crate::exit::Failure;
use crate::exit::fail;
use crate::flags::WinbackTableArgs;

use lapse_core::extract::read::FileFormat;

pub fn run_winback_table(args: WinbackTableArgs) -> Result<(), Failure> {
    use lapse_core::winback::features::{LabelPlan, TablePlan, describe_dates};
    if FileFormat::of(&args.out).is_none() {
        fail!("--out {}: expected a .csv or .parquet file", args.out.display());
    }
    if args.reinstatement_days < 1 || args.grace_days < 0 || args.horizon_days < 1 || args.snapshots < 1 {
        fail!("--reinstatement-days, --horizon-days and --snapshots must be at least 1 and --grace-days at least 0");
    }
    let step = lapse_core::dates::Step::parse(&args.every).map_err(|e| anyhow::anyhow!("--every: {e}"))?;
    let loaded = args.extract.load(args.on_error.into())?;
    let extract_date =
        loaded.book.latest_observed.ok_or_else(|| anyhow::anyhow!("the extract records no date: cannot tell which outcomes are known"))?;
    let last = args.as_of.unwrap_or(extract_date - args.horizon_days);
    let economics = economics_arg(args.economics.as_deref())?;
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
