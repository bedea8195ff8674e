//! OpenAPI schemas of model-crate types the API serves or takes. The model crate knows
//! nothing of utoipa (no framework below its layer), so the documented shapes are declared
//! here, field for field, doc comment for doc comment; the handlers serialize the model's own
//! types. A test compares the generated document with `docs/openapi.json`, and the API tests
//! check real responses against it, so a mirror that drifts from its type fails the build.

#![allow(dead_code)]

use serde::Serialize;
use utoipa::ToSchema;

/// PSI thresholds.
#[derive(ToSchema)]
#[schema(as = Thresholds)]
pub struct Thresholds {
    pub watch: f64,
    pub act: f64,
}

/// One feature's drift.
#[derive(ToSchema)]
#[schema(as = FeatureDrift)]
pub struct FeatureDrift {
    pub feature: String,
    pub kind: String,
    pub psi: f64,
    /// Numbers only: max |F_current - F_reference| at the reference percentiles.
    pub ks: Option<f64>,
    pub missing_reference: f64,
    pub missing_current: f64,
    /// Categories only: share of current rows with a level the reference never had.
    pub unseen_share: Option<f64>,
    /// The PSI that sampling noise alone exceeds once in a hundred comparisons of samples of
    /// these sizes from one population (PSI ~ chi-square with buckets - 1 degrees of freedom x
    /// (1/reference rows + 1/current rows)); near 0 for big tables.
    pub psi_noise: f64,
    /// `stable`, `watch` or `act`: PSI at or above the threshold and above `psi_noise`.
    pub status: String,
    /// The buckets PSI was computed over, as shares of all rows: the reference's bins (or
    /// levels), then `unseen` (categories) and `missing`.
    pub bins: Vec<BinShares>,
}

/// One PSI bucket: its label and the share of reference and current rows in it.
#[derive(ToSchema)]
#[schema(as = BinShares)]
pub struct BinShares {
    pub bin: String,
    pub reference: f64,
    pub current: f64,
}

/// The drift of a current table against a reference.
#[derive(ToSchema)]
#[schema(as = DriftReport)]
pub struct DriftReport {
    pub reference_rows: usize,
    pub current_rows: usize,
    pub thresholds: Thresholds,
    /// Ranked by PSI, largest first.
    pub features: Vec<FeatureDrift>,
    /// Features at `watch` or `act`.
    pub flagged: Vec<String>,
    /// Reference features the current table lacks.
    pub missing_features: Vec<String>,
}

/// One retention action a team can take.
#[derive(Serialize, ToSchema)]
#[schema(as = Action)]
#[serde(deny_unknown_fields)]
pub struct Action {
    /// `sms`, `call`, `visit`, ...
    pub name: String,
    /// Share of would-be lapses the action saves (0..1).
    pub save_rate: f64,
    /// Cost of one contact, in premium currency.
    pub cost: f64,
    /// Save rates measured per segment (`high_risk_high_value`, ...), used instead of
    /// `save_rate` for renewals of that segment.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub segment_save_rates: std::collections::BTreeMap<String, f64>,
}

/// The economics of the work list: value cap, actions, band thresholds.
#[derive(Serialize, ToSchema)]
#[schema(as = Economics)]
#[serde(deny_unknown_fields, default)]
pub struct Economics {
    /// Remaining payment years counted in the value at risk, at most.
    pub value_cap_years: f64,
    /// The actions, cheapest first by convention.
    pub actions: Vec<Action>,
    /// Upper bounds of the `low` and `medium` risk bands (P(lapse)); above is `high`.
    pub risk_bands: [f64; 2],
    /// Upper bounds of the `low` and `medium` value bands (value at risk); above is `high`.
    pub value_bands: [f64; 2],
}

impl Default for Economics {
    /// The model crate's defaults.
    fn default() -> Self {
        let e = lapse_retention::Economics::default();
        Economics {
            value_cap_years: e.value_cap_years,
            actions: e
                .actions
                .into_iter()
                .map(|a| Action { name: a.name, save_rate: a.save_rate, cost: a.cost, segment_save_rates: a.segment_save_rates })
                .collect(),
            risk_bands: e.risk_bands,
            value_bands: e.value_bands,
        }
    }
}
