//! The work lists: `GET /v1/queue` (with campaigns), `GET /v1/winback`, `GET /v1/campaigns/{name}`.

#[allow(unused_imports)]
use super::*;

/// The ranked work list: renewals by expected gain of their best action.
#[utoipa::path(get, path = "/v1/queue", params(QueueParams),
    responses(
        (status = 200, description = "The work list page", body = QueueResponse),
        (status = 401, description = "Missing or wrong token", body = ErrorBody),
        (status = 409, description = "The campaign exists with other settings, or rank_by=uplift without a registered uplift learner", body = ErrorBody),
        (status = 422, description = "A parameter is invalid", body = ErrorBody),
        (status = 429, description = "This token created its most campaigns today", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub(super) async fn queue(State(state): State<Shared>, headers: HeaderMap, Params(params): Params<QueueParams>) -> Result<Response, ApiError> {
    let lang = request_lang(&state, &headers, params.lang.as_deref())?;
    let limits = &state.config.limits;
    let economics = &state.config.economics;
    let page_asked = Page::of(params.offset, params.limit, 100, limits.max_page)?;
    let (offset, limit) = (page_asked.offset, page_asked.limit);
    let spec = params.work_list().check(economics, limits.default_capacity).map_err(|e| ApiError::invalid(e.field, e.reason))?;
    let book = state.current.load_full();
    let rows = &book.rows;
    // What other servers recorded in the same store since this one last looked.
    if let Some(outcomes) = &state.outcomes
        && let Err(e) = outcomes.catch_up().await
    {
        tracing::warn!(error = %e, "outcomes recorded by other servers not read; this list applies the ones this server knows");
    }
    let ranking = match spec.rank_by {
        RankBy::Risk => Ranking::Risk { order: &book.queue_order },
        RankBy::Uplift => Ranking::Gains(book.uplift.as_ref().ok_or_else(|| {
            ApiError::new(
                StatusCode::CONFLICT,
                "no_uplift_learner",
                "rank_by=uplift: no uplift learner is registered with the served models (lapse uplift on a campaign with a holdout registers one; the server reads it at start and on reload)",
            )
            .with_field("rank_by")
        })?),
    };
    let (matching, listed, page, assigned, campaign, held) = match &spec.campaign {
        None => {
            let index = state.outcomes.as_ref().map(|o| o.index());
            let contacts = Contacts::new(&state.config.contact_rules, index.as_deref(), rows, economics, book.as_of);
            let list = select(rows, ranking, &spec.filters, &spec.capacity, economics, Some(&contacts), page_asked.range());
            // The rules may give another action than the row's best by risk: the one given is sent.
            let assigned: Option<Vec<(u8, f64)>> = Some(list.page.iter().map(|l| (l.action, l.gain)).collect());
            (list.matching, list.listed, list.page, assigned, None, list.held)
        }
        Some(asked) => {
            let request = CampaignRequest { name: &asked.name, holdout: asked.holdout, capacity: &spec.capacity, filters: &spec.filters };
            let (served, created) = state
                .campaigns
                .serve(&request, &book, spec.rank_by, economics, state.outcomes.clone(), &state.config.contact_rules, &caller_of(&headers))
                .await?;
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
            (served.matching, served.treatment.len(), page, assigned, Some(info), served.held.clone())
        }
    };
    let broken: Vec<bool> = page.iter().map(|l| l.broken_promise).collect();
    let page: Vec<(usize, u32)> = page.iter().map(|l| (l.row, l.rank)).collect();
    let items: Vec<ScoredRenewal<'_>> = page
        .iter()
        .enumerate()
        .map(|(i, &(r, rank))| {
            let mut item = match &assigned {
                Some(assigned) => assigned_renewal(&book, rows, economics, r, rank, "snapshot", assigned[i], lang),
                None => renewal(&book, rows, economics, r, rank, "snapshot", lang),
            };
            item.promise_broken = broken[i];
            item
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
            next_offset: page_asked.next_offset(page.len(), listed),
            campaign,
            held_back: held.0,
            items,
        },
        crate::json::queue_response,
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
pub(super) async fn winback(State(state): State<Shared>, Params(params): Params<WinbackParams>) -> Result<Response, ApiError> {
    let page = Page::of(params.offset, params.limit, 100, state.config.limits.max_page)?;
    let (offset, limit) = (page.offset, page.limit);
    if params.min_value.is_some_and(|v| !v.is_finite() || v < 0.0) {
        return Err(ApiError::invalid("min_value", "min_value must be a number >= 0"));
    }
    if params.min_days_left.is_some_and(|d| !(0..=36_500).contains(&d)) {
        return Err(ApiError::invalid("min_days_left", "min_days_left must be 0..=36500"));
    }
    let Some(list) = state.winback.load_full() else {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "no_winback_list", "this server has no win-back list (lapse serve --winback FILE)"));
    };
    let mut matching = 0usize;
    let mut items = Vec::with_capacity(limit.min(list.items.len()));
    for item in list.items.iter().filter(|i| crate::winback::matches(i, &params)) {
        if matching >= offset && items.len() < limit {
            items.push(item);
        }
        matching += 1;
    }
    state.metrics.scores_served("winback", items.len());
    Ok(json_response(&WinbackResponse {
        as_of: Date(list.as_of),
        priority_basis: &list.priority_basis,
        matching,
        offset,
        next_offset: page.next_offset(items.len(), matching),
        items,
    }))
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
pub(super) async fn get_campaign(
    State(state): State<Shared>,
    Path(name): Path<String>,
    Params(params): Params<CampaignParams>,
) -> Result<Response, ApiError> {
    let arm = match params.arm.as_deref() {
        None => None,
        Some(text) => Some(Arm::parse(text).ok_or_else(|| ApiError::invalid("arm", "arm must be treatment or control"))?),
    };
    let asked = Page::of(params.offset, params.limit, 1000, 10_000)?;
    let (offset, limit) = (asked.offset, asked.limit);
    let store = state.campaigns.store.clone();
    let (record, campaign) = on_compute_pool(move || store.load(&name)).await??;
    let chosen: Vec<&lapse_retention::campaign::CampaignRow> = campaign.rows.iter().filter(|r| arm.is_none_or(|a| r.arm == a)).collect();
    let page = &chosen[offset.min(chosen.len())..offset.saturating_add(limit).min(chosen.len())];
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
        next_offset: asked.next_offset(page.len(), chosen.len()),
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
