//! Shared by the handlers: the request's language and caller, paging and id checks, body
//! parsing, and the renderers of scored renewals and JSON responses.

#[allow(unused_imports)]
use super::*;

// ---------------------------------------------------------------------------------------
// Rendering

/// The language of a request: `?lang=` (`en`, `zh-CN`), else `Accept-Language` when it names
/// one we speak, else the server's default (`lapse serve --lang`).
pub(super) fn request_lang(state: &AppState, headers: &HeaderMap, param: Option<&str>) -> Result<Lang, ApiError> {
    if let Some(tag) = param {
        return Lang::from_tag(tag).ok_or_else(|| ApiError::invalid("lang", "lang must be en or zh-CN"));
    }
    Ok(headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).and_then(Lang::from_accept_language).unwrap_or(state.config.lang))
}

/// Who is asking, for per-caller limits: a short digest of the bearer token (never the token),
/// or `anonymous` without one (`--no-auth`).
pub(super) fn caller_of(headers: &HeaderMap) -> String {
    use sha2::Digest;
    match headers.get(header::AUTHORIZATION) {
        Some(value) => sha2::Sha256::digest(value.as_bytes()).iter().take(8).map(|b| format!("{b:02x}")).collect(),
        None => "anonymous".to_string(),
    }
}

/// The largest page offset a request may give (the document's maximum).
pub const MAX_OFFSET: usize = i32::MAX as usize;

/// Query parameters, deserialized; a rejection (an unknown parameter, a number that is not
/// one) is the one error shape: 422 `invalid_field`.
pub(super) struct Params<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, ApiError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(params)) => Ok(Params(params)),
            Err(e) => Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", e.body_text())),
        }
    }
}

/// A page of a list: where it starts and how long it may be, checked (`offset` 0 to
/// [`MAX_OFFSET`], `limit` 1 to the route's maximum).
#[derive(Debug, Clone, Copy)]
pub(super) struct Page {
    pub offset: usize,
    pub limit: usize,
}

impl Page {
    /// The page asked for, `limit` defaulting to `default`.
    pub fn of(offset: Option<usize>, limit: Option<usize>, default: usize, max: usize) -> Result<Page, ApiError> {
        let limit = limit.unwrap_or(default);
        if limit == 0 || limit > max {
            return Err(ApiError::invalid("limit", format!("limit must be 1..={max}")));
        }
        match offset {
            Some(o) if o > MAX_OFFSET => Err(ApiError::invalid("offset", format!("offset must be 0..={MAX_OFFSET}"))),
            o => Ok(Page { offset: o.unwrap_or(0), limit }),
        }
    }

    /// The positions of the page.
    pub fn range(&self) -> std::ops::Range<usize> {
        self.offset..self.offset.saturating_add(self.limit)
    }

    /// Where the next page starts, when this one showed `shown` of `total` items.
    pub fn next_offset(&self, shown: usize, total: usize) -> Option<usize> {
        let end = self.offset + shown;
        (end < total && shown > 0).then_some(end)
    }
}

/// The longest policy id a request may name.
pub const MAX_POLICY_ID_BYTES: usize = 128;

/// The `lang` query parameter of a request without typed query parameters.
pub(super) fn lang_param(uri: &axum::http::Uri) -> Option<String> {
    form_urlencoded::parse(uri.query()?.as_bytes()).find(|(key, _)| key == "lang").map(|(_, value)| value.into_owned())
}

/// A JSON response in `lang` (`Content-Language`).
pub(super) fn in_language(mut response: Response, lang: Lang) -> Response {
    response.headers_mut().insert(header::CONTENT_LANGUAGE, header::HeaderValue::from_static(lang.tag()));
    response
}

pub(super) fn renewal<'a>(
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
pub(super) fn assigned_renewal<'a>(
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
        customer_id: rows.text(x.customer),
        orphan: x.orphan,
        promise_broken: false,
        source,
        model_version: &book.version,
    }
}

/// Ranks of `picks` (rows) by expected gain within the response, 1 = best.
pub(super) fn batch_ranks(rows: &[(&ScoredRows, usize)]) -> Vec<u32> {
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

pub(super) fn json_response<T: Serialize>(value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(bytes) => ([(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

/// A response written by a hand-written writer (`json`); debug builds (every test) check it
/// is the JSON serde would write for the documented type.
pub(super) fn hand_written<T: Serialize>(value: &T, write: fn(&T) -> Vec<u8>) -> Response {
    let bytes = write(value);
    debug_assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&bytes).expect("hand-written JSON parses"),
        serde_json::from_slice::<serde_json::Value>(&serde_json::to_vec(value).expect("serializes")).expect("parses"),
        "the hand-written JSON differs from serde's"
    );
    ([(header::CONTENT_TYPE, "application/json")], bytes).into_response()
}

pub(super) fn request_id(headers: &HeaderMap) -> String {
    headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("").to_string()
}

/// Parses a JSON body, naming the field at fault.
pub(super) fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
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
