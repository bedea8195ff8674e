//! [`train`] as its steps: **plan** the validation (which rows each fold trains and validates
//! on, [`Layout`]), **fit** every setting on every fold ([`fit_settings`]: held-out predictions,
//! raw and calibrated), **choose** the setting or the blend on held-out predictions and judge the
//! choice on rows that did not make it ([`choose`]), **refit** the choice on the rows the served
//! model learns from ([`refit`]), then **describe** it (importance, partial dependence, the
//! report, the drift reference, the renewals it learnt from).

use std::time::Instant;

use super::select::{self, Pick};
use super::{
    Candidate, FamilyReport, PickedSetting, Plan, REFERENCE_SCORE_ROWS, SelectionReport, TrainConfig, TrainError, TrainOutcome, TrainReport,
    Validation, candidates, contribution_spread, describe_pick, family_report, fit_fold, fold_calibrator, labels_of, mean, mean_option, plan,
    progress_bar, rows_to_fit, stable_hash,
};
use crate::artifact::LapseModel;
use crate::calibrate::{self, Calibrator};
use crate::dataset::Dataset;
use crate::encode::FeatureSchema;
use crate::estimators::{BlendMember, Estimator, Family, FitError};
use crate::metrics::Evaluation;
use lapse_core::dates::format_day;

/// Trains and validates every configured setting and keeps the best (or their blend).
pub fn train(data: &Dataset, config: &TrainConfig) -> Result<TrainOutcome, TrainError> {
    if data.is_empty() {
        return Err(TrainError::Validation(format!("{} has no labelled rows", data.path.display())));
    }
    if data.labels.iter().all(|&y| y == data.labels[0]) {
        return Err(TrainError::Validation("the labels have a single class".into()));
    }
    let plan = plan(data, config)?;
    let layout = Layout::of(data, &plan, config.params.seed);
    let training_rows = plan.folds.iter().map(|(train, _)| train.len()).max().unwrap_or(0);
    let mut candidates = candidates(&config.families, &config.params, config.search, training_rows);
    if !config.only_settings.is_empty() {
        let all = candidates.len();
        candidates.retain(|c| config.only_settings.iter().any(|s| s.family == c.family && s.setting == c.setting));
        if candidates.is_empty() {
            return Err(TrainError::Validation(format!(
                "none of the settings to reuse ({}) is in tonight's grid of {all}: the base parameters changed since the search",
                config.only_settings.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", ")
            )));
        }
    }
    let started = Instant::now();
    let mut fitted = fit_settings(data, config, &plan, &layout, &candidates)?;
    let choice = choose(config, &plan, &layout, &candidates, &mut fitted);
    let search_seconds = started.elapsed().as_secs_f64();
    let served = refit(data, config, &plan, &layout, &candidates, &mut fitted, &choice.pick)?;
    tracing::debug!(seconds = started.elapsed().as_secs_f64(), "served model fitted");
    describe(data, config, plan, layout, &candidates, fitted, choice, served, started, search_seconds)
}

/// Where the held-out rows are: every validation row (ascending), its slot, its fold, and the
/// selection group a choice made on other groups judges it in (k-fold: its fold; out of time:
/// one of two halves of the validation rows, by policy when the table names them).
struct Layout {
    held_out: Vec<usize>,
    /// Row -> slot in `held_out` (`usize::MAX` for a row never held out).
    slot: Vec<usize>,
    fold_of_slot: Vec<usize>,
    selection_group: Vec<usize>,
    labels: Vec<u8>,
    values: Vec<f64>,
}

impl Layout {
    fn of(data: &Dataset, plan: &Plan, seed: u64) -> Layout {
        let mut held_out: Vec<usize> = plan.folds.iter().flat_map(|(_, v)| v.iter().copied()).collect();
        held_out.sort_unstable();
        let mut slot = vec![usize::MAX; data.len()];
        let mut fold_of_slot = vec![0usize; held_out.len()];
        for (s, &r) in held_out.iter().enumerate() {
            slot[r] = s;
        }
        for (f, (_, valid)) in plan.folds.iter().enumerate() {
            for &r in valid {
                fold_of_slot[slot[r]] = f;
            }
        }
        let selection_group: Vec<usize> = if plan.folds.len() > 1 {
            fold_of_slot.clone()
        } else {
            held_out
                .iter()
                .map(|&r| match &data.group {
                    Some(group) => (stable_hash(&group[r], seed ^ 0x005e_1ec7) % 2) as usize,
                    None => r % 2,
                })
                .collect()
        };
        let labels = labels_of(data, &held_out);
        let values = held_out.iter().map(|&r| data.value[r]).collect();
        Layout { held_out, slot, fold_of_slot, selection_group, labels, values }
    }

