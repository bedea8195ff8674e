//! The scoring API in process: the router with its real layers, a real registry and a real
//! snapshot built from a generated book (no mocks), called with `tower::ServiceExt::oneshot`.
//! (The real binary on a real socket is tested from the root package: `tests/serve_e2e.rs`.)

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use polars::prelude::*;
use serde_json::{Value, json};
use tower::ServiceExt;

use lapse_api::auth::Tokens;
use lapse_api::{AppState, Economics, Limits, ServeConfig, build_state, router};
use lapse_model::registry::Registry;
use lapse_model::train::{Dataset, DatasetOptions};

use lapse_core::testkit::{built_once, column_strings, read_parquet};
use lapse_model::testkit::{AS_OF, ServeFixture};

const SCORE_TOKEN: &str = "score-token-for-tests";
const ADMIN_TOKEN: &str = "admin-token-for-tests";

/// The fixture, built once per test binary. Tests never change it (they copy the registry
/// first).
fn fixture() -> &'static ServeFixture {
    static FIXTURE: OnceLock<ServeFixture> = OnceLock::new();
    FIXTURE.get_or_init(|| ServeFixture::at(&built_once(Path::new(env!("CARGO_TARGET_TMPDIR")), "api-fixture", |dir| ServeFixture::at(dir).build())))
}

/// A copy of the fixture's registry that a test may change.
fn models_copy(into: &Path) -> PathBuf {
    fixture().models_copy(into)
}

fn config(models: &Path, score_log: Option<PathBuf>) -> ServeConfig {
    ServeConfig {
        reports: None,
        agents: None,
        models: models.to_path_buf(),
        snapshot: fixture().snapshot.clone(),
        economics: Economics::default(),
        limits: Limits { max_batch: 50, max_body_bytes: 256 << 10, ..Limits::default() },
        score_log,
        score_log_policy: Default::default(),
        thresholds: Default::default(),
        campaigns: fresh_dir("campaigns"),
        lang: Default::default(),
        tls: None,
        winback: None,
        store: None,
        contact_rules: Default::default(),
    }
}

/// A new empty directory under the system temp dir (left for the OS to clean).
fn fresh_dir(what: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("lapse-test-{what}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn tokens() -> Tokens {
    Tokens::load(None, Some(SCORE_TOKEN), None, Some(ADMIN_TOKEN)).unwrap()
}

fn app_with(models: &Path, score_log: Option<PathBuf>) -> (Router, Arc<AppState>) {
    let state = build_state(config(models, score_log), tokens()).unwrap();
    (router(Arc::clone(&state)), state)
}

fn app() -> Router {
    static APP: OnceLock<Router> = OnceLock::new();
    APP.get_or_init(|| app_with(&fixture().models, None).0).clone()
}

async fn call(app: &Router, method: &str, uri: &str, token: Option<&str>, body: Option<String>) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let request = request.header("content-type", "application/json").body(body.map_or_else(Body::empty, Body::from)).unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    let value = serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, value)
}

async fn score(app: &Router, body: Value) -> (StatusCode, Value) {
    call(app, "POST", "/v1/score", Some(SCORE_TOKEN), Some(body.to_string())).await
}

/// (policy_id, installment_no, agent_id) of the snapshot's rows.
fn snapshot_keys() -> Vec<(String, u32, String)> {
    let df = read_parquet(&fixture().snapshot);
    let ids = column_strings(&df, "policy_id");
    let numbers = column_strings(&df, "installment_no");
    let agents = column_strings(&df, "agent_id");
    ids.into_iter().zip(numbers).zip(agents).map(|((p, n), a)| (p, n.parse().unwrap(), a)).collect()
}

/// The renewals of a work-list page, contact by contact.
fn renewals(page: &Value) -> Vec<Value> {
    page["items"].as_array().unwrap().iter().flat_map(|c| c["renewals"].as_array().unwrap().iter().cloned()).collect()
}

