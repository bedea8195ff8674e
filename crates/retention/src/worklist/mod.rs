//! The work list: which customers a team contacts, in what order, with which action, and the
//! renewals each contact covers. The API's `GET /v1/queue` pages through it; a batch campaign
//! file is the same list, a row per renewal.
//!
//! - [`order`]: customers in list order, laid out once per load;
//! - this module: the filters, the contact rules in force for one list ([`Contacts`]) and the
//!   walk that selects a list ([`select`]).

pub mod order;
pub mod today;
pub mod verdicts;

use std::collections::BinaryHeap;
use std::ops::Range;

use rustc_hash::FxHashSet;

use crate::assign::{Capacity, GainMatrix, assign};
use crate::contact::{ContactRules, HeldBack, OutcomeIndex, Rule};
use crate::economics::{Economics, NO_ACTION};
use lapse_core::dates::Day;
use lapse_model::scoring::ScoredRows;
use order::Entry;
pub use order::{Benefits, CustomerOrder};
pub use verdicts::RuleVerdicts;

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
    /// true: only orphan renewals (no servicing agent in service: for the team that takes them
    /// over); false: none of them.
    pub orphan: Option<bool>,
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
        if let Some(o) = self.orphan {
            parts.push(format!("orphan={o}"));
        }
        if self.include_no_action {
            parts.push("include_no_action=true".into());
        }
        parts.join(";")
    }
}

/// One renewal on a work list: its row, its contact's rank (1 = first) and action, its share of
/// the contact's expected gain (its benefit less an equal share of the action's cost: the
/// shares sum to the contact's gain), and whether a promise to pay on it was broken.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Listed {
    pub row: usize,
    pub rank: u32,
    pub action: u8,
    pub gain: f64,
    pub broken_promise: bool,
}

/// One contact on a work list: a customer, the action, its expected gain, and the renewals it
/// covers (largest gain first).
#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    /// 1 = first.
    pub rank: u32,
    /// The interned customer id ([`lapse_model::scoring::NONE`]: a renewal without one).
    pub customer: u32,
    pub action: u8,
    pub gain: f64,
    pub renewals: Vec<Listed>,
}

/// A page of a work list.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkList {
    /// Contacts the list could make: customers with a renewal matching the filters, not held
    /// back by a contact rule (before the capacity).
    pub matching: usize,
    /// Contacts on the list.
    pub listed: usize,
    /// The requested ranks of the list (0-based positions), in rank order.
    pub page: Vec<Contact>,
    /// Renewals matching the filters that a rule kept off the list, per rule.
    pub held: HeldBack,
}

impl WorkList {
    /// The page's renewals, contact by contact.
    pub fn renewals(&self) -> impl Iterator<Item = &Listed> {
        self.page.iter().flat_map(|c| &c.renewals)
    }
}

/// The contact rules as one list applies them: the rules' verdicts on each customer with
/// outcomes ([`RuleVerdicts`], by position in the order: a customer without outcomes costs one
/// bit test), the customers other campaigns hold out, and which actions orphans may get.
pub struct Contacts<'a> {
    verdicts: std::borrow::Cow<'a, RuleVerdicts>,
    holdout: FxHashSet<u32>,
    /// One bit per position: a verdict or a holdout (the rules must look).
    flagged: Vec<u64>,
    /// Per action (by index): whether an orphan renewal may get it.
    orphan_ok: Vec<bool>,
}

