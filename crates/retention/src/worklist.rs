//! The work list: which scored renewals a team contacts, in what order, with which action.
//! The API's `GET /v1/queue` pages through it; a batch campaign file is the same list.

use std::ops::Range;

use crate::assign::{Capacity, GainMatrix, assign};
use crate::contact::{ContactRules, HeldBack, OutcomeIndex, RenewalVerdict, Rule, action_verdict, renewal_verdict};
use crate::economics::Economics;
use crate::economics::NO_ACTION;
use crate::outcomes::Outcome;
use lapse_core::dates::Day;
use lapse_model::scoring::ScoredRows;
use rustc_hash::FxHashMap;
use std::collections::BinaryHeap;

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
/// expected gain, and whether a promise to pay on it was broken (the contact rules' reason).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Listed {
    pub row: usize,
    pub rank: u32,
    pub action: u8,
    pub gain: f64,
    pub broken_promise: bool,
}

/// A page of a work list.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkList {
    /// Renewals matching the filters and not held back by a contact rule (before the capacity).
    pub matching: usize,
    /// Renewals on the list.
    pub listed: usize,
    /// The requested ranks of the list (0-based positions), in rank order.
    pub page: Vec<Listed>,
    /// Renewals matching the filters that a contact rule kept off the list, per rule.
    pub held: HeldBack,
}

/// The contact rules as a list applies them: the rules, each customer's outcomes by the rows'
/// code for the customer (looked up once a list: a row costs one integer lookup, and none when
/// no customer has outcomes), the list's date, and which actions orphans may get.
pub struct Contacts<'a> {
    rules: &'a ContactRules,
    date: Day,
    /// Row string code of a customer -> its outcomes, oldest first.
    by_code: FxHashMap<u32, &'a [Outcome]>,
    /// One bit per row: its customer has outcomes (built in one sequential pass, so a list's
    /// random walk over the rows reads a bitset that stays in cache instead of each row's
    /// customer).
    flagged: Vec<u64>,
    /// Per action (by index): its name, and whether an orphan renewal may get it.
    actions: Vec<(&'a str, bool)>,
}

impl<'a> Contacts<'a> {
    /// The rules over `index` (None: no store, only the orphan rule applies) for a list of
    /// `rows` dated `date`.
    pub fn new(rules: &'a ContactRules, index: Option<&'a OutcomeIndex>, rows: &ScoredRows, economics: &'a Economics, date: Day) -> Contacts<'a> {
        let by_code = index
            .into_iter()
            .flat_map(|index| index.customers().map(move |c| (c, index.of_customer(c))))
            .filter_map(|(c, outcomes)| rows.strings.find(c).map(|code| (code, outcomes)))
            .collect();
        let actions = economics.actions.iter().map(|a| (a.name.as_str(), rules.orphan_actions.contains(&a.name))).collect();
        let by_code: FxHashMap<u32, &'a [Outcome]> = by_code;
        let mut flagged = Vec::new();
        if !by_code.is_empty() {
            flagged = vec![0u64; rows.len().div_ceil(64)];
            for (r, x) in rows.renewals.iter().enumerate() {
                if by_code.contains_key(&x.customer) {
                    flagged[r / 64] |= 1 << (r % 64);
                }
            }
        }
        Contacts { rules, date, by_code, flagged, actions }
    }

    /// Row `r`'s customer's outcomes (empty for most rows).
    fn outcomes(&self, rows: &ScoredRows, r: usize) -> &'a [Outcome] {
        if self.flagged.get(r / 64).is_none_or(|w| w & (1 << (r % 64)) == 0) {
            return &[];
        }
        self.by_code.get(&rows.renewals[r].customer).copied().unwrap_or(&[])
    }

    /// The renewal-level verdict on row `r`.
    fn renewal(&self, rows: &ScoredRows, r: usize) -> RenewalVerdict {
        let outcomes = self.outcomes(rows, r);
        if outcomes.is_empty() {
            return RenewalVerdict::default();
        }
        renewal_verdict(outcomes, self.rules, &rows.policy_id[r], rows.renewals[r].installment_no, self.date)
    }

    /// Whether no rule can touch row `r` with its best action `action` (no outcomes for its
    /// customer; the action is one orphans may get, or the row is not an orphan).
    fn untouched(&self, rows: &ScoredRows, r: usize, action: u8) -> bool {
        let flagged = self.flagged.get(r / 64).is_some_and(|w| w & (1 << (r % 64)) != 0);
        !flagged && (action == NO_ACTION || self.actions[usize::from(action)].1 || !rows.renewals[r].orphan)
    }

    /// Why action `a` may not be used on row `r` (None: it may).
    fn action(&self, rows: &ScoredRows, r: usize, a: usize) -> Option<Rule> {
        let (name, orphan_ok) = self.actions[a];
        // The orphan flag is read only for an action orphans may not get.
        if !orphan_ok && rows.renewals[r].orphan {
            return Some(Rule::Orphan);
        }
        let outcomes = self.outcomes(rows, r);
        if outcomes.is_empty() {
            return None;
        }
        action_verdict(outcomes, self.rules, name, self.date)
    }
}

