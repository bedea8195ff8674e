//! Broken rows: what is wrong, where, and the rejects file that keeps them.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

/// One contract violation in one cell (or one row, when `column` names the rule's key column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowIssue {
    /// The table (`installments`).
    pub table: &'static str,
    /// The file the row came from.
    pub file: PathBuf,
    /// 1-based data row (the header is not counted). In a CSV without quoted line breaks the
    /// row sits on line `row + 1`.
    pub row: usize,
    pub column: String,
    /// The cell as written (empty when missing).
    pub value: String,
    pub reason: String,
}

impl fmt::Display for RowIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
        let line = if self.file.extension().is_some_and(|e| e == "csv") { format!(" (line {})", self.row + 1) } else { String::new() };
        write!(f, "{file} row {}{line}, column {}, value {:?}: {}", self.row, self.column, self.value, self.reason)
    }
}

/// All issues found in an extract, in file then row order.
#[derive(Debug, Default, Clone)]
pub struct IssueLog {
    issues: Vec<RowIssue>,
}

impl IssueLog {
    pub fn push(&mut self, issue: RowIssue) {
        self.issues.push(issue);
    }

    pub fn extend(&mut self, issues: impl IntoIterator<Item = RowIssue>) {
        self.issues.extend(issues);
    }

    pub fn is_empty(&self) -> bool {
        self.issues.is_empty()
    }

    pub fn len(&self) -> usize {
        self.issues.len()
    }

    pub fn issues(&self) -> &[RowIssue] {
        &self.issues
    }

    /// Number of distinct rows with at least one issue.
    pub fn bad_row_count(&self) -> usize {
        let mut rows: Vec<(&str, usize)> = self.issues.iter().map(|i| (i.table, i.row)).collect();
        rows.sort_unstable();
        rows.dedup();
        rows.len()
    }

    /// Issue counts per (table, column, reason kind), for the summary under a capped list.
    pub fn summary(&self) -> BTreeMap<(String, String), usize> {
        let mut counts = BTreeMap::new();
        for issue in &self.issues {
            let kind = issue.reason.split(':').next().unwrap_or(&issue.reason);
            let kind = kind.split(" (").next().unwrap_or(kind).to_string();
            *counts.entry((format!("{}.{}", issue.table, issue.column), kind)).or_insert(0) += 1;
        }
        counts
    }

    /// A report listing the first `cap` issues and a count per column and reason for the rest.
    pub fn report(&self, cap: usize) -> String {
        let mut out = String::new();
        for issue in self.issues.iter().take(cap) {
            out.push_str("  ");
            out.push_str(&issue.to_string());
            out.push('\n');
        }
        if self.issues.len() > cap {
            out.push_str(&format!("  ... and {} more; all issues by column and reason:\n", self.issues.len() - cap));
            for ((column, reason), count) in self.summary() {
                out.push_str(&format!("    {count:>8}  {column}: {reason}\n"));
            }
        }
        out
    }
}