impl<'a> Contacts<'a> {
    /// The rules over `index` (None: no store, only the orphan rule applies) for a list of
    /// `order` dated `date`.
    pub fn new(
        rules: &'a ContactRules,
        index: Option<&'a OutcomeIndex>,
        order: &CustomerOrder,
        rows: &ScoredRows,
        economics: &'a Economics,
        date: Day,
    ) -> Contacts<'a> {
        let verdicts = match index {
            Some(index) => RuleVerdicts::new(rules, index, order, rows, economics, date),
            None => RuleVerdicts::default(),
        };
        Self::compiled(std::borrow::Cow::Owned(verdicts), rules, order, economics)
    }

    /// The rules from verdicts compiled before (a server keeps them between lists).
    pub fn compiled(
        verdicts: std::borrow::Cow<'a, RuleVerdicts>,
        rules: &ContactRules,
        order: &CustomerOrder,
        economics: &Economics,
    ) -> Contacts<'a> {
        let orphan_ok = economics.actions.iter().map(|a| rules.orphan_actions.contains(&a.name)).collect();
        let mut contacts = Contacts { verdicts, holdout: FxHashSet::default(), flagged: vec![0u64; order.len().div_ceil(64)], orphan_ok };
        let positions: Vec<usize> = contacts.verdicts.positions().collect();
        for p in positions {
            contacts.flag(p);
        }
        contacts
    }

    fn flag(&mut self, p: usize) {
        if let Some(word) = self.flagged.get_mut(p / 64) {
            *word |= 1 << (p % 64);
        }
    }

    /// Keeps `customers` off the list: they are in the control arm of a campaign whose outcome
    /// window is open (ids the snapshot does not hold are ignored).
    pub fn hold_out<S: AsRef<str>>(&mut self, customers: impl IntoIterator<Item = S>, rows: &ScoredRows, order: &CustomerOrder) {
        for c in customers {
            if let Some(p) = rows.strings.find(c.as_ref()).and_then(|code| order.position_of(code)) {
                self.holdout.insert(p as u32);
                self.flag(p);
            }
        }
    }

    fn flagged(&self, p: usize) -> bool {
        self.flagged.get(p / 64).is_some_and(|w| w & (1 << (p % 64)) != 0)
    }

    /// Whether an orphan renewal may get action `a`.
    fn orphan_ok(&self, a: usize) -> bool {
        self.orphan_ok[a]
    }

    fn verdict(&self, p: usize) -> Option<&verdicts::Verdict> {
        self.verdicts.at(p)
    }

    /// The customer-level rule against action `a` at position `p` (wrong number, frequency cap).
    fn action_rule(&self, p: usize, a: usize) -> Option<Rule> {
        self.verdict(p).and_then(|v| v.action(a))
    }
}

/// The renewals of one customer a list may contact, and what each action would gain on them.
#[derive(Debug, Default)]
struct Scratch {
    /// (entry, broken promise) of the renewals left after the filters and the renewal rules.
    members: Vec<(u32, bool)>,
    /// Per action: the gain of the contact under the rules ([`FORBIDDEN`] when the action may
    /// not be used or covers none of the renewals).
    gains: Vec<f64>,
    /// Per action: the gain without the contact rules' action verdicts (did a rule hold it?).
    free: Vec<f64>,
    /// The first rule that forbade an action.
    forbidden_by: Option<Rule>,
}

/// A gain no assignment takes (an action a contact rule forbids): far below any real loss, and
/// finite (the assignment subtracts gains).
const FORBIDDEN: f64 = -1e15;

/// One list's walk over an order: the filters, the rules, the gains.
struct Walk<'a> {
    order: &'a CustomerOrder,
    filters: &'a Filters,
    contacts: Option<&'a Contacts<'a>>,
    /// The filters on interned columns as codes (Some(None): a value never seen, matches nothing).
    channel: Option<Option<u32>>,
    region: Option<Option<u32>>,
    agent: Option<Option<u32>>,
    product: Option<Option<u32>>,
}

