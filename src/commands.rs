//! The commands: flags resolved into configuration, library calls, what to print.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::cli::{
    DriftArgs, EvaluateArgs, FeaturesArgs, GenerateArgs, ModelChoice, ModelsAction, ModelsArgs, NightlyArgs, PersistencyArgs, RealisedArgs,
    ServeArgs, TableFormat, TrainArgs,
};
use crate::exit::{Context, Exit, Failure, fail};
use lapse_core::dates::{Day, Step, date_series, format_day, now_utc_rfc3339, parse_day, today_utc};
use lapse_core::extract::read::FileFormat;
use lapse_core::extract::{OnError, load_book_encoded};
use lapse_core::features::BuildPlan;
use lapse_core::generate::{GenerateConfig, generate};
use lapse_core::table::read_features;
use lapse_model::drift::Reference;
use lapse_model::registry::Registry;
use lapse_model::train::{Dataset, DatasetOptions, Family, Params, TrainConfig, train};
use lapse_reports::pages::{drift_page, persistency_page, realised_page};
use lapse_reports::{Context as PageContext, write_html, write_json};

/// Whether a person is watching: stderr is a terminal and NO_COLOR is not set (schedulers get
/// plain logs).
fn watched() -> bool {
    std::io::IsTerminal::is_terminal(&std::io::stderr()) && std::env::var_os("NO_COLOR").is_none()
}

pub fn day_arg(flag: &str, text: &str) -> Result<Day, Failure> {
    parse_day(text).with_context(|| format!("--{flag} {text:?} is not a date (expected YYYY-MM-DD)"))
}

pub fn run_generate(args: GenerateArgs) -> Result<(), Failure> {
    if args.policies == 0 {
        fail!("--policies must be at least 1");
    }
    let mut config = GenerateConfig::new(args.policies, args.seed);
    config.extract_date = day_arg("extract-date", &args.extract_date)?;
    config.start = day_arg("start", &args.start)?;
    if config.start >= config.extract_date {
        fail!("--start must be before --extract-date");
    }
    let format = match args.format {
        TableFormat::Csv => FileFormat::Csv,
        TableFormat::Parquet => FileFormat::Parquet,
    };
    if let Some(path) = &args.campaign {
        config.campaign = Some(campaign_plan(path)?);
    }
    config.record_lapse_probabilities = args.truth;
    let started = Instant::now();
    if config.campaign.is_none() && !args.truth {
        // Streamed: a chunk of customers at a time, so a 10M-policy book fits in a few GB.
        let s = lapse_core::generate::write_streamed(&config, &args.out, format, lapse_core::generate::STREAM_CUSTOMERS)
            .context("writing the generated book")?;
        tracing::info!(policies = s.policies, elapsed_ms = started.elapsed().as_millis() as u64, out = %args.out.display(), "generated book (streamed)");
        println!(
            "wrote {} policies, {} customers, {} installments, {} events, {} agents to {}",
            s.policies,
            s.customers,
            s.installments,
            s.events,
            s.agents,
            args.out.display()
        );
        return Ok(());
    }
    let book = generate(&config);
    book.write(&args.out, format).context("writing the generated book")?;
    if args.truth {
        let path = args.out.join("lapse_probabilities.csv");
        book.write_lapse_probabilities(&path).context("writing the true lapse probabilities")?;
        println!("true lapse probabilities of {} renewals -> {}", book.lapse_probabilities.len(), path.display());
    }
    if config.campaign.is_some() {
        let truth = args.out.join("campaign_truth.csv");
        book.write_campaign_truth(&truth).context("writing the campaign truth")?;
        println!("replayed the campaign on {} listed renewals the book reached; truth -> {}", book.campaign_truth.len(), truth.display());
    }
    tracing::info!(
        policies = book.policies.len(),
        customers = book.customers.len(),
        installments = book.installments.len(),
        events = book.events.len(),
        agents = book.agents.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        out = %args.out.display(),
        "generated book"
    );
    println!(
        "wrote {} policies, {} customers, {} installments, {} events, {} agents to {}",
        book.policies.len(),
        book.customers.len(),
        book.installments.len(),
        book.events.len(),
        book.agents.len(),
        args.out.display()
    );
    Ok(())
}

/// `<out stem>.rejects.csv` beside the output.
fn rejects_path(out: &Path) -> PathBuf {
    let stem = out.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "features".into());
    out.with_file_name(format!("{stem}.rejects.csv"))
}

