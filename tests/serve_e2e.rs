//! End to end: the real `lapse serve` binary on a real socket. Clients score in parallel while
//! the champion changes twice (admin reload, then SIGHUP); not one request may fail; SIGTERM
//! then stops the server cleanly with every score in the score log.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use lapse_model::registry::Registry;

use crate::common::{ADMIN_TOKEN, SCORE_TOKEN, client, get, models_copy, post, renewals, start_server};

#[test]
fn the_binary_serves_reloads_under_traffic_without_a_failed_request_and_shuts_down_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let models = models_copy(dir.path());
    let log_dir = dir.path().join("score-log");
    let mut server = start_server(&models, &log_dir, &[]);
    let base = server.base.clone();
    let agent = client();
    let (status, health) = get(&agent, &format!("{base}/readyz"), "");
    assert_eq!((status, health["model_version"].as_str()), (200, Some("v0001")));

    // Keys to score: the top of the work list.
    let (_, queue) = get(&agent, &format!("{base}/v1/queue?capacity=20&limit=20"), SCORE_TOKEN);
    let keys: Vec<Value> =
        renewals(&queue).iter().take(20).map(|i| json!({"policy_id": i["policy_id"], "installment_no": i["installment_no"]})).collect();
    assert_eq!(keys.len(), 20);
    let body = json!({ "renewals": keys }).to_string();

    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let versions = Arc::new(Mutex::new(std::collections::BTreeSet::<String>::new()));
    let clients: Vec<_> = (0..3)
        .map(|_| {
            let (stop, ok, failures, versions, body, url) =
                (Arc::clone(&stop), Arc::clone(&ok), Arc::clone(&failures), Arc::clone(&versions), body.clone(), format!("{base}/v1/score"));
            std::thread::spawn(move || {
                let agent = client();
                while !stop.load(Ordering::Relaxed) {
                    let (status, response) = post(&agent, &url, SCORE_TOKEN, &body);
                    if status == 200 && response["results"].as_array().is_some_and(|r| r.len() == 20) {
                        ok.fetch_add(1, Ordering::Relaxed);
                        versions.lock().unwrap().insert(response["model_version"].as_str().unwrap().to_string());
                    } else {
                        failures.lock().unwrap().push(format!("{status}: {response}"));
                    }
                }
            })
        })
        .collect();
    let wait_for = |count: usize| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while ok.load(Ordering::Relaxed) < count && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
    };
    wait_for(20);

    // Swap 1: promote v0002, reload through the admin route.
    Registry::new(&models).promote("v0002").unwrap();
    let (status, reloaded) = post(&agent, &format!("{base}/v1/admin/reload"), ADMIN_TOKEN, "");
    assert_eq!(status, 200, "{reloaded}");
    assert_eq!(reloaded["version"], "v0002");
    let after_first = ok.load(Ordering::Relaxed);
    wait_for(after_first + 20);

    // Swap 2: back to v0001 through SIGHUP.
    Registry::new(&models).promote("v0001").unwrap();
    // SAFETY: signals our own child process.
    #[allow(unsafe_code)]
    unsafe {
        libc::kill(server.child.id() as i32, libc::SIGHUP)
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, model) = get(&agent, &format!("{base}/v1/models/current"), SCORE_TOKEN);
        if model["version"] == "v0001" {
            break;
        }
        assert!(Instant::now() < deadline, "SIGHUP did not reload");
        std::thread::sleep(Duration::from_millis(20));
    }
    let after_second = ok.load(Ordering::Relaxed);
    wait_for(after_second + 20);
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.join().unwrap();
    }
    let failures = failures.lock().unwrap();
    assert!(failures.is_empty(), "{} failed requests, first: {}", failures.len(), failures[0]);
    assert_eq!(versions.lock().unwrap().iter().map(String::as_str).collect::<Vec<_>>(), ["v0001", "v0002"], "traffic saw both models");
    let served = ok.load(Ordering::Relaxed);

    // SIGTERM: a clean exit, and every score served is in the log.
    let status = server.stop();
    assert!(status.success(), "exit status {status}");
    let mut lines = 0;
    let mut by_endpoint = std::collections::BTreeMap::<String, usize>::new();
    for entry in std::fs::read_dir(&log_dir).unwrap() {
        for line in std::fs::read_to_string(entry.unwrap().path()).unwrap().lines() {
            let record: Value = serde_json::from_str(line).expect("every log line parses");
            *by_endpoint.entry(record["endpoint"].as_str().unwrap().to_string()).or_default() += 1;
            lines += 1;
        }
    }
    assert_eq!(by_endpoint.get("score").copied().unwrap_or(0), served * 20, "{by_endpoint:?}");
    let queued = renewals(&queue).len();
    assert_eq!(by_endpoint.get("queue").copied().unwrap_or(0), queued);
    assert_eq!(lines, served * 20 + queued);
}

