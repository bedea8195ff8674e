//! The only reader of raw extracts: finds the contract's tables in a directory, checks every
//! rule of `DATA_CONTRACT.md`, and returns a typed, indexed [`Book`].
//!
//! Strict by default: any broken row fails the load with a report of every broken row. With
//! [`OnError::Skip`] the broken rows (and the rows that depend on them, such as installments of
//! a rejected policy) are left out and returned in the [`IssueLog`] so the caller can write them
//! to a rejects file. Nothing is dropped without an issue saying why.

pub mod book;
pub mod cells;
pub mod issues;
pub mod read;
mod rejects;
pub mod schema;
pub mod split;
pub mod stream;

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use book::select;
pub use book::{Agents, Book, Categories, Customers, Events, GroupIndex, Installments, Policies};
use cells::{TableFrame, TextColumn, TextSlice};
pub use issues::{IssueLog, RowIssue};
pub use rejects::csv_field;
use schema::{AGENTS, CUSTOMERS, EVENTS, Frequency, INSTALLMENTS, POLICIES, TableSpec};

use crate::io_util::IoContext;

/// Tables with fewer rows are checked on the calling thread: handing a few rows to the thread
/// pool costs more than checking them.
const PARALLEL_ROWS: usize = 16_384;

/// `rayon::join` for big tables, `(a(), b())` for small ones.
fn join<A: Send, B: Send>(rows: usize, a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B + Send) -> (A, B) {
    if rows < PARALLEL_ROWS { (a(), b()) } else { rayon::join(a, b) }
}

/// What to do with rows that break the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnError {
    /// Report every broken row and stop; nothing is written.
    #[default]
    Strict,
    /// Leave broken rows out, and hand them back with their reasons.
    Skip,
}

/// Why an extract could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error(transparent)]
    Io(#[from] IoContext),
    #[error("the extract directory {} has no {table} table ({table}.csv or {table}.parquet)", dir.display())]
    MissingTable { table: &'static str, dir: PathBuf },
    #[error("the {table} table is given twice ({}): keep one", paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    AmbiguousTable { table: &'static str, paths: Vec<PathBuf> },
    #[error("{}: missing required column(s) {}", file.display(), columns.join(", "))]
    MissingColumns { file: PathBuf, columns: Vec<String> },
    #[error("{}: cannot be read: {message}", file.display())]
    Unreadable { file: PathBuf, message: String },
    #[error("the extract breaks the data contract in {} row(s) ({} issue(s)); nothing was written. Fix them, or pass --on-error skip to write them to a rejects file and go on:\n{}", log.bad_row_count(), log.len(), log.report(50))]
    Rejected { log: IssueLog },
}

impl ExtractError {
    /// Whether the extract itself is at fault (missing, unreadable or breaking the contract),
    /// as opposed to the machine (a failed read of a file that exists).
    pub fn is_input(&self) -> bool {
        !matches!(self, ExtractError::Io(_))
    }
}

/// A loaded book and the rows left out of it.
#[derive(Debug)]
pub struct LoadedBook {
    pub book: Book,
    /// Every rejected row with its reasons (empty in strict mode, which fails instead).
    pub rejected: IssueLog,
    /// Where each table was read from.
    pub files: Vec<PathBuf>,
}

/// Reads and validates the extract in `dir`.
pub fn load_book(dir: &Path, on_error: OnError) -> Result<LoadedBook, ExtractError> {
    load_book_encoded(dir, on_error, read::Encoding::Utf8)
}

/// [`load_book`] for CSV tables in `encoding` (a UTF-8 byte-order mark is always skipped).
pub fn load_book_encoded(dir: &Path, on_error: OnError, encoding: read::Encoding) -> Result<LoadedBook, ExtractError> {
    if !dir.is_dir() {
        return Err(ExtractError::Io(IoContext::new(
            "reading extract directory",
            dir,
            std::io::Error::new(std::io::ErrorKind::NotFound, "not a directory"),
        )));
    }
    let files = std::sync::Mutex::new(Vec::new());
    let open = |spec: &'static TableSpec| -> Result<Option<TableFrame>, ExtractError> {
        let Some(path) = read::locate(dir, spec)? else { return Ok(None) };
        let started = std::time::Instant::now();
        let frame = read::read_table(&path, spec, encoding)?;
        tracing::debug!(table = spec.name, rows = frame.height(), elapsed_ms = started.elapsed().as_millis() as u64, "read");
        files.lock().expect("not poisoned").push(path);
        Ok(Some(frame))
    };
    // Fail fast on a missing required table before reading anything big.
    for spec in [&CUSTOMERS, &POLICIES, &INSTALLMENTS] {
        read::locate(dir, spec)?;
    }
    let (book, rejected) = assemble_book(&open, on_error, true)?;
    Ok(LoadedBook { book, rejected, files: files.into_inner().expect("not poisoned") })
}

