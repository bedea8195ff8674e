//! Starting and stopping the server: the shared state built from the configuration (the model
//! and snapshot loaded, the score log opened), the listener (HTTP or HTTPS), SIGHUP reloads,
//! graceful shutdown.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arc_swap::ArcSwap;

use crate::api::{self, AppState, router};
use crate::config::ServeConfig;
use crate::outcomes::OutcomeBook;
use crate::scorebook::{LoadError, Scorebook};
use crate::{auth, campaigns, listen, score_log, telemetry, winback};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("score log {}: {source}", dir.display())]
    ScoreLog { dir: PathBuf, source: std::io::Error },
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
    #[error("TLS certificate {} or key {}: {source}", cert.display(), key.display())]
    Tls { cert: PathBuf, key: PathBuf, source: std::io::Error },
    #[error("serving: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Winback(#[from] winback::WinbackFileError),
    #[error(transparent)]
    Store(#[from] lapse_store::StoreError),
    /// The agents table (`--agents`) cannot be read (the error names the file).
    #[error(transparent)]
    Agents(lapse_core::extract::ExtractError),
}

/// The outcome book of `config.store` (None without one): the store opened and migrated, every
/// stored outcome read.
pub async fn open_outcomes(config: &ServeConfig) -> Result<Option<OutcomeBook>, ServeError> {
    config.contact_rules.check().map_err(|e| ServeError::Io(std::io::Error::other(e.to_string())))?;
    match &config.store {
        None => Ok(None),
        Some(url) => Ok(Some(OutcomeBook::open(url, config.contact_rules.clone()).await?)),
    }
}

/// Builds the shared state: loads the champion and scores the snapshot (fails if either is
/// broken: a server never starts without a model).
pub fn build_state(config: ServeConfig, tokens: auth::Tokens) -> Result<Arc<AppState>, ServeError> {
    build_state_with(config, tokens, None)
}

/// [`build_state`] with the outcome book (opened from `config.store`, see [`open_outcomes`]).
pub fn build_state_with(config: ServeConfig, tokens: auth::Tokens, outcomes: Option<OutcomeBook>) -> Result<Arc<AppState>, ServeError> {
    let book = Scorebook::load(&config.models, &config.snapshot, &config.economics, config.thresholds)?;
    tracing::info!(version = %book.version, renewals = book.rows.len(), seconds = book.load_seconds, "model and snapshot loaded");
    let metrics = Arc::new(telemetry::Metrics::default());
    metrics.serving(&book.version, book.rows.len());
    let score_log = match &config.score_log {
        Some(dir) => {
            let actions = config.economics.actions.iter().map(|a| a.name.clone()).collect();
            Some(
                score_log::ScoreLog::start(dir, actions, Arc::clone(&metrics), config.score_log_policy)
                    .map_err(|source| ServeError::ScoreLog { dir: dir.clone(), source })?,
            )
        }
        None => None,
    };
    let winback = match &config.winback {
        Some(path) => {
            let list = winback::WinbackList::load(path)?;
            tracing::info!(candidates = list.items.len(), basis = %list.priority_basis, "win-back list loaded");
            Some(Arc::new(list))
        }
        None => None,
    };
    let teams = match &config.agents {
        Some(path) => Some(Arc::new(crate::teams::AgentTeams::load(path).map_err(ServeError::Agents)?)),
        None => None,
    };
    let campaigns = campaigns::Campaigns::new(lapse_retention::campaign::CampaignStore::new(&config.campaigns), config.limits.max_campaigns_per_day);
    let config_reports = config.reports.clone();
    Ok(Arc::new(AppState {
        current: ArcSwap::from_pointee(book),
        config,
        tokens,
        metrics,
        score_log,
        campaigns,
        winback: arc_swap::ArcSwapOption::new(winback),
        teams: arc_swap::ArcSwapOption::new(teams),
        outcomes: outcomes.map(Arc::new),
        console: state_console(&config_reports),
        reload_lock: tokio::sync::Mutex::new(()),
        shutting_down: AtomicBool::new(false),
    }))
}

/// The console's history, read from `--reports` at start.
fn state_console(reports: &Option<std::path::PathBuf>) -> Option<std::sync::RwLock<lapse_reports::history::History>> {
    reports.as_ref().map(|dir| {
        let history = lapse_reports::history::History::open(dir);
        tracing::info!(nights = history.nights().len(), reports = %dir.display(), "console history read");
        std::sync::RwLock::new(history)
    })
}

