//! The compute phase: one small function per step over the night's shared context
//! ([`Night`]), everything written into staging, ending with the plan (`nightly.json`).

use std::fs;
use std::path::{Path, PathBuf};

use lapse_core::dates::{Day, format_day, now_utc_rfc3339};
use lapse_core::extract::{Book, LoadedBook, load_book_encoded};
use lapse_core::features::BuildPlan;
use lapse_core::io_util::atomic_write_with;
use lapse_core::table::{FeatureColumn, read_features};
use lapse_model::artifact::LapseModel;
use lapse_model::drift::{Reference, SCORE, Status};
use lapse_model::registry::{Registry, sha256_file, sha256_hex};
use lapse_model::train::{Dataset, DatasetOptions, TrainConfig, TrainOutcome, Validation, train_deciding_groups};
use lapse_reports::effect::{self, EffectReport};
use lapse_reports::night::{DriftFacts, EvaluationReport, ExtractFacts, JudgedModel, ModelEvaluation, RunSummary, SnapshotFacts, TrainingFacts};
use lapse_reports::pages::{drift_page, effect_page, evaluation_page, index_page, persistency_page, realised_page};
use lapse_reports::persistency::{self, PersistencyReport};
use lapse_reports::realised::{self, RealisedReport};
use lapse_reports::{Context, Exporter, write_html, write_json};
use lapse_retention::campaign::store::Record;
use lapse_retention::campaign::{Campaign, CampaignStore};

use crate::config::CAMPAIGN_REPORT_DAYS;
use crate::config::NightlyConfig;
use crate::error::{NightlyError, Result};
use crate::judge::{Judged, judge};
use crate::steps::{SUMMARY, Steps, Verdict};

/// What every step of the compute phase shares: the configuration, the registry, the staging
/// paths and the training window.
struct Night<'c> {
    config: &'c NightlyConfig,
    registry: Registry,
    night: String,
    started_at: String,
    /// `REPORTS/.staging/T/report`: becomes `REPORTS/T/` at commit.
    report_dir: PathBuf,
    /// Today's snapshot, beside the served one until commit.
    staged_snapshot: PathBuf,
    /// The stacked training table (removed once its checksum is in the plan).
    training_path: PathBuf,
    dates: Vec<Day>,
}

/// The reports made from the book (before it is dropped to make room for training).
struct BookReports {
    persistency: PersistencyReport,
    realised: Option<RealisedReport>,
    /// The effects of the campaigns that matured lately.
    campaigns: Vec<EffectReport>,
    /// Win-back candidates written to the report directory (`winback.parquet`).
    winback: Option<usize>,
    /// The renewal funnel of the last 12 due months.
    funnel: lapse_reports::funnel::FunnelReport,
    /// Team performance: the last three closed due months and the month to date.
    performance: lapse_reports::performance::PerformanceReport,
}

/// Tonight's data-quality audit, kept for the reports.
struct NightAudit {
    previous_night: String,
    report: lapse_core::audit::AuditReport,
}

impl NightAudit {
    fn facts(self) -> lapse_reports::night::AuditFacts {
        let r = self.report;
        lapse_reports::night::AuditFacts {
            previous_night: self.previous_night,
            checks: r.checks.iter().map(|c| (c.check.clone(), c.table.clone(), c.rows)).collect(),
            warnings: r.verdict.map(|v| v.warnings).unwrap_or_default(),
            training_labels_changed: r.training_labels_changed,
        }
    }
}

/// The fingerprint file of the latest accepted night before `night` in `dir` (`T.fp`).
fn previous_fingerprint(dir: &Path, night: &str) -> Option<(String, PathBuf)> {
    let entries = fs::read_dir(dir).ok()?;
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_string();
            let stem = name.strip_suffix(".fp")?.to_string();
            (lapse_core::dates::parse_day(&stem).is_some() && stem.as_str() < night).then(|| (stem, e.path()))
        })
        .max()
}

/// The challenger, the table it was trained on, and its artifact's checksum.
struct Trained {
    data: Dataset,
    outcome: TrainOutcome,
    sha256: String,
}

