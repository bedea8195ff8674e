//! The `lapse` commands and their flags, as typed; `main` resolves them into library calls.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use lapse_core::extract::OnError;
use lapse_core::features::SnapshotSpec;
use lapse_model::train::{Family, Validation};

/// Lapse-risk prediction and retention prioritization for life insurers.
#[derive(Debug, Parser)]
#[command(name = "lapse", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a synthetic renewal book (the contract's five tables) into a directory.
    Generate(GenerateArgs),
    /// Build point-in-time feature rows for the renewals at risk at one or more snapshot dates.
    Features(FeaturesArgs),
    /// The book-wide agent and book lapse records of each snapshot date (CSV), for building
    /// features on a part of a book split by customer (`lapse features --aggregates`, Spark).
    Aggregates(AggregatesArgs),
    /// Print the feature catalog (name, family, type, meaning), generated from the code.
    Catalog(CatalogArgs),
    /// Fit lapse-propensity models on a table, validate on held-out rows, register the best.
    Train(TrainArgs),
    /// List, inspect and promote registered models.
    Models(ModelsArgs),
    /// Judge a registered model on a labelled table (e.g. a later snapshot built with a later
    /// extract): matured snapshots only, and only the renewals the model was not fitted on.
    Evaluate(EvaluateArgs),
    /// Serve the scoring API: the champion model over a scored snapshot of renewals at risk.
    Serve(ServeArgs),
    /// Print the scoring API's OpenAPI document (committed as docs/openapi.json).
    Openapi,
    /// Population drift of a current feature table against a reference one (PSI, KS, missing
    /// rates per feature, ranked).
    Drift(DriftArgs),
    /// 13th- and 25th-month persistency (by count and premium) by issue year, channel,
    /// product type and region, from an extract.
    Persistency(PersistencyArgs),
    /// The nightly job: today's scoring snapshot, a challenger trained on a rolling window,
    /// champion/challenger decision, drift, evaluation, persistency and realised-performance
    /// reports. Exit codes: 0 done (promoted), 3 done (no promotion), 2 input rejected, 1 failed.
    Nightly(NightlyArgs),
    /// Write the work list of a scored snapshot as a campaign file (CSV or Parquet), with a
    /// randomized holdout: control renewals are not to be contacted, so that `lapse effect` can
    /// measure what the contacts save.
    Queue(QueueArgs),
    /// What a campaign saved: its file joined with the outcomes and delivered contacts of a
    /// later extract; per action, segment and channel, the save rate (intention to treat) with
    /// a 95% interval, the delivered share, retained premium and value net of contact costs.
    Effect(EffectArgs),
    /// Learn per-renewal treatment effects from a campaign with a holdout (a cross-fitted
    /// T-learner on the boosting family), judge them by Qini against the risk ranking, and
    /// register them (models/uplift) so the queue can rank by effect.
    Uplift(UpliftArgs),
    /// Realised performance: the score log joined with outcomes, per scoring month (overall,
    /// by channel, by product type), with the AUC expected before labels arrive.
    Realised(RealisedArgs),
    /// Why customers lapse: for a feature table (labelled or not), by channel, product type,
    /// region, age band, policy year and segment, the renewals, observed and predicted lapse
    /// rates and the reasons behind them, with the change against the previous snapshot.
    Why(WhyArgs),
    /// The lapsed policies that can still be won back (reinstated by paying the arrears) at T:
    /// one row per policy with its lapse date, days left, arrears, value if reinstated,
    /// priority, action and reasons, highest priority first.
    Winback(WinbackArgs),
    /// The reinstatement model's training table: the win-back candidates at a series of past
    /// dates, each with its inputs known at that date and its label (reinstated within N days);
    /// train it with `lapse train --features TABLE --models models/winback`.
    WinbackTable(WinbackTableArgs),
    /// The renewal funnel from an extract: per due month, how many renewals were reminded,
    /// contacted, paid before due, paid in grace, lapsed; by channel, first action and the
    /// days before due of the first contact.
    Funnel(FunnelArgs),
}

/// The work list's filters (as `GET /v1/queue`).
#[derive(Debug, Args)]
pub struct WorkListFilters {
    /// Only renewals sold through this channel.
    #[arg(long)]
    pub channel: Option<String>,
    #[arg(long)]
    pub region: Option<String>,
    #[arg(long)]
    pub agent_id: Option<String>,
    /// Product code or product type.
    #[arg(long)]
    pub product: Option<String>,
    /// Only renewals with at least this value at risk.
    #[arg(long)]
    pub min_value: Option<f64>,
    /// Only renewals due at most this many days after the snapshot date (overdue ones count).
    #[arg(long, allow_hyphen_values = true)]
    pub due_within_days: Option<i32>,
    /// true: only renewals past due; false: only those not yet due.
    #[arg(long)]
    pub overdue: Option<bool>,
    /// Also renewals where no action pays (action `none`; only with a total capacity).
    #[arg(long)]
    pub include_no_action: bool,
}

