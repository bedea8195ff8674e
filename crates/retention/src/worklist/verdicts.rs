//! The contact rules compiled for one order and one list date: what they say about each customer
//! with outcomes, worked out once from the outcomes (strings, dates) into a few small integers a
//! list reads per customer. A server keeps them between lists and recompiles only the customers
//! whose outcomes changed ([`RuleVerdicts::update`]): a list over a million renewals with
//! 100,000 recorded outcomes then costs what it costs without them, plus a lookup per customer
//! with outcomes.

use rustc_hash::FxHashMap;

use super::CustomerOrder;
use crate::contact::{ContactRules, OutcomeIndex, RenewalVerdict, Rule, action_verdict, renewal_verdict};
use crate::economics::Economics;
use lapse_core::dates::Day;
use lapse_model::scoring::ScoredRows;

/// What the rules say about one customer on the list's date.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Verdict {
    /// The rule holding every renewal of the customer (do-not-contact, a recent refusal).
    pub held: Option<Rule>,
    /// Per action (by index): the rule forbidding it (wrong number, frequency cap).
    pub actions: Vec<Option<Rule>>,
    /// The customer's renewals a promise holds back or marks broken: (row, verdict).
    pub promises: Vec<(u32, RenewalVerdict)>,
}

impl Verdict {
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
    pub(crate) by_position: FxHashMap<u32, Verdict>,
}

impl RuleVerdicts {
    /// The verdicts on every customer of `index` that `order` lists, on `date`.
    pub fn new(rules: &ContactRules, index: &OutcomeIndex, order: &CustomerOrder, rows: &ScoredRows, economics: &Economics, date: Day) -> Self {
        let mut verdicts = RuleVerdicts { date, by_position: FxHashMap::default() };
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
            let outcomes = index.of_customer(customer);
            if outcomes.is_empty() {
                self.by_position.remove(&(p as u32));
                continue;
            }
            let date = self.date;
            let actions = economics.actions.iter().map(|a| action_verdict(outcomes, rules, &a.name, date)).collect();
            let mut verdict = Verdict { held: None, actions, promises: Vec::new() };
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
            self.by_position.insert(p as u32, verdict);
        }
    }

    /// The list date the verdicts were compiled for.
    pub fn date(&self) -> Day {
        self.date
    }

    /// Customers with a verdict.
    pub fn len(&self) -> usize {
        self.by_position.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_position.is_empty()
    }
}
