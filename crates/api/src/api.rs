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
use super::dto::*;
use super::error::{ApiError, ErrorBody};
use super::inline::InlineRecords;
use super::schema;
use super::score_log::{LogBatch, LoggedRows, ScoreLog, now_ms};
use super::scorebook::Scorebook;
use super::telemetry::{self, Metrics, SequentialIds};
use super::winback::{WinbackItem, WinbackParams, WinbackResponse};
use super::{Limits, ServeConfig};
use lapse_model::campaign::{Arm, CampaignRequest};
use lapse_model::scoring::ScoredRows;
use lapse_model::scoring::assign::Capacity;
use lapse_model::scoring::lang::{Lang, action_label, segment_label, sentence_in};
use lapse_model::scoring::{BAND_NAMES, Economics, segment_name};
use lapse_model::scoring::{Filters, Listed, select};

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
    /// One reload at a time.
    pub reload_lock: tokio::sync::Mutex<()>,
    pub shutting_down: AtomicBool,
}

type Shared = Arc<AppState>;

// ---------------------------------------------------------------------------------------
// Rendering

/// The language of a request: `?lang=` (`en`, `zh-CN`), else `Accept-Language` when it names
/// one we speak, else the server's default (`lapse serve --lang`).
fn request_lang(state: &AppState, headers: &HeaderMap, param: Option<&str>) -> Result<Lang, ApiError> {
    if let Some(tag) = param {
        return Lang::from_tag(tag).ok_or_else(|| ApiError::invalid("lang", "lang must be en or zh-CN"));
    }
    Ok(headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).and_then(Lang::from_accept_language).unwrap_or(state.config.lang))
}

/// The `lang` query parameter of a request without typed query parameters.
/// Who is asking, for per-caller limits: a short digest of the bearer token (never the token),
/// or `anonymous` without one (`--no-auth`).
fn caller_of(headers: &HeaderMap) -> String {
    use sha2::Digest;
    match headers.get(header::AUTHORIZATION) {
        Some(value) => sha2::Sha256::digest(value.as_bytes()).iter().take(8).map(|b| format!("{b:02x}")).collect(),
        None => "anonymous".to_string(),
    }
}

/// The largest page offset a request may give (the document's maximum).
pub const MAX_OFFSET: usize = i32::MAX as usize;

/// A page's `offset` parameter, checked against [`MAX_OFFSET`].
fn page_offset(offset: Option<usize>) -> Result<usize, ApiError> {
    match offset {
        Some(o) if o > MAX_OFFSET => Err(ApiError::invalid("offset", format!("offset must be 0..={MAX_OFFSET}"))),
        o => Ok(o.unwrap_or(0)),
    }
}

/// The longest policy id a request may name.
pub const MAX_POLICY_ID_BYTES: usize = 128;

fn lang_param(uri: &axum::http::Uri) -> Option<String> {
    form_urlencoded::parse(uri.query()?.as_bytes()).find(|(key, _)| key == "lang").map(|(_, value)| value.into_owned())
}

/// A JSON response in `lang` (`Content-Language`).
fn in_language(mut response: Response, lang: Lang) -> Response {
    response.headers_mut().insert(header::CONTENT_LANGUAGE, header::HeaderValue::from_static(lang.tag()));
    response
}

fn renewal<'a>(
    book: &'a Scorebook,
    rows: &'a ScoredRows,
    economics: &'a Economics,
    r: usize,
    rank: u32,
    source: &'static str,
    lang: Lang,
) -> ScoredRenewal<'a> {
    let x = &rows.renewals[r];
    assigned_renewal(book, rows, economics, r, rank, source, (x.action, x.gain), lang)
}

/// [`renewal`] with the action (and its expected gain) the work list gave it.
fn assigned_renewal<'a>(
    book: &'a Scorebook,
    rows: &'a ScoredRows,
    economics: &'a Economics,
    r: usize,
    rank: u32,
    source: &'static str,
    (action, gain): (u8, f64),
    lang: Lang,
) -> ScoredRenewal<'a> {
    let x = &rows.renewals[r];
    let (p, v) = (x.probability, x.value);
    let (risk, value) = (economics.risk_band(p), economics.value_band(v));
    ScoredRenewal {
        rank,
        policy_id: &rows.policy_id[r],
        installment_no: x.installment_no,
        due_date: Date(x.due),
        as_of: Date(x.as_of),
        days_overdue: (x.as_of - x.due).max(0),
        days_until_due: (x.due - x.as_of).max(0),
        probability: p,
        value_at_risk: v,
        expected_loss: p * v,
        action: economics.action_name(action),
        action_label: action_label(lang, economics.action_name(action)),
        expected_gain: gain,
        segment: Segment {
            risk_band: BAND_NAMES[usize::from(risk)],
            value_band: BAND_NAMES[usize::from(value)],
            name: segment_name(risk, value),
            label: segment_label(lang, risk, value),
        },
        reasons: rows
            .reasons_of(r)
            .map(|(feature, value, contribution, text)| {
                // English sentences are rendered once at load; others per request.
                let text = match lang {
                    Lang::En => std::borrow::Cow::Borrowed(text),
                    other => std::borrow::Cow::Owned(sentence_in(other, feature, value)),
                };
                Reason { feature, value: ReasonValueOut(value), contribution, text }
            })
            .collect(),
        channel: rows.text(x.channel),
        region: rows.text(x.region),
        agent_id: rows.text(x.agent),
        product_code: rows.text(x.product_code),
        source,
        model_version: &book.version,
    }
}