#[test]
fn after_a_crash_mid_write_the_restarted_server_loses_no_score_and_the_realised_report_runs() {
    let dir = tempfile::tempdir().unwrap();
    let models = models_copy(dir.path());
    let log_dir = dir.path().join("score-log");
    let agent = client();
    let mut server = start_server(&models, &log_dir, &[]);
    let (status, body) = get(&agent, &format!("{}/v1/queue?capacity=6", server.base), SCORE_TOKEN);
    assert_eq!(status, 200, "{body}");
    let whole = renewals(&body).len() - 1;
    let stopped = server.stop();
    assert!(stopped.success(), "first life: {stopped}");
    // What a kill mid-write leaves: the last line cut short.
    let file = std::fs::read_dir(&log_dir).expect("the score log directory").next().expect("a day's file").unwrap().path();
    let mut bytes = std::fs::read(&file).unwrap();
    bytes.truncate(bytes.len() - 40);
    std::fs::write(&file, &bytes).unwrap();
    let mut server = start_server(&models, &log_dir, &[]);
    let (status, page) = get(&agent, &format!("{}/v1/queue?capacity=4", server.base), SCORE_TOKEN);
    assert_eq!(status, 200, "{page}");
    let stopped = server.stop();
    assert!(stopped.success(), "second life: {stopped}");
    let text = std::fs::read_to_string(&file).unwrap();
    let good: Vec<Value> = text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let page = renewals(&page);
    assert_eq!(good.len(), whole + page.len(), "the whole first-life lines and every score served after the restart");
    let served: Vec<&Value> = page.iter().map(|i| &i["policy_id"]).collect();
    assert_eq!(good[whole..].iter().map(|l| &l["policy_id"]).collect::<Vec<_>>(), served);
    let report = realised_report(&log_dir, dir.path());
    assert_eq!((report["log_lines"].as_u64(), report["malformed_lines"].as_u64()), (Some((whole + page.len()) as u64), Some(1)));
    assert_eq!(report["malformed_examples"][0]["line"].as_u64(), Some(whole as u64 + 1));
}