    /// A calibration method chosen on held-out predictions `raw`, cross-fitted: by fold, or out
    /// of time by two halves of the validation rows.
    fn choose_calibration(&self, plan: &Plan, raw: &[f64]) -> (calibrate::Method, Vec<f64>) {
        if plan.folds.len() > 1 {
            calibrate::choose(raw, &self.labels, |s| self.fold_of_slot[s])
        } else {
            calibrate::choose(raw, &self.labels, |s| s % 2)
        }
    }
}

/// Every setting's held-out predictions and report, and the fold models kept.
struct Fitted {
    reports: Vec<FamilyReport>,
    raw: Vec<Vec<f64>>,
    calibrated: Vec<Vec<f64>>,
    /// Out of time without refit: each setting's model fitted on the training split.
    oot_models: Vec<Option<(FeatureSchema, Estimator)>>,
    /// With `keep_fold_models` (one setting, k-fold): each fold's schema and estimator.
    fold_fits: Vec<(FeatureSchema, Estimator)>,
}

/// Fits every setting on every fold: held-out predictions, calibrated by a calibrator fitted on
/// the other folds' predictions.
fn fit_settings(data: &Dataset, config: &TrainConfig, plan: &Plan, layout: &Layout, candidates: &[Candidate]) -> Result<Fitted, TrainError> {
    // Spline knots only when a spline model is trained; every schema of a run is the same.
    let splines = config.families.contains(&Family::Spline);
    let bar = progress_bar(config.progress, (candidates.len() * plan.folds.len()) as u64, "training");
    let mut out = Fitted { reports: Vec::new(), raw: Vec::new(), calibrated: Vec::new(), oot_models: Vec::new(), fold_fits: Vec::new() };
    for candidate in candidates {
        let family = candidate.family;
        let started = Instant::now();
        let mut raw = vec![0.0; layout.held_out.len()];
        let mut kept = None;
        for (train_rows, valid_rows) in &plan.folds {
            bar.set_message(format!("{} ({} rows)", family.as_str(), train_rows.len()));
            let (schema, estimator, predictions) = fit_fold(data, family, &candidate.params, splines, &config.leave_out, train_rows, valid_rows)?;
            for (&r, p) in valid_rows.iter().zip(predictions) {
                raw[layout.slot[r]] = p;
            }
            if config.keep_fold_models && candidates.len() == 1 && plan.validation == Validation::Kfold {
                out.fold_fits.push((schema, estimator));
            } else if plan.validation == Validation::OutOfTime && !config.refit {
                kept = Some((schema, estimator));
            }
            bar.inc(1);
        }
        out.oot_models.push(kept);
        let (method, calibrated) = layout.choose_calibration(plan, &raw);
        let report = family_report(
            family,
            candidate.setting.clone(),
            plan,
            &layout.fold_of_slot,
            &layout.labels,
            &layout.values,
            &raw,
            &calibrated,
            method,
            started,
        );
        tracing::info!(
            family = family.as_str(),
            setting = %candidate.setting,
            roc_auc = report.roc_auc.unwrap_or(f64::NAN),
            log_loss = report.log_loss,
            ece = report.ece,
            calibration = ?method,
            seconds = report.fit_seconds,
            "validated"
        );
        out.reports.push(report);
        out.raw.push(raw);
        out.calibrated.push(calibrated);
    }
    bar.finish_and_clear();
    Ok(out)
}

/// The choice, and the honest figure of choosing.
struct Choice {
    pick: Pick,
    /// Each held-out slot scored by the choice made without its selection group.
    honest_scores: Vec<f64>,
    /// The groups, each group's pick (described) and its evaluation.
    groups: Vec<usize>,
    group_picks: Vec<String>,
    group_evaluations: Vec<Evaluation>,
}

