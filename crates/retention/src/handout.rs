//! The hand-out files (`lapse queue --handout DIR`): the campaign's treatment rows only (a
//! control customer must not be contacted, so they are not handed out), one file per agent,
//! orphan renewals (their agent has left) in one file for the team that takes them over, with
//! the reasons and the labels in the team's language and a stated encoding: UTF-8 with a
//! byte-order mark (Excel on any Windows reads it as UTF-8) or GB18030 (what Excel on Chinese
//! Windows assumes for a CSV without one).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use lapse_core::dates::format_day;
use lapse_core::extract::csv_field as field;
use lapse_core::io_util::IoContext;
use lapse_model::scoring::ScoredRows;
use lapse_model::scoring::lang::{Lang, action_label, sentence_in, zh_value};

use crate::campaign::{Arm, Campaign};

/// How the hand-out files are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8 with a byte-order mark.
    Utf8Bom,
    /// GB18030 (a superset of GBK and GB2312).
    Gb18030,
}

impl Encoding {
    pub const NAMES: [&'static str; 2] = ["utf-8-bom", "gb18030"];

    pub fn parse(text: &str) -> Option<Encoding> {
        match text {
            "utf-8-bom" => Some(Encoding::Utf8Bom),
            "gb18030" => Some(Encoding::Gb18030),
            _ => None,
        }
    }

    /// `text` as this encoding's bytes (every character of Unicode has a GB18030 form).
    pub fn encode(self, text: &str) -> Vec<u8> {
        match self {
            Encoding::Utf8Bom => [b"\xef\xbb\xbf".as_slice(), text.as_bytes()].concat(),
            Encoding::Gb18030 => encoding_rs::GB18030.encode(text).0.into_owned(),
        }
    }
}

/// The file of renewals whose agent has left, for the team that takes them over.
pub const ORPHANS_FILE: &str = "orphans.csv";
/// The file of renewals of policies without an agent.
pub const NO_AGENT_FILE: &str = "no-agent.csv";

const HEADER_EN: [&str; 12] = [
    "rank",
    "customer_id",
    "policy_id",
    "installment_no",
    "due_date",
    "action",
    "lapse_probability",
    "value_at_risk",
    "reasons",
    "channel",
    "region",
    "agent_id",
];
const HEADER_ZH: [&str; 12] = ["排名", "客户号", "保单号", "期次", "应缴日", "行动", "失效概率", "风险价值", "主要原因", "渠道", "地区", "业务员"];

/// An agent id as a file name: letters, digits, '-', '_' and '.' kept, anything else '_'.
fn file_name(agent: &str) -> String {
    let safe: String = agent.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' }).collect();
    format!("agent-{safe}.csv")
}

/// Writes the hand-out files of `campaign` (drawn from `rows`, scored with reasons) into
/// `dir`, replacing what a previous run left there: the files are written into a sibling
/// directory first, which then takes `dir`'s place. Returns each file and its row count.
pub fn write_handout(dir: &Path, campaign: &Campaign, rows: &ScoredRows, lang: Lang, encoding: Encoding) -> Result<Vec<(PathBuf, usize)>, IoContext> {
    let index: HashMap<(&str, u32), usize> = (0..rows.len()).map(|r| ((&*rows.policy_id[r], rows.renewals[r].installment_no), r)).collect();
    let header = match lang {
        Lang::En => HEADER_EN,
        Lang::ZhCn => HEADER_ZH,
    };
    let separator = match lang {
        Lang::En => "; ",
        Lang::ZhCn => "；",
    };
    let label = |value: Option<&str>| -> String {
        match (lang, value) {
            (_, None) => String::new(),
            (Lang::En, Some(v)) => v.to_string(),
            (Lang::ZhCn, Some(v)) => zh_value(v).to_string(),
        }
    };
    // File name -> its lines, in the campaign's order (rank, then the customer's renewals).
    let mut files: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in campaign.rows.iter().filter(|r| r.arm == Arm::Treatment) {
        let scored = index.get(&(row.policy_id.as_str(), row.installment_no)).copied();
        let orphan = scored.is_some_and(|r| rows.renewals[r].orphan);
        let name = match (&row.agent_id, orphan) {
            (None, _) => NO_AGENT_FILE.to_string(),
            (Some(_), true) => ORPHANS_FILE.to_string(),
            (Some(agent), false) => file_name(agent),
        };
        let reasons: Vec<String> = scored
            .map(|r| {
                rows.reasons_of(r)
                    .map(|(feature, value, _, text)| match lang {
                        Lang::En => text.to_string(),
                        other => sentence_in(other, feature, value),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let cells = [
            row.rank.to_string(),
            field(row.customer_id.as_deref().unwrap_or("")),
            field(&row.policy_id),
            row.installment_no.to_string(),
            format_day(row.due_date),
            field(&action_label(lang, &row.action)),
            format!("{:.1}%", 100.0 * row.probability),
            format!("{:.2}", row.value_at_risk),
            field(&reasons.join(separator)),
            field(&label(row.channel.as_deref())),
            field(&label(row.region.as_deref())),
            field(row.agent_id.as_deref().unwrap_or("")),
        ];
        files.entry(name).or_default().push(cells.join(","));
    }
    // Into a sibling directory, then in place of `dir`.
    let parent = dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let base = dir.file_name().map_or_else(|| "handout".into(), |n| n.to_string_lossy().into_owned());
    let staging = parent.join(format!(".{base}.tmp-{}", std::process::id()));
    let io = |what: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |e: std::io::Error| IoContext::new(what, &path, e)
    };
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).map_err(io("creating directory", &staging))?;
    let mut written = Vec::with_capacity(files.len());
    for (name, lines) in &files {
        let mut text = header.join(",");
        text.push_str("\r\n");
        for line in lines {
            text.push_str(line);
            text.push_str("\r\n");
        }
        let path = staging.join(name);
        std::fs::write(&path, encoding.encode(&text)).map_err(io("writing", &path))?;
        written.push((dir.join(name), lines.len()));
    }
    let old = parent.join(format!(".{base}.old-{}", std::process::id()));
    if dir.exists() {
        std::fs::rename(dir, &old).map_err(io("moving aside", dir))?;
    }
    std::fs::rename(&staging, dir).map_err(io("renaming into place", dir))?;
    let _ = std::fs::remove_dir_all(&old);
    Ok(written)
}
