//! The nightly job (`lapse nightly`): from the core system's extract as of night T, build the
//! scoring snapshot the server loads and a training table from a rolling window of past
//! snapshots whose outcomes are known; train a challenger; judge it against the champion on the
//! same latest fully labelled out-of-time rows; promote it or not (guard rails, margin; the
//! reasons go to the decision log); write the drift, evaluation, realised-performance and
//! persistency reports (JSON and HTML); optionally tell a running server to reload.
//!
//! Crash safety is two-phase. The *compute* phase writes only into a staging directory
//! (`REPORTS/.staging/T/`, plus the staged snapshot beside the served one) and registers the
//! challenger as a new, non-champion version (a registry version appears whole or not at all).
//! It ends by writing the run's plan (`nightly.json`, atomically): from then on the night is
//! decided. The *commit* phase applies the plan (promote, rename the snapshot into place,
//! update the decision log, rename the reports into `REPORTS/T/`); every commit step can be
//! repeated, so a run killed anywhere is finished by running it again: a compute phase without
//! a plan is thrown away and redone, a plan is replayed. `REPORTS/T/nightly.json` marks a night
//! done; running T again reports it and changes nothing. A lock file in the models directory
//! keeps two runs from overlapping. `docs/nightly.md` is the operator's guide.

pub mod decision;
mod summary;

pub use summary::{DecisionLine, DriftFacts, EvaluationReport, ExtractFacts, JudgedModel, ModelEvaluation, RunSummary, SnapshotFacts, StepTime, TrainingFacts};
use summary::upsert_decision;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::dates::{add_months, format_day, Day};
use crate::drift::{self, DriftReport, Reference, Thresholds};
use crate::extract::{load_book, OnError};
use crate::features::{BuildPlan, FEATURES};
use crate::io_util::atomic_write;
use crate::metrics::Evaluation;
use crate::model::LapseModel;
use crate::registry::{sha256_file, sha256_hex, Registry};
use crate::train::dataset::{FeatureColumn, FeatureValues};
use crate::train::{train, Dataset, DatasetOptions, Family, Params, TrainConfig, TrainOutcome, Validation};
use decision::{ChallengerFacts, ChampionState, Decision, GuardRail, PromotionPolicy};

/// Exit code: done, the challenger was promoted.
pub const EXIT_DONE: u8 = 0;
/// Exit code: done, the champion stays.
pub const EXIT_DONE_NO_PROMOTION: u8 = 3;

/// The environment variable that makes the job abort itself when it reaches a step (the
/// crash-safety tests kill the real binary at every step this way).
pub const CRASH_AT_ENV: &str = "LAPSE_NIGHTLY_CRASH_AT";

/// The steps, in order; each one is a point the job can be killed at.
pub const STEPS: [&str; 13] = [
    "load",
    "snapshot",
    "training-table",
    "book-reports",
    "train",
    "evaluate",
    "register",
    "reports",
    "plan",
    "promote",
    "publish-snapshot",
    "decision-log",
    "publish-reports",
];

/// What a nightly run needs.
#[derive(Debug, Clone)]
pub struct NightlyConfig {
    /// The extract directory.
    pub data: PathBuf,
    pub on_error: OnError,
    /// The model registry.
    pub models: PathBuf,
    /// The night: features are built as of T, outcomes known at T count.
    pub as_of: Day,
    /// Reports directory: `T/` per night, `decisions.jsonl`, the staging area.
    pub out: PathBuf,
    /// The snapshot the server loads (default `REPORTS/snapshot.parquet`).
    pub snapshot: PathBuf,
    pub horizon_days: i32,
    pub grace_days: i32,
    /// Training snapshots: monthly, this many, the latest fully labelled one first.
    pub window_months: u32,
    /// How many of the latest training snapshots are the out-of-time window.
    pub validation_snapshots: usize,
    pub families: Vec<Family>,
    pub params: Params,
    pub policy: PromotionPolicy,
    pub thresholds: Thresholds,
    /// The extract must record something within this many days before T.
    pub max_extract_age_days: i32,
    /// The scoring API's score log, for the realised-performance report.
    pub score_log: Option<PathBuf>,
    /// Draw progress bars.
    pub progress: bool,
}

