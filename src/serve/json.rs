//! Hand-written JSON for the hot responses (scored renewals) and score-log lines.
//!
//! Why by hand: profiling `POST /v1/score` with batches of 100 showed serde_json's string
//! escaping at 20% of the server's CPU, most of it spent re-checking field names that are
//! constants. Here field names are written as literals and only the strings that come from
//! data (policy ids, categories, reason sentences) are checked for characters to escape (a
//! plain scan, escaping with serde_json when one is found). The serde types in `api` stay the
//! documented shape (they generate the OpenAPI document) and a test checks both writers give
//! the same JSON.

use super::api::{QueueResponse, Reason, ScoreResponse, ScoredRenewal};
use super::reasons::ReasonValue;

/// Whether `s` has a byte JSON must escape (a control character, `"` or `\`), checked eight
/// bytes at a time (the classic SWAR "has a zero byte / a byte below n" tests).
fn needs_escape(s: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |v: u64| v.wrapping_sub(ONES) & !v & HIGH != 0;
    let mut chunks = s.chunks_exact(8);
    for chunk in &mut chunks {
        let v = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        // Bytes below 0x20 (for bytes under 0x80; UTF-8 bytes >= 0x80 never match), '"', '\\'.
        let below_space = v.wrapping_sub(ONES * 0x20) & !v & HIGH != 0;
        if below_space || zero_byte(v ^ (ONES * u64::from(b'"'))) || zero_byte(v ^ (ONES * u64::from(b'\\'))) {
            return true;
        }
    }
    chunks.remainder().iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

/// Writes `s` as a JSON string.
pub fn string(out: &mut Vec<u8>, s: &str) {
    if !needs_escape(s.as_bytes()) {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        serde_json::to_writer(&mut *out, s).expect("writing to a Vec");
    }
}

/// Writes a number (null when not finite, as serde_json does).
pub fn number(out: &mut Vec<u8>, x: f64) {
    serde_json::to_writer(&mut *out, &x).expect("writing to a Vec");
}

fn integer(out: &mut Vec<u8>, x: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(x).as_bytes());
}

/// Writes `prefix` (punctuation and the opening quote of a field name, then the name: a
/// literal, never escaped) and the name's closing `":`.
fn key(out: &mut Vec<u8>, prefix: &str) {
    out.extend_from_slice(prefix.as_bytes());
    out.extend_from_slice(b"\":");
}

