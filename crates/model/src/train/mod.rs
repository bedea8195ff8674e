//! The trainer: fits model families on a training table, validates them on held-out rows
//! (out-of-time for feature-builder tables, k-fold otherwise), calibrates, picks the best by
//! held-out log loss, and returns a [`LapseModel`] with its report.

use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::artifact::LapseModel;
use crate::calibrate::{self, Calibrator, Method};

pub mod groups;
mod select;
mod steps;
pub use crate::dataset::{Dataset, DatasetError, DatasetOptions};
use crate::encode::FeatureSchema;
pub use crate::estimators::{BlendMember, Estimator, Family, FitError, Params};
use crate::metrics::{Evaluation, ReliabilityBin};
pub use groups::train_deciding_groups;
use lapse_core::dates::{Day, format_day};
pub use steps::train;

/// How models are validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Validation {
    /// Train on earlier snapshots, validate on the latest fully labelled ones.
    OutOfTime,
    /// k folds: the table's `fold` column, else policies (or rows) hashed into folds.
    Kfold,
}

/// What to train.
#[derive(Debug, Clone)]
pub struct TrainConfig {
    /// Families to try; the best on held-out log loss is kept.
    pub families: Vec<Family>,
    /// None: out-of-time when the table has snapshot dates, else k-fold.
    pub validation: Option<Validation>,
    /// Folds when there is no `fold` column.
    pub folds: usize,
    /// Out-of-time: how many of the latest fully labelled snapshot dates to validate on.
    pub validation_snapshots: usize,
    pub params: Params,
    /// Draw progress bars (when a person watches a terminal).
    pub progress: bool,
    /// Out-of-time: once validation has chosen the family, its settings and calibration, fit
    /// the served model on every labelled row (the newest outcomes included) instead of keeping
    /// the model fitted on the earlier snapshots. The reported metrics stay the held-out ones.
    pub refit: bool,
    /// Try a small grid of settings per family ([`candidates`]) instead of the configured
    /// parameters alone.
    pub search: bool,
    /// Consider a blend of explainable settings (forward-selected, at most three).
    pub blend: bool,
    /// k-fold with one setting: also return each fold's model, calibrated on the other folds'
    /// held-out predictions ([`TrainOutcome::fold_models`]), for predictions on other tables'
    /// rows of the same folds that no model of theirs saw (uplift's cross-fitting).
    pub keep_fold_models: bool,
    /// Feature columns the model does not read (an optional family found not to help:
    /// [`groups`]).
    pub leave_out: Vec<String>,
    /// With `search`: try only these settings of the grid (an earlier search's pick, reused on
    /// the nights between searches); empty: every setting.
    pub only_settings: Vec<PickedSetting>,
}

/// One setting of the grid, by family and its text ([`describe`]): what a search picked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PickedSetting {
    pub family: Family,
    pub setting: String,
}

impl std::fmt::Display for PickedSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.family, self.setting)
    }
}

/// Where the settings a model was trained with came from (the nightly records it in the report):
/// a search on `night`, or that search's pick reused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchRecord {
    /// The night the search ran (a reused pick keeps its search's night).
    pub night: String,
    /// Whether this model's training searched (false: it reused the pick).
    pub searched: bool,
    /// The settings picked (one, or a blend's members).
    pub settings: Vec<PickedSetting>,
    /// Why the night searched or reused.
    pub reason: String,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            families: Family::AUTO.to_vec(),
            validation: None,
            folds: 5,
            validation_snapshots: 3,
            params: Params::default(),
            progress: false,
            refit: true,
            search: false,
            only_settings: Vec::new(),
            blend: false,
            keep_fold_models: false,
            leave_out: Vec::new(),
        }
    }
}

