//! The campaign file: one row per listed renewal, CSV or Parquet by extension, written
//! atomically (a temp file renamed into place). Parquet files also carry the settings as
//! key-value metadata (`lapse.campaign`).
//!
//! Columns: campaign, as_of, rank, customer_id, policy_id, installment_no, due_date, action, arm,
//! probability, value_at_risk, expected_gain, segment, channel, product_type, region, agent_id,
//! model_version.

use std::path::{Path, PathBuf};

use polars::prelude::*;

use super::{Arm, Campaign, CampaignRow};
use lapse_core::dates::{Day, format_day, parse_day};
use lapse_core::features::{WriteError, write_frames};
use lapse_core::table::read_frame;

/// The columns of a campaign file, in order.
pub const COLUMNS: [&str; 18] = [
    "campaign",
    "as_of",
    "rank",
    "customer_id",
    "policy_id",
    "installment_no",
    "due_date",
    "action",
    "arm",
    "probability",
    "value_at_risk",
    "expected_gain",
    "segment",
    "channel",
    "product_type",
    "region",
    "agent_id",
    "model_version",
];

/// A campaign file that cannot be read or written: the file, the row (1-based, as a spreadsheet
/// counts data rows) and column when one is to blame, and why.
#[derive(Debug, thiserror::Error)]
#[error("{}{}: {message}", path.display(), at.as_ref().map(|(row, column)| format!(": row {row}, column {column}")).unwrap_or_default())]
pub struct CampaignFileError {
    pub path: PathBuf,
    pub at: Option<(usize, String)>,
    pub message: String,
}

fn frame(campaign: &Campaign) -> PolarsResult<DataFrame> {
    let rows = &campaign.rows;
    let s = &campaign.settings;
    let n = rows.len();
    let dates = |name: &str, values: Vec<i32>| Int32Chunked::from_vec(name.into(), values).into_date().into_column();
    let text = |name: &str, f: &dyn Fn(&CampaignRow) -> Option<&str>| Column::new(name.into(), rows.iter().map(f).collect::<Vec<_>>());
    let columns = vec![
        Column::new("campaign".into(), vec![s.name.as_str(); n]),
        dates("as_of", vec![s.as_of; n]),
        Column::new("rank".into(), rows.iter().map(|r| r.rank).collect::<Vec<_>>()),
        text("customer_id", &|r| r.customer_id.as_deref()),
        text("policy_id", &|r| Some(&r.policy_id)),
        Column::new("installment_no".into(), rows.iter().map(|r| r.installment_no).collect::<Vec<_>>()),
        dates("due_date", rows.iter().map(|r| r.due_date).collect()),
        text("action", &|r| Some(&r.action)),
        text("arm", &|r| Some(r.arm.as_str())),
        Column::new("probability".into(), rows.iter().map(|r| r.probability).collect::<Vec<_>>()),
        Column::new("value_at_risk".into(), rows.iter().map(|r| r.value_at_risk).collect::<Vec<_>>()),
        Column::new("expected_gain".into(), rows.iter().map(|r| r.expected_gain).collect::<Vec<_>>()),
        text("segment", &|r| Some(&r.segment)),
        text("channel", &|r| r.channel.as_deref()),
        text("product_type", &|r| r.product_type.as_deref()),
        text("region", &|r| r.region.as_deref()),
        text("agent_id", &|r| r.agent_id.as_deref()),
        Column::new("model_version".into(), vec![s.model_version.as_str(); n]),
    ];
    DataFrame::new(n, columns)
}

/// Writes `campaign` to `path` (.csv or .parquet) atomically; returns the rows written.
pub fn write_campaign(path: &Path, campaign: &Campaign) -> Result<usize, CampaignFileError> {
    let fail = |message: String| CampaignFileError { path: path.to_path_buf(), at: None, message };
    let settings = serde_json::to_string(&campaign.settings).map_err(|e| fail(e.to_string()))?;
    let metadata = vec![("lapse.campaign".to_string(), settings)];
    write_frames(path, metadata, std::iter::once(frame(campaign))).map_err(|e| match e {
        WriteError::Extension(_) => fail("unknown extension (expected .csv or .parquet)".into()),
        other => fail(other.to_string()),
    })
}