impl NightlyConfig {
    /// A configuration with the documented defaults.
    pub fn new(data: PathBuf, models: PathBuf, as_of: Day, out: PathBuf) -> Self {
        let snapshot = out.join("snapshot.parquet");
        NightlyConfig {
            data,
            on_error: OnError::Strict,
            models,
            as_of,
            out,
            snapshot,
            horizon_days: 30,
            grace_days: 60,
            window_months: 12,
            validation_snapshots: 2,
            families: vec![Family::Gbdt],
            params: Params::default(),
            policy: PromotionPolicy::default(),
            thresholds: Thresholds::default(),
            max_extract_age_days: 7,
            score_log: None,
            progress: false,
        }
    }

    /// The training snapshot dates, ascending: monthly back from the latest date whose
    /// renewals' outcomes are all known at T (T - horizon - grace).
    pub fn training_dates(&self) -> Vec<Day> {
        let latest = self.as_of - self.horizon_days - self.grace_days;
        let mut dates: Vec<Day> = (0..self.window_months as i32).map(|k| add_months(latest, -k)).collect();
        dates.reverse();
        dates
    }

    fn night(&self) -> String {
        format_day(self.as_of)
    }

    fn staging(&self) -> PathBuf {
        self.out.join(".staging").join(self.night())
    }

    fn report_dir(&self) -> PathBuf {
        self.out.join(self.night())
    }

    /// Today's snapshot before it is renamed over the served one (beside it, so the rename
    /// stays on one file system).
    fn staged_snapshot(&self) -> PathBuf {
        let name = self.snapshot.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "snapshot.parquet".into());
        let ext = self.snapshot.extension().map(|e| e.to_string_lossy().into_owned()).unwrap_or_else(|| "parquet".into());
        self.snapshot.with_file_name(format!(".{name}.nightly-{}.{ext}", self.night()))
    }
}

/// The input was refused (stale or broken extract): exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("input rejected: {0}")]
pub struct InputRejected(pub String);

/// How a run ended.
#[derive(Debug, Clone)]
pub struct NightlyOutcome {
    pub summary: RunSummary,
    /// The night had been done before: nothing was changed.
    pub already_done: bool,
    /// A killed run's plan was found and applied.
    pub replayed: bool,
}

impl NightlyOutcome {
    pub fn exit_code(&self) -> u8 {
        self.summary.exit_code
    }
}

/// Aborts the process when [`CRASH_AT_ENV`] names `step` (crash-safety tests).
fn crash_point(step: &str) {
    if std::env::var(CRASH_AT_ENV).is_ok_and(|s| s == step) {
        eprintln!("{CRASH_AT_ENV}={step}: aborting here");
        std::process::abort();
    }
}

/// Runs the steps and records their times.
struct Steps {
    times: Vec<StepTime>,
}

impl Steps {
    fn run<T>(&mut self, step: &'static str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        crash_point(step);
        let started = Instant::now();
        tracing::info!(step, "step started");
        let result = f().with_context(|| format!("nightly step {step:?}"));
        let seconds = started.elapsed().as_secs_f64();
        tracing::info!(step, seconds, ok = result.is_ok(), "step finished");
        self.times.push(StepTime { step: step.to_string(), seconds });
        result
    }
}

/// The lock that keeps two runs apart: an advisory lock on `MODELS/.nightly.lock`, released
/// when the process ends, however it ends.
fn lock(models: &Path) -> Result<fs::File> {
    fs::create_dir_all(models).with_context(|| format!("creating {}", models.display()))?;
    let path = models.join(".nightly.lock");
    let file = fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).with_context(|| format!("opening {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => bail!("another nightly run holds {} (two runs never overlap); try again when it ends", path.display()),
        Err(fs::TryLockError::Error(e)) => Err(e).with_context(|| format!("locking {}", path.display())),
    }
}

