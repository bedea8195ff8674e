//! The synthetic book: deterministic, valid under the contract, and lapsing for the reasons the
//! generator documents.

use std::fs;

use crate::extract::read::FileFormat;
use crate::extract::{OnError, load_book};
use crate::generate::{GenerateConfig, generate};

#[test]
fn same_seed_same_bytes_other_seed_other_book() {
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    for (dir, seed) in dirs.iter().zip([9, 9, 10]) {
        generate(&GenerateConfig::new(400, seed)).write(dir.path(), FileFormat::Csv).unwrap();
    }
    for table in ["policies", "customers", "installments", "events", "agents"] {
        let read = |i: usize| fs::read(dirs[i].path().join(format!("{table}.csv"))).unwrap();
        assert_eq!(read(0), read(1), "{table}.csv differs between two runs with the same seed");
        assert_ne!(read(0), read(2), "{table}.csv is the same for another seed");
    }
}

#[test]
fn generated_book_is_valid_and_has_the_contract_shape() {
    let dir = tempfile::tempdir().unwrap();
    let generated = generate(&GenerateConfig::new(1500, 21));
    generated.write(dir.path(), FileFormat::Csv).unwrap();
    let loaded = load_book(dir.path(), OnError::Strict).expect("a generated book breaks no rule");
    let book = loaded.book;
    assert_eq!(book.policies.len(), 1500);
    let holders = book.customers.id.len();
    assert!((1500 / 3..1500).contains(&holders), "customers hold 1-3 policies: {holders}");
    assert!((0..book.policies.len()).any(|p| book.policies.agent[p].is_some_and(|a| book.agents.leave_date[a as usize].is_some())), "some orphans");
    for channel in ["agent", "bancassurance", "telemarketing", "online"] {
        assert!(book.policies.channel.code_of(channel).is_some(), "no {channel} policies");
    }
    for kind in ["complaint", "claim", "policy_loan", "contact_sms", "reinstatement", "debit_failed"] {
        assert!(book.events.kind.code_of(kind).is_some(), "no {kind} events");
    }
    let auto = book.policies.payment_method.code_of("auto_debit").unwrap();
    let share = book.policies.payment_method.codes.iter().filter(|&&c| c == auto).count() as f64 / 1500.0;
    assert!((0.55..0.9).contains(&share), "mostly auto-debit: {share}");
}

/// Lapse rate of renewals by policy year, from the generated rows (outcomes known by the extract).
#[test]
fn lapse_peaks_in_the_second_policy_year_and_follows_its_drivers() {
    let config = GenerateConfig::new(6000, 4);
    let book = generate(&config);
    let mut by_year = [(0u32, 0u32); 8];
    let (mut auto, mut cash) = ((0u32, 0u32), (0u32, 0u32));
    for r in &book.installments {
        if r.installment_no < 2 || r.due_date + 60 >= config.extract_date {
            continue;
        }
        let p = &book.policies[r.policy as usize];
        if p.frequency.per_year() != 1 {
            continue;
        }
        let lapsed = r.paid_date.is_none_or(|d| d > r.due_date + 60);
        let year = (crate::dates::whole_years_between(p.issue_date, r.due_date) + 1).min(7) as usize;
        by_year[year].0 += 1;
        by_year[year].1 += u32::from(lapsed);
        let slot = match p.payment_method {
            "auto_debit" => &mut auto,
            "cash" => &mut cash,
            _ => continue,
        };
        slot.0 += 1;
        slot.1 += u32::from(lapsed);
    }
    let rate = |(n, l): (u32, u32)| f64::from(l) / f64::from(n.max(1));
    let (y2, y4, y7) = (rate(by_year[2]), rate(by_year[4]), rate(by_year[7]));
    assert!(y2 > y4 && y4 > y7, "year 2 {y2:.3} > year 4 {y4:.3} > year 7+ {y7:.3}");
    assert!((0.08..0.3).contains(&y2), "second-year lapse rate {y2:.3} is implausible");
    assert!(rate(cash) > 1.5 * rate(auto), "cash {:.3} vs auto-debit {:.3}", rate(cash), rate(auto));
}

#[test]
fn committed_sample_matches_the_generator() {
    let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../training-data-samples/book");
    let dir = tempfile::tempdir().unwrap();
    generate(&GenerateConfig::new(3000, 42)).write(dir.path(), FileFormat::Csv).unwrap();
    for table in ["policies", "customers", "installments", "events", "agents"] {
        let name = format!("{table}.csv");
        assert!(
            fs::read(sample.join(&name)).unwrap_or_else(|e| panic!("{}: {e}", sample.join(&name).display()))
                == fs::read(dir.path().join(&name)).unwrap_or_else(|e| panic!("{}: {e}", dir.path().join(&name).display())),
            "training-data-samples/book/{name} is stale: regenerate it (see training-data-samples/README.md)"
        );
    }
}

