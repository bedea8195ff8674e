//! The collection KPIs to the contract's letter, against an independent computation on a
//! generated book, and risk adjustment that credits skill, not easy books.

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use super::*;
use lapse_core::extract::{OnError, load_book};
use lapse_core::testkit::{CUSTOMERS_HEADER, EVENTS_HEADER, INSTALLMENTS_HEADER, POLICIES_HEADER, day};

fn write(dir: &Path, name: &str, header: &str, rows: &[&str]) {
    let mut text = format!("{header}\n");
    for row in rows {
        text.push_str(row);
        text.push('\n');
    }
    fs::write(dir.join(format!("{name}.csv")), text).unwrap();
}

fn policy(id: &str, agent: &str, region: &str) -> String {
    format!("{id},C1,WL01,whole_life,agent,{agent},2024-01-01,annual,1000,20000,10,auto_debit,{region},in_force,")
}

fn options(as_of: &str, months: &str) -> PerformanceOptions {
    PerformanceOptions { as_of: day(as_of), months: Month::range(months).unwrap(), levels: Level::ALL.to_vec(), grace_days: 60, targets: Vec::new() }
}

fn find<'r>(report: &'r PerformanceReport, level: Level, key: &str, month: &str) -> &'r GroupMonth {
    report.groups.iter().find(|g| g.level == level && g.key == key && g.month == month).unwrap_or_else(|| panic!("no {level:?} {key} {month}"))
}

