//! The console under `/ui/` (issue 27): the pages over time of `lapse_reports::pages::history`,
//! drawn from the history of `--reports` (re-read on every reload), and each night's own pages
//! under `/ui/nights/T/`. Server-rendered HTML, no script, nothing fetched from elsewhere.
//!
//! Every page needs a token that grants reading: a browser enters it once on `/ui/login` and
//! keeps it in a `Secure`, `HttpOnly`, `SameSite=Strict` cookie scoped to `/ui`; a script sends
//! it as `Authorization: Bearer`. Without one a page answers 401 with a link to the login.
//! English or Chinese by `?lang=` or `Accept-Language`.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use lapse_model::scoring::lang::Lang;
use lapse_reports::pages::Context;
use lapse_reports::pages::history::{book_page, campaigns_page, console_index, drift_over_time_page, model_page};
use lapse_reports::pages::today::{TodayAsked, today_page, today_unavailable_page};
use lapse_retention::worklist::today::{TodayInput, morning_list, today_work};

use super::AppState;
use crate::auth::Role;
use crate::pool::on_compute_pool;

/// The cookie that keeps the read token.
const COOKIE: &str = "lapse_read";

/// A console page's query: `?lang=zh-CN`; the Today page's `?day=YYYY-MM-DD&capacity=...`.
#[derive(Debug, serde::Deserialize)]
pub struct PageQuery {
    lang: Option<String>,
    day: Option<String>,
    capacity: Option<String>,
}

fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The page's language: `?lang=`, else `Accept-Language`, else English.
fn lang_of(query: &PageQuery, headers: &HeaderMap) -> Lang {
    query
        .lang
        .as_deref()
        .and_then(Lang::from_tag)
        .or_else(|| headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).and_then(Lang::from_accept_language))
        .unwrap_or_default()
}

/// The read token a request carries: its cookie, or its bearer header.
fn presented(headers: &HeaderMap) -> Option<String> {
    let from_cookie = headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        (name == COOKIE).then(|| value.to_string())
    });
    from_cookie.or_else(|| {
        let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
        (value.len() > 7 && value[..7].eq_ignore_ascii_case("bearer ")).then(|| value[7..].to_string())
    })
}

/// 401 unless the request carries a token that grants reading.
pub async fn require_read(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    if presented(request.headers()).is_some_and(|t| state.tokens.allows_token(&t, Role::Read)) {
        return next.run(request).await;
    }
    html(
        StatusCode::UNAUTHORIZED,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><link rel=\"icon\" href=\"data:,\"><title>lapse console: sign in</title></head><body>\
         <h1>lapse console</h1><p>This page needs the console's read token: <a href=\"/ui/login\">sign in</a>.</p></body></html>"
            .into(),
    )
}

/// The login page: one field, the read token.
pub async fn login_form() -> Response {
    html(StatusCode::OK, login_page(""))
}

fn login_page(error: &str) -> String {
    let error = if error.is_empty() { String::new() } else { format!("<p role=\"alert\" style=\"color:#a00\">{error}</p>") };
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><link rel=\"icon\" href=\"data:,\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>lapse console: sign in</title><style>body{{font-family:system-ui,sans-serif;max-width:30rem;margin:3rem auto;padding:0 1rem;color:#222}}\
         input{{font-size:1rem;padding:.3rem;width:100%;box-sizing:border-box}}button{{font-size:1rem;margin-top:.6rem;padding:.3rem 1rem}}</style></head>\
         <body><h1>lapse console</h1>{error}<form method=\"post\" action=\"/ui/login\"><label for=\"token\">Read token (LAPSE_READ_TOKEN)</label>\
         <input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"current-password\" required><button type=\"submit\">Sign in</button></form></body></html>"
    )
}

