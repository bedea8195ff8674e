//! The work behind the collection figures (with the outcome store): for each renewal, whether it
//! was put on a list an agent works, attempted, reached, promised (and the promise kept or
//! broken) and visited, all before the report date; tallied per group and month beside the
//! collection rate by [`super::report`].
//!
//! A renewal is **listed** when a campaign stored in the outcome store had it in its treatment
//! arm (a campaign is the list handed to agents), or the score log shows it on `GET /v1/queue`
//! or a campaign's treatment arm, before T. Outcomes count by the agent's day, before T, on the
//! renewal they name; `contact_allowed` is an administrative record, not an attempt. The work
//! is credited to the renewal's groups (its policy's agent, team, ...), as the collection
//! figures are, not to whoever recorded the outcome.

use std::collections::HashMap;

use serde::Serialize;

use lapse_core::dates::Day;
use lapse_core::extract::Book;
use lapse_retention::campaign::Campaign;
use lapse_retention::campaign::arms::Arm;
use lapse_retention::campaign::store::Record;
use lapse_retention::outcomes::{ContactResult, Outcome};

use crate::funnel::{Listed, PROMISE_KEPT_DAYS};

/// Put on a list before T.
pub const LISTED: u8 = 1;
/// Any outcome recorded (an attempt: every result but `contact_allowed`).
pub const ATTEMPTED: u8 = 1 << 1;
/// The customer was spoken to: reached, promised, refused or do-not-contact.
pub const REACHED: u8 = 1 << 2;
/// A promise to pay was recorded.
pub const PROMISED: u8 = 1 << 3;
/// Promised and paid by the (latest) promised date + [`PROMISE_KEPT_DAYS`], before T.
pub const KEPT: u8 = 1 << 4;
/// Promised, unpaid, and the promised date + [`PROMISE_KEPT_DAYS`] is before T.
pub const BROKEN: u8 = 1 << 5;
/// A visit was attempted (an outcome of action `visit`).
pub const VISITED: u8 = 1 << 6;

/// What the work figures were read from.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct WorkSource {
    /// Outcomes in the store, and those used (before T, on a renewal of the extract).
    pub outcomes_read: u64,
    pub outcomes_used: u64,
    /// Outcomes before T naming a policy or installment the extract does not have.
    pub outcomes_unmatched: u64,
    /// Stored campaigns whose treatment arm counted as listed (created before T).
    pub campaigns: u64,
    /// Score-log lines read for the listed renewals (None: no score log given).
    pub score_log_lines: Option<u64>,
}

/// Per installment row of `book`, the work flags ([`LISTED`], ...) at `as_of`, and the source
/// counts.
pub fn renewal_work(book: &Book, outcomes: &[Outcome], listed: &Listed, as_of: Day) -> (Vec<u8>, WorkSource) {
    let inst = &book.installments;
    let mut flags = vec![0u8; inst.number.len()];
    let policy_index: HashMap<&str, usize> = book.policies.id.iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect();
    let row_of = |policy_id: &str, number: u32| -> Option<usize> {
        let &p = policy_index.get(policy_id)?;
        inst.of_policy(p).find(|&i| inst.number[i] == number)
    };
    let mut source = WorkSource { outcomes_read: outcomes.len() as u64, ..WorkSource::default() };
    let mut promised: HashMap<usize, Day> = HashMap::new();
    for o in outcomes.iter().filter(|o| o.day < as_of && o.result != ContactResult::ContactAllowed) {
        let Some(i) = row_of(&o.policy_id, o.installment_no) else {
            source.outcomes_unmatched += 1;
            continue;
        };
        source.outcomes_used += 1;
        let f = &mut flags[i];
        *f |= ATTEMPTED;
        if matches!(o.result, ContactResult::Reached | ContactResult::Promised | ContactResult::Refused | ContactResult::DoNotContact) {
            *f |= REACHED;
        }
        if o.action == "visit" {
            *f |= VISITED;
        }
        if o.result == ContactResult::Promised {
            *f |= PROMISED;
            if let Some(date) = o.promised_date {
                let latest = promised.entry(i).or_insert(date);
                *latest = (*latest).max(date);
            }
        }
    }
    for (&i, &date) in &promised {
        let deadline = date + PROMISE_KEPT_DAYS;
        let kept = inst.paid[i].is_some_and(|paid| paid <= deadline && paid < as_of);
        if kept {
            flags[i] |= KEPT;
        } else if deadline < as_of {
            flags[i] |= BROKEN;
        }
    }
    for (policy_id, renewals) in listed {
        for (number, day, _) in renewals {
            if *day < as_of
                && let Some(i) = row_of(policy_id, *number)
            {
                flags[i] |= LISTED;
            }
        }
    }
    (flags, source)
}

