//! The incentive-scheme export (`lapse performance --csv`): one row per agent and month, the
//! columns documented in `docs/performance.md` and never renamed (a scheme's spreadsheet reads
//! them by name). UTF-8 with a byte-order mark, so Excel on Chinese Windows reads it as UTF-8.

use std::path::Path;

use lapse_core::extract::Book;
use lapse_core::extract::csv_field as field;
use lapse_core::io_util::{IoContext, atomic_write};

use super::{GroupMonth, Level, NO_AGENT, PerformanceReport};

/// The export's columns, in order (new columns are only ever appended).
pub const COLUMNS: [&str; 35] = [
    "month",
    "agent_id",
    "team",
    "branch",
    "renewals_due",
    "premium_due",
    "renewals_collected",
    "premium_collected",
    "collection_rate",
    "count_rate",
    "open",
    "renewals_open",
    "premium_open",
    "target_rate",
    "attainment",
    "gap_premium",
    "expected_rate",
    "observed_to_expected",
    "oe_low",
    "oe_high",
    "shrunk_collection_rate",
    "rank",
    "persistency_13_policies",
    "persistency_13",
    "persistency_25_policies",
    "persistency_25",
    "renewals_listed",
    "list_worked_share",
    "renewals_attempted",
    "renewals_reached",
    "promises_made",
    "promises_kept",
    "promises_broken",
    "renewals_visited",
    "visit_rate",
];

fn number(x: Option<f64>) -> String {
    x.map_or_else(String::new, |x| format!("{x:.6}").trim_end_matches('0').trim_end_matches('.').to_string())
}

fn money(x: f64) -> String {
    format!("{x:.2}")
}

/// The agent rows of `report` as CSV text (with the header, without the byte-order mark).
pub fn agent_rows(report: &PerformanceReport, book: &Book) -> String {
    // Each agent's team and branch, from the agents table.
    let agents = &book.agents;
    let agent_row: std::collections::HashMap<&str, usize> = agents.id.iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect();
    let team_branch = |agent: &str| -> (String, String) {
        if agent == NO_AGENT {
            return (String::new(), String::new());
        }
        match agent_row.get(agent) {
            Some(&a) => (agents.team.get(a).unwrap_or("").to_string(), agents.branch.get(a).unwrap_or("").to_string()),
            None => (String::new(), String::new()),
        }
    };
    let mut out = COLUMNS.join(",");
    out.push('\n');
    let mut rows: Vec<&GroupMonth> = report.groups.iter().filter(|g| g.level == Level::Agent && !g.month.contains("..")).collect();
    rows.sort_by(|a, b| a.month.cmp(&b.month).then(a.key.cmp(&b.key)));
    let mut index: std::collections::HashMap<&str, (String, String)> = std::collections::HashMap::new();
    for g in &rows {
        index.entry(g.key.as_str()).or_insert_with(|| team_branch(&g.key));
    }
    for g in rows {
        let (team, branch) = &index[g.key.as_str()];
        let cells = [
            g.month.clone(),
            field(&g.key),
            field(team),
            field(branch),
            g.renewals_due.to_string(),
            money(g.premium_due),
            g.renewals_collected.to_string(),
            money(g.premium_collected),
            number(g.collection_rate),
            number(g.count_rate),
            g.open.to_string(),
            g.renewals_open.to_string(),
            money(g.premium_open),
            number(g.target_rate),
            number(g.attainment),
            g.gap_premium.map_or_else(String::new, money),
            number(g.expected_rate),
            number(g.observed_to_expected),
            number(g.oe_low),
            number(g.oe_high),
            number(g.shrunk_collection_rate),
            g.rank.map_or_else(String::new, |r| r.to_string()),
            g.persistency_13_policies.to_string(),
            number(g.persistency_13),
            g.persistency_25_policies.to_string(),
            number(g.persistency_25),
        ];
        // The work columns: empty without the outcome store.
        let count = |f: fn(&super::work::WorkCounts) -> u64| g.work.as_ref().map_or_else(String::new, |w| f(w).to_string());
        let mut cells = cells.to_vec();
        cells.extend([
            count(|w| w.renewals_listed),
            number(g.work.and_then(|w| w.list_worked_share)),
            count(|w| w.renewals_attempted),
            count(|w| w.renewals_reached),
            count(|w| w.promises_made),
            count(|w| w.promises_kept),
            count(|w| w.promises_broken),
            count(|w| w.renewals_visited),
            number(g.work.and_then(|w| w.visit_rate)),
        ]);
        debug_assert_eq!(cells.len(), COLUMNS.len());
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

/// Writes the export to `path` (temp file, then rename).
pub fn write_agent_csv(path: &Path, report: &PerformanceReport, book: &Book) -> Result<(), IoContext> {
    let text = agent_rows(report, book);
    atomic_write(path, |w| {
        w.write_all("\u{feff}".as_bytes())?;
        w.write_all(text.as_bytes())
    })
}
