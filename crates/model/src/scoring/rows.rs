//! Scored renewals: renewals run through a model once, with everything a request needs
//! (probability, value, best action and gain, top reasons and their sentences, filter codes)
//! kept in one compact record per renewal.
//!
//! The same [`ScoredRows::score`] scores a loaded snapshot file ([`super::FrameSource`]) and
//! the typed snapshot rows built from an inline request's records ([`super::SnapshotSource`]),
//! so both give the same answer for the same renewal.

use std::ops::Range;
use std::sync::Arc;

use rayon::prelude::*;

use super::reasons::{ReasonValue, sentence, top_positive};
use crate::artifact::LapseModel;
use crate::estimators::Estimator;
use lapse_core::categories::{Categories, Dictionary};
use lapse_core::dates::Day;
use lapse_core::table::{FeatureColumn, FeatureKind, FeatureValues};

/// What a renewal is worth and the best action for it: the value at risk from its premium and
/// remaining payment years, and the action of largest expected gain (an index into the
/// actions, or [`NO_ACTION`]) with that gain. The retention crate's economics implements it;
/// scoring only asks.
pub trait Valuation: Sync {
    /// The value at risk of a renewal.
    fn value(&self, annualized_premium: f64, remaining_payment_years: f64) -> f64;
    /// The best action for a renewal of lapse probability `probability` and value `value`, and
    /// its expected gain; [`NO_ACTION`] (gain 0) when none pays.
    fn best_action(&self, probability: f64, value: f64) -> (u8, f64);
}

/// The action of a renewal for which no action pays (and of a renewal not assigned one).
pub const NO_ACTION: u8 = u8::MAX;

/// Reasons kept per renewal.
pub const REASONS: usize = 3;
/// "No value" marker for interned columns and reason slots.
pub const NONE: u32 = u32::MAX;
const NO_FEATURE: u16 = u16::MAX;
/// Rows scored per work unit: bounds the memory of designs and SHAP matrices.
const CHUNK_ROWS: usize = 32_768;

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
    /// The policyholder's interned id ([`NONE`] when the snapshot has none).
    pub customer: u32,
    /// No servicing agent in service at the snapshot date.
    pub orphan: bool,
    pub action: u8,
    /// The customer's last change of address or phone before the snapshot date
    /// ([`NO_CONTACT_CHANGE`] when none): lifts a wrong number recorded before it.
    pub contact_changed: Day,
    pub reasons: [Reason; REASONS],
    /// Where this row's reason sentences start in [`ScoredRows::reason_texts`].
    pub text_start: u32,
}

/// [`Renewal::contact_changed`] when the customer's contact details never changed.
pub const NO_CONTACT_CHANGE: Day = Day::MIN;

/// Scored renewals.
#[derive(Debug, Default)]
pub struct ScoredRows {
    pub policy_id: Vec<Box<str>>,
    pub renewals: Vec<Renewal>,
    /// Every reason sentence, written once when scored (requests only slice it).
    pub reason_texts: String,
    pub strings: Dictionary,
    /// The model schema's feature names (reason slots point into it), and whether the model
    /// could explain itself (the forest cannot).
    pub feature_names: Arc<[String]>,
    /// Per schema feature: whether it is a category (its reason values are interned codes).
    pub categorical: Vec<bool>,
    pub explained: bool,
}

/// Why renewals cannot be scored.
#[derive(Debug, thiserror::Error)]
pub enum ScoreError {
    /// The input lacks a column or has a bad value (named in the message).
    #[error("{0}")]
    Input(String),
    /// The model cannot score these features.
    #[error("{0}")]
    Model(String),
}

/// What identifies and values each renewal, besides the model's features: keys, value fields
/// and the fields the work list filters on.
#[derive(Debug, Default)]
pub struct RenewalKeys {
    pub policy_id: Vec<Box<str>>,
    pub installment_no: Vec<u32>,
    pub due: Vec<Day>,
    pub as_of: Vec<Day>,
    pub annualized_premium: Vec<f64>,
    pub remaining_payment_years: Vec<f64>,
    pub agent: Categories,
    pub channel: Categories,
    pub region: Categories,
    pub product_code: Categories,
    pub product_type: Categories,
    /// The policyholder (missing in a snapshot built before customers were keyed).
    pub customer: Categories,
    /// The servicing agent has left before T, or there is none (an orphan policy, 孤儿单).
    pub orphan: Vec<bool>,
    /// The customer's last change of address or phone before T (feature
    /// `days_since_contact_change`; none in a snapshot built before it existed).
    pub contact_changed: Vec<Option<Day>>,
}

impl RenewalKeys {
    pub fn len(&self) -> usize {
        self.policy_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.policy_id.is_empty()
    }
}

/// Where the model's feature columns come from, a range of rows at a time (so a million-row
/// snapshot never has every design and SHAP matrix in memory at once).
pub trait FeatureSource: Sync {
    /// A feature as numbers (NaN where missing) for `rows`.
    fn numbers(&self, name: &str, rows: Range<usize>) -> Result<Vec<f64>, ScoreError>;

    /// A feature as categories for `rows`.
    fn categories(&self, name: &str, rows: Range<usize>) -> Result<Categories, ScoreError>;

