//! The store's contract, run on SQLite (a temp file) and, when `LAPSE_TEST_POSTGRES_URL` names a
//! database (`.ci/run` starts a throwaway cluster and sets it), on PostgreSQL too.

use super::*;
use lapse_retention::outcomes::parse_instant;

fn outcome(id: &str, policy: &str, customer: &str, result: ContactResult, at: &str) -> Outcome {
    let (at_ms, day) = parse_instant(at).unwrap();
    Outcome {
        id: id.into(),
        policy_id: policy.into(),
        installment_no: 3,
        customer_id: customer.into(),
        action: "call".into(),
        result,
        at: at.into(),
        at_ms,
        day,
        reason: (result == ContactResult::Refused).then(|| "cannot_afford".into()),
        promised_date: (result == ContactResult::Promised).then_some(day + 5),
        agent_id: Some("A12".into()),
        note: Some("说好下周五交 \"quoted\"".into()),
    }
}

/// The URLs of a fresh store on every backend this machine has: a SQLite file in `dir` always;
/// a new PostgreSQL database named `name` when `LAPSE_TEST_POSTGRES_URL` is set (tests run in
/// parallel: each has its own database).
async fn store_urls(dir: &std::path::Path, name: &str) -> Vec<String> {
    let mut out = vec![format!("sqlite://{}", dir.join("store.sqlite").display())];
    if let Ok(url) = std::env::var("LAPSE_TEST_POSTGRES_URL") {
        sqlx::any::install_default_drivers();
        let admin = AnyPool::connect(&url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}"))).execute(&admin).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&admin).await.unwrap();
        admin.close().await;
        let base = url.rsplit_once('/').map_or(url.as_str(), |(base, _)| base);
        out.push(format!("{base}/{name}"));
    }
    out
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

#[test]
fn a_batch_is_stored_whole_once_and_read_back_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    runtime().block_on(async {
        for url in store_urls(dir.path(), "lapse_test_batch").await {
            let store = Store::open(&url).await.unwrap();
            let batch = vec![
                outcome("a", "P1", "C1", ContactResult::NoAnswer, "2026-02-27T09:00:00+08:00"),
                outcome("b", "P1", "C1", ContactResult::Promised, "2026-02-28T10:15:00+08:00"),
                outcome("c", "P2", "C1", ContactResult::Refused, "2026-02-28T11:00:00+08:00"),
            ];
            assert_eq!(store.record(&batch, 1).await.unwrap(), Recorded { recorded: 3, duplicates: 0 }, "{:?}", store.backend());
            // The same batch again stores nothing new.
            assert_eq!(store.record(&batch, 2).await.unwrap(), Recorded { recorded: 0, duplicates: 3 });
            let history = store.of_policy("P1").await.unwrap();
            assert_eq!(history.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(), ["b", "a"], "newest first");
            assert_eq!(history[0], batch[1], "every field read back as written");
            assert_eq!(store.of_customer("C1").await.unwrap().len(), 3);
            // One outcome with another content under a stored id: nothing of the batch is stored.
            let mut changed = batch[0].clone();
            changed.result = ContactResult::Reached;
            let clash = vec![outcome("d", "P3", "C2", ContactResult::Reached, "2026-03-01T09:00:00+08:00"), changed];
            match store.record(&clash, 3).await {
                Err(StoreError::Conflict { index, id }) => assert_eq!((index, id.as_str()), (1, "a")),
                other => panic!("expected a conflict, got {other:?}"),
            }
            assert_eq!(store.count().await.unwrap(), 3, "the batch's first outcome was not kept either");
            assert!(store.of_customer("C2").await.unwrap().is_empty());
            assert_eq!(store.recorded_since(2).await.unwrap().len(), 0);
            assert_eq!(store.recorded_since(0).await.unwrap().len(), 3);
            store.close().await;
        }
    });
}

#[test]
fn two_writers_on_one_database_never_lose_or_duplicate_an_outcome() {
    let dir = tempfile::tempdir().unwrap();
    runtime().block_on(async {
        for url in store_urls(dir.path(), "lapse_test_writers").await {
            let first = Store::open(&url).await.unwrap();
            // A second pool on the same database: another server.
            let second = Store::open(&url).await.unwrap();
            let batches: Vec<Vec<Outcome>> = (0..20)
                .map(|b| {
                    (0..50)
                        .map(|i| {
                            // Batches overlap by half: the same outcome posted by both servers.
                            let n = b * 25 + i;
                            outcome(&format!("o{n}"), &format!("P{n}"), &format!("C{}", n % 7), ContactResult::NoAnswer, "2026-03-01T09:00:00Z")
                        })
                        .collect()
                })
                .collect();
            let mut tasks = Vec::new();
            for (b, batch) in batches.into_iter().enumerate() {
                let store = if b % 2 == 0 { first.clone() } else { second.clone() };
                tasks.push(tokio::spawn(async move { store.record(&batch, 10).await.unwrap() }));
            }
            let mut recorded = 0;
            for t in tasks {
                recorded += t.await.unwrap().recorded;
            }
            let distinct = 19 * 25 + 50;
            assert_eq!(recorded, distinct, "{:?}", first.backend());
            assert_eq!(first.count().await.unwrap() as usize, distinct);
            assert_eq!(second.of_policy("P30").await.unwrap().len(), 1, "each server reads the other's at once");
            second.close().await;
            first.close().await;
        }
    });
}