fn assert_error(status: StatusCode, body: &Value, want_status: u16, want_code: &str, want_field: Option<&str>) {
    assert_eq!(status.as_u16(), want_status, "{body}");
    assert_eq!(body["code"], want_code, "{body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    match want_field {
        Some(field) => assert_eq!(body["field"], field, "{body}"),
        None => assert!(body.get("field").is_none(), "{body}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scoring_by_key_gives_probability_value_action_segment_and_reasons() {
    let app = app();
    let keys = snapshot_keys();
    let picked: Vec<Value> = keys.iter().take(20).map(|(p, n, _)| json!({"policy_id": p, "installment_no": n})).collect();
    let (status, body) = score(&app, json!({ "renewals": picked })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), 20);
    let economics = Economics::default();
    let mut ranks: Vec<u64> = Vec::new();
    for (result, (policy, number, _)) in results.iter().zip(&keys) {
        assert_eq!(result["policy_id"], policy.as_str(), "results come in request order");
        assert_eq!(result["installment_no"], *number);
        assert_eq!(result["model_version"], "v0001");
        let p = result["probability"].as_f64().unwrap();
        assert!(p > 0.0 && p < 1.0);
        let v = result["value_at_risk"].as_f64().unwrap();
        assert!((result["expected_loss"].as_f64().unwrap() - p * v).abs() < 1e-6 * v.max(1.0));
        // The recommended action is the best of the configured ones by p x s x V - c.
        let (best, gain) = economics.best_action(p, v);
        assert_eq!(result["action"], economics.action_name(best));
        assert!((result["expected_gain"].as_f64().unwrap() - gain).abs() < 1e-6 * gain.abs().max(1.0));
        let segment = &result["segment"];
        assert_eq!(segment["name"], format!("{}_risk_{}_value", segment["risk_band"].as_str().unwrap(), segment["value_band"].as_str().unwrap()));
        let reasons = result["reasons"].as_array().unwrap();
        assert!(reasons.len() <= 3);
        let contributions: Vec<f64> = reasons.iter().map(|r| r["contribution"].as_f64().unwrap()).collect();
        assert!(contributions.iter().all(|&c| c > 0.0), "reasons push risk up: {contributions:?}");
        assert!(contributions.windows(2).all(|w| w[0] >= w[1]), "largest first: {contributions:?}");
        for reason in reasons {
            let text = reason["text"].as_str().unwrap();
            assert!(!text.is_empty() && !text.contains("NaN"), "{reason}");
        }
        ranks.push(result["rank"].as_u64().unwrap());
    }
    ranks.sort_unstable();
    assert_eq!(ranks, (1..=20).collect::<Vec<u64>>(), "ranks are a permutation of 1..n");
    let gain_of_rank = |rank: u64| results.iter().find(|r| r["rank"] == rank).unwrap()["expected_gain"].as_f64().unwrap();
    assert!((1..20).all(|k| gain_of_rank(k) >= gain_of_rank(k + 1)), "rank 1 has the largest expected gain");
    // High-risk renewals explain themselves: at least one renewal in 20 has reasons.
    assert!(results.iter().any(|r| !r["reasons"].as_array().unwrap().is_empty()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_key_without_installment_returns_all_its_renewals_at_risk() {
    let app = app();
    let keys = snapshot_keys();
    let (policy, _, _) = &keys[0];
    let expected = keys.iter().filter(|(p, _, _)| p == policy).count();
    let (status, body) = score(&app, json!({"renewals": [{"policy_id": policy}]})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["results"].as_array().unwrap().len(), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_action_capacities_give_each_renewal_one_action_within_every_capacity() {
    let app = app();
    let get = |uri: String| {
        let app = app.clone();
        async move { call(&app, "GET", &uri, Some(SCORE_TOKEN), None).await }
    };
    // The default economics: sms (save 0.05, cost 0.5), call (0.20, 15), visit (0.35, 120).
    let economics = Economics::default();
    let capacity = [("visit", 4usize), ("call", 6), ("sms", 30)];
    let (status, body) = get("/v1/queue?capacity=visit:4,call=6,sms:30&limit=1000".into()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let items = body["items"].as_array().unwrap();
    assert_eq!(body["listed"].as_u64().unwrap() as usize, items.len());
    for (action, cap) in capacity {
        let used = items.iter().filter(|i| i["action"] == action).count();
        assert!(used <= cap, "{action}: {used} > {cap}");
        assert_eq!(used, cap, "the fixture has more than enough gaining customers for {action}");
    }
    let mut customers = std::collections::HashSet::new();
    assert!(items.iter().all(|i| customers.insert(i["customer_id"].to_string())), "one contact per customer");
    // A contact's gain: its renewals' p x s x V less the action's cost once; the renewals' shares
    // sum to it; the list is ranked by it.
    let contact_gain = |contact: &Value, a: &lapse_retention::Action| -> Option<f64> {
        let covered: Vec<&Value> = contact["renewals"].as_array().unwrap().iter().filter(|r| !(r["orphan"] == true && a.name == "visit")).collect();
        (!covered.is_empty()).then(|| {
            covered.iter().map(|r| r["probability"].as_f64().unwrap() * a.save_rate * r["value_at_risk"].as_f64().unwrap()).sum::<f64>() - a.cost
        })
    };
    let mut total = 0.0;
    for item in items {
        let a = economics.actions.iter().find(|a| item["action"] == a.name.as_str()).unwrap();
        let gain = item["expected_gain"].as_f64().unwrap();
        assert!((gain - contact_gain(item, a).unwrap()).abs() < 1e-6 * (1.0 + gain.abs()), "{item}");
        let shares: f64 = item["renewals"].as_array().unwrap().iter().map(|r| r["expected_gain"].as_f64().unwrap()).sum();
        assert!((shares - gain).abs() < 1e-6 * (1.0 + gain.abs()));
        assert!(gain > 0.0);
        total += gain;
    }
    let gains: Vec<f64> = items.iter().map(|i| i["expected_gain"].as_f64().unwrap()).collect();
    assert!(gains.windows(2).all(|w| w[0] >= w[1]), "ranked by the gain of the action given");
    // Better than (or as good as) filling the actions greedily, dearest first, from the
    // customers by their best gain.
    let (_, all) = get("/v1/queue?capacity=1000000&limit=1000&include_no_action=true".into()).await;
    let mut greedy = 0.0;
    let mut taken = std::collections::BTreeSet::new();
    for (action, cap) in capacity {
        let a = economics.actions.iter().find(|a| a.name == action).unwrap();
        let mut options: Vec<(f64, String)> = all["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|i| Some((contact_gain(i, a)?, i["customer_id"].to_string())))
            .filter(|(g, key)| *g > 0.0 && !taken.contains(key))
            .collect();
        options.sort_by(|x, y| y.0.total_cmp(&x.0));
        for (g, key) in options.into_iter().take(cap) {
            greedy += g;
            taken.insert(key);
        }
    }
    assert!(total >= greedy - 1e-6, "assignment {total} < greedy {greedy}");
    // Pages of the list join up to the whole list.
    let mut paged = Vec::new();
    let mut offset = 0;
    loop {
        let (status, page) = get(format!("/v1/queue?capacity=visit:4,call=6,sms:30&limit=7&offset={offset}")).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        paged.extend(page["items"].as_array().unwrap().iter().map(|i| (i["customer_id"].clone(), i["action"].clone(), i["rank"].clone())));
        match page["next_offset"].as_u64() {
            Some(next) => offset = next as usize,
            None => break,
        }
    }
    let whole: Vec<(Value, Value, Value)> = items.iter().map(|i| (i["customer_id"].clone(), i["action"].clone(), i["rank"].clone())).collect();
    assert_eq!(paged, whole);
    // A bad capacity names the field.
    let (status, error) = get("/v1/queue?capacity=fax:3".into()).await;
    assert_error(status, &error, 422, "invalid_field", Some("capacity"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_ranks_by_expected_gain_with_filters_capacity_and_pages() {
    let app = app();
    let get = |uri: String| {
        let app = app.clone();
        async move { call(&app, "GET", &uri, Some(SCORE_TOKEN), None).await }
    };
    let (status, all) = get("/v1/queue?capacity=100000&limit=1000".into()).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    let items = all["items"].as_array().unwrap();
    assert!(items.len() > 50, "the fixture has a work list: {}", items.len());
    assert_eq!(all["matching"].as_u64().unwrap() as usize, items.len());
    let gains: Vec<f64> = items.iter().map(|i| i["expected_gain"].as_f64().unwrap()).collect();
    assert!(gains.windows(2).all(|w| w[0] >= w[1]), "ranked by expected gain");
    assert!(gains.iter().all(|&g| g > 0.0), "no action-none renewals unless asked");
    assert!(items.iter().enumerate().all(|(i, item)| item["rank"] == i as u64 + 1));
    assert!(items.iter().all(|c| c["renewals"].as_array().unwrap().iter().all(|r| r["rank"] == c["rank"] && r["action"] == c["action"])));
    let mut customers = std::collections::HashSet::new();
    assert!(items.iter().all(|i| customers.insert(i["customer_id"].to_string())), "one contact per customer");
    let flat = renewals(&all);
    assert!(flat.len() > items.len(), "the fixture has customers with several renewals due: {} renewals, {} contacts", flat.len(), items.len());
    // Not by probability alone: some renewal outranks a more likely lapse.
    let probs: Vec<f64> = flat.iter().map(|i| i["probability"].as_f64().unwrap()).collect();
    assert!(probs.windows(2).any(|w| w[0] < w[1]), "value changes the order");

    // Capacity cuts the list; pages of it join up to the same list.
    let (_, capped) = get("/v1/queue?capacity=25&limit=10".into()).await;
    assert_eq!(capped["listed"], 25);
    assert_eq!(capped["next_offset"], 10);
    let mut paged = Vec::new();
    let mut offset = 0;
    loop {
        let (status, page) = get(format!("/v1/queue?capacity=25&limit=10&offset={offset}")).await;
        assert_eq!(status, StatusCode::OK);
        paged.extend(page["items"].as_array().unwrap().iter().map(|i| i["customer_id"].clone()));
        match page["next_offset"].as_u64() {
            Some(next) => offset = next as usize,
            None => break,
        }
    }
    let top: Vec<Value> = items.iter().take(25).map(|i| i["customer_id"].clone()).collect();
    assert_eq!(paged, top);

    // Filters keep a contact's matching renewals only.
    let channel = flat[0]["channel"].as_str().unwrap().to_string();
    let (_, by_channel) = get(format!("/v1/queue?capacity=100000&limit=1000&channel={channel}")).await;
    let by_channel = renewals(&by_channel);
    assert!(!by_channel.is_empty() && by_channel.iter().all(|i| i["channel"] == channel.as_str()));
    let (_, overdue) = get("/v1/queue?capacity=100000&limit=1000&overdue=true".into()).await;
    let overdue = renewals(&overdue);
    assert!(!overdue.is_empty() && overdue.iter().all(|i| i["days_overdue"].as_i64().unwrap() > 0));
    let (_, upcoming) = get("/v1/queue?capacity=100000&limit=1000&overdue=false&due_within_days=10".into()).await;
    let upcoming = renewals(&upcoming);
    assert!(upcoming.iter().all(|i| i["days_overdue"] == 0 && i["days_until_due"].as_i64().unwrap() <= 10));
    let (_, rich) = get("/v1/queue?capacity=100000&limit=1000&min_value=50000".into()).await;
    let rich = renewals(&rich);
    assert!(!rich.is_empty() && rich.iter().all(|i| i["value_at_risk"].as_f64().unwrap() >= 50000.0));
    let (_, orphans) = get("/v1/queue?capacity=100000&limit=1000&orphan=true".into()).await;
    let orphans = renewals(&orphans);
    assert!(!orphans.is_empty() && orphans.iter().all(|i| i["orphan"] == true && i["action"] != "visit"), "the orphan team's list");
    let (_, nobody) = get("/v1/queue?region=Atlantis".into()).await;
    assert_eq!(nobody["matching"], 0);
    let (_, with_none) = get("/v1/queue?capacity=100000&limit=1000&include_no_action=true".into()).await;
    assert!(with_none["matching"].as_u64().unwrap() >= all["matching"].as_u64().unwrap());

    let (status, body) = get("/v1/queue?limit=0".into()).await;
    assert_error(status, &body, 422, "invalid_field", Some("limit"));
    let (status, body) = get("/v1/queue?capacity=ten".into()).await;
    assert_error(status, &body, 422, "invalid_field", Some("capacity"));
    let (status, body) = get("/v1/queue?min_value=-5".into()).await;
    assert_error(status, &body, 422, "invalid_field", Some("min_value"));
}

/// Contract rows of one customer (all their policies, installments, events and agents), as
/// JSON records of an inline request.
fn customer_records(customer: &str) -> Value {
    let read = |table: &str| -> DataFrame {
        CsvReadOptions::default()
            .with_infer_schema_length(Some(0))
            .try_into_reader_with_file_path(Some(fixture().book.join(format!("{table}.csv"))))
            .unwrap()
            .finish()
            .unwrap()
    };
    // Numeric columns as JSON numbers (the document's types), everything else as text.
    let numeric =
        |column: &str| lapse_core::extract::schema::TABLES.iter().flat_map(|t| t.columns.iter()).any(|c| c.name == column && c.kind.is_numeric());
    let rows = |df: &DataFrame, keep: &dyn Fn(&BTreeMap<String, Value>) -> bool| -> Vec<Value> {
        let names: Vec<String> = df.get_column_names().iter().map(|n| n.to_string()).collect();
        (0..df.height())
            .map(|i| {
                names
                    .iter()
                    .map(|n| {
                        let v = match df.column(n).unwrap().get(i).unwrap() {
                            AnyValue::String(s) if numeric(n) => serde_json::from_str::<Value>(s).unwrap_or(Value::String(s.to_string())),
                            AnyValue::String(s) => Value::String(s.to_string()),
                            _ => Value::Null,
                        };
                        (n.clone(), v)
                    })
                    .collect::<BTreeMap<String, Value>>()
            })
            .filter(|r| keep(r))
            .map(|r| serde_json::to_value(r).unwrap())
            .collect()
    };
    let customers = rows(&read("customers"), &|r| r["customer_id"] == customer);
    let policies = rows(&read("policies"), &|r| r["customer_id"] == customer);
    let ids: Vec<Value> = policies.iter().map(|p| p["policy_id"].clone()).collect();
    let agents_of: Vec<Value> = policies.iter().map(|p| p["agent_id"].clone()).filter(|a| !a.is_null()).collect();
    let installments = rows(&read("installments"), &|r| ids.contains(&r["policy_id"]));
    let events = rows(&read("events"), &|r| ids.contains(&r["policy_id"]));
    let agents = rows(&read("agents"), &|r| agents_of.contains(&r["agent_id"]));
    json!({"as_of": AS_OF, "customers": customers, "policies": policies, "installments": installments, "events": events, "agents": agents})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inline_records_score_the_same_as_the_snapshot_built_by_the_batch_job() {
    let app = app();
    // A renewal whose policy has no agent: its features depend only on its customer's rows
    // (agent signals need the agent's whole book, which an inline request does not carry).
    let snapshot = read_parquet(&fixture().snapshot);
    let customers = column_strings(&snapshot, "customer_id");
    let keys = snapshot_keys();
    let (row, (policy, number, _)) = keys.iter().enumerate().find(|(_, (_, _, agent))| agent == "null").expect("an agentless renewal");
    let records = customer_records(&customers[row]);
    let (status, inline) = score(&app, json!({ "records": records })).await;
    assert_eq!(status, StatusCode::OK, "{inline}");
    let found = inline["results"].as_array().unwrap().iter().find(|r| r["policy_id"] == policy.as_str() && r["installment_no"] == *number).cloned();
    let found = found.expect("the inline request scores the renewal at risk");
    assert_eq!(found["source"], "inline");
    let (_, by_key) = score(&app, json!({"renewals": [{"policy_id": policy, "installment_no": number}]})).await;
    let by_key = &by_key["results"][0];
    assert_eq!(by_key["source"], "snapshot");
    let (a, b) = (found["probability"].as_f64().unwrap(), by_key["probability"].as_f64().unwrap());
    assert!((a - b).abs() < 1e-12, "inline {a} vs snapshot {b}");
    assert_eq!(found["reasons"], by_key["reasons"]);
    assert_eq!(found["action"], by_key["action"]);
    assert_eq!(found["value_at_risk"], by_key["value_at_risk"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_inline_records_name_the_record_and_field() {
    let app = app();
    let snapshot = read_parquet(&fixture().snapshot);
    let customer = column_strings(&snapshot, "customer_id")[0].clone();
    let base = customer_records(&customer);

    let mut negative = base.clone();
    negative["installments"][1]["amount_due"] = json!(-10);
    let (status, body) = score(&app, json!({ "records": negative })).await;
    assert_error(status, &body, 422, "invalid_record", Some("records.installments[1].amount_due"));
    assert!(body["message"].as_str().unwrap().contains("negative"), "{body}");

    let mut not_a_number = base.clone();
    not_a_number["policies"][0]["modal_premium"] = json!("NaN");
    let (status, body) = score(&app, json!({ "records": not_a_number })).await;
    assert_error(status, &body, 422, "invalid_field", Some("records.policies[0].modal_premium"));
    assert!(body["message"].as_str().unwrap().contains("JSON number"), "{body}");
    // A boolean is no contract value.
    let mut boolean = base.clone();
    boolean["customers"][0]["gender"] = json!(true);
    let (status, _) = score(&app, json!({ "records": boolean })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let mut bad_date = base.clone();
    bad_date["installments"][0]["due_date"] = json!("2026-02-30");
    let (status, body) = score(&app, json!({ "records": bad_date })).await;
    assert_error(status, &body, 422, "invalid_record", Some("records.installments[0].due_date"));

    let mut unknown_column = base.clone();
    unknown_column["customers"][0]["shoe_size"] = json!(44);
    let (status, body) = score(&app, json!({ "records": unknown_column })).await;
    assert_error(status, &body, 422, "invalid_field", Some("records.customers[0].shoe_size"));

    let mut nested = base.clone();
    nested["policies"][0]["region"] = json!(["a"]);
    let (status, body) = score(&app, json!({ "records": nested })).await;
    assert_error(status, &body, 422, "invalid_field", Some("records.policies[0].region"));

    let mut far = base.clone();
    far["as_of"] = json!("3026-01-01");
    let (status, body) = score(&app, json!({ "records": far })).await;
    assert_error(status, &body, 422, "invalid_field", Some("records.as_of"));

    let mut orphan = base.clone();
    orphan["installments"][0]["policy_id"] = json!("P-NOT-SENT");
    let (status, body) = score(&app, json!({ "records": orphan })).await;
    assert_error(status, &body, 422, "invalid_record", Some("records.installments[0].policy_id"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_mistakes_get_precise_json_errors() {
    let app = app();
    let keys = snapshot_keys();
    let known = &keys[0].0;

    let (status, body) = call(&app, "POST", "/v1/score", Some(SCORE_TOKEN), Some("{\"renewals\": [".into())).await;
    assert_error(status, &body, 400, "malformed_json", None);
    let (status, body) = score(&app, json!({"renewals": [{"policy_id": 42}]})).await;
    assert_error(status, &body, 422, "invalid_field", Some("renewals[0].policy_id"));
    let (status, body) = score(&app, json!({"renewals": [{"policy_id": known, "installment_no": -3}]})).await;
    assert_error(status, &body, 422, "invalid_field", Some("renewals[0].installment_no"));
    let (status, body) = score(&app, json!({"renewals": [{"policy_id": known, "instalment": 3}]})).await;
    assert_error(status, &body, 422, "invalid_field", Some("renewals[0].instalment"));
    let (status, body) = score(&app, json!({})).await;
    assert_error(status, &body, 422, "invalid_field", Some("renewals"));

    let (status, body) = score(&app, json!({"renewals": [{"policy_id": known}, {"policy_id": "P-NOPE"}]})).await;
    assert_error(status, &body, 404, "unknown_policy", Some("renewals[1].policy_id"));
    let (status, body) = score(&app, json!({"renewals": [{"policy_id": known}, {"policy_id": "P-NOPE"}], "on_unknown": "skip"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["not_found"][0]["policy_id"], "P-NOPE");
    assert!(!body["results"].as_array().unwrap().is_empty());

    // Limits: 50 renewals per request here, 256 KiB bodies.
    let many: Vec<Value> = (0..51).map(|_| json!({"policy_id": known})).collect();
    let (status, body) = score(&app, json!({ "renewals": many })).await;
    assert_error(status, &body, 413, "too_large", Some("renewals"));
    let huge = format!("{{\"renewals\": [{{\"policy_id\": \"{}\"}}]}}", "x".repeat(300 << 10));
    let (status, body) = call(&app, "POST", "/v1/score", Some(SCORE_TOKEN), Some(huge)).await;
    assert_error(status, &body, 413, "too_large", None);

    // Auth.
    let (status, body) = call(&app, "POST", "/v1/score", None, Some(json!({"renewals": [{"policy_id": known}]}).to_string())).await;
    assert_error(status, &body, 401, "unauthorized", None);
    let (status, body) = call(&app, "GET", "/v1/queue", Some("guess"), None).await;
    assert_error(status, &body, 401, "unauthorized", None);
    let (status, body) = call(&app, "POST", "/v1/admin/reload", Some(SCORE_TOKEN), None).await;
    assert_error(status, &body, 403, "forbidden", None);
    let (status, _) = call(&app, "GET", "/v1/queue?limit=1", Some(ADMIN_TOKEN), None).await;
    assert_eq!(status, StatusCode::OK, "the admin token may score too");

    let (status, body) = call(&app, "GET", "/v1/nothing", Some(SCORE_TOKEN), None).await;
    assert_error(status, &body, 404, "not_found", None);
    let (status, body) = call(&app, "GET", "/v1/score", Some(SCORE_TOKEN), None).await;
    assert_error(status, &body, 405, "method_not_allowed", None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_routes_report_health_model_metrics_and_the_api() {
    let app = app();
    let (status, body) = call(&app, "GET", "/healthz", None, None).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("ok")));
    let (status, body) = call(&app, "GET", "/readyz", None, None).await;
    assert_eq!((status, body["model_version"].as_str()), (StatusCode::OK, Some("v0001")));
    let (status, model) = call(&app, "GET", "/v1/models/current", Some(SCORE_TOKEN), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(model["version"], "v0001");
    assert_eq!(model["family"], "gbdt");
    assert_eq!(model["snapshot"]["as_of"], AS_OF);
    assert!(model["roc_auc"].as_f64().unwrap() > 0.6);
    assert_eq!(model["validation_window"]["to"], "2026-02-28");
    assert_eq!(model["snapshot"]["renewals"].as_u64().unwrap() as usize, snapshot_keys().len());

    score(&app, json!({"renewals": [{"policy_id": snapshot_keys()[0].0}]})).await;
    let (status, text) = call(&app, "GET", "/metrics", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let text = text.as_str().unwrap();
    assert!(text.contains("lapse_http_requests_total{route=\"/v1/score\",method=\"POST\",status=\"200\"}"), "{text}");
    assert!(text.contains("lapse_http_request_duration_seconds_bucket"), "{text}");
    assert!(text.contains("lapse_model_info{version=\"v0001\"} 1"), "{text}");
    assert!(text.contains("lapse_scores_served_total{source=\"snapshot\"}"), "{text}");

    let (status, doc) = call(&app, "GET", "/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["paths"]["/v1/score"]["post"].is_object());
    assert!(doc["paths"]["/v1/queue"]["get"]["parameters"].as_array().unwrap().iter().any(|p| p["name"] == "capacity"));
    let committed = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json")).unwrap();
    assert!(committed == lapse_api::openapi_document(), "docs/openapi.json is stale: run `lapse openapi > docs/openapi.json`");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_swaps_the_champion_and_a_failed_reload_keeps_the_old_one() {
    let dir = tempfile::tempdir().unwrap();
    let models = models_copy(dir.path());
    let (app, _) = app_with(&models, None);
    let key = json!({"renewals": [{"policy_id": snapshot_keys()[0].0}]});
    let (_, before) = score(&app, key.clone()).await;
    assert_eq!(before["model_version"], "v0001");

    Registry::new(&models).promote("v0002").unwrap();
    let (status, body) = call(&app, "POST", "/v1/admin/reload", Some(ADMIN_TOKEN), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((body["previous_version"].as_str(), body["version"].as_str()), (Some("v0001"), Some("v0002")));
    let (_, after) = score(&app, key.clone()).await;
    assert_eq!(after["model_version"], "v0002");
    assert_eq!(after["results"][0]["model_version"], "v0002");

    // Corrupt the champion's artifact: the reload fails, says why, and v0002 keeps serving.
    let artifact = models.join("v0002/model.json");
    let mut bytes = fs::read(&artifact).unwrap();
    bytes.truncate(bytes.len() / 2);
    fs::write(&artifact, bytes).unwrap();
    let (status, body) = call(&app, "POST", "/v1/admin/reload", Some(ADMIN_TOKEN), None).await;
    assert_error(status, &body, 422, "reload_failed", None);
    assert!(body["message"].as_str().unwrap().contains("v0002"), "{body}");
    let (status, still) = score(&app, key.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(still["model_version"], "v0002");
    assert_eq!(still["results"][0]["probability"], after["results"][0]["probability"]);
    let (_, text) = call(&app, "GET", "/metrics", None, None).await;
    assert!(text.as_str().unwrap().contains("lapse_reloads_total{outcome=\"failed\"} 1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_score_served_is_in_the_score_log() {
    let dir = tempfile::tempdir().unwrap();
    let log_dir = dir.path().join("score-log");
    let (app, state) = app_with(&fixture().models, Some(log_dir.clone()));
    let keys = snapshot_keys();
    let picked: Vec<Value> = keys.iter().take(7).map(|(p, n, _)| json!({"policy_id": p, "installment_no": n})).collect();
    let request = Request::builder()
        .method("POST")
        .uri("/v1/score")
        .header("authorization", format!("Bearer {SCORE_TOKEN}"))
        .header("x-request-id", "req-abc")
        .body(Body::from(json!({ "renewals": picked }).to_string()))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-request-id"], "req-abc");
    let (_, queue) = call(&app, "GET", "/v1/queue?capacity=5", Some(SCORE_TOKEN), None).await;
    let (_, assigned) = call(&app, "GET", "/v1/queue?capacity=visit:2,call:2&limit=3", Some(SCORE_TOKEN), None).await;
    state.score_log.as_ref().unwrap().close();

    let files: Vec<_> = fs::read_dir(&log_dir).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "one daily file");
    assert!(files[0].file_name().unwrap().to_str().unwrap().starts_with("scores-"));
    let lines: Vec<Value> = fs::read_to_string(&files[0]).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 7 + renewals(&queue).len() + renewals(&assigned).len());
    let scored: Vec<&Value> = lines.iter().filter(|l| l["endpoint"] == "score").collect();
    assert_eq!(scored.len(), 7);
    for (line, (policy, number, _)) in scored.iter().zip(&keys) {
        assert_eq!(line["request_id"], "req-abc");
        assert_eq!(line["policy_id"], policy.as_str());
        assert_eq!(line["installment_no"], *number);
        assert_eq!(line["model_version"], "v0001");
        for field in ["time", "probability", "value", "action", "rank", "due_date", "expected_gain"] {
            assert!(!line[field].is_null(), "{field} in {line}");
        }
    }
    let queued: Vec<u64> = lines.iter().filter(|l| l["endpoint"] == "queue").map(|l| l["rank"].as_u64().unwrap()).collect();
    let ranks: Vec<u64> = renewals(&queue).iter().chain(&renewals(&assigned)).map(|r| r["rank"].as_u64().unwrap()).collect();
    assert_eq!(queued, ranks);
    // A work list within per-action capacities logs the action each renewal was given.
    let logged: Vec<&Value> = lines.iter().filter(|l| l["endpoint"] == "queue").skip(renewals(&queue).len()).collect();
    for (line, item) in logged.iter().zip(&renewals(&assigned)) {
        assert_eq!((&line["policy_id"], &line["action"], &line["expected_gain"]), (&item["policy_id"], &item["action"], &item["expected_gain"]));
    }
}

#[test]
fn contributions_are_exact_additive_explanations() {
    // For both families, the per-feature contributions of a row add up to its raw log-odds
    // minus one constant (the model's expected log-odds): nothing is left unexplained.
    let fixture = fixture();
    let data = Dataset::read(&fixture.training, &DatasetOptions::default()).unwrap();
    let registry = Registry::new(&fixture.models);
    for version in ["v0001", "v0002"] {
        let model = registry.load(version).unwrap().model;
        let rows: Vec<usize> = (0..400).collect();
        let design = model.design(&data.features, &rows).unwrap();
        let raw = model.estimator.predict(&design);
        let contributions = model.contributions(&design).unwrap();
        let width = model.schema.columns.len();
        let residuals: Vec<f64> = raw
            .iter()
            .enumerate()
            .map(|(r, p)| {
                let logit = (p / (1.0 - p)).ln();
                logit - contributions[r * width..(r + 1) * width].iter().sum::<f64>()
            })
            .collect();
        let spread = residuals.iter().cloned().fold(f64::NEG_INFINITY, f64::max) - residuals.iter().cloned().fold(f64::INFINITY, f64::min);
        assert!(spread < 1e-6, "{version}: contributions + constant = log-odds (spread {spread})");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mangled_requests_get_a_4xx_never_a_500() {
    use rand::{Rng, SeedableRng};
    let app = app();
    let snapshot = read_parquet(&fixture().snapshot);
    let customer = column_strings(&snapshot, "customer_id")[0].clone();
    let keys = snapshot_keys();
    let valid = [
        json!({"renewals": [{"policy_id": keys[0].0, "installment_no": keys[0].1}, {"policy_id": keys[1].0}]}).to_string(),
        json!({"records": customer_records(&customer)}).to_string(),
    ];
    let junk: [&str; 12] =
        ["null", "-1", "1e309", "\"\"", "[]", "{}", "true", "\"2026-13-45\"", "NaN", "\"-0\"", "18446744073709551616", "\"\\u0000\""];
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let mut statuses = BTreeMap::<u16, usize>::new();
    for round in 0..300 {
        let base = valid[round % 2].as_bytes();
        let mut body = base.to_vec();
        match rng.random_range(0..4) {
            // Cut it short.
            0 => body.truncate(rng.random_range(0..body.len())),
            // Drop a byte.
            1 => {
                body.remove(rng.random_range(0..body.len()));
            }
            // Replace a JSON value (after a colon) with junk.
            2 => {
                let colons: Vec<usize> = body.iter().enumerate().filter(|(_, b)| **b == b':').map(|(i, _)| i).collect();
                let at = colons[rng.random_range(0..colons.len())] + 1;
                let end = body[at..].iter().position(|b| matches!(b, b',' | b'}' | b']')).map_or(body.len(), |e| at + e);
                let replacement = junk[rng.random_range(0..junk.len())].as_bytes();
                body.splice(at..end, replacement.iter().copied());
            }
            // Flip a byte.
            _ => {
                let at = rng.random_range(0..body.len());
                body[at] = rng.random_range(0x20..0x7f);
            }
        }
        let (status, response) = call(&app, "POST", "/v1/score", Some(SCORE_TOKEN), Some(String::from_utf8_lossy(&body).into_owned())).await;
        assert!(status.as_u16() < 500, "round {round}: {status} {response} for {}", String::from_utf8_lossy(&body));
        if status != StatusCode::OK {
            assert!(response["code"].is_string() && response["message"].is_string(), "round {round}: {response}");
        }
        *statuses.entry(status.as_u16()).or_default() += 1;
    }
    // The mangling reached past the JSON parser into field and record checks.
    assert!(statuses.contains_key(&400) && statuses.contains_key(&422), "{statuses:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_snapshot_reports_its_drift_against_the_training_reference() {
    let app = app();
    let (status, body) = call(&app, "GET", "/v1/drift", Some(SCORE_TOKEN), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["model_version"], "v0001");
    assert_eq!(body["as_of"], AS_OF);
    let features = body["drift"]["features"].as_array().unwrap();
    assert_eq!(features.len(), lapse_core::features::catalog::FEATURES.len() + 1, "every feature and the score");
    assert!(features.iter().any(|f| f["feature"] == "score" && f["ks"].is_number()));
    let psis: Vec<f64> = features.iter().map(|f| f["psi"].as_f64().unwrap()).collect();
    assert!(psis.windows(2).all(|w| w[0] >= w[1]), "ranked by PSI");
    assert_eq!(body["drift"]["current_rows"].as_u64().unwrap() as usize, snapshot_keys().len());
    let (status, body) = call(&app, "GET", "/v1/drift", None, None).await;
    assert_error(status, &body, 401, "unauthorized", None);

    // A model registered without a reference: 404 that says so.
    let dir = tempfile::tempdir().unwrap();
    let models = models_copy(dir.path());
    fs::remove_file(models.join("v0001/reference.json")).unwrap();
    let (app, _) = app_with(&models, None);
    let (status, body) = call(&app, "GET", "/v1/drift", Some(SCORE_TOKEN), None).await;
    assert_error(status, &body, 404, "no_reference", None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_score_log_torn_by_a_crash_is_closed_off_on_restart_and_no_new_score_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let log_dir = dir.path().join("score-log");
    // First life: a queue page, then a crash mid-write (what a kill leaves: a partial line).
    let (app, state) = app_with(&fixture().models, Some(log_dir.clone()));
    let (_, first) = call(&app, "GET", "/v1/queue?capacity=4", Some(SCORE_TOKEN), None).await;
    state.score_log.as_ref().unwrap().close();
    let file = fs::read_dir(&log_dir).unwrap().next().unwrap().unwrap().path();
    let mut torn = fs::read(&file).unwrap();
    let last_line = torn[..torn.len() - 1].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    torn.truncate(last_line + 25);
    fs::write(&file, &torn).unwrap();
    // Second life, the same day: another page.
    let (app, state) = app_with(&fixture().models, Some(log_dir.clone()));
    let (_, second) = call(&app, "GET", "/v1/queue?capacity=3", Some(SCORE_TOKEN), None).await;
    state.score_log.as_ref().unwrap().close();
    let text = fs::read_to_string(&file).unwrap();
    let parsed: Vec<Result<Value, _>> = text.lines().map(serde_json::from_str::<Value>).collect();
    assert_eq!(parsed.iter().filter(|p| p.is_err()).count(), 1, "only the torn line is malformed");
    let good: Vec<Value> = parsed.into_iter().filter_map(Result::ok).collect();
    let survived = renewals(&first).len() - 1;
    assert_eq!(good.len(), survived + renewals(&second).len(), "the first life's whole lines survive, and every new score is there");
    let new_ids: Vec<&Value> = good[survived..].iter().map(|l| &l["policy_id"]).collect();
    let second = renewals(&second);
    let served: Vec<&Value> = second.iter().map(|i| &i["policy_id"]).collect();
    assert_eq!(new_ids, served);
    assert_eq!(first["items"].as_array().unwrap().len(), 4);
    let metrics = state.metrics.render();
    assert!(metrics.contains("lapse_score_log_torn_lines_total 1"), "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_language_zh_cn_gives_chinese_reasons_actions_and_segments() {
    let app = app();
    let get_with = |uri: &str, language: Option<&str>| {
        let mut builder = Request::builder().method("GET").uri(uri).header("authorization", format!("Bearer {SCORE_TOKEN}"));
        if let Some(language) = language {
            builder = builder.header("accept-language", language);
        }
        let request = builder.body(Body::empty()).unwrap();
        let app = app.clone();
        async move {
            let response = app.oneshot(request).await.unwrap();
            let status = response.status();
            let content_language = response.headers().get("content-language").map(|v| v.to_str().unwrap().to_string());
            let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
            (status, content_language, serde_json::from_slice::<Value>(&body).unwrap())
        }
    };
    let is_chinese = |text: &str| text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
    let (status, language, english) = get_with("/v1/queue?capacity=20&limit=20", None).await;
    assert_eq!((status, language.as_deref()), (StatusCode::OK, Some("en")));
    let (status, language, chinese) = get_with("/v1/queue?capacity=20&limit=20", Some("zh-CN,zh;q=0.9,en;q=0.8")).await;
    assert_eq!((status, language.as_deref()), (StatusCode::OK, Some("zh-CN")));
    let (en_items, zh_items) = (renewals(&english), renewals(&chinese));
    for (en, zh) in english["items"].as_array().unwrap().iter().zip(chinese["items"].as_array().unwrap()) {
        assert_eq!(en["action"], zh["action"]);
        assert!(is_chinese(zh["action_label"].as_str().unwrap()) && !is_chinese(en["action_label"].as_str().unwrap()));
    }
    assert_eq!(en_items.len(), zh_items.len());
    let mut reasons = 0;
    for (en, zh) in en_items.iter().zip(&zh_items) {
        // The same renewals, actions and segments (machine codes), in other words.
        assert_eq!((&en["policy_id"], &en["action"], &en["segment"]["name"]), (&zh["policy_id"], &zh["action"], &zh["segment"]["name"]));
        assert!(is_chinese(zh["action_label"].as_str().unwrap()) && is_chinese(zh["segment"]["label"].as_str().unwrap()), "{zh}");
        assert!(!is_chinese(en["action_label"].as_str().unwrap()));
        for (e, z) in en["reasons"].as_array().unwrap().iter().zip(zh["reasons"].as_array().unwrap()) {
            assert_eq!((&e["feature"], &e["value"], &e["contribution"]), (&z["feature"], &z["value"], &z["contribution"]));
            assert!(is_chinese(z["text"].as_str().unwrap()) && !is_chinese(e["text"].as_str().unwrap()), "{e} / {z}");
            reasons += 1;
        }
    }
    assert!(reasons > 20, "the fixture's renewals have reasons: {reasons}");
    // ?lang= wins over the header; a language we do not speak falls back; a bad lang is named.
    let (_, language, _) = get_with("/v1/queue?capacity=2&lang=zh-CN", Some("en")).await;
    assert_eq!(language.as_deref(), Some("zh-CN"));
    let (_, language, _) = get_with("/v1/queue?capacity=2", Some("fr-FR")).await;
    assert_eq!(language.as_deref(), Some("en"));
    let (status, _, error) = get_with("/v1/queue?capacity=2&lang=fr", None).await;
    assert_error(status, &error, 422, "invalid_field", Some("lang"));
    // The score endpoint too.
    let (policy, number, _) = snapshot_keys().into_iter().next().unwrap();
    let request = Request::builder()
        .method("POST")
        .uri("/v1/score?lang=zh-CN")
        .header("authorization", format!("Bearer {SCORE_TOKEN}"))
        .body(Body::from(json!({"renewals": [{"policy_id": policy, "installment_no": number}]}).to_string()))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let body: Value = serde_json::from_slice(&axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap()).unwrap();
    assert!(is_chinese(body["results"][0]["segment"]["label"].as_str().unwrap()), "{body}");
}

/// Writes the fixture book's win-back list at `as_of` (value x recency) to `path`.
fn write_winback(path: &Path, as_of: &str) -> usize {
    use lapse_core::extract::{OnError, load_book};
    let book = load_book(&fixture().book, OnError::Strict).unwrap().book;
    let t = lapse_core::dates::parse_day(as_of).unwrap();
    let list = lapse_core::winback::candidates(&book, t, 60, 730, 5.0);
    let reasons = lapse_retention::winback::reasons(&list, Default::default());
    lapse_core::winback::write(path, &book, &list, t, lapse_core::winback::FALLBACK_BASIS, &reasons).unwrap()
}

#[tokio::test]
async fn the_winback_list_is_served_reloaded_with_the_model_and_absent_without_one() {
    // Without --winback: 404 with its own code.
    let (status, body) = call(&app(), "GET", "/v1/winback", Some(SCORE_TOKEN), None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("no_winback_list")), "{body}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("winback.csv");
    let first = write_winback(&file, AS_OF);
    let state = build_state(ServeConfig { winback: Some(file.clone()), ..config(&fixture().models, None) }, tokens()).unwrap();
    let app = router(Arc::clone(&state));
    let (status, body) = call(&app, "GET", "/v1/winback?limit=3&action=call", Some(SCORE_TOKEN), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["as_of"], AS_OF);
    assert!(body["matching"].as_u64().unwrap() as usize <= first);
    assert!(body["items"].as_array().unwrap().iter().all(|i| i["action"] == "call" && i["reinstatement_probability"].is_null()));
    assert!(body["priority_basis"].as_str().unwrap().contains("no reinstatement model"));
    let (status, body) = call(&app, "GET", "/v1/winback?min_days_left=-1", Some(SCORE_TOKEN), None).await;
    assert_eq!((status, body["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("min_days_left")), "{body}");

    // The night's new list is served after a reload; a broken one leaves the previous list.
    write_winback(&file, "2026-09-30");
    let (status, _) = call(&app, "POST", "/v1/admin/reload", Some(ADMIN_TOKEN), None).await;
    assert_eq!(status, StatusCode::OK);
    let (_, body) = call(&app, "GET", "/v1/winback?limit=1", Some(SCORE_TOKEN), None).await;
    assert_eq!(body["as_of"], "2026-09-30");
    fs::write(&file, "as_of,policy_id\n2026-10-31,P1\n").unwrap();
    let (status, _) = call(&app, "POST", "/v1/admin/reload", Some(ADMIN_TOKEN), None).await;
    assert_eq!(status, StatusCode::OK, "the model reload itself succeeds");
    let (_, body) = call(&app, "GET", "/v1/winback?limit=1", Some(SCORE_TOKEN), None).await;
    assert_eq!(body["as_of"], "2026-09-30", "the previous list keeps serving");

    // A list that cannot be read stops the server from starting, naming the file and column.
    let error = build_state(ServeConfig { winback: Some(file.clone()), ..config(&fixture().models, None) }, tokens()).err().unwrap();
    let message = error.to_string();
    assert!(message.contains("winback.csv") && message.contains("no column"), "{message}");
}

/// Nothing a request sends without bound enters a metric label, the log or the score log
/// (issue 22): odd methods count as `other`, a caller's request id is kept only when short and
/// safe, an oversized policy id is refused instead of echoed, `?lang=` is percent-decoded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_derived_values_are_bounded_before_they_reach_metrics_logs_or_answers() {
    let app = app();
    for i in 0..50 {
        let method = format!("X{}{i}", "M".repeat(1_000));
        let request = Request::builder().method(method.as_str()).uri("/nowhere").body(Body::empty()).unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
    let (status, metrics) = call(&app, "GET", "/metrics", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let text = metrics.as_str().unwrap();
    assert!(text.contains(r#"method="other""#) && !text.contains("MMMM"), "the raw method became a label");
    assert!(text.len() < 100_000, "{} bytes of metrics", text.len());

    let id_of = |id: &str| {
        let app = app.clone();
        let id = id.to_string();
        async move {
            let request = Request::builder().uri("/healthz").header("x-request-id", id).body(Body::empty()).unwrap();
            let response = app.oneshot(request).await.unwrap();
            response.headers()["x-request-id"].to_str().unwrap().to_string()
        }
    };
    assert_eq!(id_of("queue-7f3a:42").await, "queue-7f3a:42", "a short safe id is kept");
    for bad in ["x".repeat(65), "a b".to_string(), "id;drop".to_string(), "é".to_string()] {
        let got = id_of(&bad).await;
        assert!(got != bad && lapse_api::telemetry::acceptable_request_id(got.as_bytes()), "{bad:?} -> {got:?}");
    }

    let (status, body) = score(&app, json!({ "renewals": [{ "policy_id": "P".repeat(129) }], "on_unknown": "skip" })).await;
    assert_error(status, &body, 422, "invalid_field", Some("renewals[0].policy_id"));
    assert!(body.to_string().len() < 500, "the id is not echoed: {body}");

    let policy = &snapshot_keys()[0].0;
    for lang in ["zh-CN", "zh%2DCN", "zh%2dCN", "zh%2dcn"] {
        let (status, body) = call(
            &app,
            "POST",
            &format!("/v1/score?lang={lang}"),
            Some(SCORE_TOKEN),
            Some(json!({ "renewals": [{ "policy_id": policy }] }).to_string()),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{lang}: {body}");
    }
}

/// The smaller refusals of issue 22, each answered with the JSON error: an undecodable path,
/// an oversized URI or header block, an empty snapshot (refused at start), the bearer scheme
/// in any case, and no server path in `/v1/models/current`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edge_requests_get_the_json_error_and_the_server_shows_no_paths() {
    let app = app();
    let (status, body) = call(&app, "GET", "/v1/campaigns/%ff", Some(SCORE_TOKEN), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["code"].is_string() && body["message"].is_string(), "JSON error: {body}");
    // An offset past the document's maximum is a 422 naming it, on every paged route.
    for route in ["/v1/queue", "/v1/winback", "/v1/campaigns/spring"] {
        let (status, body) = call(&app, "GET", &format!("{route}?offset=8208143770067165773824"), Some(SCORE_TOKEN), None).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{route}: {body}");
        let (status, body) = call(&app, "GET", &format!("{route}?offset=2147483648"), Some(SCORE_TOKEN), None).await;
        assert!(status == StatusCode::UNPROCESSABLE_ENTITY || status == StatusCode::NOT_FOUND, "{route}: {status} {body}");
    }
    let (status, body) = call(&app, "GET", "/v1/queue?offset=2147483648", Some(SCORE_TOKEN), None).await;
    assert_error(status, &body, 422, "invalid_field", Some("offset"));
    let (status, body) = call(&app, "GET", &format!("/healthz?x={}", "a".repeat(9_000)), None, None).await;
    assert_error(status, &body, 414, "uri_too_long", None);
    let request = Request::builder().uri("/healthz").header("x-padding", "b".repeat(40_000)).body(Body::empty()).unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    assert_eq!(serde_json::from_slice::<Value>(&bytes).unwrap()["code"], "headers_too_large");

    // The scheme is case-insensitive.
    let request = Request::builder().uri("/v1/models/current").header("authorization", format!("bearer {SCORE_TOKEN}")).body(Body::empty()).unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    let info: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(info["snapshot"]["file"], "snapshot.parquet", "{info}");
    let text = info.to_string();
    assert!(!text.contains(&fixture().snapshot.parent().unwrap().display().to_string()), "a server path in {text}");

    // A snapshot with no renewal: the server does not start on it.
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.parquet");
    let loaded = lapse_core::extract::load_book(&fixture().book, lapse_core::extract::OnError::Strict).unwrap();
    let day = lapse_core::dates::parse_day("1990-01-31").unwrap();
    lapse_core::features::BuildPlan { as_of: vec![day], horizon_days: 30, grace_days: 60, extract_date: day }.write(&loaded.book, &empty).unwrap();
    let mut config = config(&fixture().models, None);
    config.snapshot = empty;
    let err = build_state(config, tokens()).err().expect("an empty snapshot is refused").to_string();
    assert!(err.contains("holds no renewal"), "{err}");
}

/// The served app with a fresh SQLite outcome store.
async fn app_with_store() -> (Router, Arc<AppState>) {
    let dir = fresh_dir("store");
    std::fs::create_dir_all(&dir).unwrap();
    let config = ServeConfig { store: Some(format!("sqlite://{}", dir.join("store.sqlite").display())), ..config(&fixture().models, None) };
    let outcomes = lapse_api::open_outcomes(&config).await.unwrap();
    let state = lapse_api::build_state_with(config, tokens(), outcomes).unwrap();
    (router(Arc::clone(&state)), state)
}

fn outcome_json(id: &str, item: &Value, action: &str, result: &str, extra: Value) -> Value {
    let mut o = json!({
        "id": id, "policy_id": item["policy_id"], "installment_no": item["installment_no"], "action": action,
        "result": result, "at": format!("{}T10:15:00+08:00", item["as_of"].as_str().unwrap()), "agent_id": "A12", "note": "测试"
    });
    for (k, v) in extra.as_object().unwrap() {
        o[k] = v.clone();
    }
    o
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_outcomes_keep_customers_off_the_next_list_as_the_rules_say() {
    let (app, _state) = app_with_store().await;
    let (status, before) = call(&app, "GET", "/v1/queue?capacity=400&limit=400", Some(SCORE_TOKEN), None).await;
    assert_eq!(status, StatusCode::OK, "{before}");
    // Before any outcome only the orphan rule holds renewals back (orphan renewals of customers
    // whose best contact is a visit by their other policy's agent).
    assert!(before["held_back"].as_object().unwrap().keys().all(|rule| rule == "orphan"), "{}", before["held_back"]);
    let items = before["items"].as_array().unwrap().clone();
    assert!(items.len() >= 40, "a list to work on: {}", items.len());
    // The first renewal of each of the first six contacts (six customers).
    let picks: Vec<&Value> = items.iter().take(6).map(|c| &c["renewals"][0]).collect();
    let as_of = picks[0]["as_of"].as_str().unwrap().to_string();
    let promised = lapse_core::dates::format_day(lapse_core::dates::parse_day(&as_of).unwrap() + 5);
    let batch = json!({"outcomes": [
        outcome_json("o-refused", picks[0], "call", "refused", json!({"reason": "cannot_afford"})),
        outcome_json("o-promised", picks[1], "call", "promised", json!({"promised_date": promised})),
        outcome_json("o-dnc", picks[2], "visit", "do_not_contact", json!({})),
        outcome_json("o-wrong", picks[3], "call", "wrong_number", json!({})),
        outcome_json("o-noanswer-call", picks[4], "call", "no_answer", json!({})),
        outcome_json("o-reached", picks[5], "sms", "reached", json!({})),
    ]});
    let (status, body) = call(&app, "POST", "/v1/outcomes", Some(SCORE_TOKEN), Some(batch.to_string())).await;
    assert_eq!((status, body.clone()), (StatusCode::OK, json!({"recorded": 6, "duplicates": 0})));
    // The same batch again stores nothing new.
    let (_, again) = call(&app, "POST", "/v1/outcomes", Some(SCORE_TOKEN), Some(batch.to_string())).await;
    assert_eq!(again, json!({"recorded": 0, "duplicates": 6}));

    // The next list, without a reload.
    let (status, after) = call(&app, "GET", "/v1/queue?capacity=400&limit=400", Some(SCORE_TOKEN), None).await;
    assert_eq!(status, StatusCode::OK, "{after}");
    let contacts = after["items"].as_array().unwrap();
    let mut customers = std::collections::HashSet::new();
    assert!(contacts.iter().all(|c| customers.insert(c["customer_id"].to_string())), "no customer listed twice");
    let listed = renewals(&after);
    let customer = |i: usize| picks[i]["customer_id"].as_str().unwrap();
    let of_customer = |c: &str| listed.iter().filter(|x| x["customer_id"] == c).collect::<Vec<_>>();
    assert!(of_customer(customer(0)).is_empty(), "refused: not listed");
    assert!(of_customer(customer(2)).is_empty(), "do not contact: not listed");
    let key = |x: &Value| (x["policy_id"].clone(), x["installment_no"].clone());
    assert!(!listed.iter().any(|x| key(x) == key(picks[1])), "promised: the renewal is held");
    for x in of_customer(customer(3)) {
        assert!(x["action"] != "call" && x["action"] != "sms", "wrong number: no call or SMS: {x}");
    }
    for x in of_customer(customer(4)) {
        assert!(x["action"] != "call", "one call per 3 days: {x}");
    }
    let held = after["held_back"].as_object().unwrap();
    for rule in ["refused", "do_not_contact", "promised"] {
        assert!(held.get(rule).and_then(Value::as_u64).unwrap_or(0) >= 1, "{rule} in {held:?}");
    }
    // No visit for an orphan renewal.
    for x in &listed {
        if x["orphan"] == true {
            assert_ne!(x["action"], "visit", "an orphan renewal gets no visit: {x}");
        }
    }

    // The case history, newest first.
    let policy = picks[1]["policy_id"].as_str().unwrap();
    let (status, history) = call(&app, "GET", &format!("/v1/outcomes?policy_id={policy}"), Some(SCORE_TOKEN), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(history["outcomes"].as_array().unwrap().iter().any(|o| o["id"] == "o-promised" && o["promised_date"] == promised), "{history}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_batch_stores_nothing_and_names_the_outcome_and_field() {
    let without_store = app();
    let (app, state) = app_with_store().await;
    let (_, queue) = call(&app, "GET", "/v1/queue?limit=2", Some(SCORE_TOKEN), None).await;
    let item = &queue["items"][0]["renewals"][0];
    let good = outcome_json("g-1", item, "call", "reached", json!({}));
    let bad = outcome_json("g-2", item, "call", "maybe", json!({}));
    let (status, body) = call(&app, "POST", "/v1/outcomes", Some(SCORE_TOKEN), Some(json!({"outcomes": [good.clone(), bad]}).to_string())).await;
    assert_error(status, &body, 422, "invalid_field", Some("outcomes[1].result"));
    let store = &state.outcomes.as_ref().unwrap().store;
    assert_eq!(store.count().await.unwrap(), 0, "nothing of the batch is stored");
    // A promise without its date, a refusal without a reason: named.
    let (status, body) = call(
        &app,
        "POST",
        "/v1/outcomes",
        Some(SCORE_TOKEN),
        Some(json!({"outcomes": [outcome_json("g-3", item, "call", "promised", json!({}))]}).to_string()),
    )
    .await;
    assert_error(status, &body, 422, "invalid_field", Some("outcomes[0].promised_date"));
    // The same id with other content: 409, and nothing of that batch stored.
    let (status, _) = call(&app, "POST", "/v1/outcomes", Some(SCORE_TOKEN), Some(json!({"outcomes": [good.clone()]}).to_string())).await;
    assert_eq!(status, StatusCode::OK);
    let changed = outcome_json("g-1", item, "call", "no_answer", json!({}));
    let new_one = outcome_json("g-4", item, "sms", "reached", json!({}));
    let (status, body) = call(&app, "POST", "/v1/outcomes", Some(SCORE_TOKEN), Some(json!({"outcomes": [new_one, changed]}).to_string())).await;
    assert_error(status, &body, 409, "outcome_conflict", Some("outcomes[1].id"));
    assert_eq!(store.count().await.unwrap(), 1);
    // Unknown fields, a policy the snapshot does not list without its customer, no token.
    let (status, body) =
        call(&app, "POST", "/v1/outcomes", Some(SCORE_TOKEN), Some(json!({"outcomes": [json!({"id": "x", "bogus": 1})]}).to_string())).await;
    assert_eq!(status.as_u16(), 422, "{body}");
    let mut stranger = outcome_json("g-5", item, "call", "reached", json!({}));
    stranger["policy_id"] = json!("NO-SUCH-POLICY");
    let (status, body) = call(&app, "POST", "/v1/outcomes", Some(SCORE_TOKEN), Some(json!({"outcomes": [stranger]}).to_string())).await;
    assert_error(status, &body, 422, "invalid_field", Some("outcomes[0].customer_id"));
    let (status, _) = call(&app, "POST", "/v1/outcomes", None, Some(json!({"outcomes": [good]}).to_string())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Without a store: 404.
    let (status, body) = call(&without_store, "GET", "/v1/outcomes?policy_id=P1", Some(SCORE_TOKEN), None).await;
    assert_error(status, &body, 404, "no_store", None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaigns_control_customers_stay_off_every_other_list_while_its_window_is_open() {
    let (app, state) = app_with_store().await;
    let get = |uri: &'static str| call(&app, "GET", uri, Some(SCORE_TOKEN), None);
    let (status, first) = get("/v1/queue?capacity=60&limit=60&campaign=holdout-a&holdout=0.5").await;
    assert_eq!(status, StatusCode::OK, "{first}");
    // The control customers, from the stored campaign.
    let (_, stored) = get("/v1/campaigns/holdout-a?arm=control&limit=1000").await;
    let control: std::collections::HashSet<String> =
        stored["items"].as_array().unwrap().iter().map(|c| c["customer_id"].as_str().unwrap().to_string()).collect();
    assert!(control.len() >= 10, "a control arm: {}", control.len());
    assert_eq!(stored["control"].as_u64().unwrap() as usize, control.len());
    assert!(
        first["items"].as_array().unwrap().iter().all(|c| !control.contains(c["customer_id"].as_str().unwrap())),
        "the campaign lists its treatment arm"
    );
    // The plain list and another campaign leave them out, and say so.
    let (_, plain) = get("/v1/queue?capacity=100000&limit=1000").await;
    let listed: Vec<&str> = plain["items"].as_array().unwrap().iter().filter_map(|c| c["customer_id"].as_str()).collect();
    assert!(listed.len() > 100);
    assert!(listed.iter().all(|c| !control.contains(*c)), "a held-out customer on the plain list");
    assert!(plain["held_back"]["holdout"].as_u64().unwrap() as usize >= control.len(), "{}", plain["held_back"]);
    let (_, other) = get("/v1/queue?capacity=100000&limit=1000&campaign=holdout-b&holdout=0.1").await;
    assert!(other["items"].as_array().unwrap().iter().all(|c| !control.contains(c["customer_id"].as_str().unwrap())));
    assert!(other["held_back"]["holdout"].as_u64().unwrap() >= 1, "{}", other["held_back"]);
    assert!(other["campaign"]["held_out_by_other_campaigns"].as_u64().unwrap() >= 1, "{}", other["campaign"]);
    assert_eq!(first["campaign"]["held_out_by_other_campaigns"], 0);
    // The holdout is in the store, for every server sharing it.
    let store = &state.outcomes.as_ref().unwrap().store;
    let open = store.holdouts_open(0).await.unwrap();
    assert!(control.iter().all(|c| open.iter().any(|h| h.campaign == "holdout-a" && &h.customer_id == c)));
    // Asked again, the campaign is the same and does not hold itself out.
    let (_, again) = get("/v1/queue?capacity=60&limit=60&campaign=holdout-a&holdout=0.5").await;
    assert_eq!(again["items"], first["items"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_says_why_a_renewal_is_or_is_not_listed() {
    let (app, _state) = app_with_store().await;
    let get = |uri: String| {
        let app = app.clone();
        async move { call(&app, "GET", &uri, Some(SCORE_TOKEN), None).await }
    };
    let (_, list) = get("/v1/queue?capacity=100000&limit=1000".into()).await;
    let items = list["items"].as_array().unwrap();
    // A listed renewal: its contact's rank, action and gain.
    let contact = &items[7];
    let renewal = &contact["renewals"][0];
    let explain = |r: &Value| format!("/v1/queue/explain?policy_id={}&installment_no={}", r["policy_id"].as_str().unwrap(), r["installment_no"]);
    let (status, why) = get(explain(renewal)).await;
    assert_eq!(status, StatusCode::OK, "{why}");
    assert_eq!((why["verdict"].as_str(), why["rank"].as_u64()), (Some("listed"), Some(8)), "{why}");
    assert_eq!(
        (&why["action"], &why["expected_gain"], &why["customer_id"]),
        (&contact["action"], &contact["expected_gain"], &contact["customer_id"])
    );
    assert_eq!(why["covers"].as_array().unwrap().len(), contact["renewals"].as_array().unwrap().len());
    assert_eq!(why["actions"].as_array().unwrap().len(), 3);
    // Past a small capacity: on the list, beyond it.
    let (_, why) = get(format!("{}&capacity=3", explain(renewal))).await;
    assert_eq!(why["verdict"], "beyond_capacity");
    // A refusal holds the customer: the verdict names the rule.
    let top = &items[0]["renewals"][0];
    let batch = json!({"outcomes": [outcome_json("x-refused", top, "call", "refused", json!({"reason": "dissatisfied"}))]});
    let (status, _) = call(&app, "POST", "/v1/outcomes", Some(SCORE_TOKEN), Some(batch.to_string())).await;
    assert_eq!(status, StatusCode::OK);
    let (_, why) = get(explain(top)).await;
    assert_eq!((why["verdict"].as_str(), why["held_by"].as_str(), why["rank"].is_null()), (Some("held"), Some("refused"), true), "{why}");
    assert_eq!(why["outcomes"], 1);
    // An orphan renewal: a visit is forbidden by the orphan rule.
    let orphan =
        renewals(&list).into_iter().find(|r| r["orphan"] == true && r["customer_id"] != top["customer_id"]).expect("the fixture has orphan renewals");
    let (_, why) = get(explain(&orphan)).await;
    let visit = why["actions"].as_array().unwrap().iter().find(|a| a["action"] == "visit").unwrap().clone();
    assert!(visit["forbidden_by"] == "orphan" || why["covers"].as_array().unwrap().len() > 1, "{why}");
    // Unknown renewals and bad parameters.
    let (_, why) = get("/v1/queue/explain?policy_id=NOPE&installment_no=2".into()).await;
    assert_eq!(why["verdict"], "not_in_snapshot");
    let (status, error) = get("/v1/queue/explain?policy_id=P1".into()).await;
    assert_error(status, &error, 422, "invalid_field", None);
    assert!(error["message"].as_str().unwrap().contains("installment_no"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_number_holds_until_the_extract_shows_new_contact_details() {
    let (app, _state) = app_with_store().await;
    // Two customers of the served snapshot: one whose address or phone changed before T (the
    // snapshot's `days_since_contact_change`), one with no change on record.
    let snapshot = read_parquet(&fixture().snapshot);
    let customer = column_strings(&snapshot, "customer_id");
    let since = column_strings(&snapshot, "days_since_contact_change");
    let (policy, number) = (column_strings(&snapshot, "policy_id"), column_strings(&snapshot, "installment_no"));
    let changed = (0..snapshot.height()).find(|&r| since[r] != "null").expect("the generator records address changes");
    let never = (0..snapshot.height())
        .find(|&r| since[r] == "null" && (0..snapshot.height()).all(|o| customer[o] != customer[r] || since[o] == "null"))
        .expect("customers without a change");
    let days: f64 = since[changed].parse().unwrap();
    let as_of = lapse_core::dates::parse_day(&column_strings(&snapshot, "as_of")[0]).unwrap();
    // A wrong number recorded for each, 5 days before the change.
    let day = lapse_core::dates::format_day(as_of - days as i32 - 5);
    let renewal = |r: usize| json!({"policy_id": policy[r], "installment_no": number[r].parse::<f64>().unwrap() as u32, "as_of": day});
    let batch = json!({"outcomes": [
        outcome_json("w-changed", &renewal(changed), "call", "wrong_number", json!({})),
        outcome_json("w-never", &renewal(never), "sms", "wrong_number", json!({})),
    ]});
    let (status, body) = call(&app, "POST", "/v1/outcomes", Some(SCORE_TOKEN), Some(batch.to_string())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let forbidden =
        |why: &Value, action: &str| why["actions"].as_array().unwrap().iter().find(|a| a["action"] == action).unwrap()["forbidden_by"].clone();
    let explain = |r: usize| format!("/v1/queue/explain?policy_id={}&installment_no={}", policy[r], renewal(r)["installment_no"]);
    let (_, why) = call(&app, "GET", &explain(changed), Some(SCORE_TOKEN), None).await;
    assert_eq!(why["outcomes"], 1, "{why}");
    for action in ["call", "sms"] {
        assert!(forbidden(&why, action) != "wrong_number", "the change after the wrong number lifts it: {why}");
    }
    let (_, why) = call(&app, "GET", &explain(never), Some(SCORE_TOKEN), None).await;
    for action in ["call", "sms"] {
        assert_eq!(forbidden(&why, action), "wrong_number", "{why}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_store_share_their_campaigns_and_refuse_a_name_bound_elsewhere() {
    // Two servers: one store, each its own campaigns directory (started in different places).
    let dir = fresh_dir("shared-store");
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("store.sqlite").display());
    let server = || async {
        let config = ServeConfig { store: Some(url.clone()), ..config(&fixture().models, None) };
        let outcomes = lapse_api::open_outcomes(&config).await.unwrap();
        router(lapse_api::build_state_with(config, tokens(), outcomes).unwrap())
    };
    let (a, b) = (server().await, server().await);
    let (status, created) = call(&a, "GET", "/v1/queue?capacity=40&limit=40&campaign=shared&holdout=0.3", Some(SCORE_TOKEN), None).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    // B serves the campaign A created, from the store.
    let (status, on_a) = call(&a, "GET", "/v1/campaigns/shared?limit=1000", Some(SCORE_TOKEN), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, on_b) = call(&b, "GET", "/v1/campaigns/shared?limit=1000", Some(SCORE_TOKEN), None).await;
    assert_eq!(status, StatusCode::OK, "{on_b}");
    assert_eq!(on_a["items"], on_b["items"]);
    assert_eq!((on_a["treatment"].clone(), on_a["control"].clone()), (on_b["treatment"].clone(), on_b["control"].clone()));
    // B asked for it with the same settings: the same campaign; with another holdout: refused.
    let (status, same) = call(&b, "GET", "/v1/queue?capacity=40&limit=40&campaign=shared&holdout=0.3", Some(SCORE_TOKEN), None).await;
    assert_eq!(status, StatusCode::OK, "{same}");
    assert_eq!(same["items"], created["items"]);
    let (status, error) = call(&b, "GET", "/v1/queue?capacity=40&limit=40&campaign=shared&holdout=0.5", Some(SCORE_TOKEN), None).await;
    assert_error(status, &error, 409, "campaign_conflict", Some("campaign"));
    assert!(error["message"].as_str().unwrap().contains("holdout 0.3 vs 0.5"), "{error}");
    let (status, _) = call(&b, "GET", "/v1/campaigns/nowhere", Some(SCORE_TOKEN), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