/// `POST /ui/login` (a form with `token`): a valid token is kept in the cookie and the browser
/// sent to the console; another gets the form again with 401.
pub async fn login(State(state): State<Arc<AppState>>, body: axum::body::Bytes) -> Response {
    let token = form_urlencoded::parse(&body).find(|(k, _)| k == "token").map(|(_, v)| v.into_owned()).unwrap_or_default();
    let token = token.trim();
    let cookie_safe = !token.is_empty() && token.bytes().all(|b| b.is_ascii_graphic() && b != b';' && b != b',' && b != b'"' && b != b'\\');
    if !(cookie_safe && state.tokens.allows_token(token, Role::Read)) {
        return html(StatusCode::UNAUTHORIZED, login_page("That token does not open the console."));
    }
    let cookie = format!("{COOKIE}={token}; Path=/ui; Secure; HttpOnly; SameSite=Strict; Max-Age=43200");
    let mut response =
        Response::builder().status(StatusCode::SEE_OTHER).header(header::LOCATION, "/ui/").body(Body::empty()).expect("a valid response");
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// `/ui/`: the console's home.
pub async fn home(state: State<Arc<AppState>>, query: Query<PageQuery>, headers: HeaderMap) -> Response {
    render(&state, "index.html", lang_of(&query, &headers))
}

/// `/ui/{page}`: one of the console's pages.
pub async fn page(state: State<Arc<AppState>>, Path(page): Path<String>, query: Query<PageQuery>, headers: HeaderMap) -> Response {
    let lang = lang_of(&query, &headers);
    if page == "today.html" {
        return today(&state, &query, lang).await;
    }
    render(&state, &page, lang)
}

/// `/ui/today.html`: the day's work on the served list, from the outcome store (today by the
/// server's UTC clock unless `?day=`; the server's default capacity unless `?capacity=`, read as
/// `GET /v1/queue` reads it).
async fn today(state: &Arc<AppState>, query: &PageQuery, lang: Lang) -> Response {
    let given = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
    let mut asked = TodayAsked { day: given(&query.day).unwrap_or_default(), capacity: given(&query.capacity).unwrap_or_default(), error: None };
    let mut day = lapse_core::dates::today_utc();
    if !asked.day.is_empty() {
        match lapse_core::dates::parse_day(&asked.day) {
            Some(d) => day = d,
            None => asked.error = Some(format!("day {:?}: give a date as YYYY-MM-DD", asked.day)),
        }
    }
    let economics = &state.config.economics;
    let request = lapse_retention::WorkListRequest { capacity: given(&query.capacity), ..Default::default() };
    let capacity = match request.check(economics, state.config.limits.default_capacity) {
        Ok(spec) => spec.capacity,
        Err(e) => {
            asked.error = Some(format!("{}: {}", e.field, e.reason));
            lapse_retention::assign::Capacity::Total(state.config.limits.default_capacity)
        }
    };
    if asked.day.is_empty() {
        asked.day = lapse_core::dates::format_day(day);
    }
    let context = Context { night: lapse_core::dates::format_day(day), generated_at: lapse_core::dates::now_utc_rfc3339(), lang };
    let status = if asked.error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let Some(outcomes) = state.outcomes.clone() else {
        return html(StatusCode::OK, today_unavailable_page(&context).into_string());
    };
    if let Err(e) = outcomes.catch_up().await {
        tracing::warn!(error = %e, "outcomes recorded by other servers not read; the Today page counts the ones this server knows");
    }
    let book = state.current.load_full();
    let teams = state.teams.load_full();
    let (rules, economics) = (state.config.contact_rules.clone(), economics.clone());
    let teams_known = teams.is_some();
    let book_for = Arc::clone(&book);
    let key = format!("{capacity:?}");
    let work = on_compute_pool(move || {
        let held_out = outcomes.holdouts_open(book_for.as_of, None);
        // The rules over every outcome as the queue compiles them (kept between lists).
        let live = outcomes.verdicts(&book_for, &book_for.queue, &economics);
        let team_of = |agent: &str| teams.as_ref().and_then(|t| t.team_of(agent)).map(str::to_string);
        let input = |index| TodayInput {
            rows: &book_for.rows,
            order: &book_for.queue,
            economics: &economics,
            rules: &rules,
            capacity: &capacity,
            outcomes: index,
            held_out: &held_out,
            as_of: book_for.as_of,
            day,
            team_of: &team_of,
            morning: None,
            live_verdicts: None,
        };
        let index = outcomes.index();
        let morning = outcomes.morning_list(&book_for, day, &key, held_out.len(), &index, || morning_list(&input(&index)));
        today_work(&TodayInput { morning: Some(&morning), live_verdicts: Some(&live), ..input(&index) })
    })
    .await;
    match work {
        Ok(work) => html(status, today_page(&context, &work, &book.version, teams_known, &asked).into_string()),
        Err(e) => {
            tracing::error!(error = ?e, "the Today page could not be drawn");
            html(StatusCode::INTERNAL_SERVER_ERROR, "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><link rel=\"icon\" href=\"data:,\"><title>error</title></head><body><p>The Today page could not be drawn; the server log says why.</p></body></html>".into())
        }
    }
}

fn render(state: &AppState, page: &str, lang: Lang) -> Response {
    let Some(console) = &state.console else {
        return html(StatusCode::NOT_FOUND, "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><link rel=\"icon\" href=\"data:,\"><title>no console</title></head><body><p>This server has no console: start it with <code>--reports DIR</code>.</p></body></html>".into());
    };
    let history = console.read().unwrap_or_else(|poisoned| poisoned.into_inner());
    let night = history.latest().map(|n| n.night.clone()).unwrap_or_default();
    let context = Context { night, generated_at: lapse_core::dates::now_utc_rfc3339(), lang };
    let markup = match page {
        "index.html" => console_index(&context, &history),
        "model.html" => model_page(&context, &history),
        "drift.html" => drift_over_time_page(&context, &history),
        "book.html" => book_page(&context, &history),
        "campaigns.html" => campaigns_page(&context, &history),
        "today.html" => today_unavailable_page(&context),
        _ => return html(StatusCode::NOT_FOUND, "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><link rel=\"icon\" href=\"data:,\"><title>not found</title></head><body><p>No such page: <a href=\"/ui/\">the console</a>.</p></body></html>".into()),
    };
    html(StatusCode::OK, markup.into_string())
}

/// `/ui/nights/{night}/{file}`: a night's own page or report, from `--reports` (a night's date
/// and a plain `.html` or `.json` file name only: nothing else of the disk is reachable).
pub async fn night_file(State(state): State<Arc<AppState>>, Path((night, file)): Path<(String, String)>) -> Response {
    let not_found = || {
        html(StatusCode::NOT_FOUND, "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><link rel=\"icon\" href=\"data:,\"><title>not found</title></head><body><p>No such report.</p></body></html>".into())
    };
    let Some(root) = state.config.reports.as_ref() else { return not_found() };
    let plain = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.') && !s.starts_with('.');
    let kind = if file.ends_with(".html") {
        "text/html; charset=utf-8"
    } else if file.ends_with(".json") {
        "application/json"
    } else {
        return not_found();
    };
    if lapse_core::dates::parse_day(&night).is_none() || night.len() != 10 || !plain(&file) || file.contains("..") {
        return not_found();
    }
    match tokio::fs::read(root.join(&night).join(&file)).await {
        Ok(bytes) => {
            let mut response = (StatusCode::OK, bytes).into_response();
            response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
            response
        }
        Err(_) => not_found(),
    }
}
