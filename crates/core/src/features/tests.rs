//! The feature builder: snapshot membership, labels at the grace boundary, no look-ahead, and
//! CSV and Parquet giving the same features.

use crate::dates::Day;
use crate::extract::read::FileFormat;
use crate::extract::{OnError, load_book};
use crate::features::BuildPlan;
use crate::generate::{GenerateConfig, GeneratedBook, generate};
use polars::prelude::*;

use crate::testkit::{CsvBook, column_strings, day};

fn plan(as_of: Day, extract_date: Day) -> BuildPlan {
    BuildPlan { as_of: vec![as_of], horizon_days: 30, grace_days: 60, extract_date }
}

fn snapshot_of(dir: &std::path::Path, as_of: Day, extract_date: Day) -> DataFrame {
    let loaded = load_book(dir, OnError::Strict).expect("valid book");
    plan(as_of, extract_date).frame(&loaded.book, as_of).expect("frame")
}

/// The snapshot rule to the letter: renewals only, not paid before T, due in [T-60, T+30].
#[test]
fn snapshot_membership_and_labels_follow_the_contract_at_every_boundary() {
    let dir = tempfile::tempdir().unwrap();
    let mut book = CsvBook::new();
    book.annual_policy("P01", "2023-01-01").installment("P01", 2, "2024-01-01", "2024-03-01"); // paid on day 60
    book.annual_policy("P02", "2023-01-02").installment("P02", 2, "2024-01-02", "2024-03-03"); // paid on day 61
    book.annual_policy("P03", "2023-01-03").installment("P03", 2, "2024-01-03", ""); // deadline before extract
    book.annual_policy("P04", "2023-02-10").installment("P04", 2, "2024-02-10", ""); // deadline == extract date
    book.annual_policy("P05", "2022-11-16").installment("P05", 2, "2023-11-16", ""); // due T-60: in
    book.annual_policy("P06", "2022-11-15").installment("P06", 2, "2023-11-15", ""); // due T-61: out
    book.annual_policy("P07", "2023-02-14").installment("P07", 2, "2024-02-14", "2024-02-14"); // due T+30: in
    book.annual_policy("P08", "2023-02-15").installment("P08", 2, "2024-02-15", "2024-02-15"); // due T+31: out
    book.annual_policy("P09", "2023-01-10").installment("P09", 2, "2024-01-10", "2024-01-14"); // paid T-1: out
    book.annual_policy("P10", "2023-01-10").installment("P10", 2, "2024-01-10", "2024-01-15"); // paid on T: in
    book.annual_policy("P11", "2024-01-20"); // first premium due after T: not a renewal
    let dir = book.write(dir.path());

    let frame = snapshot_of(&dir, day("2024-01-15"), day("2024-04-10"));
    let ids = column_strings(&frame, "policy_id");
    let labels = column_strings(&frame, "lapsed");
    let got: Vec<(String, String)> = ids.into_iter().zip(labels).collect();
    let expected: Vec<(String, String)> = [("P01", "0"), ("P02", "1"), ("P03", "1"), ("P04", "null"), ("P05", "1"), ("P07", "0"), ("P10", "0")]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(got, expected);
    let overdue = column_strings(&frame, "days_overdue");
    let until = column_strings(&frame, "days_until_due");
    assert_eq!(overdue[4], "60.0", "P05 is 60 days overdue at T");
    assert_eq!(until[5], "30.0", "P07 falls due 30 days after T");
}

