//! Ranking by effect: per-renewal treatment effects learnt from a campaign with a holdout.
//!
//! A T-learner on the boosting family: one calibrated model of P(lapse) on the treatment arm,
//! one on the control arm, each with the listed action as a feature (`contact_action`); the
//! uplift of a renewal for an action is P(lapse | not contacted) - P(lapse | contacted): the
//! lapses a contact prevents. Cross-fitted on both arms: both predictions of a renewal of fold f
//! come from models fitted without fold f (folds of policies, shared by the arms), so the Qini
//! and the uplift by decile are held-out figures. The two models are
//! registered like any other (`models/uplift/vNNNN`) and named by the pointer
//! `models/uplift/UPLIFT`.

pub mod qini;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::campaign::Arm;
use crate::campaign::file::CampaignFile;
use lapse_core::dates::Day;
use lapse_core::extract::Book;
use lapse_core::features::history::outcome_known_at;
use lapse_core::io_util::{IoContext, atomic_write};
use lapse_core::table::read_frame;
use lapse_model::registry::{Registry, RegistryError};
use lapse_model::train::{Dataset, DatasetOptions, Family, Params, TrainConfig, TrainError, TrainOutcome, Validation, train};
pub use qini::{BudgetRow, DecileRow, QiniPoint, deciles, qini_coefficient, qini_curve};

/// The feature that carries the listed action.
pub const ACTION_FEATURE: &str = "contact_action";
/// Folds of the cross-fitting.
pub const FOLDS: usize = 5;

