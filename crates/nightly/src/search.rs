//! When the nightly searches the grid of settings (`--model auto`) and when it reuses the last
//! search's pick (decision 44). A search (every family's grid, the blend) costs several fits; the
//! pick barely moves from one night to the next, so it runs on a schedule: when no earlier
//! search is known, when the last one is `search_every_days` old or more, and the night after
//! drift reached the act threshold. The nights between train only the picked settings (one,
//! or a blend's members), refitted and recalibrated on tonight's window.
//!
//! The pick travels with the model it trained (`TrainReport::search` in the registry), so there
//! is no state file to lose or to disagree with the registry.

use std::path::Path;

use lapse_core::dates::{Day, format_day, parse_day};
use lapse_model::registry::Registry;
use lapse_model::train::{Family, PickedSetting, SearchRecord};
use lapse_reports::night::DecisionLine;

/// Registered versions looked through, newest first, for the last search.
const LOOK_BACK_VERSIONS: usize = 60;

/// What tonight does.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Search the grid; why.
    Search(String),
    /// Train the settings of the search on `night` (why, in the record).
    Reuse { night: String, settings: Vec<PickedSetting>, reason: String },
}

/// The last search before `night` recorded in the registry: its record, from the newest version
/// that has one (a record of `night` itself is a run of tonight killed and run again: tonight
/// plans as if it had not happened, so the rerun decides what the first run decided).
pub fn last_search(registry: &Registry, night: Day) -> Option<SearchRecord> {
    let versions = registry.versions().ok()?;
    versions
        .iter()
        .rev()
        .take(LOOK_BACK_VERSIONS)
        .filter_map(|v| registry.report(v).ok().and_then(|r| r.search))
        .find(|s| parse_day(&s.night).is_some_and(|d| d < night))
}

/// The features at the act threshold on the last night before `night` in the decision log.
fn last_night_acted(decision_log: &Path, night: Day) -> Option<(String, Vec<String>)> {
    let text = std::fs::read_to_string(decision_log).ok()?;
    text.lines()
        .filter_map(|l| serde_json::from_str::<DecisionLine>(l).ok())
        .filter(|d| parse_day(&d.as_of).is_some_and(|d| d < night))
        .max_by(|a, b| a.as_of.cmp(&b.as_of))
        .map(|d| (d.as_of, d.drift_act))
}

/// Tonight's plan for `families` (a search needs more than one family; one family trains its
/// configured setting and never searches: None).
pub fn plan(families: &[Family], every_days: u32, night: Day, last: Option<&SearchRecord>, decision_log: &Path) -> Option<Plan> {
    if families.len() < 2 {
        return None;
    }
    if every_days <= 1 {
        return Some(Plan::Search("a search every night (--search-every-days 1)".into()));
    }
    let Some(last) = last else {
        return Some(Plan::Search("no earlier search is recorded in the registry".into()));
    };
    let Some(searched_on) = parse_day(&last.night) else {
        return Some(Plan::Search(format!("the last search's night {:?} cannot be read", last.night)));
    };
    let age = night - searched_on;
    if age < 0 || age >= every_days as i32 {
        return Some(Plan::Search(format!("the last search ran on {} ({age} days before; searched every {every_days} days)", last.night)));
    }
    if let Some(family) = last.settings.iter().map(|s| s.family).find(|f| !families.contains(f)) {
        return Some(Plan::Search(format!("the last search picked {family}, not among tonight's families")));
    }
    if let Some((on, acted)) = last_night_acted(decision_log, night).filter(|(_, acted)| !acted.is_empty()) {
        return Some(Plan::Search(format!("drift reached the act threshold on {on} ({})", acted.join(", "))));
    }
    let picked = last.settings.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(" + ");
    Some(Plan::Reuse {
        night: last.night.clone(),
        settings: last.settings.clone(),
        reason: format!("reused the pick of the search on {} ({age} days before; searched every {every_days} days): {picked}", last.night),
    })
}

/// The record a trained model carries: what tonight searched or reused.
pub fn record(plan: &Plan, night: Day, picked: &[PickedSetting]) -> SearchRecord {
    match plan {
        Plan::Search(why) => SearchRecord {
            night: format_day(night),
            searched: true,
            settings: picked.to_vec(),
            reason: format!("searched ({why}): picked {}", picked.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(" + ")),
        },
        Plan::Reuse { night: searched_on, settings, reason } => {
            SearchRecord { night: searched_on.clone(), searched: false, settings: settings.clone(), reason: reason.clone() }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn searched(night: &str) -> SearchRecord {
        SearchRecord {
            night: night.into(),
            searched: true,
            settings: vec![PickedSetting { family: Family::Gbdt, setting: "depth=6 lr=0.05 rounds=200 leaf=50".into() }],
            reason: String::new(),
        }
    }

    #[test]
    fn a_search_runs_when_none_is_known_when_it_is_old_and_after_drift_acted() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("decisions.jsonl");
        let families = Family::AUTO.to_vec();
        let night = parse_day("2026-09-30").unwrap();
        assert!(matches!(plan(&families, 7, night, None, &log), Some(Plan::Search(_))));
        assert!(matches!(plan(&families, 7, night, Some(&searched("2026-09-23")), &log), Some(Plan::Search(_))), "7 days old");
        let reuse = plan(&families, 7, night, Some(&searched("2026-09-24")), &log);
        assert!(matches!(&reuse, Some(Plan::Reuse { night, .. }) if night == "2026-09-24"), "{reuse:?}");
        assert_eq!(plan(&[Family::Gbdt], 7, night, None, &log), None, "one family never searches");
        assert!(matches!(plan(&families, 1, night, Some(&searched("2026-09-29")), &log), Some(Plan::Search(_))));
        // The night before acted on drift: search.
        let line = |as_of: &str, act: &[&str]| {
            format!(
                "{{\"as_of\":\"{as_of}\",\"decided_at\":\"x\",\"challenger\":\"v1\",\"champion_before\":null,\"champion_after\":\"v1\",\"promoted\":true,\"reasons\":[],\"challenger_log_loss\":0.3,\"champion_log_loss\":null,\"challenger_roc_auc\":null,\"champion_roc_auc\":null,\"guard_rails_failed\":[],\"drift_act\":{act:?}}}\n"
            )
        };
        std::fs::write(&log, line("2026-09-28", &["premium"]) + &line("2026-09-29", &[])).unwrap();
        assert!(matches!(plan(&families, 7, night, Some(&searched("2026-09-24")), &log), Some(Plan::Reuse { .. })), "the last night did not act");
        std::fs::write(&log, line("2026-09-28", &[]) + &line("2026-09-29", &["premium"])).unwrap();
        let after_drift = plan(&families, 7, night, Some(&searched("2026-09-24")), &log);
        assert!(matches!(&after_drift, Some(Plan::Search(why)) if why.contains("premium")), "{after_drift:?}");
        // A pick of a family no longer trained: search.
        let forest = SearchRecord { settings: vec![PickedSetting { family: Family::Forest, setting: String::new() }], ..searched("2026-09-29") };
        assert!(matches!(plan(&families, 7, night, Some(&forest), &dir.path().join("none")), Some(Plan::Search(_))));
    }
}
