//! The reports over time: what every night already writes (`REPORTS/T/*.json`,
//! `REPORTS/decisions.jsonl`) read into one in-memory history the console's pages are drawn
//! from. No new source of truth: a night's figures are read from its own reports.
//!
//! Read incrementally: [`History::refresh`] reads only the nights that are new or whose
//! `nightly.json` changed since the last read (a rerun), and forgets the nights that are gone;
//! a page is drawn from memory, never by re-parsing every night's JSON.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde_json::Value;

/// One night's figures, as the console shows them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Night {
    pub night: String,
    pub promoted: bool,
    pub champion_after: Option<String>,
    pub challenger: String,
    pub challenger_auc: Option<f64>,
    pub champion_auc: Option<f64>,
    pub reasons: Vec<String>,
    pub reasons_zh: Vec<String>,
    /// PSI per feature (the score too), and the thresholds.
    pub psi: Vec<(String, f64)>,
    pub watch: f64,
    pub act: f64,
    /// Today's score distribution: (bin, share).
    pub score_bins: Vec<(String, f64)>,
    /// Realised performance per scoring month (the night's score log joined with outcomes).
    pub realised: Vec<MonthModel>,
    /// 13th- and 25th-month persistency by count: (dimension, group, month, ratio).
    pub persistency: Vec<(String, String, u32, f64)>,
    /// The funnel: (dimension, group, due month, renewals, lapsed, open).
    pub funnel: Vec<(String, String, String, usize, usize, usize)>,
    /// The book's collection rate per due month: (month, rate, open).
    pub collection: Vec<(String, f64, bool)>,
    /// Win-back candidates written that night.
    pub winback: Option<usize>,
    /// The campaigns reported that night.
    pub campaigns: Vec<Campaign>,
}

/// The model's realised figures for one scoring month.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MonthModel {
    pub month: String,
    pub scored: usize,
    pub labelled: usize,
    pub roc_auc: Option<f64>,
    pub expected_auc: Option<f64>,
    pub log_loss: Option<f64>,
    pub observed: Option<f64>,
    pub predicted: Option<f64>,
}

/// A campaign's effect as last reported.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Campaign {
    pub name: String,
    pub campaign_as_of: String,
    pub readable: bool,
    pub readable_on: String,
    pub renewals: usize,
    pub actions: Vec<ActionEffect>,
}

/// A campaign's save rate for one action.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActionEffect {
    pub action: String,
    pub save_rate: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub net_value: Option<f64>,
}

/// Every night of a reports directory, read once and kept up to date.
#[derive(Debug, Clone, Default)]
pub struct History {
    root: PathBuf,
    nights: BTreeMap<String, (SystemTime, Night)>,
}

impl History {
    /// Reads every night of `root` (a `lapse nightly --out` directory).
    pub fn open(root: &Path) -> History {
        let mut h = History { root: root.to_path_buf(), nights: BTreeMap::new() };
        h.refresh();
        h
    }

    /// Reads the nights that are new or changed since the last read and forgets those that are
    /// gone; returns how many were read.
    pub fn refresh(&mut self) -> usize {
        let mut present = BTreeMap::new();
        if let Ok(entries) = std::fs::read_dir(&self.root) {
            for entry in entries.filter_map(|e| e.ok()) {
                let name = entry.file_name().to_string_lossy().into_owned();
                let summary = entry.path().join("nightly.json");
                if lapse_core::dates::parse_day(&name).is_some()
                    && name.len() == 10
                    && let Ok(meta) = std::fs::metadata(&summary)
                {
                    present.insert(name, meta.modified().unwrap_or(SystemTime::UNIX_EPOCH));
                }
            }
        }
        self.nights.retain(|night, _| present.contains_key(night));
        let stale: Vec<(String, SystemTime)> =
            present.into_iter().filter(|(night, stamp)| self.nights.get(night).is_none_or(|(s, _)| s != stamp)).collect();
        // The nights to read, on every core (three years of nights are read once, at start).
        use rayon::prelude::*;
        let read: Vec<(String, SystemTime, Night)> =
            stale.into_par_iter().filter_map(|(night, stamp)| read_night(&self.root.join(&night), &night).map(|n| (night, stamp, n))).collect();
        let count = read.len();
        for (night, stamp, n) in read {
            self.nights.insert(night, (stamp, n));
        }
        count
    }

    /// The nights, oldest first.
    pub fn nights(&self) -> impl DoubleEndedIterator<Item = &Night> + ExactSizeIterator {
        self.nights.values().map(|(_, n)| n)
    }

    /// The latest night.
    pub fn latest(&self) -> Option<&Night> {
        self.nights.values().next_back().map(|(_, n)| n)
    }

    /// The reports directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Every campaign, as the latest night that reported it last reported it.
    pub fn campaigns(&self) -> Vec<&Campaign> {
        let mut by_name: BTreeMap<&str, &Campaign> = BTreeMap::new();
        for night in self.nights() {
            for c in &night.campaigns {
                by_name.insert(&c.name, c);
            }
        }
        by_name.into_values().collect()
    }

