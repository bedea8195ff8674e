//! Small hand-written books and readers of outputs, for tests here and in the crates above
//! (feature `testkit`): a contract extract written line by line, and feature tables read back
//! as strings for readable assertions. Panics on any failure: test code only.

#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

use std::fs;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::dates::{Day, parse_day};

/// A date literal.
pub fn day(text: &str) -> Day {
    parse_day(text).unwrap_or_else(|| panic!("bad test date {text}"))
}

pub const POLICIES_HEADER: &str = "policy_id,customer_id,product_code,product_type,channel,agent_id,issue_date,premium_frequency,modal_premium,sum_assured,payment_term_years,payment_method,region,status,status_date";
pub const CUSTOMERS_HEADER: &str = "customer_id,birth_date,gender,region,occupation_class";
pub const INSTALLMENTS_HEADER: &str = "policy_id,installment_no,due_date,amount_due,paid_date,amount_paid,payment_method,failed_debits";
pub const EVENTS_HEADER: &str = "policy_id,event_date,event_type,amount";
pub const AGENTS_HEADER: &str = "agent_id,hire_date,leave_date";

/// A small extract written as CSV files: each table is its header plus the given lines.
pub struct CsvBook {
    pub policies: Vec<String>,
    pub customers: Vec<String>,
    pub installments: Vec<String>,
    pub events: Vec<String>,
    pub agents: Vec<String>,
}

impl Default for CsvBook {
    fn default() -> Self {
        Self::new()
    }
}

impl CsvBook {
    /// One customer (C1, born 1980-05-01) and one agent (A1, active), no policies yet.
    pub fn new() -> Self {
        CsvBook {
            policies: vec![],
            customers: vec!["C1,1980-05-01,F,Guangdong,2".into()],
            installments: vec![],
            events: vec![],
            agents: vec!["A1,2015-01-01,".into()],
        }
    }

    /// An annual policy `id` of customer C1 issued on `issue`, with its first premium paid.
    pub fn annual_policy(&mut self, id: &str, issue: &str) -> &mut Self {
        self.policies.push(format!("{id},C1,WL01,whole_life,agent,A1,{issue},annual,1000,20000,10,auto_debit,Guangdong,in_force,"));
        self.installments.push(format!("{id},1,{issue},1000,{issue},1000,auto_debit,0"));
        self
    }

    /// An installment row; `paid` may be empty.
    pub fn installment(&mut self, id: &str, no: u32, due: &str, paid: &str) -> &mut Self {
        let amount_paid = if paid.is_empty() { "" } else { "1000" };
        self.installments.push(format!("{id},{no},{due},1000,{paid},{amount_paid},auto_debit,0"));
        self
    }

    /// Writes the tables into `dir` and returns it.
    pub fn write(&self, dir: &Path) -> PathBuf {
        fs::create_dir_all(dir).unwrap();
        let table = |name: &str, header: &str, lines: &[String]| {
            let mut text = String::from(header);
            text.push('\n');
            for line in lines {
                text.push_str(line);
                text.push('\n');
            }
            fs::write(dir.join(format!("{name}.csv")), text).unwrap();
        };
        table("policies", POLICIES_HEADER, &self.policies);
        table("customers", CUSTOMERS_HEADER, &self.customers);
        table("installments", INSTALLMENTS_HEADER, &self.installments);
        table("events", EVENTS_HEADER, &self.events);
        table("agents", AGENTS_HEADER, &self.agents);
        dir.to_path_buf()
    }
}

/// Reads a Parquet file written by the feature builder.
pub fn read_parquet(path: &Path) -> DataFrame {
    ParquetReader::new(fs::File::open(path).unwrap()).finish().unwrap()
}

/// The values of a column as strings (nulls as "null"), for readable assertions.
pub fn column_strings(df: &DataFrame, name: &str) -> Vec<String> {
    let column = df.column(name).unwrap_or_else(|_| panic!("no column {name}"));
    (0..df.height())
        .map(|i| match column.get(i).unwrap() {
            AnyValue::Null => "null".to_string(),
            AnyValue::String(s) => s.to_string(),
            other => other.to_string(),
        })
        .collect()
}

/// A directory built once per test binary and shared by its test processes (nextest runs each
/// test in its own process): kept under `root` (the target's temp dir, `CARGO_TARGET_TMPDIR`), keyed by the test binary's size
/// and mtime (a rebuilt binary builds afresh; a stale one is never reused). It is built aside
/// and renamed into place, so a concurrent process either wins the rename or finds the finished
/// one; copies made for older test binaries are removed. Tests must not change it.
pub fn built_once(root: &Path, prefix: &str, build: impl FnOnce(&Path)) -> PathBuf {
    let exe = fs::metadata(std::env::current_exe().unwrap()).unwrap();
    let stamp = exe.modified().unwrap().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let name = format!("{prefix}-{stamp:x}-{:x}", exe.len());
    let dir = root.join(&name);
    if !dir.join(".done").exists() {
        let building = root.join(format!("{name}.building-{}", std::process::id()));
        let _ = fs::remove_dir_all(&building);
        fs::create_dir_all(&building).unwrap();
        build(&building);
        fs::write(building.join(".done"), b"").unwrap();
        if fs::rename(&building, &dir).is_err() {
            let _ = fs::remove_dir_all(&building);
        }
        for entry in fs::read_dir(root).unwrap().flatten() {
            let other = entry.file_name().to_string_lossy().into_owned();
            if other.starts_with(&format!("{prefix}-")) && !other.starts_with(&name) {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
    }
    dir
}

/// Copies a directory tree (a registry a test may change).
pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}
