//! The commands, one per file: flags resolved into library calls and what to print. The
//! helpers here are the ones several commands share.

use crate::exit::Context;
use crate::exit::Failure;
use crate::exit::fail;

use lapse_core::dates::Day;
use lapse_core::dates::Step;
use lapse_core::dates::date_series;
use lapse_core::dates::now_utc_rfc3339;
use lapse_core::dates::parse_day;
use lapse_model::scoring::lang::Lang;
use lapse_reports::Context as PageContext;
use lapse_retention::Economics;

pub mod aggregates;
pub mod audit;
pub mod drift;
pub mod effect;
pub mod evaluate;
pub mod features;
pub mod funnel;
pub mod generate;
pub mod history;
pub mod models;
pub mod nightly;
pub mod outcomes;
pub mod performance;
pub mod persistency;
pub mod queue;
pub mod realised;
pub mod serve;
pub mod train;
pub mod uplift;
pub mod why;
pub mod winback;
pub mod winback_table;

/// Whether a person is watching: stderr is a terminal and NO_COLOR is not set (schedulers get
/// plain logs).
fn watched() -> bool {
    std::io::IsTerminal::is_terminal(&std::io::stderr()) && std::env::var_os("NO_COLOR").is_none()
}

/// A date in a flag that also takes other forms (`--as-of FROM..TO`); plain date flags are
/// parsed by clap ([`crate::flags::day`]).
fn day_arg(flag: &str, text: &str) -> Result<Day, Failure> {
    parse_day(text).ok_or_else(|| Failure::input(anyhow::anyhow!("--{flag} {text:?} is not a date (expected YYYY-MM-DD)")))
}

fn snapshot_dates(as_of: &str, every: &str) -> Result<Vec<Day>, Failure> {
    match as_of.split_once("..") {
        None => Ok(vec![day_arg("as-of", as_of)?]),
        Some((from, to)) => {
            let (from, to) = (day_arg("as-of", from)?, day_arg("as-of", to)?);
            if from > to {
                fail!("--as-of {as_of}: the range ends before it starts");
            }
            let step = Step::parse(every).map_err(|e| anyhow::anyhow!("--every: {e}"))?;
            Ok(date_series(from, to, step))
        }
    }
}

/// The page header of a report made by hand (`night` is what the report is about).
pub fn html_context(night: &str, lang: Lang) -> PageContext {
    PageContext { night: night.to_string(), generated_at: now_utc_rfc3339(), lang }
}

/// `--as-of`, or the extract date (the latest date the extract records).
pub fn as_of_or_extract_date(as_of: Option<Day>, book: &lapse_core::extract::Book) -> Result<Day, Failure> {
    match as_of {
        Some(day) => Ok(day),
        None => book.latest_observed.context("the extract records no date to take as the as-of date; give --as-of"),
    }
}

/// The economics of `--economics`, or the defaults.
pub fn economics_arg(path: Option<&std::path::Path>) -> Result<Economics, Failure> {
    Ok(match path {
        Some(path) => Economics::from_file(path)?,
        None => Economics::default(),
    })
}

/// A campaign file named by a flag (`lapse queue` wrote it): one that cannot be read is the
/// caller's input.
pub fn read_campaign_file(path: &std::path::Path) -> Result<lapse_retention::campaign::file::CampaignFile, Failure> {
    lapse_retention::campaign::read_campaign(path).map_err(|e| Failure::input(anyhow::Error::new(e)))
}

/// The contact rules of `--contact-rules FILE` (JSON, any subset of the settings), or the
/// documented defaults.
pub fn contact_rules_arg(path: Option<&std::path::Path>) -> Result<lapse_retention::contact::ContactRules, Failure> {
    let rules: lapse_retention::contact::ContactRules = match path {
        None => Default::default(),
        Some(path) => {
            let fail = |e: String| Failure::input(anyhow::anyhow!("--contact-rules {}: {e}", path.display()));
            let bytes = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
            if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("toml")) {
                // A lapse.toml: its [contact_rules] section (or the whole file when it is only rules).
                let text = String::from_utf8(bytes).map_err(|e| fail(e.to_string()))?;
                let mut table: toml::Table = toml::from_str(&text).map_err(|e| fail(e.to_string()))?;
                let section = table.remove("contact_rules").unwrap_or(toml::Value::Table(table));
                section.try_into().map_err(|e: toml::de::Error| fail(format!("[contact_rules] {e}")))?
            } else {
                serde_json::from_slice(&bytes).map_err(|e| fail(e.to_string()))?
            }
        }
    };
    rules.check()?;
    Ok(rules)
}

/// The audit thresholds of `--audit-thresholds FILE` (a lapse.toml's [audit] section, or a file
/// of that section alone), or the documented defaults.
pub fn audit_thresholds_arg(path: Option<&std::path::Path>) -> Result<lapse_core::audit::Thresholds, Failure> {
    let thresholds: lapse_core::audit::Thresholds = match path {
        None => Default::default(),
        Some(path) => {
            let fail = |e: String| Failure::input(anyhow::anyhow!("--audit-thresholds {}: {e}", path.display()));
            let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
            let mut table: toml::Table = toml::from_str(&text).map_err(|e| fail(e.to_string()))?;
            let section = table.remove("audit").unwrap_or(toml::Value::Table(table));
            section.try_into().map_err(|e: toml::de::Error| fail(format!("[audit] {e}")))?
        }
    };
    thresholds.validate().map_err(|e| Failure::input(anyhow::anyhow!(e)))?;
    Ok(thresholds)
}

/// Everything the outcome store holds for the reports: every recorded outcome, and every
/// stored campaign with its record.
pub(crate) fn read_store(url: &str) -> Result<StoreContents, Failure> {
    Ok(lapse_store::with_store_blocking(url, async |store| {
        let outcomes = store.recorded_since(0).await?;
        let mut campaigns = Vec::new();
        for name in store.campaign_names().await? {
            if let Some(found) = store.campaign(&name).await? {
                campaigns.push(found);
            }
        }
        Ok((outcomes, campaigns))
    })?)
}

/// The outcome store's outcomes and campaigns ([`read_store`]).
pub(crate) type StoreContents =
    (Vec<lapse_retention::outcomes::Outcome>, Vec<(lapse_retention::campaign::store::Record, lapse_retention::campaign::Campaign)>);
