//! Lapsed policies that can still be won back (复效, reinstatement by paying the arrears), as
//! `DATA_CONTRACT.md` defines them, and the win-back work list built from them.
//!
//! A policy is lapsed at T when a renewal due on D with D + grace < T is unpaid at T; its lapse
//! date L is D + grace of the earliest such renewal. It is a candidate when T - reinstatement
//! days <= L and its status visible at T is not surrendered, death_claim, matured or cancelled.
//! Arrears: the amount due of its renewals due before T and unpaid at T.
//!
//! With a registered reinstatement model (`features` builds its inputs and labels; the model
//! crate scores them) the list is ordered by `priority = P(reinstated within N days) x value if
//! reinstated` ([`rank_by_model`]). Until one is registered it is ordered by value and recency:
//! `priority = value if reinstated x (days left to reinstate / reinstatement days)`. Every row
//! says which (`priority_basis`).

pub mod features;

use std::path::Path;

use polars::prelude::*;

use crate::dates::{Day, format_day};
use crate::extract::Book;
use crate::features::output::{WriteError, write_frames};

/// Statuses that end a policy for good: it cannot be reinstated.
pub const FINAL_STATUSES: [&str; 4] = ["surrendered", "death_claim", "matured", "cancelled"];

/// How long after its lapse date a policy can be reinstated by default (the contract's
/// window), in days.
pub const REINSTATEMENT_DAYS: i32 = 730;

/// What the fallback priority says it is.
pub const FALLBACK_BASIS: &str = "value x recency (no reinstatement model registered)";

/// One win-back candidate at T.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Row in `book.policies`.
    pub policy: usize,
    pub lapse_date: Day,
    pub days_since_lapse: i32,
    pub days_left: i32,
    /// Renewals due before T and unpaid at T, and their amount due.
    pub unpaid_renewals: u32,
    pub arrears: f64,
    /// Row in `book.installments` of the renewal whose unpaid premium lapsed the policy.
    pub lapsed_installment: usize,
    /// Premium years left at T (at least one), before the cap.
    pub premium_years_left: f64,
    /// Annualized premium x premium years left at T (at least one), the years capped as the
    /// work list caps them (`value_cap_years` of the economics).
    pub value_if_reinstated: f64,
    pub agent_left: bool,
    pub priority: f64,
    /// P(reinstated within the model's horizon), when a reinstatement model ranked the list.
    pub probability: Option<f64>,
    /// The model's inputs that raise this candidate's probability most, strongest first.
    pub drivers: Vec<String>,
}

/// Every win-back candidate of `book` at `as_of`, highest priority first (ties by policy id).
/// `value_cap_years` caps the premium years a policy's value counts, as the work list does.
pub fn candidates(book: &Book, as_of: Day, grace_days: i32, reinstatement_days: i32, value_cap_years: f64) -> Vec<Candidate> {
    let policies = &book.policies;
    let inst = &book.installments;
    let final_codes: Vec<u32> = policies
        .status
        .levels
        .iter()
        .enumerate()
        .filter(|(_, l)| FINAL_STATUSES.iter().any(|f| f.eq_ignore_ascii_case(l.trim())))
        .map(|(i, _)| i as u32)
        .collect();
    let mut out = Vec::new();
    for p in 0..policies.len() {
        if policies.status_date[p].is_some_and(|d| d < as_of) && final_codes.contains(&policies.status.codes[p]) {
            continue;
        }
        let mut lapse_date: Option<(Day, usize)> = None;
        let (mut unpaid, mut arrears) = (0u32, 0.0);
        for i in inst.of_policy(p) {
            let due = inst.due[i];
            if due >= as_of {
                break; // due order
            }
            let unpaid_at_t = inst.paid[i].is_none_or(|d| d >= as_of);
            if inst.number[i] < 2 || !unpaid_at_t {
                continue;
            }
            unpaid += 1;
            arrears += inst.amount_due[i];
            if due + grace_days < as_of && lapse_date.is_none() {
                lapse_date = Some((due + grace_days, i));
            }
        }
        let Some((lapse, lapsed_installment)) = lapse_date else { continue };
        if as_of - reinstatement_days > lapse {
            continue;
        }
        let years_left = {
            let elapsed = crate::dates::whole_years_between(policies.issue_date[p], as_of);
            f64::from(policies.payment_term_years[p].saturating_sub(elapsed.max(0) as u32))
        };
        let annual = policies.modal_premium[p] * f64::from(policies.frequency[p].per_year());
        let value = annual * years_left.max(1.0).min(value_cap_years.max(1.0));
        let days_left = lapse + reinstatement_days - as_of;
        let agent_left = policies.agent[p].is_some_and(|a| book.agents.leave_date[a as usize].is_some_and(|d| d < as_of));
        out.push(Candidate {
            policy: p,
            lapse_date: lapse,
            days_since_lapse: as_of - lapse,
            days_left,
            unpaid_renewals: unpaid,
            arrears,
            lapsed_installment,
            premium_years_left: years_left.max(1.0),
            value_if_reinstated: value,
            agent_left,
            priority: value * f64::from(days_left) / f64::from(reinstatement_days.max(1)),
            probability: None,
            drivers: Vec::new(),
        });
    }
    out.sort_by(|a, b| b.priority.total_cmp(&a.priority).then_with(|| policies.id[a.policy].cmp(&policies.id[b.policy])));
    out
}