/// Why training failed.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(transparent)]
    Data(#[from] DatasetError),
    #[error(transparent)]
    Fit(#[from] FitError),
    #[error("cannot validate: {0}")]
    Validation(String),
}

impl TrainError {
    /// Whether the training table is at fault.
    pub fn is_input(&self) -> bool {
        matches!(self, TrainError::Data(_))
    }
}

/// Held-out results of one family.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FamilyReport {
    pub family: Family,
    /// The hyper-parameters that distinguish this setting from the others tried.
    #[serde(default)]
    pub setting: String,
    /// Mean over folds (one fold for out-of-time) of the calibrated held-out metrics.
    pub roc_auc: Option<f64>,
    pub log_loss: f64,
    pub brier: f64,
    pub pr_auc: Option<f64>,
    pub ece: f64,
    pub top_decile_lift: Option<f64>,
    /// The same means before calibration.
    pub raw_roc_auc: Option<f64>,
    pub raw_log_loss: f64,
    pub raw_ece: f64,
    /// Per-fold calibrated ROC AUC and log loss.
    pub folds: Vec<(Option<f64>, f64)>,
    /// The calibration chosen (by cross-fitted log loss on held-out predictions).
    pub calibration: Method,
    /// Pooled held-out evaluation, calibrated (curves, reliability table).
    pub calibrated: Evaluation,
    /// Pooled held-out reliability table before calibration.
    pub raw_reliability: Vec<ReliabilityBin>,
    /// Seconds spent fitting and predicting all folds.
    pub fit_seconds: f64,
}

/// The training run, as `metrics.json` records it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainReport {
    /// Rows the registered model was fitted on: every labelled row when refit after
    /// validation (the default), else the training rows.
    #[serde(default)]
    pub rows_fitted: usize,
    pub validation: Validation,
    pub validation_detail: String,
    /// The family kept (or `blend`), and the headline held-out metrics: with several settings
    /// tried, the figures of the whole choice judged on rows that did not make it
    /// ([`SelectionReport`]); with one, that setting's own.
    pub chosen: Family,
    /// The setting kept (a blend: its members and weights).
    #[serde(default)]
    pub chosen_setting: String,
    /// The settings behind the pick: one, or a blend's members.
    #[serde(default)]
    pub picked: Vec<PickedSetting>,
    /// Set by the nightly: whether this training searched the grid or reused a search's pick.
    #[serde(default)]
    pub search: Option<SearchRecord>,
    /// How the choice among settings was made and judged; None when one setting was tried.
    #[serde(default)]
    pub selection: Option<SelectionReport>,
    pub roc_auc: Option<f64>,
    pub log_loss: f64,
    pub ece: f64,
    pub families: Vec<FamilyReport>,
    pub rows_labelled: usize,
    pub rows_unlabelled: usize,
    pub rows_train: usize,
    pub rows_validation: usize,
    pub lapse_rate: f64,
    pub training_window: Option<(String, String)>,
    pub validation_window: Option<(String, String)>,
    pub value_source: String,
    pub excluded_columns: Vec<(String, String)>,
    /// Top inputs of the kept model: coefficients (logistic) or total gain (boosting).
    pub importance: Option<Vec<(String, f64)>>,
    /// Snapshot dates of the table left out because their outcomes were not all known at the
    /// table's extract date.
    #[serde(default)]
    pub immature_snapshots: Vec<crate::dataset::ImmatureSnapshot>,
    /// Partial dependence of the most influential numeric inputs (the served model, sampled
    /// rows of its own training table, input set to each decile).
    #[serde(default)]
    pub partial_dependence: Vec<crate::partial_dependence::PartialDependence>,
    pub params: Params,
    /// Optional feature families (the recorded contact outcomes): kept or left out, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub feature_groups: Vec<groups::GroupDecision>,
}

/// The choice among settings, judged honestly.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SelectionReport {
    /// How each selection group was scored.
    pub method: String,
    /// Mean over selection groups of the picked model's calibrated held-out figures.
    pub roc_auc: Option<f64>,
    pub log_loss: f64,
    /// What the choice made without each group picked.
    pub group_picks: Vec<String>,
    pub candidates_tried: usize,
    /// Seconds spent fitting, predicting and choosing among all settings.
    pub search_seconds: f64,
}