#[derive(Debug, Args)]
pub struct QueueArgs {
    /// Model registry directory (its champion scores the snapshot).
    #[arg(long, default_value = "models")]
    pub models: PathBuf,
    /// The scoring snapshot built by `lapse features --as-of T`.
    #[arg(long)]
    pub snapshot: PathBuf,
    /// Contacts the team can make: one number (a total, best action each) or per action
    /// (`visit=300,call=800,sms=5000`, an exact assignment). Default: 500 (a total), as the API.
    #[arg(long)]
    pub capacity: Option<String>,
    /// Share of the listed renewals held out as control (0 to 0.9), in every action x segment.
    /// Needs --campaign. Default with a campaign: 0.1, as the API.
    #[arg(long)]
    pub holdout: Option<f64>,
    /// The campaign's name (letters, digits, '-', '_', '.'): it keys the holdout draw and is
    /// bound to these settings in the campaigns directory. Default: worklist-<as_of>, which
    /// allows no holdout and is not recorded.
    #[arg(long)]
    pub campaign: Option<String>,
    /// The campaigns directory shared with `lapse serve`.
    #[arg(long, default_value = "campaigns")]
    pub campaigns: PathBuf,
    /// The campaign file to write: .csv or .parquet (atomically).
    #[arg(long)]
    pub out: PathBuf,
    /// Value cap, actions (save rate, cost) and band thresholds as JSON (see docs/serving.md);
    /// a file written by `lapse effect --economics-out` uses measured save rates.
    #[arg(long)]
    pub economics: Option<PathBuf>,
    /// risk: expected gain p x save rate x value - cost from the economics. uplift: the lapses
    /// a contact prevents, from the uplift learner registered by `lapse uplift`, x value - cost.
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(lapse_retention::RankBy::NAMES), default_value = "risk")]
    pub rank_by: String,
    #[command(flatten)]
    pub filters: WorkListFilters,
}

#[derive(Debug, Args)]
pub struct EffectArgs {
    /// The campaign file written by `lapse queue` (.csv or .parquet).
    #[arg(long)]
    pub campaign: PathBuf,
    /// A later extract: its installments give the outcomes, its events the contacts made.
    #[arg(long)]
    pub data: PathBuf,
    /// Outcomes known as of this date. Default: the extract date.
    #[arg(long)]
    pub as_of: Option<String>,
    #[arg(long, default_value_t = SnapshotSpec::DEFAULT_GRACE_DAYS)]
    pub grace_days: i32,
    /// The economics the campaign ran with (contact costs, and the prior save rates of
    /// --economics-out). Default: the built-in economics.
    #[arg(long)]
    pub economics: Option<PathBuf>,
    /// Write the economics with the measured save rates (shrunk toward the priors) here, for
    /// `lapse queue --economics` and `lapse serve --economics`.
    #[arg(long)]
    pub economics_out: Option<PathBuf>,
    /// The prior's standard deviation: how far a measured save rate may move its prior.
    #[arg(long, default_value_t = 0.1)]
    pub prior_sd: f64,
    /// Fewest control lapses for a segment to get a measured save rate of its own.
    #[arg(long, default_value_t = 30)]
    pub min_segment_control_lapses: usize,
    #[command(flatten)]
    pub report: ReportFiles,
    #[arg(long, value_enum, default_value_t = BadRows::Strict)]
    pub on_error: BadRows,
    /// Character encoding of the extract's CSV files: utf-8 or gb18030 (GBK).
    #[arg(long, value_enum, default_value_t = EncodingChoice::Utf8)]
    pub encoding: EncodingChoice,
}

