//! The renewal funnel: for the renewals of each due month, how many were reminded (an SMS in
//! the 30 days before due), contacted (a call or visit from 30 days before due to the end of
//! grace), paid before due, paid in grace, lapsed, and still open; by channel, by the action of
//! the first contact and by how many days before due the customer was first reached.
//!
//! Only what the extract says before the report date counts: a payment or contact on or after
//! it is not seen, and a renewal whose grace has not ended unpaid is "open", not lapsed.
//!
//! Given the outcome store, three steps follow the contact: **reached** (an agent recorded
//! speaking to the customer about this renewal: reached, promised, refused or do-not-contact),
//! **promised** (a promise to pay it) and **promise kept** (paid by the promised date plus
//! [`PROMISE_KEPT_DAYS`]), all recorded before the report date.
//!
//! Given the score log, a step comes first: **listed**, the renewal was put on a work list
//! (`GET /v1/queue`, or a campaign's treatment arm) before the report date, and a breakdown by
//! the action the list gave it: how much of the funnel's contact the lists drove.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::{Deserialize, Serialize};

use lapse_core::dates::{Day, format_day};
use lapse_core::extract::Book;

/// Days before due that count as the renewal's reminder and contact window.
pub const WINDOW_DAYS: i32 = 30;

/// The funnel of one group of renewals.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct FunnelRow {
    /// `all`, `channel`, `first_action` or `first_contact` (days before due of the first).
    pub dimension: String,
    pub group: String,
    /// Due month, `YYYY-MM`.
    pub due_month: String,
    pub renewals: usize,
    /// Put on a work list before the report date (only with a score log).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listed: Option<usize>,
    pub reminded: usize,
    pub contacted: usize,
    pub paid_before_due: usize,
    pub paid_in_grace: usize,
    pub lapsed: usize,
    /// Neither paid nor past grace at the report date.
    pub open: usize,
    /// An agent recorded reaching the customer about it (only with the outcome store).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reached: Option<usize>,
    /// A promise to pay it was recorded (only with the outcome store).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promised: Option<usize>,
    /// Promised and paid by the promised date plus [`PROMISE_KEPT_DAYS`] (only with the store).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promise_kept: Option<usize>,
}

/// Days after the promised date a payment still keeps the promise (the contact rules' default
/// grace before a promise counts as broken).
pub const PROMISE_KEPT_DAYS: i32 = 3;

/// What agents recorded about one renewal before the report date.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Recorded {
    pub reached: bool,
    /// The latest promised date.
    pub promised: Option<Day>,
}

/// Recorded outcomes by (policy, installment).
pub type RecordedOutcomes = HashMap<(String, u32), Recorded>;

/// The outcomes recorded before `as_of` (by the agent's day), per renewal.
pub fn recorded_outcomes(outcomes: &[lapse_retention::outcomes::Outcome], as_of: Day) -> RecordedOutcomes {
    use lapse_retention::outcomes::ContactResult;
    let mut out = RecordedOutcomes::new();
    for o in outcomes.iter().filter(|o| o.day < as_of) {
        let r = out.entry((o.policy_id.clone(), o.installment_no)).or_default();
        r.reached |= matches!(o.result, ContactResult::Reached | ContactResult::Promised | ContactResult::Refused | ContactResult::DoNotContact);
        if o.result == ContactResult::Promised {
            r.promised = r.promised.max(o.promised_date);
        }
    }
    out
}

/// The report `lapse funnel` writes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FunnelReport {
    pub as_of: String,
    pub grace_days: i32,
    /// Score-log lines read for the `listed` step (None: no score log given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_log_lines: Option<usize>,
    /// Renewals with an outcome recorded before the report date (None: no outcome store).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewals_with_outcomes: Option<usize>,
    pub rows: Vec<FunnelRow>,
}

/// The renewals the score log shows on a work list: policy -> (installment, the day first
/// listed, the action that list gave) per listed renewal.
pub type Listed = HashMap<String, Vec<(u32, Day, String)>>;

/// Reads the score log at `dir`: every renewal listed by `GET /v1/queue` or in a campaign's
/// treatment arm before `as_of` (scores by key and control arms are not lists an agent works).
pub fn listed_from_log(dir: &Path, as_of: Day) -> Result<(Listed, crate::realised::LogRead), crate::realised::RealisedError> {
    let mut listed = Listed::new();
    let read = crate::realised::read_log(dir, |line| {
        let on_list = line.endpoint == "queue" || (line.endpoint == "campaign" && line.arm.as_deref() == Some("treatment"));
        let Some(day) = line.time.get(..10).and_then(lapse_core::dates::parse_day) else { return };
        if !on_list || day >= as_of {
            return;
        }
        let renewals = listed.entry(line.policy_id.into_owned()).or_default();
        match renewals.iter_mut().find(|r| r.0 == line.installment_no) {
            Some(r) if day < r.1 => *r = (line.installment_no, day, line.action.into_owned()),
            Some(_) => {}
            None => renewals.push((line.installment_no, day, line.action.into_owned())),
        }
    })?;
    Ok((listed, read))
}

