//! The contact rules compiled for one order and one list date: what they say about each customer
//! with outcomes, worked out once from the outcomes (strings, dates) into a few small integers a
//! list reads per customer. A server keeps them between lists and recompiles only the customers
//! whose outcomes changed ([`RuleVerdicts::update`]): a list over a million renewals with
//! 100,000 recorded outcomes then costs what it costs without them, plus a lookup per customer
//! with outcomes.

use super::CustomerOrder;
use crate::contact::{ContactRules, OutcomeIndex, RenewalVerdict, Rule, action_verdict, renewal_verdict};
use crate::economics::Economics;
use lapse_core::dates::Day;
use lapse_model::scoring::{NONE, ScoredRows};

/// What the rules say about one customer on the list's date.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Verdict {
    /// The rule holding every renewal of the customer (do-not-contact, a recent refusal).
    pub held: Option<Rule>,
    /// Per action (by index, 4 bits each, at most 16 actions): the rule forbidding it (wrong
    /// number, frequency cap) as its position in [`Rule::ALL`] + 1, 0 for none. Packed: a list
    /// reads it for every action of every customer with outcomes.
    pub forbidden: u64,
    /// The customer's renewals a promise holds back or marks broken: (row, verdict).
    pub promises: Vec<(u32, RenewalVerdict)>,
}

impl Verdict {
    /// The rule forbidding action `a`.
    pub fn action(&self, a: usize) -> Option<Rule> {
        let code = (self.forbidden >> (4 * a)) & 0xF;
        (a < 16 && code > 0).then(|| Rule::ALL[code as usize - 1])
    }

    /// The verdict on row `r` of this customer.
    pub fn renewal(&self, r: usize) -> RenewalVerdict {
        if let Some(rule) = self.held {
            return RenewalVerdict { held: Some(rule), broken_promise: false };
        }
        self.promises.iter().find(|(row, _)| *row as usize == r).map_or_else(RenewalVerdict::default, |(_, v)| *v)
    }
}

/// The rules' verdicts on every customer with outcomes, by position in one order.
#[derive(Debug, Clone, Default)]
pub struct RuleVerdicts {
    date: Day,
    /// Per position: its verdict's index in `verdicts`, [`NONE`] for none (a list walks the
    /// positions in order: this array is read front to back).
    slot: Vec<u32>,
    verdicts: Vec<Verdict>,
    len: usize,
}

impl RuleVerdicts {
    /// The verdicts on every customer of `index` that `order` lists, on `date`.
    pub fn new(rules: &ContactRules, index: &OutcomeIndex, order: &CustomerOrder, rows: &ScoredRows, economics: &Economics, date: Day) -> Self {
        let mut verdicts = RuleVerdicts { date, slot: vec![NONE; order.len()], verdicts: Vec::new(), len: 0 };
        verdicts.update(rules, index, index.customers(), order, rows, economics);
        verdicts
    }

    /// Recompiles the verdicts on `customers` (those whose outcomes changed).
    pub fn update<'c>(
        &mut self,
        rules: &ContactRules,
        index: &OutcomeIndex,
        customers: impl IntoIterator<Item = &'c str>,
        order: &CustomerOrder,
        rows: &ScoredRows,
        economics: &Economics,
    ) {
        for customer in customers {
            let Some(p) = rows.strings.find(customer).and_then(|code| order.position_of(code)) else { continue };
            if self.slot.len() < order.len() {
                self.slot.resize(order.len(), NONE);
            }
            let outcomes = index.of_customer(customer);
            if outcomes.is_empty() {
                if self.slot[p] != NONE {
                    self.slot[p] = NONE;
                    self.len -= 1;
                }
                continue;
            }
            let date = self.date;
            // The customer's last change of contact details the snapshot knows (any renewal).
            let contact_changed = order
                .span(p)
                .map(|e| rows.renewals[order.entries[e].row as usize].contact_changed)
                .max()
                .filter(|&d| d != lapse_model::scoring::NO_CONTACT_CHANGE);
            let mut forbidden = 0u64;
            for (a, action) in economics.actions.iter().enumerate().take(16) {
                if let Some(rule) = action_verdict(outcomes, rules, &action.name, date, contact_changed) {
                    let code = Rule::ALL.iter().position(|r| *r == rule).map_or(0, |i| i as u64 + 1);
                    forbidden |= code << (4 * a);
                }
            }
            let mut verdict = Verdict { held: None, forbidden, promises: Vec::new() };
            for e in order.span(p) {
                let r = order.entries[e].row as usize;
                let v = renewal_verdict(outcomes, rules, &rows.policy_id[r], rows.renewals[r].installment_no, date);
                match v.held {
                    Some(rule @ (Rule::DoNotContact | Rule::Refused)) => {
                        verdict.held = Some(rule);
                        break;
                    }
                    _ if v != RenewalVerdict::default() => verdict.promises.push((r as u32, v)),
                    _ => {}
                }
            }
            match self.slot[p] {
                NONE => {
                    self.slot[p] = self.verdicts.len() as u32;
                    self.verdicts.push(verdict);
                    self.len += 1;
                }
                i => self.verdicts[i as usize] = verdict,
            }
        }
        self.lay_out();
    }

    /// Puts the verdicts in position order (dropping removed ones), so a list, which walks the
    /// positions in order, reads them front to back.
    fn lay_out(&mut self) {
        let mut verdicts = Vec::with_capacity(self.len);
        let mut old = std::mem::take(&mut self.verdicts);
        for slot in self.slot.iter_mut().filter(|s| **s != NONE) {
            verdicts.push(std::mem::take(&mut old[*slot as usize]));
            *slot = (verdicts.len() - 1) as u32;
        }
        self.verdicts = verdicts;
    }

    /// The verdict at position `p`.
    pub(crate) fn at(&self, p: usize) -> Option<&Verdict> {
        match self.slot.get(p) {
            Some(&i) if i != NONE => Some(&self.verdicts[i as usize]),
            _ => None,
        }
    }

    /// The positions with a verdict.
    pub(crate) fn positions(&self) -> impl Iterator<Item = usize> + '_ {
        self.slot.iter().enumerate().filter(|(_, i)| **i != NONE).map(|(p, _)| p)
    }

    /// The list date the verdicts were compiled for.
    pub fn date(&self) -> Day {
        self.date
    }

    /// Customers with a verdict.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}