impl<'a> Walk<'a> {
    fn new(order: &'a CustomerOrder, rows: &'a ScoredRows, filters: &'a Filters, contacts: Option<&'a Contacts<'a>>) -> Walk<'a> {
        let code = |text: &Option<String>| text.as_ref().map(|t| rows.strings.find(t));
        Walk {
            order,
            filters,
            contacts,
            channel: code(&filters.channel),
            region: code(&filters.region),
            agent: code(&filters.agent_id),
            product: code(&filters.product),
        }
    }

    fn matches(&self, x: &Entry) -> bool {
        let f = self.filters;
        self.channel.is_none_or(|c| c == Some(x.channel))
            && self.region.is_none_or(|c| c == Some(x.region))
            && self.agent.is_none_or(|c| c == Some(x.agent))
            && self.product.is_none_or(|c| c == Some(x.product_code) || c == Some(x.product_type))
            && f.min_value.is_none_or(|v| x.value >= v)
            && f.due_within_days.is_none_or(|d| x.due_in <= d)
            && f.overdue.is_none_or(|o| (x.due_in < 0) == o)
            && f.orphan.is_none_or(|o| x.orphan == o)
    }

    /// Whether the contact at `p` is exactly its precomputed best: every renewal matches, no
    /// outcome or holdout, and the orphan rule does not touch the best action.
    fn untouched(&self, p: usize) -> bool {
        let entries = &self.order.entries[self.order.span(p)];
        if !entries.iter().all(|x| self.matches(x)) {
            return false;
        }
        match self.contacts {
            None => true,
            Some(c) => {
                !c.flagged(p)
                    && (!self.order.has_orphan(p) || { self.order.best(p).0 == NO_ACTION || c.orphan_ok(usize::from(self.order.best(p).0)) })
            }
        }
    }

    fn orphan_ok(&self, a: usize) -> bool {
        self.contacts.is_none_or(|c| c.orphan_ok(a))
    }

    /// The members of `p` and each action's gain on them, into `s`; false when no renewal of
    /// the customer may be listed (held ones counted in `held`).
    fn evaluate(&self, p: usize, s: &mut Scratch, held: &mut HeldBack) -> bool {
        let order = self.order;
        s.members.clear();
        s.members.extend(order.span(p).filter(|&e| self.matches(&order.entries[e])).map(|e| (e as u32, false)));
        if s.members.is_empty() {
            return false;
        }
        if let Some(c) = self.contacts {
            if !c.holdout.is_empty() && c.holdout.contains(&(p as u32)) {
                held.held_out(s.members.len());
                return false;
            }
            if let Some(v) = c.verdict(p) {
                if let Some(rule) = v.held {
                    held.add_n(rule, s.members.len());
                    return false;
                }
                s.members.retain_mut(|(e, broken)| {
                    let verdict = v.renewal(order.entries[*e as usize].row as usize);
                    match verdict.held {
                        Some(rule) => {
                            held.add(rule);
                            false
                        }
                        None => {
                            *broken = verdict.broken_promise;
                            true
                        }
                    }
                });
                if s.members.is_empty() {
                    return false;
                }
            }
        }
        let verdict = self.contacts.and_then(|c| c.verdict(p));
        s.forbidden_by = None;
        s.gains.clear();
        s.free.clear();
        for a in 0..order.actions() {
            let ok = self.orphan_ok(a);
            let (mut sum, mut covered) = (0.0, 0usize);
            for &(e, _) in &s.members {
                if ok || !order.entries[e as usize].orphan {
                    sum += order.benefit(e as usize, a);
                    covered += 1;
                }
            }
            let gain = sum - order.cost(a);
            if covered == 0 {
                s.forbidden_by.get_or_insert(Rule::Orphan);
                s.gains.push(FORBIDDEN);
                s.free.push(FORBIDDEN);
                continue;
            }
            s.free.push(gain);
            match verdict.and_then(|v| v.action(a)) {
                Some(rule) => {
                    s.forbidden_by.get_or_insert(rule);
                    s.gains.push(FORBIDDEN);
                }
                None => s.gains.push(gain),
            }
        }
        true
    }

    /// The contact at `p` under the filters and rules (its action and gain), evaluated into `s`;
    /// None when none can be made.
    fn best_contact(&self, p: usize, include_no_action: bool, held: &mut HeldBack, s: &mut Scratch) -> Option<(u8, f64)> {
        if !self.evaluate(p, s, held) {
            return None;
        }
        self.choose(include_no_action, held, s)
    }

    /// The best contact of evaluated `s` (see [`Walk::best_contact`]).
    fn choose(&self, include_no_action: bool, held: &mut HeldBack, s: &Scratch) -> Option<(u8, f64)> {
        let (action, gain) = best_of(&s.gains);
        if action != NO_ACTION {
            return Some((action, gain));
        }
        if best_of(&s.free).0 != NO_ACTION {
            // An action would pay but the rules forbid every one that does.
            held.add_n(s.forbidden_by.unwrap_or(Rule::Orphan), s.members.len());
            return None;
        }
        include_no_action.then_some((NO_ACTION, 0.0))
    }

    /// The contact for evaluated `s` with action `a` (None: no action; every member listed).
    fn contact(&self, s: &Scratch, action: u8, gain: f64, held: &mut HeldBack, p: usize) -> Pending {
        let mut renewals = Vec::with_capacity(s.members.len());
        let covers = |e: u32| action == NO_ACTION || self.orphan_ok(usize::from(action)) || !self.order.entries[e as usize].orphan;
        let covered = s.members.iter().filter(|(e, _)| covers(*e)).count();
        for &(e, broken) in &s.members {
            if !covers(e) {
                held.add(Rule::Orphan);
                continue;
            }
            let share = if action == NO_ACTION {
                0.0
            } else {
                self.order.benefit(e as usize, usize::from(action)) - self.order.cost(usize::from(action)) / covered as f64
            };
            renewals.push(Listed { row: self.order.entries[e as usize].row as usize, rank: 0, action, gain: share, broken_promise: broken });
        }
        Pending { position: p, action, gain, renewals }
    }

    /// The precomputed best contact at `p` with all its renewals.
    fn whole(&self, p: usize) -> Pending {
        let (action, gain) = self.order.best(p);
        let s = Scratch { members: self.order.span(p).map(|e| (e as u32, false)).collect(), ..Default::default() };
        self.contact(&s, action, gain, &mut HeldBack::default(), p)
    }
}

/// A contact chosen but not yet ranked.
struct Pending {
    position: usize,
    action: u8,
    gain: f64,
    renewals: Vec<Listed>,
}

impl Pending {
    fn ranked(self, rank: u32, order: &CustomerOrder) -> Contact {
        let renewals = self.renewals.into_iter().map(|l| Listed { rank, ..l }).collect();
        Contact { rank, customer: order.customer(self.position), action: self.action, gain: self.gain, renewals }
    }
}

/// The best action under the rules in `s` and its gain; [`NO_ACTION`] when none pays.
fn best_of(gains: &[f64]) -> (u8, f64) {
    gains.iter().enumerate().fold((NO_ACTION, 0.0), |best, (a, &g)| if g > best.1 { (a as u8, g) } else { best })
}

/// A contact waiting for its place in a list (the rules or filters left it a smaller gain than
/// its place in the order says): largest gain first, then earliest in the order.
struct Waiting(Pending);

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
        self.0.gain.total_cmp(&other.0.gain).then_with(|| other.0.position.cmp(&self.0.position))
    }
}

