//! `lapse serve`: the scoring API.

use crate::exit::Failure;
use crate::exit::fail;
use crate::flags::ServeArgs;

pub fn run_serve(args: ServeArgs) -> Result<(), Failure> {
    use lapse_api::{Economics, Limits, ServeConfig, auth::Tokens};
    let tokens = if args.no_auth {
        tracing::warn!("--no-auth: every request is allowed; do not expose this server");
        Tokens::open()
    } else {
        let score_env = std::env::var("LAPSE_SCORE_TOKEN").ok();
        let admin_env = std::env::var("LAPSE_ADMIN_TOKEN").ok();
        let read_env = std::env::var("LAPSE_READ_TOKEN").ok();
        Tokens::load(args.score_token_file.as_deref(), score_env.as_deref(), args.admin_token_file.as_deref(), admin_env.as_deref())
            .and_then(|t| t.with_read(args.read_token_file.as_deref(), read_env.as_deref()))
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
        reports: args.reports,
        agents: args.agents,
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
        thresholds: args.thresholds.checked()?,
        campaigns: args.campaigns,
        store: (!args.no_store).then_some(args.store),
        contact_rules: super::contact_rules_arg(args.contact_rules.as_deref())?,
        lang: args.lang,
        tls: args.tls_cert.zip(args.tls_key).map(|(cert, key)| lapse_api::TlsFiles { cert, key }),
    };
    Ok(lapse_api::serve_blocking(config, tokens, args.addr, args.workers)?)
}
