//! Campaigns end to end: `lapse queue` writes a campaign with its holdout, refuses what it
//! must, and the real server planning the same campaign agrees with the file renewal for
//! renewal, never lists a control renewal, and logs both arms.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::common::{SCORE_TOKEN, client, fixture, get, start_server};
use lapse_retention::campaign::{Arm, read_campaign};

fn lapse(args: &[&str], models: &Path, campaigns: &Path) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_lapse"))
        .args(["queue", "--snapshot"])
        .arg(&fixture().snapshot)
        .arg("--models")
        .arg(models)
        .arg("--campaigns")
        .arg(campaigns)
        .args(args)
        .env("LAPSE_LOG", "warn")
        .output()
        .expect("run lapse")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const CAPACITY: &str = "visit=5,call=20,sms=120";
/// The size of the world of the effect and uplift test: large enough that a campaign saves a
/// few hundred lapses, so rankings by effect can be told apart from chance.
const WORLD_POLICIES: &str = "100000";

#[test]
fn lapse_queue_writes_a_campaign_with_a_stratified_holdout_and_refuses_what_it_must() {
    let dir = tempfile::tempdir().unwrap();
    let (models, campaigns) = (&fixture().models, dir.path().join("campaigns"));
    let out = dir.path().join("spring.csv");
    let run = lapse(&["--capacity", CAPACITY, "--holdout", "0.25", "--campaign", "spring", "--out", out.to_str().unwrap()], models, &campaigns);
    assert!(run.status.success(), "{}", stderr(&run));
    let text = std::fs::read_to_string(&out).unwrap();
    let header = text.lines().next().unwrap();
    for column in [
        "campaign",
        "as_of",
        "policy_id",
        "installment_no",
        "due_date",
        "action",
        "arm",
        "probability",
        "value_at_risk",
        "expected_gain",
        "segment",
        "model_version",
    ] {
        assert!(header.split(',').any(|c| c == column), "{column} in {header}");
    }
    let file = read_campaign(&out).unwrap();
    assert_eq!(file.name, "spring");
    assert_eq!(file.model_version, "v0001");
    // Within every capacity (of contacts: a customer's renewals share a rank, an action and an
    // arm), and each action x segment holds out a quarter of its contacts to within one.
    let mut contacts: BTreeMap<u32, Vec<&lapse_retention::campaign::CampaignRow>> = BTreeMap::new();
    for row in &file.rows {
        contacts.entry(row.rank).or_default().push(row);
    }
    assert!(contacts.len() < file.rows.len(), "the fixture has customers with several renewals on the list");
    let mut strata: BTreeMap<(String, String), (usize, usize)> = BTreeMap::new();
    for rows in contacts.values() {
        assert!(rows.iter().all(|r| r.arm == rows[0].arm && r.action == rows[0].action && r.customer_id == rows[0].customer_id));
        let e = strata.entry((rows[0].action.clone(), rows[0].segment.clone())).or_default();
        match rows[0].arm {
            Arm::Treatment => e.0 += 1,
            Arm::Control => e.1 += 1,
        }
    }
    for (action, cap) in [("visit", 5), ("call", 20), ("sms", 120)] {
        let listed: usize = strata.iter().filter(|((a, _), _)| a == action).map(|(_, (t, c))| t + c).sum();
        assert_eq!(listed, cap, "{action}: the fixture has enough gaining customers to fill it");
    }
    for ((action, segment), (t, c)) in &strata {
        let expected = (t + c) as f64 * 0.25;
        assert!((*c as f64 - expected).abs() < 1.0, "{action}/{segment}: {c} control of {}", t + c);
    }
    // The same settings again: the same file, byte for byte.
    let again = dir.path().join("again.csv");
    let run = lapse(&["--capacity", CAPACITY, "--holdout", "0.25", "--campaign", "spring", "--out", again.to_str().unwrap()], models, &campaigns);
    assert!(run.status.success(), "{}", stderr(&run));
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&again).unwrap());

    // Refused, with nothing written: another holdout under the same name, a holdout out of
    // range, no champion, an empty snapshot.
    let refused = dir.path().join("refused.csv");
    let r = refused.to_str().unwrap();
    let run = lapse(&["--capacity", CAPACITY, "--holdout", "0.3", "--campaign", "spring", "--out", r], models, &campaigns);
    assert!(stderr(&run).contains("exists with other settings (holdout 0.25 vs 0.3)"), "{}", stderr(&run));
    assert_eq!(run.status.code(), Some(2), "the caller's input, as the API's 409: {}", stderr(&run));
    let run = lapse(&["--capacity", CAPACITY, "--holdout", "0.95", "--campaign", "summer", "--out", r], models, &campaigns);
    assert!(!run.status.success() && stderr(&run).contains("outside [0, 0.9]"), "{}", stderr(&run));
    let empty_registry = dir.path().join("no-models");
    let run = lapse(&["--capacity", CAPACITY, "--holdout", "0.1", "--campaign", "summer", "--out", r], &empty_registry, &campaigns);
    assert!(!run.status.success() && stderr(&run).contains("champion"), "{}", stderr(&run));
    let empty = dir.path().join("empty.csv");
    let snapshot = lapse_core::table::read_frame(&fixture().snapshot).unwrap().0.head(Some(0));
    let mut snapshot = snapshot;
    use polars::prelude::SerWriter;
    polars::prelude::CsvWriter::new(std::fs::File::create(&empty).unwrap()).finish(&mut snapshot).unwrap();
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_lapse"))
        .args(["queue", "--capacity", "10", "--holdout", "0.1", "--campaign", "summer", "--out", r, "--snapshot"])
        .arg(&empty)
        .arg("--models")
        .arg(models)
        .arg("--campaigns")
        .arg(&campaigns)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2), "{}", stderr(&run));
    assert!(stderr(&run).contains("no renewals"), "{}", stderr(&run));
    assert!(!refused.exists());
    assert!(!campaigns.join("summer.json").exists());
}