/// Reads the agents table alone (a file, or the extract directory holding it), with its
/// contract checks: what a server needs to name each servicing agent's team without loading the
/// book. Rows that break the contract are left out and named in the returned log.
pub fn load_agents(path: &Path) -> Result<(Agents, IssueLog), ExtractError> {
    let file = if path.is_dir() {
        read::locate(path, &AGENTS)?.ok_or_else(|| ExtractError::MissingTable { table: AGENTS.name, dir: path.to_path_buf() })?
    } else {
        path.to_path_buf()
    };
    let frame = read::read_table(&file, &AGENTS, read::Encoding::Utf8)?;
    let mut log = IssueLog::default();
    let (agents, _) = build_agents(frame, &mut log);
    Ok((agents, log))
}

/// Builds a [`Book`] from the tables `open` hands over (None for an absent optional table),
/// checking every contract rule: the one path from raw rows to a book, used for extract
/// directories and for the raw records of a scoring request alike. `parallel_open`: open the
/// independent tables (customers, agents, policies) at once (worth it when opening reads a
/// file; not for a request's records, already in memory).
pub fn assemble_book(
    open: &(dyn Fn(&'static TableSpec) -> Result<Option<TableFrame>, ExtractError> + Sync),
    on_error: OnError,
    parallel_open: bool,
) -> Result<(Book, IssueLog), ExtractError> {
    let missing = |spec: &'static TableSpec| ExtractError::MissingTable { table: spec.name, dir: PathBuf::from("(input)") };
    let strict = on_error == OnError::Strict;
    let mut log = IssueLog::default();
    // customers, agents and policies are independent until their keys are checked: read them
    // at once (installments and events, the big ones, are read one at a time).
    let (customers, (agents, policies)) = {
        let open = &open;
        if parallel_open {
            rayon::join(|| open(&CUSTOMERS), || rayon::join(|| open(&AGENTS), || open(&POLICIES)))
        } else {
            (open(&CUSTOMERS), (open(&AGENTS), open(&POLICIES)))
        }
    };
    let (customers, agents, policies) = (customers?, agents?, policies?);
    let (customers, customer_rejected) = build_customers(customers.ok_or_else(|| missing(&CUSTOMERS))?, &mut log);
    let customer_keys = Keys::new(CUSTOMERS.name, &customers.id, customer_rejected);
    let (agents, agent_rejected) = match agents {
        Some(frame) => {
            let (agents, rejected) = build_agents(frame, &mut log);
            (agents, Some(rejected))
        }
        None => (Agents::default(), None),
    };
    let agent_keys = agent_rejected.map(|rejected| Keys::new(AGENTS.name, &agents.id, rejected));
    let (policies, policy_rejected) =
        build_policies(policies.ok_or_else(|| missing(&POLICIES))?, &customer_keys, agent_keys.as_ref(), strict, &mut log);
    drop((customer_keys, agent_keys));
    let policy_keys = Keys::new(POLICIES.name, &policies.id, policy_rejected);
    let installments =
        build_installments(open(&INSTALLMENTS)?.ok_or_else(|| missing(&INSTALLMENTS))?, &policy_keys, policies.len(), strict, &mut log);
    let events = match open(&EVENTS)? {
        Some(frame) => build_events(frame, &policy_keys, policies.len(), strict, &mut log),
        None => Events { offsets: vec![0; policies.len() + 1], ..Events::default() },
    };
    drop(policy_keys);
    if strict && !log.is_empty() {
        return Err(ExtractError::Rejected { log });
    }

    let customer_policies = GroupIndex::build(customers.id.len(), policies.customer.iter().map(|&c| Some(c)));
    let agent_policies = GroupIndex::build(agents.id.len(), policies.agent.iter().copied());
    let latest_observed = [
        installments.paid.iter().flatten().max().copied(),
        events.date.iter().max().copied(),
        policies.status_date.iter().flatten().max().copied(),
        policies.issue_date.iter().max().copied(),
        agents.hire_date.iter().flatten().max().copied(),
        agents.leave_date.iter().flatten().max().copied(),
    ]
    .into_iter()
    .flatten()
    .max();
    let book =
        Book { customers, agents, policies, installments, events, customer_policies, agent_policies, latest_observed, contacts: Default::default() };
    Ok((book, log))
}

/// A cell's text without surrounding white space, `None` when blank. Most cells have no white
/// space to trim, and checking the first and last byte first keeps this off the profile.
#[inline]
pub fn clean(text: &str) -> Option<&str> {
    let bytes = text.as_bytes();
    let plain = |b: &u8| b.is_ascii() && !b.is_ascii_whitespace();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) if plain(first) && plain(last) => Some(text),
        _ => Some(text.trim()).filter(|t| !t.is_empty()),
    }
}

