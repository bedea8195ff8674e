//! Scored renewals: a snapshot frame run through a model once, with everything a request needs
//! (probability, value, best action and gain, top reasons and their sentences, filter codes)
//! kept in one compact record per renewal, plus the lookups the API uses (by policy, and the work list ordered by gain).
//!
//! The same [`ScoredRows::score`] scores the loaded snapshot at load time and the raw records
//! of an inline request, so both give the same answer for the same renewal.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use polars::prelude::*;
use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::economics::{Economics, NO_ACTION};
use super::reasons::{sentence, top_positive, ReasonValue};
use crate::dates::Day;
use crate::model::LapseModel;
use crate::registry::{LoadedModel, Registry};
use crate::train::dataset::{Categories, FeatureColumn, FeatureKind, FeatureValues};

/// Reasons kept per renewal.
pub const REASONS: usize = 3;
/// "No value" marker for interned columns and reason slots.
pub const NONE: u32 = u32::MAX;
const NO_FEATURE: u16 = u16::MAX;
/// Rows scored per work unit: bounds the memory of designs and SHAP matrices.
const CHUNK_ROWS: usize = 32_768;

/// Strings stored once (categories, agent ids), referred to by a `u32` code.
#[derive(Debug, Default)]
pub struct Interner {
    codes: FxHashMap<Box<str>, u32>,
    names: Vec<Box<str>>,
}

impl Interner {
    pub fn code(&mut self, text: &str) -> u32 {
        if let Some(&code) = self.codes.get(text) {
            return code;
        }
        let code = self.names.len() as u32;
        self.names.push(text.into());
        self.codes.insert(text.into(), code);
        code
    }

    pub fn get(&self, code: u32) -> Option<&str> {
        self.names.get(code as usize).map(|s| &**s)
    }

    /// The code of `text` if it was ever interned.
    pub fn find(&self, text: &str) -> Option<u32> {
        self.codes.get(text).copied()
    }
}

/// One reason slot: a feature (index into the model schema), its contribution to the log-odds
/// and its value (a number, or an interned category code as f64; NaN when missing).
#[derive(Debug, Clone, Copy)]
pub struct Reason {
    pub feature: u16,
    /// Length of its sentence in [`ScoredRows::reason_texts`] (the row's sentences follow each
    /// other from [`Renewal::text_start`]).
    pub text_len: u16,
    pub contribution: f32,
    pub value: f64,
}

const EMPTY_REASON: Reason = Reason { feature: NO_FEATURE, text_len: 0, contribution: 0.0, value: f64::NAN };

/// Everything served about one renewal but its policy id, in one record: a lookup by key
/// touches two cache lines instead of one per column (random keys into a million renewals made
/// a column layout miss the cache a dozen times per renewal).
#[derive(Debug, Clone, Copy)]
pub struct Renewal {
    pub probability: f64,
    pub value: f64,
    pub gain: f64,
    pub due: Day,
    pub as_of: Day,
    pub installment_no: u32,
    /// Interned codes ([`NONE`] when missing).
    pub agent: u32,
    pub channel: u32,
    pub region: u32,
    pub product_code: u32,
    pub product_type: u32,
    pub action: u8,
    pub reasons: [Reason; REASONS],
    /// Where this row's reason sentences start in [`ScoredRows::reason_texts`].
    pub text_start: u32,
}

/// Scored renewals.
#[derive(Debug, Default)]
pub struct ScoredRows {
    pub policy_id: Vec<Box<str>>,
    pub renewals: Vec<Renewal>,
    /// Every reason sentence, written once when scored (requests only slice it).
    pub reason_texts: String,
    pub strings: Interner,
    /// The model schema's feature names (reason slots point into it), and whether the model
    /// could explain itself (the forest cannot).
    pub feature_names: Arc<[String]>,
    /// Per schema feature: whether it is a category (its reason values are interned codes).
    pub categorical: Vec<bool>,
    pub explained: bool,
}

/// Why a snapshot cannot be scored.
#[derive(Debug, thiserror::Error)]
pub enum ScoreError {
    #[error("{0}")]
    Frame(String),
}

fn frame_err(e: impl std::fmt::Display) -> ScoreError {
    ScoreError::Frame(e.to_string())
}