#[test]
fn collection_rates_follow_the_contract_to_the_cent() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "customers", CUSTOMERS_HEADER, &["C1,1980-05-01,F,Guangdong,2"]);
    write(d, "agents", "agent_id,hire_date,leave_date,team,branch", &["A1,2015-01-01,,T1,B1", "A2,2015-01-01,,T1,B1", "A3,2015-01-01,,,B2"]);
    let policies = [
        policy("P1", "A1", "GD"),
        policy("P2", "A1", "GD"),
        policy("P3", "A2", "SH"),
        policy("P4", "", "SH"),
        policy("P5", "A2", "SH"),
        policy("P6", "A3", "GD"),
    ];
    write(d, "policies", POLICIES_HEADER, &policies.iter().map(String::as_str).collect::<Vec<_>>());
    write(
        d,
        "installments",
        INSTALLMENTS_HEADER,
        &[
            "P1,2,2026-01-10,1000,2026-02-20,1000,auto_debit,0", // in grace (deadline 03-11): collected
            "P1,3,2026-02-10,1000,2026-02-10,1000,auto_debit,0", // on time
            "P2,2,2026-01-20,500,2026-03-25,500,auto_debit,0",   // after its deadline (03-21): not collected
            "P2,3,2026-03-20,500,2026-04-20,500,auto_debit,0",   // paid after T: not collected, open
            "P3,3,2026-01-31,300,,,auto_debit,0",                // deadline 04-01, before T: lapsed
            "P4,2,2026-01-05,200,2026-01-05,150,cash,0",         // no agent; part paid: 150 collected
            "P5,1,2026-01-15,700,2026-01-15,700,cash,0",         // the first premium: not a renewal
            "P6,2,2026-02-20,400,,,cash,0",                      // deadline 04-21, after T: open
        ],
    );
    write(d, "events", EVENTS_HEADER, &[]);
    let book = load_book(d, OnError::Strict).unwrap().book;
    let mut opts = options("2026-04-15", "2026-01..2026-03");
    opts.targets = vec![Target { level: Level::Agent, key: "A1".into(), month: Month::parse("2026-01").unwrap(), target_rate: 0.8 }];
    opts.targets.push(Target { level: Level::Agent, key: "A9".into(), month: Month::parse("2026-01").unwrap(), target_rate: 0.8 });
    let report = report(&book, &opts, RenewalInputs::default());

    let jan = find(&report, Level::All, "all", "2026-01");
    assert_eq!((jan.renewals_due, jan.premium_due, jan.renewals_collected, jan.premium_collected), (4, 2000.0, 2, 1150.0));
    assert_eq!((jan.collection_rate, jan.count_rate, jan.open), (Some(0.575), Some(0.5), false));
    let a1 = find(&report, Level::Agent, "A1", "2026-01");
    assert_eq!((a1.premium_due, a1.premium_collected, a1.collection_rate), (1500.0, 1000.0, Some(1000.0 / 1500.0)));
    assert_eq!(a1.target_rate, Some(0.8));
    assert!((a1.attainment.unwrap() - (1000.0 / 1500.0) / 0.8).abs() < 1e-12);
    assert_eq!(a1.gap_premium, Some(0.8 * 1500.0 - 1000.0));
    assert_eq!(report.unmatched_targets, ["agent,A9,2026-01"]);
    let none = find(&report, Level::Agent, NO_AGENT, "2026-01");
    assert_eq!((none.premium_due, none.premium_collected), (200.0, 150.0));
    // The team: A1 and A2; policies without an agent are "no agent" at every agent level.
    let t1 = find(&report, Level::Team, "T1", "2026-01");
    assert_eq!((t1.premium_due, t1.premium_collected), (1800.0, 1000.0));
    assert_eq!(find(&report, Level::Branch, NO_AGENT, "2026-01").premium_collected, 150.0);
    assert_eq!(find(&report, Level::Region, "SH", "2026-01").premium_due, 500.0);
    // February is still open (P6's grace ends after T), counted in the due figures.
    let feb = find(&report, Level::All, "all", "2026-02");
    assert_eq!((feb.premium_due, feb.premium_collected, feb.open, feb.renewals_open, feb.premium_open), (1400.0, 1000.0, true, 1, 400.0));
    assert!(find(&report, Level::Team, "no team", "2026-02").open, "A3 has no team");
    assert!(!find(&report, Level::Agent, "A1", "2026-02").open, "A1's February is settled");
    // The period: every month together.
    let total = find(&report, Level::All, "all", "2026-01..2026-03");
    assert_eq!((total.renewals_due, total.premium_due, total.premium_collected, total.open), (7, 3900.0, 2150.0, true));
    // The incentive export: one row per agent and month, team and branch beside.
    let csv = export::agent_rows(&report, &book);
    let a1_jan: Vec<&str> = csv.lines().find(|l| l.starts_with("2026-01,A1,")).unwrap().split(',').collect();
    assert_eq!(a1_jan.len(), export::COLUMNS.len());
    assert_eq!(a1_jan[..20].join(","), "2026-01,A1,T1,B1,2,1500.00,1,1000.00,0.666667,0.5,false,0,0.00,0.8,0.833333,200.00,,,,");
    let shrunk = a1_jan[20];
    // Rank 1; P1's month-13 premium (installment 2) fell due in January and was paid in grace,
    // P2's was not: A1's 13th-month persistency there is 1 of 2; no work columns without a store.
    assert_eq!(a1_jan[21..].join(","), "1,2,0.5,0,,,,,,,,,,");
    // Shrunk towards the agents' January (A2 collected nothing of 300, no agent 150 of 200):
    // below A1's own rate, above the agents' lowest.
    let shrunk: f64 = shrunk.parse().unwrap();
    assert!(shrunk < 1000.0 / 1500.0 && shrunk > 0.0, "{shrunk}");
    assert_eq!(a1.rank, Some(1), "A1 still leads January");
    assert_eq!(csv.lines().next().unwrap(), export::COLUMNS.join(","));
}

#[test]
fn levels_the_agents_table_cannot_give_are_omitted_and_said() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "customers", CUSTOMERS_HEADER, &["C1,1980-05-01,F,Guangdong,2"]);
    write(d, "agents", "agent_id,hire_date,leave_date", &["A1,2015-01-01,"]);
    write(d, "policies", POLICIES_HEADER, &[&policy("P1", "A1", "GD")]);
    write(d, "installments", INSTALLMENTS_HEADER, &["P1,2,2026-01-10,1000,2026-01-10,1000,auto_debit,0"]);
    write(d, "events", EVENTS_HEADER, &[]);
    let book = load_book(d, OnError::Strict).unwrap().book;
    let report = report(&book, &options("2026-04-15", "2026-01"), RenewalInputs::default());
    let omitted: Vec<Level> = report.omitted_levels.iter().map(|(l, _)| *l).collect();
    assert_eq!(omitted, [Level::Team, Level::Branch]);
    assert!(report.omitted_levels[0].1.contains("team"));
    assert!(report.groups.iter().all(|g| g.level != Level::Team && g.level != Level::Branch));
}

