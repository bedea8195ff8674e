//! The win-back loop end to end on the fixture's book: the reinstatement table, a model trained
//! on it and registered, the list ranked by it, and the list served by a real `lapse serve`
//! with the queue's filters and paging.

use std::collections::BTreeSet;
use std::fs;
use std::process::{Command, Output};

use serde_json::Value;

use crate::common::{ADMIN_TOKEN, SCORE_TOKEN, client, column_strings, fixture, get, read_parquet, start_server};

fn lapse(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lapse")).args(args).env("LAPSE_LOG", "warn").output().expect("run lapse")
}

fn ok(run: Output) -> String {
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    String::from_utf8_lossy(&run.stdout).into_owned()
}

fn numbers(df: &polars::prelude::DataFrame, column: &str) -> Vec<f64> {
    let cast = df.column(column).unwrap().cast(&polars::prelude::DataType::Float64).unwrap();
    cast.f64().unwrap().iter().map(|v| v.unwrap_or(f64::NAN)).collect()
}

#[test]
fn a_registered_reinstatement_model_ranks_the_winback_list_and_the_server_pages_it() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let book = f.book.to_str().unwrap();

    // Without a model: value x recency, and every row says so.
    ok(lapse(&["winback", "--data", book, "--out", &path("fallback.parquet")]));
    let fallback = read_parquet(&dir.path().join("fallback.parquet"));
    assert!(fallback.height() > 50, "the fixture book has win-back candidates");
    assert!(column_strings(&fallback, "priority_basis").iter().all(|b| b.contains("no reinstatement model")));
    assert_eq!(fallback.column("reinstatement_probability").unwrap().null_count(), fallback.height());

    // The training table: candidates at 12 monthly dates, labelled where the 90 days are known.
    ok(lapse(&["winback-table", "--data", book, "--out", &path("table.parquet")]));
    let table = read_parquet(&dir.path().join("table.parquet"));
    let dates: BTreeSet<String> = column_strings(&table, "as_of").into_iter().collect();
    assert_eq!(dates.len(), 12);
    let labels = column_strings(&table, "reinstated_90d");
    assert!(labels.iter().all(|y| y == "0" || y == "1"), "every date ends 90 days before the extract: all labelled");
    assert!(labels.iter().any(|y| y == "1") && labels.iter().any(|y| y == "0"));

    // Trained and registered like any model; judged out of time (later snapshots).
    let models = path("models/winback");
    ok(lapse(&["train", "--features", &path("table.parquet"), "--models", &models, "--model", "logistic"]));
    let metrics: Value = serde_json::from_slice(&fs::read(dir.path().join("models/winback/v0001/metrics.json")).unwrap()).unwrap();
    assert_eq!(metrics["validation"], "out-of-time", "{}", metrics["validation_detail"]);
    assert!(metrics["roc_auc"].as_f64().unwrap() > 0.6, "held-out AUC {}", metrics["roc_auc"]);

    // Ranked by the model: the same candidates, P x value, highest first.
    let stdout = ok(lapse(&["winback", "--data", book, "--models", &models, "--out", &path("list.parquet"), "--lang", "zh-CN"]));
    assert!(stdout.contains("reinstatement model v0001"), "{stdout}");
    let list = read_parquet(&dir.path().join("list.parquet"));
    let ids = |df| column_strings(df, "policy_id").into_iter().collect::<BTreeSet<String>>();
    assert_eq!(ids(&list), ids(&fallback), "the model ranks the contract's candidates, no more, no fewer");
    let (p, value, priority) = (numbers(&list, "reinstatement_probability"), numbers(&list, "value_if_reinstated"), numbers(&list, "priority"));
    for i in 0..list.height() {
        assert!(p[i] > 0.0 && p[i] < 1.0);
        assert!((priority[i] - p[i] * value[i]).abs() <= 1e-9 * priority[i].abs().max(1.0));
    }
    assert!(priority.windows(2).all(|w| w[0] >= w[1]), "highest priority first");
    assert!(column_strings(&list, "reasons").iter().all(|r| r.contains("复效期剩余")));

    // Served: pages, filters, and the basis.
    let mut server = start_server(&f.models, dir.path(), &["--winback".as_ref(), dir.path().join("list.parquet").as_os_str()]);
    let agent = client();
    let (status, page) = get(&agent, &format!("{}/v1/winback?limit=5", server.base), SCORE_TOKEN);
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["matching"].as_u64().unwrap() as usize, list.height());
    assert!(page["priority_basis"].as_str().unwrap().contains("v0001"));
    let items = page["items"].as_array().unwrap();
    let ranks: Vec<u64> = items.iter().map(|i| i["rank"].as_u64().unwrap()).collect();
    assert_eq!(ranks, [1, 2, 3, 4, 5]);
    assert_eq!(page["next_offset"], 5);
    let (_, second) = get(&agent, &format!("{}/v1/winback?limit=5&offset=5", server.base), SCORE_TOKEN);
    assert_eq!(second["items"][0]["rank"], 6);
    // A channel's candidates, in the file's order, all of them across pages.
    let channel = column_strings(&list, "channel")[0].clone();
    let in_file: Vec<String> =
        column_strings(&list, "channel").iter().zip(column_strings(&list, "policy_id")).filter(|(c, _)| **c == channel).map(|(_, id)| id).collect();
    let (status, filtered) = get(&agent, &format!("{}/v1/winback?channel={channel}&limit=1000", server.base), SCORE_TOKEN);
    assert_eq!(status, 200);
    let served: Vec<String> = filtered["items"].as_array().unwrap().iter().map(|i| i["policy_id"].as_str().unwrap().to_string()).collect();
    assert_eq!(served, in_file);
    let (_, orphans) = get(&agent, &format!("{}/v1/winback?agent_left=true&limit=1000", server.base), SCORE_TOKEN);
    assert!(orphans["items"].as_array().unwrap().iter().all(|i| i["agent_left"] == true && i["action"] == "call"));
    let (status, bad) = get(&agent, &format!("{}/v1/winback?limit=0", server.base), SCORE_TOKEN);
    assert_eq!((status, bad["field"].as_str()), (422, Some("limit")), "{bad}");
    let (status, _) = get(&agent, &format!("{}/v1/winback", server.base), "wrong-token");
    assert_eq!(status, 401);
    let _ = ADMIN_TOKEN;
    assert!(server.stop().success());
}
