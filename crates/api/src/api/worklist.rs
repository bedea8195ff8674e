//! The work lists: `GET /v1/queue` (with campaigns), `GET /v1/winback`, `GET /v1/campaigns/{name}`.

#[allow(unused_imports)]
use super::*;

/// The ranked work list: one contact per customer, by the expected gain of its best action,
/// with the renewals it covers.
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
    let order = match spec.rank_by {
        RankBy::Risk => &book.queue,
        RankBy::Uplift => book.uplift.as_ref().ok_or_else(|| {
            ApiError::new(
                StatusCode::CONFLICT,
                "no_uplift_learner",
                "rank_by=uplift: no uplift learner is registered with the served models (lapse uplift on a campaign with a holdout registers one; the server reads it at start and on reload)",
            )
            .with_field("rank_by")
        })?,
    };
    let (matching, listed, page, campaign, held) = match &spec.campaign {
        None => {
            let verdicts = state.outcomes.as_ref().map(|o| o.verdicts(&book, order, economics));
            let contacts = crate::outcomes::contacts_in_force(
                state.outcomes.as_deref(),
                verdicts.as_deref(),
                &state.config.contact_rules,
                &book,
                order,
                economics,
                None,
            );
            let list = select(rows, order, &spec.filters, &spec.capacity, Some(&contacts), page_asked.range());
            (list.matching, list.listed, list.page, None, list.held)
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
                let renewals: Vec<&Listed> = planned.list.iter().flat_map(|c| &c.renewals).collect();
                log.append(LogBatch {
                    time_ms: now_ms(),
                    request_id: request_id(&headers),
                    endpoint: "campaign",
                    model_version: book.version.clone(),
                    picks: renewals.iter().map(|l| (l.row as u32, l.rank)).collect(),
                    assigned: Some(renewals.iter().map(|l| (l.action, l.gain)).collect()),
                    campaign: Some((Arc::clone(&served.name), planned.campaign.rows.iter().map(|r| r.arm).collect())),
                    rows: LoggedRows::Snapshot(Arc::clone(&book)),
                });
            }
            let page: Vec<Contact> = served.treatment.iter().skip(offset).take(limit).cloned().collect();
            let info = CampaignInfo {
                name: served.name.to_string(),
                holdout: served.holdout,
                treatment: served.treatment.len(),
                control: served.control,
                held_out_by_other_campaigns: served.held.held_out_customers(),
            };
            (served.matching, served.treatment.len(), page, Some(info), served.held.clone())
        }
    };
    let items: Vec<QueueContact<'_>> = page
        .iter()
        .map(|c| {
            let renewals: Vec<ScoredRenewal<'_>> = c
                .renewals
                .iter()
                .map(|l| {
                    let mut item = assigned_renewal(&book, rows, economics, l.row, l.rank, "snapshot", (l.action, l.gain), lang);
                    item.promise_broken = l.broken_promise;
                    item
                })
                .collect();
            QueueContact {
                rank: c.rank,
                customer_id: rows.text(c.customer),
                action: economics.action_name(c.action),
                action_label: action_label(lang, economics.action_name(c.action)),
                expected_gain: c.gain,
                value_at_risk: renewals.iter().map(|r| r.value_at_risk).sum(),
                renewals,
            }
        })
        .collect();
    let picked: Vec<&Listed> = page.iter().flat_map(|c| &c.renewals).collect();
    let log_campaign = campaign.as_ref().map(|c| (Arc::from(c.name.as_str()), vec![Arm::Treatment; picked.len()]));
    let response = hand_written(
        &QueueResponse {
            model_version: &book.version,
            as_of: Date(book.as_of),
            matching,
            listed,
            offset,
            next_offset: page_asked.next_offset(page.len(), listed),
            campaign,
            held_back: held.to_map(),
            items,
        },
        crate::json::queue_response,
    );
    state.metrics.scores_served("queue", picked.len());
    if let Some(log) = &state.score_log
        && !picked.is_empty()
    {
        log.append(LogBatch {
            time_ms: now_ms(),
            request_id: request_id(&headers),
            endpoint: "queue",
            model_version: book.version.clone(),
            picks: picked.iter().map(|l| (l.row as u32, l.rank)).collect(),
            assigned: Some(picked.iter().map(|l| (l.action, l.gain)).collect()),
            campaign: log_campaign,
            rows: LoggedRows::Snapshot(Arc::clone(&book)),
        });
    }
    Ok(in_language(response, lang))
}