#[test]
fn a_replayed_campaign_changes_the_book_only_from_each_listed_renewal_on() {
    use crate::dates::parse_day;
    use crate::generate::campaign::{CampaignPlan, PlannedContact};
    let config = GenerateConfig::new(3000, 17);
    let before = generate(&config);
    // Every unpaid-or-late renewal due around the campaign date, alternately treated: visits.
    let as_of = parse_day("2026-06-30").unwrap();
    let mut plan = CampaignPlan { name: "test".into(), as_of, by_policy: Default::default() };
    let mut treated = false;
    for i in before.installments.iter().filter(|i| i.installment_no >= 2 && (as_of - 60..=as_of + 30).contains(&i.due_date)) {
        if i.paid_date.is_some_and(|p| p < as_of) {
            continue;
        }
        treated = !treated;
        let policy_id = before.policies[i.policy as usize].policy_id.clone();
        plan.by_policy.entry(policy_id).or_default().push(PlannedContact {
            installment_no: i.installment_no,
            action: "visit".into(),
            treated,
            segment: "medium_risk_medium_value".into(),
        });
    }
    let listed: usize = plan.by_policy.values().map(Vec::len).sum();
    assert!(listed > 200, "{listed}");
    let after = generate(&GenerateConfig { campaign: Some(plan.clone()), ..config.clone() });
    let config_extract = || config.extract_date;
    assert_eq!(after.campaign_truth.len(), listed, "the world reaches every listed renewal");
    assert_eq!(before.customers.len(), after.customers.len());
    // Rows of policies not listed are identical; a listed policy's rows are identical before its
    // first listed renewal.
    let first_listed =
        |policy: u32| plan.by_policy.get(&before.policies[policy as usize].policy_id).and_then(|c| c.iter().map(|c| c.installment_no).min());
    let key = |i: &crate::generate::InstallmentRow| (i.policy, i.installment_no);
    let after_rows: std::collections::HashMap<_, _> = after.installments.iter().map(|i| (key(i), i)).collect();
    for i in &before.installments {
        if first_listed(i.policy).is_some_and(|first| i.installment_no >= first) {
            continue;
        }
        assert_eq!(after_rows.get(&key(i)).map(|r| format!("{r:?}")), Some(format!("{i:?}")), "policy {} #{}", i.policy, i.installment_no);
    }
    // A control renewal's outcome is its untreated one; treated ones are saved only if they
    // would lapse, and some are.
    let saved = after.campaign_truth.iter().filter(|t| t.lapse_untreated && !t.lapse_treated).count();
    assert!(saved > 0);
    for t in &after.campaign_truth {
        assert!(!t.lapse_treated || t.lapse_untreated, "a contact never causes a lapse in this world");
        let policy = after.policies.iter().position(|p| p.policy_id == t.policy_id).unwrap() as u32;
        let row = after_rows[&(policy, t.installment_no)];
        let paid_in_grace = row.paid_date.is_some_and(|p| p <= row.due_date + 60);
        let lapsed = if t.arm == "control" { t.lapse_untreated } else { t.lapse_treated };
        // Paid in grace exactly when it did not lapse (a payment after the extract is unknown).
        if row.due_date + 60 < config_extract() {
            assert_eq!(paid_in_grace, !lapsed, "{} #{} ({})", t.policy_id, t.installment_no, t.arm);
        }
    }
    // Delivered contacts of the treatment arm leave contact_visit events after the campaign date.
    assert!(
        after.events.iter().filter(|e| e.event_type == "contact_visit" && e.event_date > as_of).count()
            > before.events.iter().filter(|e| e.event_type == "contact_visit" && e.event_date > as_of).count()
    );
}

#[test]
fn every_drawn_renewal_has_its_true_lapse_probability() {
    assert!(generate(&GenerateConfig::new(50, 5)).lapse_probabilities.is_empty(), "kept only when asked");
    let book = generate(&GenerateConfig { record_lapse_probabilities: true, ..GenerateConfig::new(500, 5) });
    let drawn = book.lapse_probabilities.len();
    let renewals = book.installments.iter().filter(|i| i.installment_no >= 2 && i.due_date <= parse_day_for_test("2026-09-30")).count();
    assert!(drawn > 0 && drawn <= renewals, "{drawn} of {renewals}");
    assert!(book.lapse_probabilities.iter().all(|&(_, k, p)| k >= 2 && p > 0.0 && p < 1.0));
    // Keyed to real installments.
    let keys: std::collections::HashSet<(u32, u32)> = book.installments.iter().map(|i| (i.policy, i.installment_no)).collect();
    assert!(book.lapse_probabilities.iter().all(|&(p, k, _)| keys.contains(&(p, k))));
    let dir = tempfile::tempdir().unwrap();
    book.write_lapse_probabilities(&dir.path().join("t.csv")).unwrap();
    assert_eq!(fs::read_to_string(dir.path().join("t.csv")).unwrap().lines().count(), drawn + 1);
}

