//! The work list on hand-built scored rows: one contact per customer, the orphan rule, the
//! contact rules, holdouts, and the walk against a brute-force ranking.

use super::*;
use crate::outcomes::{ContactResult, Outcome};
use lapse_core::categories::Dictionary;
use lapse_model::scoring::{NONE, Reason, Renewal};

const AS_OF: Day = 20_000;

/// A renewal: (policy, customer or "", probability, value, orphan, channel).
type Spec<'a> = (&'a str, &'a str, f64, f64, bool, &'a str);

fn rows(specs: &[Spec<'_>], economics: &Economics) -> ScoredRows {
    let mut strings = Dictionary::default();
    let mut out = ScoredRows::default();
    for (i, &(policy, customer, probability, value, orphan, channel)) in specs.iter().enumerate() {
        let (action, gain) = economics.best_action(probability, value);
        let customer = if customer.is_empty() { NONE } else { strings.code(customer) };
        out.policy_id.push(policy.into());
        out.renewals.push(Renewal {
            probability,
            value,
            gain,
            due: AS_OF + 10 - (i as i32 % 3) * 10,
            as_of: AS_OF,
            installment_no: 2,
            agent: NONE,
            channel: strings.code(channel),
            region: NONE,
            product_code: NONE,
            product_type: NONE,
            customer,
            orphan,
            action,
            contact_changed: lapse_model::scoring::NO_CONTACT_CHANGE,
            reasons: [Reason { feature: u16::MAX, text_len: 0, contribution: 0.0, value: f64::NAN }; 3],
            text_start: 0,
        });
    }
    out.strings = strings;
    out
}

fn outcome(id: &str, policy: &str, customer: &str, action: &str, result: ContactResult, day: Day, promised: Option<Day>) -> Outcome {
    Outcome {
        id: id.into(),
        policy_id: policy.into(),
        installment_no: 2,
        customer_id: customer.into(),
        action: action.into(),
        result,
        at: String::new(),
        at_ms: i64::from(day) * 86_400_000,
        day,
        reason: (result == ContactResult::Refused).then(|| "cannot_afford".into()),
        promised_date: promised,
        agent_id: None,
        note: None,
    }
}

fn customers(list: &WorkList, rows: &ScoredRows) -> Vec<String> {
    list.page.iter().map(|c| rows.text(c.customer).unwrap_or("-").to_string()).collect()
}

#[test]
fn a_customer_with_two_renewals_is_one_contact_paying_the_action_once() {
    let e = Economics::default();
    // C1 has two renewals: one call about both gains 2 x 0.3 x 0.2 x 1000 - 15 = 105 (two
    // calls would gain 45 each: the cost is paid once).
    let rows =
        rows(&[("P1", "C1", 0.3, 1000.0, false, "agent"), ("P2", "C1", 0.3, 1000.0, false, "agent"), ("P3", "C2", 0.3, 1200.0, false, "agent")], &e);
    let order = CustomerOrder::by_risk(&rows, &e);
    let list = select(&rows, &order, &Filters::default(), &Capacity::Total(10), None, 0..10);
    assert_eq!(customers(&list, &rows), ["C1", "C2"]);
    assert_eq!((list.matching, list.listed), (2, 2), "capacity counts contacts");
    let c1 = &list.page[0];
    assert_eq!(e.action_name(c1.action), "call");
    assert!((c1.gain - 105.0).abs() < 1e-9, "{}", c1.gain);
    assert_eq!(c1.renewals.len(), 2);
    let shares: f64 = c1.renewals.iter().map(|l| l.gain).sum();
    assert!((shares - c1.gain).abs() < 1e-9, "the renewals' shares sum to the contact's gain");
    assert!(c1.renewals.iter().all(|l| l.rank == 1 && l.action == c1.action));
    // A capacity of one lists one customer, both renewals.
    let one = select(&rows, &order, &Filters::default(), &Capacity::Total(1), None, 0..10);
    assert_eq!((one.listed, one.page.len(), one.page[0].renewals.len()), (1, 1, 2));
}

#[test]
fn an_orphan_renewal_is_never_covered_by_a_visit() {
    let e = Economics::default();
    let rules = ContactRules::default();
    // A rich orphan: a visit would pay most, a call is given. C2: one orphan and one served
    // policy, both rich: the visit covers the served one, the call both; whichever wins, no
    // orphan renewal is visited.
    let rows = rows(
        &[("P1", "C1", 0.6, 40_000.0, true, "agent"), ("P2", "C2", 0.6, 40_000.0, true, "agent"), ("P3", "C2", 0.6, 40_000.0, false, "agent")],
        &e,
    );
    assert_eq!(e.action_name(rows.renewals[0].action), "visit", "the row's own best ignores the rule");
    let order = CustomerOrder::by_risk(&rows, &e);
    let contacts = Contacts::new(&rules, None, &order, &rows, &e, AS_OF);
    for capacity in [Capacity::Total(10), Capacity::PerAction(vec![10, 10, 10])] {
        let list = select(&rows, &order, &Filters::default(), &capacity, Some(&contacts), 0..10);
        let mut seen = Vec::new();
        for l in list.renewals() {
            assert!(!(rows.renewals[l.row].orphan && e.action_name(l.action) == "visit"), "{capacity:?}: visit to orphan {}", rows.policy_id[l.row]);
            seen.push(rows.policy_id[l.row].to_string());
        }
        let c2 = list.page.iter().find(|c| rows.text(c.customer) == Some("C2")).unwrap();
        if e.action_name(c2.action) == "visit" {
            assert_eq!(list.held.get(Rule::Orphan), 1, "{capacity:?}: the orphan renewal a visit cannot serve is counted");
        } else {
            assert_eq!(c2.renewals.len(), 2);
        }
        assert_eq!(list.page.len(), 2, "{capacity:?}: one contact per customer");
    }
    // The orphan team's list.
    let orphans = select(&rows, &order, &Filters { orphan: Some(true), ..Default::default() }, &Capacity::Total(10), Some(&contacts), 0..10);
    assert!(orphans.renewals().all(|l| rows.renewals[l.row].orphan));
    assert_eq!(orphans.renewals().count(), 2);
}

#[test]
fn the_rules_hold_customers_renewals_and_actions() {
    let e = Economics::default();
    let rules = ContactRules::default();
    let rows = rows(
        &[
            ("P1", "REFUSED", 0.5, 8000.0, false, "agent"),
            ("P2", "REFUSED", 0.5, 8000.0, false, "agent"),
            ("P3", "PROMISED", 0.5, 8000.0, false, "agent"),
            ("P4", "PROMISED", 0.5, 8000.0, false, "agent"),
            ("P5", "CALLED", 0.5, 8000.0, false, "agent"),
            ("P6", "FREE", 0.5, 8000.0, false, "agent"),
            ("P7", "HELD_OUT", 0.5, 8000.0, false, "agent"),
        ],
        &e,
    );
    let index = OutcomeIndex::new([
        outcome("1", "P1", "REFUSED", "call", ContactResult::Refused, AS_OF - 2, None),
        outcome("2", "P3", "PROMISED", "call", ContactResult::Promised, AS_OF - 1, Some(AS_OF + 5)),
        outcome("3", "P5", "CALLED", "call", ContactResult::NoAnswer, AS_OF - 1, None),
    ]);
    let order = CustomerOrder::by_risk(&rows, &e);
    let mut contacts = Contacts::new(&rules, Some(&index), &order, &rows, &e, AS_OF);
    contacts.hold_out(["HELD_OUT", "NOT_IN_THIS_SNAPSHOT"], &rows, &order);
    for capacity in [Capacity::Total(10), Capacity::PerAction(vec![10, 10, 10])] {
        let list = select(&rows, &order, &Filters::default(), &capacity, Some(&contacts), 0..10);
        let mut listed = customers(&list, &rows);
        listed.sort();
        assert_eq!(listed, ["CALLED", "FREE", "PROMISED"], "{capacity:?}");
        let promised = list.page.iter().find(|c| rows.text(c.customer) == Some("PROMISED")).unwrap();
        assert_eq!(promised.renewals.iter().map(|l| &*rows.policy_id[l.row]).collect::<Vec<_>>(), ["P4"], "only the promised renewal waits");
        let called = list.page.iter().find(|c| rows.text(c.customer) == Some("CALLED")).unwrap();
        assert_ne!(e.action_name(called.action), "call", "{capacity:?}: called yesterday, the call cap holds");
        assert_eq!(list.held.get(Rule::Refused), 2);
        assert_eq!(list.held.get(Rule::Promised), 1);
        assert_eq!(list.held.get(Rule::Holdout), 1);
    }
}

#[test]
fn a_change_of_contact_details_after_a_wrong_number_lifts_it() {
    let e = Economics::default();
    let rules = ContactRules::default();
    // Orphans: only a call or an SMS may reach them, both barred by a wrong number.
    let mut rows = rows(
        &[
            ("P1", "CHANGED_BEFORE", 0.5, 8000.0, true, "agent"),
            ("P2", "CHANGED_AFTER", 0.5, 8000.0, true, "agent"),
            ("P3", "CHANGED_AFTER", 0.4, 8000.0, true, "agent"),
            ("P4", "NEVER_CHANGED", 0.5, 8000.0, true, "agent"),
        ],
        &e,
    );
    rows.renewals[0].contact_changed = AS_OF - 30;
    // The change is known on one of the customer's renewals: it holds for the customer.
    rows.renewals[2].contact_changed = AS_OF - 5;
    let index = OutcomeIndex::new([
        outcome("1", "P1", "CHANGED_BEFORE", "call", ContactResult::WrongNumber, AS_OF - 20, None),
        outcome("2", "P2", "CHANGED_AFTER", "call", ContactResult::WrongNumber, AS_OF - 20, None),
        outcome("3", "P4", "NEVER_CHANGED", "sms", ContactResult::WrongNumber, AS_OF - 40, None),
    ]);
    let order = CustomerOrder::by_risk(&rows, &e);
    let contacts = Contacts::new(&rules, Some(&index), &order, &rows, &e, AS_OF);
    let list = select(&rows, &order, &Filters::default(), &Capacity::Total(10), Some(&contacts), 0..10);
    assert_eq!(customers(&list, &rows), ["CHANGED_AFTER"]);
    assert!(["call", "sms"].contains(&e.action_name(list.page[0].action)));
    assert_eq!(list.page[0].renewals.len(), 2);
    assert_eq!(list.held.get(Rule::WrongNumber), 2, "{:?}", list.held.to_map());
    // The same on the index's own answer.
    assert_eq!(index.action(&rules, "CHANGED_AFTER", "call", AS_OF, Some(AS_OF - 5)), None);
    assert_eq!(index.action(&rules, "CHANGED_AFTER", "call", AS_OF, Some(AS_OF - 20)), Some(Rule::WrongNumber), "same day: not after");
    assert_eq!(index.action(&rules, "CHANGED_AFTER", "call", AS_OF, None), Some(Rule::WrongNumber));
}

#[test]
fn a_broken_promise_returns_with_its_flag() {
    let e = Economics::default();
    let rules = ContactRules::default();
    let rows = rows(&[("P1", "C1", 0.5, 8000.0, false, "agent")], &e);
    let index = OutcomeIndex::new([outcome("1", "P1", "C1", "call", ContactResult::Promised, AS_OF - 10, Some(AS_OF - 4))]);
    let order = CustomerOrder::by_risk(&rows, &e);
    let contacts = Contacts::new(&rules, Some(&index), &order, &rows, &e, AS_OF);
    let list = select(&rows, &order, &Filters::default(), &Capacity::Total(10), Some(&contacts), 0..10);
    assert!(list.page[0].renewals[0].broken_promise);
}

/// A small deterministic generator (the book's shape, not its randomness, is under test).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[test]
fn the_walk_ranks_as_evaluating_every_customer_would() {
    let e = Economics::default();
    let rules = ContactRules::default();
    for seed in 0..20u64 {
        let mut g = Lcg(seed);
        let n = 200;
        let names: Vec<(String, String)> = (0..n)
            .map(|i| {
                let customer = if g.next() < 0.1 { String::new() } else { format!("C{}", (g.next() * 120.0) as usize) };
                (format!("P{i}"), customer)
            })
            .collect();
        let specs: Vec<Spec<'_>> = names
            .iter()
            .map(|(p, c)| {
                (p.as_str(), c.as_str(), g.next() * 0.8, 500.0 + g.next() * 60_000.0, g.next() < 0.15, if g.next() < 0.5 { "agent" } else { "bank" })
            })
            .collect();
        let rows = rows(&specs, &e);
        let order = CustomerOrder::by_risk(&rows, &e);
        let outcomes: Vec<Outcome> = (0..30)
            .map(|i| {
                let r = (g.next() * n as f64) as usize;
                let result = [ContactResult::Refused, ContactResult::NoAnswer, ContactResult::WrongNumber][i % 3];
                outcome(&i.to_string(), specs[r].0, &format!("C{}", (g.next() * 120.0) as usize), "call", result, AS_OF - 1, None)
            })
            .collect();
        let index = OutcomeIndex::new(outcomes);
        let contacts = Contacts::new(&rules, Some(&index), &order, &rows, &e, AS_OF);
        let filters = Filters { channel: Some("agent".into()), ..Default::default() };
        let all = select(&rows, &order, &filters, &Capacity::Total(usize::MAX), Some(&contacts), 0..usize::MAX);
        // Brute force: every customer's contact, sorted by gain then position.
        let walk = Walk::new(&order, &rows, &filters, Some(&contacts));
        let mut expected: Vec<(f64, usize)> = Vec::new();
        let mut s = Scratch::default();
        for p in 0..order.len() {
            if walk.evaluate(p, &mut s, &mut HeldBack::default()) {
                let (a, gain) = best_of(&s.gains);
                if a != NO_ACTION {
                    expected.push((gain, p));
                }
            }
        }
        expected.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
        let got: Vec<(f64, u32)> = all.page.iter().map(|c| (c.gain, c.customer)).collect();
        assert_eq!(got.len(), expected.len(), "seed {seed}");
        assert_eq!(all.matching, expected.len());
        for (i, ((g1, c1), (g2, p))) in got.iter().zip(&expected).enumerate() {
            assert!((g1 - g2).abs() < 1e-9, "seed {seed} rank {i}: {g1} vs {g2}");
            if *c1 != NONE {
                assert_eq!(*c1, order.customer(*p), "seed {seed} rank {i}");
            }
        }
        let mut seen = FxHashSet::default();
        assert!(all.page.iter().filter(|c| c.customer != NONE).all(|c| seen.insert(c.customer)), "seed {seed}: a customer listed twice");
        // Pages agree with the whole list, and the count after a page is the same.
        let page = select(&rows, &order, &filters, &Capacity::Total(usize::MAX), Some(&contacts), 5..9);
        assert_eq!(page.matching, all.matching, "seed {seed}");
        assert_eq!(page.page, all.page[5.min(all.page.len())..9.min(all.page.len())], "seed {seed}");
        assert_eq!(page.held, all.held, "seed {seed}");
        // The per-action assignment lists each customer once and keeps every capacity.
        let per_action = select(&rows, &order, &filters, &Capacity::PerAction(vec![5, 7, 3]), Some(&contacts), 0..usize::MAX);
        let mut seen = FxHashSet::default();
        assert!(per_action.page.iter().filter(|c| c.customer != NONE).all(|c| seen.insert(c.customer)));
        for (a, cap) in [5, 7, 3].into_iter().enumerate() {
            assert!(per_action.page.iter().filter(|c| usize::from(c.action) == a).count() <= cap);
        }
    }
}

#[test]
fn verdicts_updated_for_new_outcomes_are_those_compiled_afresh() {
    let e = Economics::default();
    let rules = ContactRules::default();
    let rows =
        rows(&[("P1", "A", 0.5, 8000.0, false, "agent"), ("P2", "B", 0.5, 8000.0, false, "agent"), ("P3", "B", 0.4, 9000.0, false, "agent")], &e);
    let order = CustomerOrder::by_risk(&rows, &e);
    let mut index = OutcomeIndex::new([outcome("1", "P1", "A", "call", ContactResult::NoAnswer, AS_OF - 1, None)]);
    let mut kept = RuleVerdicts::new(&rules, &index, &order, &rows, &e, AS_OF);
    let generation = index.generation();
    index.add(outcome("2", "P2", "B", "call", ContactResult::Promised, AS_OF, Some(AS_OF + 4)));
    index.add(outcome("3", "P1", "A", "sms", ContactResult::DoNotContact, AS_OF, None));
    let touched: Vec<String> = index.touched_since(generation).map(str::to_string).collect();
    assert_eq!(touched, ["B", "A"]);
    kept.update(&rules, &index, touched.iter().map(String::as_str), &order, &rows, &e);
    let fresh = RuleVerdicts::new(&rules, &index, &order, &rows, &e, AS_OF);
    assert_eq!(kept.len(), fresh.len());
    for p in 0..order.len() {
        assert_eq!(kept.at(p), fresh.at(p), "position {p}");
    }
    let list = select(
        &rows,
        &order,
        &Filters::default(),
        &Capacity::Total(10),
        Some(&Contacts::compiled(std::borrow::Cow::Borrowed(&kept), &rules, &order, &e)),
        0..10,
    );
    assert_eq!(customers(&list, &rows), ["B"]);
    assert_eq!(list.page[0].renewals.len(), 1, "P2's promise holds it; P3 is listed");
}

#[test]
fn a_day_of_work_counts_the_list_it_started_with() {
    use super::today::{Team, TodayInput, today_work};
    let e = Economics::default();
    let rules = ContactRules::default();
    let mut rows = rows(
        &[
            ("P1", "C1", 0.5, 1000.0, false, "agent"),
            ("P2", "C2", 0.45, 1000.0, false, "agent"),
            ("P3", "C3", 0.4, 1000.0, false, "agent"),
            ("P4", "C4", 0.35, 1000.0, true, "agent"),
            ("P5", "C5", 0.3, 1000.0, false, "agent"),
        ],
        &e,
    );
    // P1 and P2 are served by A1 (team north), P3 and P5 by A2 (south); P4's agent A2 has left.
    for (row, agent) in [(0, "A1"), (1, "A1"), (2, "A2"), (3, "A2"), (4, "A2")] {
        rows.renewals[row].agent = rows.strings.code(agent);
    }
    let day = AS_OF + 1;
    let index = OutcomeIndex::new([
        // The day before: C1 refused (held all day).
        outcome("1", "P1", "C1", "call", ContactResult::Refused, day - 1, None),
        // On the day: C2 reached, C3 refused (on the morning's list, held now), C5 (beyond the
        // capacity) did not answer.
        outcome("2", "P2", "C2", "call", ContactResult::Reached, day, None),
        outcome("3", "P3", "C3", "call", ContactResult::Refused, day, None),
        outcome("4", "P5", "C5", "sms", ContactResult::NoAnswer, day, None),
    ]);
    let order = CustomerOrder::by_risk(&rows, &e);
    let team_of = |agent: &str| match agent {
        "A1" => Some("north".to_string()),
        "A2" => Some("south".to_string()),
        _ => None,
    };
    let input = TodayInput {
        rows: &rows,
        order: &order,
        economics: &e,
        rules: &rules,
        capacity: &Capacity::Total(3),
        outcomes: &index,
        held_out: &[],
        as_of: AS_OF,
        day,
        team_of: &team_of,
        morning: None,
        live_verdicts: None,
    };
    let work = today_work(&input);
    // A server keeps the morning's list and the compiled rules between views: the same counts.
    let morning = super::today::morning_list(&input);
    let live = RuleVerdicts::new(&rules, &index, &order, &rows, &e, AS_OF);
    assert_eq!(today_work(&TodayInput { morning: Some(&morning), live_verdicts: Some(&live), ..input }), work);
    assert_eq!(super::today::outcomes_before(&index, day), 1);
    // The morning's list: C1 held by yesterday's refusal, then C2, C3, C4 by risk (capacity 3).
    assert_eq!((work.listed(), work.contacted(), work.matching), (3, 2, 4));
    let team = |t: Team| work.teams.iter().find(|d| d.team == t).map(|d| (d.listed_total(), d.contacted));
    assert_eq!(team(Team::Named("north".into())), Some((1, 1)));
    assert_eq!(team(Team::Named("south".into())), Some((1, 1)));
    assert_eq!(team(Team::Orphans), Some((1, 0)), "a left agent's renewal goes to the orphan team, not to the agent's old team");
    let count = |r: ContactResult| work.results.iter().find(|x| x.0 == r).map(|x| x.1);
    assert_eq!((count(ContactResult::Reached), count(ContactResult::Refused), count(ContactResult::NoAnswer)), (Some(1), Some(1), Some(1)));
    assert_eq!(work.outcomes(), 3, "yesterday's outcome is not today's");
    assert_eq!(work.off_list, 1, "C5 was not on the morning's list");
    assert_eq!(work.refusal_reasons, [("cannot_afford".to_string(), 1)]);
    let refused = work.held.iter().find(|h| h.0 == Rule::Refused).unwrap();
    assert_eq!((refused.1, refused.2), (1, 2), "C3's refusal holds it now, not in the morning");
    // Per action, the same contacts.
    assert_eq!(work.actions.iter().map(|a| a.listed).sum::<usize>(), 3);
    assert_eq!(work.actions.iter().map(|a| a.renewals).sum::<usize>(), 3);
    assert!(work.actions.iter().all(|a| a.capacity.is_none()) && work.total_capacity == Some(3));
}
