//! A day of work on the list (the console's Today page): the list the team started the day with
//! (the served snapshot's list under the contact rules as they stood before the day's outcomes),
//! how much of it has been contacted, by action and by team, what customers said, and what each
//! contact rule holds back at the start of the day and now.
//!
//! "Contacted" means an outcome recorded on the day for the listed customer (any result: a
//! missed call is work done). A contact's team is its first renewal's servicing agent's team;
//! an orphan renewal's (no agent in service) is the orphan team's, whatever its old agent's.

use std::collections::BTreeMap;

use std::borrow::Cow;

use super::{Contacts, CustomerOrder, Filters, RuleVerdicts, WorkList, select};
use crate::assign::Capacity;
use crate::contact::{ContactRules, OutcomeIndex, Rule};
use crate::economics::Economics;
use crate::outcomes::ContactResult;
use lapse_core::dates::Day;
use lapse_model::scoring::ScoredRows;

/// Who works a contact.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Team {
    /// The servicing agent's team (agents table).
    Named(String),
    /// The servicing agent is known but their team is not (no agents table, or no team in it).
    Unknown,
    /// No servicing agent in service (孤儿单): the team that takes orphan policies over.
    Orphans,
}

/// One action's day.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionDay {
    /// The action's name (economics).
    pub action: String,
    /// Contacts the capacity allows for it (None: a capacity given as one total).
    pub capacity: Option<usize>,
    /// Contacts listed at the start of the day.
    pub listed: usize,
    /// Of those, contacted on the day.
    pub contacted: usize,
    /// Renewals the listed contacts cover, and their value at risk and expected gain.
    pub renewals: usize,
    pub value_at_risk: f64,
    pub expected_gain: f64,
}

/// One team's day: contacts listed per action (in [`TodayWork::actions`] order) and contacted.
#[derive(Debug, Clone, PartialEq)]
pub struct TeamDay {
    pub team: Team,
    pub listed: Vec<usize>,
    pub contacted: usize,
}

impl TeamDay {
    pub fn listed_total(&self) -> usize {
        self.listed.iter().sum()
    }
}

/// The day's work on one served list.
#[derive(Debug, Clone, PartialEq)]
pub struct TodayWork {
    /// The day outcomes are counted on.
    pub day: Day,
    /// The snapshot's date (the list's).
    pub as_of: Day,
    /// Capacity as one total (None: per action, in [`ActionDay::capacity`]).
    pub total_capacity: Option<usize>,
    /// Contacts the list could make at the start of the day (before the capacity).
    pub matching: usize,
    pub actions: Vec<ActionDay>,
    /// Teams, largest list first.
    pub teams: Vec<TeamDay>,
    /// Outcomes recorded on the day, per result (every result, in the documented order), and
    /// how many of them were about customers not on the day's list.
    pub results: Vec<(ContactResult, usize)>,
    pub off_list: usize,
    /// Refusal reasons given on the day (most given first).
    pub refusal_reasons: Vec<(String, usize)>,
    /// Renewals each rule kept off the list: at the start of the day and now (every rule, in
    /// [`Rule::ALL`] order), and customers campaigns' holdouts kept off (start, now).
    pub held: Vec<(Rule, usize, usize)>,
    pub held_out_customers: (usize, usize),
}

impl TodayWork {
    pub fn listed(&self) -> usize {
        self.actions.iter().map(|a| a.listed).sum()
    }

    pub fn contacted(&self) -> usize {
        self.actions.iter().map(|a| a.contacted).sum()
    }

    pub fn outcomes(&self) -> usize {
        self.results.iter().map(|r| r.1).sum()
    }
}

/// What [`today_work`] reads.
pub struct TodayInput<'a> {
    pub rows: &'a ScoredRows,
    pub order: &'a CustomerOrder,
    pub economics: &'a Economics,
    pub rules: &'a ContactRules,
    pub capacity: &'a Capacity,
    /// Every outcome the store holds (the live index).
    pub outcomes: &'a OutcomeIndex,
    /// Customers held out by campaigns whose outcome window is open.
    pub held_out: &'a [String],
    /// The list's date (the snapshot's) and the day counted.
    pub as_of: Day,
    pub day: Day,
    /// An agent's team (None: not known).
    pub team_of: &'a dyn Fn(&str) -> Option<String>,
    /// The list the day began with, when kept from an earlier view ([`morning_list`] of the same
    /// input); None: built here.
    pub morning: Option<&'a WorkList>,
    /// The rules compiled over `outcomes` for `order` on `as_of`, when a server keeps them (its
    /// work lists use the same); None: compiled here.
    pub live_verdicts: Option<&'a RuleVerdicts>,
}

/// The list the day began with: the whole list (no filters, the capacity) under the rules over
/// the outcomes recorded before `day`. It changes only when the book, the capacity, the open
/// holdouts or an outcome dated before the day does, so a server keeps it between views
/// ([`outcomes_before`] tells when one arrived late).
pub fn morning_list(input: &TodayInput<'_>) -> WorkList {
    let live = input.outcomes;
    let before = OutcomeIndex::new(live.customers().flat_map(|c| live.of_customer(c)).filter(|o| o.day < input.day).cloned());
    let contacts = contacts_under(input, Cow::Owned(RuleVerdicts::new(input.rules, &before, input.order, input.rows, input.economics, input.as_of)));
    whole_list(input, &contacts)
}

