//! The score log's line: every score the API serves is one JSON line of a daily file
//! `scores-YYYY-MM-DD.jsonl` (UTC days). The API's writer serializes [`ScoreLine`] (by hand,
//! for speed: [`ScoreLine::write_jsonl`]) and the realised-performance report parses it, so
//! the two cannot drift apart; a test checks the hand-written line is serde's.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use lapse_core::dates::{Day, day_bytes};
use lapse_core::json::{date, integer, key, number, string};

const PREFIX: &str = "scores-";
const SUFFIX: &str = ".jsonl";

/// The file that holds the scores of `day`.
pub fn file_name(day: Day) -> String {
    format!("{PREFIX}{}{SUFFIX}", std::str::from_utf8(&day_bytes(day)).unwrap_or("unknown"))
}

/// The name a closed part of `day`'s log takes (`scores-YYYY-MM-DD.N.jsonl`), compressed to
/// `scores-YYYY-MM-DD.N.jsonl.zst`.
pub fn part_file_name(day: Day, part: u32) -> String {
    format!("{PREFIX}{}.{part}{SUFFIX}", std::str::from_utf8(&day_bytes(day)).unwrap_or("unknown"))
}

/// Whether a file name is a score-log file: the day's open file, a closed part, or a
/// compressed one (`.jsonl.zst`).
pub fn is_log_file(name: &str) -> bool {
    name.starts_with(PREFIX) && (name.ends_with(SUFFIX) || name.ends_with(".jsonl.zst")) && log_file_day(name).is_some()
}

/// The UTC day a score-log file holds, from its name.
pub fn log_file_day(name: &str) -> Option<Day> {
    let date = name.strip_prefix(PREFIX)?.get(..10)?;
    lapse_core::dates::parse_day(date)
}

/// The part number of a closed part's name (`scores-D.N.jsonl[.zst]` -> N); None for the day's
/// open file.
pub fn log_file_part(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(PREFIX)?.get(10..)?;
    let rest = rest.strip_suffix(".zst").unwrap_or(rest).strip_suffix(SUFFIX)?;
    rest.strip_prefix('.')?.parse().ok()
}

/// One served score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreLine<'a> {
    /// When it was served, UTC, RFC 3339 with milliseconds.
    #[serde(borrow)]
    pub time: Cow<'a, str>,
    #[serde(borrow)]
    pub request_id: Cow<'a, str>,
    /// `score`, `score_inline` or `queue`.
    #[serde(borrow)]
    pub endpoint: Cow<'a, str>,
    #[serde(borrow)]
    pub model_version: Cow<'a, str>,
    #[serde(borrow)]
    pub policy_id: Cow<'a, str>,
    pub installment_no: u32,
    #[serde(with = "lapse_core::dates::iso")]
    pub due_date: Day,
    pub probability: f64,
    pub value: f64,
    #[serde(borrow)]
    pub action: Cow<'a, str>,
    pub expected_gain: f64,
    /// Rank in the response (1 = first).
    pub rank: u32,
    /// The campaign the renewal was listed in, if any.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<Cow<'a, str>>,
    /// Its arm in that campaign: `treatment` or `control`.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub arm: Option<Cow<'a, str>>,
}

impl ScoreLine<'_> {
    /// Appends the line and its newline: the same bytes as `serde_json::to_writer` gives, with
    /// field names written as literals.
    pub fn write_jsonl(&self, out: &mut Vec<u8>) {
        key(out, "{\"time");
        string(out, &self.time);
        key(out, ",\"request_id");
        string(out, &self.request_id);
        key(out, ",\"endpoint");
        string(out, &self.endpoint);
        key(out, ",\"model_version");
        string(out, &self.model_version);
        key(out, ",\"policy_id");
        string(out, &self.policy_id);
        key(out, ",\"installment_no");
        integer(out, self.installment_no);
        key(out, ",\"due_date");
        date(out, self.due_date);
        key(out, ",\"probability");
        number(out, self.probability);
        key(out, ",\"value");
        number(out, self.value);
        key(out, ",\"action");
        string(out, &self.action);
        key(out, ",\"expected_gain");
        number(out, self.expected_gain);
        key(out, ",\"rank");
        integer(out, self.rank);
        if let Some(campaign) = &self.campaign {
            key(out, ",\"campaign");
            string(out, campaign);
        }
        if let Some(arm) = &self.arm {
            key(out, ",\"arm");
            string(out, arm);
        }
        out.extend_from_slice(b"}\n");
    }
}

/// Milliseconds since the epoch as RFC 3339 UTC with milliseconds.
pub fn timestamp(ms: u64) -> String {
    let day = (ms / 86_400_000) as Day;
    let rest = ms % 86_400_000;
    let date = day_bytes(day);
    format!(
        "{}T{:02}:{:02}:{:02}.{:03}Z",
        std::str::from_utf8(&date).unwrap_or("0000-00-00"),
        rest / 3_600_000,
        rest / 60_000 % 60,
        rest / 1000 % 60,
        rest % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_written_line_is_what_serde_writes_and_reads_back() {
        let line = ScoreLine {
            time: timestamp(1_790_000_123_456).into(),
            request_id: "req \"7\"".into(),
            endpoint: "score".into(),
            model_version: "v0003".into(),
            policy_id: "P0000001\\上海".into(),
            installment_no: 12,
            due_date: 20_500,
            probability: 0.123_456_789,
            value: 12_345.5,
            action: "call".into(),
            expected_gain: -0.25,
            rank: 3,
            campaign: None,
            arm: None,
        };
        let with_campaign = ScoreLine { campaign: Some("march-\"1\"".into()), arm: Some("control".into()), ..line.clone() };
        let mut out = Vec::new();
        with_campaign.write_jsonl(&mut out);
        let mut serde = serde_json::to_vec(&with_campaign).unwrap();
        serde.push(b'\n');
        assert_eq!(out, serde);
        let mut out = Vec::new();
        line.write_jsonl(&mut out);
        let mut serde = serde_json::to_vec(&line).unwrap();
        serde.push(b'\n');
        assert_eq!(String::from_utf8(out.clone()).unwrap(), String::from_utf8(serde).unwrap());
        let back: ScoreLine = serde_json::from_slice(&out).unwrap();
        assert_eq!(back, line);
    }

    #[test]
    fn timestamps_are_utc_with_milliseconds_and_files_are_daily() {
        assert_eq!(timestamp(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(timestamp(1_790_000_123_456), "2026-09-21T14:15:23.456Z");
        assert_eq!(file_name(20_717), "scores-2026-09-21.jsonl");
        assert!(is_log_file(&file_name(0)) && !is_log_file("scores-2026-09-21.jsonl.tmp"));
        assert_eq!(part_file_name(20_717, 3), "scores-2026-09-21.3.jsonl");
        assert!(is_log_file("scores-2026-09-21.3.jsonl.zst") && !is_log_file("scores-2026-09-21.3.jsonl.zst.tmp-1"));
        assert_eq!((log_file_day("scores-2026-09-21.3.jsonl.zst"), log_file_part("scores-2026-09-21.3.jsonl.zst")), (Some(20_717), Some(3)));
        assert_eq!(log_file_part("scores-2026-09-21.jsonl"), None);
    }
}