#[test]
fn the_score_log_rotates_by_size_compresses_closed_parts_and_keeps_to_its_retention() {
    let dir = tempfile::tempdir().unwrap();
    let models = models_copy(dir.path());
    let log_dir = dir.path().join("score-log");
    std::fs::create_dir_all(&log_dir).unwrap();
    // Left by earlier runs: a day past the retention, and a recent day's file never closed.
    let line = |day: &str| {
        format!(
            "{{\"time\":\"{day}T10:00:00.000Z\",\"request_id\":\"r\",\"endpoint\":\"score\",\"model_version\":\"v0001\",\"policy_id\":\"P00000001\",\"installment_no\":2,\"due_date\":\"2026-01-01\",\"probability\":0.5,\"value\":1.0,\"action\":\"call\",\"expected_gain\":1.0,\"rank\":1}}\n"
        )
    };
    std::fs::write(log_dir.join("scores-2001-01-01.jsonl"), line("2001-01-01")).unwrap();
    let yesterday = lapse_core::dates::format_day(lapse_core::dates::today_utc() - 1);
    std::fs::write(log_dir.join(format!("scores-{yesterday}.jsonl")), line(&yesterday)).unwrap();
    let agent = client();
    let mut server =
        start_server(&models, &log_dir, &["--score-log-max-mb".as_ref(), "0.004".as_ref(), "--score-log-retention-days".as_ref(), "30".as_ref()]);
    let mut served = 0;
    for _ in 0..12 {
        let (status, page) = get(&agent, &format!("{}/v1/queue?capacity=20&limit=20", server.base), SCORE_TOKEN);
        assert_eq!(status, 200, "{page}");
        served += renewals(&page).len();
    }
    assert!(server.stop().success());
    // Compression runs beside the writer: wait for it.
    let names = || -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&log_dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while names().iter().any(|n| n.ends_with(".jsonl") && n.contains('.') && n.matches('.').count() == 2) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let names = names();
    assert!(!names.iter().any(|n| n.contains("2001-01-01")), "past retention deleted: {names:?}");
    assert!(names.contains(&format!("scores-{yesterday}.1.jsonl.zst")), "yesterday's file closed and compressed: {names:?}");
    let today_parts = names.iter().filter(|n| n.ends_with(".jsonl.zst") && !n.contains(&yesterday)).count();
    assert!(today_parts >= 2, "4 KiB parts: {names:?}");
    // Every score is in the log, across compressed parts and the open file.
    let mut lines = 0;
    for name in &names {
        let bytes = std::fs::read(log_dir.join(name)).unwrap();
        let text = if name.ends_with(".zst") {
            String::from_utf8(zstd::decode_all(bytes.as_slice()).unwrap()).unwrap()
        } else {
            String::from_utf8(bytes).unwrap()
        };
        lines += text.lines().filter(|l| !l.contains(&yesterday)).count();
    }
    assert_eq!(lines, served);
    // The realised report reads compressed parts.
    let report = realised_report(&log_dir, dir.path());
    assert_eq!(report["log_lines"].as_u64(), Some(served as u64 + 1));
}

/// `lapse realised` on a score log against the fixture's book: the report.
fn realised_report(log_dir: &std::path::Path, work: &std::path::Path) -> Value {
    let out = work.join("realised.json");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_lapse"))
        .args(["realised", "--score-log"])
        .arg(log_dir)
        .arg("--data")
        .arg(&crate::common::fixture().book)
        .arg("--out")
        .arg(&out)
        .env("LAPSE_LOG", "warn")
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap()
}

/// A CA and a leaf for 127.0.0.1 it signed, as PEM: (ca, cert, key).
fn certificates(ca_name: &str) -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name = DistinguishedName::new();
    ca_params.distinguished_name.push(DnType::CommonName, ca_name);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap().signed_by(&key, &issuer).unwrap();
    (ca.pem(), leaf.pem(), key.serialize_pem())
}

fn tls_agent(ca_pem: &str) -> ureq::Agent {
    let certs: Vec<ureq::tls::Certificate<'static>> = ureq::tls::parse_pem(ca_pem.as_bytes())
        .filter_map(|item| match item {
            Ok(ureq::tls::PemItem::Certificate(cert)) => Some(cert),
            _ => None,
        })
        .collect();
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .tls_config(ureq::tls::TlsConfig::builder().root_certs(ureq::tls::RootCerts::new_with_certs(&certs)).build())
        .build()
        .into()
}