/// The contract's definition computed from the CSV files alone (no `Book`): per (agent, month)
/// and (region, month), premium due and collected, in cents.
fn independent(dir: &Path, as_of: Day, grace: i32) -> HashMap<(String, String, String), (i64, i64)> {
    let read = |name: &str| -> Vec<Vec<String>> {
        let text = fs::read_to_string(dir.join(format!("{name}.csv"))).unwrap();
        text.lines().skip(1).map(|l| l.split(',').map(str::to_string).collect()).collect()
    };
    let policies: HashMap<String, (String, String)> = read("policies").into_iter().map(|r| (r[0].clone(), (r[5].clone(), r[12].clone()))).collect();
    let cents = |s: &str| (s.parse::<f64>().unwrap() * 100.0).round() as i64;
    let mut out: HashMap<(String, String, String), (i64, i64)> = HashMap::new();
    for r in read("installments") {
        if r[1].parse::<u32>().unwrap() < 2 {
            continue;
        }
        let due = day(&r[2]);
        let month = r[2][..7].to_string();
        let collected = !r[4].is_empty() && day(&r[4]) <= due + grace && day(&r[4]) < as_of;
        let (agent, region) = &policies[&r[0]];
        let agent = if agent.is_empty() { NO_AGENT.to_string() } else { agent.clone() };
        for key in [("agent".to_string(), agent), ("region".to_string(), region.clone())] {
            let e = out.entry((key.0, key.1, month.clone())).or_default();
            e.0 += cents(&r[3]);
            if collected {
                e.1 += cents(&r[5]);
            }
        }
    }
    out
}

#[test]
fn a_generated_books_closed_months_equal_an_independent_computation() {
    let dir = tempfile::tempdir().unwrap();
    let config = lapse_core::generate::GenerateConfig::new(1500, 5);
    lapse_core::generate::generate(&config).write(dir.path(), lapse_core::extract::read::FileFormat::Csv).unwrap();
    let book = load_book(dir.path(), OnError::Strict).unwrap().book;
    let as_of = day("2026-09-30");
    let report = report(&book, &options("2026-09-30", "2025-10..2026-06"), RenewalInputs::default());
    let truth = independent(dir.path(), as_of, 60);
    let mut checked = 0;
    for g in report.groups.iter().filter(|g| matches!(g.level, Level::Agent | Level::Region) && !g.month.contains("..")) {
        assert!(!g.open, "closed months: {g:?}");
        let want = truth[&(g.level.as_str().to_string(), g.key.clone(), g.month.clone())];
        assert_eq!(((g.premium_due * 100.0).round() as i64, (g.premium_collected * 100.0).round() as i64), want, "{g:?}");
        checked += 1;
    }
    assert!(checked > 300, "{checked}");
    // The month of T is in progress.
    let now = super::report(&book, &options("2026-09-30", "2026-09"), RenewalInputs::default());
    assert!(now.groups.iter().all(|g| g.open));
    assert_eq!((now.closed_period.as_deref(), now.league_period.as_deref()), (None, None));
    // Closed and open months together: the closed months get a period of their own, the sum of
    // their months, never open, and the league ranks it.
    let mixed = super::report(&book, &options("2026-09-30", "2026-04..2026-09"), RenewalInputs::default());
    assert_eq!((mixed.closed_period.as_deref(), mixed.league_period.as_deref()), (Some("2026-04..2026-07"), Some("2026-04..2026-07")));
    for g in mixed.groups.iter().filter(|g| g.month == "2026-04..2026-07") {
        let months: Vec<&GroupMonth> = mixed
            .groups
            .iter()
            .filter(|m| m.level == g.level && m.key == g.key && ["2026-04", "2026-05", "2026-06", "2026-07"].contains(&m.month.as_str()))
            .collect();
        assert_eq!(g.renewals_due, months.iter().map(|m| m.renewals_due).sum::<u64>());
        assert!((g.premium_collected - months.iter().map(|m| m.premium_collected).sum::<f64>()).abs() < 1e-6);
        assert!(!g.open);
        assert_eq!(g.rank.is_some(), !matches!(g.level, Level::All | Level::Servicing), "{g:?}");
    }
    assert!(mixed.groups.iter().any(|g| g.month == "2026-04..2026-09" && g.open), "the whole period is still open");
}