/// A trained, calibrated model and its report.
pub struct TrainOutcome {
    pub model: LapseModel,
    pub report: TrainReport,
    /// The training table's feature distributions and the model's scores on it (drift
    /// reference, stored with the model; the scores of at most 100,000 evenly spaced rows).
    pub reference: crate::drift::Reference,
    /// The held-out rows (indices into the dataset, ascending) and the kept family's
    /// calibrated predictions for them (each calibrated by a calibrator fitted on other rows):
    /// what the reported held-out metrics were computed from.
    pub held_out_rows: Vec<usize>,
    pub held_out_scores: Vec<f64>,
    /// The renewals the registered model learnt from (every row of the table: fitted on, or
    /// calibrated on); None when the table has no renewal keys (`policy_id`, `installment_no`).
    pub fitted: Option<crate::fitted::FittedRenewals>,
    /// Out of time: the renewals the models behind `held_out_scores` were fitted on (the
    /// training snapshots before the validation window). A judge leaves these out of any
    /// comparison; by the out-of-time gap no held-out renewal is among them.
    pub held_out_fitted: Option<crate::fitted::FittedRenewals>,
    /// With [`TrainConfig::keep_fold_models`]: per fold, the table's `fold` value it held out
    /// and the model fitted without it (calibrated on the other folds' held-out predictions):
    /// neither saw a row of that fold.
    pub fold_models: Vec<(i64, LapseModel)>,
}

/// A fold model's calibrator: the method chosen for the setting, fitted on the held-out
/// predictions of the other folds only.
fn fold_calibrator(method: calibrate::Method, raw: &[f64], labels: &[u8], fold_of_slot: &[usize], fold: usize) -> Calibrator {
    let others: Vec<usize> = (0..raw.len()).filter(|&s| fold_of_slot[s] != fold).collect();
    Calibrator::fit(method, &others.iter().map(|&s| raw[s]).collect::<Vec<_>>(), &others.iter().map(|&s| labels[s]).collect::<Vec<_>>())
}

/// Train/validation row sets: one pair per fold.
struct Plan {
    validation: Validation,
    detail: String,
    folds: Vec<(Vec<usize>, Vec<usize>)>,
    training_window: Option<(Day, Day)>,
    validation_window: Option<(Day, Day)>,
}

fn plan(data: &Dataset, config: &TrainConfig) -> Result<Plan, TrainError> {
    let validation = config.validation.unwrap_or(if data.as_of.is_some() { Validation::OutOfTime } else { Validation::Kfold });
    match validation {
        Validation::OutOfTime => {
            let as_of = data.as_of.as_ref().ok_or_else(|| TrainError::Validation("out-of-time validation needs an as_of column".into()))?;
            let mut dates: Vec<Day> = as_of.clone();
            dates.sort_unstable();
            dates.dedup();
            // The latest snapshots are only partly labelled (unlabelled rows were dropped on
            // read); validate on the latest dates whose rows are (almost) all labelled.
            let k = config.validation_snapshots.max(1);
            if dates.len() < k + 1 {
                return Err(TrainError::Validation(format!("{} snapshot date(s): need at least {} for out-of-time validation", dates.len(), k + 1)));
            }
            let valid_dates = &dates[dates.len() - k..];
            let start = valid_dates[0];
            let grace = data.grace_days.unwrap_or(60);
            // Training rows must have their outcome known before validation starts.
            let train: Vec<usize> = (0..data.len())
                .filter(|&i| {
                    as_of[i] < start
                        && data.due_date.as_ref().is_none_or(|d| d[i] + grace < start)
                        && data.outcome_lag_days.is_none_or(|lag| as_of[i] + lag <= start)
                })
                .collect();
            let valid: Vec<usize> = (0..data.len()).filter(|&i| as_of[i] >= start).collect();
            if train.is_empty() || valid.is_empty() {
                return Err(TrainError::Validation("no training rows before the validation window".into()));
            }
            let first = dates[0];
            // The latest snapshot actually trained on (a later one may have been left out because
            // its outcome was not known before validation starts).
            let last_train = train.iter().map(|&i| as_of[i]).max().unwrap_or(first);
            Ok(Plan {
                validation,
                detail: format!(
                    "trained on snapshots {}..{} (outcomes known before {}), validated on {}..{}",
                    format_day(first),
                    format_day(last_train),
                    format_day(start),
                    format_day(start),
                    format_day(*valid_dates.last().expect("k >= 1"))
                ),
                folds: vec![(train, valid)],
                training_window: Some((first, last_train)),
                validation_window: Some((start, *valid_dates.last().expect("k >= 1"))),
            })
        }
        Validation::Kfold => {
            let (fold_of, detail): (Vec<usize>, String) = match (&data.fold, &data.group) {
                (Some(fold), _) => {
                    let mut distinct: Vec<i64> = fold.clone();
                    distinct.sort_unstable();
                    distinct.dedup();
                    (
                        fold.iter().map(|f| distinct.binary_search(f).expect("present")).collect(),
                        format!("{}-fold on the table's fold column", distinct.len()),
                    )
                }
                (None, Some(group)) => (
                    group.iter().map(|g| (stable_hash(g, config.params.seed) % config.folds as u64) as usize).collect(),
                    format!("{}-fold, policies hashed into folds", config.folds),
                ),
                (None, None) => (
                    (0..data.len()).map(|i| (stable_hash(&i.to_string(), config.params.seed) % config.folds as u64) as usize).collect(),
                    format!("{}-fold, rows hashed into folds", config.folds),
                ),
            };
            let k = fold_of.iter().max().map_or(0, |m| m + 1);
            if k < 2 {
                return Err(TrainError::Validation("k-fold needs at least 2 folds".into()));
            }
            let folds = (0..k)
                .map(|f| ((0..data.len()).filter(|&i| fold_of[i] != f).collect(), (0..data.len()).filter(|&i| fold_of[i] == f).collect()))
                .collect();
            Ok(Plan { validation, detail, folds, training_window: None, validation_window: None })
        }
    }
}