#[derive(Debug, Args)]
pub struct UpliftArgs {
    /// The campaign file written by `lapse queue`.
    #[arg(long)]
    pub campaign: PathBuf,
    /// The snapshot the campaign was planned on (`lapse features --as-of` the campaign date).
    #[arg(long)]
    pub snapshot: PathBuf,
    /// A later extract with the campaign's outcomes.
    #[arg(long)]
    pub data: PathBuf,
    /// Outcomes known as of this date. Default: the extract date.
    #[arg(long)]
    pub as_of: Option<String>,
    #[arg(long, default_value_t = SnapshotSpec::DEFAULT_GRACE_DAYS)]
    pub grace_days: i32,
    /// Model registry directory (the uplift pair goes to DIR/uplift).
    #[arg(long, default_value = "models")]
    pub models: PathBuf,
    /// Judge only; register nothing.
    #[arg(long)]
    pub no_register: bool,
    /// Boosting rounds of each arm's model.
    #[arg(long, default_value_t = 100)]
    pub rounds: usize,
    /// Also write every matured renewal's held-out uplift (both learners) as CSV here.
    #[arg(long)]
    pub rows_out: Option<PathBuf>,
    /// Write the economics (from --economics, else the defaults) with the stratified learner's
    /// save rates here: `lapse serve --economics FILE` then ranks the API's work list by it.
    #[arg(long)]
    pub economics_out: Option<PathBuf>,
    /// The economics the work list runs with (costs, value cap, bands).
    #[arg(long)]
    pub economics: Option<PathBuf>,
    #[command(flatten)]
    pub report: ReportFiles,
    #[arg(long, value_enum, default_value_t = BadRows::Strict)]
    pub on_error: BadRows,
    /// Character encoding of the extract's CSV files: utf-8 or gb18030 (GBK).
    #[arg(long, value_enum, default_value_t = EncodingChoice::Utf8)]
    pub encoding: EncodingChoice,
}

#[derive(Debug, Args)]
pub struct RealisedArgs {
    /// The score log directory of `lapse serve`.
    #[arg(long)]
    pub score_log: PathBuf,
    /// The extract whose installments give the outcomes.
    #[arg(long)]
    pub data: PathBuf,
    /// Outcomes known as of this date. Default: the extract date.
    #[arg(long)]
    pub as_of: Option<String>,
    #[arg(long, default_value_t = SnapshotSpec::DEFAULT_GRACE_DAYS)]
    pub grace_days: i32,
    #[command(flatten)]
    pub report: ReportFiles,
    /// Character encoding of the extract's CSV files: utf-8 or gb18030 (GBK).
    #[arg(long, value_enum, default_value_t = EncodingChoice::Utf8)]
    pub encoding: EncodingChoice,
}

/// The drift thresholds (`--watch`, `--act`).
#[derive(Debug, Args)]
pub struct PsiThresholds {
    /// PSI from which a feature is to watch.
    #[arg(long, default_value_t = 0.1)]
    pub watch: f64,
    /// PSI from which a feature needs action.
    #[arg(long, default_value_t = 0.25)]
    pub act: f64,
}

impl PsiThresholds {
    /// The thresholds, checked: positive, watch <= act.
    pub fn checked(&self) -> Result<lapse_model::drift::Thresholds, String> {
        if self.watch.is_finite() && self.act.is_finite() && 0.0 < self.watch && self.watch <= self.act {
            Ok(lapse_model::drift::Thresholds { watch: self.watch, act: self.act })
        } else {
            Err("--watch and --act must be positive with --watch <= --act".into())
        }
    }
}

/// Where a report is written (`--out` JSON, `--html` page).
#[derive(Debug, Args)]
pub struct ReportFiles {
    /// Write the report as JSON here (atomically).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also write the report as a self-contained HTML page here (charts inline).
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// Language of the HTML page's headings and labels: en or zh-CN.
    #[arg(long, default_value = "en", value_parser = ["en", "zh-CN"])]
    pub lang: String,
}

#[derive(Debug, Args)]
pub struct FunnelArgs {
    /// Extract directory (the contract's tables).
    #[arg(long)]
    pub data: PathBuf,
    /// The report date. Default: the extract date.
    #[arg(long)]
    pub as_of: Option<String>,
    /// Renewals due in this many months up to the report date.
    #[arg(long, default_value_t = 12)]
    pub months: i32,
    /// The score log (`lapse serve --score-log`): adds the step "listed" (put on a work list by
    /// GET /v1/queue or a campaign's treatment arm) and a breakdown by the action it gave.
    #[arg(long)]
    pub score_log: Option<PathBuf>,
    /// A premium due on D lapses when unpaid by D + grace days.
    #[arg(long, default_value_t = SnapshotSpec::DEFAULT_GRACE_DAYS)]
    pub grace_days: i32,
    #[command(flatten)]
    pub report: ReportFiles,
    /// Character encoding of the extract's CSV files: utf-8 or gb18030 (GBK).
    #[arg(long, value_enum, default_value_t = EncodingChoice::Utf8)]
    pub encoding: EncodingChoice,
}

