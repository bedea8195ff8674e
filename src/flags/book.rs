//! Flags of the commands that read a book: generate, features, aggregates, catalog,
//! persistency, performance, funnel, winback, winback-table.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::*;
use lapse_core::dates::Day;
use lapse_core::features::SnapshotSpec;
use lapse_model::scoring::lang::Lang;

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
    #[arg(long, default_value = "2026-09-30", value_parser = day)]
    pub extract_date: Day,
    /// The first issue date of the book.
    #[arg(long, default_value = "2016-01-01", value_parser = day)]
    pub start: Day,
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
    /// Also write the outcomes a call centre would have recorded for the book's contacts
    /// (CSV or Parquet, for `lapse outcomes import`; docs/contact-rules.md says how they are
    /// drawn).
    #[arg(long)]
    pub outcomes: Option<PathBuf>,
    /// Agents differ in how well they collect: each agent's skill is drawn N(0, SD) and lowers
    /// the lapse log-odds of the renewals they serve (for trying `lapse performance`'s risk
    /// adjustment; 0: every agent alike).
    #[arg(long, default_value_t = 0.0)]
    pub agent_skill_sd: f64,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TableFormat {
    Csv,
    Parquet,
}

#[derive(Debug, Args)]
pub struct FeaturesArgs {
    #[command(flatten)]
    pub extract: Extract,
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
    #[arg(long, value_parser = day)]
    pub extract_date: Option<Day>,
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
    /// The outcome store (as `lapse serve --store`): the contact outcomes agents recorded
    /// before each T become the features of the family "recorded contact outcomes" (a
    /// refusal and its reason, an open or broken promise, attempts without reaching the
    /// customer, do-not-contact). Without it (or --outcomes) those features are missing.
    #[arg(long, conflicts_with = "outcomes")]
    pub store: Option<String>,
    /// The same from a file of outcomes (CSV or Parquet, as `lapse outcomes export` writes
    /// and `lapse outcomes import` reads; checked the same way).
    #[arg(long)]
    pub outcomes: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct AggregatesArgs {
    #[command(flatten)]
    pub extract: Extract,
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
}

#[derive(Debug, Args)]
pub struct CatalogArgs {
    #[arg(long, value_enum, default_value_t = CatalogFormat::Markdown)]
    pub format: CatalogFormat,
    /// Print the metric definitions instead (docs/metrics.md: every KPI the reports show, in
    /// English and Chinese).
    #[arg(long)]
    pub metrics: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CatalogFormat {
    Markdown,
    Json,
}

#[derive(Debug, Args)]
pub struct PersistencyArgs {
    #[command(flatten)]
    pub extract: Extract,
    /// Only premiums whose grace ended before this date count. Default: the extract date
    /// (the latest date the extract records).
    #[arg(long, value_parser = day)]
    pub as_of: Option<Day>,
    /// A premium due on D is paid in time when paid by D + grace days.
    #[arg(long, default_value_t = SnapshotSpec::DEFAULT_GRACE_DAYS)]
    pub grace_days: i32,
    #[command(flatten)]
    pub report: ReportFiles,
    /// What to do with rows that break the contract.
    #[arg(long, value_enum, default_value_t = BadRows::Strict)]
    pub on_error: BadRows,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The nightly reports directory (`lapse nightly --out`).
    #[arg(long)]
    pub reports: PathBuf,
    /// The site's directory: the console's pages, and each night's pages under `nights/T/`.
    #[arg(long)]
    pub out: PathBuf,
    /// Language of the pages: en or zh-CN.
    #[arg(long, default_value = "en", value_parser = lang)]
    pub lang: Lang,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub extract: Extract,
    /// The previous extract: its directory, or the fingerprint a night kept of it
    /// (`REPORTS/fingerprints/T.fp`, or `--fingerprint-out` of an earlier audit).
    #[arg(long)]
    pub previous: PathBuf,
    /// Today's extract date. Default: the latest date the extract records.
    #[arg(long, value_parser = day)]
    pub extract_date: Option<Day>,
    /// The previous extract's date, when --previous is a directory. Default: the latest date it
    /// records.
    #[arg(long, value_parser = day)]
    pub previous_date: Option<Day>,
    /// A premium due on D lapses when unpaid by D + grace days (the status check).
    #[arg(long, default_value_t = SnapshotSpec::DEFAULT_GRACE_DAYS)]
    pub grace_days: i32,
    /// Examples kept per check and table (per column for a change after the fact).
    #[arg(long, default_value_t = 10)]
    pub examples: usize,
    /// Also write today's fingerprint here, for tomorrow's `--previous`.
    #[arg(long)]
    pub fingerprint_out: Option<PathBuf>,
    /// Thresholds per check: a lapse.toml with an [audit] section (or a TOML file of that
    /// section). A check above its `stop` makes the command exit 2. Default: the documented
    /// thresholds (docs/data-quality.md).
    #[arg(long)]
    pub audit_thresholds: Option<PathBuf>,
    /// Earlier audits for the trend chart: a nightly reports directory (its `T/audit.json`).
    #[arg(long)]
    pub history: Option<PathBuf>,
    #[command(flatten)]
    pub report: ReportFiles,
}

#[derive(Debug, Args)]
pub struct FunnelArgs {
    #[command(flatten)]
    pub extract: Extract,
    /// The report date. Default: the extract date.
    #[arg(long, value_parser = day)]
    pub as_of: Option<Day>,
    /// Renewals due in this many months up to the report date.
    #[arg(long, default_value_t = lapse_reports::funnel::DEFAULT_MONTHS)]
    pub months: i32,
    /// The score log (`lapse serve --score-log`): adds the step "listed" (put on a work list by
    /// GET /v1/queue or a campaign's treatment arm) and a breakdown by the action it gave.
    #[arg(long)]
    pub score_log: Option<PathBuf>,
    /// The outcome store (`lapse serve --store`): adds the steps "reached", "promised" and
    /// "promise kept" from what agents recorded before the report date.
    #[arg(long)]
    pub store: Option<String>,
    /// A premium due on D lapses when unpaid by D + grace days.
    #[arg(long, default_value_t = SnapshotSpec::DEFAULT_GRACE_DAYS)]
    pub grace_days: i32,
    #[command(flatten)]
    pub report: ReportFiles,
}

#[derive(Debug, Args)]
pub struct WinbackArgs {
    #[command(flatten)]
    pub extract: Extract,
    /// The date T. Default: the extract date (the latest date the extract records).
    #[arg(long, value_parser = day)]
    pub as_of: Option<Day>,
    /// The list (.csv or .parquet), written atomically.
    #[arg(long)]
    pub out: PathBuf,
    /// A lapsed policy can be reinstated for this many days after its lapse date.
    #[arg(long, default_value_t = lapse_core::winback::REINSTATEMENT_DAYS)]
    pub reinstatement_days: i32,
    /// Reinstatement model registry: when it has a champion, the list is ranked by
    /// P(reinstated within N days) x value if reinstated; without one (or without this flag),
    /// by value x recency. Every row says which.
    #[arg(long)]
    pub models: Option<PathBuf>,
    /// Language of the reasons: en or zh-CN.
    #[arg(long, default_value = "en", value_parser = lang)]
    pub lang: Lang,
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
}

#[derive(Debug, Args)]
pub struct WinbackTableArgs {
    #[command(flatten)]
    pub extract: Extract,
    /// The latest snapshot date. Default: the extract date less the horizon (the latest date
    /// whose label is known).
    #[arg(long, value_parser = day)]
    pub as_of: Option<Day>,
    /// Snapshots, ending at --as-of, --every apart.
    #[arg(long, default_value_t = 12)]
    pub snapshots: usize,
    /// Step between snapshots: 7d, 2w, 1mo, ...
    #[arg(long, default_value = "1mo")]
    pub every: String,
    /// The label: reinstated within this many days of the snapshot date.
    #[arg(long, default_value_t = lapse_core::winback::features::DEFAULT_LABEL_DAYS)]
    pub horizon_days: i32,
    /// The table (.parquet or .csv), written atomically.
    #[arg(long)]
    pub out: PathBuf,
    /// A lapsed policy can be reinstated for this many days after its lapse date.
    #[arg(long, default_value_t = lapse_core::winback::REINSTATEMENT_DAYS)]
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
}

#[derive(Debug, Args)]
pub struct PerformanceArgs {
    #[command(flatten)]
    pub extract: Extract,
    /// The report date: payments before it count. Default: the extract date.
    #[arg(long, value_parser = day)]
    pub as_of: Option<Day>,
    /// Due months: FROM..TO (2026-01..2026-03) or one month (2026-03). Default: the last
    /// three closed months and every month since (the month to date in progress).
    #[arg(long)]
    pub months: Option<String>,
    /// Levels, comma-separated: all, agent, team, branch, region, channel, product, servicing
    /// (orphan policies apart). Default: every level (team and branch only when the agents
    /// table has them).
    #[arg(long, value_delimiter = ',')]
    pub by: Vec<String>,
    /// Targets: a CSV with the columns level, key, month, target_rate (0.92 or 92%): the
    /// attainment and the premium gap per group and month.
    #[arg(long)]
    pub targets: Option<PathBuf>,
    /// A model registry: risk-adjust with its champion (or --model): observed / expected per
    /// group, expectations of an average agent on the same customers.
    #[arg(long)]
    pub models: Option<PathBuf>,
    /// The model version of --models (default: the champion).
    #[arg(long, requires = "models")]
    pub model: Option<String>,
    /// The outcome store (`lapse serve --store`): the work behind the figures (listed,
    /// attempted, reached, promises made and kept, visit rate, share of the list worked) and,
    /// for its campaigns with a control arm, the save rate per team.
    #[arg(long)]
    pub store: Option<String>,
    /// The score log (`lapse serve --score-log`): renewals put on a work list (GET /v1/queue
    /// or a campaign's treatment arm) count as listed.
    #[arg(long)]
    pub score_log: Option<PathBuf>,
    /// A campaigns directory (`lapse queue --campaigns`): its campaigns count like the store's.
    #[arg(long)]
    pub campaigns: Option<PathBuf>,
    /// The incentive export: one CSV row per agent and month (columns in docs/performance.md;
    /// UTF-8 with a byte-order mark for Excel).
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// A renewal due on D is collected when paid by D + grace days.
    #[arg(long, default_value_t = SnapshotSpec::DEFAULT_GRACE_DAYS)]
    pub grace_days: i32,
    #[command(flatten)]
    pub report: ReportFiles,
    /// What to do with rows that break the contract.
    #[arg(long, value_enum, default_value_t = BadRows::Strict)]
    pub on_error: BadRows,
}
