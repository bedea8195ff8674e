//! The data-quality audit's history: each night's `audit.json` (written by the nightly job or
//! `lapse audit --out` into a reports directory's `T/` folders) read back as counts per check
//! and night, for the trend chart a data owner reads to see a core-system problem start.

use std::path::Path;

use lapse_core::audit::{AuditReport, CHECK_TABLES};

/// How many past nights the trend shows.
pub const TREND_NIGHTS: usize = 60;

/// One night's counts, in the order of [`CHECK_TABLES`].
#[derive(Debug, Clone, PartialEq)]
pub struct NightCounts {
    pub night: String,
    pub rows: Vec<usize>,
}

/// The counts of the audits in `reports/T/audit.json` for nights up to `until` (inclusive),
/// oldest first, at most [`TREND_NIGHTS`]; a night without an audit or with an unreadable one is
/// left out (the chart has no point there).
pub fn history(reports: &Path, until: &str) -> Vec<NightCounts> {
    let Ok(entries) = std::fs::read_dir(reports) else { return Vec::new() };
    let mut nights: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("audit.json").is_file())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| lapse_core::dates::parse_day(n).is_some() && n.len() == 10 && n.as_str() <= until)
        .collect();
    nights.sort();
    let skip = nights.len().saturating_sub(TREND_NIGHTS);
    nights
        .into_iter()
        .skip(skip)
        .filter_map(|night| {
            let text = std::fs::read(reports.join(&night).join("audit.json")).ok()?;
            let report: AuditReport = serde_json::from_slice(&text).ok()?;
            Some(counts(night, &report))
        })
        .collect()
}

/// A report's counts as a history point.
pub fn counts(night: String, report: &AuditReport) -> NightCounts {
    NightCounts { night, rows: CHECK_TABLES.iter().map(|(c, t)| report.rows(c, t)).collect() }
}
