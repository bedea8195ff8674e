//! The architecture as the crates' manifests declare it (ARCHITECTURE.md): which crate may
//! depend on which, and that framework crates stay in their layer. The compiler enforces what
//! a crate can import from these declarations; this test keeps the declarations honest.

use std::collections::BTreeSet;
use std::path::Path;

/// The dependency names of a manifest's `[dependencies]` (`dev = false`) or
/// `[dev-dependencies]` (`dev = true`) section.
fn dependencies(manifest: &str, dev: bool) -> BTreeSet<String> {
    let wanted = if dev { "[dev-dependencies]" } else { "[dependencies]" };
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(manifest)).unwrap();
    let mut section = "";
    let mut names = BTreeSet::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line;
        } else if section == wanted && !line.is_empty() && !line.starts_with('#') {
            let name = line.split(['.', '=', ' ']).next().unwrap();
            names.insert(name.to_string());
        }
    }
    names
}

const FRAMEWORKS: [&str; 7] = ["axum", "tokio", "tower", "tower-http", "utoipa", "clap", "anyhow"];

#[test]
fn each_crate_depends_only_on_the_layers_below_it() {
    let layers: [(&str, &[&str]); 6] = [
        ("crates/core/Cargo.toml", &[]),
        ("crates/model/Cargo.toml", &["lapse-core"]),
        ("crates/reports/Cargo.toml", &["lapse-core", "lapse-model"]),
        ("crates/nightly/Cargo.toml", &["lapse-core", "lapse-model", "lapse-reports"]),
        ("crates/api/Cargo.toml", &["lapse-core", "lapse-model"]),
        ("Cargo.toml", &["lapse-core", "lapse-model", "lapse-reports", "lapse-nightly", "lapse-api"]),
    ];
    for (manifest, allowed) in layers {
        for dev in [false, true] {
            let ours: Vec<String> = dependencies(manifest, dev).into_iter().filter(|d| d.starts_with("lapse-")).collect();
            for dependency in &ours {
                assert!(allowed.contains(&dependency.as_str()), "{manifest} depends on {dependency}, a layer it may not use");
            }
        }
    }
}

#[test]
fn framework_crates_stay_in_their_layer() {
    for manifest in ["crates/core/Cargo.toml", "crates/model/Cargo.toml", "crates/reports/Cargo.toml", "crates/nightly/Cargo.toml"] {
        for dev in [false, true] {
            let deps = dependencies(manifest, dev);
            for framework in FRAMEWORKS {
                assert!(!deps.contains(framework), "{manifest} depends on {framework}: frameworks stay in the api crate and the binary");
            }
        }
    }
    let api = dependencies("crates/api/Cargo.toml", false);
    assert!(api.contains("axum") && api.contains("utoipa") && !api.contains("clap") && !api.contains("anyhow"));
    let binary: BTreeSet<String> = dependencies("Cargo.toml", false).union(&dependencies("Cargo.toml", true)).cloned().collect();
    assert!(binary.contains("clap") && binary.contains("anyhow"));
    for web in ["axum", "tower", "tower-http", "utoipa"] {
        assert!(!binary.contains(web), "the binary depends on {web}: HTTP lives in lapse-api");
    }
}