fn write_json(path: &Path, value: &impl Serialize) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(value)?;
    atomic_write(path, |w| w.write_all(&bytes))?;
    Ok(())
}

fn read_summary(path: &Path) -> Result<RunSummary> {
    let bytes = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_slice(&bytes).with_context(|| format!("{} is not a nightly summary", path.display()))
}

/// The summary file's name, in the staging report directory (as the plan) and in `REPORTS/T/`.
pub const SUMMARY: &str = "nightly.json";
/// The decision log: one JSON line per night.
pub const DECISION_LOG: &str = "decisions.jsonl";

/// Runs the night (see the module docs).
pub fn run(config: &NightlyConfig) -> Result<NightlyOutcome> {
    let _lock = lock(&config.models)?;
    let done = config.report_dir().join(SUMMARY);
    if done.exists() {
        let summary = read_summary(&done)?;
        tracing::info!(night = %config.night(), "this night is done already; nothing to do");
        return Ok(NightlyOutcome { summary, already_done: true, replayed: false });
    }
    let staging = config.staging();
    // Another night left unfinished (failed, or killed and not run again) is said, not touched:
    // running that night again finishes or redoes it.
    if let Ok(entries) = fs::read_dir(config.out.join(".staging")) {
        for other in entries.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).filter(|n| *n != config.night()) {
            tracing::warn!(night = %other, "night {other} was left unfinished: run `lapse nightly --as-of {other}` again to finish it, or delete its staging directory");
        }
    }
    let plan_path = staging.join("report").join(SUMMARY);
    let mut steps = Steps { times: Vec::new() };
    let (mut summary, replayed) = if plan_path.exists() {
        tracing::warn!(plan = %plan_path.display(), "a killed run's plan found: applying it");
        (read_summary(&plan_path)?, true)
    } else {
        if staging.exists() {
            tracing::warn!(staging = %staging.display(), "a killed run's staging area found: starting the night again");
            fs::remove_dir_all(&staging).with_context(|| format!("removing {}", staging.display()))?;
        }
        let mut summary = compute(config, &mut steps)?;
        summary.steps.append(&mut steps.times);
        (summary, false)
    };
    summary.replayed = replayed;
    commit(config, &mut summary, &mut steps)?;
    Ok(NightlyOutcome { summary, already_done: false, replayed })
}