/// The bucket of the first contact's timing.
pub fn first_contact_bucket(days_before_due: Option<i32>) -> &'static str {
    match days_before_due {
        None => "not contacted",
        Some(d) if d > 14 => "15-30 days before due",
        Some(d) if d > 0 => "1-14 days before due",
        Some(_) => "on or after due",
    }
}

/// The funnel of every renewal (installment_no >= 2) due before the report date `as_of` in
/// its month and the `months - 1` whole months before it.
///
/// With `listed` (from [`listed_from_log`], and the lines read), the `listed` step and a
/// `listed_action` breakdown.
/// Due months a funnel covers by default (`lapse funnel`, the nightly's page).
pub const DEFAULT_MONTHS: i32 = 12;

pub fn report(
    book: &Book,
    as_of: Day,
    grace_days: i32,
    months: i32,
    listed: Option<(&Listed, usize)>,
    recorded: Option<&RecordedOutcomes>,
) -> FunnelReport {
    let inst = &book.installments;
    let events = &book.events;
    let kind_of: Vec<Option<&'static str>> = events
        .kind
        .levels
        .iter()
        .map(|l| match l.trim().to_ascii_lowercase().as_str() {
            "contact_sms" => Some("sms"),
            "contact_call" => Some("call"),
            "contact_visit" => Some("visit"),
            _ => None,
        })
        .collect();
    // Whole due months: from the first day of the month `months - 1` months before the report.
    let (year, month, _) = lapse_core::dates::civil_from_days(lapse_core::dates::add_months(as_of, 1 - months.max(1)));
    let start = lapse_core::dates::parse_day(&format!("{year:04}-{month:02}-01")).unwrap_or(as_of);
    let mut tallies: BTreeMap<(String, String, String), FunnelRow> = BTreeMap::new();
    for p in 0..book.policies.len() {
        let channel = book.policies.channel.get(p).unwrap_or("unknown").to_string();
        let contacts: Vec<(Day, &'static str)> = events
            .of_policy(p)
            .filter_map(|e| {
                let code = events.kind.codes[e];
                let kind = kind_of.get(code as usize).copied().flatten()?;
                (events.date[e] < as_of).then_some((events.date[e], kind))
            })
            .collect();
        for i in inst.of_policy(p) {
            let due = inst.due[i];
            if inst.number[i] < 2 || due < start || due >= as_of {
                continue;
            }
            let deadline = due + grace_days;
            let seen = contacts.iter().filter(|(d, _)| *d >= due - WINDOW_DAYS && *d <= deadline);
            let reminded = seen.clone().any(|(d, k)| *k == "sms" && *d < due);
            let contacted = seen.clone().any(|(_, k)| *k != "sms");
            let first = seen.clone().min_by_key(|(d, _)| *d);
            let paid = inst.paid[i].filter(|&d| d < as_of);
            let (before, in_grace, lapsed) = match paid {
                Some(d) if d <= due => (true, false, false),
                Some(d) if d <= deadline => (false, true, false),
                Some(_) => (false, false, true),
                None => (false, false, deadline < as_of),
            };
            let (year, month, _) = lapse_core::dates::civil_from_days(due);
            let due_month = format!("{year:04}-{month:02}");
            let on_list = listed.map(|(l, _)| l.get(book.policies.id[p].as_str()).and_then(|r| r.iter().find(|r| r.0 == inst.number[i])));
            let mut groups = vec![
                ("all", "all".to_string()),
                ("channel", channel.clone()),
                ("first_action", first.map_or("none", |(_, k)| *k).to_string()),
                ("first_contact", first_contact_bucket(first.map(|(d, _)| due - d)).to_string()),
            ];
            let outcome = recorded.map(|r| r.get(&(book.policies.id[p].to_string(), inst.number[i])).copied().unwrap_or_default());
            let kept = outcome.and_then(|o| o.promised).is_some_and(|promised| paid.is_some_and(|d| d <= promised + PROMISE_KEPT_DAYS));
            if let Some(on_list) = on_list {
                groups.push(("listed_action", on_list.map_or("not listed".to_string(), |(_, _, action)| action.clone())));
            }
            for (dimension, group) in groups {
                let row = tallies.entry((dimension.to_string(), group.clone(), due_month.clone())).or_insert_with(|| FunnelRow {
                    dimension: dimension.to_string(),
                    group,
                    due_month: due_month.clone(),
                    ..FunnelRow::default()
                });
                row.renewals += 1;
                if let Some(on_list) = on_list {
                    *row.listed.get_or_insert(0) += usize::from(on_list.is_some());
                }
                if let Some(o) = outcome {
                    *row.reached.get_or_insert(0) += usize::from(o.reached);
                    *row.promised.get_or_insert(0) += usize::from(o.promised.is_some());
                    *row.promise_kept.get_or_insert(0) += usize::from(kept);
                }
                row.reminded += usize::from(reminded);
                row.contacted += usize::from(contacted);
                row.paid_before_due += usize::from(before);
                row.paid_in_grace += usize::from(in_grace);
                row.lapsed += usize::from(lapsed);
                row.open += usize::from(!before && !in_grace && !lapsed);
            }
        }
    }
    let order = |d: &str| ["all", "channel", "first_action", "first_contact", "listed_action"].iter().position(|x| *x == d).unwrap_or(9);
    let mut rows: Vec<FunnelRow> = tallies.into_values().collect();
    rows.sort_by(|a, b| order(&a.dimension).cmp(&order(&b.dimension)).then(a.group.cmp(&b.group)).then(a.due_month.cmp(&b.due_month)));
    FunnelReport {
        as_of: format_day(as_of),
        grace_days,
        score_log_lines: listed.map(|(_, lines)| lines),
        renewals_with_outcomes: recorded.map(|r| r.len()),
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lapse_core::extract::{OnError, load_book};
    use lapse_core::testkit::{CsvBook, day};

    #[test]
    fn each_renewal_lands_on_its_steps_and_only_what_happened_before_the_report_counts() {
        let dir = tempfile::tempdir().unwrap();
        let mut book = CsvBook::new();
        // Report date 2025-06-20, grace 60 days, the three months April-June 2025.
        // P1: reminded by SMS 10 days before due, paid before due.
        book.annual_policy("P1", "2024-04-10").installment("P1", 2, "2025-04-10", "2025-04-08");
        book.events.push("P1,2025-03-31,contact_sms,".into());
        // P2: called 20 days after due, paid in grace; an SMS after due is not a reminder.
        book.annual_policy("P2", "2024-04-15").installment("P2", 2, "2025-04-15", "2025-05-20");
        book.events.push("P2,2025-04-25,contact_sms,".into());
        book.events.push("P2,2025-05-05,contact_call,".into());
        // P3: not paid, grace ended 2025-06-14: lapsed. P4: not paid, grace not over: open.
        book.annual_policy("P3", "2024-04-15").installment("P3", 2, "2025-04-15", "");
        book.annual_policy("P4", "2024-05-10").installment("P4", 2, "2025-05-10", "");
        // P5: paid on the report date (not seen yet: open); visited 20 days before due.
        book.annual_policy("P5", "2024-06-01").installment("P5", 2, "2025-06-01", "2025-06-20");
        book.events.push("P5,2025-05-12,contact_visit,".into());
        // P6: due before the window (March): not in the report.
        book.annual_policy("P6", "2024-03-15").installment("P6", 2, "2025-03-15", "2025-03-15");
        let dir = book.write(dir.path());
        let loaded = load_book(&dir, OnError::Strict).unwrap();
        let report = report(&loaded.book, day("2025-06-20"), 60, 3, None, None);
        assert!(report.rows.iter().all(|r| r.listed.is_none() && r.dimension != "listed_action"));
        let all: Vec<&FunnelRow> = report.rows.iter().filter(|r| r.dimension == "all").collect();
        let month = |m: &str| all.iter().find(|r| r.due_month == m).copied().cloned().unwrap_or_default();
        let april = month("2025-04");
        assert_eq!(
            (april.renewals, april.reminded, april.contacted, april.paid_before_due, april.paid_in_grace, april.lapsed, april.open),
            (3, 1, 1, 1, 1, 1, 0)
        );
        let may = month("2025-05");
        assert_eq!((may.renewals, may.open, may.lapsed), (1, 1, 0));
        let june = month("2025-06");
        assert_eq!((june.renewals, june.contacted, june.open, june.paid_before_due), (1, 1, 1, 0));
        assert!(all.iter().all(|r| r.due_month != "2025-03"));
        // First contact: P1's SMS 10 days before due, P2's SMS 10 days after, P5's visit 20 before.
        let bucket = |g: &str| report.rows.iter().filter(|r| r.dimension == "first_contact" && r.group == g).map(|r| r.renewals).sum::<usize>();
        assert_eq!(
            (bucket("1-14 days before due"), bucket("on or after due"), bucket("15-30 days before due"), bucket("not contacted")),
            (1, 1, 1, 2)
        );
        let action = |g: &str| report.rows.iter().filter(|r| r.dimension == "first_action" && r.group == g).map(|r| r.renewals).sum::<usize>();
        assert_eq!((action("sms"), action("visit"), action("none")), (2, 1, 2));

        // With the outcome store: P2 promised to pay by 2025-05-18 and paid on 05-20 (within the
        // 3 days: kept); P3 promised and never paid; P1 no answer (not reached); P4 refused after
        // the report date (not seen).
        let outcome = |policy: &str, result, day_text: &str, promised: Option<&str>| lapse_retention::outcomes::Outcome {
            id: format!("{policy}-{day_text}"),
            policy_id: policy.into(),
            installment_no: 2,
            customer_id: "C".into(),
            action: "call".into(),
            result,
            at: String::new(),
            at_ms: 0,
            day: day(day_text),
            reason: None,
            promised_date: promised.map(day),
            agent_id: None,
            note: None,
        };
        use lapse_retention::outcomes::ContactResult;
        let outcomes = [
            outcome("P2", ContactResult::Promised, "2025-05-05", Some("2025-05-18")),
            outcome("P3", ContactResult::Promised, "2025-05-01", Some("2025-05-10")),
            outcome("P1", ContactResult::NoAnswer, "2025-04-01", None),
            outcome("P4", ContactResult::Refused, "2025-06-20", None),
        ];
        let recorded = recorded_outcomes(&outcomes, day("2025-06-20"));
        let with_outcomes = super::report(&loaded.book, day("2025-06-20"), 60, 3, None, Some(&recorded));
        assert_eq!(with_outcomes.renewals_with_outcomes, Some(3));
        let april = with_outcomes.rows.iter().find(|r| r.dimension == "all" && r.due_month == "2025-04").unwrap();
        assert_eq!((april.reached, april.promised, april.promise_kept), (Some(2), Some(2), Some(1)));
        let may = with_outcomes.rows.iter().find(|r| r.dimension == "all" && r.due_month == "2025-05").unwrap();
        assert_eq!((may.reached, may.promised), (Some(0), Some(0)), "P4's refusal is on the report date: not seen");

        // With the score log: P1 listed by the queue (a call), then again later (the first
        // listing counts); P2 in a campaign's treatment arm; P3 in its control arm and P4 scored
        // by key (not lists an agent works); P5 listed after the report date (not seen); and a
        // torn line, skipped and counted.
        let log = tempfile::tempdir().unwrap();
        let line = |on: &str, endpoint: &str, policy: &str, action: &str, arm: Option<&str>| {
            let mut out = Vec::new();
            lapse_model::score_log::ScoreLine {
                time: format!("{on}T09:00:00.000Z").into(),
                request_id: "r".into(),
                endpoint: endpoint.into(),
                model_version: "v0001".into(),
                policy_id: policy.into(),
                installment_no: 2,
                due_date: day("2025-04-10"),
                probability: 0.5,
                value: 1000.0,
                action: action.into(),
                expected_gain: 1.0,
                rank: 1,
                campaign: arm.map(|_| "c1".into()),
                arm: arm.map(Into::into),
            }
            .write_jsonl(&mut out);
            String::from_utf8(out).unwrap()
        };
        let text = [
            line("2025-04-01", "queue", "P1", "call", None),
            line("2025-04-05", "queue", "P1", "visit", None),
            line("2025-04-02", "campaign", "P2", "sms", Some("treatment")),
            line("2025-04-02", "campaign", "P3", "call", Some("control")),
            line("2025-04-03", "score", "P4", "call", None),
            line("2025-06-20", "queue", "P5", "visit", None),
            "{\"time\": \"2025-04-0".to_string(),
        ]
        .concat();
        std::fs::write(log.path().join(lapse_model::score_log::file_name(day("2025-04-01"))), text).unwrap();
        let (listed, read) = listed_from_log(log.path(), day("2025-06-20")).unwrap();
        assert_eq!((read.log_lines, read.malformed_lines), (6, 1));
        let with_log = super::report(&loaded.book, day("2025-06-20"), 60, 3, Some((&listed, read.log_lines)), None);
        assert_eq!(with_log.score_log_lines, Some(6));
        let listed_in = |m: &str| with_log.rows.iter().find(|r| r.dimension == "all" && r.due_month == m).unwrap().listed;
        assert_eq!((listed_in("2025-04"), listed_in("2025-05"), listed_in("2025-06")), (Some(2), Some(0), Some(0)));
        let by = |g: &str| with_log.rows.iter().filter(|r| r.dimension == "listed_action" && r.group == g).map(|r| r.renewals).sum::<usize>();
        assert_eq!((by("call"), by("sms"), by("visit"), by("not listed")), (1, 1, 0, 3));
        // Everything else is the funnel without the log.
        let strip = |r: &FunnelRow| FunnelRow { listed: None, ..r.clone() };
        let same: Vec<FunnelRow> = with_log.rows.iter().filter(|r| r.dimension != "listed_action").map(strip).collect();
        assert_eq!(same, report.rows);
    }
}
