//! `lapse serve`: the scoring API the collection queue service calls.
//!
//! At start (and on every reload) the champion model scores the whole snapshot once
//! ([`scorebook`]): probability, value, best action, reasons. Requests by key are then lookups
//! and JSON rendering; inline records go through the contract checks, the snapshot builder and
//! the same scoring code (on the receiving worker for a few customers, on the compute pool for
//! more). See `docs/serving.md`.

pub mod api;
pub mod auth;
pub mod campaigns;
pub mod dto;
pub mod error;
pub mod inline;
pub mod json;
pub mod listen;
pub mod pool;
pub mod schema;
pub mod score_log;
pub mod scorebook;
pub mod telemetry;
pub mod winback;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arc_swap::ArcSwap;

pub use api::{AppState, openapi_document, router};
use lapse_model::drift::Thresholds;
pub use lapse_retention::Economics;
pub use scorebook::{LoadError, Scorebook};

/// Request limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_body_bytes: usize,
    /// Renewals by key per request.
    pub max_batch: usize,
    /// Raw records (all tables) per request.
    pub max_inline_rows: usize,
    pub timeout_seconds: f64,
    /// Requests being handled at once; more are refused with 503 `overloaded`.
    pub max_in_flight: usize,
    /// Largest queue page.
    pub max_page: usize,
    /// Work-list size when the caller gives no capacity.
    pub default_capacity: usize,
    /// Connections: how many, header read timeout, shutdown grace.
    pub connections: listen::ConnectionLimits,
    /// Campaigns one token may create per UTC day (`GET /v1/queue?campaign=NEW`).
    pub max_campaigns_per_day: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 4 << 20,
            max_batch: 1000,
            max_inline_rows: 20_000,
            timeout_seconds: 10.0,
            max_in_flight: 1024,
            max_page: 1000,
            default_capacity: lapse_retention::spec::DEFAULT_CAPACITY,
            connections: listen::ConnectionLimits::default(),
            max_campaigns_per_day: 50,
        }
    }
}

/// What the server serves and how.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub models: PathBuf,
    pub snapshot: PathBuf,
    pub economics: Economics,
    pub limits: Limits,
    /// Where the score log goes; None: not logged.
    pub score_log: Option<PathBuf>,
    /// Its rotation, compression and retention.
    pub score_log_policy: score_log::LogPolicy,
    /// PSI thresholds of the snapshot's drift report (`GET /v1/drift`).
    pub thresholds: Thresholds,
    /// The campaigns directory (shared with `lapse queue`).
    pub campaigns: PathBuf,
    /// The language of reasons and labels when a request names none (`?lang=`,
    /// `Accept-Language`).
    pub lang: lapse_model::scoring::lang::Lang,
    /// Serve HTTPS with this certificate chain and key (PEM), re-read on SIGHUP.
    pub tls: Option<TlsFiles>,
    /// The win-back list served at `GET /v1/winback` (`lapse winback`'s file, or the nightly
    /// job's `winback.parquet` next to the snapshot), re-read on every reload.
    pub winback: Option<PathBuf>,
}

/// A certificate chain and its private key, PEM files.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

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
    #[error("{0}")]
    Winback(String),
}

/// Builds the shared state: loads the champion and scores the snapshot (fails if either is
/// broken: a server never starts without a model).
pub fn build_state(config: ServeConfig, tokens: auth::Tokens) -> Result<Arc<AppState>, ServeError> {
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
            let list = winback::WinbackList::load(path).map_err(ServeError::Winback)?;
            tracing::info!(candidates = list.items.len(), basis = %list.priority_basis, "win-back list loaded");
            Some(Arc::new(list))
        }
        None => None,
    };
    let campaigns = campaigns::Campaigns::new(lapse_retention::campaign::CampaignStore::new(&config.campaigns), config.limits.max_campaigns_per_day);
    Ok(Arc::new(AppState {
        current: ArcSwap::from_pointee(book),
        config,
        tokens,
        metrics,
        score_log,
        campaigns,
        winback: arc_swap::ArcSwapOption::new(winback),
        reload_lock: tokio::sync::Mutex::new(()),
        shutting_down: AtomicBool::new(false),
    }))
}

/// Serves until SIGTERM or Ctrl-C; SIGHUP reloads (the model and snapshot, and the TLS
/// certificate and key). In-flight requests finish before exit, then the score log is synced.
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