#[test]
fn https_serves_with_the_given_certificate_rereads_it_on_sighup_and_never_logs_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let models = models_copy(dir.path());
    let (ca, cert, key) = certificates("lapse test CA one");
    let (cert_path, key_path, ca_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"), dir.path().join("ca.pem"));
    std::fs::write(&cert_path, &cert).unwrap();
    std::fs::write(&key_path, &key).unwrap();
    std::fs::write(&ca_path, &ca).unwrap();
    let log = dir.path().join("server.log");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_lapse"))
        .args(["serve", "--addr", "127.0.0.1:0", "--workers", "2", "--no-score-log", "--no-store", "--tls-cert"])
        .arg(&cert_path)
        .arg("--tls-key")
        .arg(&key_path)
        .arg("--models")
        .arg(&models)
        .arg("--snapshot")
        .arg(&crate::common::fixture().snapshot)
        .env("LAPSE_SCORE_TOKEN", SCORE_TOKEN)
        .env("LAPSE_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("LAPSE_LOG", "debug")
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
    let base = line.trim().strip_prefix("listening on ").unwrap().to_string();
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");
    let mut server = crate::common::Server { child, base: base.clone() };

    let trusted = tls_agent(&ca);
    let (status, model) = get(&trusted, &format!("{base}/v1/models/current"), SCORE_TOKEN);
    assert_eq!(status, 200, "{model}");
    // Plain HTTP on the same port gets no answer, and a client that does not trust the CA fails.
    assert!(client().get(&format!("{}/healthz", base.replace("https://", "http://"))).call().is_err());
    let (other_ca, other_cert, other_key) = certificates("lapse test CA two");
    assert!(tls_agent(&other_ca).get(&format!("{base}/healthz")).call().is_err());

    // The nightly job's reload client reaches it over HTTPS with the private CA.
    let reloaded = lapse_nightly::reload_server(&base, ADMIN_TOKEN, &lapse_nightly::ReloadOptions { ca_file: Some(ca_path), ..Default::default() });
    assert!(reloaded.reloaded, "{reloaded:?}");

    // A renewed certificate (another CA), re-read on SIGHUP: new connections see it.
    std::fs::write(&cert_path, &other_cert).unwrap();
    std::fs::write(&key_path, &other_key).unwrap();
    // SAFETY: signals our own child process.
    #[allow(unsafe_code)]
    unsafe {
        libc::kill(server.child.id() as i32, libc::SIGHUP)
    };
    let renewed = tls_agent(&other_ca);
    let deadline = Instant::now() + Duration::from_secs(20);
    while renewed.get(&format!("{base}/healthz")).call().is_err() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let (status, _) = get(&renewed, &format!("{base}/v1/models/current"), SCORE_TOKEN);
    assert_eq!(status, 200, "the renewed certificate serves");
    assert!(server.stop().success());
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("TLS certificate reloaded"), "{logged}");
    for token in [SCORE_TOKEN, ADMIN_TOKEN] {
        assert!(!logged.contains(token), "a token reached the log");
    }
}