/// Why an uplift model cannot be fitted.
#[derive(Debug, thiserror::Error)]
pub enum UpliftError {
    #[error("snapshot {}: {message}", path.display())]
    Snapshot { path: PathBuf, message: String },
    #[error("{0}")]
    Data(String),
    #[error("training the {arm} model: {source}")]
    Train { arm: &'static str, source: TrainError },
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Io(#[from] IoContext),
}

impl UpliftError {
    /// Whether the caller's input (the campaign, the snapshot, the extract) is at fault.
    pub fn is_input(&self) -> bool {
        match self {
            UpliftError::Snapshot { .. } | UpliftError::Data(_) => true,
            UpliftError::Train { source, .. } => source.is_input(),
            UpliftError::Registry(_) | UpliftError::Io(_) => false,
        }
    }
}

/// A fitted T-learner with its cross-fitted uplifts.
pub struct UpliftFit {
    pub treated: TrainOutcome,
    pub control: TrainOutcome,
    /// The stratified learner fitted on every matured renewal.
    pub stratified: StratumRates,
    /// The matured campaign renewals used, with their out-of-fold uplift.
    pub rows: Vec<UpliftRow>,
    /// Campaign renewals left out, and why.
    pub not_in_snapshot: usize,
    pub pending: usize,
    pub unknown_to_extract: usize,
}

/// One matured campaign renewal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UpliftRow {
    pub policy_id: String,
    pub installment_no: u32,
    pub action: String,
    pub segment: String,
    pub arm: Arm,
    pub lapsed: bool,
    /// The model's P(lapse) when the campaign was planned (the risk ranking).
    pub probability: f64,
    pub value_at_risk: f64,
    /// P(lapse) if contacted and if not (each from its arm's model fitted without the renewal's
    /// fold).
    pub p_treated: f64,
    pub p_control: f64,
    /// Out-of-fold uplift of the T-learner: p_control - p_treated.
    pub uplift: f64,
    /// Out-of-fold uplift of the stratified learner: probability x the save rate of the
    /// renewal's action and segment measured on the other folds.
    pub stratified_uplift: f64,
}

fn fnv(text: &str) -> u64 {
    lapse_core::hash::fnv1a(0, text.bytes())
}

/// The two arms' training tables and rows, and the campaign renewals left out (not in the
/// snapshot, pending, unknown to the extract).
struct ArmFrames {
    treated: DataFrame,
    control: DataFrame,
    treated_rows: Vec<UpliftRow>,
    control_rows: Vec<UpliftRow>,
    left_out: [usize; 3],
}

/// The snapshot rows of `campaign`'s matured renewals, with the listed action, the outcome as
/// label and a fold by policy, per arm.
fn arm_frames(campaign: &CampaignFile, snapshot: &Path, book: &Book, as_of: Day, grace_days: i32) -> Result<ArmFrames, UpliftError> {
    let fail = |message: String| UpliftError::Snapshot { path: snapshot.to_path_buf(), message };
    let (df, _) = read_frame(snapshot).map_err(|e| fail(e.message))?;
    let ids = df.column("policy_id").and_then(|c| c.cast(&DataType::String)).map_err(|e| fail(e.to_string()))?;
    let numbers = df.column("installment_no").and_then(|c| c.cast(&DataType::Int64)).map_err(|e| fail(e.to_string()))?;
    let (ids, numbers) = (ids.str().map_err(|e| fail(e.to_string()))?, numbers.i64().map_err(|e| fail(e.to_string()))?);
    let mut index: HashMap<(&str, i64), usize> = HashMap::with_capacity(df.height());
    for (r, (id, n)) in ids.iter().zip(numbers.iter()).enumerate() {
        if let (Some(id), Some(n)) = (id, n) {
            index.insert((id, n), r);
        }
    }
    let policy_index: HashMap<&str, usize> = book.policies.id.iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect();
    let mut counts = [0usize; 3];
    let mut picked: [Vec<(usize, UpliftRow)>; 2] = [Vec::new(), Vec::new()];
    for row in &campaign.rows {
        let Some(&r) = index.get(&(row.policy_id.as_str(), i64::from(row.installment_no))) else {
            counts[0] += 1;
            continue;
        };
        let found = policy_index.get(row.policy_id.as_str()).and_then(|&p| {
            let inst = &book.installments;
            inst.of_policy(p).find(|&i| inst.number[i] == row.installment_no)
        });
        let Some(i) = found else {
            counts[2] += 1;
            continue;
        };
        let due = book.installments.due[i];
        // Matured once grace has ended, paid or not (as `lapse effect` counts).
        let Some(lapsed) = (due + grace_days < as_of).then(|| outcome_known_at(due, book.installments.paid[i], grace_days, as_of)).flatten() else {
            counts[1] += 1;
            continue;
        };
        let arm = usize::from(row.arm == Arm::Control);
        picked[arm].push((
            r,
            UpliftRow {
                policy_id: row.policy_id.clone(),
                installment_no: row.installment_no,
                action: row.action.clone(),
                segment: row.segment.clone(),
                arm: row.arm,
                lapsed: lapsed == 1,
                probability: row.probability,
                value_at_risk: row.value_at_risk,
                p_treated: f64::NAN,
                p_control: f64::NAN,
                uplift: f64::NAN,
                stratified_uplift: f64::NAN,
            },
        ));
    }
    let frame = |rows: &[(usize, UpliftRow)]| -> Result<DataFrame, UpliftError> {
        let take = IdxCa::from_vec("take".into(), rows.iter().map(|(r, _)| *r as IdxSize).collect());
        let mut part = df.take(&take).map_err(|e| fail(e.to_string()))?;
        let extra = [
            Column::new(ACTION_FEATURE.into(), rows.iter().map(|(_, u)| u.action.as_str()).collect::<Vec<_>>()),
            Column::new("lapsed".into(), rows.iter().map(|(_, u)| i32::from(u.lapsed)).collect::<Vec<_>>()),
            Column::new("fold".into(), rows.iter().map(|(_, u)| (fnv(&u.policy_id) % FOLDS as u64) as i64).collect::<Vec<_>>()),
        ];
        for column in extra {
            part.with_column(column).map_err(|e| fail(e.to_string()))?;
        }
        Ok(part)
    };
    let (treated, control) = (frame(&picked[0])?, frame(&picked[1])?);
    let [t, c] = picked;
    Ok(ArmFrames {
        treated,
        control,
        treated_rows: t.into_iter().map(|(_, u)| u).collect(),
        control_rows: c.into_iter().map(|(_, u)| u).collect(),
        left_out: counts,
    })
}

/// Fits the T-learner on `campaign`'s matured renewals (features from `snapshot`, the
/// campaign-date snapshot it was planned on; outcomes from `book` as of `as_of`), cross-fitted
/// over [`FOLDS`] folds of policies. `staging` holds the two arms' tables while fitting.
pub fn fit(
    campaign: &CampaignFile,
    snapshot: &Path,
    book: &Book,
    as_of: Day,
    grace_days: i32,
    params: &Params,
    staging: &Path,
) -> Result<UpliftFit, UpliftError> {
    let ArmFrames { treated: mut treated_df, control: mut control_df, mut treated_rows, mut control_rows, left_out: counts } =
        arm_frames(campaign, snapshot, book, as_of, grace_days)?;
    for (rows, arm) in [(&treated_rows, "treatment"), (&control_rows, "control")] {
        let lapses = rows.iter().filter(|r| r.lapsed).count();
        if lapses < 10 || rows.len() - lapses < 10 {
            return Err(UpliftError::Data(format!(
                "the {arm} arm has {} matured renewals with {lapses} lapses: at least 10 lapses and 10 paid renewals are needed (is the campaign readable yet?)",
                rows.len()
            )));
        }
    }
    std::fs::create_dir_all(staging).map_err(|e| IoContext::new("creating directory", staging, e))?;
    let write = |name: &str, df: &mut DataFrame| -> Result<PathBuf, UpliftError> {
        let path = staging.join(name);
        lapse_core::io_util::atomic_write_with(&path, |file| {
            ParquetWriter::new(file).finish(df).map(|_| ()).map_err(|e| std::io::Error::other(e.to_string()))
        })?;
        Ok(path)
    };
    let (treated_path, control_path) = (write("treatment.parquet", &mut treated_df)?, write("control.parquet", &mut control_df)?);
    let options = DatasetOptions { label: Some("lapsed".into()), ..DatasetOptions::default() };
    let read = |path: &Path, arm: &'static str| Dataset::read(path, &options).map_err(|e| UpliftError::Train { arm, source: TrainError::from(e) });
    let (treated_data, control_data) = (read(&treated_path, "treatment")?, read(&control_path, "control")?);
    let config = TrainConfig {
        families: vec![Family::Gbdt],
        validation: Some(Validation::Kfold),
        folds: FOLDS,
        params: params.clone(),
        keep_fold_models: true,
        ..TrainConfig::default()
    };
    let treated = train(&treated_data, &config).map_err(|source| UpliftError::Train { arm: "treatment", source })?;
    let control = train(&control_data, &config).map_err(|source| UpliftError::Train { arm: "control", source })?;

    let out_of_fold = |outcome: &TrainOutcome, n: usize| -> Result<Vec<f64>, UpliftError> {
        let mut scores = vec![f64::NAN; n];
        for (&r, &s) in outcome.held_out_rows.iter().zip(&outcome.held_out_scores) {
            scores[r] = s;
        }
        if scores.iter().any(|s| s.is_nan()) {
            return Err(UpliftError::Data("cross-fitting left a renewal without an out-of-fold prediction".into()));
        }
        Ok(scores)
    };
    let treated_oof = out_of_fold(&treated, treated_rows.len())?;
    let control_oof = out_of_fold(&control, control_rows.len())?;
    // The other arm's prediction, cross-fitted too: a renewal of fold f is scored by the other
    // arm's model fitted without fold f. Folds are by policy and a policy's renewals can sit in
    // both arms with one outcome, so the other arm's model fitted on every row would know it
    // (the leak measured in issue 21: treated lapsers' uplift +0.055, control lapsers' -0.009).
    let control_on_treated = cross_fitted(&control, &treated_data)?;
    let treated_on_control = cross_fitted(&treated, &control_data)?;
    for (i, row) in treated_rows.iter_mut().enumerate() {
        (row.p_treated, row.p_control) = (treated_oof[i], control_on_treated[i]);
        row.uplift = row.p_control - row.p_treated;
    }
    for (i, row) in control_rows.iter_mut().enumerate() {
        (row.p_treated, row.p_control) = (treated_on_control[i], control_oof[i]);
        row.uplift = row.p_control - row.p_treated;
    }
    let _ = std::fs::remove_dir_all(staging);
    let mut rows = treated_rows;
    rows.extend(control_rows);
    let folds: Vec<usize> = rows.iter().map(|r| (fnv(&r.policy_id) % FOLDS as u64) as usize).collect();
    for f in 0..FOLDS {
        let rates = StratumRates::measure(rows.iter().zip(&folds).filter(|(_, g)| **g != f).map(|(r, _)| r));
        for (row, _) in rows.iter_mut().zip(&folds).filter(|(_, g)| **g == f) {
            row.stratified_uplift = row.probability * rates.save_rate(&row.action, &row.segment);
        }
    }
    let stratified = StratumRates::measure(rows.iter());
    Ok(UpliftFit { treated, control, stratified, rows, not_in_snapshot: counts[0], pending: counts[1], unknown_to_extract: counts[2] })
}

/// `other`'s rows scored by `outcome`'s fold models, each row by the model fitted without the
/// row's fold (a fold the arm has no row of: its model on every row, which saw none of it).
fn cross_fitted(outcome: &TrainOutcome, other: &Dataset) -> Result<Vec<f64>, UpliftError> {
    let folds = other.fold.as_ref().ok_or_else(|| UpliftError::Data("the arm table has no fold column".into()))?;
    let mut scores = vec![f64::NAN; other.len()];
    let mut by_fold: std::collections::BTreeMap<i64, Vec<usize>> = std::collections::BTreeMap::new();
    for (r, &f) in folds.iter().enumerate() {
        by_fold.entry(f).or_default().push(r);
    }
    for (fold, rows) in by_fold {
        let model = outcome.fold_models.iter().find(|(f, _)| *f == fold).map_or(&outcome.model, |(_, m)| m);
        for (&r, p) in rows.iter().zip(model.predict(other, &rows).map_err(|e| UpliftError::Data(e.to_string()))?) {
            scores[r] = p;
        }
    }
    Ok(scores)
}

/// The stratified learner: save rates (1 - r_t / r_c) per action, and per action and risk band
/// (low, medium, high: where retention effects differ most, as Ascarza found), so a renewal's
/// uplift is its lapse probability times its stratum's save rate. Each action's rate is shrunk
/// toward no effect, each band's toward its action's by how much the bands truly differ beyond
/// their noise (random-effects, DerSimonian-Laird): few parameters and no per-renewal noise,
/// where a T-learner's difference of two noisy models ranks by noise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StratumRates {
    pub by_action: std::collections::BTreeMap<String, f64>,
    /// "action/risk band" -> save rate.
    pub by_stratum: std::collections::BTreeMap<String, f64>,
}