/// The compute phase (see the crate docs).
pub(crate) fn compute(config: &NightlyConfig, steps: &mut Steps) -> Result<RunSummary> {
    let night = Night::new(config)?;
    // The audit first, so its memory is free before the book is read; its verdict after the
    // contract's checks (a broken extract is told as broken), before anything is built: an
    // extract the audit refuses changes nothing.
    let audit = steps.run("audit", || night.audit())?;
    let loaded = steps.run("load", || night.load())?;
    if let Some(audit) = &audit {
        night.refuse_above_stop(audit)?;
    }
    let extract = extract_facts(&loaded);
    let snapshot_rows = steps.run("snapshot", || night.build_snapshot(&loaded.book))?;
    steps.run("training-table", || night.build_training_table(&loaded.book))?;
    let book_reports = steps.run("book-reports", || night.book_reports(&loaded.book))?;
    // The book and the training table are the two biggest things in memory: never both.
    drop(loaded);
    let trained = steps.run("train", || night.train())?;
    let today = read_features(&night.staged_snapshot)?;
    let judged = steps.run("evaluate", || judge(config, &night.registry, &trained.data, &trained.outcome, &today, snapshot_rows, &trained.sha256))?;
    let version = steps.run("register", || night.register(&trained))?;
    let (reports, drift) = steps.run("reports", || night.write_reports(&trained, &judged, &version, today, &book_reports, audit.as_ref()))?;
    let audit_facts = audit.map(|a| a.facts());
    steps.run("plan", || night.write_plan(extract, snapshot_rows, &trained, &judged, version, reports, drift, audit_facts))
}

fn extract_facts(loaded: &LoadedBook) -> ExtractFacts {
    let book = &loaded.book;
    ExtractFacts {
        policies: book.policies.len(),
        installments: book.installments.len(),
        events: book.events.len(),
        rejected_rows: loaded.rejected.bad_row_count(),
        latest_observed: book.latest_observed.map(format_day),
    }
}

impl<'c> Night<'c> {
    fn new(config: &'c NightlyConfig) -> Result<Self> {
        let staging = config.staging();
        let report_dir = staging.join("report");
        fs::create_dir_all(&report_dir).map_err(|e| NightlyError::file(&report_dir, e))?;
        Ok(Night {
            config,
            registry: Registry::new(&config.models),
            night: config.night(),
            started_at: now_utc_rfc3339(),
            report_dir,
            staged_snapshot: config.staged_snapshot(),
            training_path: staging.join("training.parquet"),
            dates: config.training_dates(),
        })
    }

    /// `audit`: tonight's extract against the last accepted night's fingerprint (the
    /// contract's late entries, changes after the fact, vanished rows, statuses, amounts) and
    /// the thresholds' verdict; tonight's fingerprint staged for commit (a second pass, once
    /// the previous one is dropped).
    fn audit(&self) -> Result<Option<NightAudit>> {
        let c = self.config;
        if !c.audit {
            return Ok(None);
        }
        let staged = self.staged_fingerprint();
        let Some((previous_night, path)) = previous_fingerprint(&c.fingerprints(), &self.night) else {
            // The first night (or the first with the audit): only the fingerprint, for tomorrow.
            let print = lapse_core::audit::fingerprint_extract(&c.data, c.encoding, None)?;
            print.write(&staged).map_err(|e| NightlyError::file(&staged, e))?;
            tracing::info!(fingerprint = %staged.display(), "no earlier fingerprint: tonight's extract is not audited, its fingerprint is kept for tomorrow");
            return Ok(None);
        };
        let previous = lapse_core::audit::Fingerprint::read(&path).map_err(|e| NightlyError::file(&path, e))?;
        let options = lapse_core::audit::AuditOptions { grace_days: c.grace_days, encoding: c.encoding, current_date: None, examples: 10 };
        let run = lapse_core::audit::audit_extract(&c.data, &previous, &options)?;
        drop(previous);
        let mut report = run.report;
        report.training_labels_changed = self.training_labels_changed(&run.moved_labels)?;
        let verdict = c.audit_thresholds.judge(&report);
        report.verdict = Some(verdict.clone());
        for w in &verdict.warnings {
            tracing::warn!(check = %w, "data-quality audit: above the warn threshold");
        }
        if verdict.stops.is_empty() {
            let date = report.current.extract_date.as_deref().and_then(lapse_core::dates::parse_day);
            let today = lapse_core::audit::fingerprint_extract(&c.data, c.encoding, date)?;
            today.write(&staged).map_err(|e| NightlyError::file(&staged, e))?;
        }
        Ok(Some(NightAudit { previous_night, report }))
    }