#[test]
fn a_database_from_a_newer_binary_is_refused_and_a_bad_url_named() {
    let dir = tempfile::tempdir().unwrap();
    runtime().block_on(async {
        let url = format!("sqlite://{}", dir.path().join("newer.sqlite").display());
        let store = Store::open(&url).await.unwrap();
        assert_eq!(Store::schema_version(), 3, "0001 outcomes, 0002 campaign holdouts, 0003 campaigns");
        sqlx::query("INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (99, 'future', TRUE, x'00', 0)")
            .execute(&store.pool)
            .await
            .unwrap();
        store.close().await;
        match Store::open(&url).await {
            Err(e @ StoreError::NewerDatabase { found: 99, known: 3, .. }) => assert!(e.to_string().contains("newer than this binary's 3")),
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert!(matches!(Store::open("mysql://x").await, Err(StoreError::Url { .. })));
        assert_eq!(redact("postgres://lapse:s3cret@db:5432/lapse"), "postgres://lapse:***@db:5432/lapse");
    });
}

#[test]
fn campaign_holdouts_are_kept_once_and_read_while_their_window_is_open() {
    let dir = tempfile::tempdir().unwrap();
    runtime().block_on(async {
        for url in store_urls(dir.path(), "lapse_test_holdouts").await {
            let store = Store::open(&url).await.unwrap();
            let customers: Vec<String> = vec!["C1".into(), "C2".into()];
            assert_eq!(store.hold_out("spring", &customers, 20_100, 1).await.unwrap(), 2, "{url}");
            // Again (a restarted server planning the same campaign): nothing new.
            assert_eq!(store.hold_out("spring", &customers, 20_100, 2).await.unwrap(), 0, "{url}");
            assert_eq!(store.hold_out("summer", &["C3".to_string()], 20_200, 3).await.unwrap(), 1);
            assert_eq!(store.holdout_count().await.unwrap(), 3);
            let open = |day| {
                let store = store.clone();
                async move { store.holdouts_open(day).await.unwrap().into_iter().map(|h| (h.campaign, h.customer_id)).collect::<Vec<_>>() }
            };
            assert_eq!(open(20_100).await.len(), 3, "the last day is still open");
            assert_eq!(open(20_101).await, vec![("summer".to_string(), "C3".to_string())], "{url}");
            assert!(open(20_201).await.is_empty());
            store.close().await;
        }
    });
}

#[test]
fn a_campaign_is_stored_whole_bound_to_its_settings_and_read_back_by_any_server() {
    use lapse_retention::campaign::{Arm, Campaign, CampaignRow, Settings};
    let dir = tempfile::tempdir().unwrap();
    let row = |rank: u32, policy: &str, arm: Arm, customer: Option<&str>| CampaignRow {
        rank,
        customer_id: customer.map(str::to_string),
        policy_id: policy.into(),
        installment_no: 3,
        due_date: 20_700,
        action: "call".into(),
        arm,
        probability: 0.25,
        value_at_risk: 12_000.5,
        expected_gain: 42.125,
        segment: "high_risk_low_value".into(),
        channel: Some("agent".into()),
        product_type: None,
        region: Some("上海".into()),
        agent_id: None,
    };
    let settings = |holdout: f64| Settings {
        name: "spring".into(),
        as_of: 20_690,
        model_version: "v0003".into(),
        holdout,
        capacity: "100".into(),
        filters: String::new(),
        economics: lapse_retention::Economics::default(),
        list_digest: "abc".into(),
        ranking: "risk".into(),
    };
    let campaign = Campaign {
        settings: settings(0.2),
        rows: vec![row(1, "P1", Arm::Treatment, Some("C1")), row(1, "P2", Arm::Treatment, Some("C1")), row(2, "P3", Arm::Control, None)],
    };
    runtime().block_on(async {
        for url in store_urls(dir.path(), "lapse_test_campaigns").await {
            let (first, second) = (Store::open(&url).await.unwrap(), Store::open(&url).await.unwrap());
            assert_eq!(first.save_campaign(&campaign, "2026-12-06T04:00:00Z", 1).await.unwrap(), Stored::Created, "{url}");
            // The other server: the same campaign is the stored one; other settings are refused.
            assert_eq!(second.save_campaign(&campaign, "2026-12-06T05:00:00Z", 2).await.unwrap(), Stored::Existing);
            let other = Campaign { settings: settings(0.3), ..campaign.clone() };
            match second.save_campaign(&other, "2026-12-06T05:00:00Z", 3).await {
                Err(e @ StoreError::CampaignConflict { .. }) => assert!(e.to_string().contains("holdout 0.2 vs 0.3"), "{e}"),
                other => panic!("{url}: expected a conflict, got {other:?}"),
            }
            let (record, back) = second.campaign("spring").await.unwrap().expect("stored");
            assert_eq!(back, campaign, "{url}: read back whole, in order");
            assert_eq!((record.created_at.as_str(), record.treatment, record.control), ("2026-12-06T04:00:00Z", 2, 1));
            assert!(second.campaign("summer").await.unwrap().is_none());
            assert_eq!(first.campaign_names().await.unwrap(), ["spring"]);
            first.close().await;
            second.close().await;
        }
    });
}