#[test]
fn the_api_serves_the_same_campaign_as_the_batch_file_and_never_lists_a_control_renewal() {
    let dir = tempfile::tempdir().unwrap();
    let models = &fixture().models;
    let file = dir.path().join("batch.parquet");
    let run = lapse(
        &["--capacity", CAPACITY, "--holdout", "0.2", "--campaign", "may", "--channel", "agent", "--out", file.to_str().unwrap()],
        models,
        &dir.path().join("batch-campaigns"),
    );
    assert!(run.status.success(), "{}", stderr(&run));
    let batch = read_campaign(&file).unwrap();

    let log = dir.path().join("score-log");
    let api_campaigns = dir.path().join("api-campaigns");
    let mut server = start_server(models, &log, &["--campaigns".as_ref(), api_campaigns.as_os_str()]);
    let agent = client();
    let capacity = CAPACITY.replace('=', ":");
    let mut served = Vec::new();
    let mut offset = 0;
    loop {
        let url = format!("{}/v1/queue?capacity={capacity}&campaign=may&holdout=0.2&channel=agent&limit=17&offset={offset}", server.base);
        let (status, page) = get(&agent, &url, SCORE_TOKEN);
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["campaign"]["name"], "may");
        served.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|c| c["renewals"].as_array().unwrap())
                .map(|i| (i["policy_id"].as_str().unwrap().to_string(), i["installment_no"].as_u64().unwrap() as u32, i["action"].clone())),
        );
        match page["next_offset"].as_u64() {
            Some(next) => offset = next as usize,
            None => break,
        }
    }
    let treatment: Vec<(String, u32, Value)> = batch
        .rows
        .iter()
        .filter(|r| r.arm == Arm::Treatment)
        .map(|r| (r.policy_id.clone(), r.installment_no, Value::from(r.action.clone())))
        .collect();
    assert_eq!(served, treatment, "the pages list the batch file's treatment arm, in order");
    let control: BTreeSet<String> =
        batch.rows.iter().filter(|r| r.arm == Arm::Control).map(|r| format!("{}#{}", r.policy_id, r.installment_no)).collect();
    assert!(!control.is_empty());
    assert!(served.iter().all(|(p, i, _)| !control.contains(&format!("{p}#{i}"))), "no control renewal is listed");

    // The stored assignment, both arms, agrees with the file row for row.
    let mut stored = Vec::new();
    let mut offset = 0;
    loop {
        let (status, page) = get(&agent, &format!("{}/v1/campaigns/may?limit=50&offset={offset}", server.base), SCORE_TOKEN);
        assert_eq!(status, 200, "{page}");
        stored.extend(page["items"].as_array().unwrap().iter().flat_map(|c| {
            c["renewals"].as_array().unwrap().iter().map(|i| {
                (i["policy_id"].as_str().unwrap().to_string(), i["installment_no"].as_u64().unwrap() as u32, c["arm"].as_str().unwrap().to_string())
            })
        }));
        match page["next_offset"].as_u64() {
            Some(next) => offset = next as usize,
            None => break,
        }
    }
    let rows: Vec<(String, u32, String)> = batch.rows.iter().map(|r| (r.policy_id.clone(), r.installment_no, r.arm.as_str().to_string())).collect();
    assert_eq!(stored, rows);
    // Other settings under the same name: 409.
    let (status, body) = get(&agent, &format!("{}/v1/queue?capacity={capacity}&campaign=may&holdout=0.3", server.base), SCORE_TOKEN);
    assert_eq!((status, body["code"].as_str()), (409, Some("campaign_conflict")), "{body}");
    assert!(server.stop().success());

    // The score log holds both arms (the control ones once, when the campaign was made).
    let mut arms: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for entry in std::fs::read_dir(&log).unwrap() {
        for line in std::fs::read_to_string(entry.unwrap().path()).unwrap().lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            if v["campaign"] == "may" {
                let key = format!("{}#{}", v["policy_id"].as_str().unwrap(), v["installment_no"]);
                arms.entry(v["arm"].as_str().unwrap().to_string()).or_default().insert(key);
            }
        }
    }
    assert_eq!(arms.get("control"), Some(&control));
    assert_eq!(arms["treatment"], treatment.iter().map(|(p, i, _)| format!("{p}#{i}")).collect::<BTreeSet<_>>());
}