fn optional(out: &mut Vec<u8>, value: Option<&str>) {
    match value {
        Some(s) => string(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

fn date(out: &mut Vec<u8>, day: crate::dates::Day) {
    out.push(b'"');
    out.extend_from_slice(&crate::dates::day_bytes(day));
    out.push(b'"');
}

fn reason(out: &mut Vec<u8>, r: &Reason<'_>) {
    key(out, "{\"feature");
    string(out, r.feature);
    key(out, ",\"value");
    match r.value.0 {
        ReasonValue::Number(x) => number(out, x),
        ReasonValue::Category(c) => string(out, c),
        ReasonValue::Missing => out.extend_from_slice(b"null"),
    }
    key(out, ",\"contribution");
    serde_json::to_writer(&mut *out, &r.contribution).expect("writing to a Vec");
    key(out, ",\"text");
    string(out, r.text);
    out.push(b'}');
}

/// One scored renewal, fields in the order of [`ScoredRenewal`].
pub fn renewal(out: &mut Vec<u8>, r: &ScoredRenewal<'_>) {
    key(out, "{\"rank");
    integer(out, r.rank);
    key(out, ",\"policy_id");
    string(out, r.policy_id);
    key(out, ",\"installment_no");
    integer(out, r.installment_no);
    key(out, ",\"due_date");
    date(out, r.due_date.0);
    key(out, ",\"as_of");
    date(out, r.as_of.0);
    key(out, ",\"days_overdue");
    integer(out, r.days_overdue);
    key(out, ",\"days_until_due");
    integer(out, r.days_until_due);
    key(out, ",\"probability");
    number(out, r.probability);
    key(out, ",\"value_at_risk");
    number(out, r.value_at_risk);
    key(out, ",\"expected_loss");
    number(out, r.expected_loss);
    key(out, ",\"action");
    string(out, r.action);
    key(out, ",\"expected_gain");
    number(out, r.expected_gain);
    key(out, ",\"segment");
    key(out, "{\"risk_band");
    string(out, r.segment.risk_band);
    key(out, ",\"value_band");
    string(out, r.segment.value_band);
    key(out, ",\"name");
    string(out, r.segment.name);
    key(out, "},\"reasons");
    out.push(b'[');
    for (i, x) in r.reasons.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        reason(out, x);
    }
    key(out, "],\"channel");
    optional(out, r.channel);
    key(out, ",\"region");
    optional(out, r.region);
    key(out, ",\"agent_id");
    optional(out, r.agent_id);
    key(out, ",\"product_code");
    optional(out, r.product_code);
    key(out, ",\"source");
    string(out, r.source);
    key(out, ",\"model_version");
    string(out, r.model_version);
    out.push(b'}');
}

fn renewals(out: &mut Vec<u8>, items: &[ScoredRenewal<'_>]) {
    out.push(b'[');
    for (i, r) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        renewal(out, r);
    }
    out.push(b']');
}

/// A buffer sized for `items` renewals (~750 bytes each with reasons).
fn buffer(items: usize) -> Vec<u8> {
    Vec::with_capacity(256 + 800 * items)
}

/// `POST /v1/score`'s body.
pub fn score_response(response: &ScoreResponse<'_>) -> Vec<u8> {
    let mut out = buffer(response.results.len());
    key(&mut out, "{\"model_version");
    string(&mut out, response.model_version);
    key(&mut out, ",\"results");
    renewals(&mut out, &response.results);
    key(&mut out, ",\"not_found");
    serde_json::to_writer(&mut out, &response.not_found).expect("writing to a Vec");
    out.push(b'}');
    out
}

/// `GET /v1/queue`'s body.
pub fn queue_response(response: &QueueResponse<'_>) -> Vec<u8> {
    let mut out = buffer(response.items.len());
    key(&mut out, "{\"model_version");
    string(&mut out, response.model_version);
    key(&mut out, ",\"as_of");
    date(&mut out, response.as_of.0);
    key(&mut out, ",\"matching");
    integer(&mut out, response.matching);
    key(&mut out, ",\"listed");
    integer(&mut out, response.listed);
    key(&mut out, ",\"offset");
    integer(&mut out, response.offset);
    key(&mut out, ",\"next_offset");
    match response.next_offset {
        Some(n) => integer(&mut out, n),
        None => out.extend_from_slice(b"null"),
    }
    key(&mut out, ",\"items");
    renewals(&mut out, &response.items);
    out.push(b'}');
    out
}

/// The part of a score-log line shared by every score of one response (`{"time":...,
/// "model_version":...,`), written once per response.
pub fn log_prefix(time: &str, request_id: &str, endpoint: &str, model_version: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    key(&mut out, "{\"time");
    string(&mut out, time);
    key(&mut out, ",\"request_id");
    string(&mut out, request_id);
    key(&mut out, ",\"endpoint");
    string(&mut out, endpoint);
    key(&mut out, ",\"model_version");
    string(&mut out, model_version);
    out.push(b',');
    out
}

/// One score-log line (with its newline) after its [`log_prefix`].
#[allow(clippy::too_many_arguments)]
pub fn log_line(
    out: &mut Vec<u8>,
    prefix: &[u8],
    policy_id: &str,
    installment_no: u32,
    due_date: crate::dates::Day,
    probability: f64,
    value: f64,
    action: &str,
    expected_gain: f64,
    rank: u32,
) {
    out.extend_from_slice(prefix);
    key(out, "\"policy_id");
    string(out, policy_id);
    key(out, ",\"installment_no");
    integer(out, installment_no);
    key(out, ",\"due_date");
    date(out, due_date);
    key(out, ",\"probability");
    number(out, probability);
    key(out, ",\"value");
    number(out, value);
    key(out, ",\"action");
    string(out, action);
    key(out, ",\"expected_gain");
    number(out, expected_gain);
    key(out, ",\"rank");
    integer(out, rank);
    out.extend_from_slice(b"}\n");
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_escape_check_finds_every_byte_to_escape_at_every_position() {
        for len in 0..20 {
            for at in 0..len {
                for bad in [0u8, 0x1f, b'"', b'\\', b'\n'] {
                    let mut bytes = vec![b'a'; len];
                    bytes[at] = bad;
                    assert!(super::needs_escape(&bytes), "{bytes:?}");
                }
            }
            assert!(!super::needs_escape(&vec![b' '; len]));
            assert!(!super::needs_escape("é上海~\x7f".repeat(len).as_bytes()));
        }
    }

    #[test]
    fn strings_are_escaped_only_when_needed() {
        let mut out = Vec::new();
        super::string(&mut out, "plain 上海");
        super::string(&mut out, "quote \" back \\ tab \t");
        assert_eq!(String::from_utf8(out).unwrap(), "\"plain 上海\"\"quote \\\" back \\\\ tab \\t\"");
    }
}