/// The trimmed keys of the rows that are not bad, in row order.
fn kept_ids(ids: &TextColumn, bad: &[bool]) -> Vec<String> {
    ids.iter().zip(bad).filter(|(_, bad)| !**bad).map(|(id, _)| id.and_then(clean).unwrap_or_default().to_string()).collect()
}

/// A converted number, `None` where missing (NaN).
fn present(value: f64) -> Option<f64> {
    (!value.is_nan()).then_some(value)
}

/// A table's keys: accepted ones map to their row in the built table (borrowing its ids);
/// rejected ones remember their source row, so that dependants can say why they were left out.
struct Keys<'a> {
    table: &'static str,
    accepted: FxHashMap<&'a str, u32>,
    rejected: FxHashMap<String, usize>,
}

impl<'a> Keys<'a> {
    fn new(table: &'static str, ids: &'a [String], rejected: FxHashMap<String, usize>) -> Self {
        let mut accepted = FxHashMap::with_capacity_and_hasher(ids.len(), Default::default());
        accepted.extend(ids.iter().enumerate().map(|(i, id)| (id.as_str(), i as u32)));
        Keys { table, accepted, rejected }
    }
}

/// Flags later rows that repeat an earlier row's key.
fn flag_duplicates(frame: &mut TableFrame, ids: &TextColumn, column: &str) {
    let mut first: FxHashMap<&str, usize> = FxHashMap::with_capacity_and_hasher(ids.len(), Default::default());
    let mut dups = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let Some(id) = id.and_then(clean) else { continue };
        if let Some(&row) = first.get(id) {
            dups.push((i, id.to_string(), row));
        } else {
            first.insert(id, i);
        }
    }
    for (i, id, row) in dups {
        frame.flag(i, column, id, format!("duplicate key (first at row {})", row + 1));
    }
}

/// The rows to keep, and the keys of rejected rows, once every rule has been checked.
fn settle_keys(frame: &TableFrame, ids: &TextColumn) -> (Vec<u32>, FxHashMap<String, usize>) {
    let mut keep = Vec::with_capacity(frame.height());
    let mut rejected = FxHashMap::default();
    for (i, id) in ids.iter().enumerate() {
        if frame.bad[i] {
            if let Some(id) = id.and_then(clean) {
                rejected.entry(id.to_string()).or_insert(i);
            }
        } else {
            keep.push(i as u32);
        }
    }
    (keep, rejected)
}

/// One slice's resolved keys, and its (row, key) problems.
type Resolved = (Vec<Option<u32>>, Vec<(usize, Option<String>)>);

