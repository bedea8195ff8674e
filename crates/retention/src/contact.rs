//! The contact rules: who may be contacted, with which action, on a list's date, given what
//! agents recorded ([`crate::outcomes`]). Judged on the list's date (the snapshot's as-of
//! date); an outcome dated after it counts as that date (it happened; the list must not
//! ignore it). Configured in `[contact_rules]` of `lapse.toml`; the defaults are the issue's:
//!
//! - `refused`: the customer is not listed for `refused_days` (30) after the outcome's day;
//! - `promised`: the renewal is not listed until `promise_grace_days` (3) after the promised
//!   date; then it returns with "promise to pay broken" among its reasons;
//! - `do_not_contact`: the customer is never listed until a later `contact_allowed`;
//! - `wrong_number`: no `call` or `sms` for the customer until a later `contact_allowed`, or a
//!   change of address or phone in the extract after it (feature `days_since_contact_change`);
//! - frequency caps per customer and action over a rolling window, counting every recorded
//!   attempt: at most one call per 3 days, two SMS per 7 days, one visit per 14 days.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::outcomes::{ContactResult, DEFAULT_REFUSAL_REASONS, Outcome};
use lapse_core::dates::Day;

/// At most `max` attempts of an action per customer within `days` days (the list's day and the
/// `days - 1` before it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cap {
    pub max: u32,
    pub days: i32,
}

/// The contact rules' settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ContactRules {
    /// Days after a refusal's day the customer stays off every list.
    pub refused_days: i32,
    /// Days after a promised date the renewal stays off the list.
    pub promise_grace_days: i32,
    /// Frequency caps per action name.
    pub caps: BTreeMap<String, Cap>,
    /// The refusal reasons an outcome may give.
    pub refusal_reasons: Vec<String>,
    /// The actions a renewal whose servicing agent has left (or who has none) may get.
    pub orphan_actions: Vec<String>,
}

impl Default for ContactRules {
    fn default() -> Self {
        ContactRules {
            refused_days: 30,
            promise_grace_days: 3,
            caps: [("call", Cap { max: 1, days: 3 }), ("sms", Cap { max: 2, days: 7 }), ("visit", Cap { max: 1, days: 14 })]
                .into_iter()
                .map(|(a, c)| (a.to_string(), c))
                .collect(),
            refusal_reasons: DEFAULT_REFUSAL_REASONS.iter().map(|s| s.to_string()).collect(),
            orphan_actions: vec!["call".into(), "sms".into()],
        }
    }
}

impl ContactRules {
    /// Checks the settings (positive windows, at least one refusal reason).
    pub fn check(&self) -> Result<(), lapse_core::error::InvalidInput> {
        let fail = |m: String| Err(lapse_core::error::InvalidInput(format!("[contact_rules] {m}")));
        if self.refused_days < 0 || self.promise_grace_days < 0 {
            return fail("refused_days and promise_grace_days must be >= 0".into());
        }
        if let Some((action, cap)) = self.caps.iter().find(|(_, c)| c.days < 1) {
            return fail(format!("caps.{action}: days must be >= 1, not {}", cap.days));
        }
        if self.refusal_reasons.is_empty() {
            return fail("refusal_reasons: give at least one".into());
        }
        Ok(())
    }
}

/// A rule that kept a renewal (or one of its actions) off a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    DoNotContact,
    Refused,
    Promised,
    WrongNumber,
    FrequencyCap,
    /// The servicing agent has left (or there is none): the action is not one orphans get.
    Orphan,
    /// The customer is in the control arm of a campaign whose outcome window is open.
    Holdout,
}

impl Rule {
    pub const ALL: [Rule; 7] =
        [Rule::DoNotContact, Rule::Refused, Rule::Promised, Rule::WrongNumber, Rule::FrequencyCap, Rule::Orphan, Rule::Holdout];

    pub fn as_str(self) -> &'static str {
        match self {
            Rule::DoNotContact => "do_not_contact",
            Rule::Refused => "refused",
            Rule::Promised => "promised",
            Rule::WrongNumber => "wrong_number",
            Rule::FrequencyCap => "frequency_cap",
            Rule::Orphan => "orphan",
            Rule::Holdout => "holdout",
        }
    }
}

/// The outcomes the rules read, by customer (in time order).
#[derive(Debug, Clone, Default)]
pub struct OutcomeIndex {
    by_customer: HashMap<String, Vec<Outcome>>,
    len: usize,
    /// The customer of every outcome added, in the order added: a reader that compiled the
    /// rules at generation g recompiles `touched[g..]` only.
    touched: Vec<String>,
}

/// Why a customer's renewal may not be listed today (None: it may), and whether a promise on it
/// was broken (it returns with that reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RenewalVerdict {
    pub held: Option<Rule>,
    pub broken_promise: bool,
}

impl OutcomeIndex {
    pub fn new(outcomes: impl IntoIterator<Item = Outcome>) -> OutcomeIndex {
        let mut index = OutcomeIndex::default();
        for o in outcomes {
            index.add(o);
        }
        index
    }

    /// Adds an outcome (kept in time order within its customer; the same id twice is kept once).
    pub fn add(&mut self, outcome: Outcome) {
        let list = self.by_customer.entry(outcome.customer_id.clone()).or_default();
        if list.iter().any(|o| o.id == outcome.id) {
            return;
        }
        let at = list.partition_point(|o| (o.at_ms, &o.id) <= (outcome.at_ms, &outcome.id));
        self.touched.push(outcome.customer_id.clone());
        list.insert(at, outcome);
        self.len += 1;
    }