fn snapshot_dates(as_of: &str, every: &str) -> Result<Vec<Day>, Failure> {
    match as_of.split_once("..") {
        None => Ok(vec![day_arg("as-of", as_of)?]),
        Some((from, to)) => {
            let (from, to) = (day_arg("as-of", from)?, day_arg("as-of", to)?);
            if from > to {
                fail!("--as-of {as_of}: the range ends before it starts");
            }
            let step = Step::parse(every).map_err(|e| anyhow::anyhow!("--every: {e}"))?;
            Ok(date_series(from, to, step))
        }
    }
}

pub fn run_features(args: FeaturesArgs) -> Result<(), Failure> {
    let as_of = snapshot_dates(&args.as_of, &args.every)?;
    if args.horizon_days < 0 || args.grace_days < 0 {
        fail!("--horizon-days and --grace-days must be >= 0");
    }
    if FileFormat::of(&args.out).is_none() {
        fail!("--out {}: use a .parquet or .csv file name", args.out.display());
    }
    let mut args = args;
    if let Some(budget) = args.memory_budget_gib {
        let spec = lapse_core::extract::schema::TABLES.iter().find(|t| t.name == "policies").expect("the contract's policies table");
        let file = lapse_core::extract::read::locate(&args.data, spec)?.with_context(|| format!("{}: no policies table", args.data.display()))?;
        let policies = lapse_core::extract::split::count_rows(&file)?;
        args.shards = lapse_core::extract::split::shards_for_budget(policies, budget)
            .map_err(|e| Failure { input: true, error: anyhow::anyhow!("--memory-budget-gib: {e}") })?;
        println!(
            "{policies} policies, memory budget {budget} GiB: {} customer shard(s), estimated peak {:.1} GiB",
            args.shards,
            lapse_core::extract::split::estimated_peak_gib(policies, args.shards)
        );
    }
    if args.shards > 1 {
        return run_features_sharded(args, as_of);
    }
    let started = Instant::now();
    let loaded = load_book_encoded(&args.data, args.on_error.into(), args.encoding.into())
        .with_context(|| format!("reading the extract in {}", args.data.display()))?;
    let book = &loaded.book;
    tracing::info!(
        policies = book.policies.len(),
        installments = book.installments.len(),
        events = book.events.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "extract loaded"
    );
    if !loaded.rejected.is_empty() {
        debug_assert_eq!(OnError::from(args.on_error), OnError::Skip);
        let path = rejects_path(&args.out);
        loaded.rejected.write_rejects(&path)?;
        eprintln!(
            "warning: skipped {} bad row(s) ({} issue(s)); they are in {} with their reasons:\n{}",
            loaded.rejected.bad_row_count(),
            loaded.rejected.len(),
            path.display(),
            loaded.rejected.report(10)
        );
    }
    let extract_date = match &args.extract_date {
        Some(text) => day_arg("extract-date", text)?,
        None => book.latest_observed.unwrap_or(*as_of.last().expect("at least one date")),
    };
    let plan = BuildPlan { as_of, horizon_days: args.horizon_days, grace_days: args.grace_days, extract_date };
    let aggregates = match &args.aggregates {
        Some(path) => {
            Some(lapse_core::features::aggregates::BookAggregates::read(path).map_err(|e| Failure { input: true, error: anyhow::Error::msg(e) })?)
        }
        None => None,
    };
    if args.max_rows == Some(0) {
        fail!("--max-rows must be at least 1");
    }
    let summary = plan.write_sampled(book, &args.out, watched(), aggregates.as_ref(), args.max_rows).context("writing the feature table")?;
    tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, "done");
    println!(
        "wrote {} renewal rows from {} snapshot(s) ({}..{}, extract date {}) to {}",
        summary.rows,
        summary.snapshots,
        format_day(plan.as_of[0]),
        format_day(*plan.as_of.last().expect("at least one date")),
        format_day(extract_date),
        args.out.display()
    );
    Ok(())
}

