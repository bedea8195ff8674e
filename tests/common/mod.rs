//! Helpers shared by the integration tests: the books, readers and fixture of the crates'
//! testkits, built once per test binary under this binary's temp dir.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

pub use lapse_core::testkit::*;
pub use lapse_model::testkit::ServeFixture;

/// Tokens the test servers accept.
pub const SCORE_TOKEN: &str = "score-token-for-tests";
pub const ADMIN_TOKEN: &str = "admin-token-for-tests";

/// A directory built once per test binary (see [`lapse_core::testkit::built_once`]).
pub fn built_once_here(prefix: &str, build: impl FnOnce(&Path)) -> PathBuf {
    built_once(Path::new(env!("CARGO_TARGET_TMPDIR")), prefix, build)
}

/// The serving fixture (a book, its snapshot, a registry with a champion), built once.
pub fn fixture() -> &'static ServeFixture {
    static FIXTURE: std::sync::OnceLock<ServeFixture> = std::sync::OnceLock::new();
    FIXTURE.get_or_init(|| ServeFixture::at(&built_once_here("serve-fixture", |dir| ServeFixture::at(dir).build())))
}

/// A copy of the fixture's registry that a test may change.
pub fn models_copy(into: &Path) -> PathBuf {
    fixture().models_copy(into)
}

/// A `lapse serve` process on a free port of 127.0.0.1, killed when dropped.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Server {
    /// SIGTERM, then waits: a clean stop drains and syncs the score log.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        // SAFETY: signals our own child process.
        #[allow(unsafe_code)]
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM)
        };
        self.child.wait().expect("wait for lapse serve")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the real binary on the fixture's snapshot with `models`, `score_log` and `extra` flags.
pub fn start_server(models: &std::path::Path, score_log: &std::path::Path, extra: &[&std::ffi::OsStr]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lapse"))
        .args(["serve", "--addr", "127.0.0.1:0", "--workers", "2"])
        .arg("--models")
        .arg(models)
        .arg("--snapshot")
        .arg(&fixture().snapshot)
        .arg("--score-log")
        .arg(score_log)
        .arg("--store")
        .arg(format!("sqlite://{}", score_log.with_extension("store.sqlite").display()))
        .args(extra)
        .env("LAPSE_SCORE_TOKEN", SCORE_TOKEN)
        .env("LAPSE_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("LAPSE_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start lapse serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let base = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected first line {line:?}")).to_string();
    Server { child, base }
}

pub fn client() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).timeout_global(Some(Duration::from_secs(30))).build().into()
}

pub fn post(agent: &ureq::Agent, url: &str, token: &str, body: &str) -> (u16, Value) {
    let mut response =
        agent.post(url).header("Authorization", &format!("Bearer {token}")).content_type("application/json").send(body).expect("a response");
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// The renewals of a work-list page, contact by contact.
pub fn renewals(page: &Value) -> Vec<Value> {
    page["items"].as_array().unwrap().iter().flat_map(|c| c["renewals"].as_array().unwrap().iter().cloned()).collect()
}

pub fn get(agent: &ureq::Agent, url: &str, token: &str) -> (u16, Value) {
    let mut response = agent.get(url).header("Authorization", &format!("Bearer {token}")).call().expect("a response");
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}