/// The compute phase: everything into staging, ending with the plan.
fn compute(config: &NightlyConfig, steps: &mut Steps) -> Result<RunSummary> {
    let started_at = crate::dates::now_utc_rfc3339();
    let staging = config.staging();
    let report_dir = staging.join("report");
    fs::create_dir_all(&report_dir).with_context(|| format!("creating {}", report_dir.display()))?;
    let registry = Registry::new(&config.models);
    let night = config.night();

    let loaded = steps.run("load", || {
        let loaded = load_book(&config.data, config.on_error).with_context(|| format!("reading the extract in {}", config.data.display()))?;
        let latest = loaded.book.latest_observed;
        match latest {
            Some(latest) if latest >= config.as_of - config.max_extract_age_days => {}
            _ => {
                return Err(InputRejected(format!(
                    "the extract in {} records nothing after {}, more than {} days before the night {night}: it looks stale (or give --max-extract-age-days)",
                    config.data.display(),
                    latest.map_or("(no date at all)".into(), format_day),
                    config.max_extract_age_days
                ))
                .into());
            }
        }
        if !loaded.rejected.is_empty() {
            let path = report_dir.join("rejects.csv");
            loaded.rejected.write_rejects(&path)?;
            let published = config.report_dir().join("rejects.csv");
            tracing::warn!(rows = loaded.rejected.bad_row_count(), rejects = %published.display(), "bad rows skipped (--on-error skip); their reasons will be in the night's reports");
        }
        Ok(loaded)
    })?;
    let book = &loaded.book;
    let extract = ExtractFacts {
        policies: book.policies.len(),
        installments: book.installments.len(),
        events: book.events.len(),
        rejected_rows: loaded.rejected.bad_row_count(),
        latest_observed: book.latest_observed.map(format_day),
    };

    let staged_snapshot = config.staged_snapshot();
    let snapshot_rows = steps.run("snapshot", || {
        let plan = BuildPlan { as_of: vec![config.as_of], horizon_days: config.horizon_days, grace_days: config.grace_days, extract_date: config.as_of };
        Ok(plan.write(book, &staged_snapshot)?.rows)
    })?;

    let training_path = staging.join("training.parquet");
    let dates = config.training_dates();
    steps.run("training-table", || {
        let plan = BuildPlan { as_of: dates.clone(), horizon_days: config.horizon_days, grace_days: config.grace_days, extract_date: config.as_of };
        plan.write_with_progress(book, &training_path, config.progress)?;
        Ok(())
    })?;

    // The reports that need the book, made now so the book can be dropped before training (it
    // is the biggest thing in memory besides the training table).
    let (persistency, realised) = steps.run("book-reports", || {
        let persistency = crate::persistency::report(book, config.as_of, config.grace_days);
        let realised = match &config.score_log {
            Some(dir) if dir.is_dir() => Some(crate::realised::report(dir, book, config.as_of, config.grace_days)?),
            Some(dir) => {
                tracing::warn!(score_log = %dir.display(), "no score log there yet: no realised-performance report tonight");
                None
            }
            None => None,
        };
        Ok((persistency, realised))
    })?;
    drop(loaded);

    let (data, outcome) = steps.run("train", || {
        // Read only now: the training table and the book are the two biggest things in memory.
        let data = Dataset::read(&training_path, &DatasetOptions::default())?;
        let train_config = TrainConfig {
            families: config.families.clone(),
            validation: Some(Validation::OutOfTime),
            folds: 5,
            validation_snapshots: config.validation_snapshots,
            params: config.params.clone(),
            progress: config.progress,
        };
        let outcome = train(&data, &train_config)?;
        Ok((data, outcome))
    })?;
    let challenger_sha = sha256_hex(&outcome.model.to_json());

    // Today's snapshot as the trainer types feature columns.
    let snapshot_features = drift::read_features(&staged_snapshot).map_err(|e| anyhow::anyhow!("{}: {e}", staged_snapshot.display()))?;

    let judged = steps.run("evaluate", || judge(config, &registry, &data, &outcome, &snapshot_features, snapshot_rows, &challenger_sha))?;

    let version = steps.run("register", || {
        if let Some(version) = registry.find_artifact(&challenger_sha)? {
            tracing::info!(%version, "the challenger is registered already (same artifact)");
            return Ok(version);
        }
        let source = format!(
            "nightly {night}: {} monthly snapshots {}..{} of {}",
            dates.len(),
            format_day(dates[0]),
            format_day(*dates.last().expect("window >= 1")),
            config.data.display()
        );
        Ok(registry.register_described(&outcome.model, &outcome.report, Some(&outcome.reference), &source, &sha256_file(&training_path)?, &started_at)?)
    })?;

    let (reports, drift_facts) = steps.run("reports", || {
        // The model that serves after tonight: its reference is what today is compared with.
        let serving: Option<(String, &LapseModel, Option<Reference>)> = if judged.decision.promote {
            Some((version.clone(), &outcome.model, Some(outcome.reference.clone())))
        } else {
            match &judged.champion_model {
                Some((v, model)) => Some((v.clone(), model, registry.reference(v)?)),
                None => None,
            }
        };
        let (drift_model, model, reference) = match serving {
            Some((v, model, Some(reference))) => (v, model, reference),
            // No serving model, or one registered without a reference: the challenger's.
            _ => (format!("{version} (challenger)"), &outcome.model, outcome.reference.clone()),
        };
        let drift_report = drift_with_score(&reference, model, snapshot_features.clone(), config.thresholds)?;
        let mut files = Vec::new();
        let mut put = |name: &str, write: &dyn Fn(&Path) -> Result<()>| -> Result<()> {
            write(&report_dir.join(name))?;
            files.push(name.to_string());
            Ok(())
        };
        let context = crate::html::Context { night: night.clone(), generated_at: started_at.clone() };
        put("drift.json", &|p| write_json(p, &drift_report))?;
        put("drift.html", &|p| write_html(p, &crate::html::drift_page(&context, &drift_model, &drift_report)))?;

        let evaluation = EvaluationReport {
            as_of: night.clone(),
            window: outcome.report.validation_window.clone(),
            rows: judged.labels.len(),
            challenger: ModelEvaluation { version: version.clone(), family: outcome.model.family.as_str().to_string(), evaluation: judged.challenger.clone() },
            champion: judged.champion_model.as_ref().zip(judged.champion_eval.as_ref()).map(|((v, m), e)| ModelEvaluation {
                version: v.clone(),
                family: m.family.as_str().to_string(),
                evaluation: e.clone(),
            }),
            guard_rails: judged.rails.clone(),
            decision: judged.decision.clone(),
            notes: judged.notes.clone(),
        };
        put("evaluation.json", &|p| write_json(p, &evaluation))?;
        put("evaluation.html", &|p| write_html(p, &crate::html::evaluation_page(&context, &evaluation)))?;
        put("evaluation.parquet", &|p| {
            write_evaluation_rows(p, &data, &outcome.held_out_rows, &judged.labels, &judged.values, &outcome.held_out_scores, judged.champion_scores.as_deref())
        })?;

        put("persistency.json", &|p| write_json(p, &persistency))?;
        put("persistency.html", &|p| write_html(p, &crate::html::persistency_page(&context, &persistency)))?;
        if let Some(realised) = &realised {
            put("realised.json", &|p| write_json(p, realised))?;
            put("realised.html", &|p| write_html(p, &crate::html::realised_page(&context, realised)))?;
        }
        let drift_facts = DriftFacts {
            model: drift_model,
            flagged: drift_report.flagged.clone(),
            act: drift_report.features.iter().filter(|f| f.status == "act").map(|f| f.feature.clone()).collect(),
            score_psi: drift_report.features.iter().find(|f| f.feature == drift::SCORE).map(|f| f.psi),
        };
        Ok((files, drift_facts))
    })?;

    steps.run("plan", || {
        let report = &outcome.report;
        let summary = RunSummary {
            as_of: night.clone(),
            started_at: started_at.clone(),
            lapse_version: env!("CARGO_PKG_VERSION").to_string(),
            data: config.data.display().to_string(),
            models: config.models.display().to_string(),
            extract,
            snapshot: SnapshotFacts {
                path: config.snapshot.display().to_string(),
                rows: snapshot_rows,
                sha256: sha256_file(&staged_snapshot)?,
                horizon_days: config.horizon_days,
            },
            training: TrainingFacts {
                snapshots: dates.iter().map(|&d| format_day(d)).collect(),
                rows_labelled: report.rows_labelled,
                rows_unlabelled: report.rows_unlabelled,
                rows_train: report.rows_train,
                rows_validation: report.rows_validation,
                lapse_rate: report.lapse_rate,
                training_window: report.training_window.clone(),
                validation_window: report.validation_window.clone(),
                table_sha256: sha256_file(&training_path)?,
            },
            challenger: JudgedModel::of(&version, outcome.model.family.as_str(), &judged.challenger),
            champion_before: judged.champion_before.clone(),
            champion: judged.champion_model.as_ref().zip(judged.champion_eval.as_ref()).map(|((v, m), e)| JudgedModel::of(v, m.family.as_str(), e)),
            notes: judged.notes.clone(),
            guard_rails: judged.rails.clone(),
            champion_after: if judged.decision.promote { Some(version.clone()) } else { judged.champion_before.clone() },
            decision: judged.decision.clone(),
            drift: drift_facts,
            reports,
            steps: Vec::new(),
            exit_code: if judged.decision.promote { EXIT_DONE } else { EXIT_DONE_NO_PROMOTION },
            finished_at: None,
            replayed: false,
        };
        let mut summary = summary;
        summary.reports.insert(0, "index.html".into());
        let context = crate::html::Context { night: night.clone(), generated_at: started_at.clone() };
        write_html(&report_dir.join("index.html"), &crate::html::index_page(&context, &summary))?;
        // The training table is not needed after this: only its checksum is kept.
        fs::remove_file(&training_path).with_context(|| format!("removing {}", training_path.display()))?;
        write_json(&report_dir.join(SUMMARY), &summary)?;
        Ok(summary)
    })
}