/// Labels know only what the extract knew: a table built with an earlier `--extract-date` uses
/// no payment dated on or after it (issue 21), and a policy issued on or after T is not in
/// the snapshot at T.
#[test]
fn labels_use_no_payment_from_the_extract_date_on_and_snapshots_hold_only_policies_issued_before_t() {
    let dir = tempfile::tempdir().unwrap();
    let mut book = CsvBook::new();
    book.annual_policy("P1", "2023-01-01").installment("P1", 2, "2024-01-01", "2024-02-20"); // paid in grace, after E
    book.annual_policy("P2", "2022-12-01").installment("P2", 2, "2023-12-01", "2024-01-25"); // paid in grace, after E
    book.annual_policy("P3", "2022-11-20").installment("P3", 2, "2023-11-20", "2024-01-18"); // paid in grace, before E
    book.annual_policy("P4", "2022-11-18").installment("P4", 2, "2023-11-18", "2024-01-25"); // paid after grace and E
    book.annual_policy("P5", "2024-01-15").installment("P5", 2, "2024-01-20", ""); // issued on T
    book.annual_policy("P6", "2024-01-14").installment("P6", 2, "2024-01-20", ""); // issued the day before T
    let dir = book.write(dir.path());
    let extract_date = day("2024-01-20");
    let frame = snapshot_of(&dir, day("2024-01-15"), extract_date);
    let got: Vec<(String, String)> = column_strings(&frame, "policy_id").into_iter().zip(column_strings(&frame, "lapsed")).collect();
    let expected: Vec<(String, String)> =
        [("P1", "null"), ("P2", "null"), ("P3", "0"), ("P4", "1"), ("P6", "null")].iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    assert_eq!(got, expected);
    // The same book with the extract taken later knows the payments.
    let later = snapshot_of(&dir, day("2024-01-15"), day("2024-03-31"));
    let labels: Vec<String> = column_strings(&later, "lapsed");
    assert_eq!(&labels[..4], ["0", "0", "0", "1"]);
    // The rule the trainer applies to a snapshot: every deadline before the extract date.
    use crate::features::history::snapshot_matured;
    assert!(snapshot_matured(day("2024-01-15"), 30, 60, day("2024-04-15")));
    assert!(!snapshot_matured(day("2024-01-15"), 30, 60, day("2024-04-14")), "the last deadline is the extract date itself");
}

/// A payment history the features must summarize exactly.
#[test]
fn payment_history_features_count_only_what_was_paid_before_t() {
    let dir = tempfile::tempdir().unwrap();
    let mut book = CsvBook::new();
    book.annual_policy("P1", "2019-03-01")
        .installment("P1", 2, "2020-03-01", "2020-03-01") // on time
        .installment("P1", 3, "2021-03-01", "2021-03-21") // 20 days late
        .installment("P1", 4, "2022-03-01", "2022-04-15") // 45 days late
        .installment("P1", 5, "2023-03-01", "2023-06-01") // paid after grace: an earlier lapse
        .installment("P1", 6, "2024-03-01", "") // the renewal scored at T
        .installment("P1", 7, "2025-03-01", ""); // beyond the horizon
    book.events.push("P1,2023-10-01,complaint,".into());
    book.events.push("P1,2024-03-05,complaint,".into()); // on T: not visible
    let dir = book.write(dir.path());
    let frame = snapshot_of(&dir, day("2024-03-05"), day("2024-09-30"));
    assert_eq!(frame.height(), 1);
    let get = |name: &str| column_strings(&frame, name)[0].clone();
    assert_eq!(get("prior_renewals"), "5.0", "renewals 2-6 are due before T");
    assert_eq!(get("renewals_paid_late_1_30"), "1.0");
    assert_eq!(get("renewals_paid_late_31_60"), "1.0");
    assert_eq!(get("renewals_paid_after_grace"), "1.0");
    assert_eq!(get("earlier_lapses"), "1.0");
    assert_eq!(get("max_days_late"), "92.0");
    assert_eq!(get("last_renewal_days_late"), "92.0");
    // Offsets 0, 20, 45 and 92 clipped to the 60-day grace: the usual day is their median.
    assert_eq!(get("usual_payment_day"), "32.5");
    assert_eq!(get("share_paid_early"), "0.0");
    assert_eq!(get("days_past_usual_payment"), "-28.5", "4 days overdue, 32.5 days before the usual day");
    assert_eq!(get("on_time_streak"), "0.0");
    assert_eq!(get("overdue_installments"), "1.0");
    assert_eq!(get("days_overdue"), "4.0");
    assert_eq!(get("policy_year"), "6.0");
    assert_eq!(get("remaining_payment_years"), "5.0");
    assert_eq!(get("complaints_12m"), "1.0");
    assert_eq!(get("customer_age"), "43.0");
    assert_eq!(get("annualized_premium"), "1000.0");
    assert_eq!(get("lapsed"), "1");
}

