//! Flags of the commands that train and judge models: train, models, evaluate, drift, why.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use super::*;
use lapse_model::scoring::lang::Lang;
use lapse_model::train::{Family, Validation};

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
    #[arg(long, default_value_t = lapse_model::train::TrainConfig::default().folds)]
    pub folds: usize,
    /// Out-of-time: validate on this many of the latest matured snapshot dates.
    #[arg(long, default_value_t = lapse_model::train::TrainConfig::default().validation_snapshots)]
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
    #[arg(long, default_value = "en", value_parser = lang)]
    pub lang: Lang,
    /// Economics JSON (value bands of the segments); default: the built-in one.
    #[arg(long)]
    pub economics: Option<PathBuf>,
}