#[derive(Debug, Args)]
pub struct WinbackArgs {
    /// Extract directory (the contract's tables).
    #[arg(long)]
    pub data: PathBuf,
    /// The date T. Default: the extract date (the latest date the extract records).
    #[arg(long)]
    pub as_of: Option<String>,
    /// The list (.csv or .parquet), written atomically.
    #[arg(long)]
    pub out: PathBuf,
    /// A lapsed policy can be reinstated for this many days after its lapse date.
    #[arg(long, default_value_t = 730)]
    pub reinstatement_days: i32,
    /// Reinstatement model registry: when it has a champion, the list is ranked by
    /// P(reinstated within N days) x value if reinstated; without one (or without this flag),
    /// by value x recency. Every row says which.
    #[arg(long)]
    pub models: Option<PathBuf>,
    /// Language of the reasons: en or zh-CN.
    #[arg(long, default_value = "en")]
    pub lang: String,
    /// Economics JSON (its `value_cap_years` caps the premium years a policy's value counts, as
    /// in the work list); default: the built-in one.
    #[arg(long)]
    pub economics: Option<PathBuf>,
    /// A premium due on D lapses when unpaid by D + grace days.
    #[arg(long, default_value_t = SnapshotSpec::DEFAULT_GRACE_DAYS)]
    pub grace_days: i32,
    /// What to do with rows that break the contract.
    #[arg(long, value_enum, default_value_t = BadRows::Strict)]
    pub on_error: BadRows,
    /// Character encoding of the extract's CSV files: utf-8 or gb18030 (GBK).
    #[arg(long, value_enum, default_value_t = EncodingChoice::Utf8)]
    pub encoding: EncodingChoice,
}

#[derive(Debug, Args)]
pub struct WinbackTableArgs {
    /// Extract directory (the contract's tables).
    #[arg(long)]
    pub data: PathBuf,
    /// The latest snapshot date. Default: the extract date less the horizon (the latest date
    /// whose label is known).
    #[arg(long)]
    pub as_of: Option<String>,
    /// Snapshots, ending at --as-of, --every apart.
    #[arg(long, default_value_t = 12)]
    pub snapshots: usize,
    /// Step between snapshots: 7d, 2w, 1mo, ...
    #[arg(long, default_value = "1mo")]
    pub every: String,
    /// The label: reinstated within this many days of the snapshot date.
    #[arg(long, default_value_t = 90)]
    pub horizon_days: i32,
    /// The table (.parquet or .csv), written atomically.
    #[arg(long)]
    pub out: PathBuf,
    /// A lapsed policy can be reinstated for this many days after its lapse date.
    #[arg(long, default_value_t = 730)]
    pub reinstatement_days: i32,
    /// A premium due on D lapses when unpaid by D + grace days.
    #[arg(long, default_value_t = SnapshotSpec::DEFAULT_GRACE_DAYS)]
    pub grace_days: i32,
    /// Economics JSON (its `value_cap_years`); default: the built-in one.
    #[arg(long)]
    pub economics: Option<PathBuf>,
    /// What to do with rows that break the contract.
    #[arg(long, value_enum, default_value_t = BadRows::Strict)]
    pub on_error: BadRows,
    /// Character encoding of the extract's CSV files: utf-8 or gb18030 (GBK).
    #[arg(long, value_enum, default_value_t = EncodingChoice::Utf8)]
    pub encoding: EncodingChoice,
}

/// A registered model: the registry and a version in it (default: the champion).
#[derive(Debug, Args)]
pub struct RegisteredModel {
    /// Model registry directory.
    #[arg(long, default_value = "models")]
    pub models: PathBuf,
    /// The model version (default: the champion; `champion` names it too).
    #[arg(long)]
    pub model: Option<String>,
}