/// Ranks of `picks` (rows) by expected gain within the response, 1 = best.
fn batch_ranks(rows: &[(&ScoredRows, usize)]) -> Vec<u32> {
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (&rows[a].0.renewals[rows[a].1], &rows[b].0.renewals[rows[b].1]);
        y.gain.total_cmp(&x.gain).then(y.probability.total_cmp(&x.probability)).then(a.cmp(&b))
    });
    let mut ranks = vec![0; rows.len()];
    for (rank, i) in order.into_iter().enumerate() {
        ranks[i] = rank as u32 + 1;
    }
    ranks
}

fn json_response<T: Serialize>(value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(bytes) => ([(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

/// A response written by a hand-written writer (`json`); debug builds (every test) check it
/// is the JSON serde would write for the documented type.
fn hand_written<T: Serialize>(value: &T, write: fn(&T) -> Vec<u8>) -> Response {
    let bytes = write(value);
    debug_assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&bytes).expect("hand-written JSON parses"),
        serde_json::from_slice::<serde_json::Value>(&serde_json::to_vec(value).expect("serializes")).expect("parses"),
        "the hand-written JSON differs from serde's"
    );
    ([(header::CONTENT_TYPE, "application/json")], bytes).into_response()
}

fn request_id(headers: &HeaderMap) -> String {
    headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("").to_string()
}

/// Parses a JSON body, naming the field at fault.
fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    // Fast path: plain serde_json. Only a body that fails is parsed again with path tracking
    // (which costs ~10% of a large inline request) to name the field at fault.
    if let Ok(value) = serde_json::from_slice::<T>(body) {
        return Ok(value);
    }
    let malformed = |e: serde_json::Error| ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", format!("the body is not valid JSON: {e}"));
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize::<_, T>(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if !inner.is_data() {
            return malformed(inner);
        }
        let error = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", inner.to_string());
        if path == "." { error } else { error.with_field(path) }
    })?;
    de.end().map_err(malformed)?;
    Ok(value)
}

// ---------------------------------------------------------------------------------------
// Handlers

/// Score renewals by key from the loaded snapshot and/or from raw records.
#[utoipa::path(post, path = "/v1/score", request_body = ScoreRequest,
    responses(
        (status = 200, description = "Scored renewals", body = ScoreResponse),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or wrong token", body = ErrorBody),
        (status = 404, description = "A key is not in the snapshot (on_unknown=error)", body = ErrorBody),
        (status = 413, description = "Body or batch too large", body = ErrorBody),
        (status = 422, description = "A field or record is invalid", body = ErrorBody),
    ),
    security(("bearer" = [])))]