/// The work list of `rows` ranked by `ranking` under `filters` and `capacity`, and the
/// positions `page` of it, the contact rules applied when `contacts` is given (a held renewal is
/// left out; a held action is not given, the renewal gets its best allowed one). One number:
/// the top renewals with their best action. Per action: the assignment of largest total gain
/// within every capacity ([`assign`]), ranked by the gain of the action given (ties in the
/// ranking's order).
pub fn select(
    rows: &ScoredRows,
    ranking: Ranking<'_>,
    filters: &Filters,
    capacity: &Capacity,
    economics: &Economics,
    contacts: Option<&Contacts<'_>>,
    page: Range<usize>,
) -> WorkList {
    let k = economics.actions.len();
    match ranking {
        Ranking::Risk { order } => {
            let gain = |r: usize, a: usize| {
                let x = &rows.renewals[r];
                economics.gain(&economics.actions[a], x.probability, x.value)
            };
            let best = |r: usize| (rows.renewals[r].action, rows.renewals[r].gain);
            select_with(rows, order, filters, capacity, k, gain, best, |r| rows.renewals[r].action, contacts, page)
        }
        Ranking::Gains(g) => {
            assert_eq!(g.actions, k, "gains for the economics' actions");
            select_with(rows, &g.order, filters, capacity, k, |r, a| g.gains[r * k + a], |r| g.best[r], |r| g.best[r].0, contacts, page)
        }
    }
}

/// A renewal waiting for its place in a list (it was given a lesser action): largest gain
/// first, then earliest in the order.
struct Waiting {
    gain: f64,
    seq: usize,
    row: usize,
    action: u8,
    broken_promise: bool,
}

impl PartialEq for Waiting {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}

impl Eq for Waiting {}

impl PartialOrd for Waiting {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Waiting {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.gain.total_cmp(&other.gain).then_with(|| other.seq.cmp(&self.seq))
    }
}

/// A gain no assignment takes (an action a contact rule forbids): far below any real loss, and
/// finite (the assignment subtracts gains).
const FORBIDDEN: f64 = -1e15;