/// The work flags when there is anything to read them from: the outcome store's outcomes, or
/// a score log's listed renewals (with its line count); the campaigns' treatment arms count as
/// listed either way. None without outcomes and without a score log.
pub fn inputs(
    book: &Book,
    as_of: Day,
    outcomes: Option<&[Outcome]>,
    campaigns: &[(Record, Campaign)],
    score_log: Option<(Listed, usize)>,
) -> Option<(Vec<u8>, WorkSource)> {
    if outcomes.is_none() && score_log.is_none() {
        return None;
    }
    let (mut listed, lines) = match score_log {
        Some((listed, lines)) => (listed, Some(lines as u64)),
        None => (Listed::new(), None),
    };
    let counted = list_campaigns(campaigns, as_of, &mut listed);
    let (flags, mut source) = renewal_work(book, outcomes.unwrap_or(&[]), &listed, as_of);
    source.campaigns = counted;
    source.score_log_lines = lines;
    Some((flags, source))
}

/// The treatment rows of stored campaigns created before `as_of`, as listed renewals (the
/// campaign's date as the day listed), merged into `listed`; returns how many campaigns counted.
pub fn list_campaigns(campaigns: &[(Record, Campaign)], as_of: Day, listed: &mut Listed) -> u64 {
    let mut counted = 0;
    for (record, campaign) in campaigns.iter().filter(|(r, _)| r.settings.as_of < as_of) {
        counted += 1;
        for row in campaign.rows.iter().filter(|r| r.arm == Arm::Treatment) {
            let renewals = listed.entry(row.policy_id.clone()).or_default();
            match renewals.iter_mut().find(|r| r.0 == row.installment_no) {
                Some(r) if record.settings.as_of < r.1 => *r = (row.installment_no, record.settings.as_of, row.action.clone()),
                Some(_) => {}
                None => renewals.push((row.installment_no, record.settings.as_of, row.action.clone())),
            }
        }
    }
    counted
}

/// A group's month of work (with the outcome store).
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct WorkCounts {
    pub renewals_listed: u64,
    /// Listed and attempted.
    pub listed_worked: u64,
    pub renewals_attempted: u64,
    pub renewals_reached: u64,
    pub promises_made: u64,
    pub promises_kept: u64,
    pub promises_broken: u64,
    pub renewals_visited: u64,
    /// 面访率: renewals visited / renewals due.
    pub visit_rate: Option<f64>,
    /// Share of the list worked: listed and attempted / listed.
    pub list_worked_share: Option<f64>,
    /// Reached / attempted.
    pub reach_rate: Option<f64>,
    /// Kept / (kept + broken): promises whose date has passed (open promises are not judged).
    pub promise_kept_rate: Option<f64>,
}

/// The per-flag counts of a tally.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct WorkTally {
    listed: u64,
    listed_worked: u64,
    attempted: u64,
    reached: u64,
    promised: u64,
    kept: u64,
    broken: u64,
    visited: u64,
}

impl WorkTally {
    pub(super) fn add(&mut self, f: u8) {
        let has = |bit: u8| u64::from(f & bit != 0);
        self.listed += has(LISTED);
        self.listed_worked += u64::from(f & LISTED != 0 && f & ATTEMPTED != 0);
        self.attempted += has(ATTEMPTED);
        self.reached += has(REACHED);
        self.promised += has(PROMISED);
        self.kept += has(KEPT);
        self.broken += has(BROKEN);
        self.visited += has(VISITED);
    }

    pub(super) fn counts(&self, renewals_due: u64) -> WorkCounts {
        let share = |a: u64, b: u64| (b > 0).then(|| a as f64 / b as f64);
        WorkCounts {
            renewals_listed: self.listed,
            listed_worked: self.listed_worked,
            renewals_attempted: self.attempted,
            renewals_reached: self.reached,
            promises_made: self.promised,
            promises_kept: self.kept,
            promises_broken: self.broken,
            renewals_visited: self.visited,
            visit_rate: share(self.visited, renewals_due),
            list_worked_share: share(self.listed_worked, self.listed),
            reach_rate: share(self.reached, self.attempted),
            promise_kept_rate: share(self.kept, self.kept + self.broken),
        }
    }
}