    /// Above a `stop` threshold the extract is refused: the audit goes to
    /// `REPORTS/rejected/T/` and nothing else is written.
    fn refuse_above_stop(&self, audit: &NightAudit) -> Result<()> {
        let c = self.config;
        let Some(verdict) = audit.report.verdict.as_ref().filter(|v| !v.stops.is_empty()) else { return Ok(()) };
        let dir = c.rejected_dir();
        fs::create_dir_all(&dir).map_err(|e| NightlyError::file(&dir, e))?;
        write_json(&dir.join("audit.json"), &audit.report)?;
        let history = lapse_reports::audit::history(&c.out, &self.night);
        write_html(&dir.join("audit.html"), &lapse_reports::pages::audit_page(&self.context(), &audit.report, &history))?;
        Err(NightlyError::InputRejected(format!(
            "the data-quality audit against the extract of {} refuses tonight's: {}; the audit is in {}",
            audit.previous_night,
            verdict.stops.join("; "),
            dir.join("audit.html").display()
        )))
    }

    /// How many of the champion's training renewals had their label moved (None without a
    /// champion or its list of fitted renewals).
    fn training_labels_changed(&self, moved: &[(String, u32)]) -> Result<Option<usize>> {
        let Some(champion) = self.registry.champion()? else { return Ok(None) };
        let Some(fitted) = self.registry.fitted(&champion)? else { return Ok(None) };
        Ok(Some(moved.iter().filter(|(id, no)| fitted.contains(lapse_model::fitted::renewal_key(id, i64::from(*no)))).count()))
    }

    /// Tonight's fingerprint, staged until commit.
    fn staged_fingerprint(&self) -> PathBuf {
        self.config.staging().join("extract.fp")
    }

    /// `load`: the extract, checked; refused when stale.
    fn load(&self) -> Result<LoadedBook> {
        let config = self.config;
        let mut loaded = load_book_encoded(&config.data, config.on_error, config.encoding)?;
        // What agents recorded: the features of the family "recorded contact outcomes" (each
        // snapshot reads only those dated before its T).
        if let Some(outcomes) = &config.outcomes {
            let unmatched = loaded.book.attach_contacts(outcomes.iter().map(|o| o.recorded()));
            tracing::info!(outcomes = outcomes.len(), unmatched, "recorded contact outcomes attached");
        }
        let latest = loaded.book.latest_observed;
        match latest {
            Some(latest) if latest >= config.as_of - config.max_extract_age_days => {}
            _ => {
                return Err(NightlyError::InputRejected(format!(
                    "the extract in {} records nothing after {}, more than {} days before the night {}: it looks stale (or give --max-extract-age-days)",
                    config.data.display(),
                    latest.map_or("(no date at all)".into(), format_day),
                    config.max_extract_age_days,
                    self.night
                )));
            }
        }
        if !loaded.rejected.is_empty() {
            loaded.rejected.write_rejects(&self.report_dir.join("rejects.csv"))?;
            let published = config.report_dir().join("rejects.csv");
            tracing::warn!(rows = loaded.rejected.bad_row_count(), rejects = %published.display(), "bad rows skipped (--on-error skip); their reasons will be in the night's reports");
        }
        Ok(loaded)
    }

    /// `snapshot`: today's renewals at risk, staged beside the served snapshot.
    fn build_snapshot(&self, book: &Book) -> Result<usize> {
        let c = self.config;
        let plan = BuildPlan { as_of: vec![c.as_of], horizon_days: c.horizon_days, grace_days: c.grace_days, extract_date: c.as_of };
        Ok(plan.write(book, &self.staged_snapshot)?.rows)
    }

