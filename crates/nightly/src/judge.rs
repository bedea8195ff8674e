//! Judging tonight's challenger (guard rails) and the champion on the same held-out rows, and
//! the decision.

use lapse_core::dates::{Day, format_day, parse_day};
use lapse_core::features::FEATURES;
use lapse_core::table::FeatureColumn;
use lapse_model::artifact::LapseModel;
use lapse_model::drift::SCORE;
use lapse_model::fitted::{FittedRenewals, row_key};
use lapse_model::metrics::Evaluation;
use lapse_model::promotion::{self, ChallengerFacts, ChampionState, Comparison, Decision, GuardRail};
use lapse_model::registry::Registry;
use lapse_model::train::{Dataset, TrainOutcome};

use crate::config::NightlyConfig;
use crate::error::Result;

/// The challenger and the champion judged on the same held-out rows, and the decision.
pub(crate) struct Judged {
    /// Every held-out row of the challenger: label, value, and whether it was compared.
    pub labels: Vec<u8>,
    pub values: Vec<f64>,
    /// Per held-out row: neither model was fitted on its renewal (the rows both are judged on).
    pub compared: Vec<bool>,
    /// Per held-out row: the champion was fitted (or calibrated) on its renewal.
    pub champion_fitted: Vec<bool>,
    /// The challenger on the compared rows (the comparison's figures).
    pub challenger: Evaluation,
    /// The challenger on every held-out row (its guard rails).
    pub challenger_held_out: Evaluation,
    pub champion_before: Option<String>,
    /// The champion's scores of every held-out row (fitted ones included, for analysts).
    pub champion_scores: Option<Vec<f64>>,
    /// The champion on the compared rows.
    pub champion_eval: Option<Evaluation>,
    pub champion_model: Option<(String, LapseModel)>,
    pub rails: Vec<GuardRail>,
    /// The champion's calibration guard rails on the compared rows.
    pub champion_rails: Vec<GuardRail>,
    pub comparison: Comparison,
    pub decision: Decision,
    pub notes: Vec<String>,
}

/// What the champion was fitted on, as the judge can tell.
enum ChampionFitted {
    /// The registry's list of its renewals.
    Keys(FittedRenewals),
    /// No list (an older version): every renewal due within its snapshot window, from the first
    /// snapshot's date - grace to the last one's + horizon, counts as fitted.
    DueWindow { from: Day, to: Day },
    /// Nothing to go by: every held-out row counts as fitted.
    Unknown,
}

impl ChampionFitted {
    /// The champion's fitted renewals and how they were known, in English and in Chinese.
    fn of(registry: &Registry, loaded: &lapse_model::registry::LoadedModel, data: &Dataset) -> Result<(Self, (String, String))> {
        if let Some(keys) = registry.fitted(&loaded.version)? {
            let basis = (
                format!("the {} renewals the registry lists for champion {}", keys.len(), loaded.version),
                format!("模型库为冠军模型 {} 记录的 {} 件续期", loaded.version, keys.len()),
            );
            return Ok((ChampionFitted::Keys(keys), basis));
        }
        let window =
            loaded.manifest.training_window.iter().chain(&loaded.manifest.validation_window).fold(None, |acc: Option<(Day, Day)>, (a, b)| {
                let (a, b) = (parse_day(a)?, parse_day(b)?);
                Some(acc.map_or((a, b), |(x, y)| (x.min(a), y.max(b))))
            });
        let (grace, horizon) = (data.grace_days.unwrap_or(60), data.horizon_days.unwrap_or(30));
        match (window, &data.due_date) {
            (Some((first, last)), Some(_)) => Ok((
                ChampionFitted::DueWindow { from: first - grace, to: last + horizon },
                (
                    format!(
                        "champion {} lists no renewals (registered before the lists were kept): every renewal due {}..{} (its snapshots {}..{} widened by grace and horizon) counts as fitted",
                        loaded.version,
                        format_day(first - grace),
                        format_day(last + horizon),
                        format_day(first),
                        format_day(last)
                    ),
                    format!(
                        "冠军模型 {} 没有记录续期清单（在保留清单之前注册）：应缴日在 {}..{} 的续期（其快照 {}..{} 加上宽限期和预测期）都视为已拟合",
                        loaded.version,
                        format_day(first - grace),
                        format_day(last + horizon),
                        format_day(first),
                        format_day(last)
                    ),
                ),
            )),
            _ => Ok((
                ChampionFitted::Unknown,
                (
                    format!("champion {} lists no renewals and no snapshot window: every held-out row counts as fitted", loaded.version),
                    format!("冠军模型 {} 既无续期清单也无快照窗口：所有留出行都视为已拟合", loaded.version),
                ),
            )),
        }
    }

    fn contains(&self, data: &Dataset, row: usize) -> bool {
        match self {
            ChampionFitted::Keys(keys) => row_key(data, row).is_none_or(|k| keys.contains(k)),
            ChampionFitted::DueWindow { from, to } => data.due_date.as_ref().is_none_or(|d| (*from..=*to).contains(&d[row])),
            ChampionFitted::Unknown => true,
        }
    }
}

fn evaluate(rows: &[usize], labels: &[u8], scores: &[f64], values: &[f64]) -> Evaluation {
    let pick = |v: &[f64]| rows.iter().map(|&i| v[i]).collect::<Vec<f64>>();
    Evaluation::of(&rows.iter().map(|&i| labels[i]).collect::<Vec<u8>>(), &pick(scores), &pick(values))
}

