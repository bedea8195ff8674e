//! What a night needs: paths, the training window, the promotion policy and thresholds.

use std::path::PathBuf;

use lapse_core::dates::{Day, add_months, format_day};
use lapse_core::extract::OnError;
use lapse_model::drift::Thresholds;
use lapse_model::promotion::PromotionPolicy;
use lapse_model::train::{Family, Params};

/// What a nightly run needs.
#[derive(Debug, Clone)]
pub struct NightlyConfig {
    /// The extract directory.
    pub data: PathBuf,
    pub on_error: OnError,
    /// The character encoding of the extract's CSV files.
    pub encoding: lapse_core::extract::read::Encoding,
    /// The model registry.
    pub models: PathBuf,
    /// The night: features are built as of T, outcomes known at T count.
    pub as_of: Day,
    /// Reports directory: `T/` per night, `decisions.jsonl`, the staging area.
    pub out: PathBuf,
    /// The snapshot the server loads (default `REPORTS/snapshot.parquet`).
    pub snapshot: PathBuf,
    pub horizon_days: i32,
    pub grace_days: i32,
    /// Training snapshots: monthly, this many, the latest fully labelled one first.
    pub window_months: u32,
    /// How many of the latest training snapshots are the out-of-time window.
    pub validation_snapshots: usize,
    pub families: Vec<Family>,
    /// With several families: search the grid of settings every this many nights (and after
    /// drift acted); the nights between train the last search's pick. 1: every night.
    pub search_every_days: u32,
    pub params: Params,
    pub policy: PromotionPolicy,
    pub thresholds: Thresholds,
    /// The extract must record something within this many days before T.
    pub max_extract_age_days: i32,
    /// The scoring API's score log, for the realised-performance report.
    pub score_log: Option<PathBuf>,
    /// The campaigns directory (`lapse queue`, `lapse serve`): campaigns whose every renewal
    /// matured within the last [`CAMPAIGN_REPORT_DAYS`] days get an effect report.
    pub campaigns: Option<PathBuf>,
    /// Language of the HTML reports' headings and labels.
    pub report_lang: lapse_model::scoring::lang::Lang,
    /// Register the challenger refit on every labelled row of the window (judged, as always,
    /// by its held-out predictions).
    pub refit: bool,
    /// Draw progress bars.
    pub progress: bool,
    /// At most this many training rows: a sample stratified by snapshot date and label
    /// (`lapse_core::features::sample`); None: every row of the window.
    pub max_train_rows: Option<usize>,
    /// The outcomes agents recorded (read from the outcome store by the caller; None: no
    /// store). Only those before the night's date are used: the funnel's reached / promised /
    /// promise-kept steps, and contact attempts as delivered contacts in campaign effects.
    pub outcomes: Option<std::sync::Arc<Vec<lapse_retention::outcomes::Outcome>>>,
    /// The campaigns the outcome store holds (read by the caller), reported like the campaigns
    /// directory's; a name in both is read from the directory.
    pub stored_campaigns: Option<std::sync::Arc<Vec<(lapse_retention::campaign::store::Record, lapse_retention::campaign::Campaign)>>>,
    /// Collection targets for the team-performance report (`--targets`, read by the caller).
    pub targets: Vec<lapse_reports::performance::Target>,
    /// Audit the extract against the last accepted night's fingerprint before anything else
    /// (`--no-audit` turns it off).
    pub audit: bool,
    /// `[audit]` of lapse.toml: above a `stop` the night refuses the extract (exit 2).
    pub audit_thresholds: lapse_core::audit::Thresholds,
}

/// The default training-row budget: above what a 1M-policy book's window holds (about 2M rows),
/// so books up to that size train on every row; a 10M-policy book's 20M rows are sampled to it.
pub const DEFAULT_MAX_TRAIN_ROWS: usize = 3_000_000;

/// How many nights a matured campaign's effect report is repeated (a month of nights: whoever
/// reads the nightly reports sees it, whatever the cadence).
pub const CAMPAIGN_REPORT_DAYS: i32 = 31;

/// A configuration that cannot run: the setting at fault and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{setting}: {reason}")]
pub struct ConfigError {
    /// The setting as its flag names it (`window-months`).
    pub setting: &'static str,
    pub reason: String,
}

impl NightlyConfig {
    /// Monthly training snapshots by default.
    pub const DEFAULT_WINDOW_MONTHS: u32 = 12;
    /// With `--model auto`, the grid of settings is searched every this many nights.
    pub const DEFAULT_SEARCH_EVERY_DAYS: u32 = 7;
    /// The latest training snapshots held out to judge both models, by default.
    pub const DEFAULT_VALIDATION_SNAPSHOTS: usize = 2;
    /// An extract whose latest record is older than this many days before T is refused.
    pub const DEFAULT_MAX_EXTRACT_AGE_DAYS: i32 = 7;