/// Serves until SIGTERM or Ctrl-C; SIGHUP reloads (the model and snapshot, and the TLS
/// certificate and key). In-flight requests finish before exit, then the score log is synced.
/// Serves `config` on `addr` until SIGTERM or Ctrl-C, on a runtime of its own (`workers`
/// threads, default one per core): what `lapse serve` runs.
pub fn serve_blocking(config: ServeConfig, tokens: auth::Tokens, addr: SocketAddr, workers: Option<usize>) -> Result<(), ServeError> {
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(workers) = workers {
        runtime.worker_threads(workers.max(1));
    }
    let runtime = runtime.enable_all().build()?;
    runtime.block_on(async move {
        let outcomes = open_outcomes(&config).await?;
        let state = build_state_with(config, tokens, outcomes)?;
        run(state, addr).await
    })
}

/// Serves `state` on `addr` until SIGTERM or Ctrl-C.
pub async fn run(state: Arc<AppState>, addr: SocketAddr) -> Result<(), ServeError> {
    let tls =
        match &state.config.tls {
            None => None,
            Some(files) => {
                // One crypto provider for the process (ring, as the nightly job's client uses).
                let _ = rustls::crypto::ring::default_provider().install_default();
                let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(&files.cert, &files.key)
                    .await
                    .map_err(|source| ServeError::Tls { cert: files.cert.clone(), key: files.key.clone(), source })?;
                Some((files.clone(), config))
            }
        };
    let std_listener = std::net::TcpListener::bind(addr).map_err(|source| ServeError::Listen { addr, source })?;
    std_listener.set_nonblocking(true)?;
    let local = std_listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(addr = %local, scheme, "listening");
    // A line on stdout for scripts and tests that start the server on port 0.
    println!("listening on {scheme}://{local}");

    #[cfg(unix)]
    {
        let state = Arc::clone(&state);
        let tls = tls.clone();
        let mut hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
        tokio::spawn(async move {
            while hangups.recv().await.is_some() {
                tracing::info!("SIGHUP: reloading");
                let _ = api::reload(&state).await;
                if let Some((files, config)) = &tls {
                    // A renewed certificate is read again; a broken one keeps the old.
                    match config.reload_from_pem_file(&files.cert, &files.key).await {
                        Ok(()) => tracing::info!(cert = %files.cert.display(), "TLS certificate reloaded"),
                        Err(e) => tracing::error!(cert = %files.cert.display(), error = %e, "TLS certificate not reloaded; the old one serves on"),
                    }
                }
            }
        });
    }

    let shutdown_state = Arc::clone(&state);
    let app = router(Arc::clone(&state));
    let limits = state.config.limits.connections;
    let max_connections = limits.effective_max_connections();
    tracing::info!(max_connections, header_timeout_seconds = limits.header_timeout.as_secs_f64(), "connection limits");
    // One server for HTTP and HTTPS (axum-server): hyper reads headers under a timeout, a
    // connection that sends no request within it is closed, connections are capped, and
    // shutdown waits at most the grace period for connections to finish.
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    let grace = limits.shutdown_grace;
    tokio::spawn(async move {
        shutdown_signal().await;
        shutdown_state.shutting_down.store(true, Ordering::Relaxed);
        tracing::info!(grace_seconds = grace.as_secs_f64(), "shutting down: finishing requests in flight");
        stopper.graceful_shutdown(Some(grace));
    });
    let metrics = Arc::clone(&state.metrics);
    match tls {
        None => {
            let mut server = axum_server::from_tcp(std_listener)?
                .handle(handle)
                .first_request_timeout(limits.header_timeout)
                .map(|inner| listen::LimitAcceptor::new(inner, max_connections, metrics));
            server.http_builder().http1().header_read_timeout(limits.header_timeout);
            server.serve(app.into_make_service()).await?;
        }
        Some((_, config)) => {
            let mut server = axum_server::from_tcp_rustls(std_listener, config)?
                .handle(handle)
                .first_request_timeout(limits.header_timeout)
                .map(|inner| listen::LimitAcceptor::new(inner, max_connections, metrics));
            server.http_builder().http1().header_read_timeout(limits.header_timeout);
            server.serve(app.into_make_service()).await?;
        }
    }
    if let Some(log) = &state.score_log {
        log.close();
    }
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
