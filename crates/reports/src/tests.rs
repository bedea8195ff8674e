//! Analysts' reports on hand-made extracts: persistency KPIs and realised performance, case by case.

use crate::persistency::{persists, report};
use lapse_core::extract::{OnError, load_book};

use lapse_core::testkit::{CsvBook, day};

#[test]
fn thirteenth_month_persistency_follows_its_definition() {
    let dir = tempfile::tempdir().unwrap();
    let mut book = CsvBook::new();
    // Issued 2024-01-15, annual: the month-13 premium is installment 2, due 2025-01-15.
    book.annual_policy("ON_TIME", "2024-01-15").installment("ON_TIME", 2, "2025-01-15", "2025-01-20");
    book.annual_policy("IN_GRACE", "2024-01-15").installment("IN_GRACE", 2, "2025-01-15", "2025-03-16"); // day 60
    book.annual_policy("AFTER_GRACE", "2024-01-15").installment("AFTER_GRACE", 2, "2025-01-15", "2025-03-17"); // day 61
    book.annual_policy("UNPAID", "2024-01-15").installment("UNPAID", 2, "2025-01-15", "");
    book.annual_policy("NO_ROW", "2024-01-15"); // lapsed before: no month-13 installment in the extract
    book.annual_policy("NOT_DUE", "2025-06-01"); // its month-13 premium is not due by the as-of date
    book.annual_policy("DIED", "2024-01-15");
    let died = book.policies.last_mut().unwrap();
    *died = died.replace("in_force,", "death_claim,2024-11-01");
    let loaded = load_book(&book.write(dir.path()), OnError::Strict).unwrap();
    let b = &loaded.book;
    let as_of = day("2025-12-31");
    let id = |name: &str| b.policies.id.iter().position(|p| p == name).unwrap();
    assert_eq!(persists(b, id("ON_TIME"), 13, as_of, 60), Some(true));
    assert_eq!(persists(b, id("IN_GRACE"), 13, as_of, 60), Some(true));
    assert_eq!(persists(b, id("AFTER_GRACE"), 13, as_of, 60), Some(false));
    assert_eq!(persists(b, id("UNPAID"), 13, as_of, 60), Some(false));
    assert_eq!(persists(b, id("NO_ROW"), 13, as_of, 60), Some(false));
    assert_eq!(persists(b, id("NOT_DUE"), 13, as_of, 60), None);
    assert_eq!(persists(b, id("DIED"), 13, as_of, 60), None);
    // Not observed yet: the grace of the month-25 premium (2026-01-15) is not over.
    assert_eq!(persists(b, id("ON_TIME"), 25, as_of, 60), None);

    let r = report(b, as_of, 60);
    let all = r.kpis.iter().find(|k| k.month == 13 && k.dimension == "all").unwrap();
    assert_eq!((all.policies, all.persisting), (5, 2));
    assert_eq!(all.ratio_by_count, Some(0.4));
    assert_eq!(all.ratio_by_premium, Some(0.4), "equal premiums");
    let cohort = r.kpis.iter().find(|k| k.month == 13 && k.dimension == "issue_year" && k.group == "2024").unwrap();
    assert_eq!(cohort.policies, 5);
    assert!(r.definition.contains("grace"));
}