/// How many stored outcomes are dated before `day` (a kept morning list is stale when it moved).
pub fn outcomes_before(outcomes: &OutcomeIndex, day: Day) -> usize {
    outcomes.customers().map(|c| outcomes.of_customer(c).iter().filter(|o| o.day < day).count()).sum()
}

/// The day's work: the list at the start of `day`, what was recorded on it, what the rules hold.
pub fn today_work(input: &TodayInput<'_>) -> TodayWork {
    let live = input.outcomes;
    let built;
    let start = match input.morning {
        Some(list) => list,
        None => {
            built = morning_list(input);
            &built
        }
    };
    let verdicts = match input.live_verdicts {
        Some(v) => Cow::Borrowed(v),
        None => Cow::Owned(RuleVerdicts::new(input.rules, live, input.order, input.rows, input.economics, input.as_of)),
    };
    let now = whole_list(input, &contacts_under(input, verdicts));
    let rows = input.rows;
    let actions = &input.economics.actions;

    let mut by_action: Vec<ActionDay> = actions
        .iter()
        .enumerate()
        .map(|(a, action)| ActionDay {
            action: action.name.clone(),
            capacity: match input.capacity {
                Capacity::Total(_) => None,
                Capacity::PerAction(per) => Some(per.get(a).copied().unwrap_or(0)),
            },
            listed: 0,
            contacted: 0,
            renewals: 0,
            value_at_risk: 0.0,
            expected_gain: 0.0,
        })
        .collect();
    let mut teams: BTreeMap<Team, TeamDay> = BTreeMap::new();
    let contacted_on_day = |customer: Option<&str>| customer.is_some_and(|c| live.of_customer(c).iter().any(|o| o.day == input.day));
    let mut listed_customers: rustc_hash::FxHashSet<&str> = rustc_hash::FxHashSet::default();
    for contact in &start.page {
        let a = usize::from(contact.action);
        let Some(line) = by_action.get_mut(a) else { continue };
        let customer = rows.text(contact.customer);
        if let Some(c) = customer {
            listed_customers.insert(c);
        }
        let contacted = contacted_on_day(customer);
        line.listed += 1;
        line.contacted += usize::from(contacted);
        line.renewals += contact.renewals.len();
        line.value_at_risk += contact.renewals.iter().map(|l| rows.renewals[l.row].value).sum::<f64>();
        line.expected_gain += contact.gain;
        let team = contact.renewals.first().map_or(Team::Unknown, |l| {
            let r = &rows.renewals[l.row];
            if r.orphan { Team::Orphans } else { rows.text(r.agent).and_then(|agent| (input.team_of)(agent)).map_or(Team::Unknown, Team::Named) }
        });
        let entry = teams.entry(team.clone()).or_insert_with(|| TeamDay { team, listed: vec![0; actions.len()], contacted: 0 });
        entry.listed[a] += 1;
        entry.contacted += usize::from(contacted);
    }
    let mut teams: Vec<TeamDay> = teams.into_values().collect();
    teams.sort_by(|x, y| y.listed_total().cmp(&x.listed_total()).then_with(|| x.team.cmp(&y.team)));

    let mut results: std::collections::HashMap<ContactResult, usize> = std::collections::HashMap::new();
    let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
    let mut off_list = 0;
    for customer in live.customers() {
        for o in live.of_customer(customer).iter().filter(|o| o.day == input.day) {
            *results.entry(o.result).or_default() += 1;
            off_list += usize::from(!listed_customers.contains(customer));
            if o.result == ContactResult::Refused {
                *reasons.entry(o.reason.as_deref().unwrap_or("-")).or_default() += 1;
            }
        }
    }
    let mut refusal_reasons: Vec<(String, usize)> = reasons.into_iter().map(|(r, n)| (r.to_string(), n)).collect();
    refusal_reasons.sort_by(|x, y| y.1.cmp(&x.1).then_with(|| x.0.cmp(&y.0)));

    TodayWork {
        day: input.day,
        as_of: input.as_of,
        total_capacity: match input.capacity {
            Capacity::Total(n) => Some(*n),
            Capacity::PerAction(_) => None,
        },
        matching: start.matching,
        actions: by_action,
        teams,
        results: ContactResult::ALL.iter().map(|r| (*r, results.get(r).copied().unwrap_or(0))).collect(),
        off_list,
        refusal_reasons,
        held: Rule::ALL.iter().map(|r| (*r, start.held.get(*r), now.held.get(*r))).collect(),
        held_out_customers: (start.held.held_out_customers(), now.held.held_out_customers()),
    }
}

/// The rules in force from compiled `verdicts`, with the open campaigns' holdouts.
fn contacts_under<'v>(input: &TodayInput<'_>, verdicts: Cow<'v, RuleVerdicts>) -> Contacts<'v> {
    let mut contacts = Contacts::compiled(verdicts, input.rules, input.order, input.economics);
    contacts.hold_out(input.held_out.iter(), input.rows, input.order);
    contacts
}

/// The whole list (no filters, the capacity) under `contacts`.
fn whole_list(input: &TodayInput<'_>, contacts: &Contacts<'_>) -> WorkList {
    select(input.rows, input.order, &Filters::default(), input.capacity, Some(contacts), 0..usize::MAX)
}
