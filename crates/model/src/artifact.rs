//! The model artifact: feature schema, fitted estimator and calibrator, in one JSON document.
//! Scoring, drift and the registry all load this type.

use serde::{Deserialize, Serialize};

use crate::calibrate::Calibrator;
use crate::dataset::{Dataset, FeatureColumn};
use crate::encode::{Design, FeatureSchema, SchemaMismatch};
use crate::estimators::{BlendMember, Estimator, Family, design_block};
use crate::shap::TreeExplainer;

/// Bumped when the artifact layout changes; older readers refuse newer artifacts.
pub const FORMAT_VERSION: u32 = 1;

/// Rows [`LapseModel::scores_of`] and [`LapseModel::predict`] score at a time.
pub const SCORE_BLOCK_ROWS: usize = 100_000;

/// A trained, calibrated lapse-propensity model.
#[derive(Debug, Serialize, Deserialize)]
pub struct LapseModel {
    pub format_version: u32,
    pub family: Family,
    /// The label column it was trained on.
    pub label: String,
    pub schema: FeatureSchema,
    pub estimator: Estimator,
    pub calibrator: Calibrator,
    /// The boosted trees tabulated for TreeSHAP, built on first use and kept: building it
    /// costs milliseconds, which an inline request of a few renewals must not pay each time.
    #[serde(skip)]
    explainer: std::sync::OnceLock<TreeExplainer>,
}

/// Artifact bytes that are not a model this build can load (a registry file: not the
/// caller's input).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ArtifactError {
    #[error("not a model artifact: {0}")]
    NotAnArtifact(String),
    #[error("artifact format {found} is not supported (this build reads format {FORMAT_VERSION})")]
    Format { found: u32 },
    #[error("corrupt model artifact: {0}")]
    Corrupt(String),
}

impl LapseModel {
    pub fn new(family: Family, label: String, schema: FeatureSchema, estimator: Estimator, calibrator: Calibrator) -> Self {
        LapseModel { format_version: FORMAT_VERSION, family, label, schema, estimator, calibrator, explainer: std::sync::OnceLock::new() }
    }

    /// Calibrated P(lapse) for `rows` of `data`; an error when the table lacks a feature the
    /// model needs or has it with another type.
    pub fn predict(&self, data: &Dataset, rows: &[usize]) -> Result<Vec<f64>, SchemaMismatch> {
        // In blocks of rows, as `scores_of` (a blend's design over every held-out row is big).
        let mut out = Vec::with_capacity(rows.len());
        for block in rows.chunks(SCORE_BLOCK_ROWS) {
            let design = self.design(&data.features, block)?;
            out.extend(self.calibrator.apply_all(&self.estimator.predict(&design)));
        }
        Ok(out)
    }

    /// The design matrix of `rows` of `features` for this model's family (after
    /// [`FeatureSchema::check_columns`]).
    pub fn design(&self, features: &[FeatureColumn], rows: &[usize]) -> Result<Design, SchemaMismatch> {
        self.schema.check_columns(features)?;
        match &self.estimator {
            // A blend reads its members' designs side by side.
            Estimator::Blend { members, .. } => {
                let mut design = Design { rows: rows.len(), names: Vec::new(), values: Vec::new() };
                for m in members {
                    let block = self.schema.design_of(features, rows, m.family.style());
                    design.names.extend(block.names.into_iter().map(|n| format!("{}:{n}", m.family)));
                    design.values.extend(block.values);
                }
                Ok(design)
            }
            _ => Ok(self.schema.design_of(features, rows, self.family.style())),
        }
    }