/// A customer who pays ahead of the due date by habit is late for them before the renewal is due.
#[test]
fn the_usual_payment_day_is_the_median_of_the_latest_six_and_counts_early_payments() {
    let dir = tempfile::tempdir().unwrap();
    let mut book = CsvBook::new();
    book.annual_policy("P1", "2016-03-10")
        .installment("P1", 2, "2017-03-10", "2017-05-01") // 52 days late: older than the latest six
        .installment("P1", 3, "2018-03-10", "2018-02-28") // 10 early
        .installment("P1", 4, "2019-03-10", "2019-02-26") // 12 early
        .installment("P1", 5, "2020-03-10", "2020-03-02") // 8 early
        .installment("P1", 6, "2021-03-10", "2021-01-01") // 68 early: clipped to 30
        .installment("P1", 7, "2022-03-10", "2022-03-01") // 9 early
        .installment("P1", 8, "2023-03-10", "2023-03-13") // 3 late
        .installment("P1", 9, "2024-03-10", "2024-03-05"); // the renewal scored, due 5 days after T, paid on T (not visible)
    let dir = book.write(dir.path());
    let frame = snapshot_of(&dir, day("2024-03-05"), day("2024-09-30"));
    let row = column_strings(&frame, "installment_no").iter().position(|n| n == "9").expect("renewal 9 scored");
    let get = |name: &str| column_strings(&frame, name)[row].clone();
    // The latest six: -10, -12, -8, -30, -9, +3 -> sorted -30 -12 -10 -9 -8 3: median -9.5.
    assert_eq!(get("usual_payment_day"), "-9.5");
    assert_eq!(get("share_paid_early"), "0.714286", "5 of the 7 renewals paid before T were early");
    // Due in 5 days, usually paid 9.5 days ahead: 4.5 days past the usual day.
    assert_eq!(get("days_past_usual_payment"), "4.5");
}

/// Removes policies issued on or after `t`, with their installments and events.
fn drop_policies_issued_from(book: &mut GeneratedBook, t: Day) -> usize {
    let keep: Vec<bool> = book.policies.iter().map(|p| p.issue_date < t).collect();
    let mut new_index = vec![u32::MAX; keep.len()];
    let mut next = 0;
    for (i, k) in keep.iter().enumerate() {
        if *k {
            new_index[i] = next;
            next += 1;
        }
    }
    let dropped = keep.iter().filter(|k| !**k).count();
    let mut i = 0;
    book.policies.retain(|_| {
        i += 1;
        keep[i - 1]
    });
    book.installments.retain(|r| keep[r.policy as usize]);
    book.events.retain(|r| keep[r.policy as usize]);
    for r in &mut book.installments {
        r.policy = new_index[r.policy as usize];
    }
    for r in &mut book.events {
        r.policy = new_index[r.policy as usize];
    }
    dropped
}

/// Rewrites, shifts or deletes everything dated on or after `t` (and what the contract says is
/// invisible at `t`). Returns how many rows were touched.
fn rewrite_the_future(book: &mut GeneratedBook, t: Day, horizon: i32) -> usize {
    let mut touched = 0;
    let before = book.installments.len();
    let mut k = 0;
    book.installments.retain(|r| {
        k += 1;
        !(r.due_date > t + horizon && k % 2 == 0)
    });
    touched += before - book.installments.len();
    for (i, r) in book.installments.iter_mut().enumerate() {
        if r.paid_date.is_some_and(|p| p >= t) {
            r.paid_date = if i % 2 == 0 { None } else { r.paid_date.map(|p| p + 7) };
            r.payment_method = r.paid_date.map(|_| "cash");
            r.failed_debits = Some(9);
            touched += 1;
        } else if r.paid_date.is_none() && r.due_date < t + 400 {
            // Failed debits of an installment unpaid at T are not dated: invisible at T.
            r.failed_debits = Some(5);
            touched += 1;
        }
        if r.due_date > t + horizon {
            r.amount_due += 1.0;
        }
    }
    let before = book.events.len();
    let mut k = 0;
    book.events.retain(|e| {
        k += 1;
        !(e.event_date >= t && k % 2 == 0)
    });
    touched += before - book.events.len();
    for e in &mut book.events {
        if e.event_date >= t {
            e.event_type = "complaint";
            e.amount = Some(1.0);
            touched += 1;
        }
    }
    for (i, a) in book.agents.iter_mut().enumerate() {
        if a.leave_date.is_some_and(|d| d >= t) {
            a.leave_date = if i % 2 == 0 { None } else { a.leave_date.map(|d| d + 30) };
            touched += 1;
        }
        if a.hire_date >= t {
            a.hire_date += 100;
            touched += 1;
        }
    }
    for p in &mut book.policies {
        if p.status_date.is_some_and(|d| d >= t) {
            p.status = "surrendered";
            p.status_date = p.status_date.map(|d| d + 3);
            touched += 1;
        }
    }
    touched += drop_policies_issued_from(book, t);
    touched
}