/// One row of a replayed campaign's truth file.
struct Truth {
    policy_id: String,
    installment_no: u32,
    action: String,
    arm: String,
    segment: String,
    lapse_untreated: bool,
    delivered_if_treated: bool,
    lapse_treated: bool,
}

fn truth(path: &Path) -> Vec<Truth> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "policy_id,installment_no,action,arm,segment,lapse_untreated,delivered_if_treated,save_probability,lapse_treated"
    );
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Truth {
                policy_id: f[0].to_string(),
                installment_no: f[1].parse().unwrap(),
                action: f[2].to_string(),
                arm: f[3].to_string(),
                segment: f[4].to_string(),
                lapse_untreated: f[5] == "1",
                delivered_if_treated: f[6] == "1",
                lapse_treated: f[8] == "1",
            }
        })
        .collect()
}

fn run(args: &[&str]) -> Output {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lapse")).args(args).env("LAPSE_LOG", "warn").output().expect("run lapse");
    assert!(out.status.success(), "lapse {args:?}: {}", stderr(&out));
    out
}

#[test]
fn in_a_world_that_answers_contacts_the_measured_save_rates_cover_what_the_campaign_truly_saved() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    // A book the model never saw (another seed and size than the fixture it was trained on),
    // its snapshot at the campaign date, the campaign with half held out.
    run(&["generate", "--policies", WORLD_POLICIES, "--seed", "7", "--out", &p("book0")]);
    run(&["features", "--data", &p("book0"), "--as-of", "2026-06-30", "--out", &p("snapshot.parquet")]);
    let models = fixture().models.to_str().unwrap().to_string();
    let campaign = p("june.csv");
    // The simulated world answers a visit whether or not the policy's agent is still in service
    // (the generator does not model who visits): its rules let orphans be visited too.
    std::fs::write(p("rules.json"), r#"{"orphan_actions": ["sms", "call", "visit"]}"#).unwrap();
    run(&[
        "queue",
        "--models",
        &models,
        "--snapshot",
        &p("snapshot.parquet"),
        "--contact-rules",
        &p("rules.json"),
        // Every renewal where some action pays, half held out.
        "--capacity",
        "1000000",
        "--holdout",
        "0.5",
        "--campaign",
        "june",
        "--campaigns",
        &p("campaigns"),
        "--out",
        &campaign,
    ]);
    // The same book, with the campaign's contacts answered; outcomes known by the extract
    // date (2026-09-30), after every listed renewal's grace.
    run(&["generate", "--policies", WORLD_POLICIES, "--seed", "7", "--out", &p("book1"), "--campaign", &campaign]);
    run(&[
        "effect",
        "--campaign",
        &campaign,
        "--data",
        &p("book1"),
        "--out",
        &p("effect.json"),
        "--html",
        &p("effect.html"),
        "--economics-out",
        &p("measured.json"),
    ]);
    let report: Value = serde_json::from_str(&std::fs::read_to_string(p("effect.json")).unwrap()).unwrap();
    let truth = truth(&dir.path().join("book1/campaign_truth.csv"));
    let file = read_campaign(Path::new(&campaign)).unwrap();
    assert_eq!(truth.len(), file.rows.len(), "the world reached every listed renewal");
    assert_eq!(report["readable"], true);
    assert_eq!(report["unknown"], 0);
    let drawn = report["holdout_drawn"].as_f64().unwrap();
    assert!((drawn - 0.5).abs() < 0.01, "control share {drawn}");

    for action in ["sms", "call", "visit"] {
        let rows: Vec<&Truth> = truth.iter().filter(|t| t.action == action).collect();
        // What the campaign truly saved: lapses it would have had untreated against those it
        // would have had contacted, over every listed renewal of the action.
        let untreated = rows.iter().filter(|t| t.lapse_untreated).count() as f64;
        let treated = rows.iter().filter(|t| t.lapse_treated).count() as f64;
        let true_save = 1.0 - treated / untreated;
        let e = report["actions"].as_array().unwrap().iter().find(|e| e["action"] == action).unwrap();
        // The report counts exactly what happened in each arm.
        let lapses = |arm: &str, treated_outcome: bool| {
            rows.iter().filter(|t| t.arm == arm && if treated_outcome { t.lapse_treated } else { t.lapse_untreated }).count()
        };
        assert_eq!(e["lapses_treated"].as_u64().unwrap() as usize, lapses("treatment", true), "{action}");
        assert_eq!(e["lapses_control"].as_u64().unwrap() as usize, lapses("control", false), "{action}");
        let (lo, hi) = (e["ci_low"].as_f64().unwrap(), e["ci_high"].as_f64().unwrap());
        // One world, three actions: a 95% interval misses the truth of at least one action in
        // about 14% of worlds by design (its coverage is measured over thousands of draws in
        // lapse-model's campaign tests). Here the check is that the report describes this
        // world: the truth lies within the same interval widened to 3 standard errors (on the
        // log risk-ratio scale the Katz interval is built on).
        let (rr_lo, rr_hi) = ((1.0 - hi).max(1e-9).ln(), (1.0 - lo).max(1e-9).ln());
        let (centre, half) = ((rr_lo + rr_hi) / 2.0, (rr_hi - rr_lo) / 2.0 * 3.0 / 1.96);
        let true_rr = (1.0 - true_save).max(1e-9).ln();
        assert!((true_rr - centre).abs() <= half, "{action}: true save rate {true_save:.3}, 95% interval [{lo:.3}, {hi:.3}]");
        // Contacts were made in the treatment arm, and far more often than in control.
        let (dt, dc) = (e["delivered_treated"].as_f64().unwrap(), e["delivered_control"].as_f64().unwrap());
        assert!(dt > dc + 0.2, "{action}: delivered {dt} vs {dc}");
        // Per delivered contact, on the renewals not yet due at the campaign date: the truth is
        // the save rate among those whose contact would get through.
        let due: std::collections::HashMap<(&str, u32), lapse_core::dates::Day> =
            file.rows.iter().map(|r| ((r.policy_id.as_str(), r.installment_no), r.due_date)).collect();
        let reached: Vec<&&Truth> =
            rows.iter().filter(|t| t.delivered_if_treated && due[&(t.policy_id.as_str(), t.installment_no)] >= file.as_of).collect();
        let true_per_delivered =
            1.0 - reached.iter().filter(|t| t.lapse_treated).count() as f64 / reached.iter().filter(|t| t.lapse_untreated).count() as f64;
        let per_delivered = e["save_rate_per_delivered"].as_f64();
        eprintln!("{action}: save rate per delivered {per_delivered:?}, truth {true_per_delivered:.3}");
        // Delivery is counted before the due date only: the collection contacts the world makes
        // to unpaid renewals in grace (in both arms) are not taken for the campaign's. Counted
        // to the end of grace, control renewals showed 9-21% "delivered" in such a world.
        assert!(dc < 0.1, "{action}: control renewals delivered {dc}");
    }
    // Measured economics: valid, used by the work list.
    let measured = lapse_retention::Economics::from_file(&dir.path().join("measured.json")).unwrap();
    assert_eq!(measured.actions.len(), 3);
    assert!(std::fs::read_to_string(p("effect.html")).unwrap().contains("<svg"));
    // The same report for a Chinese team: no English sentence on the page.
    run(&[
        "effect",
        "--campaign",
        &campaign,
        "--data",
        &p("book1"),
        "--out",
        &p("effect-zh.json"),
        "--html",
        &p("effect-zh.html"),
        "--lang",
        "zh-CN",
    ]);
    let english = lapse_reports::pages::zh::english_sentences(&std::fs::read_to_string(p("effect-zh.html")).unwrap());
    assert!(english.is_empty(), "the zh-CN effect page prints English: {english:#?}");
    let requeued = run(&[
        "queue",
        "--models",
        &models,
        "--snapshot",
        &p("snapshot.parquet"),
        "--capacity",
        "visit=300,call=1200,sms=4000",
        "--economics",
        &p("measured.json"),
        "--out",
        &p("tomorrow.csv"),
    ]);
    assert!(String::from_utf8_lossy(&requeued.stdout).contains("renewals"));

    // Ranking by effect: learnt from this campaign (into a copy of the registry), judged on
    // renewals the learner never saw (cross-fitted) against what each renewal's contact truly
    // saved: contacting the top of the uplift ranking saves more than the top of the risk
    // ranking, which saves more than chance.
    let registry = dir.path().join("registry");
    lapse_core::testkit::copy_dir(&fixture().models, &registry);
    let registry = registry.to_str().unwrap().to_string();
    run(&[
        "uplift",
        "--campaign",
        &campaign,
        "--snapshot",
        &p("snapshot.parquet"),
        "--data",
        &p("book1"),
        "--models",
        &registry,
        "--out",
        &p("uplift.json"),
        "--html",
        &p("uplift.html"),
        "--rows-out",
        &p("uplift-rows.csv"),
        "--economics-out",
        &p("uplift-economics.json"),
    ]);
    let uplift_zh = dir.path().join("uplift-zh");
    std::fs::create_dir_all(&uplift_zh).unwrap();
    run(&[
        "uplift",
        "--campaign",
        &campaign,
        "--snapshot",
        &p("snapshot.parquet"),
        "--data",
        &p("book1"),
        "--out",
        &p("uplift-zh/uplift.json"),
        "--html",
        &p("uplift-zh/uplift.html"),
        "--models",
        &registry,
        "--no-register",
        "--lang",
        "zh-CN",
    ]);
    let english = lapse_reports::pages::zh::english_sentences(&std::fs::read_to_string(p("uplift-zh/uplift.html")).unwrap());
    assert!(english.is_empty(), "the zh-CN uplift page prints English: {english:#?}");
    let saved: std::collections::HashMap<(String, u32), f64> = truth
        .iter()
        .map(|t| ((t.policy_id.clone(), t.installment_no), f64::from(u8::from(t.lapse_untreated)) - f64::from(u8::from(t.lapse_treated))))
        .collect();
    let rows_text = std::fs::read_to_string(p("uplift-rows.csv")).unwrap();
    let mut lines = rows_text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (pid, inst, prob, strat) = (col("policy_id"), col("installment_no"), col("probability"), col("stratified_uplift"));
    // (risk, uplift, truly saved) per matured renewal.
    let scored: Vec<(f64, f64, f64)> = lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[prob].parse().unwrap(), f[strat].parse().unwrap(), saved[&(f[pid].to_string(), f[inst].parse::<u32>().unwrap())])
        })
        .collect();
    // The area between a ranking's true-saves curve and chance's straight line, per renewal.
    let true_qini = |key: &dyn Fn(&(f64, f64, f64)) -> f64| -> f64 {
        let mut order: Vec<&(f64, f64, f64)> = scored.iter().collect();
        order.sort_by(|a, b| key(b).total_cmp(&key(a)));
        let total: f64 = scored.iter().map(|s| s.2).sum();
        let n = order.len() as f64;
        let mut running = 0.0;
        let area: f64 = order
            .iter()
            .enumerate()
            .map(|(k, s)| {
                running += s.2;
                running - (k + 1) as f64 / n * total
            })
            .sum();
        area / (n * n)
    };
    let (by_uplift, by_risk) = (true_qini(&|s| s.1), true_qini(&|s| s.0));
    eprintln!("true Qini: uplift {by_uplift:.5}, risk {by_risk:.5}");
    assert!(by_uplift > 0.0, "uplift ranks better than chance: {by_uplift}");
    assert!(by_uplift > by_risk, "uplift {by_uplift} should beat risk {by_risk}");
    // And where a team's capacity usually ends: the top tenth and fifth of the list.
    let saves_in_top = |key: &dyn Fn(&(f64, f64, f64)) -> f64, share: f64| -> f64 {
        let mut order: Vec<&(f64, f64, f64)> = scored.iter().collect();
        order.sort_by(|a, b| key(b).total_cmp(&key(a)));
        order.iter().take((share * order.len() as f64) as usize).map(|s| s.2).sum()
    };
    for share in [0.1, 0.2] {
        let (u, r) = (saves_in_top(&|s| s.1, share), saves_in_top(&|s| s.0, share));
        assert!(u > r, "top {share}: uplift saves {u}, risk {r}");
    }
    let judged: Value = serde_json::from_str(&std::fs::read_to_string(p("uplift.json")).unwrap()).unwrap();
    let by_effect = lapse_retention::Economics::from_file(&dir.path().join("uplift-economics.json")).unwrap();
    assert!(by_effect.actions.iter().any(|a| a.segment_save_rates.len() == 9), "a segment gets its risk band's rate");
    assert_eq!(judged["learners"].as_array().unwrap().len(), 2);
    // Registered only when it ranks better than risk on the held-out Qini (outcomes, not the
    // truth: that is all a real campaign has); otherwise the work list keeps ranking by risk.
    let (qini_uplift, qini_risk) = (judged["qini_uplift"].as_f64().unwrap(), judged["qini_risk"].as_f64().unwrap());
    eprintln!("held-out Qini: uplift {qini_uplift:.5}, risk {qini_risk:.5}; {}", judged["registration"]);
    assert_eq!(judged["beats_risk"].as_bool().unwrap(), qini_uplift > qini_risk);
    let queue_args = [
        "queue",
        "--models",
        &registry,
        "--snapshot",
        &p("snapshot.parquet"),
        "--capacity",
        "visit=300,call=1200,sms=4000",
        "--rank-by",
        "uplift",
        "--out",
        &p("by-uplift.csv"),
    ];
    if qini_uplift > qini_risk {
        assert!(judged["registered"].is_object(), "{}", judged["registration"]);
        let ranked = run(&queue_args);
        assert!(String::from_utf8_lossy(&ranked.stdout).contains("ranked by uplift:"), "{}", String::from_utf8_lossy(&ranked.stdout));
    } else {
        assert!(judged["registered"].is_null());
        assert!(judged["registration"].as_str().unwrap().contains("ranks worse than risk"), "{}", judged["registration"]);
        let refused = std::process::Command::new(env!("CARGO_BIN_EXE_lapse")).args(queue_args).output().unwrap();
        assert!(!refused.status.success() && stderr(&refused).contains("no uplift learner is registered"), "{}", stderr(&refused));
    }

    // Coverage at the stated rate: the world's outcomes per renewal do not depend on the arm,
    // so drawing the arms again (another campaign name) is another run of the same campaign.
    // Over 200 redraws and three actions, the 95% intervals should miss about 5%.
    let keys: Vec<(&str, u32, String)> =
        truth.iter().map(|t| (t.policy_id.as_str(), t.installment_no, format!("{}/{}", t.action, t.segment))).collect();
    let (mut missed, mut tried) = (0, 0);
    for draw in 0..200 {
        let arms = lapse_retention::campaign::assign_arms(&format!("redraw-{draw}"), 0.5, &keys);
        for action in ["sms", "call", "visit"] {
            let mut a = lapse_reports::effect::Arms { treated: 0, treated_lapses: 0, control: 0, control_lapses: 0 };
            let (mut y0, mut y1) = (0usize, 0usize);
            for (t, arm) in truth.iter().zip(&arms).filter(|(t, _)| t.action == action) {
                y0 += usize::from(t.lapse_untreated);
                y1 += usize::from(t.lapse_treated);
                match arm {
                    Arm::Treatment => (a.treated, a.treated_lapses) = (a.treated + 1, a.treated_lapses + usize::from(t.lapse_treated)),
                    Arm::Control => (a.control, a.control_lapses) = (a.control + 1, a.control_lapses + usize::from(t.lapse_untreated)),
                }
            }
            let truth = 1.0 - y1 as f64 / y0 as f64;
            let e = a.estimate();
            tried += 1;
            if !(e.ci_low.unwrap() <= truth && truth <= e.ci_high.unwrap()) {
                missed += 1;
            }
        }
    }
    let miss = missed as f64 / tried as f64;
    eprintln!("coverage check: the 95% intervals missed {missed} of {tried}");
    assert!((0.01..=0.10).contains(&miss), "the intervals missed {missed} of {tried}");
}