/// [`select`] over `order` with the expected gain of each (row, action) given by `gain` and
/// each row's best action and gain by `best`.
#[allow(clippy::too_many_arguments)]
fn select_with(
    rows: &ScoredRows,
    order: &[u32],
    filters: &Filters,
    capacity: &Capacity,
    actions: usize,
    gain: impl Fn(usize, usize) -> f64,
    best: impl Fn(usize) -> (u8, f64),
    best_action: impl Fn(usize) -> u8,
    contacts: Option<&Contacts<'_>>,
    page: Range<usize>,
) -> WorkList {
    // Filters on interned columns compare codes; a value never seen matches nothing.
    let code = |text: &Option<String>| text.as_ref().map(|t| rows.strings.find(t));
    let (channel, region, agent, product) = (code(&filters.channel), code(&filters.region), code(&filters.agent_id), code(&filters.product));
    let filtered = |r: usize| -> bool {
        let x = &rows.renewals[r];
        channel.is_none_or(|c| c == Some(x.channel))
            && region.is_none_or(|c| c == Some(x.region))
            && agent.is_none_or(|c| c == Some(x.agent))
            && product.is_none_or(|c| c == Some(x.product_code) || c == Some(x.product_type))
            && filters.min_value.is_none_or(|v| x.value >= v)
            && filters.due_within_days.is_none_or(|d| x.due - x.as_of <= d)
            && filters.overdue.is_none_or(|o| (x.due < x.as_of) == o)
    };
    let mut held = HeldBack::default();
    // The contact rules on one row: its verdict, and its best allowed action (None: every
    // action that pays is forbidden, by the returned rule).
    // Only the action is read here: a row's gain is another cache line, loaded when the row
    // is shown (a list walks a million rows at random; most are only counted).
    let allowed_best = |r: usize, held: &mut HeldBack| -> Option<(u8, Option<f64>, bool)> {
        let action = best_action(r);
        let Some(c) = contacts else {
            return (filters.include_no_action || action != NO_ACTION).then_some((action, None, false));
        };
        let verdict = c.renewal(rows, r);
        if let Some(rule) = verdict.held {
            held.add(rule);
            return None;
        }
        if action == NO_ACTION {
            return filters.include_no_action.then_some((action, None, verdict.broken_promise));
        }
        match c.action(rows, r, usize::from(action)) {
            None => Some((action, None, verdict.broken_promise)),
            Some(rule) => {
                // The best action the rules allow, if one still pays.
                let next = (0..actions)
                    .filter(|&a| c.action(rows, r, a).is_none())
                    .map(|a| (a as u8, gain(r, a)))
                    .filter(|&(_, g)| g > 0.0)
                    .max_by(|x, y| x.1.total_cmp(&y.1).then(y.0.cmp(&x.0)));
                match next {
                    Some((a, g)) => Some((a, Some(g), verdict.broken_promise)),
                    None => {
                        held.add(rule);
                        None
                    }
                }
            }
        }
    };
    match capacity {
        Capacity::Total(capacity) => {
            // A renewal the rules gave a lesser action gains less than its place in `order`
            // says: it waits in a heap and is listed where its gain falls (the list stays
            // ranked by the gain of the action given; ties keep the order).
            let mut waiting: BinaryHeap<Waiting> = BinaryHeap::new();
            let mut matching = 0usize;
            let mut listed = Vec::new();
            let mut emit = |row: usize, action: u8, gain: f64, broken_promise: bool, matching: &mut usize| {
                *matching += 1;
                let position = *matching - 1;
                if position < *capacity && page.contains(&position) {
                    listed.push(Listed { row, rank: *matching as u32, action, gain, broken_promise });
                }
            };
            // Past the last position a page can show (or the capacity), order no longer
            // matters: the rest is only counted.
            let shown = page.end.min(*capacity);
            let mut seq = 0;
            while seq < order.len() && matching < shown {
                let r = order[seq] as usize;
                seq += 1;
                if !filtered(r) {
                    continue;
                }
                let Some((action, lesser, broken_promise)) = allowed_best(r, &mut held) else { continue };
                if let Some(gain) = lesser {
                    waiting.push(Waiting { gain, seq, row: r, action, broken_promise });
                    continue;
                }
                let gain = best(r).1;
                while waiting.peek().is_some_and(|w| w.gain > gain) {
                    if let Some(w) = waiting.pop() {
                        emit(w.row, w.action, w.gain, w.broken_promise, &mut matching);
                    }
                }
                emit(r, action, gain, broken_promise, &mut matching);
            }
            // The rest is only counted: a tight loop (the row's action, and the rules only for a
            // row they may touch), so the memory reads of many rows overlap.
            for &r in &order[seq..] {
                let r = r as usize;
                if !filtered(r) {
                    continue;
                }
                let quick = match contacts {
                    None => true,
                    Some(c) => c.untouched(rows, r, best_action(r)),
                };
                if quick {
                    matching += usize::from(filters.include_no_action || best_action(r) != NO_ACTION);
                } else if allowed_best(r, &mut held).is_some() {
                    matching += 1;
                }
            }
            while let Some(w) = waiting.pop() {
                emit(w.row, w.action, w.gain, w.broken_promise, &mut matching);
            }
            WorkList { matching, listed: matching.min(*capacity), page: listed, held }
        }
        Capacity::PerAction(capacities) => {
            let k = actions;
            let mut candidates: Vec<(usize, bool)> = Vec::new();
            let mut gains: Vec<f64> = Vec::new();
            for &r in order {
                let r = r as usize;
                if !filtered(r) {
                    continue;
                }
                let broken_promise = match contacts {
                    None => {
                        if !(filters.include_no_action || best_action(r) != NO_ACTION) {
                            continue;
                        }
                        false
                    }
                    Some(c) => {
                        let verdict = c.renewal(rows, r);
                        if let Some(rule) = verdict.held {
                            held.add(rule);
                            continue;
                        }
                        if !(filters.include_no_action || best_action(r) != NO_ACTION) {
                            continue;
                        }
                        verdict.broken_promise
                    }
                };
                let start = gains.len();
                gains.extend((0..k).map(|a| gain(r, a)));
                if let Some(c) = contacts {
                    let mut forbidden_by = None;
                    for a in 0..k {
                        if let Some(rule) = c.action(rows, r, a) {
                            forbidden_by.get_or_insert(rule);
                            gains[start + a] = FORBIDDEN;
                        }
                    }
                    // Every paying action forbidden: the renewal is held by the first rule.
                    if let Some(rule) = forbidden_by
                        && gains[start..].iter().all(|&g| g <= 0.0)
                        && (0..k).any(|a| gain(r, a) > 0.0)
                    {
                        held.add(rule);
                        gains.truncate(start);
                        continue;
                    }
                }
                candidates.push((r, broken_promise));
            }
            let chosen = assign(GainMatrix { values: &gains, actions: k }, capacities);
            let mut list: Vec<Listed> = chosen
                .iter()
                .enumerate()
                .filter(|(_, a)| **a != NO_ACTION)
                .map(|(i, &a)| Listed {
                    row: candidates[i].0,
                    rank: 0,
                    action: a,
                    gain: gains[i * k + usize::from(a)],
                    broken_promise: candidates[i].1,
                })
                .collect();
            // Stable: equal gains keep the work list's order.
            list.sort_by(|x, y| y.gain.total_cmp(&x.gain));
            let listed = list.len();
            let page: Vec<Listed> =
                list.into_iter().enumerate().filter(|(i, _)| page.contains(i)).map(|(i, item)| Listed { rank: (i + 1) as u32, ..item }).collect();
            WorkList { matching: candidates.len(), listed, page, held }
        }
    }
}
