//! One streaming pass over an extract: its fingerprint, or its audit against a previous one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rustc_hash::FxHashMap;

use super::fingerprint::{FingerprintBuilder, InstallmentPrint};
use super::report::{AuditReport, CheckCount, Example, Extract};
use super::{CHECK_TABLES, Fingerprint, NO_CENTS, NO_DAY, cents, day, day_text, money_text, policy_key, whole};
use crate::dates::Day;
use crate::extract::read::{Encoding, locate};
use crate::extract::schema::{AGENTS, EVENTS, INSTALLMENTS, POLICIES};
use crate::extract::stream::{Cell, for_each_row, row_count_hint};
use crate::extract::{ExtractError, schema::TableSpec};

/// How to audit.
#[derive(Debug, Clone)]
pub struct AuditOptions {
    pub grace_days: i32,
    pub encoding: Encoding,
    /// Today's extract date (default: the latest date it records).
    pub current_date: Option<Day>,
    /// Examples kept per check and table (per column for a change).
    pub examples: usize,
}

impl Default for AuditOptions {
    fn default() -> Self {
        AuditOptions { grace_days: 60, encoding: Encoding::Utf8, current_date: None, examples: 10 }
    }
}

const INSTALLMENT_COLUMNS: [&str; 6] = ["policy_id", "installment_no", "due_date", "amount_due", "paid_date", "amount_paid"];
const INSTALLMENT_REQUIRED: [bool; 6] = [true, true, true, true, false, false];
const EVENT_COLUMNS: [&str; 4] = ["policy_id", "event_date", "event_type", "amount"];
const EVENT_REQUIRED: [bool; 4] = [true, true, true, false];

/// Range lookups into a slice sorted by a 64-bit key: the slice's start for each value of the
/// key's top bits, so a lookup scans a handful of rows instead of a binary search's cache misses
/// over a hundred million.
struct BucketIndex {
    shift: u32,
    starts: Vec<u32>,
}

impl BucketIndex {
    fn build(keys: impl ExactSizeIterator<Item = u64>) -> Self {
        let n = keys.len();
        let bits = (usize::BITS - n.max(1).leading_zeros()).clamp(1, 28);
        let shift = 64 - bits;
        let mut starts = vec![0u32; (1usize << bits) + 1];
        for key in keys {
            starts[(key >> shift) as usize + 1] += 1;
        }
        for b in 1..starts.len() {
            starts[b] += starts[b - 1];
        }
        BucketIndex { shift, starts }
    }

    fn range(&self, key: u64) -> std::ops::Range<usize> {
        let b = (key >> self.shift) as usize;
        self.starts[b] as usize..self.starts[b + 1] as usize
    }
}

/// The hash of an event's content: its policy, date, type and amount.
fn event_hash(policy_id: &str, date: Day, event_type: &str, amount: i64) -> u64 {
    let h = crate::hash::fnv1a(0, policy_id.trim().bytes());
    let h = crate::hash::fnv1a(h, date.to_le_bytes());
    let h = crate::hash::fnv1a(h, event_type.trim().bytes().chain([0x1f]));
    crate::hash::fnv1a(h, amount.to_le_bytes())
}

/// The latest date an extract records (as the book's `latest_observed`).
#[derive(Default)]
struct Latest(Option<Day>);

impl Latest {
    fn see(&mut self, d: i32) {
        if d != NO_DAY {
            self.0 = Some(self.0.map_or(d, |l| l.max(d)));
        }
    }
}

struct Tables {
    policies: PathBuf,
    installments: PathBuf,
    events: Option<PathBuf>,
    agents: Option<PathBuf>,
}

impl Tables {
    /// A fingerprint builder with room for these tables' rows.
    fn builder(&self) -> FingerprintBuilder {
        let hint = |p: &Path| row_count_hint(p).unwrap_or(0);
        FingerprintBuilder::with_capacity(hint(&self.policies), hint(&self.installments), self.events.as_deref().map_or(0, hint))
    }
}