/// Resolves a foreign key per row. Unknown keys are flagged; keys of rejected rows are flagged
/// only when skipping (in strict mode the run fails on the rejected row itself).
fn resolve(frame: &mut TableFrame, values: &TextColumn, column: &str, target: &Keys, strict: bool) -> Vec<Option<u32>> {
    // Each thread resolves a contiguous slice; results are concatenated in row order. A small
    // table (a scoring request's records) is one slice.
    let n = values.len();
    let parts = if n < PARALLEL_ROWS { 1 } else { rayon::current_num_threads().max(1) };
    let resolved: Vec<Resolved> = (0..parts)
        .into_par_iter()
        .map(|part| {
            let (start, end) = (part * n / parts, (part + 1) * n / parts);
            resolve_slice(&values.slice(start, end - start), start, target, strict)
        })
        .collect();
    let mut out = Vec::with_capacity(n);
    for (values, misses) in resolved {
        out.extend(values);
        for (i, value) in misses {
            match value {
                // Strict runs fail on the rejected row itself; this one is only unusable.
                None => frame.bad[i] = true,
                Some(value) => {
                    let reason = match target.rejected.get(&value) {
                        Some(&row) => format!("its {} row {} was rejected", target.table, row + 1),
                        None => format!("unknown key: not in {}", target.table),
                    };
                    frame.flag(i, column, value, reason);
                }
            }
        }
    }
    out
}

/// Resolves one slice starting at row `first`; misses are (row, the key when it is reported).
fn resolve_slice(values: &TextSlice<'_>, first: usize, target: &Keys, strict: bool) -> Resolved {
    let mut out = Vec::with_capacity(values.len());
    let mut misses = Vec::new();
    // Extracts are usually sorted by key: remember the last hit and skip most hash lookups.
    let mut last: Option<(&str, u32)> = None;
    for (i, value) in values.iter().enumerate() {
        let Some(value) = value.and_then(clean) else {
            out.push(None);
            continue;
        };
        if let Some((previous, idx)) = last
            && previous == value
        {
            out.push(Some(idx));
            continue;
        }
        match target.accepted.get(value) {
            Some(&idx) => {
                last = Some((value, idx));
                out.push(Some(idx));
            }
            None => {
                out.push(None);
                let silent = strict && target.rejected.contains_key(value);
                misses.push((first + i, (!silent).then(|| value.to_string())));
            }
        }
    }
    (out, misses)
}

fn build_customers(mut frame: TableFrame, log: &mut IssueLog) -> (Customers, FxHashMap<String, usize>) {
    let ids = frame.text("customer_id");
    let birth = frame.dates("birth_date");
    let gender = frame.text("gender");
    let region = frame.text("region");
    let occupation = frame.text("occupation_class");
    // Category columns are encoded while the keys are checked.
    let (encoded, (keep, rejected)) = join(
        frame.height(),
        || [&gender, &region, &occupation].map(|c| Categories::from_values(c.iter().map(|v| v.and_then(clean)))),
        || {
            flag_duplicates(&mut frame, &ids, "customer_id");
            settle_keys(&frame, &ids)
        },
    );
    let [gender, region, occupation_class] = encoded.map(|c| c.select(&keep));
    let customers = Customers {
        id: kept_ids(&ids, &frame.bad),
        birth_date: keep.iter().map(|&i| birth[i as usize].expect("kept rows have a birth date")).collect(),
        gender,
        region,
        occupation_class,
    };
    log.extend(frame.issues);
    (customers, rejected)
}

fn build_agents(mut frame: TableFrame, log: &mut IssueLog) -> (Agents, FxHashMap<String, usize>) {
    let ids = frame.text("agent_id");
    let hire = frame.dates("hire_date");
    let leave = frame.dates("leave_date");
    let (team, branch) = (frame.text("team"), frame.text("branch"));
    flag_duplicates(&mut frame, &ids, "agent_id");
    let (keep, rejected) = settle_keys(&frame, &ids);
    let kept = |column: &TextColumn| -> Categories {
        let values: Vec<Option<&str>> = column.iter().map(|v| v.and_then(clean)).collect();
        Categories::from_values(keep.iter().map(|&r| values[r as usize]))
    };
    let agents = Agents {
        id: kept_ids(&ids, &frame.bad),
        hire_date: select(&hire, &keep),
        leave_date: select(&leave, &keep),
        team: kept(&team),
        branch: kept(&branch),
    };
    log.extend(frame.issues);
    (agents, rejected)
}