#[test]
fn the_nightly_job_reports_the_campaigns_that_matured() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    run(&["generate", "--policies", "5000", "--seed", "3", "--out", &p("book")]);
    run(&["features", "--data", &p("book"), "--as-of", "2026-06-30", "--out", &p("june.parquet")]);
    run(&["features", "--data", &p("book"), "--as-of", "2026-09-15", "--out", &p("september.parquet")]);
    let models = fixture().models.to_str().unwrap().to_string();
    // June's campaign is made by a command run elsewhere (its own campaigns directory) on the
    // shared outcome store; September's in the nightly's campaigns directory.
    let store = format!("sqlite://{}", dir.path().join("store.sqlite").display());
    for (name, snapshot, campaigns) in [("june", "june.parquet", "campaigns-elsewhere"), ("september", "september.parquet", "campaigns")] {
        run(&[
            "queue",
            "--models",
            &models,
            "--snapshot",
            &p(snapshot),
            "--capacity",
            "500",
            "--holdout",
            "0.3",
            "--campaign",
            name,
            "--campaigns",
            &p(campaigns),
            "--store",
            &store,
            "--out",
            &p(&format!("{name}.csv")),
        ]);
    }
    run(&[
        "nightly",
        "--data",
        &p("book"),
        "--models",
        &p("models"),
        "--out",
        &p("reports"),
        "--as-of",
        "2026-09-30",
        "--campaigns",
        &p("campaigns"),
        "--store",
        &store,
    ]);
    let night = dir.path().join("reports/2026-09-30");
    // June's renewals have all passed their grace by the night; September's have not.
    let report: Value = serde_json::from_str(&std::fs::read_to_string(night.join("campaign-june.json")).unwrap()).unwrap();
    assert_eq!(report["campaign"], "june");
    assert_eq!(report["readable"], true);
    let june = read_campaign(&dir.path().join("june.csv")).unwrap();
    assert_eq!(june.rows.iter().map(|r| r.rank).collect::<BTreeSet<_>>().len(), 500, "500 contacts");
    assert_eq!(report["renewals"].as_u64(), Some(june.rows.len() as u64), "every renewal of them");
    assert!(!night.join("campaign-september.json").exists());
    let index = std::fs::read_to_string(night.join("index.html")).unwrap();
    assert!(index.contains("href=\"campaign-june.html\""), "the index links the campaign report");
    // The console lists the campaign with its status and a save rate per action.
    run(&["history", "--reports", &p("reports"), "--out", &p("site")]);
    let campaigns = std::fs::read_to_string(dir.path().join("site/campaigns.html")).unwrap();
    let actions = report["actions"].as_array().unwrap();
    assert_eq!(campaigns.matches("<td class=\"l\">june</td>").count(), actions.len(), "a row per action: {campaigns}");
    assert!(campaigns.contains(">read<"), "june is read");
    let rate = actions[0]["save_rate"].as_f64().unwrap();
    assert!(campaigns.contains(&format!("{:.1}%", 100.0 * rate)), "its save rate {rate}");
    // By team, the campaign's renewals add up to the action's; team performance repeats them
    // as save rates per team, and counts both campaigns' treatment arms as listed.
    let by_team = report["by_team"].as_array().expect("the generated agents have teams");
    for action in report["actions"].as_array().unwrap() {
        let teams: Vec<&Value> = by_team.iter().filter(|t| t["action"] == action["action"]).collect();
        assert!(teams.len() > 1, "several teams");
        for field in ["treated", "control", "treated_matured", "lapses_treated", "lapses_control"] {
            assert_eq!(teams.iter().map(|t| t[field].as_u64().unwrap()).sum::<u64>(), action[field].as_u64().unwrap(), "{field}");
        }
    }
    let performance: Value = serde_json::from_str(&std::fs::read_to_string(night.join("performance.json")).unwrap()).unwrap();
    let rates = performance["campaign_save_rates"].as_array().unwrap();
    let june_rates: Vec<&Value> = rates.iter().filter(|r| r["campaign"] == "june").collect();
    assert_eq!(june_rates.len(), by_team.len());
    assert!(june_rates.iter().all(|r| r["readable"] == true && r["dimension"] == "team"));
    assert_eq!(performance["work"]["campaigns"], 2);
    let listed: u64 = performance["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["level"] == "all" && !g["month"].as_str().unwrap().contains(".."))
        .map(|g| g["work"]["renewals_listed"].as_u64().unwrap())
        .sum();
    let treated = |file: &str| read_campaign(&dir.path().join(file)).unwrap().rows.iter().filter(|r| r.arm == Arm::Treatment).count() as u64;
    // Listed renewals due in the report's months: at most the two treatment arms, and some.
    assert!(listed > 0 && listed <= treated("june.csv") + treated("september.csv"), "{listed}");
}

