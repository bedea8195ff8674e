//! The order every work list walks: renewals grouped by customer (a list contacts people, not
//! renewals), customers ranked by the expected gain of their best contact, laid out once per
//! load in list order so that a request reads memory front to back.
//!
//! A contact with action `a` covers the customer's renewals `a` may serve; its expected gain is
//! the sum of their benefits (lapse probability x save rate x value, or an uplift learner's
//! uplift x value) less the action's cost, paid once. Leaving renewals out (a filter, a contact
//! rule, the orphan rule) never raises a contact's gain, so the gain with every renewal is an
//! upper bound: a list walks customers in that order and a customer whose contact came out
//! smaller waits until its gain is reached (see [`super::select`]).

use rustc_hash::FxHashMap;

use crate::economics::{Economics, NO_ACTION};
use lapse_model::scoring::{NONE, ScoredRows};

/// What a list reads of one renewal while it walks, in list order (the filters' fields and the
/// renewal's row): one sequential read instead of a random one into the scored rows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    pub row: u32,
    pub channel: u32,
    pub region: u32,
    pub agent: u32,
    pub product_code: u32,
    pub product_type: u32,
    /// Due date minus the snapshot date (negative: overdue).
    pub due_in: i32,
    pub value: f64,
    pub orphan: bool,
}

/// The benefit of each (renewal, action): what the action is expected to save before its cost.
pub enum Benefits<'a> {
    /// The economics' save rates: p x s_a x V.
    Risk,
    /// Expected gains from another source (a registered uplift learner), row-major over the
    /// economics' actions (`gains[r * actions + a]`, cost included): the benefit is the gain
    /// plus the cost, never below 0 (an agent need not raise a renewal a contact would harm).
    Gains { name: String, gains: &'a [f64] },
}

/// The customers of a scored snapshot in work-list order, with their renewals.
#[derive(Debug, Clone)]
pub struct CustomerOrder {
    name: String,
    actions: usize,
    /// Each action's cost, by index.
    costs: Vec<f64>,
    /// Customer `p` (a position in the order) holds `entries[starts[p]..starts[p + 1]]`.
    starts: Vec<u32>,
    pub(crate) entries: Vec<Entry>,
    /// Per entry and action (`benefits[e * actions + a]`).
    benefits: Vec<f64>,
    /// Per position: the interned customer id ([`NONE`]: a renewal without one is its own
    /// contact).
    customer: Vec<u32>,
    /// Per position: the best contact with every renewal (no rule applied) and its gain.
    best: Vec<(u8, f64)>,
    /// Per position: one of its renewals has no servicing agent in service.
    has_orphan: Vec<bool>,
    /// Interned customer id -> position.
    position_of: FxHashMap<u32, u32>,
}

