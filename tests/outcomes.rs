//! `lapse outcomes import|export` and `lapse queue --store`: a call-centre export into the store
//! (all rows or none, rows named), read back, and obeyed by the batch work list, including the
//! holdout of a campaign created by another command on the same store.

use std::collections::BTreeSet;
use std::process::{Command, Output};

use crate::common::fixture;
use lapse_retention::campaign::{Arm, read_campaign};

fn lapse(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lapse")).args(args).env("LAPSE_LOG", "warn").output().expect("run lapse")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn a_call_centre_export_is_imported_whole_once_exported_and_obeyed_by_the_batch_list() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}", dir.path().join("store.sqlite").display());
    let snapshot = fixture().snapshot.to_str().unwrap().to_string();
    let models = fixture().models.to_str().unwrap().to_string();
    // The top of today's batch list: whom the call centre called.
    let list = dir.path().join("list.csv");
    let run = lapse(&["queue", "--models", &models, "--snapshot", &snapshot, "--capacity", "40", "--out", list.to_str().unwrap()]);
    assert!(run.status.success(), "{}", text(&run));
    let before = read_campaign(&list).unwrap();
    let first = |rank: u32| before.rows.iter().find(|r| r.rank == rank).unwrap();
    let (refused, promised, noted) = (first(1), first(2), first(3));
    let csv = format!(
        "id,policy_id,installment_no,action,result,at,reason,promised_date,agent_id,note\n\
         cc-1,{},{},call,refused,2026-09-01T10:00:00+08:00,cannot_afford,,A1,\n\
         cc-2,{},{},call,promised,2026-09-01T11:00:00+08:00,,2026-09-20,A1,\"说好, 下周五\"\n\
         cc-3,{},{},sms,no_answer,2026-09-01T12:00:00+08:00,,,,\n",
        refused.policy_id, refused.installment_no, promised.policy_id, promised.installment_no, noted.policy_id, noted.installment_no
    );
    let file = dir.path().join("calls.csv");
    std::fs::write(&file, &csv).unwrap();
    let import = |path: &std::path::Path| lapse(&["outcomes", "import", path.to_str().unwrap(), "--store", &store, "--snapshot", &snapshot]);
    let run = import(&file);
    assert!(run.status.success(), "{}", text(&run));
    assert!(text(&run).contains("3 outcomes recorded, 0 already stored"), "{}", text(&run));
    let run = import(&file);
    assert!(text(&run).contains("0 outcomes recorded, 3 already stored"), "the same export again: {}", text(&run));

    // A bad row: named, and nothing of the file stored.
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, csv.replace("cc-", "bad-").replace("no_answer", "maybe")).unwrap();
    let run = import(&bad);
    assert_eq!(run.status.code(), Some(2), "{}", text(&run));
    assert!(text(&run).contains("row 3") && text(&run).contains("result") && text(&run).contains("nothing imported"), "{}", text(&run));
    let misspelt = dir.path().join("misspelt.csv");
    std::fs::write(&misspelt, csv.replace("promised_date", "promise_date")).unwrap();
    let run = import(&misspelt);
    assert!(!run.status.success() && text(&run).contains("promise_date"), "{}", text(&run));

    // Exported: the three, with the customer taken from the snapshot.
    for name in ["out.csv", "out.parquet"] {
        let out = dir.path().join(name);
        let run = lapse(&["outcomes", "export", "--store", &store, "--out", out.to_str().unwrap()]);
        assert!(run.status.success() && text(&run).contains("3 outcomes"), "{}", text(&run));
    }
    let exported = std::fs::read_to_string(dir.path().join("out.csv")).unwrap();
    assert_eq!(exported.lines().count(), 4, "{exported}");
    assert!(exported.contains(refused.customer_id.as_deref().unwrap()) && exported.contains("说好, 下周五"), "{exported}");
    let back = lapse_retention::outcome_file::read_outcomes_file(&dir.path().join("out.parquet")).unwrap();
    assert_eq!(back.len(), 3);

    // The batch list with the store obeys the rules: the refusing customer and the promised
    // renewal are off it.
    let after = dir.path().join("after.csv");
    let run =
        lapse(&["queue", "--models", &models, "--snapshot", &snapshot, "--capacity", "40", "--store", &store, "--out", after.to_str().unwrap()]);
    assert!(run.status.success(), "{}", text(&run));
    assert!(text(&run).contains("held back by refused"), "{}", text(&run));
    let after = read_campaign(&after).unwrap();
    assert!(after.rows.iter().all(|r| r.customer_id != refused.customer_id));
    assert!(after.rows.iter().all(|r| (&r.policy_id, r.installment_no) != (&promised.policy_id, promised.installment_no)));

    // A campaign created by `lapse queue` on the store holds its control customers out of the
    // next batch list.
    let campaign = dir.path().join("spring.csv");
    let campaigns = dir.path().join("campaigns");
    let run = lapse(&[
        "queue",
        "--models",
        &models,
        "--snapshot",
        &snapshot,
        "--capacity",
        "60",
        "--campaign",
        "spring",
        "--holdout",
        "0.5",
        "--campaigns",
        campaigns.to_str().unwrap(),
        "--store",
        &store,
        "--out",
        campaign.to_str().unwrap(),
    ]);
    assert!(run.status.success() && text(&run).contains("control customers held out"), "{}", text(&run));
    let control: BTreeSet<String> =
        read_campaign(&campaign).unwrap().rows.iter().filter(|r| r.arm == Arm::Control).filter_map(|r| r.customer_id.clone()).collect();
    assert!(control.len() >= 10);
    let next = dir.path().join("next.csv");
    let run =
        lapse(&["queue", "--models", &models, "--snapshot", &snapshot, "--capacity", "100000", "--store", &store, "--out", next.to_str().unwrap()]);
    assert!(run.status.success() && text(&run).contains("held back by holdout"), "{}", text(&run));
    let next = read_campaign(&next).unwrap();
    assert!(next.rows.iter().all(|r| r.customer_id.as_ref().is_none_or(|c| !control.contains(c))), "a held-out customer on the next list");
}