#[test]
fn a_campaign_planned_before_launch_is_the_campaign_launched_and_says_what_it_can_detect() {
    let dir = tempfile::tempdir().unwrap();
    let (models, campaigns) = (&fixture().models, dir.path().join("campaigns"));
    let plan_path = dir.path().join("plan.json");
    let args = ["--capacity", "call=800", "--holdout", "0.2", "--campaign", "autumn"];
    let planned = lapse(&[&args[..], &["--plan", "--out", plan_path.to_str().unwrap()]].concat(), models, &campaigns);
    assert!(planned.status.success(), "{}", stderr(&planned));
    let printed = String::from_utf8_lossy(&planned.stdout);
    assert!(printed.contains("readable on") && printed.contains("detectable"), "{printed}");
    assert!(!campaigns.join("autumn.json").exists() && !campaigns.exists(), "a plan records nothing");
    let plan: Value = serde_json::from_str(&std::fs::read_to_string(&plan_path).unwrap()).unwrap();
    // The same settings launched: the plan's arms are the campaign's, renewal for renewal.
    let out = dir.path().join("autumn.csv");
    let launched = lapse(&[&args[..], &["--out", out.to_str().unwrap()]].concat(), models, &campaigns);
    assert!(launched.status.success(), "{}", stderr(&launched));
    let file = read_campaign(&out).unwrap();
    let call = plan["actions"].as_array().unwrap().iter().find(|a| a["action"] == "call").expect("calls planned");
    let rows: Vec<_> = file.rows.iter().filter(|r| r.action == "call").collect();
    let count = |arm: Arm| rows.iter().filter(|r| r.arm == arm).count() as u64;
    assert_eq!((call["treated_renewals"].as_u64(), call["control_renewals"].as_u64()), (Some(count(Arm::Treatment)), Some(count(Arm::Control))));
    let r_c = rows.iter().map(|r| r.probability).sum::<f64>() / rows.len() as f64;
    assert!((call["expected_control_lapse_rate"].as_f64().unwrap() - r_c).abs() < 1e-9);
    // The effect report's equation on those counts.
    let mde = lapse_retention::campaign::stats::min_detectable_save_rate(r_c, count(Arm::Treatment) as f64, count(Arm::Control) as f64);
    assert_eq!(call["min_detectable_save_rate"].as_f64(), mde);
    let last_due = file.rows.iter().map(|r| r.due_date).max().unwrap();
    assert_eq!(plan["readable_on"], lapse_core::dates::format_day(last_due + 61));
    // A detectable rate above the configured one comes with the holdout (or pooling) that fixes it.
    if !call["detects_configured"].as_bool().unwrap() {
        assert!(!call["holdout_needed"].is_null() || call["campaigns_to_pool"].as_u64().unwrap() > 1, "{call}");
    }
    // --plan writes JSON only.
    let bad = lapse(&[&args[..], &["--plan", "--out", dir.path().join("plan.csv").to_str().unwrap()]].concat(), models, &campaigns);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
}