    /// `training-table`: the monthly snapshots of the window, stacked.
    fn build_training_table(&self, book: &Book) -> Result<()> {
        let c = self.config;
        let plan = BuildPlan { as_of: self.dates.clone(), horizon_days: c.horizon_days, grace_days: c.grace_days, extract_date: c.as_of };
        plan.write_sampled(book, &self.training_path, c.progress, None, c.max_train_rows)?;
        Ok(())
    }

    /// `book-reports`: persistency, and realised performance when there is a score log.
    fn book_reports(&self, book: &Book) -> Result<BookReports> {
        let c = self.config;
        let persistency = persistency::report(book, c.as_of, c.grace_days);
        let realised = match &c.score_log {
            Some(dir) if dir.is_dir() => Some(realised::report(dir, book, c.as_of, c.grace_days)?),
            Some(dir) => {
                tracing::warn!(score_log = %dir.display(), "no score log there yet: no realised-performance report tonight");
                None
            }
            None => None,
        };
        let all_campaigns = self.all_campaigns(c.campaigns.as_deref());
        let campaigns = self.matured_campaigns(&all_campaigns, book);
        // The lapsed policies that can still be won back tonight (the contract's 730-day window),
        // ranked by the reinstatement model of `<models>/winback` when it has a champion,
        // written with the reports; a failure costs the list (or its model ranking), never the
        // night.
        let cap = lapse_retention::Economics::default().value_cap_years;
        let models = c.models.join("winback");
        let days = lapse_core::winback::REINSTATEMENT_DAYS;
        let list = lapse_retention::winback::winback_list(book, c.as_of, c.grace_days, days, cap, Some(&models), c.report_lang).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "win-back list ranked by value x recency tonight");
            lapse_retention::winback::fallback_list(book, c.as_of, c.grace_days, days, cap, c.report_lang)
        });
        let written = std::fs::create_dir_all(&self.report_dir).map_err(|e| e.to_string()).and_then(|()| {
            let path = self.report_dir.join("winback.parquet");
            lapse_core::winback::write(&path, book, &list.candidates, c.as_of, &list.basis, &list.reasons).map_err(|e| e.to_string())
        });
        let winback = written.map_err(|e| tracing::warn!(error = %e, "no win-back list tonight")).ok();
        // What agents recorded before tonight (the outcome store, when the night has one).
        let before_tonight: Option<Vec<lapse_retention::outcomes::Outcome>> =
            c.outcomes.as_ref().map(|all| all.iter().filter(|o| o.day < c.as_of).cloned().collect());
        let recorded = before_tonight.as_deref().map(|o| lapse_reports::funnel::recorded_outcomes(o, c.as_of));
        // The funnel, with the `listed` step when the night has a score log.
        let listed = c.score_log.as_deref().filter(|dir| dir.exists()).and_then(|dir| {
            lapse_reports::funnel::listed_from_log(dir, c.as_of).map_err(|e| tracing::warn!(error = %e, "funnel without the score log tonight")).ok()
        });
        let funnel = lapse_reports::funnel::report(
            book,
            c.as_of,
            c.grace_days,
            lapse_reports::funnel::DEFAULT_MONTHS,
            listed.as_ref().map(|(l, read)| (l, read.log_lines)),
            recorded.as_ref(),
        );
        let listed = listed.map(|(l, read)| (l, read.log_lines));
        let performance = self.performance(book, &all_campaigns, listed);
        Ok(BookReports { persistency, realised, campaigns, winback, funnel, performance })
    }

    /// Team performance (续期考核): the last three closed due months and every month since, by
    /// every level the extract gives, against the configured targets, risk-adjusted with the
    /// champion when there is one (a champion that cannot score costs the adjustment, never the
    /// night).
    /// With the outcome store (or a score log), the work behind the figures; the campaigns with
    /// a control arm give save rates by team.
    fn performance(
        &self,
        book: &Book,
        campaigns: &[(Record, Campaign)],
        listed: Option<(lapse_reports::funnel::Listed, usize)>,
    ) -> lapse_reports::performance::PerformanceReport {
        use lapse_reports::performance::{self, Level, PerformanceOptions, RenewalInputs};
        let c = self.config;
        let months = performance::default_months(c.as_of, c.grace_days, 3);
        let options =
            PerformanceOptions { as_of: c.as_of, months, levels: Level::ALL.to_vec(), grace_days: c.grace_days, targets: c.targets.clone() };
        let expected = self.registry.load_champion().ok().and_then(|champion| {
            let fitted = self.registry.fitted(&champion.version).ok().flatten();
            performance::expected::expected_lapse(book, &champion.model, &champion.version, fitted.as_ref(), &options.months, c.grace_days)
                .map_err(|e| tracing::warn!(error = %e, "team performance without risk adjustment tonight"))
                .ok()
        });
        let work = performance::work::inputs(book, c.as_of, c.outcomes.as_deref().map(Vec::as_slice), campaigns, listed);
        let inputs = RenewalInputs {
            expected: expected.as_ref().map(|(l, r)| (l.as_slice(), r)),
            work: work.as_ref().map(|(flags, source)| (flags.as_slice(), source)),
        };
        let mut report = performance::report(book, &options, inputs);
        report.campaign_save_rates = performance::campaign_save_rates(campaigns, book, &options, c.outcomes.as_deref().map(Vec::as_slice));
        report
    }

    /// Every campaign of the campaigns directory, then the store's the directory does not hold
    /// (created by a server started elsewhere). A campaign that cannot be read is logged and
    /// skipped: it never fails the night.
    fn all_campaigns(&self, dir: Option<&Path>) -> Vec<(Record, Campaign)> {
        let c = self.config;
        let mut found: Vec<(Record, Campaign)> = Vec::new();
        if let Some(dir) = dir {
            let store = CampaignStore::new(dir);
            let names = store.names().unwrap_or_else(|e| {
                tracing::warn!(dir = %dir.display(), error = %e, "cannot list the campaigns: no campaign reports from the directory tonight");
                Vec::new()
            });
            for name in names {
                match store.load(&name) {
                    Ok(loaded) => found.push(loaded),
                    Err(e) => tracing::warn!(campaign = %name, error = %e, "cannot read the campaign: no effect report for it"),
                }
            }
        }
        for (record, campaign) in c.stored_campaigns.iter().flat_map(|all| all.iter()) {
            if !found.iter().any(|(r, _)| r.settings.name == record.settings.name) {
                found.push((record.clone(), campaign.clone()));
            }
        }
        found
    }

    /// The effect reports of the campaigns whose every renewal matured within the last
    /// [`CAMPAIGN_REPORT_DAYS`] days (costs from the economics each ran with).
    fn matured_campaigns(&self, campaigns: &[(Record, Campaign)], book: &Book) -> Vec<EffectReport> {
        let c = self.config;
        let mut reports = Vec::new();
        for (record, campaign) in campaigns {
            let name = &record.settings.name;
            let last_due = campaign.rows.iter().map(|r| r.due_date).max().unwrap_or(record.settings.as_of);
            let readable_on = last_due + c.grace_days + 1;
            if !(readable_on <= c.as_of && c.as_of - readable_on < CAMPAIGN_REPORT_DAYS) {
                continue;
            }
            match effect::stored_campaign_report(record, campaign, book, c.as_of, c.grace_days, c.outcomes.as_deref().map(Vec::as_slice)) {
                Ok(report) => reports.push(report),
                Err(e) => tracing::warn!(campaign = %name, error = %e, "no effect report for this campaign"),
            }
        }
        reports
    }

    /// `train`: the challenger, validated out of time on the window's latest snapshots.
    fn train(&self) -> Result<Trained> {
        let c = self.config;
        let data = Dataset::read(&self.training_path, &DatasetOptions::default())?;
        // Several families (`--model auto`): search the grid and blend as `lapse train` does on
        // a search night, else train the last search's pick (decision 44).
        let last = crate::search::last_search(&self.registry, c.as_of);
        let plan = crate::search::plan(&c.families, c.search_every_days, c.as_of, last.as_ref(), &c.out.join(crate::steps::DECISION_LOG));
        let config_for = |plan: Option<&crate::search::Plan>| {
            let only_settings = match plan {
                Some(crate::search::Plan::Reuse { settings, .. }) => settings.clone(),
                _ => Vec::new(),
            };
            TrainConfig {
                families: c.families.clone(),
                validation: Some(Validation::OutOfTime),
                folds: 5,
                validation_snapshots: c.validation_snapshots,
                params: c.params.clone(),
                progress: c.progress,
                refit: c.refit,
                search: c.families.len() > 1,
                blend: c.families.len() > 1 && (only_settings.is_empty() || only_settings.len() > 1),
                keep_fold_models: false,
                leave_out: Vec::new(),
                only_settings,
            }
        };
        // The recorded contact outcomes stay in the model only when they lower the held-out log loss.
        let (mut outcome, plan) = match train_deciding_groups(&data, &config_for(plan.as_ref())) {
            Ok(outcome) => (outcome, plan),
            // The pick is not in tonight's grid (the base parameters changed): search.
            Err(e) if matches!(plan, Some(crate::search::Plan::Reuse { .. })) => {
                tracing::warn!(error = %e, "the last search's pick cannot be reused; searching");
                let plan = Some(crate::search::Plan::Search(format!("the last search's pick could not be reused: {e}")));
                (train_deciding_groups(&data, &config_for(plan.as_ref()))?, plan)
            }
            Err(e) => return Err(e.into()),
        };
        if let Some(plan) = &plan {
            let record = crate::search::record(plan, c.as_of, &outcome.report.picked);
            tracing::info!(searched = record.searched, reason = %record.reason, "training settings");
            outcome.report.search = Some(record);
        }
        let sha256 = sha256_hex(&outcome.model.to_json());
        Ok(Trained { data, outcome, sha256 })
    }

    /// `register`: the challenger as a new version (found again by checksum after a crash).
    fn register(&self, trained: &Trained) -> Result<String> {
        if let Some(version) = self.registry.find_artifact(&trained.sha256)? {
            tracing::info!(%version, "the challenger is registered already (same artifact)");
            return Ok(version);
        }
        let dates = &self.dates;
        let source = format!(
            "nightly {}: {} monthly snapshots {}..{} of {}",
            self.night,
            dates.len(),
            format_day(dates[0]),
            format_day(*dates.last().expect("window >= 1")),
            self.config.data.display()
        );
        let outcome = &trained.outcome;
        Ok(self.registry.register_described(
            &outcome.model,
            &outcome.report,
            Some(&outcome.reference),
            outcome.fitted.as_ref(),
            &source,
            &sha256_file(&self.training_path)?,
            &self.started_at,
        )?)
    }

    fn context(&self) -> Context {
        Context { night: self.night.clone(), generated_at: self.started_at.clone(), lang: self.config.report_lang }
    }

    /// `reports`: drift (against the model that serves after tonight), evaluation, the held-out
    /// rows, persistency and realised performance, into staging.
    fn write_reports(
        &self,
        trained: &Trained,
        judged: &Judged,
        version: &str,
        today: Vec<FeatureColumn>,
        book: &BookReports,
        audit: Option<&NightAudit>,
    ) -> Result<(Vec<String>, DriftFacts)> {
        let outcome = &trained.outcome;
        let (drift_model, model, reference) = self.serving_model(trained, judged, version)?;
        let scores = model.scores_of(&today);
        let mut today = today;
        let drift =
            reference.compare_scored(|name| today.iter().position(|c| c.name == name).map(|i| today.swap_remove(i)), scores, self.config.thresholds);
        let context = self.context();
        let mut out = Exporter::new(&self.report_dir);
        let labels_changed = audit.and_then(|a| a.report.training_labels_changed);
        out.report("drift", &drift, &drift_page(&context, &drift_model, &drift, labels_changed))?;
        if let Some(audit) = audit {
            let history = lapse_reports::audit::history(&self.config.out, &self.night);
            out.report("audit", &audit.report, &lapse_reports::pages::audit_page(&context, &audit.report, &history))?;
        }
        let evaluation = EvaluationReport {
            as_of: self.night.clone(),
            window: outcome.report.validation_window.clone(),
            rows: judged.labels.len(),
            challenger: ModelEvaluation { version: version.to_string(), family: outcome.model.family, evaluation: judged.challenger.clone() },
            champion: judged.champion_model.as_ref().zip(judged.champion_eval.as_ref()).map(|((v, m), e)| ModelEvaluation {
                version: v.clone(),
                family: m.family,
                evaluation: e.clone(),
            }),
            comparison: judged.comparison.clone(),
            guard_rails: judged.rails.clone(),
            challenger_held_out: Some(judged.challenger_held_out.clone()),
            champion_guard_rails: judged.champion_rails.clone(),
            decision: judged.decision.clone(),
            notes: judged.notes.clone(),
            importance: outcome
                .report
                .importance
                .clone()
                .map(|v| (lapse_model::registry::importance_measure(outcome.report.chosen).to_string(), v.into_iter().take(15).collect())),
            partial_dependence: outcome.report.partial_dependence.clone(),
        };
        out.report("evaluation", &evaluation, &evaluation_page(&context, &evaluation))?;
        write_evaluation_rows(&out.path("evaluation.parquet"), &trained.data, judged, &outcome.held_out_rows, &outcome.held_out_scores)?;
        out.add("evaluation.parquet");
        out.report("persistency", &book.persistency, &persistency_page(&context, &book.persistency))?;
        if let Some(realised) = &book.realised {
            out.report("realised", realised, &realised_page(&context, realised))?;
        }
        for campaign in &book.campaigns {
            out.report(&format!("campaign-{}", campaign.campaign), campaign, &effect_page(&context, campaign))?;
        }
        if book.winback.is_some() {
            out.add("winback.parquet");
        }
        out.report("funnel", &book.funnel, &lapse_reports::pages::funnel_page(&context, &book.funnel))?;
        out.report("performance", &book.performance, &lapse_reports::pages::performance_page(&context, &book.performance))?;
        // Why customers lapse: the training window (known outcomes; its latest snapshot against
        // the one before), explained by the model that serves after tonight. A table the
        // report cannot read costs the report, never the night.
        // The renewals the serving model was fitted on: tonight's challenger's when promoted,
        // else the champion's list in the registry.
        let fitted = if judged.decision.promote || judged.champion_model.is_none() {
            outcome.fitted.clone()
        } else {
            judged.champion_model.as_ref().and_then(|(v, _)| self.registry.fitted(v).ok().flatten())
        };
        match lapse_reports::why::why_table(&self.training_path, &drift_model, model, fitted.as_ref(), &lapse_retention::Economics::default()) {
            Ok(mut why) => {
                // The table is tonight's training table in staging, gone after the commit: name
                // what it was, not a path that will not exist.
                why.table = lapse_reports::why::NIGHT_TRAINING_TABLE.to_string();
                out.report("why", &why, &lapse_reports::pages::why_page(&context, &why))?
            }
            Err(e) => tracing::warn!(error = %e, "no why report tonight"),
        }
        let facts = DriftFacts {
            model: drift_model,
            flagged: drift.flagged.clone(),
            act: drift.features.iter().filter(|f| f.status == Status::Act).map(|f| f.feature.clone()).collect(),
            score_psi: drift.features.iter().find(|f| f.feature == SCORE).map(|f| f.psi),
        };
        Ok((out.files().to_vec(), facts))
    }

    /// The model that serves after tonight and the reference today is compared with: the
    /// promoted challenger, else the champion; the challenger's when there is no champion or
    /// it was registered without a reference.
    fn serving_model<'a>(&self, trained: &'a Trained, judged: &'a Judged, version: &str) -> Result<(String, &'a LapseModel, Reference)> {
        let outcome = &trained.outcome;
        if !judged.decision.promote
            && let Some((v, model)) = &judged.champion_model
            && let Some(reference) = self.registry.reference(v)?
        {
            return Ok((v.clone(), model, reference));
        }
        if judged.decision.promote {
            return Ok((version.to_string(), &outcome.model, outcome.reference.clone()));
        }
        Ok((format!("{version} (challenger)"), &outcome.model, outcome.reference.clone()))
    }

    /// `plan`: the night's summary and index page; from here on the night is decided.
    #[allow(clippy::too_many_arguments)]
    fn write_plan(
        &self,
        extract: ExtractFacts,
        snapshot_rows: usize,
        trained: &Trained,
        judged: &Judged,
        version: String,
        reports: Vec<String>,
        drift: DriftFacts,
        audit: Option<lapse_reports::night::AuditFacts>,
    ) -> Result<RunSummary> {
        let c = self.config;
        let report = &trained.outcome.report;
        let verdict = Verdict::of(judged.decision.promote);
        let mut summary = RunSummary {
            as_of: self.night.clone(),
            started_at: self.started_at.clone(),
            lapse_version: env!("CARGO_PKG_VERSION").to_string(),
            data: c.data.display().to_string(),
            models: c.models.display().to_string(),
            extract,
            snapshot: SnapshotFacts {
                path: c.snapshot.display().to_string(),
                rows: snapshot_rows,
                sha256: sha256_file(&self.staged_snapshot)?,
                horizon_days: c.horizon_days,
            },
            training: TrainingFacts {
                snapshots: self.dates.iter().map(|&d| format_day(d)).collect(),
                rows_labelled: report.rows_labelled,
                rows_unlabelled: report.rows_unlabelled,
                rows_train: report.rows_train,
                rows_validation: report.rows_validation,
                lapse_rate: report.lapse_rate,
                training_window: report.training_window.clone(),
                validation_window: report.validation_window.clone(),
                table_sha256: sha256_file(&self.training_path)?,
                settings: report.search.as_ref().map(|s| s.reason.clone()),
            },
            challenger: JudgedModel::of(&version, trained.outcome.model.family, &judged.challenger),
            champion_before: judged.champion_before.clone(),
            champion: judged.champion_model.as_ref().zip(judged.champion_eval.as_ref()).map(|((v, m), e)| JudgedModel::of(v, m.family, e)),
            notes: judged.notes.clone(),
            comparison: judged.comparison.clone(),
            guard_rails: judged.rails.clone(),
            champion_after: if judged.decision.promote { Some(version.clone()) } else { judged.champion_before.clone() },
            decision: judged.decision.clone(),
            drift,
            audit,
            reports,
            steps: Vec::new(),
            exit_code: verdict.exit_code(),
            finished_at: None,
            replayed: false,
        };
        summary.reports.insert(0, "index.html".into());
        write_html(&self.report_dir.join("index.html"), &index_page(&self.context(), &summary))?;
        // The training table is not needed after this: only its checksum is kept.
        fs::remove_file(&self.training_path).map_err(|e| NightlyError::file(&self.training_path, e))?;
        write_json(&self.report_dir.join(SUMMARY), &summary)?;
        Ok(summary)
    }
}

/// The held-out rows with both models' scores, for analysts (`evaluation.parquet`).
fn write_evaluation_rows(path: &Path, data: &Dataset, judged: &Judged, rows: &[usize], challenger: &[f64]) -> Result<()> {
    use polars::prelude::*;
    let build = || -> PolarsResult<DataFrame> {
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
        columns.push(Column::new("lapsed".into(), judged.labels.iter().map(|&y| i32::from(y)).collect::<Vec<_>>()));
        // Whether the row was in the comparison (neither model fitted on its renewal), and
        // whether the champion was fitted on it (its score there is not a held-out figure).
        columns.push(Column::new("compared".into(), &judged.compared));
        columns.push(Column::new("champion_fitted".into(), &judged.champion_fitted));
        columns.push(Column::new("value".into(), &judged.values));
        columns.push(Column::new("challenger".into(), challenger));
        if let Some(champion) = &judged.champion_scores {
            columns.push(Column::new("champion".into(), champion));
        }
        DataFrame::new(rows.len(), columns)
    };
    let mut frame = build().map_err(|e| NightlyError::file(path, e))?;
    atomic_write_with(path, |file| ParquetWriter::new(file).finish(&mut frame).map(|_| ()).map_err(std::io::Error::other))?;
    Ok(())
}
