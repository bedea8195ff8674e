//! Layered configuration for `lapse serve` and `lapse nightly`: built-in defaults < a TOML file
//! (`--config lapse.toml`: a path ending in `.toml`, since `lapse nightly --config params.json`
//! keeps naming the trainer's parameters; sections `[serve]` and `[nightly]`, keys named as the flags with
//! `_`) < the environment (`LAPSE_SERVE_<FLAG>`, `LAPSE_NIGHTLY_<FLAG>`) < command-line flags.
//!
//! `[contact_rules]` (the work list's contact rules, a nested table) is not a flag: when the
//! file has it, `--contact-rules FILE.toml` is placed before the user's flags (a command that
//! takes rules then reads that section of the same file). `[audit]` (the data-quality audit's
//! thresholds) likewise becomes `--audit-thresholds FILE.toml`.
//!
//! Done by turning the file and the environment into flags placed before the command line's,
//! with clap told that a later flag overrides an earlier one: one parser, one set of checks,
//! and `lapse config show` reports where each effective value came from. Secrets never come
//! from the file (a key naming a token is refused): tokens come from files or the environment.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::Path;

use clap::CommandFactory;

use crate::exit::Failure;
use crate::flags::Cli;

/// The commands that take a configuration file.
pub const LAYERED: [&str; 2] = ["serve", "nightly"];

/// The file's sections: one per layered command, and the contact rules.
const SECTIONS: [&str; 4] = ["serve", "nightly", "contact_rules", "audit"];

/// Where an effective value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Default,
    File,
    Env(String),
    Flag,
}

/// The command line with the file's and the environment's values placed before the user's
/// flags, and each flag's source. Untouched for commands without layering. A file that cannot
/// be used is the caller's input (exit 2, as a bad flag).
pub fn layered(argv: Vec<OsString>) -> Result<(Vec<OsString>, BTreeMap<String, Source>), Failure> {
    layer(argv).map_err(|failure| Failure { input: true, ..failure })
}

fn layer(argv: Vec<OsString>) -> Result<(Vec<OsString>, BTreeMap<String, Source>), Failure> {
    let Some(sub) = argv.get(1).and_then(|a| a.to_str()).filter(|s| LAYERED.contains(s)).map(str::to_string) else {
        return Ok((argv, BTreeMap::new()));
    };
    let mut user: Vec<OsString> = argv[2..].to_vec();
    // `--config FILE.toml` (or `--config=FILE.toml`) is ours. Any other `--config` is the
    // command's own (`lapse nightly --config params.json`: the trainer's parameters).
    let is_toml = |path: &str| path.to_ascii_lowercase().ends_with(".toml");
    let mut file = None;
    let mut i = 0;
    while i < user.len() {
        let text = user[i].to_string_lossy().into_owned();
        let next = user.get(i + 1).map(|a| a.to_string_lossy().into_owned());
        if text == "--config" && next.as_deref().is_some_and(is_toml) {
            file = Some(user[i + 1].clone());
            user.drain(i..i + 2);
        } else if let Some(path) = text.strip_prefix("--config=").filter(|p| is_toml(p)) {
            file = Some(OsString::from(path));
            user.remove(i);
        } else {
            i += 1;
        }
    }
    let command = Cli::command();
    let args = command.find_subcommand(&sub).expect("a layered subcommand exists").get_arguments().cloned().collect::<Vec<_>>();
    let known: BTreeMap<String, &clap::Arg> = args.iter().filter_map(|a| a.get_long().map(|l| (l.replace('-', "_"), a))).collect();
    let flag_of = |key: &str| format!("--{}", key.replace('_', "-"));
    let takes_value = |arg: &clap::Arg| arg.get_action().takes_values();
    let mut sources: BTreeMap<String, Source> = known.keys().map(|k| (k.clone(), Source::Default)).collect();
    let mut front: Vec<OsString> = Vec::new();

    if let Some(path) = &file {
        let path = Path::new(path);
        let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("--config {}: {e}", path.display()))?;
        let table: toml::Table = toml::from_str(&text).map_err(|e| anyhow::anyhow!("--config {}: {e}", path.display()))?;
        if let Some((section, _)) = table.iter().find(|(s, _)| !SECTIONS.contains(&s.as_str())) {
            return Err(anyhow::anyhow!(
                "--config {}: unknown section [{section}] (sections: [serve], [nightly], [contact_rules], [audit])",
                path.display()
            )
            .into());
        }
        if table.contains_key("contact_rules") && known.contains_key("contact_rules") {
            front.push("--contact-rules".into());
            front.push(path.as_os_str().to_owned());
            sources.insert("contact_rules".into(), Source::File);
        }
        if table.contains_key("audit") && known.contains_key("audit_thresholds") {
            front.push("--audit-thresholds".into());
            front.push(path.as_os_str().to_owned());
            sources.insert("audit_thresholds".into(), Source::File);
        }
        if let Some(values) = table.get(&sub) {
            let values = values.as_table().ok_or_else(|| anyhow::anyhow!("--config {}: [{sub}] must be a table", path.display()))?;
            for (key, value) in values {
                if key.contains("token") && !key.ends_with("_file") {
                    return Err(anyhow::anyhow!(
                        "--config {}: [{sub}] {key}: secrets are not read from the configuration file; give a token file ({key}_file) or the environment",
                        path.display()
                    )
                    .into());
                }
                let Some(arg) = known.get(key.as_str()) else {
                    let keys: Vec<&str> = known.keys().map(String::as_str).collect();
                    return Err(anyhow::anyhow!("--config {}: [{sub}] has no setting {key:?} (settings: {})", path.display(), keys.join(", ")).into());
                };
                let rendered = match value {
                    toml::Value::String(s) => Some(s.clone()),
                    toml::Value::Integer(n) => Some(n.to_string()),
                    toml::Value::Float(x) => Some(x.to_string()),
                    toml::Value::Boolean(b) if !takes_value(arg) => {
                        if *b {
                            front.push(flag_of(key).into());
                            sources.insert(key.clone(), Source::File);
                        }
                        continue;
                    }
                    other => return Err(anyhow::anyhow!("--config {}: [{sub}] {key} = {other:?}: give a string or a number", path.display()).into()),
                };
                front.push(flag_of(key).into());
                front.extend(rendered.map(OsString::from));
                sources.insert(key.clone(), Source::File);
            }
        }
    }
    for (key, arg) in &known {
        let var = format!("LAPSE_{}_{}", sub.to_ascii_uppercase(), key.to_ascii_uppercase());
        let Ok(value) = std::env::var(&var) else { continue };
        if key.contains("token") && !key.ends_with("_file") {
            continue;
        }
        if takes_value(arg) {
            front.push(flag_of(key).into());
            front.push(value.into());
        } else if matches!(value.as_str(), "1" | "true" | "yes") {
            front.push(flag_of(key).into());
        } else {
            continue;
        }
        sources.insert(key.clone(), Source::Env(var));
    }
    for arg in &user {
        let text = arg.to_string_lossy();
        if let Some(name) = text.strip_prefix("--") {
            let key = name.split('=').next().unwrap_or(name).replace('-', "_");
            if sources.contains_key(&key) {
                sources.insert(key, Source::Flag);
            }
        }
    }
    let mut out = vec![argv[0].clone(), argv[1].clone()];
    out.extend(front);
    out.extend(user);
    Ok((out, sources))
}