async fn score(State(state): State<Shared>, headers: HeaderMap, uri: axum::http::Uri, body: Bytes) -> Result<Response, ApiError> {
    let lang = request_lang(&state, &headers, lang_param(&uri).as_deref())?;
    let request: ScoreRequest = parse_body(&body)?;
    let limits = &state.config.limits;
    if request.renewals.is_empty() && request.records.is_none() {
        return Err(ApiError::invalid("renewals", "give renewals by key, records, or both"));
    }
    if request.renewals.len() > limits.max_batch {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("{} renewals in one request; at most {}", request.renewals.len(), limits.max_batch),
        )
        .with_field("renewals"));
    }
    if let Some(records) = &request.records
        && records.row_count() > limits.max_inline_rows
    {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("{} records in one request; at most {}", records.row_count(), limits.max_inline_rows),
        )
        .with_field("records"));
    }
    let book = state.current.load_full();
    let economics = &state.config.economics;

    for (i, key) in request.renewals.iter().enumerate() {
        // An id the snapshot could never hold is refused rather than echoed back (a 4 MB id
        // made an 8 MB answer).
        if key.policy_id.len() > MAX_POLICY_ID_BYTES {
            return Err(ApiError::invalid(
                format!("renewals[{i}].policy_id"),
                format!("policy_id is {} bytes; at most {MAX_POLICY_ID_BYTES}", key.policy_id.len()),
            ));
        }
        if key.installment_no.is_some_and(|n| !(1..=MAX_INSTALLMENT_NO).contains(&n)) {
            return Err(ApiError::invalid(format!("renewals[{i}].installment_no"), format!("installment_no must be 1..={MAX_INSTALLMENT_NO}")));
        }
    }
    let mut picks: Vec<usize> = Vec::with_capacity(request.renewals.len());
    let mut not_found = Vec::new();
    for (i, key) in request.renewals.iter().enumerate() {
        let before = picks.len();
        picks.extend(book.lookup(&key.policy_id, key.installment_no));
        if picks.len() == before {
            let reason = match key.installment_no {
                Some(n) if book.lookup(&key.policy_id, None).next().is_some() => {
                    format!(
                        "policy {:?} has no installment {n} at risk in the snapshot of {}",
                        key.policy_id,
                        lapse_core::dates::format_day(book.as_of)
                    )
                }
                _ => format!("policy {:?} has no renewal at risk in the snapshot of {}", key.policy_id, lapse_core::dates::format_day(book.as_of)),
            };
            if request.on_unknown == OnUnknown::Error {
                return Err(ApiError::new(StatusCode::NOT_FOUND, "unknown_policy", reason).with_field(format!("renewals[{i}].policy_id")));
            }
            not_found.push(NotScored { policy_id: key.policy_id.clone(), installment_no: key.installment_no, reason });
        }
    }

    let inline: Option<Arc<ScoredRows>> = match request.records {
        // A request of a few customers is scored right here (tens of microseconds: less than
        // handing it to another thread and back); a big one on the compute pool, so it never
        // holds an async worker for long.
        Some(records) if records.row_count() <= INLINE_ON_WORKER_ROWS => {
            Some(Arc::new(records.score(&book.model.model, economics, book.horizon_days, book.grace_days)?))
        }
        Some(records) => {
            let scoring = Arc::clone(&book);
            let economics = economics.clone();
            let rows = on_compute_pool(move || records.score(&scoring.model.model, &economics, scoring.horizon_days, scoring.grace_days)).await??;
            Some(Arc::new(rows))
        }
        None => None,
    };

    let all: Vec<(&ScoredRows, usize)> =
        picks.iter().map(|&r| (&book.rows, r)).chain(inline.iter().flat_map(|rows| (0..rows.len()).map(move |r| (&**rows, r)))).collect();
    let ranks = batch_ranks(&all);
    let results: Vec<ScoredRenewal<'_>> = all
        .iter()
        .zip(&ranks)
        .map(|(&(rows, r), &rank)| {
            let source = if std::ptr::eq(rows, &book.rows) { "snapshot" } else { "inline" };
            renewal(&book, rows, economics, r, rank, source, lang)
        })
        .collect();
    let response = hand_written(&ScoreResponse { model_version: &book.version, results, not_found }, super::json::score_response);

    state.metrics.scores_served("snapshot", picks.len());
    let inline_len = inline.as_ref().map_or(0, |rows| rows.len());
    state.metrics.scores_served("inline", inline_len);
    if let Some(log) = &state.score_log {
        let id = request_id(&headers);
        let time_ms = now_ms();
        if !picks.is_empty() {
            log.append(LogBatch {
                time_ms,
                request_id: id.clone(),
                endpoint: "score",
                model_version: book.version.clone(),
                picks: picks.iter().zip(&ranks).map(|(&r, &rank)| (r as u32, rank)).collect(),
                rows: LoggedRows::Snapshot(Arc::clone(&book)),
                assigned: None,
                campaign: None,
            });
        }
        if let Some(rows) = inline {
            log.append(LogBatch {
                time_ms,
                request_id: id,
                endpoint: "score_inline",
                model_version: book.version.clone(),
                picks: (0..inline_len).zip(&ranks[picks.len()..]).map(|(r, &rank)| (r as u32, rank)).collect(),
                rows: LoggedRows::Inline(rows),
                assigned: None,
                campaign: None,
            });
        }
    }
    Ok(in_language(response, lang))
}

/// The control share of a campaign asked for without `holdout`.
const DEFAULT_HOLDOUT: f64 = 0.1;

/// The ranked work list: renewals by expected gain of their best action.
#[utoipa::path(get, path = "/v1/queue", params(QueueParams),
    responses(
        (status = 200, description = "The work list page", body = QueueResponse),
        (status = 401, description = "Missing or wrong token", body = ErrorBody),
        (status = 409, description = "The campaign exists with other settings", body = ErrorBody),
        (status = 422, description = "A parameter is invalid", body = ErrorBody),
        (status = 429, description = "This token created its most campaigns today", body = ErrorBody),
    ),
    security(("bearer" = [])))]