/// `lapse features --shards K`: the extract split by customer on disk, each shard loaded and
/// built alone with the whole book's aggregates, the parts merged in the book's order.
fn run_features_sharded(args: FeaturesArgs, as_of: Vec<Day>) -> Result<(), Failure> {
    use lapse_core::features::aggregates::BookAggregates;
    if OnError::from(args.on_error) != OnError::Strict {
        fail!("--shards: only with --on-error strict (a skipped row's number would be its shard's, not the file's)");
    }
    let started = Instant::now();
    let parent = args.out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let work = parent.join(format!(".lapse-shards-{}", std::process::id()));
    let result = (|| -> Result<lapse_core::features::BuildSummary, Failure> {
        let split = lapse_core::extract::split::split_by_customer(&args.data, args.shards, &work, args.encoding.into())?;
        tracing::info!(
            shards = args.shards,
            policies = split.policy_rows.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "extract split by customer"
        );
        let load = |k: usize| {
            load_book_encoded(&split.dirs[k], OnError::Strict, args.encoding.into()).with_context(|| {
                format!(
                    "reading shard {k} of the extract in {} (row numbers are the shard's: run without --shards to get the file's)",
                    args.data.display()
                )
            })
        };
        // Pass 1: the book-wide aggregates and the extract date, summed over the shards.
        let mut aggregates = BookAggregates::default();
        let mut latest = None;
        for k in 0..args.shards {
            let loaded = load(k)?;
            aggregates.add(&BookAggregates::compute(&loaded.book, &as_of, args.grace_days));
            latest = latest.max(loaded.book.latest_observed);
        }
        for &t in &as_of {
            aggregates.dates.entry(t).or_default();
        }
        let extract_date = match &args.extract_date {
            Some(text) => day_arg("extract-date", text)?,
            None => latest.unwrap_or(*as_of.last().expect("at least one date")),
        };
        let plan = BuildPlan { as_of: as_of.clone(), horizon_days: args.horizon_days, grace_days: args.grace_days, extract_date };
        // Pass 2: each shard's rows, with the whole book's records.
        let mut parts = Vec::new();
        for k in 0..args.shards {
            let loaded = load(k)?;
            let part = work.join(format!("part-{k}.parquet"));
            plan.write_part(&loaded.book, &part, false, Some(&aggregates)).context("writing a shard's rows")?;
            parts.push(part);
            tracing::info!(shard = k, elapsed_ms = started.elapsed().as_millis() as u64, "shard built");
        }
        lapse_core::features::merge_parts(&parts, &split.policy_rows, &plan, &args.out).context("merging the shards")
    })();
    let _ = std::fs::remove_dir_all(&work);
    let summary = result?;
    println!(
        "wrote {} renewal rows from {} snapshot(s) in {} customer shards to {} ({:.1} s)",
        summary.rows,
        summary.snapshots,
        args.shards,
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

pub fn run_aggregates(args: crate::cli::AggregatesArgs) -> Result<(), Failure> {
    let as_of = snapshot_dates(&args.as_of, &args.every)?;
    if args.grace_days < 0 {
        fail!("--grace-days must be >= 0");
    }
    let loaded = load_book_encoded(&args.data, OnError::Strict, args.encoding.into())
        .with_context(|| format!("reading the extract in {}", args.data.display()))?;
    let aggregates = lapse_core::features::aggregates::BookAggregates::compute(&loaded.book, &as_of, args.grace_days);
    aggregates.write(&args.out).context("writing the aggregates")?;
    let agents: usize = aggregates.dates.values().map(|d| d.agents.len()).sum();
    println!("wrote the book's and {agents} agent lapse records over {} snapshot date(s) to {}", as_of.len(), args.out.display());
    Ok(())
}

pub fn run_train(args: TrainArgs) -> Result<(), Failure> {
    let mut params: Params = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading --config {}", path.display()))?;
            serde_json::from_str(&text).with_context(|| format!("--config {}: not a valid parameter file", path.display()))?
        }
        None => Params::default(),
    };
    if let Some(v) = args.seed {
        params.seed = v;
    }
    if let Some(v) = args.rounds {
        params.gbdt_rounds = v;
    }
    if let Some(v) = args.learning_rate {
        params.gbdt_learning_rate = v;
    }
    if let Some(v) = args.max_depth {
        params.gbdt_max_depth = v;
    }
    if let Some(v) = args.trees {
        params.forest_trees = v;
    }
    if let Some(v) = args.alpha {
        params.logistic_alpha = v;
    }
    if args.folds < 2 {
        fail!("--folds must be at least 2");
    }
    let families = args.model.families();
    let started = Instant::now();
    let options = DatasetOptions {
        label: args.label.clone(),
        exclude: args.exclude.clone(),
        value_column: args.value_column.clone(),
        strict_maturity: args.strict,
    };
    // The training file's checksum (recorded in the manifest) on its own thread, while the
    // models train: a few tenths of a second on a large table.
    let source_sha256 = {
        let path = args.features.clone();
        std::thread::spawn(move || lapse_model::registry::sha256_file(&path))
    };
    let data = Dataset::read(&args.features, &options)?;
    tracing::info!(rows = data.len(), unlabelled = data.unlabelled_rows, features = data.features.len(), "training table read");
    let config = TrainConfig {
        families,
        validation: args.validation.map(Into::into),
        folds: args.folds,
        validation_snapshots: args.validation_snapshots,
        params,
        progress: watched(),
        refit: !args.no_refit,
        search: args.model == ModelChoice::Auto && !args.no_search,
        blend: args.model == ModelChoice::Auto && !args.no_search,
        keep_fold_models: false,
    };
    let outcome = train(&data, &config)?;
    let registry = Registry::new(&args.models);
    let created_at = now_utc_rfc3339();
    let source_sha256 = source_sha256.join().map_err(|_| Failure::from(anyhow::anyhow!("the checksum thread panicked")))??;
    let version = registry.register_described(
        &outcome.model,
        &outcome.report,
        Some(&outcome.reference),
        outcome.fitted.as_ref(),
        &args.features.display().to_string(),
        &source_sha256,
        &created_at,
    )?;
    let promote = args.promote || registry.champion()?.is_none();
    if promote {
        registry.promote(&version)?;
    }
    let report = &outcome.report;
    for s in &report.immature_snapshots {
        println!(
            "left out snapshot {}: outcomes not all known at the extract date ({}; {} of {} rows labelled); --strict refuses such a table",
            lapse_core::dates::format_day(s.as_of),
            s.reason,
            s.labelled,
            s.rows
        );
    }
    println!(
        "{} ({}): {} labelled rows, lapse rate {:.2}%",
        args.features.display(),
        report.validation_detail,
        report.rows_labelled,
        100.0 * report.lapse_rate
    );
    println!("{:<9} {:<34} {:>8} {:>9} {:>8} {:>8} {:>10} {:>7}", "family", "setting", "roc_auc", "log_loss", "brier", "ece", "raw_ece", "fit_s");
    for f in &report.families {
        let setting = if f.family == Family::Blend { "best of each family".to_string() } else { f.setting.clone() };
        println!(
            "{:<9} {:<34} {:>8.4} {:>9.4} {:>8.4} {:>8.4} {:>10.4} {:>7.1}{}",
            f.family.as_str(),
            setting,
            f.roc_auc.unwrap_or(f64::NAN),
            f.log_loss,
            f.brier,
            f.ece,
            f.raw_ece,
            f.fit_seconds,
            if f.family == report.chosen && (f.family == Family::Blend || f.setting == report.chosen_setting) { "  <- kept" } else { "" }
        );
    }
    if let Some(selection) = &report.selection {
        println!(
            "kept: {}; judged on rows that did not choose it ({}): roc_auc {:.4}, log_loss {:.4}; {} settings tried in {:.1} s",
            report.chosen_setting,
            selection.method,
            selection.roc_auc.unwrap_or(f64::NAN),
            selection.log_loss,
            selection.candidates_tried,
            selection.search_seconds
        );
    }
    println!(
        "registered {} in {} ({}){} in {:.1} s",
        version,
        args.models.display(),
        report.chosen.as_str(),
        if promote { ", now champion" } else { "" },
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

pub fn run_evaluate(args: EvaluateArgs) -> Result<(), Failure> {
    let (registry, loaded) = args.registry.load()?;
    let fitted = registry.fitted(&loaded.version)?;
    let options = DatasetOptions { label: Some(loaded.model.label.clone()), strict_maturity: args.strict, ..DatasetOptions::default() };
    let data = Dataset::read(&args.features, &options)?;
    let report = lapse_model::evaluate::evaluate(&loaded.model, &loaded.version, fitted.as_ref(), &data)
        .map_err(|e| Failure { input: true, error: anyhow::anyhow!("{}: model {} cannot score it: {e}", args.features.display(), loaded.version) })?;
    for s in &report.immature_snapshots {
        println!("left out snapshot {}: {} ({} of {} rows labelled)", lapse_core::dates::format_day(s.as_of), s.reason, s.labelled, s.rows);
    }
    let e = &report.evaluation;
    println!(
        "model {} on {}: {} matured labelled rows, {}; judged on {}: roc_auc {}, log_loss {:.5}, ece {:.4}, mean predicted {:.4} vs observed {:.4}",
        report.model_version,
        args.features.display(),
        report.rows,
        match report.fitted_rows {
            Some(k) => format!("{k} of them fitted by the model and left out"),
            None => "the model keeps no list of the renewals it was fitted on (the figures may be in-sample)".to_string(),
        },
        e.rows,
        e.roc_auc.map_or("-".to_string(), |a| format!("{a:.4}")),
        e.log_loss,
        e.ece,
        e.mean_predicted,
        e.lapse_rate
    );
    if let Some(out) = &args.out {
        write_json(out, &report)?;
    }
    Ok(())
}

pub fn run_models(args: ModelsArgs) -> Result<(), Failure> {
    let registry = Registry::new(&args.models);
    match args.action {
        ModelsAction::List => {
            let champion = registry.champion()?;
            let versions = registry.versions()?;
            if versions.is_empty() {
                println!("no models in {}", args.models.display());
            }
            for version in versions {
                let mark = if champion.as_deref() == Some(version.as_str()) { "*" } else { " " };
                match registry.report(&version) {
                    Ok(r) => println!(
                        "{mark} {version}  {:<8} roc_auc {:.4}  log_loss {:.4}  ece {:.4}  rows {}",
                        r.chosen.as_str(),
                        r.roc_auc.unwrap_or(f64::NAN),
                        r.log_loss,
                        r.ece,
                        r.rows_labelled
                    ),
                    Err(e) => println!("{mark} {version}  unreadable: {e}"),
                }
            }
        }
        ModelsAction::Show { version } => {
            let loaded = registry.load(&version);
            print!("{}", registry.card(&version)?);
            match loaded {
                Ok(m) => {
                    println!("\nverified: sha256 {} matches, schema of {} features matches", m.manifest.artifact_sha256, m.model.schema.columns.len())
                }
                Err(e) => println!("\nNOT LOADABLE: {e}"),
            }
        }
        ModelsAction::Promote { version } => {
            registry.promote(&version)?;
            println!("{version} is now the champion in {}", args.models.display());
        }
    }
    Ok(())
}

pub fn run_serve(args: ServeArgs) -> Result<(), Failure> {
    use lapse_api::{Economics, Limits, ServeConfig, auth::Tokens};
    let tokens = if args.no_auth {
        tracing::warn!("--no-auth: every request is allowed; do not expose this server");
        Tokens::open()
    } else {
        let score_env = std::env::var("LAPSE_SCORE_TOKEN").ok();
        let admin_env = std::env::var("LAPSE_ADMIN_TOKEN").ok();
        Tokens::load(args.score_token_file.as_deref(), score_env.as_deref(), args.admin_token_file.as_deref(), admin_env.as_deref())
            .map_err(anyhow::Error::msg)?
    };
    let economics = match &args.economics {
        Some(path) => Economics::from_file(path)?,
        None => Economics::default(),
    };
    if !(args.score_log_max_total_gb.is_finite() && args.score_log_max_total_gb >= 0.0)
        || (args.score_log_max_total_gb > 0.0 && args.score_log_max_total_gb * 1024.0 < 2.0 * args.score_log_max_mb)
    {
        fail!("--score-log-max-total-gb must be 0 (no cap) or at least twice --score-log-max-mb");
    }
    for (flag, value) in [
        ("--timeout-seconds", args.timeout_seconds),
        ("--header-timeout-seconds", args.header_timeout_seconds),
        ("--shutdown-grace-seconds", args.shutdown_grace_seconds),
    ] {
        if !(value.is_finite() && value > 0.0 && value < 86_400.0) {
            fail!("{flag} must be > 0 and below a day");
        }
    }
    let config = ServeConfig {
        models: args.models,
        snapshot: args.snapshot,
        winback: args.winback,
        economics,
        limits: Limits {
            max_body_bytes: args.max_body_bytes,
            max_batch: args.max_batch,
            max_inline_rows: args.max_inline_rows,
            timeout_seconds: args.timeout_seconds,
            max_in_flight: args.max_in_flight.max(1),
            connections: lapse_api::listen::ConnectionLimits {
                max_connections: args.max_connections.max(1),
                header_timeout: std::time::Duration::from_secs_f64(args.header_timeout_seconds),
                shutdown_grace: std::time::Duration::from_secs_f64(args.shutdown_grace_seconds),
            },
            max_campaigns_per_day: args.max_campaigns_per_day,
            ..Limits::default()
        },
        score_log: (!args.no_score_log).then_some(args.score_log),
        score_log_policy: lapse_api::score_log::LogPolicy {
            max_file_bytes: (args.score_log_max_mb.max(0.001) * 1_048_576.0) as u64,
            retention_days: (args.score_log_retention_days > 0).then_some(args.score_log_retention_days),
            max_total_bytes: (args.score_log_max_total_gb > 0.0).then_some((args.score_log_max_total_gb * 1_073_741_824.0) as u64),
        },
        thresholds: args.thresholds.checked().map_err(anyhow::Error::msg)?,
        campaigns: args.campaigns,
        lang: lapse_model::scoring::lang::Lang::from_tag(&args.lang).with_context(|| format!("--lang {:?}: use en or zh-CN", args.lang))?,
        tls: args.tls_cert.zip(args.tls_key).map(|(cert, key)| lapse_api::TlsFiles { cert, key }),
    };
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(workers) = args.workers {
        runtime.worker_threads(workers.max(1));
    }
    let runtime = runtime.enable_all().build().context("starting the async runtime")?;
    let state = lapse_api::build_state(config, tokens)?;
    Ok(runtime.block_on(lapse_api::run(state, args.addr))?)
}

fn read_json_file<T: serde::de::DeserializeOwned>(flag: &str, path: &Path) -> Result<T, Failure> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading --{flag} {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("--{flag} {}: not valid", path.display()))
}

pub fn run_nightly(args: NightlyArgs) -> Result<Exit, Failure> {
    use lapse_nightly::{NightlyConfig, ReloadOptions, record_reload, reload_server};
    let as_of = match &args.as_of {
        Some(text) => day_arg("as-of", text)?,
        None => today_utc(),
    };
    if args.horizon_days < 0 || args.grace_days < 0 || args.window_months == 0 || args.validation_snapshots == 0 {
        fail!("--horizon-days and --grace-days must be >= 0, --window-months and --validation-snapshots >= 1");
    }
    if args.window_months as usize <= args.validation_snapshots {
        fail!("--window-months ({}) must be more than --validation-snapshots ({})", args.window_months, args.validation_snapshots);
    }
    let thresholds = args.thresholds.checked().map_err(anyhow::Error::msg)?;
    let mut config = NightlyConfig::new(args.data, args.models, as_of, args.out);
    if let Some(snapshot) = args.snapshot {
        if FileFormat::of(&snapshot).is_none() {
            fail!("--snapshot {}: use a .parquet or .csv file name", snapshot.display());
        }
        config.snapshot = snapshot;
    }
    config.on_error = args.on_error.into();
    config.horizon_days = args.horizon_days;
    config.grace_days = args.grace_days;
    config.window_months = args.window_months;
    config.validation_snapshots = args.validation_snapshots;
    config.max_train_rows = (args.max_train_rows > 0).then_some(args.max_train_rows);
    config.families = args.model.families();
    if let Some(path) = &args.config {
        config.params = read_json_file("config", path)?;
    }
    if let Some(path) = &args.policy {
        config.policy = read_json_file("policy", path)?;
    }
    if let Some(margin) = args.margin {
        if !(margin.is_finite() && margin >= 0.0) {
            fail!("--margin must be >= 0");
        }
        config.policy.min_log_loss_gain = margin;
    }
    config.thresholds = thresholds;
    config.max_extract_age_days = args.max_extract_age_days;
    config.score_log = args.score_log;
    config.campaigns = args.campaigns;
    config.refit = !args.no_refit;
    config.report_lang = lapse_model::scoring::lang::Lang::from_tag(&args.lang).unwrap_or_default();
    config.encoding = args.encoding.into();
    config.progress = watched();
    // Read the token before the night starts: a missing token is a configuration error.
    let reload = match &args.reload_url {
        None => None,
        Some(url) => {
            let token = match &args.admin_token_file {
                Some(path) => {
                    std::fs::read_to_string(path).with_context(|| format!("reading --admin-token-file {}", path.display()))?.trim().to_string()
                }
                None => std::env::var("LAPSE_ADMIN_TOKEN").ok().context("--reload-url needs --admin-token-file or LAPSE_ADMIN_TOKEN")?,
            };
            Some((url.clone(), token))
        }
    };
    if !(args.reload_timeout_seconds.is_finite() && args.reload_timeout_seconds > 0.0) || args.reload_attempts == 0 {
        fail!("--reload-timeout-seconds must be > 0 and --reload-attempts at least 1");
    }
    let reload_options = ReloadOptions {
        timeout: std::time::Duration::from_secs_f64(args.reload_timeout_seconds),
        attempts: args.reload_attempts,
        ca_file: args.reload_ca_file.clone(),
        ..ReloadOptions::default()
    };
    let started = Instant::now();
    let outcome = lapse_nightly::run(&config)?;
    let s = &outcome.summary;
    let how = if outcome.already_done {
        " (done before: nothing changed)"
    } else if outcome.replayed {
        " (finished a killed run's plan)"
    } else {
        ""
    };
    println!("night {}{how}: {}", s.as_of, if s.decision.promote { "challenger promoted" } else { "champion kept" });
    for reason in &s.decision.reasons {
        println!("  {reason}");
    }
    let show = |x: Option<f64>| x.map_or("-".to_string(), |x| format!("{x:.4}"));
    println!(
        "  challenger {} ({}): held-out ROC AUC {}, log loss {:.4}, ECE {:.4}",
        s.challenger.version,
        s.challenger.family,
        show(s.challenger.roc_auc),
        s.challenger.log_loss,
        s.challenger.ece
    );
    if let Some(c) = &s.champion {
        println!("  champion   {} ({}): held-out ROC AUC {}, log loss {:.4}, ECE {:.4}", c.version, c.family, show(c.roc_auc), c.log_loss, c.ece);
    }
    println!("  champion now: {}", s.champion_after.as_deref().unwrap_or("(none)"));
    println!("  snapshot: {} renewals -> {}", s.snapshot.rows, s.snapshot.path);
    println!(
        "  drift: {} flagged ({} act){}",
        s.drift.flagged.len(),
        s.drift.act.len(),
        if s.drift.act.is_empty() { String::new() } else { format!(": {}", s.drift.act.join(", ")) }
    );
    println!("  reports: {}", config.out.join(&s.as_of).display());
    if !outcome.already_done {
        println!("  in {:.1} s", started.elapsed().as_secs_f64());
    }
    if let Some((url, token)) = reload {
        // The night is committed whatever the server says: a failed reload is reported (here,
        // in the log and in REPORTS/T/reload.json), not a failed night.
        let reloaded = reload_server(&url, &token, &reload_options);
        if reloaded.reloaded {
            println!("  server reloaded in {:.1} s ({} attempt(s)): {}", reloaded.seconds, reloaded.attempts, reloaded.answer);
        } else {
            tracing::error!(url = %reloaded.url, attempts = reloaded.attempts, error = %reloaded.answer, "the server did not reload; it serves the previous model until reloaded (run the same night again, or send SIGHUP)");
            println!(
                "  server NOT reloaded after {} attempt(s) in {:.1} s: {} (the night is committed; run it again or send SIGHUP to retry)",
                reloaded.attempts, reloaded.seconds, reloaded.answer
            );
        }
        if let Err(e) = record_reload(&config.out.join(&s.as_of), &reloaded) {
            tracing::warn!(error = %e, "could not write reload.json");
        }
    }
    Ok(match outcome.verdict {
        lapse_nightly::Verdict::Promoted => Exit::Done,
        lapse_nightly::Verdict::ChampionKept => Exit::DoneNoPromotion,
    })
}

pub fn run_drift(args: DriftArgs) -> Result<(), Failure> {
    let thresholds = args.thresholds.checked().map_err(anyhow::Error::msg)?;
    let mut current = read_features(&args.current)?;
    let report = match (&args.reference, &args.model) {
        (Some(path), None) => Reference::fit(&read_features(path)?).compare(&current, thresholds),
        (None, Some(version)) => {
            let registry = Registry::new(&args.models);
            let version = if version == "champion" { registry.champion()?.context("the registry has no champion")? } else { version.clone() };
            let reference = registry
                .reference(&version)?
                .with_context(|| format!("{version} was registered without a drift reference (retrain it with this version of lapse)"))?;
            // The score's drift: the model scores the current table.
            let model = registry.load(&version)?.model;
            let scores = model.scores_of(&current);
            reference.compare_scored(|name| current.iter().position(|c| c.name == name).map(|i| current.swap_remove(i)), scores, thresholds)
        }
        _ => fail!("give either --reference TABLE or --model VERSION"),
    };
    println!("{:<32} {:>8} {:>8} {:>9} {:>9}  status", "feature", "psi", "ks", "miss_ref", "miss_cur");
    for f in &report.features {
        let ks = f.ks.map_or("-".to_string(), |k| format!("{k:.4}"));
        println!("{:<32} {:>8.4} {:>8} {:>9.4} {:>9.4}  {}", f.feature, f.psi, ks, f.missing_reference, f.missing_current, f.status);
    }
    if !report.missing_features.is_empty() {
        println!("missing from the current table: {}", report.missing_features.join(", "));
    }
    println!("{} of {} features flagged (watch >= {}, act >= {})", report.flagged.len(), report.features.len(), thresholds.watch, thresholds.act);
    if let Some(out) = &args.report.out {
        write_json(out, &report)?;
    }
    if let Some(path) = &args.report.html {
        let against = match (&args.model, &args.reference) {
            (Some(version), _) => version.clone(),
            (_, Some(path)) => path.display().to_string(),
            _ => String::new(),
        };
        write_html(path, &drift_page(&html_context(&args.current.display().to_string(), &args.report.lang), &against, &report))?;
    }
    Ok(())
}

pub fn run_persistency(args: PersistencyArgs) -> Result<(), Failure> {
    let loaded = load_book_encoded(&args.data, args.on_error.into(), args.encoding.into())?;
    let as_of = as_of_or_extract_date(args.as_of.as_deref(), &loaded.book)?;
    let report = lapse_reports::persistency::report(&loaded.book, as_of, args.grace_days);
    println!("persistency as of {} (grace {} days)", report.as_of, report.grace_days);
    println!("{:<6} {:<13} {:<22} {:>9} {:>10} {:>9} {:>11}", "month", "dimension", "group", "policies", "persisting", "by_count", "by_premium");
    let ratio = |r: Option<f64>| r.map_or("-".to_string(), |r| format!("{:.1}%", 100.0 * r));
    for k in report.kpis.iter().filter(|k| matches!(k.dimension, "all" | "issue_year" | "channel")) {
        println!(
            "{:<6} {:<13} {:<22} {:>9} {:>10} {:>9} {:>11}",
            k.month,
            k.dimension,
            k.group,
            k.policies,
            k.persisting,
            ratio(k.ratio_by_count),
            ratio(k.ratio_by_premium)
        );
    }
    if let Some(out) = &args.report.out {
        write_json(out, &report)?;
        println!("full report (with product type and region): {}", out.display());
    }
    if let Some(path) = &args.report.html {
        write_html(path, &persistency_page(&html_context(&report.as_of, &args.report.lang), &report))?;
    }
    Ok(())
}

pub fn run_realised(args: RealisedArgs) -> Result<(), Failure> {
    let loaded = load_book_encoded(&args.data, OnError::Strict, args.encoding.into())?;
    let as_of = as_of_or_extract_date(args.as_of.as_deref(), &loaded.book)?;
    let report = lapse_reports::realised::report(&args.score_log, &loaded.book, as_of, args.grace_days)?;
    let show = |x: Option<f64>| x.map_or("-".to_string(), |x| format!("{x:.4}"));
    println!(
        "outcomes as of {}: {} log lines ({} malformed, skipped), {} renewals unknown to the extract",
        report.outcomes_as_of, report.log_lines, report.malformed_lines, report.unknown_renewals
    );
    println!(
        "{:<8} {:>8} {:>9} {:>8} {:>9} {:>9} {:>9} {:>8} {:>9}",
        "month", "scored", "labelled", "auc", "exp_auc", "log_loss", "observed", "predicted", "lift"
    );
    for m in report.months.iter().filter(|m| m.dimension == "all") {
        println!(
            "{:<8} {:>8} {:>9} {:>8} {:>9} {:>9} {:>9} {:>8} {:>9}",
            m.month,
            m.scored,
            m.labelled,
            show(m.roc_auc),
            show(m.expected_auc),
            show(m.log_loss),
            show(m.observed_lapse_rate),
            show(m.predicted_lapse_rate),
            show(m.top_decile_lift)
        );
    }
    if let Some(out) = &args.report.out {
        write_json(out, &report)?;
    }
    if let Some(path) = &args.report.html {
        write_html(path, &realised_page(&html_context(&report.outcomes_as_of, &args.report.lang), &report))?;
    }
    Ok(())
}

/// The page header of a report made by hand (`night` is what the report is about).
pub fn html_context(night: &str, lang: &str) -> PageContext {
    PageContext {
        night: night.to_string(),
        generated_at: now_utc_rfc3339(),
        lang: lapse_model::scoring::lang::Lang::from_tag(lang).unwrap_or_default(),
    }
}

/// `--as-of`, or the extract date (the latest date the extract records).
pub fn as_of_or_extract_date(as_of: Option<&str>, book: &lapse_core::extract::Book) -> Result<Day, Failure> {
    match as_of {
        Some(text) => day_arg("as-of", text),
        None => book.latest_observed.context("the extract records no date to take as the as-of date; give --as-of"),
    }
}

/// A campaign file as the generator replays it.
pub fn campaign_plan(path: &std::path::Path) -> Result<lapse_core::generate::campaign::CampaignPlan, Failure> {
    use lapse_core::generate::campaign::{CampaignPlan, PlannedContact};
    let file = lapse_retention::campaign::read_campaign(path).map_err(|e| Failure { input: true, error: anyhow::Error::new(e) })?;
    let mut plan = CampaignPlan { name: file.name, as_of: file.as_of, by_policy: Default::default() };
    for row in file.rows {
        plan.by_policy.entry(row.policy_id).or_default().push(PlannedContact {
            installment_no: row.installment_no,
            action: row.action,
            treated: row.arm == lapse_retention::campaign::Arm::Treatment,
            segment: row.segment,
        });
    }
    Ok(plan)
}