#[test]
fn risk_adjustment_ranks_agents_who_collect_better_than_their_book_above_agents_with_easy_books() {
    use lapse_core::features::BuildPlan;
    use lapse_model::train::{Dataset, DatasetOptions, Family, Params, TrainConfig, train};
    let dir = tempfile::tempdir().unwrap();
    // A book whose agents differ in skill (known to the test, not to the report).
    let config = lapse_core::generate::GenerateConfig { agent_skill_sd: 1.0, ..lapse_core::generate::GenerateConfig::new(8000, 3) };
    let generated = lapse_core::generate::generate(&config);
    generated.write(&dir.path().join("book"), lapse_core::extract::read::FileFormat::Parquet).unwrap();
    let book = load_book(&dir.path().join("book"), OnError::Strict).unwrap().book;
    // The lapse model, trained on the year before the report's months.
    let dates = lapse_core::dates::date_series(day("2024-09-30"), day("2025-08-31"), lapse_core::dates::Step::Months(1));
    let table = dir.path().join("train.parquet");
    BuildPlan { as_of: dates, horizon_days: 30, grace_days: 60, extract_date: day("2025-10-31") }.write(&book, &table).unwrap();
    let data = Dataset::read(&table, &DatasetOptions::default()).unwrap();
    let params = Params { gbdt_rounds: 60, ..Params::default() };
    let model = train(&data, &TrainConfig { families: vec![Family::Gbdt], params, ..TrainConfig::default() }).unwrap().model;

    let options = PerformanceOptions { levels: vec![Level::Agent], ..options("2026-09-30", "2025-10..2026-06") };
    let (lapse, risk) = expected::expected_lapse(&book, &model, "v0001", None, &options.months, 60).unwrap();
    assert!(risk.scored > 1000 && risk.neutralized.contains(&"agent_lapse_rate_12m".to_string()), "{risk:?}");
    // Scored a few rows at a time, the same probabilities.
    let (small_blocks, _) = expected::expected_lapse_in_blocks(&book, &model, "v0001", None, &options.months[..2], 60, 97).unwrap();
    let both = |i: usize| (lapse[i], small_blocks[i]);
    let first_two = Month::parse("2025-12").unwrap().first_day();
    for i in (0..lapse.len()).filter(|&i| book.installments.due[i] < first_two) {
        let (a, b) = both(i);
        assert!(a == b || (a.is_nan() && b.is_nan()), "row {i}: {a} vs {b}");
    }
    let report = report(&book, &options, RenewalInputs { expected: Some((&lapse, &risk)), work: None });
    let period = "2025-10..2026-06";
    let agents: Vec<&GroupMonth> =
        report.groups.iter().filter(|g| g.level == Level::Agent && g.month == period && g.key != NO_AGENT && g.renewals_due >= 25).collect();
    assert!(agents.len() > 40, "{}", agents.len());
    assert!(agents.iter().all(|g| g.observed_to_expected.is_some() && g.rank.is_some()));
    let skill = |g: &GroupMonth| generated.agents.iter().find(|a| a.agent_id == g.key).unwrap().skill;
    let quartile = |values: Vec<f64>, q: f64| {
        let mut v = values;
        v.sort_by(f64::total_cmp);
        v[((v.len() - 1) as f64 * q) as usize]
    };
    // Skilled: the top quarter by true skill. Easy books: ordinary skill (the middle half), the
    // top quarter by what the model expected of their customers.
    let top_skill = quartile(agents.iter().map(|g| skill(g)).collect(), 0.75);
    let (low_mid, high_mid) = (quartile(agents.iter().map(|g| skill(g)).collect(), 0.25), quartile(agents.iter().map(|g| skill(g)).collect(), 0.5));
    let easy_rate = quartile(agents.iter().map(|g| g.expected_rate.unwrap()).collect(), 0.75);
    let skilled: Vec<&&GroupMonth> = agents.iter().filter(|g| skill(g) >= top_skill).collect();
    let easy: Vec<&&GroupMonth> =
        agents.iter().filter(|g| (low_mid..=high_mid).contains(&skill(g)) && g.expected_rate.unwrap() >= easy_rate).collect();
    assert!(skilled.len() >= 5 && !easy.is_empty(), "{} skilled, {} easy", skilled.len(), easy.len());
    // Places among these agents: by the league's figure (shrunk O/E), and by the raw rate.
    let place = |g: &GroupMonth, better: &dyn Fn(&GroupMonth, &GroupMonth) -> bool| 1 + agents.iter().filter(|o| better(o, g)).count();
    let adjusted = |set: &[&&GroupMonth]| {
        set.iter().map(|g| place(g, &|o, g| o.shrunk_observed_to_expected > g.shrunk_observed_to_expected) as f64).sum::<f64>() / set.len() as f64
    };
    let raw =
        |set: &[&&GroupMonth]| set.iter().map(|g| place(g, &|o, g| o.collection_rate > g.collection_rate) as f64).sum::<f64>() / set.len() as f64;
    // Raw rates put easy books close to skill (their customers pay anyway); the risk-adjusted
    // league ranks skill well above them, and moves the easy books down.
    assert!(adjusted(&skilled) < adjusted(&easy), "skilled {:.1} vs easy books {:.1}", adjusted(&skilled), adjusted(&easy));
    assert!(adjusted(&easy) > raw(&easy), "easy books: raw place {:.1}, adjusted {:.1}", raw(&easy), adjusted(&easy));
    // And the league's figure rises with the agents' true skill.
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (xs, ys): (Vec<f64>, Vec<f64>) = agents.iter().map(|g| (skill(g), g.shrunk_observed_to_expected.unwrap())).unzip();
    let (mx, my) = (mean(&xs), mean(&ys));
    let cov: f64 = xs.iter().zip(&ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let sx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum::<f64>().sqrt();
    let sy: f64 = ys.iter().map(|y| (y - my).powi(2)).sum::<f64>().sqrt();
    assert!(cov / (sx * sy) > 0.3, "correlation of shrunk O/E with true skill: {:.2}", cov / (sx * sy));
}

#[test]
fn targets_are_read_with_their_bad_rows_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("targets.csv");
    fs::write(&path, "\u{feff}level,key,month,target_rate\nagent,A1,2026-01,0.9\nteam,T1,2026-02,85%\n").unwrap();
    let targets = read_targets(&path).unwrap();
    assert_eq!(targets[1], Target { level: Level::Team, key: "T1".into(), month: Month::parse("2026-02").unwrap(), target_rate: 0.85 });
    fs::write(&path, "level,key,month,target_rate\nagent,A1,2026-01,0.9\ndivision,D1,2026-01,0.9\nagent,A2,Jan,0.9\nagent,A3,2026-01,1.5\n").unwrap();
    let message = read_targets(&path).unwrap_err().to_string();
    for part in ["targets.csv", "3 bad row(s)", "row 2 (level)", "row 3 (month)", "row 4 (target_rate)"] {
        assert!(message.contains(part), "{part}: {message}");
    }
    fs::write(&path, "level,key,rate\n").unwrap();
    assert!(read_targets(&path).unwrap_err().to_string().contains("no column \"month\""));
}