async fn queue(
    State(state): State<Shared>,
    headers: HeaderMap,
    params: Result<Query<QueueParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", e.body_text()))?;
    let lang = request_lang(&state, &headers, params.lang.as_deref())?;
    if let Some(h) = params.holdout
        && !(h.is_finite() && (0.0..=lapse_model::campaign::MAX_HOLDOUT).contains(&h))
    {
        return Err(ApiError::invalid("holdout", format!("holdout must be 0 to {}", lapse_model::campaign::MAX_HOLDOUT)));
    }
    let limits = &state.config.limits;
    let economics = &state.config.economics;
    let action_names: Vec<&str> = economics.actions.iter().map(|a| a.name.as_str()).collect();
    let capacity = match &params.capacity {
        None => Capacity::Total(limits.default_capacity),
        Some(text) => Capacity::parse(text, &action_names).map_err(|e| ApiError::invalid("capacity", e.to_string()))?,
    };
    let limit = params.limit.unwrap_or(100);
    if limit == 0 || limit > limits.max_page {
        return Err(ApiError::invalid("limit", format!("limit must be 1..={}", limits.max_page)));
    }
    if let Some(v) = params.min_value
        && (!v.is_finite() || v < 0.0)
    {
        return Err(ApiError::invalid("min_value", "min_value must be a number >= 0"));
    }
    if params.due_within_days.is_some_and(|d| !(-36_500..=36_500).contains(&d)) {
        return Err(ApiError::invalid("due_within_days", "due_within_days must be within +-36500"));
    }
    let offset = page_offset(params.offset)?;
    let book = state.current.load_full();
    let rows = &book.rows;
    // An empty filter value (`channel=`) filters nothing.
    let given = |v: Option<String>| v.filter(|v| !v.is_empty());
    let filters = Filters {
        channel: given(params.channel),
        region: given(params.region),
        agent_id: given(params.agent_id),
        product: given(params.product),
        min_value: params.min_value,
        due_within_days: params.due_within_days,
        overdue: params.overdue,
        include_no_action: params.include_no_action.unwrap_or(false),
    };
    let (matching, listed, page, assigned, campaign) = match params.campaign.as_deref() {
        None => {
            let per_action = matches!(capacity, Capacity::PerAction(_));
            let list = select(rows, &book.queue_order, &filters, &capacity, economics, offset..offset.saturating_add(limit));
            let assigned: Option<Vec<(u8, f64)>> = per_action.then(|| list.page.iter().map(|l| (l.action, l.gain)).collect());
            (list.matching, list.listed, list.page, assigned, None)
        }
        Some(name) => {
            let holdout = params.holdout.unwrap_or(DEFAULT_HOLDOUT);
            let request = CampaignRequest { name, holdout, capacity: &capacity, filters: &filters };
            let (served, created) = state.campaigns.serve(&request, &book, economics, &caller_of(&headers)).await?;
            if let (Some(log), Some(planned)) = (&state.score_log, created) {
                // Both arms, once, when the campaign is created: the control renewals are in
                // the log although no page ever lists them.
                log.append(LogBatch {
                    time_ms: now_ms(),
                    request_id: request_id(&headers),
                    endpoint: "campaign",
                    model_version: book.version.clone(),
                    picks: planned.list.iter().map(|l| (l.row as u32, l.rank)).collect(),
                    assigned: Some(planned.list.iter().map(|l| (l.action, l.gain)).collect()),
                    campaign: Some((Arc::clone(&served.name), planned.campaign.rows.iter().map(|r| r.arm).collect())),
                    rows: LoggedRows::Snapshot(Arc::clone(&book)),
                });
            }
            let page: Vec<Listed> = served.treatment.iter().skip(offset).take(limit).copied().collect();
            let assigned = Some(page.iter().map(|l| (l.action, l.gain)).collect());
            let info =
                CampaignInfo { name: served.name.to_string(), holdout: served.holdout, treatment: served.treatment.len(), control: served.control };
            (served.matching, served.treatment.len(), page, assigned, Some(info))
        }
    };
    let page: Vec<(usize, u32)> = page.iter().map(|l| (l.row, l.rank)).collect();
    let end = offset + page.len();
    let items: Vec<ScoredRenewal<'_>> = page
        .iter()
        .enumerate()
        .map(|(i, &(r, rank))| match &assigned {
            Some(assigned) => assigned_renewal(&book, rows, economics, r, rank, "snapshot", assigned[i], lang),
            None => renewal(&book, rows, economics, r, rank, "snapshot", lang),
        })
        .collect();
    let log_campaign = campaign.as_ref().map(|c| (Arc::from(c.name.as_str()), vec![Arm::Treatment; page.len()]));
    let response = hand_written(
        &QueueResponse {
            model_version: &book.version,
            as_of: Date(book.as_of),
            matching,
            listed,
            offset,
            next_offset: (end < listed && !page.is_empty()).then_some(end),
            campaign,
            items,
        },
        super::json::queue_response,
    );
    state.metrics.scores_served("queue", page.len());
    if let Some(log) = &state.score_log
        && !page.is_empty()
    {
        log.append(LogBatch {
            time_ms: now_ms(),
            request_id: request_id(&headers),
            endpoint: "queue",
            model_version: book.version.clone(),
            picks: page.iter().map(|&(r, rank)| (r as u32, rank)).collect(),
            assigned,
            campaign: log_campaign,
            rows: LoggedRows::Snapshot(Arc::clone(&book)),
        });
    }
    Ok(in_language(response, lang))
}