fn tables(dir: &Path) -> Result<Tables, ExtractError> {
    let need = |spec: &TableSpec| locate(dir, spec).map(|p| p.expect("a required table is found or an error"));
    Ok(Tables { policies: need(&POLICIES)?, installments: need(&INSTALLMENTS)?, events: locate(dir, &EVENTS)?, agents: locate(dir, &AGENTS)? })
}

/// Agents' hire and leave dates, for the extract date.
fn agents_latest(path: &Option<PathBuf>, encoding: Encoding, latest: &mut Latest) -> Result<(), ExtractError> {
    if let Some(path) = path {
        for_each_row(path, encoding, &["hire_date", "leave_date"], &[false, false], &mut |_, f| {
            for &cell in f {
                if let Ok(d) = day(cell) {
                    latest.see(d);
                }
            }
        })?;
    }
    Ok(())
}

/// The fingerprint of the extract in `dir` (one streaming pass; `extract_date` overrides the
/// latest date it records).
pub fn fingerprint_extract(dir: &Path, encoding: Encoding, extract_date: Option<Day>) -> Result<Fingerprint, ExtractError> {
    let t = tables(dir)?;
    let mut b = t.builder();
    let mut latest = Latest::default();
    for_each_row(&t.policies, encoding, &["policy_id", "issue_date", "status_date"], &[true, true, false], &mut |_, f| {
        if !f[0].is_blank() {
            let id = f[0].text();
            b.policy(policy_key(&id), &id);
        }
        latest.see(day(f[1]).unwrap_or(NO_DAY));
        latest.see(day(f[2]).unwrap_or(NO_DAY));
    })?;
    for_each_row(&t.installments, encoding, &INSTALLMENT_COLUMNS, &INSTALLMENT_REQUIRED, &mut |_, f| {
        if let Some(row) = installment(f) {
            latest.see(row.paid);
            b.installment(row);
        }
    })?;
    if let Some(events) = &t.events {
        for_each_row(events, encoding, &EVENT_COLUMNS, &EVENT_REQUIRED, &mut |_, f| {
            if let (Ok(date), Ok(amount)) = (day(f[1]), cents(f[3]))
                && date != NO_DAY
            {
                latest.see(date);
                b.event(event_hash(&f[0].text(), date, &f[2].text(), amount));
            }
        })?;
    }
    agents_latest(&t.agents, encoding, &mut latest)?;
    Ok(b.finish(extract_date.or(latest.0), dir.display().to_string()))
}

