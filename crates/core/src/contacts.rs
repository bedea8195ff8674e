//! What agents recorded about contacts (the outcome store's rows: no answer, a promise, a
//! refusal and its reason, ...), as the feature builder reads them: by policy, in date order.
//!
//! Outcomes are not part of the core system's extract; the nightly job and `lapse features
//! --outcomes` attach them to a [`crate::extract::Book`] ([`crate::extract::Book::attach_contacts`]).
//! A book without them has [`ContactHistory::attached`] false, and the features made from them
//! are missing (unknown), never 0 (nothing happened).

use std::collections::HashMap;
use std::ops::Range;

use crate::categories::Categories;
use crate::dates::Day;

/// What happened on a contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContactResult {
    NoAnswer,
    WrongNumber,
    Reached,
    /// The customer promised to pay by a date.
    Promised,
    /// The customer refused to pay (with a reason).
    Refused,
    /// The customer asked not to be contacted again.
    DoNotContact,
    /// Lifts `do_not_contact` and `wrong_number` (the customer agreed again, or gave a new number).
    ContactAllowed,
}

impl ContactResult {
    /// Every result, in the order the documentation lists them.
    pub const ALL: [ContactResult; 7] = [
        ContactResult::NoAnswer,
        ContactResult::WrongNumber,
        ContactResult::Reached,
        ContactResult::Promised,
        ContactResult::Refused,
        ContactResult::DoNotContact,
        ContactResult::ContactAllowed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ContactResult::NoAnswer => "no_answer",
            ContactResult::WrongNumber => "wrong_number",
            ContactResult::Reached => "reached",
            ContactResult::Promised => "promised",
            ContactResult::Refused => "refused",
            ContactResult::DoNotContact => "do_not_contact",
            ContactResult::ContactAllowed => "contact_allowed",
        }
    }

    pub fn parse(text: &str) -> Option<ContactResult> {
        Self::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// Whether this result is a contact attempt (it counts against the frequency caps):
    /// everything but `contact_allowed`, which only records a permission.
    pub fn is_attempt(self) -> bool {
        self != ContactResult::ContactAllowed
    }

    /// An attempt that did not reach the customer.
    pub fn is_unreached(self) -> bool {
        matches!(self, ContactResult::NoAnswer | ContactResult::WrongNumber)
    }
}

/// One recorded outcome, as the feature builder needs it.
#[derive(Debug, Clone, Copy)]
pub struct RecordedContact<'a> {
    pub policy_id: &'a str,
    pub installment_no: u32,
    /// The agent's calendar day of the outcome.
    pub day: Day,
    pub result: ContactResult,
    pub reason: Option<&'a str>,
    pub promised_date: Option<Day>,
}

/// The recorded outcomes of a book's policies, grouped by policy and in date order.
#[derive(Debug, Clone, Default)]
pub struct ContactHistory {
    /// Whether outcomes were attached at all (an empty store is attached; no store is not).
    pub attached: bool,
    pub day: Vec<Day>,
    pub installment_no: Vec<u32>,
    pub result: Vec<ContactResult>,
    pub reason: Categories,
    pub promised_date: Vec<Option<Day>>,
    /// Rows of policy `p` are `offsets[p]..offsets[p + 1]` (empty when not attached).
    offsets: Vec<usize>,
    /// Outcomes about policies the book does not hold (another book's, or a policy since
    /// removed from the extract): not used, counted.
    pub unmatched: usize,
}