impl RegisteredModel {
    /// The registry, and the version asked for, loaded and verified.
    pub fn load(&self) -> Result<(lapse_model::registry::Registry, lapse_model::registry::LoadedModel), lapse_model::registry::RegistryError> {
        let registry = lapse_model::registry::Registry::new(&self.models);
        let loaded = match &self.model {
            Some(version) if version != "champion" => registry.load(version)?,
            _ => registry.load_champion()?,
        };
        Ok((registry, loaded))
    }
}

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    #[command(flatten)]
    pub registry: RegisteredModel,
    /// Labelled table (.parquet or .csv), e.g. `lapse features --as-of T` on a later extract.
    #[arg(long)]
    pub features: PathBuf,
    /// Refuse a table with snapshots whose outcomes are not all known (default: leave them out).
    #[arg(long)]
    pub strict: bool,
    /// Write the report as JSON here (atomically).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct WhyArgs {
    #[command(flatten)]
    pub registry: RegisteredModel,
    /// Feature table (.parquet or .csv) from `lapse features`: one snapshot or a stack.
    #[arg(long)]
    pub features: PathBuf,
    /// Write the report as JSON here (atomically).
    #[arg(long)]
    pub out: PathBuf,
    /// Also write it as a self-contained HTML page here.
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// Language of the HTML page's headings and labels: en or zh-CN.
    #[arg(long, default_value = "en", value_parser = ["en", "zh-CN"])]
    pub lang: String,
    /// Economics JSON (value bands of the segments); default: the built-in one.
    #[arg(long)]
    pub economics: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PersistencyArgs {
    /// Extract directory (the contract's tables).
    #[arg(long)]
    pub data: PathBuf,
    /// Only premiums whose grace ended before this date count. Default: the extract date
    /// (the latest date the extract records).
    #[arg(long)]
    pub as_of: Option<String>,
    /// A premium due on D is paid in time when paid by D + grace days.
    #[arg(long, default_value_t = SnapshotSpec::DEFAULT_GRACE_DAYS)]
    pub grace_days: i32,
    #[command(flatten)]
    pub report: ReportFiles,
    /// What to do with rows that break the contract.
    #[arg(long, value_enum, default_value_t = BadRows::Strict)]
    pub on_error: BadRows,
    /// Character encoding of the extract's CSV files: utf-8 or gb18030 (GBK).
    #[arg(long, value_enum, default_value_t = EncodingChoice::Utf8)]
    pub encoding: EncodingChoice,
}

#[derive(Debug, Args)]
pub struct DriftArgs {
    /// The reference table (.parquet or .csv), e.g. the model's training table.
    #[arg(long, conflicts_with = "model")]
    pub reference: Option<PathBuf>,
    /// Or a registered model (a version, or `champion`): its stored training reference, and
    /// the drift of its score on the current table.
    #[arg(long)]
    pub model: Option<String>,
    /// Model registry directory (with --model).
    #[arg(long, default_value = "models")]
    pub models: PathBuf,
    /// The current table, e.g. today's scoring snapshot.
    #[arg(long)]
    pub current: PathBuf,
    #[command(flatten)]
    pub report: ReportFiles,
    #[command(flatten)]
    pub thresholds: PsiThresholds,
}