/// The win-back list: lapsed policies that can still be reinstated, highest priority first,
/// with the queue's filters and paging.
#[utoipa::path(get, path = "/v1/winback", params(WinbackParams),
    responses(
        (status = 200, description = "A page of the win-back list", body = WinbackResponse),
        (status = 401, description = "Missing or wrong token", body = ErrorBody),
        (status = 404, description = "The server was started without a win-back list (--winback)", body = ErrorBody),
        (status = 422, description = "A parameter is invalid", body = ErrorBody),
    ),
    security(("bearer" = [])))]
async fn winback(
    State(state): State<Shared>,
    params: Result<Query<WinbackParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", e.body_text()))?;
    let max_page = state.config.limits.max_page;
    let limit = params.limit.unwrap_or(100);
    if limit == 0 || limit > max_page {
        return Err(ApiError::invalid("limit", format!("limit must be 1..={max_page}")));
    }
    if params.min_value.is_some_and(|v| !v.is_finite() || v < 0.0) {
        return Err(ApiError::invalid("min_value", "min_value must be a number >= 0"));
    }
    if params.min_days_left.is_some_and(|d| !(0..=36_500).contains(&d)) {
        return Err(ApiError::invalid("min_days_left", "min_days_left must be 0..=36500"));
    }
    let Some(list) = state.winback.load_full() else {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "no_winback_list", "this server has no win-back list (lapse serve --winback FILE)"));
    };
    let offset = page_offset(params.offset)?;
    let mut matching = 0usize;
    let mut items = Vec::with_capacity(limit.min(list.items.len()));
    for item in list.items.iter().filter(|i| super::winback::matches(i, &params)) {
        if matching >= offset && items.len() < limit {
            items.push(item);
        }
        matching += 1;
    }
    let end = offset + items.len();
    state.metrics.scores_served("winback", items.len());
    Ok(json_response(&WinbackResponse {
        as_of: Date(list.as_of),
        priority_basis: &list.priority_basis,
        matching,
        offset,
        next_offset: (end < matching && !items.is_empty()).then_some(end),
        items,
    }))
}

/// The model being served: version, training window, held-out metrics, snapshot.
#[utoipa::path(get, path = "/v1/models/current",
    responses((status = 200, description = "The current model", body = ModelInfo), (status = 401, description = "Missing or wrong token", body = ErrorBody)),
    security(("bearer" = [])))]
async fn model_current(State(state): State<Shared>) -> Result<Response, ApiError> {
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
async fn drift(State(state): State<Shared>) -> Result<Response, ApiError> {
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
async fn admin_reload(State(state): State<Shared>) -> Result<Json<ReloadResponse>, ApiError> {
    reload(&state).await.map(Json)
}

/// Inline requests up to this many records (all tables) are scored on the async worker that
/// received them: a customer's records (about 60 rows) take well under a millisecond.
const INLINE_ON_WORKER_ROWS: usize = 600;

/// The reload behind the admin route and SIGHUP.
pub async fn reload(state: &Shared) -> Result<ReloadResponse, ApiError> {
    // On a task of its own: a caller that gives up (a client timeout, a dropped connection)
    // does not cancel a reload half done; it completes and swaps.
    let state = Arc::clone(state);
    tokio::spawn(async move { reload_now(&state).await }).await.map_err(ApiError::internal)?
}

async fn reload_now(state: &Shared) -> Result<ReloadResponse, ApiError> {
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

/// Re-reads the win-back list; a list that cannot be read leaves the previous one served.
async fn reload_winback(state: &Shared) {
    let Some(path) = state.config.winback.clone() else { return };
    match tokio::task::spawn_blocking(move || super::winback::WinbackList::load(&path)).await {
        Ok(Ok(list)) => {
            tracing::info!(candidates = list.items.len(), "win-back list reloaded");
            state.winback.store(Some(Arc::new(list)));
        }
        Ok(Err(e)) => tracing::warn!(error = %e, "win-back list not reloaded; the previous one keeps serving"),
        Err(e) => tracing::warn!(error = %e, "win-back list not reloaded"),
    }
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "Alive", body = Health)))]
async fn healthz(State(state): State<Shared>) -> Json<Health> {
    Json(Health { status: "ok", model_version: state.current.load().version.clone() })
}

