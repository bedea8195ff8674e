//! `lapse winback`: the lapsed policies that can still be won back at T, as a work list
//! (`lapse_core::winback`).

use crate::cli::WinbackArgs;
use crate::commands::as_of_or_extract_date;
use crate::exit::{Failure, fail};
use lapse_core::extract::load_book_encoded;
use lapse_core::extract::read::FileFormat;

pub fn run_winback(args: WinbackArgs) -> Result<(), Failure> {
    if FileFormat::of(&args.out).is_none() {
        fail!("--out {}: expected a .csv or .parquet file", args.out.display());
    }
    if args.reinstatement_days < 1 || args.grace_days < 0 {
        fail!("--reinstatement-days must be at least 1 and --grace-days at least 0");
    }
    let loaded = load_book_encoded(&args.data, args.on_error.into(), args.encoding.into())?;
    let as_of = as_of_or_extract_date(args.as_of.as_deref(), &loaded.book)?;
    let list = lapse_core::winback::candidates(&loaded.book, as_of, args.grace_days, args.reinstatement_days);
    let rows = lapse_core::winback::write(&args.out, &loaded.book, &list, as_of).map_err(anyhow::Error::from)?;
    let mut arrears: Vec<f64> = list.iter().map(|c| c.arrears).collect();
    arrears.sort_by(f64::total_cmp);
    println!(
        "{rows} win-back candidates at {} (lapsed within {} days, not surrendered, claimed, matured or cancelled); median arrears {:.0}; written to {}",
        lapse_core::dates::format_day(as_of),
        args.reinstatement_days,
        arrears.get(arrears.len() / 2).copied().unwrap_or(0.0),
        args.out.display()
    );
    println!("priority: {} (train and register a reinstatement model to rank by its probability)", lapse_core::winback::FALLBACK_BASIS);
    Ok(())
}