#[derive(Debug, Args)]
pub struct NightlyArgs {
    /// The extract directory (the contract's tables, CSV or Parquet).
    #[arg(long)]
    pub data: PathBuf,
    /// Model registry directory.
    #[arg(long, default_value = "models")]
    pub models: PathBuf,
    /// The night, YYYY-MM-DD (default: today, UTC).
    #[arg(long)]
    pub as_of: Option<String>,
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
    #[arg(long, default_value_t = 12)]
    pub window_months: u32,
    /// The latest training snapshots held out as the out-of-time window both models are judged on.
    #[arg(long, default_value_t = 2)]
    pub validation_snapshots: usize,
    /// At most this many training rows (a sample stratified by snapshot date and label, the
    /// same on every run); 0: every row. The default trains a 1M-policy book on every row.
    #[arg(long, default_value_t = lapse_nightly::DEFAULT_MAX_TRAIN_ROWS)]
    pub max_train_rows: usize,
    /// Model families to try for the challenger.
    #[arg(long, value_enum, default_value = "gbdt")]
    pub model: ModelChoice,
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
    #[arg(long, default_value_t = 7)]
    pub max_extract_age_days: i32,
    /// The scoring API's score-log directory, for the realised-performance report.
    #[arg(long)]
    pub score_log: Option<PathBuf>,
    /// Language of the HTML reports' headings and labels: en or zh-CN.
    #[arg(long, default_value = "en", value_parser = ["en", "zh-CN"])]
    pub lang: String,
    /// Register the challenger fitted on the earlier snapshots instead of refitting it on the
    /// whole window once judged.
    #[arg(long)]
    pub no_refit: bool,
    /// The campaigns directory (`lapse queue`, `lapse serve`): each night reports the effect of
    /// the campaigns that matured within the last 31 days.
    #[arg(long)]
    pub campaigns: Option<PathBuf>,
    /// A running server to reload when the night is done (e.g. http://127.0.0.1:8080).
    #[arg(long)]
    pub reload_url: Option<String>,
    /// File with the server's admin token (else LAPSE_ADMIN_TOKEN).
    #[arg(long)]
    pub admin_token_file: Option<PathBuf>,
    /// Seconds one reload attempt may take (a million-renewal snapshot reloads in about 20 s).
    #[arg(long, default_value_t = 120.0)]
    pub reload_timeout_seconds: f64,
    /// Reload attempts in all (retried with backoff 1 s, 2 s, 4 s... on connection errors and
    /// 5xx; not on 4xx).
    #[arg(long, default_value_t = 4)]
    pub reload_attempts: u32,
    /// PEM file of a private CA that signed the server's certificate (https:// reload URLs).
    #[arg(long)]
    pub reload_ca_file: Option<PathBuf>,
    /// Character encoding of the extract's CSV files: utf-8 or gb18030 (GBK).
    #[arg(long, value_enum, default_value_t = EncodingChoice::Utf8)]
    pub encoding: EncodingChoice,
}

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
    #[arg(long, default_value_t = 256.0)]
    pub score_log_max_mb: f64,
    /// Score-log files of days older than this are deleted (0: keep everything).
    #[arg(long, default_value_t = 800)]
    pub score_log_retention_days: u32,
    /// The score log's files add up to at most this many GiB: the oldest closed files are
    /// deleted past it (0: no cap; at least twice --score-log-max-mb).
    #[arg(long, default_value_t = 50.0)]
    pub score_log_max_total_gb: f64,
    /// Largest request body, in bytes.
    #[arg(long, default_value_t = 4 << 20)]
    pub max_body_bytes: usize,
    /// Most renewals by key in one request.
    #[arg(long, default_value_t = 1000)]
    pub max_batch: usize,
    /// Most raw records (all tables) in one request.
    #[arg(long, default_value_t = 20_000)]
    pub max_inline_rows: usize,
    /// Seconds a request may take before it is answered 503 `timeout`.
    #[arg(long, default_value_t = 10.0)]
    pub timeout_seconds: f64,
    /// Requests handled at once; more are answered 503 `overloaded`.
    #[arg(long, default_value_t = 1024)]
    pub max_in_flight: usize,
    /// Connections open at once; more are closed as soon as they are accepted (the value is
    /// lowered to leave 64 file descriptors under the process's open-file limit).
    #[arg(long, default_value_t = 4096)]
    pub max_connections: usize,
    /// Seconds a client has to send a request's headers; a connection that sends no request
    /// within them after connecting is closed too.
    #[arg(long, default_value_t = 10.0)]
    pub header_timeout_seconds: f64,
    /// On SIGTERM, seconds to let requests in flight finish before every connection is closed.
    #[arg(long, default_value_t = 10.0)]
    pub shutdown_grace_seconds: f64,
    /// Campaigns one token may create per UTC day through `GET /v1/queue?campaign=NAME`
    /// (each writes its assignment and both arms to disk); more are answered 429.
    #[arg(long, default_value_t = 50)]
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
    /// Language of reasons and labels when a request asks for none: en or zh-CN.
    #[arg(long, default_value = "en")]
    pub lang: String,
    /// Serve HTTPS: the certificate chain (PEM). Re-read with the key on SIGHUP.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Training table (.parquet or .csv): a feature-builder table or any table with a 0/1 label.
    #[arg(long)]
    pub features: PathBuf,
    /// Label column (default: `lapsed`, else `lapse`).
    #[arg(long)]
    pub label: Option<String>,
    /// Model family, or `auto` to try all and keep the best on held-out log loss.
    #[arg(long, value_enum, default_value_t = ModelChoice::Auto)]
    pub model: ModelChoice,
    /// Validation: out-of-time (tables with as_of) or kfold. Default: out-of-time when the
    /// table has snapshot dates, else kfold.
    #[arg(long, value_enum)]
    pub validation: Option<ValidationChoice>,
    /// Folds for k-fold when the table has no `fold` column.
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    /// Out-of-time: validate on this many of the latest matured snapshot dates.
    #[arg(long, default_value_t = 3)]
    pub validation_snapshots: usize,
    /// Refuse a table holding snapshots whose outcomes are not all known at its extract date
    /// (by default those snapshots are left out, each named on stderr and in metrics.json: a
    /// snapshot is used only when as_of + horizon + grace is before the extract date and every
    /// row of it is labelled).
    #[arg(long)]
    pub strict: bool,
    /// Model registry directory.
    #[arg(long, default_value = "models")]
    pub models: PathBuf,
    /// Hyper-parameters as JSON (any subset of the fields of `Params`); flags override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Random seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Boosting rounds.
    #[arg(long)]
    pub rounds: Option<usize>,
    /// Boosting learning rate.
    #[arg(long)]
    pub learning_rate: Option<f32>,
    /// Boosting maximum tree depth.
    #[arg(long)]
    pub max_depth: Option<usize>,
    /// Forest trees.
    #[arg(long)]
    pub trees: Option<usize>,
    /// With `--model auto`: fit each family's configured parameters only (no grid of settings,
    /// no blend).
    #[arg(long)]
    pub no_search: bool,
    /// Logistic L2 penalty.
    #[arg(long)]
    pub alpha: Option<f64>,
    /// Column holding the value at risk (default: annualized_premium x remaining_payment_years).
    #[arg(long)]
    pub value_column: Option<String>,
    /// Columns to leave out of the features (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub exclude: Vec<String>,
    /// Make the new model the champion (a registry's first model always becomes champion).
    #[arg(long)]
    pub promote: bool,
    /// Out-of-time: register the model fitted on the earlier snapshots instead of refitting it
    /// on every labelled row once validation has chosen it.
    #[arg(long)]
    pub no_refit: bool,
}