/// FNV-1a: a hash that is the same on every machine and release (unlike std's).
fn stable_hash(text: &str, seed: u64) -> u64 {
    lapse_core::hash::fnv1a(seed, text.bytes())
}

fn labels_of(data: &Dataset, rows: &[usize]) -> Vec<u8> {
    rows.iter().map(|&r| data.labels[r]).collect()
}

/// Fits one family on one fold: the schema learnt from the training rows, the estimator, and
/// its predictions for the validation rows.
fn fit_fold(
    data: &Dataset,
    family: Family,
    params: &Params,
    splines: bool,
    leave_out: &[String],
    train: &[usize],
    valid: &[usize],
) -> Result<(FeatureSchema, Estimator, Vec<f64>), TrainError> {
    let schema = FeatureSchema::fit_for(data, train, params.min_level_count, splines, leave_out);
    let fit_on = rows_to_fit(family, params, train);
    let design = schema.design(data, &fit_on, family.style());
    let estimator = Estimator::fit(family, params, &design, &labels_of(data, &fit_on))?;
    drop(design);
    // Predicted in blocks: a spline design of every held-out row of a million-row table would
    // take gigabytes at once.
    let mut predictions = Vec::with_capacity(valid.len());
    for block in valid.chunks(PREDICT_BLOCK_ROWS) {
        predictions.extend(estimator.predict(&schema.design(data, block, family.style())));
    }
    Ok((schema, estimator, predictions))
}

/// Rows per block when predicting held-out rows.
const PREDICT_BLOCK_ROWS: usize = 100_000;

/// The rows a family is fitted on: all of `rows`, or for the linear families beyond
/// `linear_max_rows` a seeded sample of them (ascending). The forest samples inside its fit.
fn rows_to_fit(family: Family, params: &Params, rows: &[usize]) -> Vec<usize> {
    if !matches!(family, Family::Logistic | Family::Spline) || rows.len() <= params.linear_max_rows {
        return rows.to_vec();
    }
    use rand::SeedableRng;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(params.seed ^ 0x006c_696e);
    let mut picked: Vec<usize> = rand::seq::index::sample(&mut rng, rows.len(), params.linear_max_rows).into_iter().map(|i| rows[i]).collect();
    picked.sort_unstable();
    picked
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    sum / n.max(1) as f64
}

