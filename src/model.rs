//! The model artifact: feature schema, fitted estimator and calibrator, in one JSON document.
//! Scoring, drift and the registry all load this type.

use serde::{Deserialize, Serialize};

use crate::train::calibrate::Calibrator;
use crate::train::dataset::Dataset;
use crate::train::encode::FeatureSchema;
use crate::train::estimators::{Estimator, Family};

/// Bumped when the artifact layout changes; older readers refuse newer artifacts.
pub const FORMAT_VERSION: u32 = 1;

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
}

impl LapseModel {
    pub fn new(family: Family, label: String, schema: FeatureSchema, estimator: Estimator, calibrator: Calibrator) -> Self {
        LapseModel { format_version: FORMAT_VERSION, family, label, schema, estimator, calibrator }
    }

    /// Calibrated P(lapse) for `rows` of `data`; an error when the table lacks a feature the
    /// model needs or has it with another type.
    pub fn predict(&self, data: &Dataset, rows: &[usize]) -> Result<Vec<f64>, String> {
        self.schema.check(data)?;
        let design = self.schema.design(data, rows, self.family.style());
        Ok(self.calibrator.apply_all(&self.estimator.predict(&design)))
    }

    /// The artifact bytes (deterministic: same model, same bytes).
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a model serializes")
    }

    /// Parses artifact bytes, refusing other format versions.
    pub fn from_json(bytes: &[u8]) -> Result<Self, String> {
        #[derive(Deserialize)]
        struct Header {
            format_version: u32,
        }
        let header: Header = serde_json::from_slice(bytes).map_err(|e| format!("not a model artifact: {e}"))?;
        if header.format_version != FORMAT_VERSION {
            return Err(format!("artifact format {} is not supported (this build reads format {FORMAT_VERSION})", header.format_version));
        }
        serde_json::from_slice(bytes).map_err(|e| format!("corrupt model artifact: {e}"))
    }
}
