//! The work list: which scored renewals a team contacts, in what order, with which action.
//! The API's `GET /v1/queue` pages through it; a batch campaign file is the same list.

use std::ops::Range;

use super::assign::{Capacity, Gains, UNASSIGNED, assign};
use super::economics::Economics;
use super::rows::ScoredRows;

/// Which renewals a work list considers.
#[derive(Debug, Clone, Default)]
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
    use rayon::prelude::*;
    let mut order: Vec<u32> = (0..rows.len() as u32).collect();
    order.par_sort_unstable_by(|&a, &b| {
        let (a, b) = (a as usize, b as usize);
        let (x, y) = (&rows.renewals[a], &rows.renewals[b]);
        y.gain
            .total_cmp(&x.gain)
            .then(y.probability.total_cmp(&x.probability))
            .then(rows.policy_id[a].cmp(&rows.policy_id[b]))
            .then(x.installment_no.cmp(&y.installment_no))
    });
    order
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

/// The work list of `rows` (in `order`, from [`work_order`]) under `filters` and `capacity`,
/// and the positions `page` of it. One number: the top renewals with their best action. Per
/// action: the assignment of largest total gain within every capacity ([`assign`]), ranked by
/// the gain of the action given (ties in `order`).
pub fn select(rows: &ScoredRows, order: &[u32], filters: &Filters, capacity: &Capacity, economics: &Economics, page: Range<usize>) -> WorkList {
    let gain = |r: usize, a: usize| {
        let x = &rows.renewals[r];
        economics.gain(&economics.actions[a], x.probability, x.value)
    };
    select_with(rows, order, filters, capacity, economics.actions.len(), gain, page)
}

/// [`select`] with the expected gain of each (row, action) given by `gain` (a ranking by
/// measured effect instead of the economics' save rates). With a total capacity the rows'
/// own best action and gain are used: set them from the same gains.
pub fn select_with(
    rows: &ScoredRows,
    order: &[u32],
    filters: &Filters,
    capacity: &Capacity,
    actions: usize,
    gain: impl Fn(usize, usize) -> f64,
    page: Range<usize>,
) -> WorkList {
    // Filters on interned columns compare codes; a value never seen matches nothing.
    let code = |text: &Option<String>| text.as_ref().map(|t| rows.strings.find(t));
    let (channel, region, agent, product) = (code(&filters.channel), code(&filters.region), code(&filters.agent_id), code(&filters.product));
    let matches = |r: usize| -> bool {
        let x = &rows.renewals[r];
        (filters.include_no_action || rows.has_action(r))
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
                    let x = &rows.renewals[r];
                    listed.push(Listed { row: r, rank: matching as u32, action: x.action, gain: x.gain });
                }
            }
            WorkList { matching, listed: matching.min(*capacity), page: listed }
        }
        Capacity::PerAction(capacities) => {
            let candidates: Vec<usize> = order.iter().map(|&r| r as usize).filter(|&r| matches(r)).collect();
            let k = actions;
            let gains: Vec<f64> = candidates.iter().flat_map(|&r| (0..k).map(move |a| (r, a))).map(|(r, a)| gain(r, a)).collect();
            let chosen = assign(Gains { values: &gains, actions: k }, capacities);
            let mut list: Vec<Listed> = chosen
                .iter()
                .enumerate()
                .filter(|(_, a)| **a != UNASSIGNED)
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
