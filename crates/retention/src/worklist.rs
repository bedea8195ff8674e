//! The work list: which scored renewals a team contacts, in what order, with which action.
//! The API's `GET /v1/queue` pages through it; a batch campaign file is the same list.

use std::ops::Range;

use crate::assign::{Capacity, GainMatrix, assign};
use crate::economics::Economics;
use crate::economics::NO_ACTION;
use lapse_model::scoring::ScoredRows;

/// Which renewals a work list considers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filters {
    pub channel: Option<String>,
    pub region: Option<String>,
    pub agent_id: Option<String>,
    /// Product code or product type.
    pub product: Option<String>,
    /// At least this value at risk.
    pub min_value: Option<f64>,
    /// Due at most this many days after the snapshot date (overdue ones count as due).
    pub due_within_days: Option<i32>,
    /// true: only past-due renewals; false: only not-yet-due ones.
    pub overdue: Option<bool>,
    /// Also renewals where no action pays (only with a total capacity: an assignment never
    /// gives an action at a loss).
    pub include_no_action: bool,
}

impl Filters {
    /// The filters as canonical text (`channel=agent;overdue=true`), empty for none: two
    /// requests with the same filters give the same text.
    pub fn canonical(&self) -> String {
        let mut parts = Vec::new();
        let mut text = |name: &str, value: &Option<String>| {
            if let Some(v) = value {
                parts.push(format!("{name}={v}"));
            }
        };
        text("channel", &self.channel);
        text("region", &self.region);
        text("agent_id", &self.agent_id);
        text("product", &self.product);
        if let Some(v) = self.min_value {
            parts.push(format!("min_value={v}"));
        }
        if let Some(d) = self.due_within_days {
            parts.push(format!("due_within_days={d}"));
        }
        if let Some(o) = self.overdue {
            parts.push(format!("overdue={o}"));
        }
        if self.include_no_action {
            parts.push("include_no_action=true".into());
        }
        parts.join(";")
    }
}

/// The order of every work list: by expected gain of the best action, largest first; ties by
/// probability, then policy id and installment, so the order is total and stable across
/// reloads.
pub fn work_order(rows: &ScoredRows) -> Vec<u32> {
    order_by(rows, |r| rows.renewals[r].gain)
}

/// The rows in order of `gain` (largest first), with [`work_order`]'s ties.
fn order_by(rows: &ScoredRows, gain: impl Fn(usize) -> f64 + Sync) -> Vec<u32> {
    use rayon::prelude::*;
    let mut order: Vec<u32> = (0..rows.len() as u32).collect();
    order.par_sort_unstable_by(|&a, &b| {
        let (a, b) = (a as usize, b as usize);
        let (x, y) = (&rows.renewals[a], &rows.renewals[b]);
        gain(b)
            .total_cmp(&gain(a))
            .then(y.probability.total_cmp(&x.probability))
            .then(rows.policy_id[a].cmp(&rows.policy_id[b]))
            .then(x.installment_no.cmp(&y.installment_no))
    });
    order
}

/// Expected gains of every (row, action) from a source other than the economics' save rates
/// (a registered uplift learner), with each row's best action under them and the work-list
/// order they give.
#[derive(Debug, Clone, PartialEq)]
pub struct RankedGains {
    /// `uplift:<learner>@<campaign>`: recorded with a campaign ranked by it.
    pub name: String,
    /// Row-major: `gains[r * actions + a]`.
    pub gains: Vec<f64>,
    pub actions: usize,
    /// Each row's best action and its gain ([`NO_ACTION`], 0 when no gain is positive).
    pub best: Vec<(u8, f64)>,
    /// The rows by best gain, largest first ([`work_order`]'s ties).
    pub order: Vec<u32>,
}

impl RankedGains {
    /// The ranking of `rows` by `gains` (row-major over `actions` actions).
    pub fn new(name: String, gains: Vec<f64>, actions: usize, rows: &ScoredRows) -> RankedGains {
        assert_eq!(gains.len(), rows.len() * actions, "one gain per row and action");
        let best: Vec<(u8, f64)> = (0..rows.len())
            .map(|r| {
                (0..actions).map(|a| (a, gains[r * actions + a])).fold((NO_ACTION, 0.0), |best, (a, g)| if g > best.1 { (a as u8, g) } else { best })
            })
            .collect();
        let order = order_by(rows, |r| best[r].1);
        RankedGains { name, gains, actions, best, order }
    }
}

/// What a work list is ranked by.
#[derive(Debug, Clone, Copy)]
pub enum Ranking<'a> {
    /// The economics' expected gains: each row's own best action, in `order` ([`work_order`]).
    Risk { order: &'a [u32] },
    /// Gains from another source ([`RankedGains`]).
    Gains(&'a RankedGains),
}

impl Ranking<'_> {
    /// The name a campaign records: `risk` or the gains' name.
    pub fn name(&self) -> &str {
        match self {
            Ranking::Risk { .. } => "risk",
            Ranking::Gains(g) => &g.name,
        }
    }
}