/// The character encoding of CSV extracts (`--encoding`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum EncodingChoice {
    /// UTF-8 (a byte-order mark is skipped).
    #[default]
    #[value(name = "utf-8", alias = "utf8")]
    Utf8,
    /// GB18030 (includes GBK and GB2312), as many Chinese core systems export.
    #[value(name = "gb18030", alias = "gbk")]
    Gb18030,
}

impl From<EncodingChoice> for lapse_core::extract::read::Encoding {
    fn from(choice: EncodingChoice) -> Self {
        match choice {
            EncodingChoice::Utf8 => lapse_core::extract::read::Encoding::Utf8,
            EncodingChoice::Gb18030 => lapse_core::extract::read::Encoding::Gb18030,
        }
    }
}

/// What to do with rows that break the data contract (`--on-error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BadRows {
    /// Report every broken row and stop; nothing is written.
    Strict,
    /// Leave broken rows out, and write them with their reasons to a rejects file.
    Skip,
}

impl From<BadRows> for OnError {
    fn from(choice: BadRows) -> Self {
        match choice {
            BadRows::Strict => OnError::Strict,
            BadRows::Skip => OnError::Skip,
        }
    }
}

/// How models are validated (`--validation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ValidationChoice {
    /// Train on earlier snapshots, validate on the latest fully labelled ones.
    OutOfTime,
    /// k folds: the table's `fold` column, else policies (or rows) hashed into folds.
    Kfold,
}