fn write_book(book: &GeneratedBook, format: FileFormat) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    book.write(dir.path(), format).unwrap();
    dir
}

fn without_label(frame: &DataFrame) -> DataFrame {
    frame.drop("lapsed").unwrap()
}

/// Names the first column where two frames differ, for a readable failure.
fn first_difference(a: &DataFrame, b: &DataFrame) -> Option<String> {
    if a.height() != b.height() {
        return Some(format!("heights differ: {} vs {}", a.height(), b.height()));
    }
    for name in a.get_column_names() {
        let (x, y) = (column_strings(a, name), column_strings(b, name));
        if let Some(i) = (0..x.len()).find(|&i| x[i] != y[i]) {
            return Some(format!("column {name}, row {i}: {} vs {}", x[i], y[i]));
        }
    }
    None
}

#[test]
fn no_feature_changes_when_anything_dated_on_or_after_t_changes() {
    let t = day("2025-05-15");
    let extract = day("2026-09-30");
    let original = generate(&GenerateConfig::new(800, 11));
    let mut future = original.clone();
    let touched = rewrite_the_future(&mut future, t, 30);
    assert!(touched > 500, "the rewrite must touch real data, touched {touched}");

    let a = snapshot_of(write_book(&original, FileFormat::Csv).path(), t, extract);
    let b = snapshot_of(write_book(&future, FileFormat::Csv).path(), t, extract);
    assert!(a.height() > 50, "snapshot too small to prove anything: {}", a.height());
    let (a, b) = (without_label(&a), without_label(&b));
    assert_eq!(first_difference(&a, &b), None);
    assert!(a.equals_missing(&b));

    // Control: moving one payment made before T does change the features, so the comparison
    // above is not vacuous.
    let mut past = original.clone();
    let scored = column_strings(&a, "policy_id");
    let policy = scored[0].trim_start_matches('P').parse::<u32>().unwrap() - 1;
    let target = past
        .installments
        .iter()
        .rposition(|r| r.policy == policy && r.paid_date.is_some_and(|p| p < t))
        .expect("the scored policy's last payment before T");
    past.installments[target].paid_date = past.installments[target].paid_date.map(|p| p - 1);
    let c = without_label(&snapshot_of(write_book(&past, FileFormat::Csv).path(), t, extract));
    assert!(!a.equals_missing(&c), "a change before T must show in the features");
}

#[test]
fn csv_and_parquet_extracts_give_identical_feature_tables() {
    let book = generate(&GenerateConfig::new(500, 5));
    let t = day("2025-11-30");
    let extract = day("2026-09-30");
    let csv = snapshot_of(write_book(&book, FileFormat::Csv).path(), t, extract);
    let parquet = snapshot_of(write_book(&book, FileFormat::Parquet).path(), t, extract);
    assert!(csv.height() > 20);
    assert_eq!(first_difference(&csv, &parquet), None);
    assert!(csv.equals_missing(&parquet));
}