/// Readiness: a model and snapshot are loaded and the server is not shutting down.
#[utoipa::path(get, path = "/readyz", responses((status = 200, description = "Ready", body = Health), (status = 503, description = "Shutting down", body = Health)))]
async fn readyz(State(state): State<Shared>) -> Response {
    let version = state.current.load().version.clone();
    if state.shutting_down.load(Ordering::Relaxed) {
        (StatusCode::SERVICE_UNAVAILABLE, Json(Health { status: "shutting_down", model_version: version })).into_response()
    } else {
        Json(Health { status: "ready", model_version: version }).into_response()
    }
}

/// Prometheus metrics (text exposition format).
#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus text", body = String, content_type = "text/plain")))]
async fn metrics(State(state): State<Shared>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.metrics.render()).into_response()
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", responses((status = 200, description = "The OpenAPI document", body = Object)))]
async fn openapi_json(State(state): State<Shared>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], openapi_document_for(&state.config.economics)).into_response()
}

#[derive(OpenApi)]
#[openapi(
    info(title = "lapse scoring API", description = "Lapse risk, value and next best action for renewals, ranked for collection teams."),
    paths(score, queue, winback, get_campaign, model_current, drift, admin_reload, healthz, readyz, metrics, openapi_json),
    components(schemas(WinbackResponse, WinbackItem, ReasonValueSchema, ScoreRequest, RenewalKey, OnUnknown, InlineRecords, ScoreResponse, ScoredRenewal, Reason, Segment, NotScored, QueueResponse, CampaignInfo, CampaignResponse, CampaignItem, Window, ModelInfo, SnapshotInfo, ReloadResponse, Health, ErrorBody, schema::Economics, schema::Action, DriftResponse, schema::DriftReport, schema::FeatureDrift, schema::BinShares, schema::Thresholds)),
    modifiers(&BearerAuth, &OneOfRenewalsOrRecords, &ContractRecords)
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()));
    }
}

/// `POST /v1/score` needs renewals by key or records: `anyOf` the two, stated in the document
/// (utoipa has no attribute for it).
struct OneOfRenewalsOrRecords;

impl utoipa::Modify for OneOfRenewalsOrRecords {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        use utoipa::openapi::schema::{AllOfBuilder, AnyOfBuilder, ArrayBuilder, ObjectBuilder, Ref, Schema};
        let Some(components) = openapi.components.as_mut() else { return };
        let Some(request) = components.schemas.remove("ScoreRequest") else { return };
        let by_key = ObjectBuilder::new()
            .property("renewals", ArrayBuilder::new().items(Ref::from_schema_name("RenewalKey")).min_items(Some(1)))
            .required("renewals")
            .build();
        let by_records = ObjectBuilder::new().property("records", Ref::from_schema_name("InlineRecords")).required("records").build();
        let any_of = AnyOfBuilder::new().item(by_key).item(by_records).build();
        let both = AllOfBuilder::new().item(request).item(Schema::AnyOf(any_of)).build();
        components.schemas.insert("ScoreRequest".into(), RefOr::T(Schema::AllOf(both)));
    }
}

/// Each inline table's rows as the data contract defines them (`lapse_core::extract::schema`):
/// every column with its type and bounds, the required ones required. Generated from the
/// contract's own table specs, so the document cannot drift from the checks the server runs;
/// what a schema cannot say (keys that must match across tables, dates that must exist) is
/// still answered 422 naming the record and field.
struct ContractRecords;