    /// Realised figures per scoring month: each month as the latest night that reported it
    /// (outcomes mature over nights: the latest is the most complete).
    pub fn model_months(&self) -> Vec<&MonthModel> {
        let mut by_month: BTreeMap<&str, &MonthModel> = BTreeMap::new();
        for night in self.nights() {
            for m in &night.realised {
                by_month.insert(&m.month, m);
            }
        }
        by_month.into_values().collect()
    }
}

fn read_json(path: &Path) -> Option<Value> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

fn f(v: &Value) -> Option<f64> {
    v.as_f64()
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

fn u(v: &Value) -> usize {
    v.as_u64().unwrap_or(0) as usize
}

/// One night's figures from its reports (None when its summary cannot be read).
fn read_night(dir: &Path, night: &str) -> Option<Night> {
    let summary = read_json(&dir.join("nightly.json"))?;
    let strings = |v: &Value| v.as_array().map(|a| a.iter().map(s).collect()).unwrap_or_default();
    let mut n = Night {
        night: night.to_string(),
        promoted: summary["decision"]["promote"].as_bool().unwrap_or(false),
        champion_after: summary["champion_after"].as_str().map(str::to_string),
        challenger: s(&summary["challenger"]["version"]),
        challenger_auc: f(&summary["challenger"]["roc_auc"]),
        champion_auc: f(&summary["champion"]["roc_auc"]),
        reasons: strings(&summary["decision"]["reasons"]),
        reasons_zh: strings(&summary["decision"]["reasons_zh"]),
        ..Night::default()
    };
    if let Some(drift) = read_json(&dir.join("drift.json")) {
        n.watch = f(&drift["thresholds"]["watch"]).unwrap_or(0.1);
        n.act = f(&drift["thresholds"]["act"]).unwrap_or(0.25);
        for feature in drift["features"].as_array().into_iter().flatten() {
            let name = s(&feature["feature"]);
            n.psi.push((name.clone(), f(&feature["psi"]).unwrap_or(f64::NAN)));
            if name == lapse_model::drift::SCORE {
                n.score_bins = feature["bins"].as_array().into_iter().flatten().map(|b| (s(&b["bin"]), f(&b["current"]).unwrap_or(0.0))).collect();
            }
        }
    }
    if let Some(realised) = read_json(&dir.join("realised.json")) {
        n.realised = realised["months"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|m| m["dimension"] == "all")
            .map(|m| MonthModel {
                month: s(&m["month"]),
                scored: u(&m["scored"]),
                labelled: u(&m["labelled"]),
                roc_auc: f(&m["roc_auc"]),
                expected_auc: f(&m["expected_auc"]),
                log_loss: f(&m["log_loss"]),
                observed: f(&m["observed_lapse_rate"]),
                predicted: f(&m["predicted_lapse_rate"]),
            })
            .collect();
    }
    if let Some(p) = read_json(&dir.join("persistency.json")) {
        n.persistency = p["kpis"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|k| Some((s(&k["dimension"]), s(&k["group"]), k["month"].as_u64()? as u32, f(&k["ratio_by_count"])?)))
            .collect();
    }
    if let Some(funnel) = read_json(&dir.join("funnel.json")) {
        n.funnel = funnel["rows"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| (s(&r["dimension"]), s(&r["group"]), s(&r["due_month"]), u(&r["renewals"]), u(&r["lapsed"]), u(&r["open"])))
            .collect();
    }
    // The team-performance report is the big one (every agent and month): read typed, only the
    // fields used (serde skips the rest without building it).
    #[derive(serde::Deserialize)]
    struct Performance {
        groups: Vec<Group>,
    }
    #[derive(serde::Deserialize)]
    struct Group {
        level: String,
        month: String,
        collection_rate: Option<f64>,
        #[serde(default)]
        open: bool,
    }
    if let Some(perf) = std::fs::read(dir.join("performance.json")).ok().and_then(|b| serde_json::from_slice::<Performance>(&b).ok()) {
        n.collection = perf
            .groups
            .into_iter()
            .filter(|g| g.level == "all" && !g.month.contains(".."))
            .filter_map(|g| Some((g.month, g.collection_rate?, g.open)))
            .collect();
    }
    n.winback = summary["winback"].as_u64().map(|x| x as usize).or_else(|| winback_rows(&dir.join("winback.parquet")));
    for name in summary["reports"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        if let Some(stem) = name.strip_prefix("campaign-").and_then(|r| r.strip_suffix(".json"))
            && let Some(effect) = read_json(&dir.join(name))
        {
            n.campaigns.push(Campaign {
                name: stem.to_string(),
                campaign_as_of: s(&effect["campaign_as_of"]),
                readable: effect["readable"].as_bool().unwrap_or(false),
                readable_on: s(&effect["readable_on"]),
                renewals: u(&effect["renewals"]),
                actions: effect["actions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|a| ActionEffect {
                        action: s(&a["action"]),
                        save_rate: f(&a["save_rate"]),
                        ci_low: f(&a["ci_low"]),
                        ci_high: f(&a["ci_high"]),
                        net_value: f(&a["net_value"]),
                    })
                    .collect(),
            });
        }
    }
    Some(n)
}

/// Rows of the night's win-back list (its Parquet metadata).
fn winback_rows(path: &Path) -> Option<usize> {
    use polars::prelude::*;
    ParquetReader::new(std::fs::File::open(path).ok()?).num_rows().ok()
}

#[cfg(test)]
mod tests;