#[test]
fn stacked_training_set_has_one_block_per_snapshot_in_date_order() {
    let book = generate(&GenerateConfig::new(300, 3));
    let dir = write_book(&book, FileFormat::Csv);
    let loaded = load_book(dir.path(), OnError::Strict).unwrap();
    let dates = crate::dates::date_series(day("2025-01-31"), day("2025-06-30"), crate::dates::Step::Months(1));
    assert_eq!(dates.len(), 6);
    let out = dir.path().join("train.parquet");
    let plan = BuildPlan { as_of: dates.clone(), horizon_days: 30, grace_days: 60, extract_date: day("2026-09-30") };
    let summary = plan.write(&loaded.book, &out).unwrap();
    let frame = crate::testkit::read_parquet(&out);
    assert_eq!(summary.rows, frame.height());
    let as_of = column_strings(&frame, "as_of");
    let mut sorted = as_of.clone();
    sorted.sort();
    assert_eq!(as_of, sorted, "snapshots are stacked in date order");
    sorted.dedup();
    assert_eq!(sorted, ["2025-01-31", "2025-02-28", "2025-03-31", "2025-04-30", "2025-05-31", "2025-06-30"]);
    // Each block equals the single snapshot built alone.
    let single = plan.frame(&loaded.book, dates[2]).unwrap();
    let third = crate::dates::format_day(dates[2]);
    let mask = BooleanChunked::from_iter(as_of.iter().map(|d| *d == third).map(Some));
    let block = frame.filter(&mask).unwrap();
    assert_eq!(first_difference(&block, &single), None);
}

/// The customer's other policies, counted exactly and only as known before T; and the
/// renewal's own recent lateness, contacts and loans.
#[test]
fn household_and_recency_features_read_the_other_policies_before_t() {
    let dir = tempfile::tempdir().unwrap();
    let mut book = CsvBook::new();
    // T = 2024-06-01 (12 months back: 2023-06-02). P1 is the renewal scored.
    book.annual_policy("P1", "2021-05-20")
        .installment("P1", 2, "2022-05-20", "2022-05-20") // on time, older than 12 months
        .installment("P1", 3, "2023-06-10", "2023-06-30") // 20 days late, inside 12 months
        .installment("P1", 4, "2024-05-20", ""); // scored: 12 days overdue at T
    // P2: a renewal paid 20 days late in the last 12 months after 2 failed debits; a policy
    // loan 30 days before T and one after T.
    book.annual_policy("P2", "2022-07-01");
    book.installments.push("P2,2,2023-07-01,1000,2023-07-21,1000,auto_debit,2".into());
    book.events.push("P2,2024-05-02,policy_loan,5000".into());
    book.events.push("P2,2024-06-02,policy_loan,5000".into()); // after T: not visible
    // P3 lapsed in the last 12 months (grace ended 2023-10-31 unpaid); P4 lapsed before them
    // (grace ended 2023-02-28) and then paid on time; P5 is paid only after T and P6 not at
    // all: both overdue at T, inside grace.
    book.annual_policy("P3", "2022-09-01").installment("P3", 2, "2023-09-01", "");
    book.annual_policy("P4", "2021-12-30").installment("P4", 2, "2022-12-30", "").installment("P4", 3, "2023-12-30", "2023-12-30");
    book.annual_policy("P5", "2023-05-25").installment("P5", 2, "2024-05-25", "2024-06-03");
    book.annual_policy("P6", "2023-05-10").installment("P6", 2, "2024-05-10", "");
    book.events.push("P1,2024-01-10,complaint,".into());
    book.events.push("P1,2024-04-01,contact_sms,".into());
    book.events.push("P1,2024-05-25,contact_call,".into());
    book.events.push("P1,2023-12-01,contact_call,".into()); // more than 90 days before T
    // The customer's contact details: an address change on P2, a new phone on P1 (the last
    // before T, 47 days before it), an address change after T (not visible).
    book.events.push("P2,2024-03-01,address_change,".into());
    book.events.push("P1,2024-04-15,phone_change,".into());
    book.events.push("P3,2024-06-05,address_change,".into());
    let dir = book.write(dir.path());
    let frame = snapshot_of(&dir, day("2024-06-01"), day("2024-09-30"));
    let ids = column_strings(&frame, "policy_id");
    let row = ids.iter().position(|p| p == "P1").unwrap();
    let get = |name: &str| column_strings(&frame, name)[row].clone();
    assert_eq!(get("household_lapses_12m"), "1.0", "P3 only: P4's grace ended more than 365 days before T; P5 and P6 are in grace");
    assert_eq!(get("late_share_12m"), "1.0", "P1's one renewal settled in the last 12 months was late");
    assert_eq!(get("contacts_90d"), "2.0");
    assert_eq!(get("days_since_last_loan"), "null", "loans on other policies are not this policy's");
    // Another policy's loan is its own: P2's renewal is not in the snapshot, P5's and P6's are.
    let p6 = ids.iter().position(|p| p == "P6").unwrap();
    assert_eq!(column_strings(&frame, "household_lapses_12m")[p6], "1.0", "P3's lapse is news for P6 too");
    assert_eq!(get("days_since_contact_change"), "47.0");
    assert_eq!(column_strings(&frame, "days_since_contact_change")[p6], "47.0", "a customer's change, whichever policy recorded it");
}