fn build_policies(
    mut frame: TableFrame,
    customers: &Keys,
    agents: Option<&Keys>,
    strict: bool,
    log: &mut IssueLog,
) -> (Policies, FxHashMap<String, usize>) {
    let ids = frame.text("policy_id");
    let customer_ids = frame.text("customer_id");
    let product_code = frame.text("product_code");
    let product_type = frame.text("product_type");
    let channel = frame.text("channel");
    let agent_ids = frame.text("agent_id");
    let issue = frame.dates("issue_date");
    let frequency_text = frame.text("premium_frequency");
    let modal = frame.numbers("modal_premium");
    let sum_assured = frame.numbers("sum_assured");
    let term = frame.numbers("payment_term_years");
    let method = frame.text("payment_method");
    let region = frame.text("region");
    let status = frame.text("status");
    let status_date = frame.dates("status_date");

    // Category columns are encoded while the rows and keys are checked.
    let categories = [&product_code, &product_type, &channel, &agent_ids, &method, &region, &status];
    let (encoded, (frequency, customer, agent, keep, rejected)) = join(
        frame.height(),
        || categories.map(|c| Categories::from_values(c.iter().map(|v| v.and_then(clean)))),
        || {
            let mut frequency = Vec::with_capacity(frame.height());
            let mut bad_frequency = Vec::new();
            for (i, text) in frequency_text.iter().enumerate() {
                let parsed = text.and_then(Frequency::parse);
                if let (Some(text), None) = (text.and_then(clean), parsed) {
                    bad_frequency.push((i, text.to_string()));
                }
                frequency.push(parsed);
            }
            for (i, text) in bad_frequency {
                frame.flag(i, "premium_frequency", text, "unknown premium frequency (expected annual, semiannual, quarterly or monthly)");
            }
            flag_duplicates(&mut frame, &ids, "policy_id");
            let customer = resolve(&mut frame, &customer_ids, "customer_id", customers, strict);
            let agent = match agents {
                Some(agents) => resolve(&mut frame, &agent_ids, "agent_id", agents, strict),
                None => vec![None; frame.height()],
            };
            let (keep, rejected) = settle_keys(&frame, &ids);
            (frequency, customer, agent, keep, rejected)
        },
    );
    let [product_code, product_type, channel, agent_id, payment_method, region, status] = encoded.map(|c| c.select(&keep));
    let policies = Policies {
        id: kept_ids(&ids, &frame.bad),
        customer: keep.iter().map(|&i| customer[i as usize].expect("kept rows have a customer")).collect(),
        product_code,
        product_type,
        channel,
        agent_id,
        agent: select(&agent, &keep),
        issue_date: keep.iter().map(|&i| issue[i as usize].expect("kept rows have an issue date")).collect(),
        frequency: keep.iter().map(|&i| frequency[i as usize].expect("kept rows have a frequency")).collect(),
        modal_premium: select(&modal, &keep),
        sum_assured: keep.iter().map(|&i| present(sum_assured[i as usize])).collect(),
        payment_term_years: keep.iter().map(|&i| term[i as usize] as u32).collect(),
        payment_method,
        region,
        status,
        status_date: select(&status_date, &keep),
    };
    log.extend(frame.issues);
    (policies, rejected)
}