/// A frame column as text values (None for null); an error naming the column if absent.
fn text_column(df: &DataFrame, name: &str) -> Result<Vec<Option<String>>, ScoreError> {
    let column = df.column(name).map_err(|_| ScoreError::Frame(format!("no column {name:?} (build the snapshot with `lapse features`)")))?;
    let cast = column.cast(&DataType::String).map_err(frame_err)?;
    Ok(cast.str().map_err(frame_err)?.iter().map(|v| v.map(str::to_string)).collect())
}

/// A text column of the snapshot as a dictionary-encoded feature column.
fn category_column(df: &DataFrame, name: &str) -> Result<Categories, ScoreError> {
    let column = df.column(name).map_err(|_| ScoreError::Frame(format!("no column {name:?} (build the snapshot with `lapse features`)")))?;
    let cast = column.cast(&DataType::String).map_err(frame_err)?;
    Ok(Categories::from_values(cast.str().map_err(frame_err)?.iter()))
}

fn day_column(df: &DataFrame, name: &str) -> Result<Vec<Day>, ScoreError> {
    let column = df.column(name).map_err(|_| ScoreError::Frame(format!("no column {name:?} (build the snapshot with `lapse features`)")))?;
    let cast = match column.dtype() {
        DataType::Date => column.clone(),
        _ => column.cast(&DataType::Date).map_err(frame_err)?,
    };
    cast.date()
        .map_err(frame_err)?
        .physical()
        .iter()
        .enumerate()
        .map(|(row, d)| d.ok_or_else(|| ScoreError::Frame(format!("column {name:?}, row {}: missing or unparseable date", row + 1))))
        .collect()
}

fn number_column(df: &DataFrame, name: &str) -> Result<Vec<f64>, ScoreError> {
    let column = df.column(name).map_err(|_| ScoreError::Frame(format!("no column {name:?} (build the snapshot with `lapse features`)")))?;
    let cast = column.cast(&DataType::Float64).map_err(|e| ScoreError::Frame(format!("column {name:?} is not numeric: {e}")))?;
    Ok(cast.f64().map_err(frame_err)?.iter().map(|v| v.unwrap_or(f64::NAN)).collect())
}

/// The model's feature columns read from a frame, typed as the model's schema says.
fn feature_columns(model: &LapseModel, df: &DataFrame) -> Result<Vec<FeatureColumn>, ScoreError> {
    model
        .schema
        .columns
        .iter()
        .map(|c| {
            let values = match c.kind {
                FeatureKind::Numeric => FeatureValues::Numeric(number_column(df, &c.name)?),
                FeatureKind::Categorical => FeatureValues::Categorical(category_column(df, &c.name)?),
            };
            Ok(FeatureColumn { name: c.name.clone(), values })
        })
        .collect()
}

/// A reason slot before interning: (feature, contribution, number value, category text).
type RawReason = (u16, f32, f64, Option<String>);

/// What scoring one chunk of rows gives before interning.
struct ChunkScores {
    probability: Vec<f64>,
    /// Per row: (feature, contribution, number value or category text).
    reasons: Vec<[RawReason; REASONS]>,
}

fn score_chunk(model: &LapseModel, df: &DataFrame) -> Result<ChunkScores, ScoreError> {
    let features = feature_columns(model, df)?;
    let rows: Vec<usize> = (0..df.height()).collect();
    let design = model.design(&features, &rows).map_err(ScoreError::Frame)?;
    let probability = model.predict_design(&design);
    let width = model.schema.columns.len();
    let empty = || std::array::from_fn(|_| (NO_FEATURE, 0.0f32, f64::NAN, None));
    let reasons = match model.contributions(&design) {
        Some(contributions) => (0..df.height())
            .map(|r| {
                let row = &contributions[r * width..(r + 1) * width];
                let mut slots: [RawReason; REASONS] = empty();
                for (slot, f) in slots.iter_mut().zip(top_positive(row, REASONS)) {
                    let (number, text) = match &features[f].values {
                        FeatureValues::Numeric(x) => (x[r], None),
                        FeatureValues::Categorical(x) => (f64::NAN, x.get(r).map(str::to_string)),
                    };
                    *slot = (f as u16, row[f] as f32, number, text);
                }
                slots
            })
            .collect(),
        None => (0..df.height()).map(|_| empty()).collect(),
    };
    Ok(ChunkScores { probability, reasons })
}