/// Prior standard deviation of an action's save rate around no effect.
const ACTION_PRIOR_SD: f64 = 0.25;
/// The smallest spread allowed between an action's bands.
const MIN_BAND_SD: f64 = 0.02;

/// A save rate and its standard error, when the arms have one.
fn measured(arms: &crate::campaign::stats::Arms) -> Option<(f64, f64)> {
    let e = arms.estimate();
    let (s, se) = (e.save_rate?, crate::campaign::stats::standard_error(e.ci_low, e.ci_high)?);
    s.is_finite().then_some((s, se))
}

/// The stratified learner's shrinkage: a rate may fall below 0 (a contact that raises lapses).
fn shrink_toward(prior: f64, prior_sd: f64, estimate: Option<(f64, f64)>) -> f64 {
    crate::campaign::stats::shrink(prior, prior_sd, estimate, (-0.5, 1.0))
}

/// The risk band of a segment name (`medium_risk_high_value` -> `medium`).
pub fn risk_band_of(segment: &str) -> &str {
    segment.split_once("_risk").map_or(segment, |(band, _)| band)
}

impl StratumRates {
    /// Measures the rates on matured renewals of both arms.
    pub fn measure<'a>(rows: impl Iterator<Item = &'a UpliftRow>) -> StratumRates {
        use crate::campaign::stats::Arms;
        use std::collections::BTreeMap;
        let empty = || Arms { treated: 0, treated_lapses: 0, control: 0, control_lapses: 0 };
        let mut actions: BTreeMap<String, Arms> = BTreeMap::new();
        let mut strata: BTreeMap<(String, String), Arms> = BTreeMap::new();
        for r in rows {
            let band = risk_band_of(&r.segment).to_string();
            for arms in [actions.entry(r.action.clone()).or_insert_with(empty), strata.entry((r.action.clone(), band)).or_insert_with(empty)] {
                match r.arm {
                    Arm::Treatment => (arms.treated, arms.treated_lapses) = (arms.treated + 1, arms.treated_lapses + usize::from(r.lapsed)),
                    Arm::Control => (arms.control, arms.control_lapses) = (arms.control + 1, arms.control_lapses + usize::from(r.lapsed)),
                }
            }
        }
        let by_action: BTreeMap<String, f64> =
            actions.iter().map(|(a, arms)| (a.clone(), shrink_toward(0.0, ACTION_PRIOR_SD, measured(arms)))).collect();
        let mut by_stratum = BTreeMap::new();
        for (action, &action_rate) in &by_action {
            let bands: Vec<(&String, Option<(f64, f64)>)> =
                strata.iter().filter(|((a, _), _)| a == action).map(|((_, b), arms)| (b, measured(arms))).collect();
            // DerSimonian-Laird: the spread of the bands' true rates beyond their noise.
            let known: Vec<(f64, f64)> = bands.iter().filter_map(|(_, m)| *m).map(|(s, se)| (s, 1.0 / (se * se))).collect();
            let tau = if known.len() >= 2 {
                let (sw, sw2): (f64, f64) = (known.iter().map(|k| k.1).sum(), known.iter().map(|k| k.1 * k.1).sum());
                let mean = known.iter().map(|k| k.0 * k.1).sum::<f64>() / sw;
                let q: f64 = known.iter().map(|k| k.1 * (k.0 - mean).powi(2)).sum();
                ((q - (known.len() - 1) as f64) / (sw - sw2 / sw)).max(0.0).sqrt()
            } else {
                0.0
            };
            for (band, m) in bands {
                by_stratum.insert(format!("{action}/{band}"), shrink_toward(action_rate, tau.max(MIN_BAND_SD), m));
            }
        }
        StratumRates { by_action, by_stratum }
    }

    /// `economics` with these save rates (clamped to [0, 1]): each action's rate, and every
    /// segment's from its risk band. A work list ranked with it (`lapse serve --economics`,
    /// `lapse queue --economics`) ranks by this learner's uplift.
    pub fn economics(&self, economics: &crate::economics::Economics) -> crate::economics::Economics {
        let mut out = economics.clone();
        for action in &mut out.actions {
            if let Some(&rate) = self.by_action.get(&action.name) {
                action.save_rate = rate.clamp(0.0, 1.0);
            }
            for segment in crate::economics::segments() {
                if let Some(&rate) = self.by_stratum.get(&format!("{}/{}", action.name, risk_band_of(segment))) {
                    action.segment_save_rates.insert(segment.to_string(), rate.clamp(0.0, 1.0));
                }
            }
        }
        out
    }

    /// The save rate of an action for a renewal of `segment` (its risk band's, else its
    /// action's, else none).
    pub fn save_rate(&self, action: &str, segment: &str) -> f64 {
        self.by_stratum.get(&format!("{action}/{}", risk_band_of(segment))).or_else(|| self.by_action.get(action)).copied().unwrap_or(0.0)
    }
}

