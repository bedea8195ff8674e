//! Flags of the two long-running jobs: serve (the API) and nightly.

use std::path::PathBuf;

use clap::Args;
use lapse_nightly::NightlyConfig;

use super::*;
use lapse_core::dates::Day;
use lapse_core::features::SnapshotSpec;
use lapse_model::scoring::lang::Lang;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Model registry directory (its champion is served).
    #[arg(long, default_value = "models")]
    pub models: PathBuf,
    /// The scoring snapshot (.parquet or .csv) built by `lapse features --as-of T`.
    #[arg(long)]
    pub snapshot: PathBuf,
    /// The win-back list served at GET /v1/winback (`lapse winback --out FILE`, or the nightly
    /// job's winback.parquet next to its snapshot), re-read on every reload.
    #[arg(long)]
    pub winback: Option<PathBuf>,
    /// The nightly reports directory (`lapse nightly --out`): the console's pages over time
    /// under /ui/ (model, drift, the book, campaigns; each night's pages under
    /// /ui/nights/T/), re-read on every reload. Pages need a read token
    /// (--read-token-file or LAPSE_READ_TOKEN; the scoring and admin tokens read too).
    #[arg(long)]
    pub reports: Option<PathBuf>,
    /// The extract's agents table (agents.csv or .parquet, or the extract directory): the
    /// console's Today page counts contacts by the servicing agent's team; re-read on every reload.
    #[arg(long)]
    pub agents: Option<PathBuf>,
    /// File of the console's read-only tokens, one per line (also LAPSE_READ_TOKEN).
    #[arg(long)]
    pub read_token_file: Option<PathBuf>,
    /// Address to listen on (port 0 picks a free port; the chosen one is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: std::net::SocketAddr,
    /// File of scoring tokens, one per line (also LAPSE_SCORE_TOKEN).
    #[arg(long)]
    pub score_token_file: Option<PathBuf>,
    /// File of admin tokens (reload), one per line (also LAPSE_ADMIN_TOKEN).
    #[arg(long)]
    pub admin_token_file: Option<PathBuf>,
    /// Serve without tokens (local development only; never on a shared network).
    #[arg(long)]
    pub no_auth: bool,
    /// Value cap, actions (save rate, cost) and band thresholds as JSON (see docs/serving.md).
    #[arg(long)]
    pub economics: Option<PathBuf>,
    /// Directory of the append-only score log (daily JSON-lines files).
    #[arg(long, default_value = "score-log")]
    pub score_log: PathBuf,
    /// Do not keep a score log.
    #[arg(long)]
    pub no_score_log: bool,
    /// A day's score-log file is closed and compressed (zstd) once it reaches this many MiB.
    #[arg(long, default_value_t = (lapse_api::score_log::LogPolicy::default().max_file_bytes >> 20) as f64)]
    pub score_log_max_mb: f64,
    /// Score-log files of days older than this are deleted (0: keep everything).
    #[arg(long, default_value_t = lapse_api::score_log::LogPolicy::default().retention_days.unwrap_or(0))]
    pub score_log_retention_days: u32,
    /// The score log's files add up to at most this many GiB: the oldest closed files are
    /// deleted past it (0: no cap; at least twice --score-log-max-mb).
    #[arg(long, default_value_t = (lapse_api::score_log::LogPolicy::default().max_total_bytes.unwrap_or(0) >> 30) as f64)]
    pub score_log_max_total_gb: f64,
    /// Largest request body, in bytes.
    #[arg(long, default_value_t = lapse_api::Limits::default().max_body_bytes)]
    pub max_body_bytes: usize,
    /// Most renewals by key in one request.
    #[arg(long, default_value_t = lapse_api::Limits::default().max_batch)]
    pub max_batch: usize,
    /// Most raw records (all tables) in one request.
    #[arg(long, default_value_t = lapse_api::Limits::default().max_inline_rows)]
    pub max_inline_rows: usize,
    /// Seconds a request may take before it is answered 503 `timeout`.
    #[arg(long, default_value_t = lapse_api::Limits::default().timeout_seconds)]
    pub timeout_seconds: f64,
    /// Requests handled at once; more are answered 503 `overloaded`.
    #[arg(long, default_value_t = lapse_api::Limits::default().max_in_flight)]
    pub max_in_flight: usize,
    /// Connections open at once; more are closed as soon as they are accepted (the value is
    /// lowered to leave 64 file descriptors under the process's open-file limit).
    #[arg(long, default_value_t = lapse_api::Limits::default().connections.max_connections)]
    pub max_connections: usize,
    /// Seconds a client has to send a request's headers; a connection that sends no request
    /// within them after connecting is closed too.
    #[arg(long, default_value_t = lapse_api::Limits::default().connections.header_timeout.as_secs_f64())]
    pub header_timeout_seconds: f64,
    /// On SIGTERM, seconds to let requests in flight finish before every connection is closed.
    #[arg(long, default_value_t = lapse_api::Limits::default().connections.shutdown_grace.as_secs_f64())]
    pub shutdown_grace_seconds: f64,
    /// Campaigns one token may create per UTC day through `GET /v1/queue?campaign=NAME`
    /// (each writes its assignment and both arms to disk); more are answered 429.
    #[arg(long, default_value_t = lapse_api::Limits::default().max_campaigns_per_day)]
    pub max_campaigns_per_day: usize,
    /// Worker threads (default: one per core).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Thresholds of the snapshot's drift report (`GET /v1/drift`).
    #[command(flatten)]
    pub thresholds: PsiThresholds,
    /// The campaigns directory (shared with `lapse queue`): campaigns asked for with
    /// `GET /v1/queue?campaign=NAME` are kept here.
    #[arg(long, default_value = "campaigns")]
    pub campaigns: PathBuf,
    /// The outcome store: what agents record (`POST /v1/outcomes`) and the contact rules read.
    /// An embedded SQLite file by default; `postgres://USER@HOST:PORT/DB` when several servers
    /// share one state.
    #[arg(long, default_value = DEFAULT_STORE)]
    pub store: String,
    /// Serve without an outcome store (no outcomes, no contact rules).
    #[arg(long, conflicts_with = "store")]
    pub no_store: bool,
    /// The contact rules: a JSON file or a TOML file's [contact_rules] section (any of
    /// refused_days, promise_grace_days, caps, refusal_reasons, orphan_actions;
    /// docs/contact-rules.md); `[contact_rules]` in the --config file sets it; default: the
    /// documented rules.
    #[arg(long)]
    pub contact_rules: Option<PathBuf>,
    /// Language of reasons and labels when a request asks for none: en or zh-CN.
    #[arg(long, default_value = "en", value_parser = lang)]
    pub lang: Lang,
    /// Serve HTTPS: the certificate chain (PEM). Re-read with the key on SIGHUP.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct NightlyArgs {
    #[command(flatten)]
    pub extract: Extract,
    /// Model registry directory.
    #[arg(long, default_value = "models")]
    pub models: PathBuf,
    /// The night, YYYY-MM-DD (default: today, UTC).
    #[arg(long, value_parser = day)]
    pub as_of: Option<Day>,
    /// Reports directory: one `T/` directory per night and the decision log `decisions.jsonl`.
    #[arg(long, default_value = "reports")]
    pub out: PathBuf,
    /// The snapshot the server loads, replaced atomically (default: OUT/snapshot.parquet).
    #[arg(long)]
    pub snapshot: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = BadRows::Strict)]
    pub on_error: BadRows,
    /// Renewals due up to T + this many days are in a snapshot.
    #[arg(long, default_value_t = SnapshotSpec::DEFAULT_HORIZON_DAYS)]
    pub horizon_days: i32,
    #[arg(long, default_value_t = SnapshotSpec::DEFAULT_GRACE_DAYS)]
    pub grace_days: i32,
    /// Monthly training snapshots, counted back from T - horizon - grace.
    #[arg(long, default_value_t = NightlyConfig::DEFAULT_WINDOW_MONTHS)]
    pub window_months: u32,
    /// The latest training snapshots held out as the out-of-time window both models are judged on.
    #[arg(long, default_value_t = NightlyConfig::DEFAULT_VALIDATION_SNAPSHOTS)]
    pub validation_snapshots: usize,
    /// At most this many training rows (a sample stratified by snapshot date and label, the
    /// same on every run); 0: every row. The default trains a 1M-policy book on every row.
    #[arg(long, default_value_t = lapse_nightly::DEFAULT_MAX_TRAIN_ROWS)]
    pub max_train_rows: usize,
    /// Model families to try for the challenger: `auto` searches the grid of settings of every
    /// family and their blend on a schedule (--search-every-days) and trains the last search's
    /// pick on the nights between; one family trains its configured setting.
    #[arg(long, value_enum, default_value = "auto")]
    pub model: ModelChoice,
    /// With `--model auto`: search every this many nights (and the night after drift reached
    /// the act threshold); 1: every night.
    #[arg(long, default_value_t = NightlyConfig::DEFAULT_SEARCH_EVERY_DAYS)]
    pub search_every_days: u32,
    /// Trainer parameters as JSON (as `lapse train --config`). A path ending in `.toml` is the
    /// layered settings file instead (`docs/nightly.md`, Configuration file).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Promotion policy as JSON (any of min_log_loss_gain, max_auc_drop, max_ece,
    /// max_calibration_gap, min_train_rows, min_validation_rows, min_validation_lapses).
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// The challenger's held-out log loss must beat the champion's by this fraction (overrides
    /// the policy file).
    #[arg(long)]
    pub margin: Option<f64>,
    #[command(flatten)]
    pub thresholds: PsiThresholds,
    /// Refuse an extract whose latest record is older than T minus this many days.
    #[arg(long, default_value_t = NightlyConfig::DEFAULT_MAX_EXTRACT_AGE_DAYS)]
    pub max_extract_age_days: i32,
    /// The scoring API's score-log directory, for the realised-performance report.
    #[arg(long)]
    pub score_log: Option<PathBuf>,
    /// The outcome store the servers record into (`lapse serve --store`): the funnel gains
    /// reached / promised / promise kept, campaign effects count recorded contact attempts
    /// as delivered, and the outcomes become features (kept in the challenger when they lower
    /// its held-out log loss); only outcomes before each snapshot's date count.
    #[arg(long)]
    pub store: Option<String>,
    /// Language of the HTML reports' headings and labels: en or zh-CN.
    #[arg(long, default_value = "en", value_parser = lang)]
    pub lang: Lang,
    /// Register the challenger fitted on the earlier snapshots instead of refitting it on the
    /// whole window once judged.
    #[arg(long)]
    pub no_refit: bool,
    /// The campaigns directory (`lapse queue`, `lapse serve`): each night reports the effect of
    /// the campaigns that matured within the last 31 days.
    #[arg(long)]
    pub campaigns: Option<PathBuf>,
    /// Collection targets for the team-performance report (CSV: level, key, month,
    /// target_rate; as `lapse performance --targets`).
    #[arg(long)]
    pub targets: Option<PathBuf>,
    /// Thresholds of the data-quality audit per check (a lapse.toml with an [audit] section;
    /// `[audit]` in the --config file sets it): above `warn` the night goes on and says so,
    /// above `stop` it refuses the extract (exit 2, nothing published). Default: the documented
    /// thresholds (docs/data-quality.md).
    #[arg(long)]
    pub audit_thresholds: Option<PathBuf>,
    /// Do not audit tonight's extract against the last accepted night's (nor keep its
    /// fingerprint).
    #[arg(long)]
    pub no_audit: bool,
    /// A running server to reload when the night is done (e.g. http://127.0.0.1:8080).
    #[arg(long)]
    pub reload_url: Option<String>,
    /// File with the server's admin token (else LAPSE_ADMIN_TOKEN).
    #[arg(long)]
    pub admin_token_file: Option<PathBuf>,
    /// Seconds one reload attempt may take (a million-renewal snapshot reloads in about 10 s: docs/nightly.md).
    #[arg(long, default_value_t = lapse_nightly::ReloadOptions::default().timeout.as_secs_f64())]
    pub reload_timeout_seconds: f64,
    /// Reload attempts in all (retried with backoff 1 s, 2 s, 4 s... on connection errors and
    /// 5xx; not on 4xx).
    #[arg(long, default_value_t = lapse_nightly::ReloadOptions::default().attempts)]
    pub reload_attempts: u32,
    /// PEM file of a private CA that signed the server's certificate (https:// reload URLs).
    #[arg(long)]
    pub reload_ca_file: Option<PathBuf>,
}