impl ScoredRows {
    /// Scores every row of a feature-builder frame (one row per renewal) with `model`.
    pub fn score(model: &LapseModel, economics: &Economics, df: &DataFrame) -> Result<ScoredRows, ScoreError> {
        if model.schema.columns.len() >= usize::from(NO_FEATURE) {
            return Err(ScoreError::Frame("the model has too many features to explain".into()));
        }
        let height = df.height();
        let offsets: Vec<usize> = (0..height).step_by(CHUNK_ROWS).collect();
        let chunks: Vec<ChunkScores> = offsets
            .par_iter()
            .map(|&offset| score_chunk(model, &df.slice(offset as i64, CHUNK_ROWS.min(height - offset))))
            .collect::<Result<_, _>>()?;

        let mut out = ScoredRows {
            feature_names: model.schema.columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>().into(),
            categorical: model.schema.columns.iter().map(|c| c.kind == FeatureKind::Categorical).collect(),
            explained: !matches!(model.estimator, crate::train::estimators::Estimator::Forest(_)),
            ..ScoredRows::default()
        };
        out.policy_id = text_column(df, "policy_id")?
            .into_iter()
            .enumerate()
            .map(|(row, id)| id.map(String::into_boxed_str).ok_or_else(|| ScoreError::Frame(format!("column \"policy_id\", row {}: missing", row + 1))))
            .collect::<Result<_, _>>()?;
        let installment_no: Vec<u32> = number_column(df, "installment_no")?
            .into_iter()
            .enumerate()
            .map(|(row, n)| {
                if n.is_finite() && n >= 1.0 && n.fract() == 0.0 && n <= f64::from(u32::MAX - 1) {
                    Ok(n as u32)
                } else {
                    Err(ScoreError::Frame(format!("column \"installment_no\", row {}: {n} is not a whole number >= 1", row + 1)))
                }
            })
            .collect::<Result<_, _>>()?;
        let due = day_column(df, "due_date")?;
        let as_of = day_column(df, "as_of")?;
        let annualized = number_column(df, "annualized_premium")?;
        let remaining = number_column(df, "remaining_payment_years")?;
        let mut strings = Interner::default();
        let mut intern_column = |name: &str| -> Result<Vec<u32>, ScoreError> {
            match df.column(name) {
                Ok(_) => Ok(text_column(df, name)?.iter().map(|v| v.as_deref().map_or(NONE, |s| strings.code(s))).collect()),
                Err(_) => Ok(vec![NONE; height]),
            }
        };
        let agent = intern_column("agent_id")?;
        let channel = intern_column("channel")?;
        let region = intern_column("region")?;
        let product_code = intern_column("product_code")?;
        let product_type = intern_column("product_type")?;

        out.renewals.reserve(height);
        let mut r = 0;
        for chunk in chunks {
            for (probability, row) in chunk.probability.into_iter().zip(chunk.reasons) {
                let mut reasons = [EMPTY_REASON; REASONS];
                for (slot, (feature, contribution, number, text)) in reasons.iter_mut().zip(row) {
                    let value = match text {
                        Some(text) => f64::from(strings.code(&text)),
                        None => number,
                    };
                    *slot = Reason { feature, text_len: 0, contribution, value };
                }
                let value = economics.value(annualized[r], remaining[r]);
                let (action, gain) = economics.best_action(probability, value);
                out.renewals.push(Renewal {
                    probability,
                    value,
                    gain,
                    due: due[r],
                    as_of: as_of[r],
                    installment_no: installment_no[r],
                    agent: agent[r],
                    channel: channel[r],
                    region: region[r],
                    product_code: product_code[r],
                    product_type: product_type[r],
                    action,
                    reasons,
                    text_start: 0,
                });
                r += 1;
            }
        }
        out.strings = strings;
        // The sentences agents read, rendered once.
        let mut texts = String::new();
        for r in 0..out.renewals.len() {
            let start = u32::try_from(texts.len()).map_err(|_| ScoreError::Frame("more than 4 GiB of reason sentences".into()))?;
            let mut lengths = [0u16; REASONS];
            for (k, (name, value, _)) in out.reason_values(r).enumerate() {
                let mut text = sentence(name, value);
                // A sentence is a line of text; cut (at a character boundary) the absurd case.
                while text.len() > usize::from(u16::MAX) {
                    text.pop();
                }
                lengths[k] = text.len() as u16;
                texts.push_str(&text);
            }
            let row = &mut out.renewals[r];
            row.text_start = start;
            for (slot, len) in row.reasons.iter_mut().filter(|s| s.feature != NO_FEATURE).zip(lengths) {
                slot.text_len = len;
            }
        }
        out.reason_texts = texts;
        Ok(out)
    }