/// One renewal on a work list: its row, its rank (1 = first), the action given and its
/// expected gain.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Listed {
    pub row: usize,
    pub rank: u32,
    pub action: u8,
    pub gain: f64,
}

/// A page of a work list.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkList {
    /// Renewals matching the filters (before the capacity).
    pub matching: usize,
    /// Renewals on the list.
    pub listed: usize,
    /// The requested ranks of the list (0-based positions), in rank order.
    pub page: Vec<Listed>,
}

/// The work list of `rows` ranked by `ranking` under `filters` and `capacity`, and the
/// positions `page` of it. One number: the top renewals with their best action. Per action:
/// the assignment of largest total gain within every capacity ([`assign`]), ranked by the gain
/// of the action given (ties in the ranking's order).
pub fn select(
    rows: &ScoredRows,
    ranking: Ranking<'_>,
    filters: &Filters,
    capacity: &Capacity,
    economics: &Economics,
    page: Range<usize>,
) -> WorkList {
    let k = economics.actions.len();
    match ranking {
        Ranking::Risk { order } => {
            let gain = |r: usize, a: usize| {
                let x = &rows.renewals[r];
                economics.gain(&economics.actions[a], x.probability, x.value)
            };
            select_with(rows, order, filters, capacity, k, gain, |r| (rows.renewals[r].action, rows.renewals[r].gain), page)
        }
        Ranking::Gains(g) => {
            assert_eq!(g.actions, k, "gains for the economics' actions");
            select_with(rows, &g.order, filters, capacity, k, |r, a| g.gains[r * k + a], |r| g.best[r], page)
        }
    }
}

/// [`select`] over `order` with the expected gain of each (row, action) given by `gain` and
/// each row's best action and gain by `best` (used with a total capacity).
fn select_with(
    rows: &ScoredRows,
    order: &[u32],
    filters: &Filters,
    capacity: &Capacity,
    actions: usize,
    gain: impl Fn(usize, usize) -> f64,
    best: impl Fn(usize) -> (u8, f64),
    page: Range<usize>,
) -> WorkList {
    // Filters on interned columns compare codes; a value never seen matches nothing.
    let code = |text: &Option<String>| text.as_ref().map(|t| rows.strings.find(t));
    let (channel, region, agent, product) = (code(&filters.channel), code(&filters.region), code(&filters.agent_id), code(&filters.product));
    let matches = |r: usize| -> bool {
        let x = &rows.renewals[r];
        (filters.include_no_action || best(r).0 != NO_ACTION)
            && channel.is_none_or(|c| c == Some(x.channel))
            && region.is_none_or(|c| c == Some(x.region))
            && agent.is_none_or(|c| c == Some(x.agent))
            && product.is_none_or(|c| c == Some(x.product_code) || c == Some(x.product_type))
            && filters.min_value.is_none_or(|v| x.value >= v)
            && filters.due_within_days.is_none_or(|d| x.due - x.as_of <= d)
            && filters.overdue.is_none_or(|o| (x.due < x.as_of) == o)
    };
    match capacity {
        Capacity::Total(capacity) => {
            let mut matching = 0usize;
            let mut listed = Vec::new();
            for &r in order {
                let r = r as usize;
                if !matches(r) {
                    continue;
                }
                matching += 1;
                let position = matching - 1;
                if position < *capacity && page.contains(&position) {
                    let (action, gain) = best(r);
                    listed.push(Listed { row: r, rank: matching as u32, action, gain });
                }
            }
            WorkList { matching, listed: matching.min(*capacity), page: listed }
        }
        Capacity::PerAction(capacities) => {
            let candidates: Vec<usize> = order.iter().map(|&r| r as usize).filter(|&r| matches(r)).collect();
            let k = actions;
            let gains: Vec<f64> = candidates.iter().flat_map(|&r| (0..k).map(move |a| (r, a))).map(|(r, a)| gain(r, a)).collect();
            let chosen = assign(GainMatrix { values: &gains, actions: k }, capacities);
            let mut list: Vec<Listed> = chosen
                .iter()
                .enumerate()
                .filter(|(_, a)| **a != NO_ACTION)
                .map(|(i, &a)| Listed { row: candidates[i], rank: 0, action: a, gain: gains[i * k + usize::from(a)] })
                .collect();
            // Stable: equal gains keep the work list's order.
            list.sort_by(|x, y| y.gain.total_cmp(&x.gain));
            let listed = list.len();
            let page: Vec<Listed> =
                list.into_iter().enumerate().filter(|(i, _)| page.contains(i)).map(|(i, item)| Listed { rank: (i + 1) as u32, ..item }).collect();
            WorkList { matching: candidates.len(), listed, page }
        }
    }
}