impl utoipa::Modify for ContractRecords {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use lapse_core::extract::schema::{ColumnKind, TABLES};
        use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Ref, Schema, SchemaFormat, SchemaType, Type};
        use utoipa::openapi::{KnownFormat, RefOr};
        let Some(components) = openapi.components.as_mut() else { return };
        for spec in TABLES {
            let mut row = ObjectBuilder::new()
                .description(Some(format!("A row of the contract's `{}` table.", spec.name)))
                .additional_properties(Some(utoipa::openapi::schema::AdditionalProperties::FreeForm(false)));
            for column in spec.columns {
                let nullable = |t: Type| if column.required { SchemaType::new(t) } else { SchemaType::from_iter([t, Type::Null]) };
                let text_types = |required: bool| {
                    if required {
                        SchemaType::from_iter([Type::String, Type::Number])
                    } else {
                        SchemaType::from_iter([Type::String, Type::Number, Type::Null])
                    }
                };
                let property = match column.kind {
                    // The contract's one closed set: the four frequencies, as an enum (the server
                    // also reads `Annual`, `semi-annual`, `yearly`... as the extract reader does).
                    ColumnKind::Text if column.name == "premium_frequency" => ObjectBuilder::new()
                        .schema_type(SchemaType::new(Type::String))
                        .enum_values(Some(lapse_core::extract::schema::Frequency::ALL.map(|f| f.as_str())))
                        .description(Some("annual, semiannual, quarterly or monthly (case, '-' and '_' are ignored)")),
                    ColumnKind::Text => ObjectBuilder::new()
                        .schema_type(text_types(column.required))
                        .min_length(column.required.then_some(1))
                        .pattern(column.required.then_some(r"\S")),
                    // An optional date may be empty (missing), as in a CSV extract.
                    ColumnKind::Date => ObjectBuilder::new()
                        .schema_type(nullable(Type::String))
                        .format((column.required).then_some(SchemaFormat::KnownFormat(KnownFormat::Date)))
                        .pattern(Some(if column.required { DATE_PATTERN } else { OPTIONAL_DATE_PATTERN })),
                    ColumnKind::Money => ObjectBuilder::new().schema_type(nullable(Type::Number)).minimum(Some(0.0)),
                    ColumnKind::Decimal => ObjectBuilder::new().schema_type(nullable(Type::Number)),
                    ColumnKind::Count => ObjectBuilder::new().schema_type(nullable(Type::Integer)).minimum(Some(0.0)).maximum(Some(2147483647.0)),
                    ColumnKind::PositiveInt => {
                        ObjectBuilder::new().schema_type(nullable(Type::Integer)).minimum(Some(1.0)).maximum(Some(2147483647.0))
                    }
                };
                row = row.property(column.name, property);
                if column.required {
                    row = row.required(column.name);
                }
            }
            let name = record_schema_name(spec.name);
            components.schemas.insert(name.clone(), RefOr::T(Schema::Object(row.build())));
        }
        let Some(RefOr::T(Schema::Object(records))) = components.schemas.get_mut("InlineRecords") else { return };
        for spec in TABLES {
            let rows = ArrayBuilder::new().items(Ref::from_schema_name(record_schema_name(spec.name)));
            let rows = if spec.required { rows } else { rows.schema_type(SchemaType::from_iter([Type::Array, Type::Null])) };
            records.properties.insert(spec.name.to_string(), RefOr::T(Schema::Array(rows.build())));
        }
    }
}

/// A date the contract reads: `YYYY-MM-DD`, month 01-12, day 01-31.
const DATE_PATTERN: &str = r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$";
const OPTIONAL_DATE_PATTERN: &str = r"^([0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01]))?$";

/// `policies` -> `PolicyRecord`.
fn record_schema_name(table: &str) -> String {
    let singular = table.strip_suffix("ies").map(|s| format!("{s}y")).unwrap_or_else(|| table.trim_end_matches('s').to_string());
    let mut name: String = singular.split('_').map(|w| w[..1].to_uppercase() + &w[1..]).collect();
    name.push_str("Record");
    name
}

/// The OpenAPI document, pretty-printed, for the default economics (committed as
/// `docs/openapi.json`).
pub fn openapi_document() -> String {
    openapi_document_for(&Economics::default())
}

/// The OpenAPI document of a server with `economics`: the capacity parameter names its
/// actions.
pub fn openapi_document_for(economics: &Economics) -> String {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    // Action names are letters, digits, '-' and '_' (`Economics::validate`): no regex
    // metacharacter to escape.
    let actions: Vec<&str> = economics.actions.iter().map(|a| a.name.as_str()).collect();
    doc.to_pretty_json().expect("the document serializes").replace("(ACTIONS)", &format!("({})", actions.join("|"))) + "\n"
}

// ---------------------------------------------------------------------------------------
// Router

async fn require(state: Shared, role: Role, request: Request, next: Next) -> Response {
    let header = request.headers().get(header::AUTHORIZATION).map(|v| v.as_bytes());
    if state.tokens.allows(header, role) {
        return next.run(request).await;
    }
    let (status, code, message) = match (header.is_some(), role) {
        (true, Role::Admin) if state.tokens.allows(header, Role::Score) => (StatusCode::FORBIDDEN, "forbidden", "this route needs the admin token"),
        _ => (StatusCode::UNAUTHORIZED, "unauthorized", "send Authorization: Bearer <token>"),
    };
    let mut response = ApiError::new(status, code, message).into_response();
    response.headers_mut().insert(header::WWW_AUTHENTICATE, "Bearer".parse().expect("valid header"));
    response
}

async fn handle_layer_error(error: tower::BoxError) -> ApiError {
    if error.is::<tower::timeout::error::Elapsed>() {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "timeout", "the request took too long")
    } else if error.is::<tower::load_shed::error::Overloaded>() {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "overloaded", "too many requests in flight; retry shortly")
    } else {
        ApiError::internal(error)
    }
}