/// An installment row as the checks see it; None when a cell is unreadable.
fn installment(f: &[Cell<'_>]) -> Option<InstallmentPrint> {
    let number = whole(f[1]).ok()?;
    let due = day(f[2]).ok()?;
    Some(InstallmentPrint {
        policy: policy_key(&f[0].text()),
        amount_due: cents(f[3]).ok()?,
        amount_paid: cents(f[5]).ok()?,
        number,
        due,
        paid: day(f[4]).ok()?,
    })
}

/// Which cell of an installment row is unreadable, and why.
fn unreadable_cell(f: &[Cell<'_>]) -> (&'static str, String) {
    let named = [
        ("installment_no", whole(f[1]).is_err()),
        ("due_date", day(f[2]).is_err()),
        ("amount_due", cents(f[3]).is_err()),
        ("paid_date", day(f[4]).is_err()),
        ("amount_paid", cents(f[5]).is_err()),
    ];
    let (column, _) = named.iter().find(|(_, bad)| *bad).copied().unwrap_or(("installment_no", true));
    let at = INSTALLMENT_COLUMNS.iter().position(|c| *c == column).expect("a column of the row");
    (column, f[at].text().into_owned())
}

/// What an audit gives: the report and the renewals whose label moved. Today's fingerprint is
/// a second pass ([`fingerprint_extract`]) once the previous one is dropped: the two are never
/// in memory together (a 10M-policy book's is about 4 GB).
#[derive(Debug)]
pub struct AuditRun {
    pub report: AuditReport,
    /// Renewals (installment_no >= 2) matured by the previous extract's date whose label (lapsed:
    /// unpaid by due date + grace) differs today: a late entry or a change moved it. The nightly
    /// counts those the champion was trained on.
    pub moved_labels: Vec<(String, u32)>,
}

/// Today's policy, as the status and amount checks need it.
struct Today {
    /// modal_premium in cents (NO_CENTS when unreadable).
    modal: i64,
    /// 1 in_force, 2 lapsed, 0 anything else.
    status: u8,
    renewals: u32,
    /// The earliest due date of an unpaid renewal (NO_DAY: none).
    earliest_unpaid: i32,
    /// Where its id sits in the kept ids.
    id: u32,
}

/// Collects the examples of one (check, table).
struct Found {
    rows: usize,
    by_column: BTreeMap<String, usize>,
    examples: Vec<Example>,
    per_column: BTreeMap<String, usize>,
}

impl Found {
    fn new() -> Self {
        Found { rows: 0, by_column: BTreeMap::new(), examples: Vec::new(), per_column: BTreeMap::new() }
    }

    fn example(&mut self, cap: usize, e: impl FnOnce() -> Example, column: &str) {
        let n = self.per_column.entry(column.to_string()).or_default();
        if *n < cap {
            *n += 1;
            self.examples.push(e());
        }
    }
}

/// Audits the extract in `dir` against `previous` (one streaming pass over today's tables).
pub fn audit_extract(dir: &Path, previous: &Fingerprint, options: &AuditOptions) -> Result<AuditRun, ExtractError> {
    let t = tables(dir)?;
    let cap = options.examples;
    let enc = options.encoding;
    let d_y = previous.extract_date.unwrap_or(Day::MIN);
    let file = |p: &Path| p.file_name().map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into_owned());
    let (policies_file, installments_file) = (file(&t.policies), file(&t.installments));
    let mut latest = Latest::default();
    let mut found: BTreeMap<(&str, &str), Found> = CHECK_TABLES.iter().map(|&k| (k, Found::new())).collect();
    let mut unreadable = (0usize, Vec::new());
    let mut moved_labels = Vec::new();

    // Policies: seen (against vanished), and what the status and amount checks need.
    let policy_index = BucketIndex::build(previous.policies.iter().map(|p| p.0));
    let mut policy_seen = vec![false; previous.policies.len()];
    let policy_hint = row_count_hint(&t.policies).unwrap_or(0);
    let mut today: Vec<Today> = Vec::with_capacity(policy_hint);
    let mut today_of: FxHashMap<u64, u32> = FxHashMap::with_capacity_and_hasher(policy_hint, Default::default());
    let (mut ids, mut id_ends) = (String::new(), Vec::<usize>::new());
    let mut policy_rows = 0usize;
    for_each_row(
        &t.policies,
        enc,
        &["policy_id", "modal_premium", "status", "issue_date", "status_date"],
        &[true, true, true, true, false],
        &mut |_, f| {
            policy_rows += 1;
            if f[0].is_blank() {
                return;
            }
            let id = f[0].text();
            let id = id.trim();
            let key = policy_key(id);
            for i in policy_index.range(key) {
                if previous.policies[i].0 == key {
                    policy_seen[i] = true;
                }
            }
            latest.see(day(f[3]).unwrap_or(NO_DAY));
            latest.see(day(f[4]).unwrap_or(NO_DAY));
            if today_of.contains_key(&key) {
                return;
            }
            ids.push_str(id);
            id_ends.push(ids.len());
            today_of.insert(key, today.len() as u32);
            let status = match f[2].text().trim() {
                "in_force" => 1,
                "lapsed" => 2,
                _ => 0,
            };
            today.push(Today {
                modal: cents(f[1]).unwrap_or(NO_CENTS),
                status,
                renewals: 0,
                earliest_unpaid: NO_DAY,
                id: (id_ends.len() - 1) as u32,
            });
        },
    )?;
    let today_id = |i: u32| -> &str {
        let i = i as usize;
        &ids[if i == 0 { 0 } else { id_ends[i - 1] }..id_ends[i]]
    };

    // Installments: late entries, changes after the fact, mismatches, the statuses' inputs.
    let installment_index = BucketIndex::build(previous.installments.iter().map(|i| i.policy));
    let mut installment_seen = vec![false; previous.installments.len()];
    let mut installment_rows = 0usize;
    for_each_row(&t.installments, enc, &INSTALLMENT_COLUMNS, &INSTALLMENT_REQUIRED, &mut |_, f| {
        installment_rows += 1;
        let key_text = || format!("{}/{}", f[0].text().trim(), f[1].text().trim());
        let Some(x) = installment(f) else {
            unreadable.0 += 1;
            if unreadable.1.len() < cap {
                let (column, value) = unreadable_cell(f);
                unreadable.1.push(Example {
                    file: installments_file.clone(),
                    key: key_text(),
                    column: column.into(),
                    old: String::new(),
                    new: value,
                    note: String::new(),
                });
            }
            // Still today's row: not vanished.
            if let Ok(number) = whole(f[1]) {
                let policy = policy_key(&f[0].text());
                for i in installment_index.range(policy) {
                    if previous.installments[i].key() == (policy, number) {
                        installment_seen[i] = true;
                    }
                }
            }
            return;
        };
        latest.see(x.paid);
        // Against the policy: its premium, and the status check's inputs.
        let mut mismatch = false;
        if let Some(&p) = today_of.get(&x.policy) {
            let p = &mut today[p as usize];
            // More than 1% off the premium, in whole cents: |due - modal| x 100 > modal.
            if p.modal != NO_CENTS && x.amount_due != NO_CENTS && i128::from(x.amount_due - p.modal).abs() * 100 > i128::from(p.modal).abs() {
                mismatch = true;
                let modal = money_text(p.modal);
                found.get_mut(&("amount_mismatch", "installments")).expect("listed").example(
                    cap,
                    || Example {
                        file: installments_file.clone(),
                        key: key_text(),
                        column: "amount_due".into(),
                        old: String::new(),
                        new: money_text(x.amount_due),
                        note: format!("modal_premium={modal}"),
                    },
                    "amount_due",
                );
            }
            if x.number >= 2 {
                p.renewals += 1;
                if x.paid == NO_DAY && (p.earliest_unpaid == NO_DAY || x.due < p.earliest_unpaid) {
                    p.earliest_unpaid = x.due;
                }
            }
        }
        // Paid more than 1% over what was due: paid x 100 > due x 101.
        if x.amount_paid != NO_CENTS && x.amount_due != NO_CENTS && i128::from(x.amount_paid) * 100 > i128::from(x.amount_due) * 101 {
            if !mismatch {
                found.get_mut(&("amount_mismatch", "installments")).expect("listed").example(
                    cap,
                    || Example {
                        file: installments_file.clone(),
                        key: key_text(),
                        column: "amount_paid".into(),
                        old: String::new(),
                        new: money_text(x.amount_paid),
                        note: format!("amount_due={}", money_text(x.amount_due)),
                    },
                    "amount_paid",
                );
            }
            mismatch = true;
        }
        if mismatch {
            found.get_mut(&("amount_mismatch", "installments")).expect("listed").rows += 1;
        }
        // Against yesterday.
        let Some(at) = installment_index.range(x.policy).find(|&i| previous.installments[i].key() == x.key()) else { return };
        installment_seen[at] = true;
        let y = previous.installments[at];
        let grace = options.grace_days;
        if x.number >= 2 && y.due != NO_DAY && y.due + grace < d_y {
            let lapsed = |due: i32, paid: i32| paid == NO_DAY || paid > due + grace;
            if lapsed(y.due, y.paid) != lapsed(x.due, x.paid) {
                moved_labels.push((f[0].text().trim().to_string(), x.number));
            }
        }
        if y.paid == NO_DAY && x.paid != NO_DAY && x.paid <= d_y {
            let late = found.get_mut(&("late_entry", "installments")).expect("listed");
            late.rows += 1;
            late.example(
                cap,
                || Example {
                    file: installments_file.clone(),
                    key: key_text(),
                    column: "paid_date".into(),
                    old: String::new(),
                    new: day_text(x.paid),
                    note: String::new(),
                },
                "paid_date",
            );
        }
        let mut changed: Vec<(&str, String, String)> = Vec::new();
        if y.due != NO_DAY && y.due != x.due {
            changed.push(("due_date", day_text(y.due), day_text(x.due)));
        }
        if y.amount_due != NO_CENTS && y.amount_due != x.amount_due {
            changed.push(("amount_due", money_text(y.amount_due), money_text(x.amount_due)));
        }
        if y.paid != NO_DAY && y.paid != x.paid {
            changed.push(("paid_date", day_text(y.paid), day_text(x.paid)));
        }
        if y.paid != NO_DAY && y.amount_paid != NO_CENTS && y.amount_paid != x.amount_paid {
            changed.push(("amount_paid", money_text(y.amount_paid), money_text(x.amount_paid)));
        }
        if !changed.is_empty() {
            let c = found.get_mut(&("changed_after_the_fact", "installments")).expect("listed");
            c.rows += 1;
            for (column, old, new) in changed {
                *c.by_column.entry(column.to_string()).or_default() += 1;
                c.example(
                    cap,
                    || Example { file: installments_file.clone(), key: key_text(), column: column.into(), old, new, note: String::new() },
                    column,
                );
            }
        }
    })?;

    // Events: one dated on or before yesterday's extract date that yesterday lacked is late.
    let mut event_rows = 0usize;
    if let Some(events) = &t.events {
        let events_file = file(events);
        let event_index = BucketIndex::build(previous.events.iter().copied());
        let mut used = vec![false; previous.events.len()];
        for_each_row(events, enc, &EVENT_COLUMNS, &EVENT_REQUIRED, &mut |_, f| {
            event_rows += 1;
            let (Ok(date), Ok(amount)) = (day(f[1]), cents(f[3])) else {
                unreadable.0 += 1;
                if unreadable.1.len() < cap {
                    let (column, value) = if day(f[1]).is_err() { ("event_date", f[1]) } else { ("amount", f[3]) };
                    unreadable.1.push(Example {
                        file: events_file.clone(),
                        key: format!("{}/{}/{}", f[0].text().trim(), f[1].text().trim(), f[2].text().trim()),
                        column: column.into(),
                        old: String::new(),
                        new: value.text().into_owned(),
                        note: String::new(),
                    });
                }
                return;
            };
            if date == NO_DAY {
                return;
            }
            latest.see(date);
            let hash = event_hash(&f[0].text(), date, &f[2].text(), amount);
            if date > d_y {
                return;
            }
            match event_index.range(hash).find(|&i| previous.events[i] == hash && !used[i]) {
                Some(i) => used[i] = true,
                None => {
                    let late = found.get_mut(&("late_entry", "events")).expect("listed");
                    late.rows += 1;
                    late.example(
                        cap,
                        || Example {
                            file: events_file.clone(),
                            key: format!("{}/{}/{}", f[0].text().trim(), f[1].text().trim(), f[2].text().trim()),
                            column: "event_date".into(),
                            old: String::new(),
                            new: day_text(date),
                            note: String::new(),
                        },
                        "event_date",
                    );
                }
            }
        })?;
    }
    agents_latest(&t.agents, enc, &mut latest)?;
    let d_x = options.current_date.or(latest.0);

    // Statuses, once every installment is read and today's date is known.
    if let Some(d_x) = d_x {
        let s = found.get_mut(&("status_inconsistent", "policies")).expect("listed");
        for p in &today {
            let overdue = p.earliest_unpaid != NO_DAY && p.earliest_unpaid + options.grace_days < d_x;
            let (bad, note) = match p.status {
                1 if overdue => (true, format!("unpaid_renewal_due_date={}", day_text(p.earliest_unpaid))),
                2 if p.renewals > 0 && p.earliest_unpaid == NO_DAY => (true, format!("renewals_paid={}/{}", p.renewals, p.renewals)),
                _ => (false, String::new()),
            };
            if bad {
                s.rows += 1;
                let status = if p.status == 1 { "in_force" } else { "lapsed" };
                s.example(
                    cap,
                    || Example {
                        file: policies_file.clone(),
                        key: today_id(p.id).to_string(),
                        column: "status".into(),
                        old: String::new(),
                        new: status.into(),
                        note,
                    },
                    "status",
                );
            }
        }
    }

    // Vanished: yesterday's rows today lacks.
    {
        let previous_file = |table: &str| format!("{} ({table})", previous.source);
        let v = found.get_mut(&("vanished", "policies")).expect("listed");
        for (_, p) in previous.policies.iter().enumerate().filter(|(i, _)| !policy_seen[*i]) {
            v.rows += 1;
            v.example(
                cap,
                || Example {
                    file: previous_file("policies"),
                    key: previous.id(p.1).to_string(),
                    column: "policy_id".into(),
                    old: previous.id(p.1).to_string(),
                    new: String::new(),
                    note: String::new(),
                },
                "policy_id",
            );
        }
        let v = found.get_mut(&("vanished", "installments")).expect("listed");
        for (_, y) in previous.installments.iter().enumerate().filter(|(i, _)| !installment_seen[*i]) {
            v.rows += 1;
            v.example(
                cap,
                || {
                    let id = previous.policy_id(y.policy).unwrap_or("(a policy not in its policies table)");
                    Example {
                        file: previous_file("installments"),
                        key: format!("{id}/{}", y.number),
                        column: "installment_no".into(),
                        old: format!("due_date={} amount_due={} paid_date={}", day_text(y.due), money_text(y.amount_due), day_text(y.paid)),
                        new: String::new(),
                        note: String::new(),
                    }
                },
                "installment_no",
            );
        }
    }

    let base = |check: &str, table: &str| -> usize {
        match (check, table) {
            ("vanished", "policies") => previous.policies.len(),
            ("vanished", _) => previous.installments.len(),
            (_, "policies") => policy_rows,
            (_, "events") => event_rows,
            _ => installment_rows,
        }
    };
    let checks = CHECK_TABLES
        .iter()
        .map(|&(check, table)| {
            let f = found.remove(&(check, table)).expect("listed");
            let rows_in_table = base(check, table);
            CheckCount {
                check: check.to_string(),
                table: table.to_string(),
                rows: f.rows,
                share: if rows_in_table > 0 { f.rows as f64 / rows_in_table as f64 } else { 0.0 },
                by_column: f.by_column,
                examples: f.examples,
            }
        })
        .collect();
    let header = previous.header();
    let report = AuditReport {
        current: Extract {
            source: dir.display().to_string(),
            extract_date: d_x.map(crate::dates::format_day),
            policies: policy_rows,
            installments: installment_rows,
            events: event_rows,
        },
        previous: Extract {
            source: header.source,
            extract_date: header.extract_date,
            policies: header.policies,
            installments: header.installments,
            events: header.events,
        },
        grace_days: options.grace_days,
        checks,
        unreadable_cells: unreadable.0,
        unreadable_examples: unreadable.1,
        training_labels_changed: None,
        verdict: None,
    };
    Ok(AuditRun { report, moved_labels })
}