fn outcome(
    policy: &str,
    installment_no: u32,
    action: &str,
    result: lapse_retention::outcomes::ContactResult,
    on: &str,
    promised: Option<&str>,
) -> lapse_retention::outcomes::Outcome {
    lapse_retention::outcomes::Outcome {
        id: format!("{policy}-{installment_no}-{on}-{}", result.as_str()),
        policy_id: policy.into(),
        installment_no,
        customer_id: "C1".into(),
        action: action.into(),
        result,
        at: format!("{on}T10:00:00+08:00"),
        at_ms: 0,
        day: day(on),
        reason: None,
        promised_date: promised.map(day),
        agent_id: None,
        note: None,
    }
}

#[test]
fn orphan_renewals_stand_apart_and_the_work_is_counted_per_renewal() {
    use lapse_retention::outcomes::ContactResult::*;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "customers", CUSTOMERS_HEADER, &["C1,1980-05-01,F,Guangdong,2"]);
    // A2 left on 2025-12-01.
    write(d, "agents", "agent_id,hire_date,leave_date,team,branch", &["A1,2015-01-01,,T1,B1", "A2,2015-01-01,2025-12-01,T1,B1"]);
    let policies = [policy("P1", "A1", "GD"), policy("P2", "A2", "GD"), policy("P3", "A1", "GD"), policy("P4", "", "GD"), policy("P5", "A2", "GD")];
    write(d, "policies", POLICIES_HEADER, &policies.iter().map(String::as_str).collect::<Vec<_>>());
    write(
        d,
        "installments",
        INSTALLMENTS_HEADER,
        &[
            "P1,2,2026-01-10,1000,2026-01-12,1000,auto_debit,0", // serviced, collected
            "P2,2,2026-01-10,800,,,cash,0",                      // orphan (A2 left), lapsed
            "P3,2,2026-01-15,300,2026-01-22,300,cash,0",         // before its reassignment of 02-01
            "P3,3,2026-02-15,300,2026-02-16,300,cash,0",         // after it
            "P4,2,2026-01-20,200,,,cash,0",                      // no agent
            "P5,2,2025-11-20,500,2025-11-20,500,cash,0",         // A2 still in service then
        ],
    );
    // P5 was taken over on 2026-01-05, after A2 left, yet the extract still names A2.
    write(d, "events", EVENTS_HEADER, &["P3,2026-02-01,agent_change,", "P5,2026-01-05,agent_change,"]);
    let book = load_book(d, OnError::Strict).unwrap().book;
    let opts = options("2026-06-01", "2025-11..2026-02");
    let states = servicing::servicing_states(&book, opts.as_of);
    let inst = &book.installments;
    let state_of = |p: &str, n: u32| {
        let p = book.policies.id.iter().position(|x| x == p).unwrap();
        servicing::STATES[states[inst.of_policy(p).find(|&i| inst.number[i] == n).unwrap()] as usize]
    };
    assert_eq!(
        [state_of("P1", 2), state_of("P2", 2), state_of("P3", 2), state_of("P3", 3), state_of("P4", 2), state_of("P5", 2)],
        ["serviced", "orphan", "before reassignment", "after reassignment", "no agent", "before reassignment"]
    );

    // The work: an unanswered call, then a visit that reached P1's customer; a promise on P2 not
    // kept; a promise on P3 kept (paid within 3 days of the promised date); an administrative
    // record, an outcome on a policy the extract lacks and one after T count for nothing.
    let outcomes = [
        outcome("P1", 2, "call", NoAnswer, "2026-01-05", None),
        outcome("P1", 2, "visit", Reached, "2026-01-06", None),
        outcome("P2", 2, "call", Promised, "2026-01-08", Some("2026-01-25")),
        outcome("P3", 2, "call", Promised, "2026-01-14", Some("2026-01-20")),
        outcome("P3", 3, "sms", ContactAllowed, "2026-02-10", None),
        outcome("P9", 2, "call", Reached, "2026-01-05", None),
        outcome("P4", 2, "call", Reached, "2026-06-02", None),
    ];
    let mut listed = crate::funnel::Listed::new();
    listed.insert("P1".into(), vec![(2, day("2026-01-02"), "call".into())]);
    listed.insert("P4".into(), vec![(2, day("2026-01-02"), "call".into())]);
    let (flags, source) = work::inputs(&book, opts.as_of, Some(&outcomes), &[], Some((listed, 2))).unwrap();
    assert_eq!((source.outcomes_read, source.outcomes_used, source.outcomes_unmatched, source.score_log_lines), (7, 4, 1, Some(2)));
    let report = report(&book, &opts, RenewalInputs { expected: None, work: Some((&flags, &source)) });
    let period = "2025-11..2026-02";
    let a1 = find(&report, Level::Agent, "A1", period).work.unwrap();
    // A1: P1/2 (listed, attempted, reached, visited), P3/2 (promised, kept), P3/3 (nothing).
    assert_eq!(
        (
            a1.renewals_listed,
            a1.listed_worked,
            a1.renewals_attempted,
            a1.renewals_reached,
            a1.promises_made,
            a1.promises_kept,
            a1.promises_broken,
            a1.renewals_visited
        ),
        (1, 1, 2, 2, 1, 1, 0, 1)
    );
    assert_eq!((a1.visit_rate, a1.list_worked_share, a1.reach_rate, a1.promise_kept_rate), (Some(1.0 / 3.0), Some(1.0), Some(1.0), Some(1.0)));
    let a2 = find(&report, Level::Agent, "A2", period).work.unwrap();
    assert_eq!((a2.promises_made, a2.promises_broken, a2.promise_kept_rate), (1, 1, Some(0.0)));
    let nobody = find(&report, Level::Agent, NO_AGENT, period).work.unwrap();
    assert_eq!((nobody.renewals_listed, nobody.listed_worked, nobody.list_worked_share, nobody.renewals_attempted), (1, 0, Some(0.0), 0));
    // The team sums its agents.
    let t1 = find(&report, Level::Team, "T1", period).work.unwrap();
    assert_eq!((t1.renewals_attempted, t1.promises_made), (a1.renewals_attempted + a2.renewals_attempted, 2));

    // Orphans apart, with their collection rates.
    let orphan = find(&report, Level::Servicing, "orphan", period);
    assert_eq!((orphan.renewals_due, orphan.premium_due, orphan.collection_rate), (1, 800.0, Some(0.0)));
    let before = find(&report, Level::Servicing, "before reassignment", period);
    assert_eq!((before.renewals_due, before.premium_due, before.premium_collected), (2, 800.0, 800.0));
    assert_eq!(find(&report, Level::Servicing, "after reassignment", "2026-02").premium_collected, 300.0);
    assert!(report.groups.iter().filter(|g| g.level == Level::Servicing).all(|g| g.rank.is_none() && g.persistency_13_policies == 0));
    // The page shows each part.
    let page = crate::pages::performance_page(
        &crate::pages::Context { night: "2026-06-01".into(), generated_at: "now".into(), lang: Default::default() },
        &report,
    )
    .into_string();
    for heading in ["Orphan policies", "Persistency by agent", "The work behind it", "Work by team"] {
        assert!(page.contains(heading), "{heading}");
    }
}

