//! `lapse nightly`: the night's snapshot, challenger, decision and reports.

use std::path::Path;
use std::time::Instant;

use super::watched;
use crate::exit::Context;
use crate::exit::Exit;
use crate::exit::Failure;
use crate::exit::fail;
use crate::flags::NightlyArgs;

use lapse_core::dates::today_utc;
use lapse_core::extract::read::FileFormat;

pub fn run_nightly(args: NightlyArgs) -> Result<Exit, Failure> {
    use lapse_nightly::{NightlyConfig, ReloadOptions, record_reload, reload_server};
    let as_of = args.as_of.unwrap_or_else(today_utc);
    let thresholds = args.thresholds.checked()?;
    let mut config = NightlyConfig::new(args.extract.data, args.models, as_of, args.out);
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
    config.search_every_days = args.search_every_days;
    if let Some(path) = &args.config {
        config.params = read_json_file("config", path)?;
    }
    if let Some(path) = &args.policy {
        config.policy = read_json_file("policy", path)?;
    }
    if let Some(margin) = args.margin {
        config.policy.min_log_loss_gain = margin;
    }
    config.thresholds = thresholds;
    config.max_extract_age_days = args.max_extract_age_days;
    config.score_log = args.score_log;
    if let Some(url) = &args.store {
        let (outcomes, campaigns) = super::read_store(url)?;
        config.outcomes = Some(std::sync::Arc::new(outcomes));
        config.stored_campaigns = Some(std::sync::Arc::new(campaigns));
    }
    config.campaigns = args.campaigns;
    if let Some(path) = &args.targets {
        config.targets = lapse_reports::performance::read_targets(path).map_err(|e| Failure::input(e.into()))?;
    }
    config.audit = !args.no_audit;
    config.audit_thresholds = super::audit_thresholds_arg(args.audit_thresholds.as_deref())?;
    config.refit = !args.no_refit;
    config.report_lang = args.lang;
    config.encoding = args.extract.encoding.into();
    config.progress = watched();
    config.check()?;
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

fn read_json_file<T: serde::de::DeserializeOwned>(flag: &str, path: &Path) -> Result<T, Failure> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading --{flag} {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("--{flag} {}: not valid", path.display()))
}