/// The work list of `order` (customers ranked, see [`CustomerOrder`]) under `filters` and
/// `capacity`, and the positions `page` of it, the contact rules applied when `contacts` is
/// given (a held renewal is left out of its contact; a held action is not given, the customer
/// gets the best allowed one). One number: the top contacts with their best action. Per action:
/// the assignment of largest total gain within every capacity ([`assign`]), ranked by the gain
/// of the action given (ties in the order's).
pub fn select(
    rows: &ScoredRows,
    order: &CustomerOrder,
    filters: &Filters,
    capacity: &Capacity,
    contacts: Option<&Contacts<'_>>,
    page: Range<usize>,
) -> WorkList {
    let walk = Walk::new(order, rows, filters, contacts);
    let include_no_action = filters.include_no_action;
    let mut held = HeldBack::default();
    let mut s = Scratch::default();
    let evaluated = |p: usize, held: &mut HeldBack, s: &mut Scratch| walk.best_contact(p, include_no_action, held, s);
    match capacity {
        Capacity::Total(capacity) => {
            let mut waiting: BinaryHeap<Waiting> = BinaryHeap::new();
            let mut matching = 0usize;
            let mut listed = Vec::new();
            let mut emit = |pending: Pending, matching: &mut usize| {
                *matching += 1;
                let position = *matching - 1;
                if position < *capacity && page.contains(&position) {
                    listed.push(pending.ranked(*matching as u32, order));
                }
            };
            // Past the last position a page can show (or the capacity), order no longer
            // matters: the rest is only counted.
            let shown = page.end.min(*capacity);
            let mut p = 0;
            while p < order.len() && matching < shown {
                let bound = order.best(p).1;
                let pending = if walk.untouched(p) {
                    if order.best(p).0 == NO_ACTION && !include_no_action {
                        p += 1;
                        continue;
                    }
                    walk.whole(p)
                } else {
                    let Some((action, gain)) = evaluated(p, &mut held, &mut s) else {
                        p += 1;
                        continue;
                    };
                    walk.contact(&s, action, gain, &mut held, p)
                };
                p += 1;
                if pending.gain < bound {
                    waiting.push(Waiting(pending));
                    continue;
                }
                while waiting.peek().is_some_and(|w| w.0.gain > pending.gain) {
                    if let Some(w) = waiting.pop() {
                        emit(w.0, &mut matching);
                    }
                }
                emit(pending, &mut matching);
            }
            // The rest is only counted.
            for p in p..order.len() {
                if walk.untouched(p) {
                    matching += usize::from(include_no_action || order.best(p).0 != NO_ACTION);
                } else if let Some((action, _)) = evaluated(p, &mut held, &mut s) {
                    // Orphan renewals the action cannot serve are counted as held.
                    if action != NO_ACTION && !walk.orphan_ok(usize::from(action)) {
                        let orphans = s.members.iter().filter(|(e, _)| order.entries[*e as usize].orphan).count();
                        held.add_n(Rule::Orphan, orphans);
                    }
                    matching += 1;
                }
            }
            while let Some(w) = waiting.pop() {
                emit(w.0, &mut matching);
            }
            WorkList { matching, listed: matching.min(*capacity), page: listed, held }
        }
        Capacity::PerAction(capacities) => {
            let k = order.actions();
            // Every contact the list could make, with its members, and the gain matrix.
            let mut candidates: Vec<(usize, Vec<(u32, bool)>)> = Vec::new();
            let mut gains: Vec<f64> = Vec::new();
            for p in 0..order.len() {
                if evaluated(p, &mut held, &mut s).is_none() {
                    continue;
                }
                gains.extend_from_slice(&s.gains);
                candidates.push((p, std::mem::take(&mut s.members)));
            }
            let chosen = assign(GainMatrix { values: &gains, actions: k }, capacities);
            let mut list: Vec<Pending> = Vec::new();
            for (i, &a) in chosen.iter().enumerate() {
                let (p, members) = &candidates[i];
                let members = Scratch { members: members.clone(), ..Default::default() };
                if a == NO_ACTION {
                    continue;
                }
                list.push(walk.contact(&members, a, gains[i * k + usize::from(a)], &mut held, *p));
            }
            // Stable: equal gains keep the order's.
            list.sort_by(|x, y| y.gain.total_cmp(&x.gain));
            let listed = list.len();
            let page: Vec<Contact> =
                list.into_iter().enumerate().filter(|(i, _)| page.contains(i)).map(|(i, item)| item.ranked((i + 1) as u32, order)).collect();
            WorkList { matching: candidates.len(), listed, page, held }
        }
    }
}

