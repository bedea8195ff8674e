//! Optional feature families: kept in the model only when they improve its held-out log loss.
//!
//! The recorded contact outcomes (a refusal and its reason, an open or broken promise, attempts
//! without reaching the customer) come from the outcome store, not the extract: a book may have
//! none, a young store few, and a team may record them unevenly. So before the real training a
//! probe (one family, one setting, the run's own validation) is fitted with the family's columns
//! and without them; the family stays only when its held-out log loss is lower. The decision is
//! in the report ([`super::TrainReport::feature_groups`]).
//!
//! The choice between two options is made on the same held-out rows the headline figures are
//! measured on; with two options the optimism this adds is small, and the figures of the model
//! kept stay held-out figures.

use serde::{Deserialize, Serialize};

use super::{Family, TrainConfig, TrainError, TrainOutcome, train};
use crate::dataset::Dataset;
use lapse_core::features::FeatureFamily;
use lapse_core::table::FeatureValues;

/// The families decided this way.
pub const OPTIONAL_FAMILIES: [FeatureFamily; 1] = [FeatureFamily::ContactOutcomes];

/// Whether an optional family was kept, and on what evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupDecision {
    pub family: String,
    pub columns: Vec<String>,
    pub kept: bool,
    /// Held-out log loss of the probe with the family's columns and without them (None: no
    /// probe was needed).
    pub log_loss_with: Option<f64>,
    pub log_loss_without: Option<f64>,
    /// The probe: the family and setting fitted both ways.
    pub probe: String,
    pub reason: String,
}

/// Whether every labelled row misses `column`'s value.
fn all_missing(values: &FeatureValues) -> bool {
    match values {
        FeatureValues::Numeric(v) => v.iter().all(|x| x.is_nan()),
        FeatureValues::Categorical(c) => c.codes.iter().all(|&code| code == lapse_core::categories::Categories::MISSING),
    }
}

/// Decides every optional family `data` has columns of: the decisions, and the columns to
/// leave out of the model.
pub fn decide(data: &Dataset, config: &TrainConfig) -> Result<(Vec<GroupDecision>, Vec<String>), TrainError> {
    let mut decisions = Vec::new();
    let mut leave_out = Vec::new();
    let probe_family = if config.families.contains(&Family::Gbdt) { Family::Gbdt } else { config.families[0] };
    for family in OPTIONAL_FAMILIES {
        let columns: Vec<&lapse_core::table::FeatureColumn> = data
            .features
            .iter()
            .filter(|c| !config.leave_out.contains(&c.name))
            .filter(|c| lapse_core::features::catalog::feature(&c.name).is_some_and(|f| f.family == family))
            .collect();
        if columns.is_empty() {
            continue;
        }
        let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
        if columns.iter().all(|c| all_missing(&c.values)) {
            decisions.push(GroupDecision {
                family: family.as_str().into(),
                columns: names.clone(),
                kept: false,
                log_loss_with: None,
                log_loss_without: None,
                probe: String::new(),
                reason: "no value in the table (no outcomes attached: `lapse features --store` or `--outcomes`)".into(),
            });
            leave_out.extend(names);
            continue;
        }
        let probe = TrainConfig {
            families: vec![probe_family],
            search: false,
            blend: false,
            refit: false,
            progress: false,
            keep_fold_models: false,
            leave_out: config.leave_out.iter().chain(&leave_out).cloned().collect(),
            ..config.clone()
        };
        let with = train(data, &probe)?.report;
        let without_columns = TrainConfig { leave_out: probe.leave_out.iter().chain(&names).cloned().collect(), ..probe.clone() };
        let without = train(data, &without_columns)?.report;
        let kept = with.log_loss < without.log_loss;
        tracing::info!(family = family.as_str(), kept, with = with.log_loss, without = without.log_loss, "optional feature family decided");
        decisions.push(GroupDecision {
            family: family.as_str().into(),
            columns: names.clone(),
            kept,
            log_loss_with: Some(with.log_loss),
            log_loss_without: Some(without.log_loss),
            probe: format!("{} {}", probe_family.as_str(), with.chosen_setting),
            reason: if kept { "lowers the held-out log loss".into() } else { "does not lower the held-out log loss".into() },
        });
        if !kept {
            leave_out.extend(names);
        }
    }
    Ok((decisions, leave_out))
}

/// [`train`] with the optional families decided first ([`decide`]); the report lists the
/// decisions.
pub fn train_deciding_groups(data: &Dataset, config: &TrainConfig) -> Result<TrainOutcome, TrainError> {
    let (decisions, leave_out) = decide(data, config)?;
    let config = TrainConfig { leave_out: config.leave_out.iter().chain(&leave_out).cloned().collect(), ..config.clone() };
    let mut outcome = train(data, &config)?;
    outcome.report.feature_groups = decisions;
    Ok(outcome)
}
