//! Judging tonight's challenger (guard rails) and the champion on the same held-out rows, and
//! the decision.

use lapse_core::features::FEATURES;
use lapse_core::table::FeatureColumn;
use lapse_model::artifact::LapseModel;
use lapse_model::drift::SCORE;
use lapse_model::metrics::Evaluation;
use lapse_model::promotion::{self, ChallengerFacts, ChampionState, Decision, GuardRail};
use lapse_model::registry::Registry;
use lapse_model::train::{Dataset, TrainOutcome};

use crate::NightlyConfig;
use crate::error::Result;

/// The challenger and the champion judged on the same held-out rows, and the decision.
pub(crate) struct Judged {
    pub labels: Vec<u8>,
    pub values: Vec<f64>,
    pub challenger: Evaluation,
    pub champion_before: Option<String>,
    pub champion_scores: Option<Vec<f64>>,
    pub champion_eval: Option<Evaluation>,
    pub champion_model: Option<(String, LapseModel)>,
    pub rails: Vec<GuardRail>,
    pub decision: Decision,
    pub notes: Vec<String>,
}

/// Judges the challenger (guard rails) and the champion on the challenger's held-out rows, and
/// decides.
pub(crate) fn judge(
    config: &NightlyConfig,
    registry: &Registry,
    data: &Dataset,
    outcome: &TrainOutcome,
    snapshot_features: &[FeatureColumn],
    snapshot_rows: usize,
    challenger_sha: &str,
) -> Result<Judged> {
    let rows = &outcome.held_out_rows;
    let labels: Vec<u8> = rows.iter().map(|&r| data.labels[r]).collect();
    let values: Vec<f64> = rows.iter().map(|&r| data.value[r]).collect();
    let challenger = Evaluation::of(&labels, &outcome.held_out_scores, &values);
    let feature_names: Vec<&str> = data.features.iter().map(|f| f.name.as_str()).collect();
    let absent: Vec<String> = FEATURES.iter().filter(|f| !feature_names.contains(&f.name)).map(|f| f.name.to_string()).collect();
    let today = outcome.reference.compare(snapshot_features, config.thresholds);
    let mut missing_today: Vec<String> = today.missing_features.iter().filter(|f| f.as_str() != SCORE).cloned().collect();
    missing_today.extend(today.features.iter().filter(|f| f.missing_current >= 0.999 && f.missing_reference < 0.999).map(|f| f.feature.clone()));
    let cannot_score_today = outcome.model.design(snapshot_features, &[0]).err().filter(|_| snapshot_rows > 0);
    let facts = ChallengerFacts {
        train_rows: outcome.report.rows_train,
        evaluation: &challenger,
        features_absent_from_training: absent,
        features_missing_today: missing_today,
        cannot_score_today,
    };
    let rails = promotion::guard_rails(&config.policy, &facts);
    let champion_before = registry.champion()?;
    let mut notes = Vec::new();
    let (mut champion_scores, mut champion_eval, mut champion_model) = (None, None, None);
    let state = match &champion_before {
        None => ChampionState::None,
        Some(version) => match registry.load(version) {
            Err(e) => ChampionState::Unusable { version: version.clone(), reason: e.to_string() },
            Ok(loaded) if loaded.manifest.artifact_sha256 == challenger_sha => ChampionState::Same { version: version.clone() },
            Ok(loaded) => match loaded.model.predict(data, rows) {
                Err(e) => ChampionState::Unusable { version: version.clone(), reason: format!("cannot score the held-out rows: {e}") },
                Ok(scores) => {
                    // The champion's training and calibration rows should predate this
                    // window; when they do not, the comparison favours the champion.
                    if let Some((from, _)) = &outcome.report.validation_window {
                        if let Some((_, trained_to)) = &loaded.manifest.training_window
                            && trained_to >= from
                        {
                            notes.push(format!("champion {version} was trained on snapshots up to {trained_to}, inside this window (from {from}): the comparison favours it"));
                        } else if let Some((_, calibrated_to)) = &loaded.manifest.validation_window
                            && calibrated_to >= from
                        {
                            notes.push(format!("champion {version} was calibrated on snapshots up to {calibrated_to}, inside this window (from {from}): the comparison favours it"));
                        }
                    }
                    champion_eval = Some(Evaluation::of(&labels, &scores, &values));
                    champion_scores = Some(scores);
                    champion_model = Some((version.clone(), loaded.model));
                    ChampionState::Scored { version: version.clone(), evaluation: champion_eval.as_ref().expect("just set") }
                }
            },
        },
    };
    if let ChampionState::Unusable { reason, .. } = &state {
        notes.push(format!("champion unusable: {reason}"));
    }
    let decision = promotion::decide(&config.policy, &rails, &challenger, &state);
    tracing::info!(promote = decision.promote, reason = %decision.reasons[0], "decision");
    Ok(Judged { labels, values, challenger, champion_before, champion_scores, champion_eval, champion_model, rails, decision, notes })
}