fn closed_agent(key: &str, collected: u64, due: u64) -> GroupMonth {
    GroupMonth {
        level: Level::Agent,
        key: key.into(),
        month: "2026-01".into(),
        renewals_due: due,
        premium_due: due as f64,
        renewals_collected: collected,
        premium_collected: collected as f64,
        collection_rate: Some(collected as f64 / due as f64),
        count_rate: Some(collected as f64 / due as f64),
        open: false,
        renewals_open: 0,
        premium_open: 0.0,
        target_rate: None,
        attainment: None,
        gap_premium: None,
        expected_collected: None,
        expected_rate: None,
        observed_to_expected: None,
        oe_low: None,
        oe_high: None,
        shrunk_observed_to_expected: None,
        shrunk_collection_rate: None,
        rank: None,
        persistency_13_policies: 0,
        persistency_13: None,
        persistency_13_premium: None,
        persistency_25_policies: 0,
        persistency_25: None,
        persistency_25_premium: None,
        work: None,
    }
}

#[test]
fn a_league_within_noise_shares_the_first_place_and_a_real_spread_is_ranked() {
    // Four agents of 10 renewals at 80-90%: the spread is what chance gives, no agent is
    // placed above another.
    let mut noise = vec![closed_agent("A4", 8, 10), closed_agent("A1", 9, 10), closed_agent("A3", 8, 10), closed_agent("A2", 9, 10)];
    shrink_and_rank(&mut noise);
    assert!(noise.iter().all(|g| g.rank == Some(1)), "{:?}", noise.iter().map(|g| g.rank).collect::<Vec<_>>());
    let shrunk: Vec<f64> = noise.iter().map(|g| g.shrunk_collection_rate.unwrap()).collect();
    // All pulled to the level's (precision-weighted) mean.
    assert!(shrunk.iter().all(|s| (s - shrunk[0]).abs() < 1e-12 && (0.8..0.9).contains(s)), "{shrunk:?}");
    // Big groups far apart: ranked by their (barely shrunk) rates; the small perfect one is
    // pulled down below the big good one.
    let mut spread = vec![closed_agent("B1", 500, 1000), closed_agent("B2", 950, 1000), closed_agent("B3", 750, 1000), closed_agent("B4", 3, 3)];
    shrink_and_rank(&mut spread);
    let rank = |key: &str| spread.iter().find(|g| g.key == key).unwrap().rank.unwrap();
    assert_eq!((rank("B2"), rank("B3"), rank("B1")), (1, 3, 4));
    assert_eq!(rank("B4"), 2, "three of three is not above 950 of 1000");
}
