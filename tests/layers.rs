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
    let layers: [(&str, &[&str]); 7] = [
        ("crates/core/Cargo.toml", &[]),
        ("crates/model/Cargo.toml", &["lapse-core"]),
        ("crates/retention/Cargo.toml", &["lapse-core", "lapse-model"]),
        ("crates/reports/Cargo.toml", &["lapse-core", "lapse-model", "lapse-retention"]),
        ("crates/nightly/Cargo.toml", &["lapse-core", "lapse-model", "lapse-retention", "lapse-reports"]),
        ("crates/api/Cargo.toml", &["lapse-core", "lapse-model", "lapse-retention"]),
        ("Cargo.toml", &["lapse-core", "lapse-model", "lapse-retention", "lapse-reports", "lapse-nightly", "lapse-api"]),
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
    for manifest in
        ["crates/core/Cargo.toml", "crates/model/Cargo.toml", "crates/retention/Cargo.toml", "crates/reports/Cargo.toml", "crates/nightly/Cargo.toml"]
    {
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

/// The modules of a crate (`a::b` for `src/a/b.rs` or `src/a/b/mod.rs`) and the modules each
/// one's code refers to (`crate::...` and `super::...` paths, tests left out).
fn module_references(src: &Path) -> Vec<(Vec<String>, Vec<Vec<String>>)> {
    fn walk(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, files);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(src, &mut files);
    let mut out = Vec::new();
    for file in files {
        let relative = file.strip_prefix(src).unwrap().with_extension("");
        let mut module: Vec<String> = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
        if matches!(module.last().map(String::as_str), Some("tests" | "testkit")) {
            continue;
        }
        let is_mod_file = matches!(module.last().map(String::as_str), Some("mod" | "lib"));
        if is_mod_file {
            module.pop();
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap();
        let code: String = code.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
        let mut targets = Vec::new();
        for (start, _) in code.match_indices("crate::").chain(code.match_indices("super::")) {
            if start > 0 && code.as_bytes()[start - 1].is_ascii_alphanumeric() {
                continue;
            }
            let rest = &code[start..];
            let path: Vec<&str> = rest.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':')).next().unwrap().split("::").collect();
            let mut target: Vec<String> = if path[0] == "crate" {
                Vec::new()
            } else {
                // `super` from `a/b.rs` is `a`; from `a/b/mod.rs` (module `a::b`) it is `a` too.
                module[..module.len().saturating_sub(1)].to_vec()
            };
            target.extend(path[1..].iter().filter(|s| !s.is_empty() && s.chars().next().unwrap().is_ascii_lowercase()).map(|s| s.to_string()));
            // The longest prefix that is a module file.
            while !target.is_empty() {
                let base = src.join(target.join("/"));
                if base.with_extension("rs").is_file() || base.join("mod.rs").is_file() {
                    break;
                }
                target.pop();
            }
            if !target.is_empty() {
                targets.push(target);
            }
        }
        out.push((module, targets));
    }
    out
}

/// Strongly connected groups of more than one module in a graph of module names.
fn cycles(edges: &BTreeSet<(String, String)>) -> Vec<BTreeSet<String>> {
    let nodes: BTreeSet<&String> = edges.iter().flat_map(|(a, b)| [a, b]).collect();
    let reaches = |from: &String| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.clone()];
        while let Some(n) = todo.pop() {
            for (a, b) in edges {
                if *a == n && seen.insert(b.clone()) {
                    todo.push(b.clone());
                }
            }
        }
        seen
    };
    let mut groups: Vec<BTreeSet<String>> = Vec::new();
    for node in nodes {
        let group: BTreeSet<String> =
            reaches(node).into_iter().filter(|other| other != node && reaches(other).contains(node)).chain([node.clone()]).collect();
        if group.len() > 1 && !groups.contains(&group) {
            groups.push(group);
        }
    }
    groups
}

/// No two modules of a crate need each other, at either level: top-level modules (`train`,
/// `artifact`, ...) and every module with its own file (`features::catalog`, ...). A parent
/// and its children are one unit and may refer to each other.
#[test]
fn no_module_imports_form_a_cycle() {
    for src in ["crates/core/src", "crates/model/src", "crates/retention/src", "crates/reports/src", "crates/nightly/src", "crates/api/src", "src"] {
        let references = module_references(&Path::new(env!("CARGO_MANIFEST_DIR")).join(src));
        for top_level in [true, false] {
            let name = |m: &[String]| if top_level { m.first().cloned().unwrap_or_default() } else { m.join("::") };
            let mut edges = BTreeSet::new();
            for (module, targets) in &references {
                for target in targets {
                    let (a, b) = (name(module), name(target));
                    let related = a.is_empty() || b.is_empty() || a == b || a.starts_with(&format!("{b}::")) || b.starts_with(&format!("{a}::"));
                    if !related {
                        edges.insert((a, b));
                    }
                }
            }
            let found = cycles(&edges);
            assert!(found.is_empty(), "{src}: modules that import each other: {found:?}");
        }
    }
}