    /// Checks the settings a night cannot run with (before anything is read or written).
    pub fn check(&self) -> Result<(), ConfigError> {
        let fail = |setting, reason: String| Err(ConfigError { setting, reason });
        if self.horizon_days < 0 || self.grace_days < 0 {
            return fail("horizon-days", "--horizon-days and --grace-days must be >= 0".into());
        }
        if self.window_months == 0 || self.validation_snapshots == 0 {
            return fail("window-months", "--window-months and --validation-snapshots must be >= 1".into());
        }
        if self.window_months as usize <= self.validation_snapshots {
            return fail(
                "window-months",
                format!("--window-months ({}) must be more than --validation-snapshots ({})", self.window_months, self.validation_snapshots),
            );
        }
        if !(self.policy.min_log_loss_gain.is_finite() && self.policy.min_log_loss_gain >= 0.0) {
            return fail("margin", "--margin must be >= 0".into());
        }
        Ok(())
    }

    /// A configuration with the documented defaults.
    pub fn new(data: PathBuf, models: PathBuf, as_of: Day, out: PathBuf) -> Self {
        let snapshot = out.join("snapshot.parquet");
        NightlyConfig {
            data,
            on_error: OnError::Strict,
            encoding: Default::default(),
            models,
            as_of,
            out,
            snapshot,
            horizon_days: lapse_core::features::SnapshotSpec::DEFAULT_HORIZON_DAYS,
            grace_days: lapse_core::features::SnapshotSpec::DEFAULT_GRACE_DAYS,
            window_months: Self::DEFAULT_WINDOW_MONTHS,
            validation_snapshots: Self::DEFAULT_VALIDATION_SNAPSHOTS,
            families: Family::AUTO.to_vec(),
            search_every_days: Self::DEFAULT_SEARCH_EVERY_DAYS,
            params: Params::default(),
            policy: PromotionPolicy::default(),
            thresholds: Thresholds::default(),
            max_extract_age_days: Self::DEFAULT_MAX_EXTRACT_AGE_DAYS,
            score_log: None,
            campaigns: None,
            report_lang: Default::default(),
            refit: true,
            progress: false,
            max_train_rows: Some(DEFAULT_MAX_TRAIN_ROWS),
            outcomes: None,
            stored_campaigns: None,
            targets: Vec::new(),
            audit: true,
            audit_thresholds: Default::default(),
        }
    }

    /// `REPORTS/fingerprints`: each accepted night's extract fingerprint (`T.fp`), what the next
    /// night audits its extract against.
    pub fn fingerprints(&self) -> PathBuf {
        self.out.join("fingerprints")
    }

    /// Where a night whose extract the audit refused writes the audit (`REPORTS/rejected/T/`):
    /// outside the nights, so nothing of the night is published.
    pub fn rejected_dir(&self) -> PathBuf {
        self.out.join("rejected").join(self.night())
    }

    /// The training snapshot dates, ascending: monthly back from the latest date whose
    /// renewals' outcomes are all known at T (T - horizon - grace - 1).
    pub fn training_dates(&self) -> Vec<Day> {
        // The latest snapshot whose every outcome is known tonight: its last renewal's deadline
        // (as_of + horizon + grace) is the day before the night (the extract holds what is dated
        // before T).
        let latest = self.as_of - self.horizon_days - self.grace_days - 1;
        let mut dates: Vec<Day> = (0..self.window_months as i32).map(|k| add_months(latest, -k)).collect();
        dates.reverse();
        dates
    }

    pub(crate) fn night(&self) -> String {
        format_day(self.as_of)
    }

    pub(crate) fn staging(&self) -> PathBuf {
        self.out.join(".staging").join(self.night())
    }

    pub(crate) fn report_dir(&self) -> PathBuf {
        self.out.join(self.night())
    }

    /// The win-back list the server serves (`lapse serve --winback`): `winback.parquet` beside
    /// the served snapshot, replaced each night by the night's list.
    pub fn published_winback(&self) -> PathBuf {
        self.snapshot.with_file_name("winback.parquet")
    }

    /// Today's snapshot before it is renamed over the served one (beside it, so the rename
    /// stays on one file system).
    pub(crate) fn staged_snapshot(&self) -> PathBuf {
        let name = self.snapshot.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "snapshot.parquet".into());
        let ext = self.snapshot.extension().map(|e| e.to_string_lossy().into_owned()).unwrap_or_else(|| "parquet".into());
        self.snapshot.with_file_name(format!(".{name}.nightly-{}.{ext}", self.night()))
    }
}