/// Connections are bounded (issue 22): a connection that sends nothing, or half its headers,
/// or idles after a response, is closed within the header timeout; past `--max-connections`
/// a new connection is closed at once while the server goes on answering the rest; SIGTERM
/// with a half-sent request open exits within the shutdown grace (well under 15 s).
#[test]
fn silent_half_sent_and_surplus_connections_are_closed_and_shutdown_is_bounded() {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    let dir = tempfile::tempdir().unwrap();
    let models = models_copy(dir.path());
    let flags: Vec<std::ffi::OsString> =
        ["--header-timeout-seconds", "1", "--max-connections", "6", "--shutdown-grace-seconds", "2"].iter().map(Into::into).collect();
    let flags: Vec<&std::ffi::OsStr> = flags.iter().map(|f| f.as_os_str()).collect();
    let mut server = start_server(&models, &dir.path().join("score-log"), &flags);
    let addr = server.base.trim_start_matches("http://").to_string();
    // Seconds until the server closes the connection (reads until EOF), at most `limit`.
    let closed_after = |mut stream: TcpStream, limit: u64| -> Option<f64> {
        let started = Instant::now();
        stream.set_read_timeout(Some(Duration::from_secs(limit))).unwrap();
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf) {
                Ok(0) => return Some(started.elapsed().as_secs_f64()),
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Some(started.elapsed().as_secs_f64()),
                Err(_) => return None,
            }
        }
    };
    let silent = TcpStream::connect(&addr).unwrap();
    let mut half = TcpStream::connect(&addr).unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").unwrap();
    let mut idle = TcpStream::connect(&addr).unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    for (what, stream) in [("silent", silent), ("half-sent", half), ("idle after a response", idle)] {
        let seconds = closed_after(stream, 8).unwrap_or_else(|| panic!("{what} connection still open after 8 s"));
        assert!(seconds < 4.0, "{what} connection closed after {seconds:.1} s (timeout 1 s)");
    }

    // Six connections held open; the seventh is closed as soon as it is accepted.
    let held: Vec<TcpStream> = (0..6).map(|_| TcpStream::connect(&addr).unwrap()).collect();
    std::thread::sleep(Duration::from_millis(200));
    let surplus = TcpStream::connect(&addr).unwrap();
    let seconds = closed_after(surplus, 5).expect("the surplus connection is closed");
    assert!(seconds < 0.9, "closed after {seconds:.2} s, before any timeout");
    drop(held);
    std::thread::sleep(Duration::from_millis(300));
    let agent = client();
    let (status, metrics) = get(&agent, &format!("{}/metrics", server.base), "");
    assert_eq!(status, 200);
    let text = metrics.as_str().unwrap();
    let refused: u64 =
        text.lines().find(|l| l.starts_with("lapse_connections_refused_total")).and_then(|l| l.split_whitespace().last()?.parse().ok()).unwrap_or(0);
    assert!(refused >= 1, "{text}");

    // SIGTERM with a half-sent request open (the header timeout is longer than the grace here
    // because the grace decides): the process is gone within the grace, not after 45 s.
    let mut server_long = {
        let flags: Vec<std::ffi::OsString> = ["--header-timeout-seconds", "60", "--shutdown-grace-seconds", "2"].iter().map(Into::into).collect();
        let flags: Vec<&std::ffi::OsStr> = flags.iter().map(|f| f.as_os_str()).collect();
        start_server(&models, &dir.path().join("score-log-2"), &flags)
    };
    let mut open = TcpStream::connect(server_long.base.trim_start_matches("http://")).unwrap();
    open.write_all(b"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"renew").unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let status = server_long.stop();
    let seconds = started.elapsed().as_secs_f64();
    assert!(status.success() && seconds < 15.0, "exit {status:?} after {seconds:.1} s");
    assert!(seconds < 6.0, "the 2 s grace should decide: {seconds:.1} s");
    drop(open);
    server.stop();
}

/// Disk bounded by configuration (issue 22): past the score log's total cap the oldest closed
/// parts are deleted (counted in a metric), and a token creates at most
/// `--max-campaigns-per-day` campaigns (then 429 with the JSON error; existing ones still served).
#[test]
fn the_score_log_keeps_to_its_total_cap_and_campaign_creation_is_capped_per_token() {
    let dir = tempfile::tempdir().unwrap();
    let models = models_copy(dir.path());
    let log_dir = dir.path().join("score-log");
    // 4 KiB parts, 16 KiB in all.
    let cap_gb = format!("{}", 16.0 * 1024.0 / 1_073_741_824.0);
    let campaigns = dir.path().join("campaigns");
    let flags: Vec<std::ffi::OsString> = [
        "--score-log-max-mb",
        "0.004",
        "--score-log-max-total-gb",
        &cap_gb,
        "--max-campaigns-per-day",
        "3",
        "--campaigns",
        campaigns.to_str().unwrap(),
    ]
    .iter()
    .map(Into::into)
    .collect();
    let flags: Vec<&std::ffi::OsStr> = flags.iter().map(|f| f.as_os_str()).collect();
    let mut server = start_server(&models, &log_dir, &flags);
    let agent = client();
    for _ in 0..40 {
        let (status, page) = get(&agent, &format!("{}/v1/queue?capacity=20&limit=20", server.base), SCORE_TOKEN);
        assert_eq!(status, 200, "{page}");
    }
    for n in 0..3 {
        let (status, page) = get(&agent, &format!("{}/v1/queue?capacity=20&limit=5&campaign=c{n}&holdout=0.2", server.base), SCORE_TOKEN);
        assert_eq!(status, 200, "{page}");
    }
    let (status, refused) = get(&agent, &format!("{}/v1/queue?capacity=20&limit=5&campaign=c3&holdout=0.2", server.base), SCORE_TOKEN);
    assert_eq!((status, refused["code"].as_str()), (429, Some("too_many_campaigns")), "{refused}");
    assert!(!campaigns.join("c3.json").exists());
    let (status, _) = get(&agent, &format!("{}/v1/queue?capacity=20&limit=5&campaign=c1&holdout=0.2", server.base), SCORE_TOKEN);
    assert_eq!(status, 200, "an existing campaign is still served");
    // Compression and the cap run beside the writer: give them a moment.
    let total = || -> u64 { std::fs::read_dir(&log_dir).unwrap().map(|e| e.unwrap().metadata().unwrap().len()).sum() };
    let deadline = Instant::now() + Duration::from_secs(20);
    while total() > 16 * 1024 + 4 * 1024 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let (_, metrics) = get(&agent, &format!("{}/metrics", server.base), "");
    let dropped: u64 = metrics
        .as_str()
        .unwrap()
        .lines()
        .find(|l| l.starts_with("lapse_score_log_dropped_bytes_total"))
        .and_then(|l| l.split_whitespace().last()?.parse().ok())
        .unwrap_or(0);
    assert!(dropped > 0, "parts were dropped: {metrics}");
    assert!(server.stop().success());
    // The cap (16 KiB) plus at most the open part (4 KiB) and the part being compressed.
    assert!(total() <= 16 * 1024 + 8 * 1024, "{} bytes on disk", total());
}