/// Ranks `list` by a reinstatement model: `probabilities[i]` and `drivers[i]` belong to
/// `list[i]`; priority becomes probability x value if reinstated, highest first (ties by
/// policy id).
pub fn rank_by_model(book: &Book, list: &mut [Candidate], probabilities: &[f64], drivers: Vec<Vec<String>>) {
    for ((c, &p), d) in list.iter_mut().zip(probabilities).zip(drivers) {
        c.probability = Some(p);
        c.priority = p * c.value_if_reinstated;
        c.drivers = d;
    }
    let ids = &book.policies.id;
    list.sort_by(|a, b| b.priority.total_cmp(&a.priority).then_with(|| ids[a.policy].cmp(&ids[b.policy])));
}

/// What a model-ranked list says its priority is.
pub fn model_basis(version: &str, horizon_days: i32) -> String {
    format!("P(reinstated within {horizon_days} days) x value if reinstated (reinstatement model {version})")
}

/// The suggested action: the servicing agent visits when there is one still in service, else
/// the call centre calls.
pub fn action(book: &Book, c: &Candidate) -> &'static str {
    if book.policies.agent[c.policy].is_some() && !c.agent_left { "visit" } else { "call" }
}

/// The list as a frame, one row per candidate, in priority order; `basis` says what the
/// priority is ([`FALLBACK_BASIS`] or [`model_basis`]); `reasons[i]` is `candidates[i]`'s
/// sentence (the model crate writes them, in the reader's language).
pub fn frame(book: &Book, candidates: &[Candidate], as_of: Day, basis: &str, reasons: &[String]) -> PolarsResult<DataFrame> {
    let p = &book.policies;
    let text = |f: &dyn Fn(&Candidate) -> Option<String>| -> Vec<Option<String>> { candidates.iter().map(f).collect() };
    let category = |column: &crate::extract::Categories, c: &Candidate| column.get(c.policy).map(str::to_string);
    DataFrame::new(
        candidates.len(),
        vec![
            Column::new("as_of".into(), vec![format_day(as_of); candidates.len()]),
            Column::new("rank".into(), (1..=candidates.len() as u32).collect::<Vec<u32>>()),
            Column::new("policy_id".into(), text(&|c| Some(p.id[c.policy].clone()))),
            Column::new("customer_id".into(), text(&|c| Some(book.customers.id[p.customer[c.policy] as usize].clone()))),
            Column::new("channel".into(), text(&|c| category(&p.channel, c))),
            Column::new("product_type".into(), text(&|c| category(&p.product_type, c))),
            Column::new("product_code".into(), text(&|c| category(&p.product_code, c))),
            Column::new("region".into(), text(&|c| category(&p.region, c))),
            Column::new("agent_id".into(), text(&|c| category(&p.agent_id, c))),
            Column::new("agent_left".into(), candidates.iter().map(|c| c.agent_left).collect::<Vec<bool>>()),
            Column::new("lapse_date".into(), text(&|c| Some(format_day(c.lapse_date)))),
            Column::new("days_since_lapse".into(), candidates.iter().map(|c| c.days_since_lapse).collect::<Vec<i32>>()),
            Column::new("days_left_to_reinstate".into(), candidates.iter().map(|c| c.days_left).collect::<Vec<i32>>()),
            Column::new("unpaid_renewals".into(), candidates.iter().map(|c| c.unpaid_renewals).collect::<Vec<u32>>()),
            Column::new("arrears".into(), candidates.iter().map(|c| c.arrears).collect::<Vec<f64>>()),
            Column::new("value_if_reinstated".into(), candidates.iter().map(|c| c.value_if_reinstated).collect::<Vec<f64>>()),
            Column::new("reinstatement_probability".into(), candidates.iter().map(|c| c.probability).collect::<Vec<Option<f64>>>()),
            Column::new("priority".into(), candidates.iter().map(|c| c.priority).collect::<Vec<f64>>()),
            Column::new("priority_basis".into(), vec![basis; candidates.len()]),
            Column::new("action".into(), candidates.iter().map(|c| action(book, c)).collect::<Vec<&str>>()),
            Column::new("reasons".into(), reasons.to_vec()),
        ],
    )
}