/// Why a renewal is or is not on today's work list (no filters): the rule holding it, each
/// action's gain and what forbids it, its contact's rank.
#[utoipa::path(get, path = "/v1/queue/explain", params(ExplainParams),
    responses(
        (status = 200, description = "The verdict on the renewal", body = ExplainResponse),
        (status = 401, description = "Missing or wrong token", body = ErrorBody),
        (status = 422, description = "A parameter is invalid", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub(super) async fn explain_queue(
    State(state): State<Shared>,
    headers: HeaderMap,
    Params(params): Params<ExplainParams>,
) -> Result<Response, ApiError> {
    let lang = request_lang(&state, &headers, params.lang.as_deref())?;
    if params.policy_id.is_empty() || params.policy_id.len() > 128 {
        return Err(ApiError::invalid("policy_id", "policy_id must be 1 to 128 bytes"));
    }
    let capacity = params.capacity.unwrap_or(state.config.limits.default_capacity);
    let book = state.current.load_full();
    if let Some(outcomes) = &state.outcomes
        && let Err(e) = outcomes.catch_up().await
    {
        tracing::warn!(error = %e, "outcomes recorded by other servers not read");
    }
    let economics = &state.config.economics;
    let rows = &book.rows;
    let row = book.lookup(&params.policy_id, Some(params.installment_no)).next();
    let mut response = ExplainResponse {
        policy_id: params.policy_id.clone(),
        installment_no: params.installment_no,
        customer_id: None,
        as_of: Date(book.as_of),
        verdict: "not_in_snapshot",
        held_by: None,
        promise_broken: false,
        rank: None,
        capacity,
        action: None,
        action_label: None,
        expected_gain: None,
        covers: Vec::new(),
        actions: Vec::new(),
        outcomes: 0,
    };
    if let Some(row) = row {
        let customer = rows.text(rows.renewals[row].customer).map(str::to_string);
        let state_for = Arc::clone(&state);
        let book_for = Arc::clone(&book);
        let explained = on_compute_pool(move || {
            let (state, book) = (&state_for, &book_for);
            let economics = &state.config.economics;
            let verdicts = state.outcomes.as_ref().map(|o| o.verdicts(book, &book.queue, economics));
            let contacts = crate::outcomes::contacts_in_force(
                state.outcomes.as_deref(),
                verdicts.as_deref(),
                &state.config.contact_rules,
                book,
                &book.queue,
                economics,
                None,
            );
            let outcomes = match (&state.outcomes, book.rows.text(book.rows.renewals[row].customer)) {
                (Some(o), Some(c)) => o.index().of_customer(c).len(),
                _ => 0,
            };
            (lapse_retention::worklist::explain(&book.rows, &book.queue, &contacts, row), outcomes)
        })
        .await?;
        let (x, outcomes) = explained;
        response.customer_id = customer;
        response.outcomes = outcomes;
        response.held_by = x.held.map(|r| r.as_str());
        response.promise_broken = x.broken_promise;
        response.rank = x.rank;
        if let Some((action, gain)) = x.contact {
            response.action = Some(economics.action_name(action).to_string());
            response.action_label = Some(action_label(lang, economics.action_name(action)));
            response.expected_gain = Some(gain);
        }
        response.covers = x
            .covers
            .iter()
            .map(|&r| RenewalKeyOut { policy_id: rows.policy_id[r].to_string(), installment_no: rows.renewals[r].installment_no })
            .collect();
        response.actions = x
            .actions
            .iter()
            .enumerate()
            .map(|(a, (gain, rule))| ExplainedAction {
                action: economics.actions[a].name.clone(),
                expected_gain: *gain,
                forbidden_by: rule.map(|r| r.as_str()),
            })
            .collect();
        let forbidding = x.actions.iter().filter_map(|(g, r)| g.filter(|&g| g > 0.0).and(*r)).next();
        response.verdict = match (x.held, x.contact, x.rank) {
            (Some(_), _, _) => "held",
            (None, None, _) if forbidding.is_some() => {
                response.held_by = forbidding.map(|r| r.as_str());
                "held"
            }
            (None, None, _) => "no_action_pays",
            (None, Some(_), None) => {
                response.held_by = Some(lapse_retention::contact::Rule::Orphan.as_str());
                "not_covered"
            }
            (None, Some(_), Some(rank)) if rank as usize > capacity => "beyond_capacity",
            (None, Some(_), Some(_)) => "listed",
        };
    }
    Ok(in_language(Json(response).into_response(), lang))
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

/// A stored campaign: its settings and a page of its contacts (both arms, or one).
#[utoipa::path(get, path = "/v1/campaigns/{name}", params(CampaignPath, CampaignParams),
    responses(
        (status = 200, description = "The campaign and a page of its contacts", body = CampaignResponse),
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
    // The campaigns directory, else the shared store (a campaign another server created).
    let wanted = name.clone();
    let (record, campaign) = match on_compute_pool(move || store.load(&wanted)).await? {
        Ok(found) => found,
        Err(lapse_retention::campaign::StoreError::NotFound(_)) if state.outcomes.is_some() => {
            let shared = state.outcomes.as_ref().map(|o| o.store.clone()).expect("checked");
            shared
                .campaign(&name)
                .await
                .map_err(ApiError::internal)?
                .ok_or_else(|| ApiError::from(lapse_retention::campaign::StoreError::NotFound(name.clone())))?
        }
        Err(e) => return Err(e.into()),
    };
    // The stored rows are the contacts' renewals in rank order: group them back.
    let mut contacts: Vec<&[lapse_retention::campaign::CampaignRow]> = Vec::new();
    let mut start = 0;
    for i in 1..=campaign.rows.len() {
        if i == campaign.rows.len() || campaign.rows[i].rank != campaign.rows[start].rank {
            contacts.push(&campaign.rows[start..i]);
            start = i;
        }
    }
    let chosen: Vec<&[lapse_retention::campaign::CampaignRow]> = contacts.into_iter().filter(|c| arm.is_none_or(|a| c[0].arm == a)).collect();
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
        treatment: campaign.contacts(Arm::Treatment),
        control: campaign.contacts(Arm::Control),
        matching: chosen.len(),
        offset,
        next_offset: asked.next_offset(page.len(), chosen.len()),
        items: page
            .iter()
            .map(|c| CampaignContact {
                rank: c[0].rank,
                customer_id: c[0].customer_id.as_deref(),
                action: &c[0].action,
                arm: c[0].arm.as_str(),
                expected_gain: c.iter().map(|r| r.expected_gain).sum(),
                renewals: c
                    .iter()
                    .map(|r| CampaignItem {
                        policy_id: &r.policy_id,
                        installment_no: r.installment_no,
                        due_date: Date(r.due_date),
                        probability: r.probability,
                        value_at_risk: r.value_at_risk,
                        expected_gain: r.expected_gain,
                        segment: &r.segment,
                    })
                    .collect(),
            })
            .collect(),
    };
    Ok(Json(response).into_response())
}
