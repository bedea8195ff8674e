//! The HTTP API: request and response types (which generate the OpenAPI document), handlers
//! and the router with its layers (auth, limits, timeouts, request ids, metrics, tracing).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use axum::body::Bytes;
use axum::error_handling::HandleErrorLayer;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};

use super::pool::on_compute_pool;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use tower::ServiceBuilder;
use tower_http::request_id::{PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use utoipa::OpenApi;

use super::auth::{Role, Tokens};
use super::config::{Limits, ServeConfig};
use super::dto::*;
use super::error::{ApiError, ErrorBody};
use super::inline::InlineRecords;
use super::schema;
use super::score_log::{LogBatch, LoggedRows, ScoreLog, now_ms};
use super::scorebook::Scorebook;
use super::telemetry::{self, Metrics, SequentialIds};
use super::winback::{WinbackItem, WinbackParams, WinbackResponse};
use lapse_model::scoring::ScoredRows;
use lapse_model::scoring::lang::{Lang, action_label, segment_label, sentence_in};
use lapse_retention::campaign::{Arm, CampaignRequest};
use lapse_retention::{BAND_NAMES, Economics, segment_name};
use lapse_retention::{Contact, Listed, RankBy, select};

/// Everything the handlers share.
pub struct AppState {
    /// The champion and its scored snapshot; replaced whole by a reload. A request takes its
    /// own `Arc` at the start and finishes on that model even if a reload swaps meanwhile.
    pub current: ArcSwap<Scorebook>,
    pub config: ServeConfig,
    pub tokens: Tokens,
    pub metrics: Arc<Metrics>,
    pub score_log: Option<ScoreLog>,
    /// The campaigns planned and the directory they are kept in.
    pub campaigns: super::campaigns::Campaigns,
    /// The win-back list (`lapse serve --winback`), re-read on every reload.
    pub winback: arc_swap::ArcSwapOption<super::winback::WinbackList>,
    /// Each servicing agent's team (`lapse serve --agents`), re-read on every reload.
    pub teams: arc_swap::ArcSwapOption<super::teams::AgentTeams>,
    /// The outcome store, the contact rules and the outcomes' index (`lapse serve --store`).
    pub outcomes: Option<Arc<super::outcomes::OutcomeBook>>,
    /// The console's history of nights (`--reports`), re-read on every reload.
    pub console: Option<std::sync::RwLock<lapse_reports::history::History>>,
    /// One reload at a time.
    pub reload_lock: tokio::sync::Mutex<()>,
    pub shutting_down: AtomicBool,
}

type Shared = Arc<AppState>;

mod common;
mod console;
mod layers;
mod openapi;
mod ops;
mod outcomes;
mod score;
mod worklist;

use common::*;
use layers::*;
use ops::*;
use score::*;
use worklist::*;

pub use openapi::{openapi_document, openapi_document_for};
pub use ops::reload;
use outcomes::*;
use worklist::get_campaign;

// ---------------------------------------------------------------------------------------
// Router

/// The application: routes, auth and every layer.
/// How long `POST /v1/admin/reload` may take before it is answered 503 `timeout` (the reload
/// completes anyway).
const RELOAD_TIMEOUT_SECONDS: f64 = 600.0;

pub fn router(state: Shared) -> Router {
    let Limits { max_body_bytes, timeout_seconds, max_in_flight, .. } = state.config.limits;
    // Requests answer within the timeout; a reload (a million-renewal snapshot takes 10-20 s)
    // within its own.
    let timeout = |seconds: f64| ServiceBuilder::new().layer(HandleErrorLayer::new(handle_layer_error)).timeout(Duration::from_secs_f64(seconds));
    let scoring = Router::new()
        .route("/v1/score", post(score))
        .route("/v1/queue", get(queue))
        .route("/v1/queue/explain", get(explain_queue))
        .route("/v1/winback", get(winback))
        .route("/v1/campaigns/{name}", get(get_campaign))
        .route("/v1/outcomes", post(record_outcomes).get(outcome_history))
        .route("/v1/models/current", get(model_current))
        .route("/v1/drift", get(drift))
        .route_layer(middleware::from_fn_with_state(Arc::clone(&state), |State(s): State<Shared>, req, next| require(s, Role::Score, req, next)))
        .route_layer(timeout(timeout_seconds));
    let admin = Router::new()
        .route("/v1/admin/reload", post(admin_reload))
        .route_layer(middleware::from_fn_with_state(Arc::clone(&state), |State(s): State<Shared>, req, next| require(s, Role::Admin, req, next)))
        .route_layer(timeout(timeout_seconds.max(RELOAD_TIMEOUT_SECONDS)));
    let open = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi_json))
        .route_layer(timeout(timeout_seconds));
    let console = Router::new()
        .route("/ui/", get(console::home))
        .route("/ui/{page}", get(console::page))
        .route("/ui/nights/{night}/{file}", get(console::night_file))
        .route_layer(middleware::from_fn_with_state(Arc::clone(&state), console::require_read))
        .route("/ui/login", get(console::login_form).post(console::login))
        .route("/ui", get(|| async { axum::response::Redirect::permanent("/ui/") }))
        .route_layer(timeout(timeout_seconds));
    let metrics_state = Arc::clone(&state.metrics);
    Router::new()
        .merge(scoring)
        .merge(console)
        .merge(admin)
        .merge(open)
        .fallback(fallback)
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(middleware::from_fn(json_errors))
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(handle_layer_error))
                .load_shed()
                // One limit for the whole server (a plain concurrency limit would be per route).
                .layer(tower::limit::GlobalConcurrencyLimitLayer::new(max_in_flight)),
        )
        // Defence in depth: a panic in a handler (a bug; input never should) becomes the
        // generic JSON 500 and is logged, instead of a dropped connection.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_: Box<dyn std::any::Any + Send>| {
            ApiError::internal("a handler panicked").into_response()
        }))
        .layer(middleware::from_fn_with_state(metrics_state, telemetry::track))
        .layer(tower_http::trace::TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
            let id = request.extensions().get::<RequestId>().and_then(|id| id.header_value().to_str().ok()).unwrap_or("");
            tracing::info_span!(
                "request",
                method = telemetry::method_label(request.method()),
                path = telemetry::path_for_log(request.uri().path()),
                request_id = %id
            )
        }))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(SequentialIds::default()))
        .layer(middleware::from_fn(telemetry::sanitize_request_id))
        .with_state(state)
}