/// Chooses the setting or the blend on every held-out prediction, and scores each selection
/// group by the choice made on the other groups. With `blend`, the blend of the best settings
/// is added to the reports (its weights cross-fitted by group).
fn choose(config: &TrainConfig, plan: &Plan, layout: &Layout, candidates: &[Candidate], fitted: &mut Fitted) -> Choice {
    let families: Vec<Family> = candidates.iter().map(|c| c.family).collect();
    let held = select::HeldOut { families: &families, raw: &fitted.raw, calibrated: &fitted.calibrated, labels: &layout.labels };
    let group_of = |s: usize| layout.selection_group[s];
    let all_slots: Vec<usize> = (0..layout.held_out.len()).collect();
    let pick = held.choose(&all_slots, &group_of, config.blend);
    let mut groups: Vec<usize> = layout.selection_group.clone();
    groups.sort_unstable();
    groups.dedup();
    let mut honest_scores = vec![0.0; layout.held_out.len()];
    let (mut group_picks, mut group_evaluations) = (Vec::new(), Vec::new());
    for &g in &groups {
        let others: Vec<usize> = all_slots.iter().copied().filter(|&s| layout.selection_group[s] != g).collect();
        let mine: Vec<usize> = all_slots.iter().copied().filter(|&s| layout.selection_group[s] == g).collect();
        let pick_g = if others.is_empty() { pick.clone() } else { held.choose(&others, &group_of, config.blend) };
        for &s in &mine {
            honest_scores[s] = held.predict(&pick_g, s);
        }
        group_picks.push(describe_pick(&pick_g, candidates));
        group_evaluations.push(Evaluation::of(
            &mine.iter().map(|&s| layout.labels[s]).collect::<Vec<_>>(),
            &mine.iter().map(|&s| honest_scores[s]).collect::<Vec<_>>(),
            &mine.iter().map(|&s| layout.values[s]).collect::<Vec<_>>(),
        ));
    }
    if config.blend {
        let members = held.blend_members(&all_slots, &group_of);
        if members.len() >= 2 {
            let started = Instant::now();
            let crossed = held.blend_cross_fitted(&members, &all_slots, &group_of);
            let setting = members.iter().map(|&m| format!("{} {}", candidates[m].family, candidates[m].setting)).collect::<Vec<_>>().join(" + ");
            // Calibrated as the served blend is (a calibrator chosen on its held-out output).
            let (method, calibrated) = layout.choose_calibration(plan, &crossed);
            let mut report = family_report(
                Family::Blend,
                setting,
                plan,
                &layout.fold_of_slot,
                &layout.labels,
                &layout.values,
                &crossed,
                &calibrated,
                method,
                started,
            );
            report.fit_seconds += members.iter().map(|&m| fitted.reports[m].fit_seconds).sum::<f64>();
            fitted.reports.push(report);
        }
    }
    Choice { pick, honest_scores, groups, group_picks, group_evaluations }
}

/// The served model's parts.
struct Served {
    family: Family,
    setting: String,
    schema: FeatureSchema,
    estimator: Estimator,
    calibrator: Calibrator,
    /// Rows the served model was fitted on (a linear model alone may see a sample).
    rows_fitted: usize,
}