/// Writes the list to `path` (CSV or Parquet by extension) atomically; returns the rows.
pub fn write(path: &Path, book: &Book, candidates: &[Candidate], as_of: Day, basis: &str, reasons: &[String]) -> Result<usize, WriteError> {
    let metadata = vec![("lapse.as_of".into(), format_day(as_of)), ("lapse.priority_basis".into(), basis.to_string())];
    write_frames(path, metadata, std::iter::once(frame(book, candidates, as_of, basis, reasons)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::{OnError, load_book};
    use crate::testkit::{CsvBook, day};

    #[test]
    fn the_contracts_candidates_with_their_arrears_highest_priority_first() {
        let dir = tempfile::tempdir().unwrap();
        let mut book = CsvBook::new();
        // T = 2025-06-01; grace 60 days; reinstatement window 730 days (from 2023-06-02).
        // Lapsed (due 2025-01-10, grace ended 2025-03-11), paid to reinstate after T: a candidate.
        book.annual_policy("P1", "2024-01-10").installment("P1", 2, "2025-01-10", "2025-07-01");
        // Lapsed, then reinstated before T: not lapsed at T.
        book.annual_policy("P2", "2024-01-10").installment("P2", 2, "2025-01-10", "2025-04-01");
        // Paid in grace: never lapsed.
        book.annual_policy("P3", "2024-01-10").installment("P3", 2, "2025-01-10", "2025-02-20");
        // Lapsed too long ago (grace ended 2023-03-01): out of the window.
        book.annual_policy("P4", "2021-12-31").installment("P4", 2, "2022-12-31", "").installment("P4", 3, "2023-12-31", "");
        // Lapsed and surrendered before T: out. Lapsed, surrendered after T: still a candidate.
        book.policies.push("P5,C1,WL01,whole_life,agent,A1,2024-01-10,annual,1000,20000,10,auto_debit,Guangdong,surrendered,2025-05-01".into());
        book.installments.push("P5,1,2024-01-10,1000,2024-01-10,1000,auto_debit,0".into());
        book.installment("P5", 2, "2025-01-10", "");
        book.policies.push("P6,C1,WL01,whole_life,agent,A1,2024-01-10,annual,3000,20000,10,auto_debit,Guangdong,surrendered,2025-06-15".into());
        book.installments.push("P6,1,2024-01-10,3000,2024-01-10,3000,auto_debit,0".into());
        book.installments.push("P6,2,2025-01-10,3000,,,auto_debit,0".into());
        // A quarterly payer lapsed on its 2024-10-01 premium (grace ended 2024-11-30), with two
        // more premiums unpaid since (one still in grace at T): arrears 3 x 250.
        book.policies.push("P7,C1,WL01,whole_life,agent,A1,2024-01-01,quarterly,250,20000,10,auto_debit,Guangdong,in_force,".into());
        for (no, due, paid) in [
            (1, "2024-01-01", "2024-01-01"),
            (2, "2024-04-01", "2024-04-01"),
            (3, "2024-07-01", "2024-07-01"),
            (4, "2024-10-01", ""),
            (5, "2025-01-01", "2025-01-05"),
            (6, "2025-04-01", ""),
            (7, "2025-05-01", ""),
        ] {
            book.installments.push(format!("P7,{no},{due},250,{paid},{},auto_debit,0", if paid.is_empty() { "" } else { "250" }));
        }
        let dir = book.write(dir.path());
        let loaded = load_book(&dir, OnError::Strict).unwrap();
        let list = candidates(&loaded.book, day("2025-06-01"), 60, 730, 5.0);
        let id = |c: &Candidate| loaded.book.policies.id[c.policy].clone();
        let mut ids: Vec<String> = list.iter().map(id).collect();
        ids.sort();
        assert_eq!(ids, ["P1", "P6", "P7"]);
        let get = |name: &str| list.iter().find(|c| id(c) == name).unwrap();
        assert_eq!((get("P1").lapse_date, get("P1").arrears, get("P1").unpaid_renewals), (day("2025-03-11"), 1000.0, 1));
        // 9 of its 10 premium years are left; the value counts 5, as the work list does.
        assert_eq!(get("P1").value_if_reinstated, 5.0 * 1000.0);
        assert_eq!((get("P6").arrears, get("P6").days_since_lapse), (3000.0, day("2025-06-01") - day("2025-03-11")));
        assert_eq!((get("P7").lapse_date, get("P7").arrears, get("P7").unpaid_renewals), (day("2024-11-30"), 750.0, 3));
        assert_eq!(get("P7").days_left, day("2024-11-30") + 730 - day("2025-06-01"));
        assert!(list.windows(2).all(|w| w[0].priority >= w[1].priority), "highest priority first");
        // The file: same rows, same order, the fallback basis said on every row.
        let out = tempfile::tempdir().unwrap();
        let path = out.path().join("winback.csv");
        let reasons: Vec<String> = list.iter().map(|c| format!("arrears {}", c.arrears)).collect();
        assert_eq!(write(&path, &loaded.book, &list, day("2025-06-01"), FALLBACK_BASIS, &reasons).unwrap(), 3);
        let text = std::fs::read_to_string(&path).unwrap();
        let rows: Vec<&str> = text.lines().skip(1).collect();
        assert_eq!(rows.len(), 3);
        for (row, c) in rows.iter().zip(&list) {
            assert!(
                row.contains(&format!(",{},", id(c))) && row.contains(FALLBACK_BASIS) && row.contains(&format!("arrears {}", c.arrears)),
                "{row}"
            );
        }
    }
}
