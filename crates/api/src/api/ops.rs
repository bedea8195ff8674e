//! Operations routes: the model served, drift, reload (admin route and SIGHUP), health,
//! readiness, metrics and the OpenAPI document.

#[allow(unused_imports)]
use super::*;

/// The model being served: version, training window, held-out metrics, snapshot.
#[utoipa::path(get, path = "/v1/models/current",
    responses((status = 200, description = "The current model", body = ModelInfo), (status = 401, description = "Missing or wrong token", body = ErrorBody)),
    security(("bearer" = [])))]
pub(super) async fn model_current(State(state): State<Shared>) -> Result<Response, ApiError> {
    let book = state.current.load_full();
    let manifest = &book.model.manifest;
    let report = lapse_model::registry::Registry::new(&state.config.models).report(&book.version).ok();
    let info = ModelInfo {
        version: book.version.clone(),
        family: manifest.family.clone(),
        created_at: manifest.created_at.clone(),
        training_window: manifest.training_window.clone().map(Window::from),
        validation_window: manifest.validation_window.clone().map(Window::from),
        validation: manifest.validation.clone(),
        roc_auc: report.as_ref().and_then(|r| r.roc_auc),
        log_loss: report.as_ref().map(|r| r.log_loss),
        ece: report.as_ref().map(|r| r.ece),
        features: book.model.model.schema.columns.len(),
        snapshot: SnapshotInfo {
            file: book.snapshot_path.file_name().map_or_else(String::new, |f| f.to_string_lossy().into_owned()),
            as_of: Date(book.as_of),
            renewals: book.rows.len(),
            horizon_days: book.horizon_days,
            grace_days: book.grace_days,
            loaded_at: book.loaded_at.clone(),
            load_seconds: book.load_seconds,
        },
        economics: state.config.economics.clone(),
    };
    Ok(json_response(&info))
}

/// Drift of the served snapshot (features and the model's scores) against the model's training
/// reference: PSI, KS and missing rates per feature, ranked (computed when the snapshot loads).
#[utoipa::path(get, path = "/v1/drift",
    responses(
        (status = 200, description = "The drift report", body = DriftResponse),
        (status = 401, description = "Missing or wrong token", body = ErrorBody),
        (status = 404, description = "The model was registered without a drift reference", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub(super) async fn drift(State(state): State<Shared>) -> Result<Response, ApiError> {
    let book = state.current.load_full();
    let Some(report) = &book.drift else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no_reference",
            format!("model {} was registered without a drift reference; retrain it with this version of lapse", book.version),
        ));
    };
    Ok(json_response(&DriftResponse { model_version: &book.version, as_of: Date(book.as_of), drift: report }))
}

/// Loads the current champion and snapshot and swaps them in; on failure the old model keeps
/// serving and the response says why.
#[utoipa::path(post, path = "/v1/admin/reload",
    responses(
        (status = 200, description = "Swapped", body = ReloadResponse),
        (status = 401, description = "Missing or wrong token", body = ErrorBody),
        (status = 403, description = "Not an admin token", body = ErrorBody),
        (status = 422, description = "The new champion or snapshot failed to load; the old one serves on", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub(super) async fn admin_reload(State(state): State<Shared>) -> Result<Json<ReloadResponse>, ApiError> {
    reload(&state).await.map(Json)
}

/// The reload behind the admin route and SIGHUP.
pub async fn reload(state: &Shared) -> Result<ReloadResponse, ApiError> {
    // On a task of its own: a caller that gives up (a client timeout, a dropped connection)
    // does not cancel a reload half done; it completes and swaps.
    let state = Arc::clone(state);
    tokio::spawn(async move { reload_now(&state).await }).await.map_err(ApiError::internal)?
}

pub(super) async fn reload_now(state: &Shared) -> Result<ReloadResponse, ApiError> {
    let _one_at_a_time = state.reload_lock.lock().await;
    let previous = state.current.load().version.clone();
    let (models, snapshot, economics, thresholds) =
        (state.config.models.clone(), state.config.snapshot.clone(), state.config.economics.clone(), state.config.thresholds);
    let loaded =
        tokio::task::spawn_blocking(move || Scorebook::load(&models, &snapshot, &economics, thresholds)).await.map_err(ApiError::internal)?;
    match loaded {
        Ok(book) => {
            let response = ReloadResponse {
                previous_version: previous,
                version: book.version.clone(),
                renewals: book.rows.len(),
                load_seconds: book.load_seconds,
            };
            state.metrics.serving(&book.version, book.rows.len());
            state.current.store(Arc::new(book));
            reload_winback(state).await;
            reload_teams(state).await;
            reload_console(state).await;
            state.metrics.reload(true);
            tracing::info!(previous = %response.previous_version, version = %response.version, renewals = response.renewals, "reloaded");
            Ok(response)
        }
        Err(e) => {
            state.metrics.reload(false);
            tracing::warn!(error = %e, serving = %previous, "reload failed; the previous model keeps serving");
            Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "reload_failed", format!("{e}; still serving {previous}")))
        }
    }
}

