//! Helpers shared by the integration tests: hand-written books and reading outputs back.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

/// A directory built once per test binary and shared by its test processes (nextest runs each
/// test in its own process): kept under the target's temp dir, keyed by the test binary's size
/// and mtime (a rebuilt binary builds afresh; a stale one is never reused). It is built aside
/// and renamed into place, so a concurrent process either wins the rename or finds the finished
/// one; copies made for older test binaries are removed. Tests must not change it.
pub fn built_once(prefix: &str, build: impl FnOnce(&Path)) -> PathBuf {
    let exe = fs::metadata(std::env::current_exe().unwrap()).unwrap();
    let stamp = exe.modified().unwrap().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let root = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let name = format!("{prefix}-{stamp:x}-{:x}", exe.len());
    let dir = root.join(&name);
    if !dir.join(".done").exists() {
        let building = root.join(format!("{name}.building-{}", std::process::id()));
        let _ = fs::remove_dir_all(&building);
        fs::create_dir_all(&building).unwrap();
        build(&building);
        fs::write(building.join(".done"), b"").unwrap();
        if fs::rename(&building, &dir).is_err() {
            let _ = fs::remove_dir_all(&building);
        }
        for entry in fs::read_dir(root).unwrap().flatten() {
            let other = entry.file_name().to_string_lossy().into_owned();
            if other.starts_with(&format!("{prefix}-")) && !other.starts_with(&name) {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
    }
    dir
}

pub use lapse_core::testkit::*;