/// A book split by customer, each part built with the whole book's agent and book records,
/// gives exactly the whole book's rows (stacked over three dates): the contract of
/// `features::aggregates`, which the Spark job and sharded runs rest on.
#[test]
fn a_book_split_by_customer_gives_the_whole_books_rows_with_its_aggregates() {
    use crate::features::aggregates::BookAggregates;
    let dir = tempfile::tempdir().unwrap();
    generate(&GenerateConfig::new(2500, 21)).write(dir.path(), FileFormat::Csv).unwrap();
    let whole = load_book(dir.path(), OnError::Strict).unwrap().book;
    let dates = vec![day("2026-03-31"), day("2026-04-30"), day("2026-06-30")];
    let plan = BuildPlan { as_of: dates.clone(), horizon_days: 30, grace_days: 60, extract_date: whole.latest_observed.unwrap() };
    let out = tempfile::tempdir().unwrap();
    plan.write(&whole, &out.path().join("whole.parquet")).unwrap();
    let expected = crate::testkit::read_parquet(&out.path().join("whole.parquet"));

    let aggregates = BookAggregates::compute(&whole, &dates, 60);
    let parts = crate::extract::split::split_by_customer(dir.path(), 3, &out.path().join("shards"), Default::default()).unwrap().dirs;
    let mut summed = BookAggregates::default();
    let mut frames = Vec::new();
    for (k, part) in parts.iter().enumerate() {
        let book = load_book(part, OnError::Strict).unwrap().book;
        assert!(book.policies.len() < whole.policies.len(), "shard {k} is a part");
        summed.add(&BookAggregates::compute(&book, &dates, 60));
        let path = out.path().join(format!("part-{k}.parquet"));
        plan.write_part(&book, &path, false, Some(&aggregates)).unwrap();
        frames.push(crate::testkit::read_parquet(&path));
    }
    assert_eq!(summed, aggregates, "the aggregates are the sum of the parts'");
    // The parts' rows in the whole book's order: by date, then policy row, then due date.
    let mut stacked = frames.remove(0);
    for f in &frames {
        stacked.vstack_mut(f).unwrap();
    }
    let order: std::collections::HashMap<&str, usize> = whole.policies.id.iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect();
    let ids = column_strings(&stacked, "policy_id");
    let (as_of, number) = (column_strings(&stacked, "as_of"), column_strings(&stacked, "installment_no"));
    let mut rows: Vec<usize> = (0..stacked.height()).collect();
    rows.sort_by_key(|&r| (as_of[r].clone(), order[ids[r].as_str()], number[r].parse::<u32>().unwrap()));
    let sorted = stacked.take(&IdxCa::from_vec("rows".into(), rows.iter().map(|&r| r as IdxSize).collect())).unwrap();
    assert_eq!(sorted.height(), expected.height());
    assert!(sorted.equals_missing(&expected), "the parts' rows differ from the whole book's");
    // Without the aggregates a part's agent signals are its own: not the whole book's.
    let first = load_book(&parts[0], OnError::Strict).unwrap().book;
    plan.write(&first, &out.path().join("alone.parquet")).unwrap();
    let alone = crate::testkit::read_parquet(&out.path().join("alone.parquet"));
    let with = crate::testkit::read_parquet(&out.path().join("part-0.parquet"));
    assert!(!alone.column("agent_lapse_rate_12m").unwrap().equals_missing(with.column("agent_lapse_rate_12m").unwrap()));
}

