//! What the server serves and how: the files, the economics, the request and connection
//! limits, the score log's policy, TLS.

use std::path::PathBuf;

use crate::{listen, score_log};
use lapse_model::drift::Thresholds;
use lapse_retention::Economics;

/// Request limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_body_bytes: usize,
    /// Renewals by key per request.
    pub max_batch: usize,
    /// Raw records (all tables) per request.
    pub max_inline_rows: usize,
    pub timeout_seconds: f64,
    /// Requests being handled at once; more are refused with 503 `overloaded`.
    pub max_in_flight: usize,
    /// Largest queue page.
    pub max_page: usize,
    /// Work-list size when the caller gives no capacity.
    pub default_capacity: usize,
    /// Connections: how many, header read timeout, shutdown grace.
    pub connections: listen::ConnectionLimits,
    /// Campaigns one token may create per UTC day (`GET /v1/queue?campaign=NEW`).
    pub max_campaigns_per_day: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 4 << 20,
            max_batch: 1000,
            max_inline_rows: 20_000,
            timeout_seconds: 10.0,
            max_in_flight: 1024,
            max_page: 1000,
            default_capacity: lapse_retention::spec::DEFAULT_CAPACITY,
            connections: listen::ConnectionLimits::default(),
            max_campaigns_per_day: 50,
        }
    }
}

/// What the server serves and how.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// The outcome store's URL (`sqlite://PATH`, `postgres://...`); None: no outcomes, no
    /// contact rules.
    pub store: Option<String>,
    /// The contact rules the work list applies with the store's outcomes.
    pub contact_rules: lapse_retention::contact::ContactRules,
    pub models: PathBuf,
    pub snapshot: PathBuf,
    pub economics: Economics,
    pub limits: Limits,
    /// Where the score log goes; None: not logged.
    pub score_log: Option<PathBuf>,
    /// Its rotation, compression and retention.
    pub score_log_policy: score_log::LogPolicy,
    /// PSI thresholds of the snapshot's drift report (`GET /v1/drift`).
    pub thresholds: Thresholds,
    /// The campaigns directory (shared with `lapse queue`).
    pub campaigns: PathBuf,
    /// The language of reasons and labels when a request names none (`?lang=`,
    /// `Accept-Language`).
    pub lang: lapse_model::scoring::lang::Lang,
    /// Serve HTTPS with this certificate chain and key (PEM), re-read on SIGHUP.
    pub tls: Option<TlsFiles>,
    /// The win-back list served at `GET /v1/winback` (`lapse winback`'s file, or the nightly
    /// job's `winback.parquet` next to the snapshot), re-read on every reload.
    pub winback: Option<PathBuf>,
    /// The nightly reports directory the console's pages (`/ui/`) are drawn from; re-read on
    /// every reload. None: no console.
    pub reports: Option<PathBuf>,
    /// The extract's agents table (a file or the extract directory): the console's Today page
    /// counts contacts by the servicing agent's team; re-read on every reload.
    pub agents: Option<PathBuf>,
}

/// A certificate chain and its private key, PEM files.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}