/// Why one renewal is or is not on the work list without filters (`GET /v1/queue/explain`).
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// The rule that keeps the renewal itself off every list today (a holdout, do-not-contact, a
    /// refusal, an open promise), if any.
    pub held: Option<Rule>,
    pub broken_promise: bool,
    /// Per action (by index): the gain of a contact with it about the customer's renewals it
    /// may serve (None: it serves none of them, the orphan rule), and the rule forbidding it.
    pub actions: Vec<(Option<f64>, Option<Rule>)>,
    /// The customer's contact under the rules: its action and gain (None: no contact).
    pub contact: Option<(u8, f64)>,
    /// The contact's rank on the whole list (no capacity), when it is on it and covers this
    /// renewal.
    pub rank: Option<u32>,
    /// The rows the contact covers.
    pub covers: Vec<usize>,
}

/// Explains row `row` of `rows` on the list of `order` under `contacts` (no filters).
pub fn explain(rows: &ScoredRows, order: &CustomerOrder, contacts: &Contacts<'_>, row: usize) -> Explanation {
    let filters = Filters::default();
    let walk = Walk::new(order, rows, &filters, Some(contacts));
    let Some((p, entry)) = (0..order.len()).find_map(|p| order.span(p).find(|&e| order.entries[e].row as usize == row).map(|e| (p, e))) else {
        return Explanation { held: None, broken_promise: false, actions: Vec::new(), contact: None, rank: None, covers: Vec::new() };
    };
    let mut s = Scratch::default();
    let mut held = HeldBack::default();
    let evaluated = walk.evaluate(p, &mut s, &mut held);
    if !evaluated {
        // Every renewal of the customer was held: nothing of the scratch applies.
        s = Scratch::default();
    }
    let contact = if evaluated { walk.choose(false, &mut held, &s) } else { None };
    let member = s.members.iter().find(|(e, _)| *e as usize == entry).copied();
    // The renewal's own verdict: in the evaluated members, or the rule that took it out.
    let held_rule = match member {
        Some(_) => None,
        None if contacts.holdout.contains(&(p as u32)) => Some(Rule::Holdout),
        None => contacts.verdict(p).and_then(|v| v.renewal(row).held),
    };
    let actions = (0..order.actions())
        .map(|a| {
            let gain = s.free.get(a).copied().filter(|&g| g > FORBIDDEN);
            let rule = if evaluated && gain.is_none() && s.members.iter().any(|(e, _)| order.entries[*e as usize].orphan) {
                Some(Rule::Orphan)
            } else {
                contacts.action_rule(p, a)
            };
            (gain, rule)
        })
        .collect();
    let covers: Vec<usize> = match contact {
        Some((action, _)) => s
            .members
            .iter()
            .filter(|(e, _)| action == NO_ACTION || walk.orphan_ok(usize::from(action)) || !order.entries[*e as usize].orphan)
            .map(|(e, _)| order.entries[*e as usize].row as usize)
            .collect(),
        None => Vec::new(),
    };
    let rank = match contact {
        Some((_, gain)) if covers.contains(&row) => {
            // Contacts before this one: larger gains, and equal ones earlier in the order.
            let mut before = 0u32;
            let mut scratch = Scratch::default();
            for q in 0..order.len() {
                let g = if walk.untouched(q) {
                    let (a, g) = order.best(q);
                    (a != NO_ACTION).then_some(g)
                } else {
                    walk.best_contact(q, false, &mut HeldBack::default(), &mut scratch).map(|(_, g)| g)
                };
                if g.is_some_and(|g| g > gain || (g == gain && q < p)) {
                    before += 1;
                }
            }
            Some(before + 1)
        }
        _ => None,
    };
    Explanation { held: held_rule, broken_promise: member.is_some_and(|(_, b)| b), actions, contact, rank, covers }
}

#[cfg(test)]
mod tests;