/// A row budget keeps each snapshot's share, stratified by label, the same rows on every run,
/// and the rows kept are the full table's rows, unchanged.
#[test]
fn a_row_budget_keeps_a_stratified_reproducible_subset_of_the_rows() {
    let dir = tempfile::tempdir().unwrap();
    generate(&GenerateConfig::new(3000, 4)).write(dir.path(), FileFormat::Csv).unwrap();
    let book = load_book(dir.path(), OnError::Strict).unwrap().book;
    let plan = BuildPlan { as_of: vec![day("2026-03-31"), day("2026-04-30")], horizon_days: 30, grace_days: 60, extract_date: day("2026-09-30") };
    let out = tempfile::tempdir().unwrap();
    let (full, a, b) = (out.path().join("full.parquet"), out.path().join("a.parquet"), out.path().join("b.parquet"));
    plan.write(&book, &full).unwrap();
    plan.write_sampled(&book, &a, false, None, Some(600)).unwrap();
    plan.write_sampled(&book, &b, false, None, Some(600)).unwrap();
    let (full, a) = (crate::testkit::read_parquet(&full), crate::testkit::read_parquet(&a));
    assert!(a.equals_missing(&crate::testkit::read_parquet(&b)), "the same sample on every run");
    assert!(full.height() > 1000 && (598..=602).contains(&a.height()), "{} of {}", a.height(), full.height());
    let key = |df: &DataFrame, r: usize| {
        let s = |c: &str| column_strings(df, c)[r].clone();
        (s("as_of"), s("policy_id"), s("installment_no"))
    };
    let full_rows: std::collections::HashMap<_, usize> = (0..full.height()).map(|r| (key(&full, r), r)).collect();
    let mut picked = Vec::new();
    for r in 0..a.height() {
        picked.push(full_rows[&key(&a, r)] as IdxSize);
    }
    assert!(picked.windows(2).all(|w| w[0] < w[1]), "in the full table's order");
    let same = full.take(&IdxCa::from_vec("rows".into(), picked)).unwrap();
    assert!(same.equals_missing(&a), "the kept rows are the full table's rows");
    // Each date keeps its share, and the lapse rate of each date is kept (stratified).
    for date in ["2026-03-31", "2026-04-30"] {
        let rate = |df: &DataFrame| {
            let (dates, labels) = (column_strings(df, "as_of"), column_strings(df, "lapsed"));
            let ys: Vec<&String> = dates.iter().zip(&labels).filter(|(d, _)| *d == date).map(|(_, y)| y).collect();
            (ys.len(), ys.iter().filter(|y| y.as_str() == "1").count() as f64 / ys.len() as f64)
        };
        let ((n_full, full_rate), (n, rate)) = (rate(&full), rate(&a));
        assert!(n <= 300 && n >= 299.min(n_full), "{date}: {n}");
        assert!((rate - full_rate).abs() < 0.01, "{date}: {rate} vs {full_rate}");
    }
}