impl ContactHistory {
    /// Groups `outcomes` by the policy they name, a row of `policy_ids` (a book's policies in
    /// order; outcomes of unknown policies are counted in [`ContactHistory::unmatched`]).
    pub fn build<'a>(policy_ids: &[String], outcomes: impl IntoIterator<Item = RecordedContact<'a>>) -> ContactHistory {
        let index: HashMap<&str, u32> = policy_ids.iter().enumerate().map(|(i, id)| (id.as_str(), i as u32)).collect();
        let mut rows: Vec<(u32, RecordedContact<'a>)> = Vec::new();
        let mut unmatched = 0;
        for o in outcomes {
            match index.get(o.policy_id) {
                Some(&p) => rows.push((p, o)),
                None => unmatched += 1,
            }
        }
        rows.sort_by_key(|(p, o)| (*p, o.day));
        let mut offsets = vec![0usize; policy_ids.len() + 1];
        for (p, _) in &rows {
            offsets[*p as usize + 1] += 1;
        }
        for p in 0..policy_ids.len() {
            offsets[p + 1] += offsets[p];
        }
        ContactHistory {
            attached: true,
            day: rows.iter().map(|(_, o)| o.day).collect(),
            installment_no: rows.iter().map(|(_, o)| o.installment_no).collect(),
            result: rows.iter().map(|(_, o)| o.result).collect(),
            reason: Categories::from_values(rows.iter().map(|(_, o)| o.reason)),
            promised_date: rows.iter().map(|(_, o)| o.promised_date).collect(),
            offsets,
            unmatched,
        }
    }

    pub fn len(&self) -> usize {
        self.day.len()
    }

    pub fn is_empty(&self) -> bool {
        self.day.is_empty()
    }

    /// The rows of one policy's outcomes (date order); empty when none are attached.
    pub fn of_policy(&self, policy: usize) -> Range<usize> {
        match (self.offsets.get(policy), self.offsets.get(policy + 1)) {
            (Some(&start), Some(&end)) => start..end,
            _ => 0..0,
        }
    }
}

/// What a customer's recorded outcomes before T say (over all of their policies).
#[derive(Debug, Clone, Copy, Default)]
pub struct ContactSummary {
    /// The last refusal before T: its day and its reason's code in [`ContactHistory::reason`].
    pub last_refusal: Option<(Day, u32)>,
    /// Attempts in the 30 days before T that did not reach the customer.
    pub unreached_30d: u32,
    /// Attempts in the 90 days before T that reached the customer (reached, promised, refused).
    pub reached_90d: u32,
    /// The customer's last word on being contacted before T was "do not contact".
    pub do_not_contact: bool,
    /// Day of the last permission change seen (do-not-contact or contact-allowed).
    permission_day: Option<Day>,
}

impl ContactSummary {
    /// Adds `policy`'s outcomes dated before `t`.
    pub fn add_policy(&mut self, history: &ContactHistory, policy: usize, t: Day) {
        for i in history.of_policy(policy) {
            let day = history.day[i];
            if day >= t {
                break; // date order
            }
            let result = history.result[i];
            match result {
                ContactResult::Refused if self.last_refusal.is_none_or(|(d, _)| day >= d) => {
                    self.last_refusal = Some((day, history.reason.codes[i]));
                }
                ContactResult::DoNotContact | ContactResult::ContactAllowed if self.permission_day.is_none_or(|d| day >= d) => {
                    self.permission_day = Some(day);
                    self.do_not_contact = result == ContactResult::DoNotContact;
                }
                _ => {}
            }
            if result.is_unreached() && day >= t - 30 {
                self.unreached_30d += 1;
            }
            if matches!(result, ContactResult::Reached | ContactResult::Promised | ContactResult::Refused) && day >= t - 90 {
                self.reached_90d += 1;
            }
        }
    }
}

/// The state of a renewal's promise to pay at T: the last promise recorded before T about
/// installment `installment_no` of `policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromiseState {
    None,
    /// Promised for T or later.
    Open,
    /// Promised for a day before T, and the renewal is still unpaid at T.
    Broken,
}

impl PromiseState {
    pub fn as_str(self) -> &'static str {
        match self {
            PromiseState::None => "none",
            PromiseState::Open => "open",
            PromiseState::Broken => "broken",
        }
    }

    /// The promise of the renewal (`policy`, `installment_no`), unpaid at `t`.
    pub fn of(history: &ContactHistory, policy: usize, installment_no: u32, t: Day) -> PromiseState {
        let mut state = PromiseState::None;
        for i in history.of_policy(policy) {
            if history.day[i] >= t {
                break;
            }
            if history.result[i] == ContactResult::Promised && history.installment_no[i] == installment_no {
                state = match history.promised_date[i] {
                    Some(d) if d < t => PromiseState::Broken,
                    _ => PromiseState::Open,
                };
            }
        }
        state
    }
}
