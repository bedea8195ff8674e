//! The nightly job (`lapse nightly`): from the core system's extract as of night T, build the
//! scoring snapshot the server loads and a training table from a rolling window of past
//! snapshots whose outcomes are known; train a challenger; judge it against the champion on the
//! same latest fully labelled out-of-time rows; promote it or not (guard rails, margin; the
//! reasons go to the decision log); write the drift, evaluation, realised-performance and
//! persistency reports (JSON and HTML); optionally tell a running server to reload.
//!
//! Crash safety is two-phase. The *compute* phase ([`compute`]) writes only into a staging
//! directory (`REPORTS/.staging/T/`, plus the staged snapshot beside the served one) and
//! registers the challenger as a new, non-champion version (a registry version appears whole or
//! not at all). It ends by writing the run's plan (`nightly.json`, atomically): from then on
//! the night is decided. The *commit* phase ([`commit`]) applies the plan (promote, rename the
//! snapshot into place, update the decision log, rename the reports into `REPORTS/T/`); every
//! commit step can be repeated, so a run killed anywhere is finished by running it again: a
//! compute phase without a plan is thrown away and redone, a plan is replayed.
//! `REPORTS/T/nightly.json` marks a night done; running T again reports it and changes nothing.
//! A lock file in the models directory keeps two runs from overlapping. `docs/nightly.md` is
//! the operator's guide.

mod commit;
mod compute;
mod config;
mod decision_log;
mod error;
mod judge;
mod reload;
mod run;
mod search;
mod steps;

pub use config::{ConfigError, DEFAULT_MAX_TRAIN_ROWS, NightlyConfig};
pub use error::NightlyError;
pub use lapse_reports::night::RunSummary;
pub use reload::{ReloadOptions, ReloadOutcome, record_reload, reload_server};
pub use run::{NightlyOutcome, run};
pub use steps::{CRASH_AT_ENV, DECISION_LOG, STEPS, SUMMARY, Verdict};