/// A campaign file as read: the campaign's name, snapshot date, model and renewals.
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignFile {
    pub name: String,
    pub as_of: Day,
    pub model_version: String,
    pub rows: Vec<CampaignRow>,
    /// The settings, when the file carries them (Parquet).
    pub settings: Option<super::Settings>,
}

/// Reads a campaign file written by [`write_campaign`] (or by hand, with the same columns:
/// rank, customer_id, channel, product_type, region, agent_id and model_version may be left
/// out: a renewal without a customer id is its own contact). Every
/// row must belong to one campaign and one snapshot date.
pub fn read_campaign(path: &Path) -> Result<CampaignFile, CampaignFileError> {
    let fail = |at: Option<(usize, &str)>, message: String| CampaignFileError {
        path: path.to_path_buf(),
        at: at.map(|(row, column)| (row, column.to_string())),
        message,
    };
    let (df, metadata) = read_frame(path).map_err(|e| fail(None, e.message))?;
    let settings = metadata
        .iter()
        .find(|(k, _)| k == "lapse.campaign")
        .map(|(_, v)| serde_json::from_str::<super::Settings>(v).map_err(|e| fail(None, format!("settings metadata: {e}"))))
        .transpose()?;
    let strings = |name: &str, required: bool| -> Result<Option<StringChunked>, CampaignFileError> {
        match df.column(name) {
            Ok(c) => {
                let c = c.cast(&DataType::String).map_err(|e| fail(None, format!("column {name}: {e}")))?;
                Ok(Some(c.str().map_err(|e| fail(None, e.to_string()))?.clone()))
            }
            Err(_) if !required => Ok(None),
            Err(_) => Err(fail(None, format!("missing column {name}"))),
        }
    };
    let numbers = |name: &str, required: bool| -> Result<Option<Float64Chunked>, CampaignFileError> {
        match df.column(name) {
            Ok(c) => {
                let c = c.cast(&DataType::Float64).map_err(|e| fail(None, format!("column {name}: {e}")))?;
                Ok(Some(c.f64().map_err(|e| fail(None, e.to_string()))?.clone()))
            }
            Err(_) if !required => Ok(None),
            Err(_) => Err(fail(None, format!("missing column {name}"))),
        }
    };
    let required = |name: &str| -> Result<StringChunked, CampaignFileError> { Ok(strings(name, true)?.expect("required")) };
    let campaign = required("campaign")?;
    let as_of = required("as_of")?;
    let policy = required("policy_id")?;
    let installment = required("installment_no")?;
    let due = required("due_date")?;
    let action = required("action")?;
    let arm = required("arm")?;
    let segment = required("segment")?;
    let probability = numbers("probability", true)?.expect("required");
    let value = numbers("value_at_risk", true)?.expect("required");
    let gain = numbers("expected_gain", true)?.expect("required");
    let rank = numbers("rank", false)?;
    let (channel, product_type, region, agent) =
        (strings("channel", false)?, strings("product_type", false)?, strings("region", false)?, strings("agent_id", false)?);
    let model_version = strings("model_version", false)?;
    let customer = strings("customer_id", false)?;

    let mut name: Option<String> = None;
    let mut day: Option<Day> = None;
    let mut rows = Vec::with_capacity(df.height());
    let mut seen: std::collections::HashMap<(String, u32), usize> = std::collections::HashMap::with_capacity(df.height());
    for i in 0..df.height() {
        let line = i + 1;
        let text = |c: &StringChunked, column: &str| -> Result<String, CampaignFileError> {
            match c.get(i).map(str::trim).filter(|t| !t.is_empty()) {
                Some(t) => Ok(t.to_string()),
                None => Err(fail(Some((line, column)), "empty".into())),
            }
        };
        let date = |c: &StringChunked, column: &str| -> Result<Day, CampaignFileError> {
            let t = text(c, column)?;
            parse_day(&t).ok_or_else(|| fail(Some((line, column)), format!("{t:?} is not a date (YYYY-MM-DD)")))
        };
        let number = |c: &Float64Chunked, column: &str| -> Result<f64, CampaignFileError> {
            c.get(i).filter(|x| x.is_finite()).ok_or_else(|| fail(Some((line, column)), "not a finite number".into()))
        };
        let optional = |c: &Option<StringChunked>| c.as_ref().and_then(|c| c.get(i)).map(str::trim).filter(|t| !t.is_empty()).map(str::to_string);
        let this_name = text(&campaign, "campaign")?;
        match &name {
            None => name = Some(this_name),
            Some(n) if *n != this_name => {
                return Err(fail(Some((line, "campaign")), format!("{this_name:?}: the file mixes campaigns ({n:?} first)")));
            }
            Some(_) => {}
        }
        let this_day = date(&as_of, "as_of")?;
        match day {
            None => day = Some(this_day),
            Some(d) if d != this_day => {
                return Err(fail(
                    Some((line, "as_of")),
                    format!("{}: the file mixes snapshot dates ({} first)", format_day(this_day), format_day(d)),
                ));
            }
            Some(_) => {}
        }
        let installment_no = {
            let t = text(&installment, "installment_no")?;
            t.parse::<u32>()
                .ok()
                .filter(|&n| n >= 1)
                .ok_or_else(|| fail(Some((line, "installment_no")), format!("{t:?} is not a whole number >= 1")))?
        };
        let arm_text = text(&arm, "arm")?;
        let probability = number(&probability, "probability")?;
        if !(0.0..=1.0).contains(&probability) {
            return Err(fail(Some((line, "probability")), format!("{probability} is outside [0, 1]")));
        }
        let policy_id = text(&policy, "policy_id")?;
        if let Some(first) = seen.insert((policy_id.clone(), installment_no), line) {
            return Err(fail(Some((line, "policy_id")), format!("renewal {policy_id} #{installment_no} is listed twice (first at row {first})")));
        }
        rows.push(CampaignRow {
            rank: rank.as_ref().and_then(|r| r.get(i)).map_or(line as u32, |r| r as u32),
            customer_id: optional(&customer),
            policy_id,
            installment_no,
            due_date: date(&due, "due_date")?,
            action: text(&action, "action")?,
            arm: Arm::parse(&arm_text).ok_or_else(|| fail(Some((line, "arm")), format!("{arm_text:?} is not treatment or control")))?,
            probability,
            value_at_risk: number(&value, "value_at_risk")?,
            expected_gain: number(&gain, "expected_gain")?,
            segment: text(&segment, "segment")?,
            channel: optional(&channel),
            product_type: optional(&product_type),
            region: optional(&region),
            agent_id: optional(&agent),
        });
    }
    // A campaign with no renewal (its filters matched none) is still a campaign when the file
    // carries its settings (Parquet).
    let (name, day) = match (&settings, name, day) {
        (_, Some(name), Some(day)) => (name, day),
        (Some(s), _, _) => (s.name.clone(), s.as_of),
        _ => return Err(fail(None, "no renewals: a campaign file lists at least one".into())),
    };
    let as_of = day;
    let model_version = model_version
        .as_ref()
        .filter(|c| !c.is_empty())
        .and_then(|c| c.get(0))
        .map(str::to_string)
        .or_else(|| settings.as_ref().map(|s| s.model_version.clone()))
        .unwrap_or_default();
    Ok(CampaignFile { name, as_of, model_version, rows, settings })
}

/// The campaign as the generator replays it (`lapse generate --campaign`): each listed
/// policy's contacts, with their arm.
pub fn generator_plan(file: CampaignFile) -> lapse_core::generate::campaign::CampaignPlan {
    use lapse_core::generate::campaign::{CampaignPlan, PlannedContact};
    let mut plan = CampaignPlan { name: file.name, as_of: file.as_of, by_policy: Default::default() };
    for row in file.rows {
        plan.by_policy.entry(row.policy_id).or_default().push(PlannedContact {
            installment_no: row.installment_no,
            action: row.action,
            treated: row.arm == Arm::Treatment,
            segment: row.segment,
        });
    }
    plan
}