#[test]
fn recorded_contact_outcomes_become_features_only_before_t_and_only_when_attached() {
    use crate::contacts::{ContactResult, RecordedContact};
    let dir = tempfile::tempdir().unwrap();
    let mut book = CsvBook::new();
    // T = 2024-06-01; one customer with two renewals at risk: P1's #4 (overdue) and P2's #2.
    book.annual_policy("P1", "2021-05-20")
        .installment("P1", 2, "2022-05-20", "2022-05-20")
        .installment("P1", 3, "2023-05-20", "2023-05-20")
        .installment("P1", 4, "2024-05-20", "");
    book.annual_policy("P2", "2023-06-10").installment("P2", 2, "2024-06-10", "");
    let dir = book.write(dir.path());
    let t = day("2024-06-01");
    let mut loaded = load_book(&dir, OnError::Strict).unwrap();
    let without = plan(t, day("2024-09-30")).frame(&loaded.book, t).unwrap();
    let names = ["days_since_refusal", "refusal_reason_90d", "promise_to_pay", "unreached_attempts_30d", "reached_90d", "do_not_contact"];
    for name in names {
        assert!(column_strings(&without, name).iter().all(|v| v == "null"), "{name}: unknown without outcomes, never 0");
    }
    let o = |policy: &'static str, n: u32, d: &str, result: ContactResult, reason: Option<&'static str>, promised: Option<&str>| RecordedContact {
        policy_id: policy,
        installment_no: n,
        day: day(d),
        result,
        reason,
        promised_date: promised.map(day),
    };
    let outcomes = [
        o("P1", 4, "2024-05-21", ContactResult::Promised, None, Some("2024-05-28")), // passed unpaid: broken
        o("P2", 2, "2024-05-30", ContactResult::Promised, None, Some("2024-06-05")), // open
        o("P2", 2, "2024-04-01", ContactResult::Refused, Some("dissatisfied"), None), // 61 days before T
        o("P1", 4, "2024-06-01", ContactResult::Refused, Some("cannot_afford"), None), // on T: not visible
        o("P1", 4, "2024-05-10", ContactResult::NoAnswer, None, None),               // 22 days before T
        o("P2", 2, "2024-04-15", ContactResult::WrongNumber, None, None),            // 47 days: not in 30
        o("P1", 4, "2024-05-01", ContactResult::DoNotContact, None, None),
        o("P2", 2, "2024-05-15", ContactResult::ContactAllowed, None, None), // lifts it
        o("P1", 4, "2024-06-02", ContactResult::DoNotContact, None, None),   // after T
        o("P9", 2, "2024-05-01", ContactResult::Reached, None, None),        // not in the book
    ];
    assert_eq!(loaded.book.attach_contacts(outcomes), 1, "the unknown policy's outcome is counted");
    let with = plan(t, day("2024-09-30")).frame(&loaded.book, t).unwrap();
    let ids = column_strings(&with, "policy_id");
    let at = |policy: &str, name: &str| column_strings(&with, name)[ids.iter().position(|p| p == policy).unwrap()].clone();
    for policy in ["P1", "P2"] {
        // The customer's: whichever policy recorded it.
        assert_eq!(at(policy, "days_since_refusal"), "61.0");
        assert_eq!(at(policy, "refusal_reason_90d"), "dissatisfied");
        assert_eq!(at(policy, "unreached_attempts_30d"), "1.0");
        assert_eq!(at(policy, "reached_90d"), "3.0", "refusal and two promises");
        assert_eq!(at(policy, "do_not_contact"), "0.0", "allowed again before T; the later request is after T");
    }
    // The renewal's own promise.
    assert_eq!(at("P1", "promise_to_pay"), "broken");
    assert_eq!(at("P2", "promise_to_pay"), "open");
    // Two months later the refusal dated T is visible, and the latest.
    let later = day("2024-08-01");
    let frame = plan(later, day("2024-09-30")).frame(&loaded.book, later).unwrap();
    assert_eq!(column_strings(&frame, "refusal_reason_90d"), ["cannot_afford"]);
    assert_eq!(column_strings(&frame, "days_since_refusal"), ["61.0"]);
    // P3's renewal on 2024-09-05: the last refusal is 96 days old, its reason no longer given.
    let dir = tempfile::tempdir().unwrap();
    book.annual_policy("P3", "2023-09-20").installment("P3", 2, "2024-09-20", "");
    let mut loaded = load_book(&book.write(dir.path()), OnError::Strict).unwrap();
    loaded.book.attach_contacts(outcomes);
    let latest = day("2024-09-05");
    let frame = plan(latest, day("2024-12-31")).frame(&loaded.book, latest).unwrap();
    assert_eq!(column_strings(&frame, "policy_id"), ["P3"]);
    assert_eq!(
        (column_strings(&frame, "refusal_reason_90d"), column_strings(&frame, "days_since_refusal")),
        (vec!["none".to_string()], vec!["96.0".to_string()])
    );
}
