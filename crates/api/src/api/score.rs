//! `POST /v1/score`: renewals by key from the loaded snapshot and raw records scored inline.

#[allow(unused_imports)]
use super::*;

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
pub(super) async fn score(State(state): State<Shared>, headers: HeaderMap, uri: axum::http::Uri, body: Bytes) -> Result<Response, ApiError> {
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
    let response = hand_written(&ScoreResponse { model_version: &book.version, results, not_found }, crate::json::score_response);

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

/// Inline requests up to this many records (all tables) are scored on the async worker that
/// received them: a customer's records (about 60 rows) take well under a millisecond.
pub(super) const INLINE_ON_WORKER_ROWS: usize = 600;
