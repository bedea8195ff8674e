//! `lapse winback`: the lapsed policies that can still be reinstated.

use super::{as_of_or_extract_date, economics_arg};
use crate::exit::Failure;
use crate::exit::fail;
use crate::flags::WinbackArgs;

use lapse_core::extract::read::FileFormat;

pub fn run_winback(args: WinbackArgs) -> Result<(), Failure> {
    if FileFormat::of(&args.out).is_none() {
        fail!("--out {}: expected a .csv or .parquet file", args.out.display());
    }
    if args.reinstatement_days < 1 || args.grace_days < 0 {
        fail!("--reinstatement-days must be at least 1 and --grace-days at least 0");
    }
    let loaded = args.extract.load(args.on_error.into())?;
    let as_of = as_of_or_extract_date(args.as_of, &loaded.book)?;
    let economics = economics_arg(args.economics.as_deref())?;
    let list = lapse_retention::winback::winback_list(
        &loaded.book,
        as_of,
        args.grace_days,
        args.reinstatement_days,
        economics.value_cap_years,
        args.models.as_deref(),
        args.lang,
    )?;
    let (basis, ranked) = (&list.basis, list.ranked_by_model);
    let rows = lapse_core::winback::write(&args.out, &loaded.book, &list.candidates, as_of, basis, &list.reasons)?;
    let mut arrears: Vec<f64> = list.candidates.iter().map(|c| c.arrears).collect();
    arrears.sort_by(f64::total_cmp);
    println!(
        "{rows} win-back candidates at {} (lapsed within {} days, not surrendered, claimed, matured or cancelled); median arrears {:.0}; written to {}",
        lapse_core::dates::format_day(as_of),
        args.reinstatement_days,
        arrears.get(arrears.len() / 2).copied().unwrap_or(0.0),
        args.out.display()
    );
    match (ranked, &args.models) {
        (true, _) => println!("priority: {basis}"),
        (false, Some(dir)) => println!("priority: {basis} ({} has no champion yet)", dir.display()),
        (false, None) => {
            println!("priority: {basis} (`lapse winback-table`, then `lapse train --models DIR`, then --models DIR to rank by its probability)")
        }
    }
    Ok(())
}
