//! A stratified, reproducible sample of a snapshot's rows, for training tables bigger than a
//! row budget: within a snapshot, each label (lapsed, paid, unknown) keeps its share of the
//! rows, and the rows kept are those with the smallest hash of (policy, installment, date), so
//! the same book and budget give the same table on any machine, sharded or not.

use super::snapshot::SnapshotRow;
use crate::dates::Day;
use crate::extract::Book;

/// FNV-1a of a row's key: stable across platforms and runs.
fn key_hash(policy_id: &str, installment_no: u32, as_of: Day) -> u64 {
    let mut h = crate::hash::fnv1a(0, policy_id.bytes().chain(installment_no.to_le_bytes()).chain(as_of.to_le_bytes()));
    // A final mix: FNV's low bits are weak for short keys.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

/// Keeps at most `cap` of `rows` (a snapshot at `as_of`), stratified by label, in their original
/// order; returns how many are kept. Each label keeps round(cap x its share), at least one row
/// when it has any and the cap allows.
pub fn stratified(book: &Book, rows: &mut Vec<SnapshotRow>, as_of: Day, cap: usize) -> usize {
    let n = rows.len();
    if n <= cap {
        return n;
    }
    let stratum = |r: &SnapshotRow| match r.label {
        Some(1) => 0usize,
        Some(_) => 1,
        None => 2,
    };
    let mut by_stratum: [Vec<(u64, usize)>; 3] = Default::default();
    for (i, r) in rows.iter().enumerate() {
        let key = key_hash(&book.policies.id[r.policy as usize], book.installments.number[r.installment as usize], as_of);
        by_stratum[stratum(r)].push((key, i));
    }
    let mut keep = vec![false; n];
    for members in &mut by_stratum {
        if members.is_empty() {
            continue;
        }
        let quota = ((cap as f64 * members.len() as f64 / n as f64).round() as usize).clamp(1, members.len());
        members.select_nth_unstable(quota - 1);
        for &(_, i) in &members[..quota] {
            keep[i] = true;
        }
    }
    let mut i = 0;
    rows.retain(|_| {
        let k = keep[i];
        i += 1;
        k
    });
    rows.len()
}
