//! Persistency KPIs from the extracts: of the policies issued, the share (by count and by
//! annualized premium) still paying at the 13th and the 25th month, by issue year, channel,
//! product type and region.

use std::collections::BTreeMap;

use serde::Serialize;

use lapse_core::dates::{Day, add_months, format_day};
use lapse_core::extract::Book;

/// The definition, as the report prints it.
pub const DEFINITION: &str = "A policy persists to month K (13 or 25) when its first premium due on or after issue + (K-1) months \
(installment 1 + (K-1)/12 x installments per year) was paid by its due date + grace. The base is every policy of the group \
whose month-K premium fell due with its grace over before the as-of date, with a payment term longer than (K-1)/12 years, \
less policies that ended by death or maturity before that premium fell due (they could not pay it). A policy whose month-K \
installment is not in the extract (it lapsed or was surrendered earlier) does not persist. Ratios by count and by annualized premium.";

/// [`DEFINITION`] in Chinese, for zh-CN pages.
pub const DEFINITION_ZH: &str = "保单第K个月（13或25）继续：承保后满 (K-1) 个月当日或之后的第一期保费\
（第 1 + (K-1)/12 x 年缴费次数 期）在应缴日加宽限期内缴纳。分母为该组中第K个月保费已应缴且宽限期在统计日前已过、\
缴费期长于 (K-1)/12 年的全部保单，减去该期保费应缴前因身故或满期而终止的保单（它们无法缴费）。\
第K个月那一期不在数据中的保单（更早已失效或退保）视为未继续。分别按件数和按年化保费计算。";

/// One KPI cell.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Persistency {
    /// 13 or 25.
    pub month: u32,
    /// `all`, `issue_year`, `channel`, `product_type` or `region`.
    pub dimension: &'static str,
    pub group: String,
    pub policies: usize,
    pub persisting: usize,
    pub ratio_by_count: Option<f64>,
    pub premium: f64,
    pub persisting_premium: f64,
    pub ratio_by_premium: Option<f64>,
}

/// The persistency report.
#[derive(Debug, Clone, Serialize)]
pub struct PersistencyReport {
    pub as_of: String,
    pub grace_days: i32,
    pub definition: &'static str,
    pub kpis: Vec<Persistency>,
}

/// Whether policy `p` persists to month `k` as of `as_of`: Some(true/false), or None when it is
/// not in the base (not due yet, term too short, ended by death or maturity before).
pub fn persists(book: &Book, p: usize, k: u32, as_of: Day, grace_days: i32) -> Option<bool> {
    persistency_at(book, p, k, as_of, grace_days).map(|(_, persisted)| persisted)
}

/// [`persists`] with the due date of the month-`k` premium (the day the team-performance report
/// files the policy's persistency under).
pub fn persistency_at(book: &Book, p: usize, k: u32, as_of: Day, grace_days: i32) -> Option<(Day, bool)> {
    let policies = &book.policies;
    if policies.payment_term_years[p] * 12 < k {
        return None;
    }
    let per_year = policies.frequency[p].per_year();
    let number = 1 + (k - 1) * per_year / 12;
    let installments = &book.installments;
    let found = installments.of_policy(p).find(|&i| installments.number[i] == number);
    let due = found.map_or_else(|| add_months(policies.issue_date[p], (k - 1) as i32), |i| installments.due[i]);
    if due + grace_days >= as_of {
        return None;
    }
    let ended_before = matches!(policies.status.get(p), Some("death_claim" | "matured")) && policies.status_date[p].is_some_and(|d| d < due);
    if ended_before {
        return None;
    }
    Some((due, found.is_some_and(|i| installments.paid[i].is_some_and(|paid| paid <= due + grace_days))))
}

#[derive(Default)]
struct Tally {
    policies: usize,
    persisting: usize,
    premium: f64,
    persisting_premium: f64,
}

/// The 13th- and 25th-month persistency of `book` as of `as_of`.
pub fn report(book: &Book, as_of: Day, grace_days: i32) -> PersistencyReport {
    let policies = &book.policies;
    let mut kpis = Vec::new();
    for k in [13u32, 25] {
        let mut tallies: BTreeMap<(&'static str, String), Tally> = BTreeMap::new();
        for p in 0..policies.len() {
            let Some(persisting) = persists(book, p, k, as_of, grace_days) else { continue };
            let premium = policies.modal_premium[p] * f64::from(policies.frequency[p].per_year());
            let year = format_day(policies.issue_date[p])[..4].to_string();
            let text = |c: &lapse_core::extract::Categories| c.get(p).unwrap_or("(missing)").to_string();
            for key in [
                ("all", "all".to_string()),
                ("issue_year", year),
                ("channel", text(&policies.channel)),
                ("product_type", text(&policies.product_type)),
                ("region", text(&policies.region)),
            ] {
                let t = tallies.entry(key).or_default();
                t.policies += 1;
                t.premium += premium;
                if persisting {
                    t.persisting += 1;
                    t.persisting_premium += premium;
                }
            }
        }
        let order = |d: &str| ["all", "issue_year", "channel", "product_type", "region"].iter().position(|x| *x == d).unwrap_or(9);
        let mut cells: Vec<Persistency> = tallies
            .into_iter()
            .map(|((dimension, group), t)| Persistency {
                month: k,
                dimension,
                group,
                policies: t.policies,
                persisting: t.persisting,
                ratio_by_count: (t.policies > 0).then(|| t.persisting as f64 / t.policies as f64),
                premium: t.premium,
                persisting_premium: t.persisting_premium,
                ratio_by_premium: (t.premium > 0.0).then(|| t.persisting_premium / t.premium),
            })
            .collect();
        cells.sort_by(|a, b| order(a.dimension).cmp(&order(b.dimension)).then(a.group.cmp(&b.group)));
        kpis.extend(cells);
    }
    PersistencyReport { as_of: format_day(as_of), grace_days, definition: DEFINITION, kpis }
}