    pub fn len(&self) -> usize {
        self.policy_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.policy_id.is_empty()
    }

    /// The reasons of row `r` that are set: (feature name, value, contribution, sentence).
    pub fn reasons_of(&self, r: usize) -> impl Iterator<Item = (&str, ReasonValue<'_>, f32, &str)> {
        let mut at = self.renewals[r].text_start as usize;
        self.reason_values(r).zip(self.renewals[r].reasons.iter().filter(|s| s.feature != NO_FEATURE)).map(move |((name, value, contribution), slot)| {
            let text = &self.reason_texts[at..at + usize::from(slot.text_len)];
            at += usize::from(slot.text_len);
            (name, value, contribution, text)
        })
    }

    /// The reasons of row `r` that are set: (feature name, value, contribution).
    fn reason_values(&self, r: usize) -> impl Iterator<Item = (&str, ReasonValue<'_>, f32)> {
        self.renewals[r].reasons.iter().filter(|s| s.feature != NO_FEATURE).map(move |s| {
            let name = self.feature_names[usize::from(s.feature)].as_str();
            let value = if s.value.is_nan() {
                ReasonValue::Missing
            } else {
                match self.categorical[usize::from(s.feature)] {
                    true => self.strings.get(s.value as u32).map_or(ReasonValue::Missing, ReasonValue::Category),
                    false => ReasonValue::Number(s.value),
                }
            };
            (name, value, s.contribution)
        })
    }

    /// The interned text of a code.
    pub fn text(&self, code: u32) -> Option<&str> {
        if code == NONE { None } else { self.strings.get(code) }
    }

    /// Whether the recommended action of row `r` is a real action.
    pub fn has_action(&self, r: usize) -> bool {
        self.renewals[r].action != NO_ACTION
    }
}

/// The served state: a champion model and the scored snapshot, swapped whole on reload.
pub struct Scorebook {
    pub version: String,
    pub model: LoadedModel,
    pub rows: ScoredRows,
    /// The snapshot file and what it was built with.
    pub snapshot_path: PathBuf,
    pub as_of: Day,
    pub horizon_days: i32,
    pub grace_days: i32,
    /// policy_id -> first row; `next_of_policy[r]` chains the policy's other rows.
    first_of_policy: FxHashMap<Box<str>, u32>,
    next_of_policy: Vec<u32>,
    /// All rows by expected gain of the best action, largest first (ties: probability, then
    /// policy id and installment, so the order is total and stable across reloads).
    pub queue_order: Vec<u32>,
    pub loaded_at: String,
    pub load_seconds: f64,
    /// The snapshot's drift against the model's training reference (features and score);
    /// None when the model was registered without a reference.
    pub drift: Option<crate::drift::DriftReport>,
}

/// The drift of a snapshot frame (and of the scores given to it) against the reference stored
/// with `version`, one column at a time; None without a reference (logged when unreadable).
fn snapshot_drift(models: &Path, version: &str, df: &DataFrame, rows: &ScoredRows) -> Option<crate::drift::DriftReport> {
    use crate::drift::{column_of_frame, Thresholds, SCORE};
    let reference = match Registry::new(models).reference(version) {
        Ok(reference) => reference?,
        Err(e) => {
            tracing::warn!(%version, error = %e, "cannot read the drift reference; no drift report");
            return None;
        }
    };
    let report = reference.compare_with(
        |name| {
            if name == SCORE {
                let scores = rows.renewals.iter().map(|r| r.probability).collect();
                Some(FeatureColumn { name: SCORE.into(), values: FeatureValues::Numeric(scores) })
            } else {
                column_of_frame(df, name)
            }
        },
        Thresholds::default(),
    );
    if !report.flagged.is_empty() {
        tracing::warn!(%version, flagged = ?report.flagged, "the snapshot has drifted from the model's training data");
    }
    Some(report)
}