    /// How many outcomes were added (it grows with every one).
    pub fn generation(&self) -> usize {
        self.touched.len()
    }

    /// The customers of the outcomes added since `generation`.
    pub fn touched_since(&self, generation: usize) -> impl Iterator<Item = &str> {
        self.touched.get(generation..).unwrap_or(&[]).iter().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The customers with outcomes.
    pub fn customers(&self) -> impl Iterator<Item = &str> {
        self.by_customer.keys().map(String::as_str)
    }

    /// A customer's outcomes, oldest first.
    pub fn of_customer(&self, customer: &str) -> &[Outcome] {
        self.by_customer.get(customer).map_or(&[], Vec::as_slice)
    }

    /// The renewal-level verdict for `customer`'s renewal (`policy_id`, `installment_no`) on a
    /// list dated `date`: do-not-contact, a recent refusal, an open promise.
    pub fn renewal(&self, rules: &ContactRules, customer: &str, policy_id: &str, installment_no: u32, date: Day) -> RenewalVerdict {
        renewal_verdict(self.of_customer(customer), rules, policy_id, installment_no, date)
    }

    /// Whether `action` may be used on `customer` on `date`: a wrong number (no call or SMS)
    /// unless the extract shows a change of contact details after it (`contact_changed`), the
    /// action's frequency cap.
    pub fn action(&self, rules: &ContactRules, customer: &str, action: &str, date: Day, contact_changed: Option<Day>) -> Option<Rule> {
        action_verdict(self.of_customer(customer), rules, action, date, contact_changed)
    }
}

/// [`OutcomeIndex::renewal`] on one customer's outcomes (oldest first).
pub fn renewal_verdict(outcomes: &[Outcome], rules: &ContactRules, policy_id: &str, installment_no: u32, date: Day) -> RenewalVerdict {
    if outcomes.is_empty() {
        return RenewalVerdict::default();
    }
    let day = |o: &Outcome| o.day.min(date);
    // The latest permission change decides do-not-contact.
    let dnc = outcomes
        .iter()
        .rev()
        .find(|o| matches!(o.result, ContactResult::DoNotContact | ContactResult::ContactAllowed))
        .is_some_and(|o| o.result == ContactResult::DoNotContact);
    if dnc {
        return RenewalVerdict { held: Some(Rule::DoNotContact), broken_promise: false };
    }
    if outcomes.iter().any(|o| o.result == ContactResult::Refused && date - day(o) <= rules.refused_days) {
        return RenewalVerdict { held: Some(Rule::Refused), broken_promise: false };
    }
    let promise =
        outcomes.iter().rev().find(|o| o.result == ContactResult::Promised && o.policy_id == policy_id && o.installment_no == installment_no);
    match promise.and_then(|o| o.promised_date) {
        Some(promised) if date < promised + rules.promise_grace_days => RenewalVerdict { held: Some(Rule::Promised), broken_promise: false },
        Some(_) => RenewalVerdict { held: None, broken_promise: true },
        None => RenewalVerdict::default(),
    }
}

/// [`OutcomeIndex::action`] on one customer's outcomes (oldest first).
pub fn action_verdict(outcomes: &[Outcome], rules: &ContactRules, action: &str, date: Day, contact_changed: Option<Day>) -> Option<Rule> {
    if outcomes.is_empty() {
        return None;
    }
    if matches!(action, "call" | "sms") {
        // The latest of a wrong number and a permission decides, and a change of address or
        // phone in the extract after the wrong number (before the list's date) lifts it.
        let wrong = outcomes
            .iter()
            .rev()
            .find(|o| matches!(o.result, ContactResult::WrongNumber | ContactResult::ContactAllowed))
            .is_some_and(|o| o.result == ContactResult::WrongNumber && contact_changed.is_none_or(|c| c <= o.day.min(date)));
        if wrong {
            return Some(Rule::WrongNumber);
        }
    }
    if let Some(cap) = rules.caps.get(action) {
        let recent = outcomes.iter().filter(|o| o.result.is_attempt() && o.action == action && date - o.day.min(date) < cap.days).count();
        if recent as u64 >= u64::from(cap.max) {
            return Some(Rule::FrequencyCap);
        }
    }
    None
}

/// How many renewals each rule kept off a list (counted in an array while a list walks a
/// million renewals; read as a map by rule name).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HeldBack {
    renewals: [usize; Rule::ALL.len()],
    /// Customers other campaigns hold out (their renewals are counted under `holdout`).
    held_out_customers: usize,
}

impl HeldBack {
    /// Counts a customer held out by another campaign, with their `renewals`.
    pub fn held_out(&mut self, renewals: usize) {
        self.add_n(Rule::Holdout, renewals);
        self.held_out_customers += 1;
    }

    /// Customers other campaigns' holdouts kept off the list.
    pub fn held_out_customers(&self) -> usize {
        self.held_out_customers
    }

    pub fn add(&mut self, rule: Rule) {
        self.add_n(rule, 1);
    }

    /// Counts `n` renewals held by `rule`.
    pub fn add_n(&mut self, rule: Rule, n: usize) {
        self.renewals[rule as usize] += n;
    }

    /// The renewals `rule` held.
    pub fn get(&self, rule: Rule) -> usize {
        self.renewals[rule as usize]
    }

    pub fn total(&self) -> usize {
        self.renewals.iter().sum()
    }

    /// The rules that held any, by name.
    pub fn to_map(&self) -> BTreeMap<&'static str, usize> {
        Rule::ALL.iter().filter(|r| self.get(**r) > 0).map(|r| (r.as_str(), self.get(*r))).collect()
    }
}

impl Serialize for HeldBack {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_map().serialize(serializer)
    }
}