fn parse_day_for_test(text: &str) -> crate::dates::Day {
    crate::dates::parse_day(text).unwrap()
}

#[test]
fn reinstatement_follows_its_documented_drivers() {
    // Win-back candidates at six month-ends whose 90 days are known, by driver: reinstated
    // within 90 days more often when recently lapsed, with an agent in service, and after a
    // recent win-back contact (training-data-samples/README.md).
    use crate::winback::features::{LabelPlan, frame, label_column};
    let dir = tempfile::tempdir().unwrap();
    generate(&GenerateConfig::new(12_000, 5)).write(dir.path(), FileFormat::Csv).unwrap();
    let book = load_book(dir.path(), OnError::Strict).unwrap().book;
    let plan = LabelPlan { horizon_days: 90, extract_date: parse_day_for_test("2026-09-30") };
    // (days since lapse, agent in service, days since the last win-back contact, reinstated)
    type Row = (f64, f64, f64, u8);
    let mut rows: Vec<Row> = Vec::new();
    for t in ["2025-12-31", "2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31"] {
        let t = parse_day_for_test(t);
        let list = crate::winback::candidates(&book, t, 60, 730, 5.0);
        let df = frame(&book, &list, t, Some(plan)).unwrap();
        let f = |name: &str| df.column(name).unwrap().f64().unwrap().into_no_null_iter().collect::<Vec<f64>>();
        let (since, has_agent, left, contact) = (f("days_since_lapse"), f("has_agent"), f("agent_left"), f("days_since_last_contact"));
        let label = df.column(&label_column(90)).unwrap().i32().unwrap().into_no_null_iter().collect::<Vec<i32>>();
        for i in 0..df.height() {
            rows.push((since[i], has_agent[i] * (1.0 - left[i]), contact[i], label[i] as u8));
        }
    }
    let rate = |keep: &dyn Fn(&Row) -> bool| {
        let picked: Vec<_> = rows.iter().filter(|r| keep(r)).collect();
        assert!(picked.len() > 300, "{} rows", picked.len());
        picked.iter().filter(|r| r.3 == 1).count() as f64 / picked.len() as f64
    };
    let (recent, old) = (rate(&|r| r.0 < 180.0), rate(&|r| r.0 >= 365.0));
    let (active, none) = (rate(&|r| r.1 == 1.0), rate(&|r| r.1 == 0.0));
    let (contacted, not) = (rate(&|r| r.2 < 60.0), rate(&|r| r.2.is_nan() || r.2 >= 60.0));
    assert!(recent > 1.5 * old, "recent {recent:.4} vs old {old:.4}");
    assert!(active > 1.2 * none, "agent in service {active:.4} vs none {none:.4}");
    assert!(contacted > 1.5 * not, "contacted {contacted:.4} vs not {not:.4}");
}

#[test]
fn the_streamed_book_is_the_book_written_whole() {
    use crate::generate::write_streamed;
    let config = GenerateConfig::new(1500, 9);
    let (whole, streamed) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    generate(&config).write(whole.path(), FileFormat::Csv).unwrap();
    // 97 customers a chunk: many chunks, the last one short.
    let summary = write_streamed(&config, streamed.path(), FileFormat::Csv, 97).unwrap();
    assert_eq!(summary.policies, 1500);
    for table in ["policies", "customers", "installments", "events", "agents"] {
        let name = format!("{table}.csv");
        assert!(fs::read(whole.path().join(&name)).unwrap() == fs::read(streamed.path().join(&name)).unwrap(), "{name} differs");
    }
    // Parquet: the same rows as the CSV book, read back through the contract.
    let parquet = tempfile::tempdir().unwrap();
    write_streamed(&config, parquet.path(), FileFormat::Parquet, 97).unwrap();
    let (a, b) = (load_book(whole.path(), OnError::Strict).unwrap().book, load_book(parquet.path(), OnError::Strict).unwrap().book);
    assert_eq!(
        (a.policies.id, a.installments.due, a.installments.paid, a.events.date),
        (b.policies.id, b.installments.due, b.installments.paid, b.events.date)
    );
    assert!(fs::read_dir(parquet.path()).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().starts_with('.')), "no temp file left");
}
