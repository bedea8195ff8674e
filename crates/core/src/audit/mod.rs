//! The data-quality audit of an extract against the one before (`DATA_CONTRACT.md`, "Data-quality
//! audit between two extracts"): late entries (补录), changes after the fact, vanished rows,
//! inconsistent statuses and amount mismatches, each counted per table with examples.
//!
//! The previous extract is held as a [`Fingerprint`]: per policy its key and id, per installment
//! its key and the four fields the checks compare (as days and cents, not text), per event a
//! hash. That is what a night keeps to audit the next one without yesterday's files, and what
//! `lapse audit --previous DIR` builds from yesterday's files in one streaming pass. Today's
//! extract is streamed once (policies, installments, events), never held as a book: a
//! 10,000,000-policy pair of extracts is audited in a few GiB (BENCHMARKS.md).
//!
//! Keys are 64-bit FNV-1a hashes of the contract's keys (policy_id; policy_id and
//! installment_no): two of a hundred million keys collide with a probability near 3 in 10,000,
//! and a collision can only hide a row from a check, never invent one.

mod fingerprint;
mod report;
mod scan;

pub use fingerprint::{Fingerprint, FingerprintError};
pub use report::{AuditReport, CheckCount, Example, Extract, Threshold, Thresholds, Verdict};
pub use scan::{AuditOptions, AuditRun, audit_extract, fingerprint_extract};

use crate::extract::stream::Cell;

/// The checks, in the contract's order (the names the JSON report uses).
pub const CHECKS: [&str; 5] = ["late_entry", "changed_after_the_fact", "vanished", "status_inconsistent", "amount_mismatch"];

/// The (check, table) pairs the report always lists, zero or not.
pub const CHECK_TABLES: [(&str, &str); 7] = [
    ("late_entry", "installments"),
    ("late_entry", "events"),
    ("changed_after_the_fact", "installments"),
    ("vanished", "policies"),
    ("vanished", "installments"),
    ("status_inconsistent", "policies"),
    ("amount_mismatch", "installments"),
];

/// A day that is not there (an unpaid installment's paid_date).
pub(crate) const NO_DAY: i32 = i32::MIN;
/// An amount that is not there.
pub(crate) const NO_CENTS: i64 = i64::MIN;

/// The key of a policy.
pub(crate) fn policy_key(policy_id: &str) -> u64 {
    crate::hash::fnv1a(0, policy_id.trim().bytes())
}

/// An amount in cents, [`NO_CENTS`] when empty; Err when it is not a number.
pub(crate) fn cents(cell: Cell<'_>) -> Result<i64, ()> {
    let x = match cell {
        Cell::Empty => return Ok(NO_CENTS),
        Cell::Number(x) => x,
        Cell::Text(t) if t.trim().is_empty() => return Ok(NO_CENTS),
        Cell::Text(t) => t.trim().parse::<f64>().map_err(|_| ())?,
        Cell::Day(_) => return Err(()),
    };
    if x.is_finite() && x.abs() < 9.0e15 { Ok((x * 100.0).round() as i64) } else { Err(()) }
}

/// A date as a day, [`NO_DAY`] when empty; Err when it is not a date.
pub(crate) fn day(cell: Cell<'_>) -> Result<i32, ()> {
    match cell {
        Cell::Empty => Ok(NO_DAY),
        Cell::Day(d) => Ok(d),
        Cell::Text(t) if t.trim().is_empty() => Ok(NO_DAY),
        Cell::Text(t) => crate::dates::parse_day(t).ok_or(()),
        Cell::Number(_) => Err(()),
    }
}

/// A whole number >= 0 (an installment number).
pub(crate) fn whole(cell: Cell<'_>) -> Result<u32, ()> {
    match cell {
        Cell::Number(x) if x.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&x) => Ok(x as u32),
        Cell::Text(t) => t.trim().parse::<u32>().map_err(|_| ()),
        _ => Err(()),
    }
}

/// Cents as the contract writes money ("" when absent).
pub(crate) fn money_text(cents: i64) -> String {
    if cents == NO_CENTS { String::new() } else { format!("{}.{:02}", cents.div_euclid(100), cents.rem_euclid(100)) }
}

/// A day as ISO text ("" when absent).
pub(crate) fn day_text(day: i32) -> String {
    if day == NO_DAY { String::new() } else { crate::dates::format_day(day) }
}

#[cfg(test)]
mod tests;