fn mean_option(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    let v: Vec<f64> = values.collect::<Option<Vec<f64>>>()?;
    Some(mean(v.into_iter()))
}

fn progress_bar(enabled: bool, len: u64, message: &str) -> indicatif::ProgressBar {
    if !enabled {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg:<28} [{bar:30}] {pos}/{len} fits, {elapsed}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message(message.to_string());
    bar
}

/// Each input's importance as the standard deviation of its contribution to the log-odds over
/// (at most 4,000 evenly spread) rows: for a model whose inputs have several design columns
/// (a spline basis), where no single weight says how much the input matters.
fn contribution_spread(model: &LapseModel, data: &Dataset) -> Vec<(String, f64)> {
    let step = data.len().div_ceil(4_000).max(1);
    let rows: Vec<usize> = (0..data.len()).step_by(step).collect();
    let names: Vec<String> = model.schema.columns.iter().map(|c| c.name.clone()).collect();
    let Ok(design) = model.design(&data.features, &rows) else { return Vec::new() };
    let Some(contributions) = model.contributions(&design) else { return Vec::new() };
    let k = names.len();
    let n = rows.len().max(1) as f64;
    let mut out: Vec<(String, f64)> = names
        .into_iter()
        .enumerate()
        .map(|(j, name)| {
            let mean = (0..rows.len()).map(|r| contributions[r * k + j]).sum::<f64>() / n;
            let var = (0..rows.len()).map(|r| (contributions[r * k + j] - mean).powi(2)).sum::<f64>() / n;
            (name, var.sqrt())
        })
        .collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

/// At most this many training rows are scored for the score's drift reference.
const REFERENCE_SCORE_ROWS: usize = 100_000;

/// One setting the trainer tries: a family with its hyper-parameters.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub family: Family,
    /// The hyper-parameters that differ between the settings tried, as text.
    pub setting: String,
    pub params: Params,
}

/// Folds training on at most this many rows count as a small table: the boosting grid adds its
/// long, shallow setting with early stopping there (two fits per fold; on small tables of few
/// features it is the best boosting setting measured, decision 45).
pub const SMALL_TABLE_ROWS: usize = 250_000;

/// The settings tried for `families`: the configured parameters alone, or with `search` a
/// small grid around them per family (penalty x1, x10, x100 for the linear families; for
/// boosting the configured trees, shallower trees, and deeper trees learning at half the rate
/// for twice the rounds with heavier leaves; and when the folds train on at most
/// [`SMALL_TABLE_ROWS`] rows, depth-2 trees at rate 0.05 with the rounds chosen by early
/// stopping, up to 3,000).
pub fn candidates(families: &[Family], base: &Params, search: bool, training_rows: usize) -> Vec<Candidate> {
    let mut out = Vec::new();
    for &family in families {
        let variants: Vec<Params> = match family {
            Family::Logistic | Family::Spline if search => {
                [1.0, 10.0, 100.0].iter().map(|k| Params { logistic_alpha: base.logistic_alpha * k, ..base.clone() }).collect()
            }
            Family::Gbdt if search => {
                let mut grid = vec![
                    base.clone(),
                    Params { gbdt_max_depth: base.gbdt_max_depth.saturating_sub(1).max(2), ..base.clone() },
                    Params {
                        gbdt_max_depth: base.gbdt_max_depth + 2,
                        gbdt_learning_rate: base.gbdt_learning_rate / 2.0,
                        gbdt_rounds: base.gbdt_rounds * 2,
                        gbdt_min_leaf_weight: base.gbdt_min_leaf_weight * 2.5,
                        ..base.clone()
                    },
                ];
                if training_rows <= SMALL_TABLE_ROWS {
                    grid.push(Params {
                        gbdt_max_depth: 2,
                        gbdt_learning_rate: base.gbdt_learning_rate / 2.0,
                        gbdt_rounds: 3_000,
                        gbdt_early_stopping: Some(100),
                        ..base.clone()
                    });
                }
                grid
            }
            _ => vec![base.clone()],
        };
        for params in variants {
            out.push(Candidate { family, setting: describe(family, &params), params });
        }
    }
    out
}

