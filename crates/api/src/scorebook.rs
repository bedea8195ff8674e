//! The served state: the champion model and today's snapshot, scored once at load (and on
//! every reload), with the lookups requests use: renewals by policy, and the whole work list
//! ordered by expected gain.

use std::path::{Path, PathBuf};

use polars::prelude::DataFrame;
use rustc_hash::FxHashMap;

use lapse_core::dates::{Day, now_utc_rfc3339};
use lapse_core::table::column_of_frame;
use lapse_model::drift::{DriftReport, Thresholds};
use lapse_model::registry::{LoadedModel, Registry, RegistryError};
use lapse_model::scoring::{NONE, ScoredRows, ScoredSnapshot, score_snapshot};
use lapse_retention::{CustomerOrder, Economics};

/// The served state: a champion model and the scored snapshot, swapped whole on reload.
pub struct Scorebook {
    pub version: String,
    pub model: LoadedModel,
    pub rows: ScoredRows,
    /// The snapshot file and what it was built with.
    pub snapshot_path: PathBuf,
    pub as_of: Day,
    pub horizon_days: i32,
    pub grace_days: i32,
    /// policy_id -> first row; `next_of_policy[r]` chains the policy's other rows.
    first_of_policy: FxHashMap<Box<str>, u32>,
    next_of_policy: Vec<u32>,
    /// Every customer in work-list order by the economics' expected gains.
    pub queue: CustomerOrder,
    /// The order by the uplift learner registered with the models (`rank_by=uplift`), None
    /// without one (or when it cannot be read: logged).
    pub uplift: Option<CustomerOrder>,
    pub loaded_at: String,
    pub load_seconds: f64,
    /// The snapshot's drift against the model's training reference (features and score);
    /// None when the model was registered without a reference.
    pub drift: Option<DriftReport>,
}

/// The drift of a snapshot frame (and of the scores given to it) against the reference stored
/// with `version`, one column at a time; None without a reference (logged when unreadable).
fn snapshot_drift(models: &Path, version: &str, df: &DataFrame, rows: &ScoredRows, thresholds: Thresholds) -> Option<DriftReport> {
    let reference = match Registry::new(models).reference(version) {
        Ok(reference) => reference?,
        Err(e) => {
            tracing::warn!(%version, error = %e, "cannot read the drift reference; no drift report");
            return None;
        }
    };
    let scores = rows.renewals.iter().map(|r| r.probability).collect();
    let report = reference.compare_scored(|name| column_of_frame(df, name), Some(scores), thresholds);
    if !report.flagged.is_empty() {
        tracing::warn!(%version, flagged = ?report.flagged, "the snapshot has drifted from the model's training data");
    }
    Some(report)
}

/// Why the champion and snapshot could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("model registry: {0}")]
    Registry(#[from] RegistryError),
    #[error("snapshot {}: {message}", path.display())]
    Snapshot { path: PathBuf, message: String },
}

impl Scorebook {
    /// The customer of `policy_id` in the snapshot, when it lists the policy.
    pub fn customer_of(&self, policy_id: &str) -> Option<&str> {
        let r = *self.first_of_policy.get(policy_id)?;
        self.rows.text(self.rows.renewals[r as usize].customer)
    }

    /// Loads the champion of `models` and scores the snapshot at `snapshot` with it.
    pub fn load(models: &Path, snapshot: &Path, economics: &Economics, thresholds: Thresholds) -> Result<Scorebook, LoadError> {
        let started = std::time::Instant::now();
        let model = Registry::new(models).load_champion()?;
        let scored = score_snapshot(snapshot, &model.model, economics, true).map_err(|e| LoadError::Snapshot { path: e.path, message: e.message })?;
        let drift = snapshot_drift(models, &model.version, &scored.frame, &scored.rows, thresholds);
        let uplift = match lapse_retention::uplift::ranking(models, &scored.frame, &scored.rows, economics) {
            Ok(uplift) => uplift,
            Err(e) => {
                tracing::warn!(error = %e, "cannot rank by the registered uplift learner; rank_by=uplift answers 409");
                None
            }
        };
        let ScoredSnapshot { rows, as_of, horizon_days, grace_days, frame } = scored;
        drop(frame);
        // An empty snapshot (a failed extract, a wrong date) would serve an empty work list as
        // if all were well, with no date to tell: refused, at start and on reload (the old one
        // serves on).
        if rows.is_empty() {
            return Err(LoadError::Snapshot {
                path: snapshot.to_path_buf(),
                message: "holds no renewal: nothing to serve (is it the right file, built on a complete extract?)".into(),
            });
        }
        let book = Scorebook::index(model, rows, economics, snapshot.to_path_buf(), as_of, horizon_days, grace_days);
        Ok(Scorebook { load_seconds: started.elapsed().as_secs_f64(), drift, uplift, ..book })
    }

    fn index(
        model: LoadedModel,
        rows: ScoredRows,
        economics: &Economics,
        snapshot_path: PathBuf,
        as_of: Day,
        horizon_days: i32,
        grace_days: i32,
    ) -> Scorebook {
        let n = rows.len();
        let mut first_of_policy: FxHashMap<Box<str>, u32> = FxHashMap::with_capacity_and_hasher(n, Default::default());
        let mut next_of_policy = vec![NONE; n];
        // Walk backwards so each chain runs in row order.
        for r in (0..n).rev() {
            if let Some(previous) = first_of_policy.insert(rows.policy_id[r].clone(), r as u32) {
                next_of_policy[r] = previous;
            }
        }
        let queue = CustomerOrder::by_risk(&rows, economics);
        Scorebook {
            version: model.version.clone(),
            model,
            rows,
            snapshot_path,
            as_of,
            horizon_days,
            grace_days,
            first_of_policy,
            next_of_policy,
            queue,
            uplift: None,
            loaded_at: now_utc_rfc3339(),
            load_seconds: 0.0,
            drift: None,
        }
    }

    /// The rows of `policy_id` (all its renewals at risk, or the one with `installment_no`).
    pub fn lookup(&self, policy_id: &str, installment_no: Option<u32>) -> impl Iterator<Item = usize> + '_ {
        let mut next = self.first_of_policy.get(policy_id).copied().unwrap_or(NONE);
        std::iter::from_fn(move || {
            while next != NONE {
                let r = next as usize;
                next = self.next_of_policy[r];
                if installment_no.is_none_or(|n| self.rows.renewals[r].installment_no == n) {
                    return Some(r);
                }
            }
            None
        })
    }
}