/// Fits the choice on the rows the served model learns from: every labelled row (refit, and
/// always for k-fold), or, out of time without refit, the fold model itself. The calibrator
/// is the one learnt on the choice's held-out predictions (fitted on other rows).
fn refit(
    data: &Dataset,
    config: &TrainConfig,
    plan: &Plan,
    layout: &Layout,
    candidates: &[Candidate],
    fitted: &mut Fitted,
    pick: &Pick,
) -> Result<Served, TrainError> {
    let splines = config.families.contains(&Family::Spline);
    let keep_fold_models = plan.validation == Validation::OutOfTime && !config.refit;
    let fit_rows: Vec<usize> = if keep_fold_models { plan.folds[0].0.clone() } else { (0..data.len()).collect() };
    let schema_for_fit = || -> FeatureSchema { FeatureSchema::fit_for(data, &fit_rows, config.params.min_level_count, splines, &config.leave_out) };
    // A fold model kept out of time, taken once.
    let take_kept = |oot: &mut Vec<Option<(FeatureSchema, Estimator)>>, c: usize| -> Result<(FeatureSchema, Estimator), TrainError> {
        oot[c].take().ok_or_else(|| TrainError::Validation(format!("setting {} has no fold model to keep", candidates[c].setting)))
    };
    let fit_candidate = |c: usize, schema: &FeatureSchema| -> Result<Estimator, TrainError> {
        let fit_on = rows_to_fit(candidates[c].family, &candidates[c].params, &fit_rows);
        let design = schema.design(data, &fit_on, candidates[c].family.style());
        Ok(Estimator::fit(candidates[c].family, &candidates[c].params, &design, &labels_of(data, &fit_on))?)
    };
    let rows_fitted_by = |c: usize| rows_to_fit(candidates[c].family, &candidates[c].params, &fit_rows).len();
    match pick {
        Pick::Single(c) => {
            let (schema, estimator) = if keep_fold_models {
                take_kept(&mut fitted.oot_models, *c)?
            } else {
                let schema = schema_for_fit();
                let estimator = fit_candidate(*c, &schema)?;
                (schema, estimator)
            };
            // The calibrator was learnt on the held-out predictions of the same family and
            // settings fitted on other rows: a calibrator of out-of-fold predictions.
            let calibrator = Calibrator::fit(fitted.reports[*c].calibration, &fitted.raw[*c], &layout.labels);
            let (family, setting) = (candidates[*c].family, candidates[*c].setting.clone());
            Ok(Served { family, setting, schema, estimator, calibrator, rows_fitted: rows_fitted_by(*c) })
        }
        Pick::Blend { members, weights, intercept } => {
            // Every fold model of a split shares one schema (same rows, same rules).
            let mut schema: Option<FeatureSchema> = None;
            let mut parts = Vec::new();
            for &m in members {
                let estimator = if keep_fold_models {
                    let (member_schema, estimator) = take_kept(&mut fitted.oot_models, m)?;
                    schema.get_or_insert(member_schema);
                    estimator
                } else {
                    fit_candidate(m, schema.get_or_insert_with(schema_for_fit))?
                };
                let columns = schema.as_ref().map_or(0, |s| s.design_names(candidates[m].family.style()).len());
                parts.push(BlendMember { family: candidates[m].family, setting: candidates[m].setting.clone(), columns, estimator });
            }
            let schema = schema.ok_or_else(|| TrainError::Validation("a blend without members".into()))?;
            let families: Vec<Family> = candidates.iter().map(|c| c.family).collect();
            let held = select::HeldOut { families: &families, raw: &fitted.raw, calibrated: &fitted.calibrated, labels: &layout.labels };
            let raw: Vec<f64> = (0..layout.held_out.len()).map(|s| held.blend_at(members, weights, *intercept, s)).collect();
            let (method, _) = layout.choose_calibration(plan, &raw);
            let calibrator = Calibrator::fit(method, &raw, &layout.labels);
            // A linear model alone may have seen a sample of the rows; a blend's boosted member
            // saw all.
            let rows_fitted = members.iter().map(|&m| rows_fitted_by(m)).max().unwrap_or(0);
            let estimator = Estimator::Blend { members: parts, weights: weights.clone(), intercept: *intercept };
            Ok(Served { family: Family::Blend, setting: describe_pick(pick, candidates), schema, estimator, calibrator, rows_fitted })
        }
    }
}