#[test]
fn the_hand_out_files_hold_only_the_treatment_rows_and_read_back_as_the_right_characters() {
    let dir = tempfile::tempdir().unwrap();
    let (models, campaigns) = (&fixture().models, dir.path().join("campaigns"));
    let out = dir.path().join("winter.csv");
    for (encoding, handout) in [("gb18030", dir.path().join("gb")), ("utf-8-bom", dir.path().join("utf8"))] {
        let run = lapse(
            &[
                "--capacity",
                CAPACITY,
                "--holdout",
                "0.3",
                "--campaign",
                "winter",
                "--out",
                out.to_str().unwrap(),
                "--handout",
                handout.to_str().unwrap(),
                "--encoding",
                encoding,
                "--lang",
                "zh-CN",
            ],
            models,
            &campaigns,
        );
        assert!(run.status.success(), "{}", stderr(&run));
        let file = read_campaign(&out).unwrap();
        let treated: BTreeSet<(String, u32)> =
            file.rows.iter().filter(|r| r.arm == Arm::Treatment).map(|r| (r.policy_id.clone(), r.installment_no)).collect();
        let mut handed: BTreeSet<(String, u32)> = BTreeSet::new();
        let mut files = 0;
        for entry in std::fs::read_dir(&handout).unwrap() {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            // The bytes as a spreadsheet would read them in the stated encoding.
            let text = match encoding {
                "gb18030" => {
                    assert!(!bytes.starts_with(b"\xef\xbb\xbf"));
                    let (text, _, bad) = encoding_rs::GB18030.decode(&bytes);
                    assert!(!bad, "{}", path.display());
                    text.into_owned()
                }
                _ => {
                    assert!(bytes.starts_with(b"\xef\xbb\xbf"), "a byte-order mark");
                    String::from_utf8(bytes[3..].to_vec()).unwrap()
                }
            };
            let mut lines = text.lines();
            assert_eq!(lines.next().unwrap(), "排名,客户号,保单号,期次,应缴日,行动,失效概率,风险价值,主要原因,渠道,地区,业务员");
            for line in lines {
                let cells: Vec<&str> = line.split(',').collect();
                assert!(["短信提醒", "电话催缴", "业务员上门拜访"].contains(&cells[5]), "{line}");
                assert!(handed.insert((cells[2].to_string(), cells[3].parse().unwrap())), "each renewal once: {line}");
                let name = path.file_name().unwrap().to_str().unwrap();
                if name.starts_with("agent-") {
                    assert_eq!(format!("agent-{}.csv", cells[11]), name, "an agent's file holds that agent's renewals");
                }
            }
            files += 1;
        }
        assert!(files > 2, "a file per agent");
        assert_eq!(handed, treated, "every treatment renewal, and no control renewal, is handed out");
        let reasons = std::fs::read_dir(&handout).unwrap().any(|e| {
            let bytes = std::fs::read(e.unwrap().path()).unwrap();
            let text =
                if encoding == "gb18030" { encoding_rs::GB18030.decode(&bytes).0.into_owned() } else { String::from_utf8_lossy(&bytes).into_owned() };
            text.contains("逾期") || text.contains("未缴费") || text.contains("自动扣款")
        });
        assert!(reasons, "the reasons are in Chinese");
    }
}