/// Judges the challenger (guard rails, on all its held-out rows) and compares it with the
/// champion on the held-out renewals neither model was fitted on, and decides.
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
    let challenger_held_out = Evaluation::of(&labels, &outcome.held_out_scores, &values);
    let feature_names: Vec<&str> = data.features.iter().map(|f| f.name.as_str()).collect();
    let absent: Vec<String> = FEATURES.iter().filter(|f| !feature_names.contains(&f.name)).map(|f| f.name.to_string()).collect();
    let today = outcome.reference.compare(snapshot_features, config.thresholds);
    let mut missing_today: Vec<String> = today.missing_features.iter().filter(|f| f.as_str() != SCORE).cloned().collect();
    missing_today.extend(today.features.iter().filter(|f| f.missing_current >= 0.999 && f.missing_reference < 0.999).map(|f| f.feature.clone()));
    let cannot_score_today = outcome.model.design(snapshot_features, &[0]).err().filter(|_| snapshot_rows > 0).map(|e| e.to_string());
    let facts = ChallengerFacts {
        train_rows: outcome.report.rows_train,
        evaluation: &challenger_held_out,
        features_absent_from_training: absent,
        features_missing_today: missing_today,
        cannot_score_today,
    };
    let rails = promotion::guard_rails(&config.policy, &facts);
    // The challenger's own validation models never saw a held-out renewal (the out-of-time gap);
    // checked, not assumed.
    let challenger_fitted: Vec<bool> =
        rows.iter().map(|&r| outcome.held_out_fitted.as_ref().is_some_and(|keys| row_key(data, r).is_some_and(|k| keys.contains(k)))).collect();
    let champion_before = registry.champion()?;
    let mut notes = Vec::new();
    let (mut champion_scores, mut champion_eval, mut champion_model) = (None, None, None);
    let mut champion_fitted = vec![false; rows.len()];
    let (mut basis, mut basis_zh) = ("no champion to compare with".to_string(), "没有可比较的冠军模型".to_string());
    let mut champion_rails = Vec::new();
    let loaded = champion_before.as_ref().map(|version| (version, registry.load(version)));
    let scored = match loaded {
        None => None,
        Some((version, Err(e))) => {
            notes.push(format!("champion unusable: {e}"));
            Some(Err(ChampionState::Unusable { version: version.clone(), reason: e.to_string() }))
        }
        Some((version, Ok(loaded))) if loaded.manifest.artifact_sha256 == challenger_sha => {
            Some(Err(ChampionState::Same { version: version.clone() }))
        }
        Some((version, Ok(loaded))) => match loaded.model.predict(data, rows) {
            Err(e) => {
                let reason = format!("cannot score the held-out rows: {e}");
                notes.push(format!("champion unusable: {reason}"));
                Some(Err(ChampionState::Unusable { version: version.clone(), reason }))
            }
            Ok(scores) => {
                let (fitted, how) = ChampionFitted::of(registry, &loaded, data)?;
                (basis, basis_zh) = how;
                for (slot, &r) in rows.iter().enumerate() {
                    champion_fitted[slot] = fitted.contains(data, r);
                }
                champion_scores = Some(scores);
                champion_model = Some((version.clone(), loaded.model));
                Some(Ok(version.clone()))
            }
        },
    };
    let compared_slots: Vec<usize> = (0..rows.len()).filter(|&s| !champion_fitted[s] && !challenger_fitted[s]).collect();
    let challenger = evaluate(&compared_slots, &labels, &outcome.held_out_scores, &values);
    let comparison = Comparison {
        held_out: rows.len(),
        compared: compared_slots.len(),
        compared_lapses: compared_slots.iter().filter(|&&s| labels[s] == 1).count(),
        dropped_champion_fitted: champion_fitted.iter().filter(|&&f| f).count(),
        dropped_challenger_fitted: challenger_fitted.iter().filter(|&&f| f).count(),
        basis,
        basis_zh,
    };
    if let Some(scores) = &champion_scores {
        let eval = evaluate(&compared_slots, &labels, scores, &values);
        champion_rails = promotion::calibration_rails(&config.policy, &eval).to_vec();
        champion_eval = Some(eval);
        notes.push(format!(
            "compared on {} of {} held-out renewals: {} left out because the champion was fitted on them, {} because the challenger was",
            comparison.compared, comparison.held_out, comparison.dropped_champion_fitted, comparison.dropped_challenger_fitted
        ));
    }
    let state = match scored {
        None => ChampionState::None,
        Some(Err(state)) => state,
        Some(Ok(version)) => {
            ChampionState::Scored { version, evaluation: champion_eval.as_ref().expect("set with the scores"), rails: champion_rails.clone() }
        }
    };
    let decision = promotion::decide(&config.policy, &rails, &challenger, &state);
    tracing::info!(promote = decision.promote, compared = comparison.compared, held_out = comparison.held_out, reason = %decision.reasons[0], "decision");
    let compared = (0..rows.len()).map(|s| !champion_fitted[s] && !challenger_fitted[s]).collect();
    Ok(Judged {
        labels,
        values,
        compared,
        champion_fitted,
        challenger,
        challenger_held_out,
        champion_before,
        champion_scores,
        champion_eval,
        champion_model,
        rails,
        champion_rails,
        comparison,
        decision,
        notes,
    })
}