/// The registered uplift learner (`models/uplift/UPLIFT`): the stratified save rates, or the
/// T-learner's two models, whichever ranked better on held-out renewals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpliftPointer {
    /// `stratified` or `t_learner`.
    pub learner: String,
    /// The stratified learner's rates (always stored: the fallback and the readable summary).
    pub rates: StratumRates,
    /// Version (in `models/uplift`) of the model of P(lapse) when contacted.
    pub treated: String,
    /// Version of the model of P(lapse) when not contacted.
    pub control: String,
    /// The campaign it was learnt from.
    pub campaign: String,
    pub created_at: String,
    /// Held-out Qini coefficients when registered.
    pub qini_uplift: f64,
    pub qini_risk: f64,
}

/// Writes a fit's per-renewal held-out uplifts as CSV (atomically).
pub fn write_rows(path: &Path, fit: &UpliftFit) -> Result<(), UpliftError> {
    use std::fmt::Write as _;
    let mut text =
        String::from("policy_id,installment_no,action,segment,arm,lapsed,probability,p_treated,p_control,t_learner_uplift,stratified_uplift\n");
    for r in &fit.rows {
        let _ = writeln!(
            text,
            "{},{},{},{},{},{},{},{},{},{},{}",
            r.policy_id,
            r.installment_no,
            r.action,
            r.segment,
            r.arm.as_str(),
            u8::from(r.lapsed),
            r.probability,
            r.p_treated,
            r.p_control,
            r.uplift,
            r.stratified_uplift
        );
    }
    atomic_write(path, |w| w.write_all(text.as_bytes()))?;
    Ok(())
}

