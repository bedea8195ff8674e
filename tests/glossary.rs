//! The glossary holds: no string in the code uses a word `docs/glossary.md` lists under "Words
//! we do not use", and every page phrase table keeps to its terms (a zh-CN page says 相对流失降幅,
//! not 挽留率; 应缴, not 到期; 业务员, not 代理人).

use std::path::{Path, PathBuf};

/// The banned words of the glossary: the first cell of each row of its last table.
fn banned_words(root: &Path) -> Vec<(String, String)> {
    let glossary = std::fs::read_to_string(root.join("docs/glossary.md")).unwrap();
    let section = &glossary[glossary.find("## Words we do not use").expect("the glossary has its banned words")..];
    section
        .lines()
        .filter(|l| l.starts_with('|') && !l.starts_with("|---") && !l.contains("do not write"))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            (cells[0].to_string(), cells.get(1).unwrap_or(&"").to_string())
        })
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The quoted string literals of a line (good enough for the sources: no raw strings hold
/// Chinese text).
fn literals(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(start) = rest.find('"') {
        let after = &rest[start + 1..];
        let mut end = None;
        let mut escaped = false;
        for (i, c) in after.char_indices() {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => {
                    end = Some(i);
                    break;
                }
                _ => escaped = false,
            }
        }
        let Some(end) = end else { break };
        out.push(&after[..end]);
        rest = &after[end + 1..];
    }
    out
}

#[test]
fn no_string_in_the_code_uses_a_word_the_glossary_rules_out() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let banned = banned_words(root);
    assert!(banned.iter().any(|(w, _)| w == "挽留率"), "the glossary lists its banned words");
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    rust_files(&root.join("crates"), &mut files);
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            for literal in literals(line) {
                for (word, instead) in &banned {
                    if literal.contains(word.as_str()) {
                        found.push(format!("{}:{}: {word:?} in {literal:?} (write {instead})", file.strip_prefix(root).unwrap().display(), n + 1));
                    }
                }
            }
        }
    }
    assert!(found.is_empty(), "words the glossary rules out:\n{}", found.join("\n"));
}