/// Why the champion and snapshot could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("model registry: {0}")]
    Registry(#[from] crate::registry::RegistryError),
    #[error("snapshot {}: {message}", path.display())]
    Snapshot { path: PathBuf, message: String },
}

impl Scorebook {
    /// Loads the champion of `models` and scores the snapshot at `snapshot` with it.
    pub fn load(models: &Path, snapshot: &Path, economics: &Economics) -> Result<Scorebook, LoadError> {
        let started = std::time::Instant::now();
        let model = Registry::new(models).load_champion()?;
        let fail = |message: String| LoadError::Snapshot { path: snapshot.to_path_buf(), message };
        let (df, metadata) = crate::train::dataset::read_frame(snapshot).map_err(|e| fail(e.to_string()))?;
        let meta = |key: &str| metadata.iter().find(|(k, _)| k == key).and_then(|(_, v)| v.parse::<i32>().ok());
        let as_of = day_column(&df, "as_of").map_err(|e| fail(e.to_string()))?;
        let first = as_of.first().copied();
        if as_of.iter().any(|&d| Some(d) != first) {
            return Err(fail("holds more than one snapshot date; serve one snapshot (lapse features --as-of T)".into()));
        }
        let as_of = first.unwrap_or_else(crate::dates::today_utc);
        let rows = ScoredRows::score(&model.model, economics, &df).map_err(|e| fail(e.to_string()))?;
        let drift = snapshot_drift(models, &model.version, &df, &rows);
        drop(df);
        let book = Scorebook::index(model, rows, snapshot.to_path_buf(), as_of, meta("lapse.horizon_days").unwrap_or(30), meta("lapse.grace_days").unwrap_or(60));
        Ok(Scorebook { load_seconds: started.elapsed().as_secs_f64(), drift, ..book })
    }

    fn index(model: LoadedModel, rows: ScoredRows, snapshot_path: PathBuf, as_of: Day, horizon_days: i32, grace_days: i32) -> Scorebook {
        let n = rows.len();
        let mut first_of_policy: FxHashMap<Box<str>, u32> = FxHashMap::with_capacity_and_hasher(n, Default::default());
        let mut next_of_policy = vec![NONE; n];
        // Walk backwards so each chain runs in row order.
        for r in (0..n).rev() {
            if let Some(previous) = first_of_policy.insert(rows.policy_id[r].clone(), r as u32) {
                next_of_policy[r] = previous;
            }
        }
        let mut queue_order: Vec<u32> = (0..n as u32).collect();
        queue_order.par_sort_unstable_by(|&a, &b| {
            let (a, b) = (a as usize, b as usize);
            let (x, y) = (&rows.renewals[a], &rows.renewals[b]);
            y.gain
                .total_cmp(&x.gain)
                .then(y.probability.total_cmp(&x.probability))
                .then(rows.policy_id[a].cmp(&rows.policy_id[b]))
                .then(x.installment_no.cmp(&y.installment_no))
        });
        Scorebook {
            version: model.version.clone(),
            model,
            rows,
            snapshot_path,
            as_of,
            horizon_days,
            grace_days,
            first_of_policy,
            next_of_policy,
            queue_order,
            loaded_at: crate::dates::now_utc_rfc3339(),
            load_seconds: 0.0,
            drift: None,
        }
    }

    /// The rows of `policy_id` (all its renewals at risk, or the one with `installment_no`).
    pub fn lookup(&self, policy_id: &str, installment_no: Option<u32>) -> impl Iterator<Item = usize> + '_ {
        let mut next = self.first_of_policy.get(policy_id).copied().unwrap_or(NONE);
        std::iter::from_fn(move || {
            while next != NONE {
                let r = next as usize;
                next = self.next_of_policy[r];
                if installment_no.is_none_or(|n| self.rows.renewals[r].installment_no == n) {
                    return Some(r);
                }
            }
            None
        })
    }
}
