//! Campaigns in the API: `GET /v1/queue?campaign=NAME&holdout=F` serves the treatment arm of a
//! campaign's work list (control renewals never appear on it), and `GET /v1/campaigns/NAME`
//! returns the stored assignment. The campaign is planned exactly as `lapse queue` plans it
//! (same work list, same keyed-hash arms) and kept in the campaigns directory the command
//! shares, so the batch file and the API agree renewal for renewal.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::api::{AppState, on_compute_pool};
use super::dto::{CampaignItem, CampaignParams, CampaignResponse, Date};
use super::error::{ApiError, ErrorBody};
use super::scorebook::Scorebook;
use lapse_model::campaign::{Arm, CampaignRequest, CampaignStore, Planned, StoreError, Stored, plan};
use lapse_model::scoring::Listed;

/// A campaign being served: its treatment arm as rows of one scored snapshot.
pub struct ServedCampaign {
    /// The request's settings as text: the same text, the same campaign.
    key: String,
    book: Weak<Scorebook>,
    pub name: Arc<str>,
    pub holdout: f64,
    /// Renewals matching the filters (before the capacity).
    pub matching: usize,
    /// The treatment arm in rank order (`rank` renumbered 1..).
    pub treatment: Vec<Listed>,
    pub control: usize,
}

/// The campaigns the server has planned, by name, and the directory they are kept in.
pub struct Campaigns {
    pub store: CampaignStore,
    served: std::sync::Mutex<HashMap<String, Arc<ServedCampaign>>>,
    /// One campaign created at a time (check-then-save must not interleave).
    creating: tokio::sync::Mutex<()>,
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict { .. } => ApiError::new(StatusCode::CONFLICT, "campaign_conflict", e.to_string()).with_field("campaign"),
            StoreError::NotFound(_) => ApiError::new(StatusCode::NOT_FOUND, "not_found", e.to_string()),
            StoreError::Name(_) => ApiError::invalid("campaign", e.to_string()),
            other => ApiError::internal(other),
        }
    }
}

impl Campaigns {
    pub fn new(store: CampaignStore) -> Self {
        Campaigns { store, served: Default::default(), creating: tokio::sync::Mutex::new(()) }
    }

    fn cached(&self, name: &str, key: &str, book: &Arc<Scorebook>) -> Option<Arc<ServedCampaign>> {
        let served = self.served.lock().expect("not poisoned");
        served.get(name).filter(|c| c.key == key && c.book.upgrade().is_some_and(|b| Arc::ptr_eq(&b, book))).cloned()
    }

    /// The campaign `request` asks for on `book`: planned (off the async workers) and stored
    /// when new, checked against the stored settings otherwise. Returns it, with the whole
    /// plan when it was created by this call (to be logged, both arms).
    pub async fn serve(
        &self,
        request: &CampaignRequest<'_>,
        book: &Arc<Scorebook>,
        economics: &lapse_model::scoring::Economics,
    ) -> Result<(Arc<ServedCampaign>, Option<Planned>), ApiError> {
        let action_names: Vec<&str> = economics.actions.iter().map(|a| a.name.as_str()).collect();
        let key = format!("{}|{}|{}", request.holdout, request.capacity.canonical(&action_names), request.filters.canonical());
        if let Some(hit) = self.cached(request.name, &key, book) {
            return Ok((hit, None));
        }
        let _one = self.creating.lock().await;
        if let Some(hit) = self.cached(request.name, &key, book) {
            return Ok((hit, None));
        }
        let (name, holdout, capacity, filters) = (request.name.to_string(), request.holdout, request.capacity.clone(), request.filters.clone());
        let (planned_book, planned_economics, store) = (Arc::clone(book), economics.clone(), self.store.clone());
        let (planned, stored) = on_compute_pool(move || -> Result<(Planned, Stored), ApiError> {
            let request = CampaignRequest { name: &name, holdout, capacity: &capacity, filters: &filters };
            let b = &planned_book;
            let planned = plan(&request, &b.rows, &b.queue_order, &planned_economics, b.as_of, &b.version).map_err(|e| {
                ApiError::invalid(if matches!(e, lapse_model::campaign::SettingsError::Name(_)) { "campaign" } else { "holdout" }, e.to_string())
            })?;
            let stored = store.save(&planned.campaign)?;
            Ok((planned, stored))
        })
        .await??;
        let matching = planned.matching;
        let treatment: Vec<Listed> = planned
            .list
            .iter()
            .zip(&planned.campaign.rows)
            .filter(|(_, row)| row.arm == Arm::Treatment)
            .enumerate()
            .map(|(i, (item, _))| Listed { rank: (i + 1) as u32, ..*item })
            .collect();
        let served = Arc::new(ServedCampaign {
            key,
            book: Arc::downgrade(book),
            name: request.name.into(),
            holdout: request.holdout,
            matching,
            control: planned.campaign.count(Arm::Control),
            treatment,
        });
        self.served.lock().expect("not poisoned").insert(request.name.to_string(), Arc::clone(&served));
        tracing::info!(campaign = %served.name, ?stored, treatment = served.treatment.len(), control = served.control, "campaign planned");
        Ok((served, (stored == Stored::Created).then_some(planned)))
    }
}

/// A stored campaign: its settings and a page of its assignment (both arms, or one).
#[utoipa::path(get, path = "/v1/campaigns/{name}", params(("name" = String, Path, description = "The campaign's name"), CampaignParams),
    responses(
        (status = 200, description = "The campaign and a page of its renewals", body = CampaignResponse),
        (status = 401, description = "Missing or wrong token", body = ErrorBody),
        (status = 404, description = "No such campaign", body = ErrorBody),
        (status = 422, description = "A parameter is invalid", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn get_campaign(
    State(state): State<Arc<AppState>>,
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
    let offset = params.offset.unwrap_or(0);
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
