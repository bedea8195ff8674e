//! The outcomes agents record: `POST /v1/outcomes` (a batch, atomic and idempotent) and
//! `GET /v1/outcomes` (a policy's or a customer's case history, newest first).

#[allow(unused_imports)]
use super::*;

use lapse_retention::outcomes::{OutcomeRules, RawOutcome, check_batch};

/// The server's outcome book, or 404 `no_store` without one.
fn book_of(state: &AppState) -> Result<&Arc<crate::outcomes::OutcomeBook>, ApiError> {
    state.outcomes.as_ref().ok_or_else(|| {
        ApiError::new(StatusCode::NOT_FOUND, "no_store", "this server has no outcome store (lapse serve without --no-store keeps one)")
    })
}

/// Records a batch of contact outcomes: every one or none. The same `id` again is a duplicate
/// (counted, not stored twice); the same `id` with other content is 409 and nothing of the batch
/// is stored; one bad outcome is 422 naming `outcomes[i].field` and nothing is stored. The work
/// list applies them at once (no reload).
#[utoipa::path(post, path = "/v1/outcomes", request_body = OutcomesRequest,
    responses(
        (status = 200, description = "The batch is stored", body = OutcomesRecorded),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 401, description = "Missing or wrong token", body = ErrorBody),
        (status = 404, description = "The server has no outcome store", body = ErrorBody),
        (status = 409, description = "An id is already recorded with other content; nothing stored", body = ErrorBody),
        (status = 413, description = "More outcomes than the batch limit", body = ErrorBody),
        (status = 422, description = "An outcome is invalid (the field is named); nothing stored", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub(super) async fn record_outcomes(State(state): State<Shared>, body: Bytes) -> Result<Response, ApiError> {
    let book = book_of(&state)?;
    let request: OutcomesRequest = parse_body(&body)?;
    let max = state.config.limits.max_batch;
    if request.outcomes.len() > max {
        return Err(ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", format!("at most {max} outcomes a request (--max-batch)"))
            .with_field("outcomes"));
    }
    if request.outcomes.is_empty() {
        return Err(ApiError::invalid("outcomes", "give at least one outcome"));
    }
    let raw: Vec<RawOutcome> = request.outcomes.into_iter().map(OutcomeIn::into_raw).collect();
    let actions: Vec<&str> = state.config.economics.actions.iter().map(|a| a.name.as_str()).collect();
    let rules = OutcomeRules { actions: &actions, refusal_reasons: &book.rules.refusal_reasons };
    let scorebook = state.current.load_full();
    let customer_of = |policy: &str| scorebook.customer_of(policy).map(str::to_string);
    let batch = check_batch(&raw, &rules, customer_of).map_err(|e| ApiError::invalid(format!("outcomes[{}].{}", e.index, e.field), e.to_string()))?;
    let recorded = book.record(batch).await.map_err(|e| match e {
        lapse_store::StoreError::Conflict { index, .. } => {
            ApiError::new(StatusCode::CONFLICT, "outcome_conflict", e.to_string()).with_field(format!("outcomes[{index}].id"))
        }
        other => ApiError::internal(other),
    })?;
    Ok(json_response(&OutcomesRecorded { recorded: recorded.recorded, duplicates: recorded.duplicates }))
}

/// A policy's or a customer's outcomes, newest first (the case history an agent reads before a
/// call).
#[utoipa::path(get, path = "/v1/outcomes", params(OutcomesParams),
    responses(
        (status = 200, description = "The case history, newest first", body = OutcomesHistory),
        (status = 401, description = "Missing or wrong token", body = ErrorBody),
        (status = 404, description = "The server has no outcome store", body = ErrorBody),
        (status = 422, description = "Give policy_id or customer_id", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub(super) async fn outcome_history(State(state): State<Shared>, Params(params): Params<OutcomesParams>) -> Result<Response, ApiError> {
    let book = book_of(&state)?;
    let given = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
    let outcomes = match (given(&params.policy_id), given(&params.customer_id)) {
        (Some(policy), None) => book.store.of_policy(&policy).await,
        (None, Some(customer)) => book.store.of_customer(&customer).await,
        _ => return Err(ApiError::invalid("policy_id", "give policy_id or customer_id (one of them)")),
    }
    .map_err(ApiError::internal)?;
    Ok(json_response(&OutcomesHistory { outcomes: outcomes.iter().map(OutcomeOut::of).collect() }))
}