/// The challenger and the champion judged on the same held-out rows, and the decision.
struct Judged {
    labels: Vec<u8>,
    values: Vec<f64>,
    challenger: Evaluation,
    champion_before: Option<String>,
    champion_scores: Option<Vec<f64>>,
    champion_eval: Option<Evaluation>,
    champion_model: Option<(String, LapseModel)>,
    rails: Vec<GuardRail>,
    decision: Decision,
    notes: Vec<String>,
}

/// Judges the challenger (guard rails) and the champion on the challenger's held-out rows, and
/// decides.
fn judge(
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
    let mut missing_today: Vec<String> = today.missing_features.iter().filter(|f| f.as_str() != drift::SCORE).cloned().collect();
    missing_today.extend(today.features.iter().filter(|f| f.missing_current >= 0.999 && f.missing_reference < 0.999).map(|f| f.feature.clone()));
    let cannot_score_today = outcome.model.design(snapshot_features, &[0]).err().filter(|_| snapshot_rows > 0);
    let facts = ChallengerFacts {
        train_rows: outcome.report.rows_train,
        evaluation: &challenger,
        features_absent_from_training: absent,
        features_missing_today: missing_today,
        cannot_score_today,
    };
    let rails = decision::guard_rails(&config.policy, &facts);
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
    let decision = decision::decide(&config.policy, &rails, &challenger, &state);
    tracing::info!(promote = decision.promote, reason = %decision.reasons[0], "decision");
    Ok(Judged { labels, values, challenger, champion_before, champion_scores, champion_eval, champion_model, rails, decision, notes })
}