impl From<ValidationChoice> for Validation {
    fn from(choice: ValidationChoice) -> Self {
        match choice {
            ValidationChoice::OutOfTime => Validation::OutOfTime,
            ValidationChoice::Kfold => Validation::Kfold,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModelChoice {
    Auto,
    Logistic,
    /// Logistic regression with cubic spline terms for numeric inputs.
    Spline,
    Forest,
    Gbdt,
}

impl ModelChoice {
    /// The families to train.
    pub fn families(self) -> Vec<Family> {
        match self {
            ModelChoice::Auto => Family::AUTO.to_vec(),
            ModelChoice::Logistic => vec![Family::Logistic],
            ModelChoice::Spline => vec![Family::Spline],
            ModelChoice::Forest => vec![Family::Forest],
            ModelChoice::Gbdt => vec![Family::Gbdt],
        }
    }
}

#[derive(Debug, Args)]
pub struct ModelsArgs {
    /// Model registry directory.
    #[arg(long, default_value = "models", global = true)]
    pub models: PathBuf,
    #[command(subcommand)]
    pub action: ModelsAction,
}

#[derive(Debug, Subcommand)]
pub enum ModelsAction {
    /// One line per version: family, held-out ROC AUC and log loss, champion mark.
    List,
    /// A version's model card and verification status.
    Show { version: String },
    /// Make a version the champion (it must load and verify).
    Promote { version: String },
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Number of policies.
    #[arg(long, default_value_t = 10_000)]
    pub policies: usize,
    /// Random seed: the same seed and flags write the same bytes.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Output directory (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// File format of the tables.
    #[arg(long, value_enum, default_value_t = TableFormat::Csv)]
    pub format: TableFormat,
    /// The extract date: nothing after it is recorded.
    #[arg(long, default_value = "2026-09-30")]
    pub extract_date: String,
    /// The first issue date of the book.
    #[arg(long, default_value = "2016-01-01")]
    pub start: String,
    /// Replay a campaign file (`lapse queue`) in the book: the simulated customers answer its
    /// contacts (treatment arm only) with effects documented in docs/campaigns.md, and the
    /// truth is written to OUT/campaign_truth.csv. Use the seed and flags of the book the
    /// campaign was planned on: the book is the same up to each listed renewal.
    #[arg(long)]
    pub campaign: Option<PathBuf>,
    /// Also write every drawn renewal's true lapse probability to OUT/lapse_probabilities.csv
    /// (the bound a model of this book can reach; not part of the extract).
    #[arg(long)]
    pub truth: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TableFormat {
    Csv,
    Parquet,
}

#[derive(Debug, Args)]
pub struct FeaturesArgs {
    /// Directory holding the extract tables (policies, customers, installments, and optionally
    /// events and agents; each .csv or .parquet).
    #[arg(long)]
    pub data: PathBuf,
    /// Snapshot date T (YYYY-MM-DD), or a range FROM..TO stepped by --every for a stacked
    /// training set.
    #[arg(long)]
    pub as_of: String,
    /// Step between snapshot dates of a range: 7d, 2w, 1mo, 3mo, 1y.
    #[arg(long, default_value = "1mo")]
    pub every: String,
    /// Renewals due up to T + horizon days are scored.
    #[arg(long, default_value_t = SnapshotSpec::DEFAULT_HORIZON_DAYS)]
    pub horizon_days: i32,
    /// A renewal due on D lapses when it is not paid by D + grace days.
    #[arg(long, default_value_t = SnapshotSpec::DEFAULT_GRACE_DAYS)]
    pub grace_days: i32,
    /// The day the extract was taken (labels whose deadline is not before it are null).
    /// Default: the latest date the extract records (a payment, an event, a status change...).
    #[arg(long)]
    pub extract_date: Option<String>,
    /// Output file: .parquet or .csv.
    #[arg(long)]
    pub out: PathBuf,
    /// At most this many rows in all (each snapshot at most its share, a sample stratified by
    /// label, the same on every run): a training table bounded whatever the book's size.
    #[arg(long)]
    pub max_rows: Option<usize>,
    /// Build the table a customer shard at a time: split the extract by customer into this many
    /// shards on disk (beside --out), build each with the whole book's agent and book records,
    /// and put the rows back in the book's order: the same table as without shards, with a peak
    /// memory of about one shard's book instead of the whole book's.
    #[arg(long, default_value_t = 1, conflicts_with_all = ["max_rows", "aggregates"])]
    pub shards: usize,
    /// Bound the peak memory instead of the book's size: the fewest customer shards whose
    /// estimated peak (1.5 GiB per million policies in a shard, plus 1.75 GiB) fits this many GiB
    /// (docs/scale.md). Instead of --shards.
    #[arg(long, conflicts_with_all = ["max_rows", "aggregates", "shards"])]
    pub memory_budget_gib: Option<f64>,
    /// The extract is a part of a book split by customer: take the agents' and the book's
    /// lapse records from this file (`lapse aggregates` over the whole book) so the rows are
    /// the whole book's. Needs --extract-date (the whole book's: a part's latest date may be
    /// earlier).
    #[arg(long, requires = "extract_date")]
    pub aggregates: Option<PathBuf>,
    /// strict: any broken row stops the run and nothing is written. skip: broken rows are left
    /// out and written with their reasons to OUT's rejects file (<out stem>.rejects.csv).
    #[arg(long, value_enum, default_value_t = BadRows::Strict)]
    pub on_error: BadRows,
    /// Character encoding of the extract's CSV files: utf-8 or gb18030 (GBK).
    #[arg(long, value_enum, default_value_t = EncodingChoice::Utf8)]
    pub encoding: EncodingChoice,
}

#[derive(Debug, Args)]
pub struct AggregatesArgs {
    /// Directory holding the whole book's extract tables.
    #[arg(long)]
    pub data: PathBuf,
    /// Snapshot date T, or a range FROM..TO stepped by --every (as `lapse features`).
    #[arg(long)]
    pub as_of: String,
    /// Step between snapshot dates of a range.
    #[arg(long, default_value = "1mo")]
    pub every: String,
    /// A renewal due on D lapses when it is not paid by D + grace days.
    #[arg(long, default_value_t = SnapshotSpec::DEFAULT_GRACE_DAYS)]
    pub grace_days: i32,
    /// Output CSV: as_of,agent_id,renewals,lapses (agent_id empty: the whole book).
    #[arg(long)]
    pub out: PathBuf,
    /// Character encoding of the extract's CSV files: utf-8 or gb18030 (GBK).
    #[arg(long, value_enum, default_value_t = EncodingChoice::Utf8)]
    pub encoding: EncodingChoice,
}

#[derive(Debug, Args)]
pub struct CatalogArgs {
    #[arg(long, value_enum, default_value_t = CatalogFormat::Markdown)]
    pub format: CatalogFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CatalogFormat {
    Markdown,
    Json,
}
