//! Helpers shared by the integration tests: the books, readers and fixture of the crates'
//! testkits, built once per test binary under this binary's temp dir.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

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