/// `lapse config show SUB [--config FILE] [flags]`: every setting of `serve` or `nightly`, its
/// effective value and where it came from.
pub fn show(argv: Vec<OsString>) -> Result<(), Failure> {
    let Some(sub) = argv.get(3).and_then(|a| a.to_str()).filter(|s| LAYERED.contains(s)).map(str::to_string) else {
        return Err(anyhow::anyhow!("usage: lapse config show serve|nightly [--config FILE] [flags]").into());
    };
    let mut inner = vec![argv[0].clone(), OsString::from(&sub)];
    inner.extend(argv[4..].iter().cloned());
    let (layered_argv, sources) = layered(inner)?;
    let matches = Cli::command().args_override_self(true).try_get_matches_from(&layered_argv).map_err(|e| anyhow::anyhow!("{e}"))?;
    let (_, sub_matches) = matches.subcommand().expect("a subcommand");
    println!("# lapse {sub}: effective settings (defaults < --config file < LAPSE_{}_* < flags)", sub.to_ascii_uppercase());
    for (key, source) in &sources {
        let value = sub_matches
            .get_raw(key)
            .map(|values| values.map(|v| v.to_string_lossy().into_owned()).collect::<Vec<_>>().join(","))
            .unwrap_or_else(|| match sub_matches.get_flag_opt(key) {
                Some(true) => "true".into(),
                Some(false) => "false".into(),
                None => "(none)".into(),
            });
        let from = match source {
            Source::Default => "default".to_string(),
            Source::File => "file".to_string(),
            Source::Env(var) => format!("env {var}"),
            Source::Flag => "flag".to_string(),
        };
        println!("{key} = {value}  # {from}");
    }
    if let Ok(Some(path)) = sub_matches.try_get_one::<std::path::PathBuf>("contact_rules") {
        print_rules(Some(path))?;
    } else if sub_matches.try_get_one::<std::path::PathBuf>("contact_rules").is_ok() {
        print_rules(None)?;
    }
    Ok(())
}

/// The effective contact rules as the `[contact_rules]` section that gives them.
fn print_rules(path: Option<&std::path::PathBuf>) -> Result<(), Failure> {
    let rules = crate::commands::contact_rules_arg(path.map(|p| p.as_path()))?;
    let from = path.map_or("defaults".to_string(), |p| p.display().to_string());
    // Written out by hand: five keys, and the toml crate is built without its writer.
    let list = |items: &[String]| items.iter().map(|i| format!("{i:?}")).collect::<Vec<_>>().join(", ");
    println!("\n# the contact rules in force ({from})\n[contact_rules]");
    println!("refused_days = {}", rules.refused_days);
    println!("promise_grace_days = {}", rules.promise_grace_days);
    println!("refusal_reasons = [{}]", list(&rules.refusal_reasons));
    println!("orphan_actions = [{}]", list(&rules.orphan_actions));
    println!("[contact_rules.caps]");
    for (action, cap) in &rules.caps {
        println!("{action} = {{ max = {}, days = {} }}", cap.max, cap.days);
    }
    Ok(())
}

trait FlagOpt {
    fn get_flag_opt(&self, id: &str) -> Option<bool>;
}

impl FlagOpt for clap::ArgMatches {
    fn get_flag_opt(&self, id: &str) -> Option<bool> {
        self.try_get_one::<bool>(id).ok().flatten().copied()
    }
}
