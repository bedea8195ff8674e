//! The audit against an independent count of each check, straight from the contract's words
//! on the two books as the loader reads them, on a pair of extracts with known injections.

use std::collections::HashMap;
use std::path::Path;

use super::*;
use crate::dates::{Day, format_day, parse_day};
use crate::extract::read::{Encoding, FileFormat};
use crate::extract::{Book, OnError, load_book};
use crate::generate::{GenerateConfig, generate};

/// A CSV table as header + rows of fields (the generator writes no quotes).
struct Csv {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Csv {
    fn read(path: &Path) -> Csv {
        let text = std::fs::read_to_string(path).unwrap();
        let mut lines = text.lines();
        let header = lines.next().unwrap().split(',').map(str::to_string).collect();
        Csv { header, rows: lines.filter(|l| !l.is_empty()).map(|l| l.split(',').map(str::to_string).collect()).collect() }
    }

    fn col(&self, name: &str) -> usize {
        self.header.iter().position(|h| h == name).unwrap()
    }

    fn write(&self, path: &Path) {
        let mut out = self.header.join(",") + "\n";
        for r in &self.rows {
            out += &(r.join(",") + "\n");
        }
        std::fs::write(path, out).unwrap();
    }
}

type Key = (String, u32);

/// (due, amount_due, paid, amount_paid) in days and cents, by (policy_id, installment_no).
fn installments(book: &Book) -> HashMap<Key, (Day, i64, Option<Day>, Option<i64>)> {
    let i = &book.installments;
    (0..i.len())
        .map(|r| {
            let key = (book.policies.id[i.policy[r] as usize].clone(), i.number[r]);
            (key, (i.due[r], (i.amount_due[r] * 100.0).round() as i64, i.paid[r], i.amount_paid[r].map(|a| (a * 100.0).round() as i64)))
        })
        .collect()
}

/// Each check counted from the contract's words on the loaded books.
fn by_the_contract(y: &Book, x: &Book, grace: i32) -> HashMap<(&'static str, &'static str), usize> {
    let (d_y, d_x) = (y.latest_observed.unwrap(), x.latest_observed.unwrap());
    let (yi, xi) = (installments(y), installments(x));
    let mut n: HashMap<(&str, &str), usize> = CHECK_TABLES.iter().map(|&k| (k, 0)).collect();
    for (key, x_row) in &xi {
        let Some(y_row) = yi.get(key) else { continue };
        if y_row.2.is_none() && x_row.2.is_some_and(|p| p <= d_y) {
            *n.get_mut(&("late_entry", "installments")).unwrap() += 1;
        }
        let paid = y_row.2.is_some();
        let changed = y_row.0 != x_row.0 || y_row.1 != x_row.1 || (paid && y_row.2 != x_row.2) || (paid && y_row.3.is_some() && y_row.3 != x_row.3);
        if changed {
            *n.get_mut(&("changed_after_the_fact", "installments")).unwrap() += 1;
        }
    }
    let x_ids: std::collections::HashSet<&String> = x.policies.id.iter().collect();
    *n.get_mut(&("vanished", "policies")).unwrap() = y.policies.id.iter().filter(|p| !x_ids.contains(p)).count();
    *n.get_mut(&("vanished", "installments")).unwrap() = yi.keys().filter(|k| !xi.contains_key(*k)).count();
    // Events: a multiset difference over (policy, date, type, amount).
    let events = |b: &Book, until: Day| -> HashMap<(String, Day, String, Option<i64>), usize> {
        let mut m = HashMap::new();
        for r in 0..b.events.len() {
            if b.events.date[r] <= until {
                let key = (
                    b.policies.id[b.events.policy[r] as usize].clone(),
                    b.events.date[r],
                    b.events.kind.get(r).unwrap_or("").to_string(),
                    b.events.amount[r].map(|a| (a * 100.0).round() as i64),
                );
                *m.entry(key).or_insert(0) += 1;
            }
        }
        m
    };
    let (ye, xe) = (events(y, d_y), events(x, d_y));
    *n.get_mut(&("late_entry", "events")).unwrap() = xe.iter().map(|(k, c)| c.saturating_sub(*ye.get(k).unwrap_or(&0))).sum();
    for p in 0..x.policies.len() {
        let rows = x.installments.of_policy(p).filter(|&r| x.installments.number[r] >= 2);
        let renewals: Vec<usize> = rows.collect();
        let overdue = renewals.iter().any(|&r| x.installments.paid[r].is_none() && x.installments.due[r] + grace < d_x);
        let all_paid = !renewals.is_empty() && renewals.iter().all(|&r| x.installments.paid[r].is_some());
        match x.policies.status.get(p) {
            Some("in_force") if overdue => *n.get_mut(&("status_inconsistent", "policies")).unwrap() += 1,
            Some("lapsed") if all_paid => *n.get_mut(&("status_inconsistent", "policies")).unwrap() += 1,
            _ => {}
        }
        let modal = (x.policies.modal_premium[p] * 100.0).round() as i64;
        for r in x.installments.of_policy(p) {
            let due = (x.installments.amount_due[r] * 100.0).round() as i64;
            let paid = x.installments.amount_paid[r].map(|a| (a * 100.0).round() as i64);
            if (due - modal).abs() * 100 > modal || paid.is_some_and(|a| a * 100 > due * 101) {
                *n.get_mut(&("amount_mismatch", "installments")).unwrap() += 1;
            }
        }
    }
    n
}

fn counts(report: &AuditReport) -> HashMap<(&'static str, &'static str), usize> {
    CHECK_TABLES.iter().map(|&(c, t)| ((c, t), report.rows(c, t))).collect()
}

#[test]
fn the_same_extract_twice_has_no_late_entry_change_or_vanished_row() {
    let dir = tempfile::tempdir().unwrap();
    generate(&GenerateConfig::new(800, 3)).write(dir.path(), FileFormat::Csv).unwrap();
    let print = fingerprint_extract(dir.path(), Encoding::Utf8, None).unwrap();
    // Through the file the night keeps, too.
    let file = dir.path().join("extract.fp");
    print.write(&file).unwrap();
    let read = Fingerprint::read(&file).unwrap();
    assert_eq!(read.header(), print.header());
    assert!(read.policies == print.policies && read.ids == print.ids && read.id_ends == print.id_ends, "policies read back");
    assert!(read.installments == print.installments && read.events == print.events, "rows read back");
    let run = audit_extract(dir.path(), &read, &AuditOptions::default()).unwrap();
    let report = run.report;
    assert!(run.moved_labels.is_empty());
    for (check, table) in [
        ("late_entry", "installments"),
        ("late_entry", "events"),
        ("changed_after_the_fact", "installments"),
        ("vanished", "policies"),
        ("vanished", "installments"),
    ] {
        assert_eq!(report.rows(check, table), 0, "{check} on {table}: {report:#?}");
    }
    assert_eq!(report.checks.len(), CHECK_TABLES.len(), "every (check, table) is listed");
    assert_eq!(report.current.installments, read.installments.len());
    // The same book as Parquet against yesterday's CSV: the format changes nothing.
    let parquet = dir.path().join("parquet");
    generate(&GenerateConfig::new(800, 3)).write(&parquet, FileFormat::Parquet).unwrap();
    let from_parquet = audit_extract(&parquet, &read, &AuditOptions::default()).unwrap().report;
    assert_eq!(counts(&from_parquet), counts(&report), "Parquet reads as CSV does");
    // And the loader agrees on the two checks of one extract.
    let book = load_book(dir.path(), OnError::Strict).unwrap().book;
    let expected = by_the_contract(&book, &book, 60);
    assert_eq!(counts(&report), expected);
}

#[test]
fn injected_late_entries_changes_vanished_rows_and_statuses_are_counted_as_the_contract_says() {
    let root = tempfile::tempdir().unwrap();
    let (yesterday, today) = (root.path().join("y"), root.path().join("x"));
    generate(&GenerateConfig::new(1500, 9)).write(&yesterday, FileFormat::Csv).unwrap();
    let y_book = load_book(&yesterday, OnError::Strict).unwrap().book;
    let d_y = y_book.latest_observed.unwrap();
    std::fs::create_dir_all(&today).unwrap();
    for table in ["customers", "agents"] {
        std::fs::copy(yesterday.join(format!("{table}.csv")), today.join(format!("{table}.csv"))).unwrap();
    }
    let mut policies = Csv::read(&yesterday.join("policies.csv"));
    let mut inst = Csv::read(&yesterday.join("installments.csv"));
    let mut events = Csv::read(&yesterday.join("events.csv"));
    let (pid, no, due, amount_due, paid, amount_paid) = (
        inst.col("policy_id"),
        inst.col("installment_no"),
        inst.col("due_date"),
        inst.col("amount_due"),
        inst.col("paid_date"),
        inst.col("amount_paid"),
    );
    let touched = |row: &Vec<String>, set: &std::collections::HashSet<String>| set.contains(&row[pid]);
    let mut used = std::collections::HashSet::new();
    // 3 policies vanish with their installments and events.
    let gone: std::collections::HashSet<String> = policies.rows.iter().rev().take(3).map(|r| r[0].clone()).collect();
    let gone_installments = inst.rows.iter().filter(|r| touched(r, &gone)).count();
    policies.rows.retain(|r| !gone.contains(&r[0]));
    inst.rows.retain(|r| !touched(r, &gone));
    events.rows.retain(|r| !gone.contains(&r[0]));
    used.extend(gone.iter().cloned());
    // 7 late entries: unpaid renewals due on or before yesterday's date, paid on their due date.
    let mut late = 0;
    let mut moved: Vec<(String, u32)> = Vec::new();
    for r in inst.rows.iter_mut() {
        if late < 7 && r[paid].is_empty() && !used.contains(&r[pid]) && parse_day(&r[due]).unwrap() <= d_y && r[no] != "1" {
            // A renewal matured yesterday (grace over) was a lapse: paid on its due date, its
            // label moves.
            if parse_day(&r[due]).unwrap() + 60 < d_y {
                moved.push((r[pid].clone(), r[no].parse().unwrap()));
            }
            r[paid] = r[due].clone();
            r[amount_paid] = r[amount_due].clone();
            used.insert(r[pid].clone());
            late += 1;
        }
    }
    assert_eq!(late, 7);
    // 5 changes after the fact: a paid amount corrected.
    let mut changed = 0;
    for r in inst.rows.iter_mut() {
        if changed < 5 && !r[paid].is_empty() && !used.contains(&r[pid]) {
            let a: f64 = r[amount_paid].parse().unwrap();
            r[amount_paid] = format!("{:.2}", a - 1.0);
            used.insert(r[pid].clone());
            changed += 1;
        }
    }
    // 4 installments vanish (the last of four other policies).
    let mut dropped = Vec::new();
    for (i, r) in inst.rows.iter().enumerate().rev() {
        if dropped.len() < 4 && !used.contains(&r[pid]) && r[no] != "1" {
            used.insert(r[pid].clone());
            dropped.push(i);
        }
    }
    for i in dropped {
        inst.rows.remove(i);
    }
    // 2 lapsed policies shown in force.
    let status = policies.col("status");
    let mut flipped = 0;
    for r in policies.rows.iter_mut() {
        if flipped < 2 && r[status] == "lapsed" && !used.contains(&r[0]) {
            r[status] = "in_force".into();
            flipped += 1;
        }
    }
    assert_eq!(flipped, 2);
    // 3 events entered late, and one new payment after yesterday (today's date moves on).
    let some = policies.rows[10][0].clone();
    for k in 0..3 {
        events.rows.push(vec![some.clone(), format_day(d_y - 20 - k), "complaint".into(), String::new()]);
    }
    let next = inst.rows.iter_mut().find(|r| r[paid].is_empty() && r[no] != "1" && !used.contains(&r[pid])).unwrap();
    next[paid] = format_day(d_y + 1);
    next[amount_paid] = next[amount_due].clone();
    policies.write(&today.join("policies.csv"));
    inst.write(&today.join("installments.csv"));
    events.write(&today.join("events.csv"));

    let x_book = load_book(&today, OnError::Strict).unwrap().book;
    let expected = by_the_contract(&y_book, &x_book, 60);
    // The injections, exactly.
    assert_eq!(expected[&("late_entry", "installments")], 7);
    assert_eq!(expected[&("late_entry", "events")], 3);
    assert_eq!(expected[&("changed_after_the_fact", "installments")], 5);
    assert_eq!(expected[&("vanished", "policies")], 3);
    assert_eq!(expected[&("vanished", "installments")], gone_installments + 4);
    assert!(expected[&("status_inconsistent", "policies")] >= 2);

    let previous = fingerprint_extract(&yesterday, Encoding::Utf8, None).unwrap();
    let run = audit_extract(&today, &previous, &AuditOptions::default()).unwrap();
    // Late entries of renewals matured yesterday moved their labels (lapsed -> paid in grace);
    // a corrected amount moves none.
    let mut got = run.moved_labels.clone();
    got.sort();
    moved.sort();
    assert_eq!(got, moved);
    assert!(!moved.is_empty(), "the injection moved some label");
    let report = run.report;
    assert_eq!(counts(&report), expected, "{report:#?}");
    assert_eq!(report.current.extract_date.as_deref(), Some(format_day(d_y + 1).as_str()));
    // Examples say where and what.
    let changed = report.checks.iter().find(|c| c.check == "changed_after_the_fact").unwrap();
    assert_eq!(changed.by_column.get("amount_paid"), Some(&5));
    let e = &changed.examples[0];
    assert!(e.file == "installments.csv" && e.column == "amount_paid" && e.key.contains('/') && e.old != e.new, "{e:?}");
    let vanished = report.checks.iter().find(|c| c.check == "vanished" && c.table == "policies").unwrap();
    assert!(vanished.examples.iter().all(|e| gone.contains(&e.key)), "{vanished:?}");
    let share = report.checks.iter().find(|c| c.check == "late_entry" && c.table == "installments").unwrap().share;
    assert!((share - 7.0 / report.current.installments as f64).abs() < 1e-12);
    // Thresholds: a stop on vanished rows.
    let limits = Thresholds { vanished: Threshold { warn: Some(0.0), stop: Some(0.0) }, ..Default::default() };
    let verdict = limits.judge(&report);
    assert!(verdict.stops.iter().any(|s| s.starts_with("vanished on policies: 3 rows")), "{verdict:?}");
}

#[test]
fn a_fingerprint_that_is_not_one_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.fp");
    std::fs::write(&path, b"hello").unwrap();
    let err = Fingerprint::read(&path).unwrap_err().to_string();
    assert!(err.contains("x.fp") && err.contains("not a lapse extract fingerprint"), "{err}");
}