fn build_installments(mut frame: TableFrame, policies: &Keys, n_policies: usize, strict: bool, log: &mut IssueLog) -> Installments {
    let policy_ids = frame.text("policy_id");
    let number = frame.numbers("installment_no");
    let due = frame.dates("due_date");
    let amount_due = frame.numbers("amount_due");
    let paid = frame.dates("paid_date");
    let amount_paid = frame.numbers("amount_paid");
    let method = frame.text("payment_method");
    let failed = frame.numbers("failed_debits");
    let (method, policy) = join(
        frame.height(),
        || Categories::from_values(method.iter().map(|v| v.and_then(clean))),
        || resolve(&mut frame, &policy_ids, "policy_id", policies, strict),
    );
    drop(policy_ids);

    // Group rows by policy once; duplicates of (policy_id, installment_no) are found by sorting
    // each policy's few rows by number (no table-wide hash map of millions of keys).
    let groups = GroupIndex::build(n_policies, policy.iter().copied());
    let mut flags = Vec::new();
    let mut rows_by_number: Vec<(u32, u32)> = Vec::new();
    for p in 0..n_policies {
        rows_by_number.clear();
        rows_by_number.extend(groups.of(p).iter().filter_map(|&r| present(number[r as usize]).map(|n| (n as u32, r))));
        rows_by_number.sort_unstable();
        for pair in rows_by_number.windows(2) {
            if pair[0].0 == pair[1].0 {
                flags.push((
                    pair[1].1 as usize,
                    "installment_no",
                    pair[1].0.to_string(),
                    format!("duplicate key (policy_id, installment_no) (first at row {})", pair[0].1 + 1),
                ));
            }
        }
    }
    for i in 0..frame.height() {
        // (A paid_date that failed to parse is already reported; don't report it twice.)
        if let (None, Some(amount)) = (paid[i], present(amount_paid[i]))
            && amount > 0.0
            && !frame.bad[i]
        {
            flags.push((i, "amount_paid", amount.to_string(), "amount_paid > 0 but paid_date is empty".to_string()));
        }
    }
    flags.sort_by_key(|f| f.0);
    for (i, column, value, reason) in flags {
        frame.flag(i, column, value, reason);
    }

    // Kept rows, grouped by policy and ordered by (due date, number) within it.
    let mut offsets = Vec::with_capacity(n_policies + 1);
    let mut rows: Vec<u32> = Vec::with_capacity(frame.height());
    offsets.push(0);
    for p in 0..n_policies {
        let start = rows.len();
        rows.extend(groups.of(p).iter().copied().filter(|&r| !frame.bad[r as usize]));
        let group = &mut rows[start..];
        let key = |r: &u32| (due[*r as usize], number[*r as usize] as u32);
        if !group.is_sorted_by_key(key) {
            group.sort_by_key(key);
        }
        offsets.push(rows.len());
    }
    drop(groups);
    let method = method.select(&rows);
    let installments = Installments {
        policy: rows.iter().map(|&i| policy[i as usize].expect("kept rows have a policy")).collect(),
        number: rows.iter().map(|&i| number[i as usize] as u32).collect(),
        due: rows.iter().map(|&i| due[i as usize].expect("kept rows have a due date")).collect(),
        amount_due: select(&amount_due, &rows),
        paid: select(&paid, &rows),
        amount_paid: rows.iter().map(|&i| present(amount_paid[i as usize])).collect(),
        method,
        failed_debits: rows.iter().map(|&i| present(failed[i as usize]).map(|f| f as u32)).collect(),
        offsets,
    };
    log.extend(frame.issues);
    installments
}

fn build_events(mut frame: TableFrame, policies: &Keys, n_policies: usize, strict: bool, log: &mut IssueLog) -> Events {
    let policy_ids = frame.text("policy_id");
    let date = frame.dates("event_date");
    let kind = frame.text("event_type");
    let amount = frame.numbers("amount");
    let policy = resolve(&mut frame, &policy_ids, "policy_id", policies, strict);
    let keep: Vec<u32> = (0..frame.height() as u32).filter(|&i| !frame.bad[i as usize]).collect();
    let kept_policy: Vec<u32> = keep.iter().map(|&i| policy[i as usize].expect("kept rows have a policy")).collect();
    let kept_date: Vec<_> = keep.iter().map(|&i| date[i as usize].expect("kept rows have a date")).collect();
    let (order, offsets) = Book::group_order(n_policies, &kept_policy, &kept_date);
    let rows: Vec<u32> = order.iter().map(|&k| keep[k as usize]).collect();
    let events = Events {
        policy: select(&kept_policy, &order),
        date: select(&kept_date, &order),
        kind: Categories::from_values(kind.iter().map(|v| v.and_then(clean))).select(&rows),
        amount: rows.iter().map(|&i| present(amount[i as usize])).collect(),
        offsets,
    };
    log.extend(frame.issues);
    events
}

#[cfg(test)]
mod tests;