/// The uplift registry under a models directory.
pub fn uplift_registry(models: &Path) -> Registry {
    Registry::new(models.join("uplift"))
}

const POINTER: &str = "UPLIFT";

/// Registers both models and points `UPLIFT` at them (atomically).
pub fn register(models: &Path, fit: &UpliftFit, pointer: UpliftPointer, source: &str, created_at: &str) -> Result<UpliftPointer, UpliftError> {
    let registry = uplift_registry(models);
    let treated =
        registry.register_described(&fit.treated.model, &fit.treated.report, None, None, &format!("{source} (treatment arm)"), "-", created_at)?;
    let control =
        registry.register_described(&fit.control.model, &fit.control.report, None, None, &format!("{source} (control arm)"), "-", created_at)?;
    let pointer = UpliftPointer { treated, control, ..pointer };
    let bytes = serde_json::to_vec_pretty(&pointer).expect("pointer serializes");
    atomic_write(&registry.dir().join(POINTER), |w| w.write_all(&bytes))?;
    Ok(pointer)
}

/// The registered uplift pair, if any.
pub fn registered(models: &Path) -> Result<Option<UpliftPointer>, UpliftError> {
    let path = uplift_registry(models).dir().join(POINTER);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| UpliftError::Data(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(IoContext::new("reading", &path, e).into()),
    }
}