/// Reads the nights that are new or changed since the last read into the console's history.
pub(super) async fn reload_console(state: &Shared) {
    if state.console.is_none() {
        return;
    }
    let state = Arc::clone(state);
    let read = tokio::task::spawn_blocking(move || {
        let console = state.console.as_ref().expect("checked above");
        console.write().unwrap_or_else(|poisoned| poisoned.into_inner()).refresh()
    })
    .await;
    match read {
        Ok(nights) => tracing::info!(nights, "console history refreshed"),
        Err(e) => tracing::warn!(error = %e, "console history not refreshed"),
    }
}

/// Re-reads the win-back list; a list that cannot be read leaves the previous one served.
pub(super) async fn reload_winback(state: &Shared) {
    let Some(path) = state.config.winback.clone() else { return };
    match tokio::task::spawn_blocking(move || crate::winback::WinbackList::load(&path)).await {
        Ok(Ok(list)) => {
            tracing::info!(candidates = list.items.len(), "win-back list reloaded");
            state.winback.store(Some(Arc::new(list)));
        }
        Ok(Err(e)) => tracing::warn!(error = %e, "win-back list not reloaded; the previous one keeps serving"),
        Err(e) => tracing::warn!(error = %e, "win-back list not reloaded"),
    }
}

/// Re-reads the agents' teams; a table that cannot be read leaves the previous teams.
pub(super) async fn reload_teams(state: &Shared) {
    let Some(path) = state.config.agents.clone() else { return };
    match tokio::task::spawn_blocking(move || crate::teams::AgentTeams::load(&path)).await {
        Ok(Ok(teams)) => state.teams.store(Some(Arc::new(teams))),
        Ok(Err(e)) => tracing::warn!(error = %e, "agents' teams not reloaded; the previous ones are used"),
        Err(e) => tracing::warn!(error = %e, "agents' teams not reloaded"),
    }
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "Alive", body = Health)))]
pub(super) async fn healthz(State(state): State<Shared>) -> Json<Health> {
    Json(Health { status: "ok", model_version: state.current.load().version.clone() })
}

/// Readiness: a model and snapshot are loaded and the server is not shutting down.
#[utoipa::path(get, path = "/readyz", responses((status = 200, description = "Ready", body = Health), (status = 503, description = "Shutting down", body = Health)))]
pub(super) async fn readyz(State(state): State<Shared>) -> Response {
    let version = state.current.load().version.clone();
    if state.shutting_down.load(Ordering::Relaxed) {
        (StatusCode::SERVICE_UNAVAILABLE, Json(Health { status: "shutting_down", model_version: version })).into_response()
    } else {
        Json(Health { status: "ready", model_version: version }).into_response()
    }
}

/// Prometheus metrics (text exposition format).
#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus text", body = String, content_type = "text/plain")))]
pub(super) async fn metrics(State(state): State<Shared>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.metrics.render()).into_response()
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", responses((status = 200, description = "The OpenAPI document", body = Object)))]
pub(super) async fn openapi_json(State(state): State<Shared>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], openapi_document_for(&state.config.economics)).into_response()
}