/// The hyper-parameters of `family` that the search varies, as text.
pub fn describe(family: Family, p: &Params) -> String {
    match family {
        Family::Logistic | Family::Spline => format!("alpha={}", p.logistic_alpha),
        Family::Gbdt => {
            let mut text = format!("depth={} lr={} rounds={} leaf={}", p.gbdt_max_depth, p.gbdt_learning_rate, p.gbdt_rounds, p.gbdt_min_leaf_weight);
            if let Some(patience) = p.gbdt_early_stopping {
                text.push_str(&format!(" early_stopping={patience}"));
            }
            if p.gbdt_bins != 256 {
                text.push_str(&format!(" bins={}", p.gbdt_bins));
            }
            text
        }
        Family::Forest => format!("trees={} depth={} leaf={}", p.forest_trees, p.forest_max_depth, p.forest_min_leaf),
        Family::Blend => String::new(),
    }
}

/// A pick as text: `spline alpha=10`, or `blend of logistic alpha=1 (0.41) + gbdt ... (0.72)`.
fn describe_pick(pick: &select::Pick, candidates: &[Candidate]) -> String {
    match pick {
        select::Pick::Single(c) => format!("{} {}", candidates[*c].family, candidates[*c].setting),
        select::Pick::Blend { members, weights, .. } => format!(
            "blend of {}",
            members
                .iter()
                .zip(weights)
                .map(|(&m, w)| format!("{} {} ({w:.2})", candidates[m].family, candidates[m].setting))
                .collect::<Vec<_>>()
                .join(" + ")
        ),
    }
}

/// One setting's held-out report from its raw and calibrated predictions (by slot).
#[allow(clippy::too_many_arguments)]
fn family_report(
    family: Family,
    setting: String,
    plan: &Plan,
    fold_of_slot: &[usize],
    labels: &[u8],
    values: &[f64],
    raw: &[f64],
    calibrated: &[f64],
    method: calibrate::Method,
    started: Instant,
) -> FamilyReport {
    let per_fold = |scores: &[f64]| -> Vec<Evaluation> {
        (0..plan.folds.len())
            .map(|f| {
                let idx: Vec<usize> = (0..labels.len()).filter(|&s| fold_of_slot[s] == f).collect();
                let pick = |v: &[f64]| idx.iter().map(|&s| v[s]).collect::<Vec<f64>>();
                Evaluation::of(&idx.iter().map(|&s| labels[s]).collect::<Vec<_>>(), &pick(scores), &pick(values))
            })
            .collect()
    };
    let raw_folds = per_fold(raw);
    let cal_folds = per_fold(calibrated);
    let pooled_raw = Evaluation::of(labels, raw, values);
    FamilyReport {
        family,
        setting,
        roc_auc: mean_option(cal_folds.iter().map(|e| e.roc_auc)),
        log_loss: mean(cal_folds.iter().map(|e| e.log_loss)),
        brier: mean(cal_folds.iter().map(|e| e.brier)),
        pr_auc: mean_option(cal_folds.iter().map(|e| e.pr_auc)),
        ece: mean(cal_folds.iter().map(|e| e.ece)),
        top_decile_lift: mean_option(cal_folds.iter().map(|e| e.top_decile_lift)),
        raw_roc_auc: mean_option(raw_folds.iter().map(|e| e.roc_auc)),
        raw_log_loss: mean(raw_folds.iter().map(|e| e.log_loss)),
        raw_ece: mean(raw_folds.iter().map(|e| e.ece)),
        folds: cal_folds.iter().map(|e| (e.roc_auc, e.log_loss)).collect(),
        calibration: method,
        calibrated: Evaluation::of(labels, calibrated, values),
        raw_reliability: pooled_raw.reliability,
        fit_seconds: started.elapsed().as_secs_f64(),
    }
}

#[cfg(test)]
mod tests;