    /// Calibrated P(lapse) for every row of a table's feature columns (for the score's drift);
    /// None, with a warning, when the model cannot score them or there are no rows. Scored
    /// [`SCORE_BLOCK_ROWS`] rows at a time.
    pub fn scores_of(&self, features: &[FeatureColumn]) -> Option<Vec<f64>> {
        let rows = features.first().map_or(0, |c| c.values.len());
        if rows == 0 {
            return None;
        }
        // In blocks of rows: a blend's spline basis over a million rows is gigabytes at once.
        let mut scores = Vec::with_capacity(rows);
        for start in (0..rows).step_by(SCORE_BLOCK_ROWS) {
            let block: Vec<usize> = (start..(start + SCORE_BLOCK_ROWS).min(rows)).collect();
            match self.design(features, &block) {
                Ok(design) => scores.extend(self.predict_design(&design)),
                Err(e) => {
                    tracing::warn!(reason = %e, "the model cannot score the current table: no score drift");
                    return None;
                }
            }
        }
        Some(scores)
    }

    /// Calibrated P(lapse) for each row of a design built by [`LapseModel::design`].
    pub fn predict_design(&self, design: &Design) -> Vec<f64> {
        self.calibrator.apply_all(&self.estimator.predict(design))
    }

    /// Exact per-feature contributions to each row's log-odds (before calibration), one row of
    /// `schema.columns.len()` values per design row, row-major; `None` for the forest, whose
    /// trees smartcore keeps private.
    ///
    /// Logistic and spline: `weight x (value - training mean)` summed over a feature's design
    /// columns (its one-hot levels, its spline basis, its missing indicator). Boosting: TreeSHAP
    /// ([`crate::shap`], the same numbers as forust's Shapley contributions, faster;
    /// the design has one column per feature).
    pub fn contributions(&self, design: &Design) -> Option<Vec<f64>> {
        match &self.estimator {
            // Linear in the members' log-odds: the weighted sum of their contributions.
            Estimator::Blend { members, weights, .. } => {
                let mut out = vec![0.0; design.rows * self.schema.columns.len()];
                for ((m, (from, to)), w) in members.iter().zip(BlendMember::blocks(members)).zip(weights) {
                    let part = self.member_contributions(m.family, &m.estimator, &design_block(design, from, to))?;
                    for (o, c) in out.iter_mut().zip(part) {
                        *o += w * c;
                    }
                }
                Some(out)
            }
            estimator => self.member_contributions(self.family, estimator, design),
        }
    }

    fn member_contributions(&self, family: Family, estimator: &Estimator, design: &Design) -> Option<Vec<f64>> {
        let features = self.schema.columns.len();
        match estimator {
            Estimator::Logistic { weights, .. } => {
                let owners = self.schema.design_owners(family.style());
                let centres = self.schema.linear_centres(family.style());
                let mut out = vec![0.0; design.rows * features];
                for (j, ((w, owner), centre)) in weights.iter().zip(&owners).zip(&centres).enumerate() {
                    let column = &design.values[j * design.rows..(j + 1) * design.rows];
                    for (r, x) in column.iter().enumerate() {
                        out[r * features + owner] += w * (x - centre);
                    }
                }
                Some(out)
            }
            // The tree design has one column per feature. A blend has at most one boosted
            // member, so one cached explainer serves both cases.
            Estimator::Gbdt(booster) => {
                let explainer = self.explainer.get_or_init(|| TreeExplainer::new(booster));
                Some(explainer.explain(&design.values, design.rows, design.cols()))
            }
            Estimator::Forest(_) | Estimator::Blend { .. } => None,
        }
    }

    /// The artifact bytes (deterministic: same model, same bytes).
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a model serializes")
    }

    /// Parses artifact bytes, refusing other format versions.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ArtifactError> {
        #[derive(Deserialize)]
        struct Header {
            format_version: u32,
        }
        let header: Header = serde_json::from_slice(bytes).map_err(|e| ArtifactError::NotAnArtifact(e.to_string()))?;
        if header.format_version != FORMAT_VERSION {
            return Err(ArtifactError::Format { found: header.format_version });
        }
        serde_json::from_slice(bytes).map_err(|e| ArtifactError::Corrupt(e.to_string()))
    }
}