/// The commit phase: applies the plan; every step can run again after a crash.
fn commit(config: &NightlyConfig, summary: &mut RunSummary, steps: &mut Steps) -> Result<()> {
    let registry = Registry::new(&config.models);
    let staging = config.staging();
    let staged_report = staging.join("report");
    steps.run("promote", || {
        if summary.decision.promote {
            let version = &summary.challenger.version;
            if registry.champion()?.as_deref() != Some(version.as_str()) {
                registry.promote(version)?;
                tracing::info!(%version, "promoted");
            }
        }
        Ok(())
    })?;
    steps.run("publish-snapshot", || {
        let staged = config.staged_snapshot();
        if staged.exists() {
            fs::rename(&staged, &config.snapshot).with_context(|| format!("renaming {} to {}", staged.display(), config.snapshot.display()))?;
        } else if !config.snapshot.exists() {
            bail!("the staged snapshot {} is gone and {} does not exist", staged.display(), config.snapshot.display());
        }
        Ok(())
    })?;
    steps.run("decision-log", || upsert_decision(&config.out.join(DECISION_LOG), summary))?;
    // Publishing the reports is the last step: its own time is not in the summary it publishes.
    crash_point("publish-reports");
    let target = config.report_dir();
    if staged_report.exists() {
        summary.steps.append(&mut steps.times);
        summary.finished_at = Some(crate::dates::now_utc_rfc3339());
        write_json(&staged_report.join(SUMMARY), summary)?;
        fs::rename(&staged_report, &target).with_context(|| format!("renaming {} to {}", staged_report.display(), target.display()))?;
    }
    fs::remove_dir_all(&staging).with_context(|| format!("removing {}", staging.display()))?;
    // The staging root goes too when no other night is in it (fails harmlessly otherwise).
    if let Some(root) = staging.parent() {
        let _ = fs::remove_dir(root);
    }
    tracing::info!(reports = %target.display(), "night done");
    Ok(())
}

