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
    let layers: [(&str, &[&str]); 8] = [
        ("crates/core/Cargo.toml", &[]),
        ("crates/model/Cargo.toml", &["lapse-core"]),
        ("crates/retention/Cargo.toml", &["lapse-core", "lapse-model"]),
        ("crates/store/Cargo.toml", &["lapse-core", "lapse-retention"]),
        ("crates/reports/Cargo.toml", &["lapse-core", "lapse-model", "lapse-retention"]),
        ("crates/nightly/Cargo.toml", &["lapse-core", "lapse-model", "lapse-retention", "lapse-reports"]),
        ("crates/api/Cargo.toml", &["lapse-core", "lapse-model", "lapse-retention", "lapse-store", "lapse-reports"]),
        ("Cargo.toml", &["lapse-core", "lapse-model", "lapse-retention", "lapse-store", "lapse-reports", "lapse-nightly", "lapse-api"]),
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
    // The store is async by nature (sqlx on tokio), and nothing else: no web or CLI framework.
    let store = dependencies("crates/store/Cargo.toml", false);
    assert!(store.contains("sqlx") && !FRAMEWORKS.iter().filter(|f| **f != "tokio").any(|f| store.contains(*f)), "{store:?}");
    let api = dependencies("crates/api/Cargo.toml", false);
    assert!(api.contains("axum") && api.contains("utoipa") && !api.contains("clap") && !api.contains("anyhow"));
    let binary: BTreeSet<String> = dependencies("Cargo.toml", false).union(&dependencies("Cargo.toml", true)).cloned().collect();
    assert!(binary.contains("clap") && binary.contains("anyhow"));
    for web in ["axum", "tower", "tower-http", "utoipa"] {
        assert!(!binary.contains(web), "the binary depends on {web}: HTTP lives in lapse-api");
    }
}

/// The paths a `use` tree or a path expression names, from the text after `crate::` or
/// `super::`: `a::b::C` is one path, `{a::B, c::{D, e}}` is several (grouped imports count).
fn paths_from(rest: &str) -> Vec<Vec<String>> {
    let rest = rest.trim_start();
    if let Some(inner) = rest.strip_prefix('{') {
        // The group up to its closing brace, split at top-level commas.
        let (mut depth, mut end) = (1usize, inner.len());
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i;
                        break;
                    }
                }
                _ => {}
            }
        }
        let group = &inner[..end];
        let (mut parts, mut depth, mut start) = (Vec::new(), 0usize, 0usize);
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    parts.push(&group[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        parts.push(&group[start..]);
        return parts.into_iter().filter(|p| !p.trim().is_empty()).flat_map(paths_from).collect();
    }
    let head: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':').collect();
    let segments: Vec<String> = head.split("::").filter(|s| !s.is_empty()).map(str::to_string).collect();
    // `a::b::{C, d}`: the group continues the path.
    let after = &rest[head.len()..];
    if head.ends_with("::") && after.starts_with('{') {
        return paths_from(after).into_iter().map(|tail| segments.iter().cloned().chain(tail).collect()).collect();
    }
    vec![segments]
}

