//! The `lapse` command line as typed: the commands ([`Command`]), the flag groups several
//! commands share (the extract, report outputs, a registered model, drift thresholds) and the
//! value parsers (dates, languages), so a flag means and defaults the same everywhere. Each
//! command's own flags are in [`book`], [`learn`], [`retain`] and [`run`].

mod book;
mod learn;
mod retain;
mod run;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use book::*;
use lapse_core::dates::{Day, parse_day};
use lapse_core::extract::OnError;
use lapse_model::scoring::lang::Lang;
pub use learn::*;
pub use retain::*;
pub use run::*;

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
    /// Renewal team performance (续期考核): the collection rate by agent, team, branch, region,
    /// channel and product per due month, against targets, risk-adjusted with a model; the
    /// incentive CSV.
    Performance(PerformanceArgs),
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
    /// Learn per-renewal treatment effects from a campaign with a holdout (two learners, both
    /// cross-fitted: stratified save rates, and a T-learner on the boosting family), judge them
    /// by held-out Qini against the risk ranking, and register the better one (models/uplift)
    /// so the queue can rank by effect.
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
    /// Contact outcomes in the store: import a call-centre export, export them all.
    Outcomes(OutcomesArgs),
    /// The renewal funnel from an extract: per due month, how many renewals were reminded,
    /// contacted, paid before due, paid in grace, lapsed; by channel, first action and the
    /// days before due of the first contact.
    Funnel(FunnelArgs),
    /// The data-quality audit (数据质量) of an extract against the previous one (its files, or
    /// the fingerprint a night kept): late entries, changes after the fact, vanished rows,
    /// inconsistent statuses and amount mismatches per table, with examples. Exit 2 when a check
    /// is above its stop threshold.
    Audit(AuditArgs),
    /// The console's pages over time (model, drift, the book, campaigns) from a nightly reports
    /// directory, as files that open from disk (the same pages `lapse serve --reports` serves
    /// under /ui/), with each night's own pages under nights/T/.
    History(HistoryArgs),
}

/// The drift thresholds (`--watch`, `--act`).
#[derive(Debug, Args)]
pub struct PsiThresholds {
    /// PSI from which a feature is to watch.
    #[arg(long, default_value_t = lapse_model::drift::Thresholds::default().watch)]
    pub watch: f64,
    /// PSI from which a feature needs action.
    #[arg(long, default_value_t = lapse_model::drift::Thresholds::default().act)]
    pub act: f64,
}

impl PsiThresholds {
    /// The thresholds, checked: positive, watch <= act.
    pub fn checked(&self) -> Result<lapse_model::drift::Thresholds, lapse_core::error::InvalidInput> {
        if self.watch.is_finite() && self.act.is_finite() && 0.0 < self.watch && self.watch <= self.act {
            Ok(lapse_model::drift::Thresholds { watch: self.watch, act: self.act })
        } else {
            Err(lapse_core::error::InvalidInput("--watch and --act must be positive with --watch <= --act".into()))
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
    #[arg(long, default_value = "en", value_parser = lang)]
    pub lang: Lang,
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

/// The extract a command reads (`--data`, `--encoding`).
#[derive(Debug, Args)]
pub struct Extract {
    /// Extract directory: the contract's tables (policies, customers, installments, and
    /// optionally events and agents), each .csv or .parquet.
    #[arg(long)]
    pub data: PathBuf,
    /// Character encoding of the extract's CSV files: utf-8 or gb18030 (GBK).
    #[arg(long, value_enum, default_value_t = EncodingChoice::Utf8)]
    pub encoding: EncodingChoice,
}

impl Extract {
    /// Loads the book, broken rows handled as `on_error` says.
    pub fn load(&self, on_error: OnError) -> Result<lapse_core::extract::LoadedBook, lapse_core::extract::ExtractError> {
        lapse_core::extract::load_book_encoded(&self.data, on_error, self.encoding.into())
    }
}

/// The outcome store when none is named: a SQLite file in the working directory.
pub const DEFAULT_STORE: &str = "sqlite://lapse.sqlite";

/// A date flag: YYYY-MM-DD.
pub fn day(text: &str) -> Result<Day, String> {
    parse_day(text).ok_or_else(|| format!("{text:?} is not a date (expected YYYY-MM-DD)"))
}

/// A language flag: en or zh-CN (also zh, zh-Hans, en-US...).
pub fn lang(text: &str) -> Result<Lang, String> {
    Lang::from_tag(text).ok_or_else(|| format!("{text:?}: use en or zh-CN"))
}