#[test]
fn realised_performance_joins_the_score_log_with_outcomes() {
    use std::fs;
    let dir = tempfile::tempdir().unwrap();
    let mut book = CsvBook::new();
    book.annual_policy("PAID", "2024-01-15").installment("PAID", 2, "2025-01-15", "2025-01-20");
    book.annual_policy("LAPSED", "2024-01-15").installment("LAPSED", 2, "2025-01-15", "");
    book.annual_policy("LATE", "2024-01-15").installment("LATE", 2, "2025-01-15", "2025-04-01");
    book.annual_policy("OPEN", "2024-06-01").installment("OPEN", 2, "2025-06-01", "");
    // Paid early, but its grace is not over: known at once, not matured (counting it would
    // count the payers of a month before its lapses).
    book.annual_policy("EARLY", "2024-04-01").installment("EARLY", 2, "2025-04-01", "2025-03-25");
    let loaded = load_book(&book.write(&dir.path().join("book")), OnError::Strict).unwrap();
    let log = dir.path().join("score-log");
    fs::create_dir_all(&log).unwrap();
    let line = |time: &str, policy: &str, p: f64| {
        format!(
            "{{\"time\":\"{time}\",\"request_id\":\"r\",\"endpoint\":\"score\",\"model_version\":\"v0001\",\"policy_id\":\"{policy}\",\"installment_no\":2,\"due_date\":\"2025-01-15\",\"probability\":{p},\"value\":1.0,\"action\":\"call\",\"expected_gain\":1.0,\"rank\":1}}\n"
        )
    };
    let text = [
        line("2024-12-20T10:00:00.000Z", "PAID", 0.9), // superseded by the later score below
        line("2024-12-21T10:00:00.000Z", "PAID", 0.2),
        line("2024-12-21T10:00:00.000Z", "LAPSED", 0.7),
        line("2024-12-21T10:00:00.000Z", "LATE", 0.6),
        line("2024-12-21T10:00:00.000Z", "OPEN", 0.5),
        line("2024-12-21T10:00:00.000Z", "EARLY", 0.1),
        line("2024-12-21T10:00:00.000Z", "GHOST", 0.5),
    ]
    .concat();
    // A crash mid-write leaves a torn last line; it is skipped and counted, not an error.
    fs::write(log.join("scores-2024-12-21.jsonl"), text + "{\"time\":\"2024-12-21T10:0").unwrap();
    let report = crate::realised::report(&log, &loaded.book, day("2025-04-30"), 60).unwrap();
    assert_eq!((report.log_lines, report.malformed_lines, report.unknown_renewals), (7, 1, 1));
    assert_eq!((report.malformed_examples[0].file.as_str(), report.malformed_examples[0].line), ("scores-2024-12-21.jsonl", 8));
    let all = report.months.iter().find(|m| m.month == "2024-12" && m.dimension == "all").unwrap();
    assert_eq!((all.scored, all.labelled), (5, 3), "OPEN's and EARLY's grace is not over");
    assert_eq!((all.maturing, all.maturing_paid, all.matured), (2, 1, false));
    // CBPE assumes calibrated probabilities: the matured renewals predicted 50% where 67% lapsed.
    let cbpe = &report.cbpe_calibration;
    assert_eq!(cbpe.matured_renewals, 3);
    assert!(!cbpe.trusted && (cbpe.relative_gap.unwrap() + 0.25).abs() < 1e-9, "{cbpe:?}");
    assert!(cbpe.note.contains("not to be relied on"));
    assert_eq!(all.observed_lapse_rate, Some(2.0 / 3.0), "LAPSED and LATE (paid after grace) lapsed");
    assert_eq!(all.roc_auc, Some(1.0), "0.2 paid, 0.6 and 0.7 lapsed");
    assert!((all.predicted_lapse_rate.unwrap() - 0.5).abs() < 1e-12);
    assert!(all.expected_auc.is_some());
    // A broken line anywhere (here in the middle of a file, and a torn multi-byte character) is
    // skipped and named with its file and line; the rest of the file still counts.
    let mut broken = b"not json\n".to_vec();
    broken.extend_from_slice(line("2024-12-22T10:00:00.000Z", "PAID", 0.3).as_bytes());
    broken.extend_from_slice(b"{\"time\":\"\xe4\xb8\n");
    fs::write(log.join("scores-2024-12-22.jsonl"), broken).unwrap();
    let report = crate::realised::report(&log, &loaded.book, day("2025-04-30"), 60).unwrap();
    assert_eq!((report.log_lines, report.malformed_lines), (8, 3));
    let named: Vec<(&str, usize)> = report.malformed_examples.iter().map(|m| (m.file.as_str(), m.line)).collect();
    assert_eq!(named, [("scores-2024-12-21.jsonl", 8), ("scores-2024-12-22.jsonl", 1), ("scores-2024-12-22.jsonl", 3)]);
}