/// The modules of a crate (`a::b` for `src/a/b.rs` or `src/a/b/mod.rs`; the crate root,
/// `lib.rs` or `main.rs`, is the empty path) and the modules each one's code refers to
/// (`crate::...` and `super::...` paths, grouped imports expanded; the root's `module::...`
/// paths; an item of the root is the empty path), tests left out.
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
    let is_module = |target: &[String]| {
        let base = src.join(target.join("/"));
        base.with_extension("rs").is_file() || base.join("mod.rs").is_file()
    };
    let mut out = Vec::new();
    for file in files {
        let relative = file.strip_prefix(src).unwrap().with_extension("");
        let mut module: Vec<String> = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
        if matches!(module.last().map(String::as_str), Some("tests" | "testkit")) {
            continue;
        }
        if matches!(module.last().map(String::as_str), Some("mod" | "lib")) || module == ["main"] {
            module.pop();
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap();
        let code: String = code.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
        let mut targets = Vec::new();
        let mut starts: Vec<(usize, bool)> = code.match_indices("crate::").map(|(i, _)| (i, true)).collect();
        starts.extend(code.match_indices("super::").map(|(i, _)| (i, false)));
        for (start, from_crate) in starts {
            if start > 0 && (code.as_bytes()[start - 1].is_ascii_alphanumeric() || code.as_bytes()[start - 1] == b'_') {
                continue;
            }
            let skip = if from_crate { "crate::".len() } else { "super::".len() };
            for path in paths_from(&code[start + skip..]) {
                let mut target: Vec<String> = if from_crate {
                    Vec::new()
                } else {
                    // `super` from `a/b.rs` is `a`; from `a/b/mod.rs` (module `a::b`) it is `a` too.
                    module[..module.len().saturating_sub(1)].to_vec()
                };
                target.extend(path.into_iter().filter(|s| s.chars().next().is_some_and(|c| c.is_ascii_lowercase())));
                // The longest prefix that is a module file; none: an item of the root.
                while !target.is_empty() && !is_module(&target) {
                    target.pop();
                }
                targets.push(target);
            }
        }
        // The root names its modules without `crate::` (`use api::AppState`, `api::run(..)`).
        if module.is_empty() {
            let declared: Vec<&str> = code
                .lines()
                .filter_map(|l| l.trim().trim_start_matches("pub ").trim_start_matches("pub(crate) ").strip_prefix("mod "))
                .map(|l| l.trim_end_matches(';').trim())
                .collect();
            for name in declared {
                let needle = format!("{name}::");
                let used = code.match_indices(&needle).any(|(i, _)| {
                    let before = code[..i].chars().last();
                    before.is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                });
                if used {
                    targets.push(vec![name.to_string()]);
                }
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
    let mut found_any = Vec::new();
    for src in [
        "crates/core/src",
        "crates/model/src",
        "crates/retention/src",
        "crates/store/src",
        "crates/reports/src",
        "crates/nightly/src",
        "crates/api/src",
        "src",
    ] {
        let references = module_references(&Path::new(env!("CARGO_MANIFEST_DIR")).join(src));
        for top_level in [true, false] {
            // The root is `crate`: it and its modules may not need each other either (a root
            // holds declarations and re-exports, and nothing its modules import back).
            let name = |m: &[String]| {
                if m.is_empty() {
                    "crate".to_string()
                } else if top_level {
                    m[0].clone()
                } else {
                    m.join("::")
                }
            };
            let mut edges = BTreeSet::new();
            for (module, targets) in &references {
                for target in targets {
                    let (a, b) = (name(module), name(target));
                    let nested = a != "crate" && b != "crate" && (a.starts_with(&format!("{b}::")) || b.starts_with(&format!("{a}::")));
                    if a != b && !nested {
                        edges.insert((a, b));
                    }
                }
            }
            for group in cycles(&edges) {
                let edges: Vec<String> =
                    edges.iter().filter(|(a, b)| group.contains(a) && group.contains(b)).map(|(a, b)| format!("{a} -> {b}")).collect();
                found_any.push(format!("{src}: modules that import each other: {group:?} ({})", edges.join(", ")));
            }
        }
    }
    found_any.dedup();
    assert!(found_any.is_empty(), "{}", found_any.join("\n"));
}

/// ARCHITECTURE.md names every module of every crate (its code map has a section per crate:
/// `### lapse-core`, ...; the binary's is `### lapse (the binary)`): a module is named by its
/// path (`features::history`), its own name or its file, in backticks.
#[test]
fn the_architecture_names_every_module() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let section = |heading: &str| -> String {
        let start = doc.find(&format!("### {heading}")).unwrap_or_else(|| panic!("ARCHITECTURE.md has no section ### {heading}"));
        let rest = &doc[start + 4..];
        rest[..rest.find("\n### ").or_else(|| rest.find("\n## ")).unwrap_or(rest.len())].to_string()
    };
    let mut missing = Vec::new();
    for (src, heading) in [
        ("crates/core/src", "lapse-core"),
        ("crates/model/src", "lapse-model"),
        ("crates/retention/src", "lapse-retention"),
        ("crates/store/src", "lapse-store"),
        ("crates/reports/src", "lapse-reports"),
        ("crates/nightly/src", "lapse-nightly"),
        ("crates/api/src", "lapse-api"),
        ("src", "lapse (the binary)"),
    ] {
        let text = section(heading);
        for (module, _) in module_references(&root.join(src)) {
            if module.is_empty() {
                continue;
            }
            // `features::history`, `history`, `features/history.rs`, or the start of a path in
            // backticks (`history::PolicyHistory::at`, `mod.rs` files as `api/mod.rs`).
            let candidates =
                [module.join("::"), module.last().unwrap().clone(), format!("{}.rs", module.join("/")), format!("{}/mod.rs", module.join("/"))];
            let named = candidates.iter().any(|name| {
                text.match_indices(&format!("`{name}")).any(|(i, m)| text[i + m.len()..].starts_with(['`', ':', '(']) || name.ends_with(".rs"))
            });
            if !named {
                missing.push(format!("{heading}: {}", module.join("::")));
            }
        }
    }
    missing.sort();
    assert!(missing.is_empty(), "ARCHITECTURE.md does not name these modules:\n{}", missing.join("\n"));
}