#[test]
fn an_acknowledged_outcome_survives_kill_9_and_applies_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let models = models_copy(dir.path());
    let store = format!("sqlite://{}", dir.path().join("outcomes.sqlite").display());
    let extra = [std::ffi::OsStr::new("--store"), std::ffi::OsStr::new(&store)];
    let mut server = start_server(&models, &dir.path().join("score-log"), &extra);
    let agent = client();
    let (status, list) = get(&agent, &format!("{}/v1/queue?capacity=50&limit=50", server.base), SCORE_TOKEN);
    assert_eq!(status, 200, "{list}");
    let first = &list["items"][0]["renewals"][0];
    let customer = first["customer_id"].as_str().unwrap().to_string();
    let at = format!("{}T09:30:00+08:00", first["as_of"].as_str().unwrap());
    let batch = json!({"outcomes": [{
        "id": "kill-9", "policy_id": first["policy_id"], "installment_no": first["installment_no"], "action": "call",
        "result": "do_not_contact", "at": at, "agent_id": "A7", "note": "请不要再打电话"
    }]});
    let (status, body) = post(&agent, &format!("{}/v1/outcomes", server.base), SCORE_TOKEN, &batch.to_string());
    assert_eq!((status, body), (200, json!({"recorded": 1, "duplicates": 0})));
    // SIGKILL right after the acknowledgement: nothing flushed on the way out.
    server.child.kill().unwrap();
    server.child.wait().unwrap();

    let server = start_server(&models, &dir.path().join("score-log-2"), &extra);
    let (status, history) = get(&agent, &format!("{}/v1/outcomes?customer_id={customer}", server.base), SCORE_TOKEN);
    assert_eq!(status, 200, "{history}");
    assert_eq!(history["outcomes"][0]["id"], "kill-9", "the acknowledged outcome is there: {history}");
    assert_eq!(history["outcomes"][0]["note"], "请不要再打电话");
    let (_, list) = get(&agent, &format!("{}/v1/queue?capacity=1000&limit=1000", server.base), SCORE_TOKEN);
    assert!(list["items"].as_array().unwrap().iter().all(|i| i["customer_id"] != customer.as_str()), "do not contact holds after the restart");
    assert!(list["held_back"]["do_not_contact"].as_u64().unwrap() >= 1, "{}", list["held_back"]);
    // The same outcome posted again is a duplicate.
    let (_, again) = post(&agent, &format!("{}/v1/outcomes", server.base), SCORE_TOKEN, &batch.to_string());
    assert_eq!(again, json!({"recorded": 0, "duplicates": 1}));
}