/// The served model with what it learnt (importance, partial dependence), the report, the
/// drift reference, the held-out scores and the renewals it learnt from.
#[allow(clippy::too_many_arguments)]
fn describe(
    data: &Dataset,
    config: &TrainConfig,
    plan: Plan,
    layout: Layout,
    candidates: &[Candidate],
    fitted: Fitted,
    choice: Choice,
    served: Served,
    started: Instant,
    search_seconds: f64,
) -> Result<TrainOutcome, TrainError> {
    let Served { family: chosen, setting: chosen_setting, schema, estimator, calibrator, rows_fitted } = served;
    let Fitted { reports, raw: raw_by_candidate, calibrated: mut calibrated_by_candidate, fold_fits, .. } = fitted;
    let explained_by_spread = matches!(chosen, Family::Spline | Family::Blend);
    let mut importance = if explained_by_spread { None } else { estimator.importance(&schema.design_names(chosen.style())) };
    let model = LapseModel::new(chosen, data.label_column.clone(), schema, estimator, calibrator);
    if explained_by_spread {
        importance = Some(contribution_spread(&model, data));
    }
    if let Some(v) = importance.as_mut() {
        v.truncate(30);
    }
    // The five most influential numeric inputs (design names equal to a numeric feature).
    let numeric_top: Vec<String> = importance
        .iter()
        .flatten()
        .map(|(name, _)| name.clone())
        .filter(|name| data.features.iter().any(|f| &f.name == name && matches!(f.values, lapse_core::table::FeatureValues::Numeric(_))))
        .take(5)
        .collect();
    let partial_dependence = crate::partial_dependence::partial_dependence(&model, data, &numeric_top);
    tracing::debug!(seconds = started.elapsed().as_secs_f64(), "importance and partial dependence");
    // Headline figures: the honest figures of the selection when there was a choice, else the
    // one setting's own held-out figures.
    let single = candidates.len() == 1;
    let chosen_report = reports.iter().find(|r| r.family == chosen && r.setting == chosen_setting);
    let (roc_auc, log_loss, ece) = match chosen_report {
        Some(r) if single => (r.roc_auc, r.log_loss, r.ece),
        _ => (
            mean_option(choice.group_evaluations.iter().map(|e| e.roc_auc)),
            mean(choice.group_evaluations.iter().map(|e| e.log_loss)),
            mean(choice.group_evaluations.iter().map(|e| e.ece)),
        ),
    };
    let first_calibration = reports.first().map(|r| r.calibration);
    let selection = (!single).then(|| SelectionReport {
        method: if plan.folds.len() > 1 {
            format!("each of the {} folds scored by the choice made on the other folds' held-out predictions", choice.groups.len())
        } else {
            "the validation rows split in two halves by policy; each half scored by the choice made on the other half".to_string()
        },
        roc_auc,
        log_loss,
        group_picks: choice.group_picks,
        candidates_tried: candidates.len(),
        search_seconds,
    });
    let rows_train = match plan.validation {
        Validation::OutOfTime => plan.folds[0].0.len(),
        Validation::Kfold => data.len(),
    };
    let picked = match &choice.pick {
        select::Pick::Single(c) => vec![*c],
        select::Pick::Blend { members, .. } => members.clone(),
    }
    .into_iter()
    .map(|c| PickedSetting { family: candidates[c].family, setting: candidates[c].setting.clone() })
    .collect();
    let report = TrainReport {
        picked,
        search: None,
        validation: plan.validation,
        validation_detail: plan.detail.clone(),
        chosen,
        chosen_setting,
        roc_auc,
        log_loss,
        ece,
        selection,
        rows_labelled: data.len(),
        rows_unlabelled: data.unlabelled_rows,
        rows_train,
        rows_validation: layout.held_out.len(),
        rows_fitted,
        lapse_rate: data.labels.iter().map(|&y| f64::from(y)).sum::<f64>() / data.len() as f64,
        training_window: plan.training_window.map(|(a, b)| (format_day(a), format_day(b))),
        validation_window: plan.validation_window.map(|(a, b)| (format_day(a), format_day(b))),
        value_source: data.value_source.clone(),
        excluded_columns: data.excluded.clone(),
        immature_snapshots: data.immature.clone(),
        importance,
        partial_dependence,
        params: config.params.clone(),
        families: reports,
        feature_groups: Vec::new(),
    };
    // The score's reference distribution: every row up to 100,000, else 100,000 evenly spaced
    // rows (its deciles and PSI bins are as exact as the statistic needs; scoring a 1M-row
    // table whole took longer than the rest of the reference).
    let step = data.len().div_ceil(REFERENCE_SCORE_ROWS).max(1);
    let scored_rows: Vec<usize> = (0..data.len()).step_by(step).collect();
    let scores = model.predict(data, &scored_rows).map_err(|e| TrainError::Fit(FitError { family: chosen.as_str(), message: e.to_string() }))?;
    tracing::debug!(seconds = started.elapsed().as_secs_f64(), rows = scored_rows.len(), "rows scored for the score's reference");
    let reference = crate::drift::Reference::fit_with_score(&data.features, scores);
    tracing::debug!(seconds = started.elapsed().as_secs_f64(), "drift reference");
    // The held-out scores reported: with a choice, each group's from the choice made without it.
    let held_out_scores = match choice.pick {
        Pick::Single(c) if single => calibrated_by_candidate.swap_remove(c),
        _ => choice.honest_scores,
    };
    let fold_models: Vec<(i64, LapseModel)> = match first_calibration {
        Some(method) if !fold_fits.is_empty() => fold_fits
            .into_iter()
            .enumerate()
            .map(|(f, (schema, estimator))| {
                let first = plan.folds[f].1.first().copied().unwrap_or(0);
                let value = data.fold.as_ref().map_or(f as i64, |fold| fold[first]);
                let calibrator = fold_calibrator(method, &raw_by_candidate[0], &layout.labels, &layout.fold_of_slot, f);
                (value, LapseModel::new(candidates[0].family, data.label_column.clone(), schema, estimator, calibrator))
            })
            .collect(),
        _ => Vec::new(),
    };
    let (fitted, held_out_fitted) = match (&data.group, &data.installment_no) {
        (Some(ids), Some(numbers)) => (
            Some(crate::fitted::FittedRenewals::of_rows(ids, numbers, 0..data.len())),
            (plan.validation == Validation::OutOfTime).then(|| crate::fitted::FittedRenewals::of_rows(ids, numbers, plan.folds[0].0.iter().copied())),
        ),
        _ => (None, None),
    };
    Ok(TrainOutcome { model, report, reference, held_out_rows: layout.held_out, held_out_scores, fitted, held_out_fitted, fold_models })
}