async fn fallback() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route (see /openapi.json)")
}

/// Maps the body-limit layer's bare 413 to the JSON error shape.
async fn json_errors(request: Request, next: Next) -> Response {
    // Past hyper's own limits a request is refused before it gets here (with an empty body);
    // these lower ones answer with the JSON error every other refusal has.
    let uri_len = request.uri().to_string().len();
    if uri_len > MAX_URI_BYTES {
        return ApiError::new(StatusCode::URI_TOO_LONG, "uri_too_long", format!("the request URI is {uri_len} bytes; at most {MAX_URI_BYTES}"))
            .into_response();
    }
    let header_bytes: usize = request.headers().iter().map(|(name, value)| name.as_str().len() + value.len() + 4).sum();
    if header_bytes > MAX_HEADER_BYTES {
        return ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            format!("the request headers are {header_bytes} bytes; at most {MAX_HEADER_BYTES}"),
        )
        .into_response();
    }
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if status == StatusCode::PAYLOAD_TOO_LARGE && !is_json {
        return ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", "the request body is larger than the server accepts").into_response();
    }
    if status == StatusCode::METHOD_NOT_ALLOWED {
        return ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "this route does not take that method").into_response();
    }
    // Any other error a framework layer answered in plain text (an undecodable path segment,
    // a rejected extractor): the same JSON error, its text as the message.
    if (status.is_client_error() || status.is_server_error()) && !is_json {
        let text = axum::body::to_bytes(response.into_body(), 4096).await.unwrap_or_default();
        let text = String::from_utf8_lossy(&text);
        let message = if text.trim().is_empty() { status.canonical_reason().unwrap_or("error").to_string() } else { text.trim().to_string() };
        let code = if status.is_server_error() { "internal" } else { "bad_request" };
        return ApiError::new(status, code, message).into_response();
    }
    response
}

/// The longest request URI and the most header bytes a request may send (hyper refuses far
/// longer ones itself, with an empty body).
const MAX_URI_BYTES: usize = 8 << 10;
const MAX_HEADER_BYTES: usize = 32 << 10;

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
        .route("/v1/winback", get(winback))
        .route("/v1/campaigns/{name}", get(get_campaign))
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
    let metrics_state = Arc::clone(&state.metrics);
    Router::new()
        .merge(scoring)
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

/// A stored campaign: its settings and a page of its assignment (both arms, or one).
#[utoipa::path(get, path = "/v1/campaigns/{name}", params(CampaignPath, CampaignParams),
    responses(
        (status = 200, description = "The campaign and a page of its renewals", body = CampaignResponse),
        (status = 401, description = "Missing or wrong token", body = ErrorBody),
        (status = 404, description = "No such campaign", body = ErrorBody),
        (status = 422, description = "A parameter is invalid", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn get_campaign(
    State(state): State<Shared>,
    Path(name): Path<String>,
    params: Result<Query<CampaignParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", e.body_text()))?;
    let arm = match params.arm.as_deref() {
        None => None,
        Some(text) => Some(Arm::parse(text).ok_or_else(|| ApiError::invalid("arm", "arm must be treatment or control"))?),
    };
    let limit = params.limit.unwrap_or(1000);
    if !(1..=10_000).contains(&limit) {
        return Err(ApiError::invalid("limit", "limit must be 1..=10000"));
    }
    let offset = page_offset(params.offset)?;
    let store = state.campaigns.store.clone();
    let (record, campaign) = on_compute_pool(move || store.load(&name)).await??;
    let chosen: Vec<&lapse_model::campaign::CampaignRow> = campaign.rows.iter().filter(|r| arm.is_none_or(|a| r.arm == a)).collect();
    let page = &chosen[offset.min(chosen.len())..offset.saturating_add(limit).min(chosen.len())];
    let end = offset + page.len();
    let s = &campaign.settings;
    let response = CampaignResponse {
        name: &s.name,
        as_of: Date(s.as_of),
        model_version: &s.model_version,
        holdout: s.holdout,
        capacity: &s.capacity,
        filters: &s.filters,
        created_at: &record.created_at,
        treatment: record.treatment,
        control: record.control,
        matching: chosen.len(),
        offset,
        next_offset: (end < chosen.len() && !page.is_empty()).then_some(end),
        items: page
            .iter()
            .map(|r| CampaignItem {
                rank: r.rank,
                policy_id: &r.policy_id,
                installment_no: r.installment_no,
                due_date: Date(r.due_date),
                action: &r.action,
                arm: r.arm.as_str(),
                probability: r.probability,
                value_at_risk: r.value_at_risk,
                expected_gain: r.expected_gain,
                segment: &r.segment,
            })
            .collect(),
    };
    Ok(Json(response).into_response())
}