/// Drift of today's features and of the model's score on them.
fn drift_with_score(reference: &Reference, model: &LapseModel, mut features: Vec<FeatureColumn>, thresholds: Thresholds) -> Result<DriftReport> {
    let rows = features.first().map_or(0, |c| c.values.len());
    if rows > 0 {
        let all: Vec<usize> = (0..rows).collect();
        match model.design(&features, &all) {
            Ok(design) => {
                let scores = model.predict_design(&design);
                features.push(FeatureColumn { name: drift::SCORE.into(), values: FeatureValues::Numeric(scores) });
            }
            Err(e) => tracing::warn!(reason = %e, "the model cannot score today's snapshot: no score drift tonight"),
        }
    }
    Ok(reference.compare(&features, thresholds))
}

fn write_html(path: &Path, page: &str) -> Result<()> {
    atomic_write(path, |w| w.write_all(page.as_bytes()))?;
    Ok(())
}

/// The held-out rows with both models' scores, for analysts (`evaluation.parquet`).
fn write_evaluation_rows(path: &Path, data: &Dataset, rows: &[usize], labels: &[u8], values: &[f64], challenger: &[f64], champion: Option<&[f64]>) -> Result<()> {
    use polars::prelude::*;
    let mut columns: Vec<Column> = Vec::new();
    if let Some(as_of) = &data.as_of {
        columns.push(Int32Chunked::from_vec("as_of".into(), rows.iter().map(|&r| as_of[r]).collect()).into_date().into_column());
    }
    if let Some(group) = &data.group {
        columns.push(Column::new("policy_id".into(), rows.iter().map(|&r| group[r].as_str()).collect::<Vec<_>>()));
    }
    if let Some(number) = &data.installment_no {
        columns.push(Column::new("installment_no".into(), rows.iter().map(|&r| number[r]).collect::<Vec<_>>()));
    }
    columns.push(Column::new("lapsed".into(), labels.iter().map(|&y| i32::from(y)).collect::<Vec<_>>()));
    columns.push(Column::new("value".into(), values));
    columns.push(Column::new("challenger".into(), challenger));
    if let Some(champion) = champion {
        columns.push(Column::new("champion".into(), champion));
    }
    let mut frame = DataFrame::new(rows.len(), columns)?;
    crate::io_util::atomic_write_with(path, |file| {
        ParquetWriter::new(file).finish(&mut frame).map(|_| ()).map_err(std::io::Error::other)
    })?;
    Ok(())
}

/// Asks a running server to load the champion and the snapshot again
/// (`POST /v1/admin/reload` with the admin token).
pub fn reload_server(base_url: &str, admin_token: &str) -> Result<String> {
    let url = format!("{}/v1/admin/reload", base_url.trim_end_matches('/'));
    let response = ureq::post(&url)
        .header("Authorization", &format!("Bearer {admin_token}"))
        .config()
        .http_status_as_error(false)
        .build()
        .send_empty()
        .with_context(|| format!("POST {url}"))?;
    let status = response.status();
    let body = response.into_body().read_to_string().unwrap_or_default();
    if !status.is_success() {
        bail!("POST {url}: {status}: {body}");
    }
    Ok(body)
}