impl CustomerOrder {
    /// The order of `rows` under `benefits` (the economics give the actions and costs).
    pub fn new(rows: &ScoredRows, economics: &Economics, benefits: Benefits<'_>) -> CustomerOrder {
        use rayon::prelude::*;
        let k = economics.actions.len();
        let costs: Vec<f64> = economics.actions.iter().map(|a| a.cost).collect();
        let benefit_of = |r: usize, a: usize| -> f64 {
            match &benefits {
                Benefits::Risk => {
                    let x = &rows.renewals[r];
                    economics.benefit(&economics.actions[a], x.probability, x.value)
                }
                Benefits::Gains { gains, .. } => (gains[r * k + a] + costs[a]).max(0.0),
            }
        };
        let name = match &benefits {
            Benefits::Risk => "risk".to_string(),
            Benefits::Gains { name, gains } => {
                assert_eq!(gains.len(), rows.len() * k, "one gain per row and action");
                name.clone()
            }
        };
        // Each renewal's own best gain orders it within its customer.
        let own: Vec<f64> = (0..rows.len()).into_par_iter().map(|r| (0..k).map(|a| benefit_of(r, a) - costs[a]).fold(0.0, f64::max)).collect();
        let key = |r: usize| -> (u32, u32) {
            let c = rows.renewals[r].customer;
            if c == NONE { (NONE, r as u32) } else { (c, 0) }
        };
        let mut by_customer: Vec<u32> = (0..rows.len() as u32).collect();
        by_customer.par_sort_unstable_by(|&a, &b| {
            let (a, b) = (a as usize, b as usize);
            key(a).cmp(&key(b)).then_with(|| renewal_order(rows, a, b, own[a], own[b]))
        });
        // The groups and each one's best contact with every renewal.
        let mut groups: Vec<(u32, u32)> = Vec::new();
        let mut start = 0;
        while start < by_customer.len() {
            let k0 = key(by_customer[start] as usize);
            let mut end = start + 1;
            while end < by_customer.len() && key(by_customer[end] as usize) == k0 {
                end += 1;
            }
            groups.push((start as u32, end as u32));
            start = end;
        }
        let best_of = |(s, e): (u32, u32)| -> (u8, f64) {
            let members = &by_customer[s as usize..e as usize];
            (0..k)
                .map(|a| (a, members.iter().map(|&r| benefit_of(r as usize, a)).sum::<f64>() - costs[a]))
                .fold((NO_ACTION, 0.0), |best, (a, g)| if g > best.1 { (a as u8, g) } else { best })
        };
        let group_best: Vec<(u8, f64)> = groups.par_iter().map(|&g| best_of(g)).collect();
        // Customers by best gain; ties by their first renewal's probability, policy, installment.
        let mut positions: Vec<u32> = (0..groups.len() as u32).collect();
        positions.par_sort_unstable_by(|&x, &y| {
            let (x, y) = (x as usize, y as usize);
            let (a, b) = (by_customer[groups[x].0 as usize] as usize, by_customer[groups[y].0 as usize] as usize);
            group_best[y].1.total_cmp(&group_best[x].1).then_with(|| renewal_order(rows, a, b, 0.0, 0.0))
        });
        let mut starts = Vec::with_capacity(groups.len() + 1);
        let mut entries = Vec::with_capacity(rows.len());
        let mut benefit_table = Vec::with_capacity(rows.len() * k);
        let mut customer = Vec::with_capacity(groups.len());
        let mut best = Vec::with_capacity(groups.len());
        let mut has_orphan = Vec::with_capacity(groups.len());
        let mut position_of = FxHashMap::default();
        starts.push(0u32);
        for (p, &g) in positions.iter().enumerate() {
            let (s, e) = groups[g as usize];
            let mut orphan = false;
            for &r in &by_customer[s as usize..e as usize] {
                let x = &rows.renewals[r as usize];
                entries.push(Entry {
                    row: r,
                    channel: x.channel,
                    region: x.region,
                    agent: x.agent,
                    product_code: x.product_code,
                    product_type: x.product_type,
                    due_in: x.due - x.as_of,
                    value: x.value,
                    orphan: x.orphan,
                });
                orphan |= x.orphan;
                benefit_table.extend((0..k).map(|a| benefit_of(r as usize, a)));
            }
            starts.push(entries.len() as u32);
            let c = rows.renewals[by_customer[s as usize] as usize].customer;
            customer.push(c);
            if c != NONE {
                position_of.insert(c, p as u32);
            }
            best.push(group_best[g as usize]);
            has_orphan.push(orphan);
        }
        CustomerOrder { name, actions: k, costs, starts, entries, benefits: benefit_table, customer, best, has_orphan, position_of }
    }

    /// The order by the economics' expected gains.
    pub fn by_risk(rows: &ScoredRows, economics: &Economics) -> CustomerOrder {
        CustomerOrder::new(rows, economics, Benefits::Risk)
    }

    /// `risk`, or the gains' name (`uplift:<learner>@<campaign>`): recorded with a campaign.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Customers (positions).
    pub fn len(&self) -> usize {
        self.customer.len()
    }

    pub fn is_empty(&self) -> bool {
        self.customer.is_empty()
    }

    pub fn actions(&self) -> usize {
        self.actions
    }

    pub fn cost(&self, a: usize) -> f64 {
        self.costs[a]
    }

    /// The entry indices of position `p`.
    pub(crate) fn span(&self, p: usize) -> std::ops::Range<usize> {
        self.starts[p] as usize..self.starts[p + 1] as usize
    }

    /// Entry `e`'s benefit under action `a`.
    pub(crate) fn benefit(&self, e: usize, a: usize) -> f64 {
        self.benefits[e * self.actions + a]
    }

    /// The interned customer id at position `p` ([`NONE`] for a renewal without one).
    pub fn customer(&self, p: usize) -> u32 {
        self.customer[p]
    }

    /// The best contact at `p` with every renewal, before any rule.
    pub(crate) fn best(&self, p: usize) -> (u8, f64) {
        self.best[p]
    }

    pub(crate) fn has_orphan(&self, p: usize) -> bool {
        self.has_orphan[p]
    }

    /// The position of an interned customer id.
    pub fn position_of(&self, customer: u32) -> Option<usize> {
        self.position_of.get(&customer).map(|&p| p as usize)
    }

    /// The rows of every renewal in list order (customers in order, each one's renewals by
    /// their own gain).
    pub fn rows(&self) -> impl Iterator<Item = usize> + '_ {
        self.entries.iter().map(|e| e.row as usize)
    }
}

/// Renewals by gain (largest first), then probability, policy id and installment: a total,
/// stable order.
fn renewal_order(rows: &ScoredRows, a: usize, b: usize, gain_a: f64, gain_b: f64) -> std::cmp::Ordering {
    let (x, y) = (&rows.renewals[a], &rows.renewals[b]);
    gain_b
        .total_cmp(&gain_a)
        .then(y.probability.total_cmp(&x.probability))
        .then(rows.policy_id[a].cmp(&rows.policy_id[b]))
        .then(x.installment_no.cmp(&y.installment_no))
}