/// The expected gain of every (renewal, action) of `rows` (row-major) by the registered uplift
/// learner: uplift x value - cost, the uplift being the lapses a contact prevents (stratified:
/// probability x its action and segment's save rate; T-learner: P(lapse | not contacted) -
/// P(lapse | contacted) from the two models on the snapshot's features). `frame` is the
/// snapshot `rows` were scored from.
pub fn uplift_gains(
    models: &Path,
    pointer: &UpliftPointer,
    frame: &DataFrame,
    rows: &lapse_model::scoring::ScoredRows,
    economics: &crate::economics::Economics,
) -> Result<Vec<f64>, UpliftError> {
    let k = economics.actions.len();
    let n = rows.len();
    let mut uplift = vec![0.0; n * k];
    match pointer.learner.as_str() {
        "t_learner" => {
            let registry = uplift_registry(models);
            let (treated, control) = (registry.load(&pointer.treated)?, registry.load(&pointer.control)?);
            for (a, action) in economics.actions.iter().enumerate() {
                let mut with_action = frame.clone();
                with_action
                    .with_column(Column::new(ACTION_FEATURE.into(), vec![action.name.as_str(); n]))
                    .map_err(|e| UpliftError::Data(e.to_string()))?;
                let predict = |model: &lapse_model::artifact::LapseModel| -> Result<Vec<f64>, UpliftError> {
                    let features = model
                        .schema
                        .columns
                        .iter()
                        .map(|c| {
                            lapse_core::table::column_of_frame(&with_action, &c.name)
                                .ok_or_else(|| UpliftError::Data(format!("the snapshot lacks {} (needed by the uplift model)", c.name)))
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    let design = model.design(&features, &(0..n).collect::<Vec<_>>()).map_err(|e| UpliftError::Data(e.to_string()))?;
                    Ok(model.predict_design(&design))
                };
                let (p_t, p_c) = (predict(&treated.model)?, predict(&control.model)?);
                for r in 0..n {
                    uplift[r * k + a] = p_c[r] - p_t[r];
                }
            }
        }
        _ => {
            for (r, x) in rows.renewals.iter().enumerate() {
                let segment = crate::economics::segment_name(economics.risk_band(x.probability), economics.value_band(x.value));
                for (a, action) in economics.actions.iter().enumerate() {
                    uplift[r * k + a] = x.probability * pointer.rates.save_rate(&action.name, segment);
                }
            }
        }
    }
    Ok(rows
        .renewals
        .iter()
        .enumerate()
        .flat_map(|(r, x)| economics.actions.iter().enumerate().map(move |(a, action)| (r, a, x.value, action.cost)))
        .map(|(r, a, value, cost)| uplift[r * k + a] * value - cost)
        .collect())
}

/// The work-list ranking by the uplift learner registered in `models` ([`uplift_gains`] on
/// the snapshot `frame` that `rows` were scored from), named `uplift:<learner>@<campaign>`;
/// None when no learner is registered.
pub fn ranking(
    models: &Path,
    frame: &DataFrame,
    rows: &lapse_model::scoring::ScoredRows,
    economics: &crate::economics::Economics,
) -> Result<Option<crate::worklist::CustomerOrder>, UpliftError> {
    let Some(pointer) = registered(models)? else { return Ok(None) };
    let gains = uplift_gains(models, &pointer, frame, rows, economics)?;
    let name = format!("uplift:{}@{}", pointer.learner, pointer.campaign);
    Ok(Some(crate::worklist::CustomerOrder::new(rows, economics, crate::worklist::Benefits::Gains { name, gains: &gains })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// The leak of issue 21: a policy's renewals can sit in both arms with one outcome, so the
    /// other arm's model fitted on every row knows the outcome of a renewal it never saw. Here
    /// outcomes are pure noise drawn per policy and each policy has a renewal in each arm: any
    /// ranking power on the other arm is the leak. Cross-fitted, there is none.
    #[test]
    fn the_other_arms_prediction_is_cross_fitted_by_policy_fold() {
        let dir = tempfile::tempdir().unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(21);
        let policies = 1500;
        let lapsed: Vec<u8> = (0..policies).map(|_| u8::from(rng.random::<f64>() < 0.3)).collect();
        let write = |name: &str, installment: u32| {
            let mut text = String::from("policy_id,installment_no,policy_code,lapsed,fold\n");
            for (p, y) in lapsed.iter().enumerate() {
                let id = format!("P{p:05}");
                text.push_str(&format!("{id},{installment},{p},{y},{}\n", fnv(&id) % FOLDS as u64));
            }
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            Dataset::read(&path, &DatasetOptions { label: Some("lapsed".into()), ..DatasetOptions::default() }).unwrap()
        };
        let (treated, control) = (write("treated.csv", 2), write("control.csv", 3));
        let params = Params { gbdt_rounds: 300, gbdt_max_depth: 8, gbdt_learning_rate: 0.3, gbdt_min_leaf_weight: 0.5, ..Params::default() };
        let config = TrainConfig {
            families: vec![Family::Gbdt],
            validation: Some(Validation::Kfold),
            folds: FOLDS,
            params,
            keep_fold_models: true,
            ..TrainConfig::default()
        };
        let fit = train(&treated, &config).unwrap();
        assert_eq!(fit.fold_models.len(), FOLDS);
        let all: Vec<usize> = (0..control.len()).collect();
        let whole = fit.model.predict(&control, &all).unwrap();
        let crossed = cross_fitted(&fit, &control).unwrap();
        let auc = |scores: &[f64]| lapse_model::metrics::roc_auc(&control.labels, scores).unwrap();
        let (leaky, honest) = (auc(&whole), auc(&crossed));
        assert!(leaky > 0.6, "the model fitted on every treated row knows the policies' outcomes: AUC {leaky}");
        assert!((honest - 0.5).abs() < 0.06, "cross-fitted, noise ranks like noise: AUC {honest}");
    }
}