    /// The model's feature columns for `rows`, in schema order, typed as the schema says.
    fn features(&self, model: &LapseModel, rows: Range<usize>) -> Result<Vec<FeatureColumn>, ScoreError> {
        model
            .schema
            .columns
            .iter()
            .map(|c| {
                let values = match c.kind {
                    FeatureKind::Numeric => FeatureValues::Numeric(self.numbers(&c.name, rows.clone())?),
                    FeatureKind::Categorical => FeatureValues::Categorical(self.categories(&c.name, rows.clone())?),
                };
                Ok(FeatureColumn { name: c.name.clone(), values })
            })
            .collect()
    }
}

/// A reason slot before interning: (feature, contribution, number value, category text).
type RawReason = (u16, f32, f64, Option<String>);

/// What scoring one chunk of rows gives before interning.
struct ChunkScores {
    probability: Vec<f64>,
    reasons: Vec<[RawReason; REASONS]>,
}

fn score_chunk(model: &LapseModel, source: &impl FeatureSource, rows: Range<usize>, explain: bool) -> Result<ChunkScores, ScoreError> {
    let height = rows.len();
    let features = source.features(model, rows)?;
    let all: Vec<usize> = (0..height).collect();
    let design = model.design(&features, &all).map_err(|e| ScoreError::Model(e.to_string()))?;
    let probability = model.predict_design(&design);
    let width = model.schema.columns.len();
    let empty = || std::array::from_fn(|_| (NO_FEATURE, 0.0f32, f64::NAN, None));
    let contributions = if explain { model.contributions(&design) } else { None };
    let reasons = match contributions {
        Some(contributions) => (0..height)
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
        None => (0..height).map(|_| empty()).collect(),
    };
    Ok(ChunkScores { probability, reasons })
}

impl ScoredRows {
    /// Scores every renewal of `keys` with `model`, its features from `source`. Big inputs are
    /// scored in parallel chunks; a small one (an inline request) on the calling thread, where
    /// handing a few rows to the thread pool would cost more than scoring them.
    pub fn score(model: &LapseModel, valuation: &dyn Valuation, keys: RenewalKeys, source: &impl FeatureSource) -> Result<ScoredRows, ScoreError> {
        Self::score_explained(model, valuation, keys, source, true)
    }

    /// [`ScoredRows::score`], with `explain` false for probabilities, values and actions only
    /// (no reasons: a batch work list of a million renewals in seconds instead of twenty).
    pub fn score_explained(
        model: &LapseModel,
        valuation: &dyn Valuation,
        keys: RenewalKeys,
        source: &impl FeatureSource,
        explain: bool,
    ) -> Result<ScoredRows, ScoreError> {
        if model.schema.columns.len() >= usize::from(NO_FEATURE) {
            return Err(ScoreError::Model("the model has too many features to explain".into()));
        }
        let height = keys.len();
        let ranges: Vec<Range<usize>> = (0..height).step_by(CHUNK_ROWS).map(|start| start..CHUNK_ROWS.min(height - start) + start).collect();
        let chunks: Vec<ChunkScores> = if ranges.len() <= 1 {
            ranges.into_iter().map(|rows| score_chunk(model, source, rows, explain)).collect::<Result<_, _>>()?
        } else {
            ranges.into_par_iter().map(|rows| score_chunk(model, source, rows, explain)).collect::<Result<_, _>>()?
        };

        let mut out = ScoredRows {
            feature_names: model.schema.columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>().into(),
            categorical: model.schema.columns.iter().map(|c| c.kind == FeatureKind::Categorical).collect(),
            explained: explain && !matches!(model.estimator, Estimator::Forest(_)),
            ..ScoredRows::default()
        };
        let mut strings = Dictionary::default();
        let mut intern = |column: &Categories| -> Vec<u32> { column.iter().map(|v| v.map_or(NONE, |s| strings.code(s))).collect() };
        let agent = intern(&keys.agent);
        let channel = intern(&keys.channel);
        let region = intern(&keys.region);
        let product_code = intern(&keys.product_code);
        let product_type = intern(&keys.product_type);
        let customer = intern(&keys.customer);

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
                let value = valuation.value(keys.annualized_premium[r], keys.remaining_payment_years[r]);
                let (action, gain) = valuation.best_action(probability, value);
                out.renewals.push(Renewal {
                    probability,
                    value,
                    gain,
                    due: keys.due[r],
                    as_of: keys.as_of[r],
                    installment_no: keys.installment_no[r],
                    agent: agent[r],
                    channel: channel[r],
                    region: region[r],
                    product_code: product_code[r],
                    product_type: product_type[r],
                    customer: customer[r],
                    orphan: keys.orphan[r],
                    action,
                    contact_changed: keys.contact_changed.get(r).copied().flatten().unwrap_or(NO_CONTACT_CHANGE),
                    reasons,
                    text_start: 0,
                });
                r += 1;
            }
        }
        out.policy_id = keys.policy_id;
        out.strings = strings;
        // The sentences agents read, rendered once.
        let mut texts = String::new();
        for r in 0..out.renewals.len() {
            let start = u32::try_from(texts.len()).map_err(|_| ScoreError::Input("more than 4 GiB of reason sentences".into()))?;
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
        self.reason_values(r).zip(self.renewals[r].reasons.iter().filter(|s| s.feature != NO_FEATURE)).map(
            move |((name, value, contribution), slot)| {
                let text = &self.reason_texts[at..at + usize::from(slot.text_len)];
                at += usize::from(slot.text_len);
                (name, value, contribution, text)
            },
        )
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
