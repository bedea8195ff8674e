//! Hand-written JSON for the hot responses (scored renewals) and score-log lines.
//!
//! Why by hand: profiling `POST /v1/score` with batches of 100 showed serde_json's string
//! escaping at 20% of the server's CPU, most of it spent re-checking field names that are
//! constants. Here field names are written as literals and only the strings that come from
//! data (policy ids, categories, reason sentences) are checked for characters to escape (a
//! plain scan, escaping with serde_json when one is found). The serde types in `api` stay the
//! documented shape (they generate the OpenAPI document) and a test checks both writers give
//! the same JSON.

use super::dto::{QueueContact, QueueResponse, Reason, ScoreResponse, ScoredRenewal};
use lapse_core::json::{date, integer, key, number, optional, string};
use lapse_model::scoring::reasons::ReasonValue;

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
    string(out, &r.text);
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
    key(out, ",\"action_label");
    string(out, &r.action_label);
    key(out, ",\"expected_gain");
    number(out, r.expected_gain);
    key(out, ",\"segment");
    key(out, "{\"risk_band");
    string(out, r.segment.risk_band);
    key(out, ",\"value_band");
    string(out, r.segment.value_band);
    key(out, ",\"name");
    string(out, r.segment.name);
    key(out, ",\"label");
    string(out, r.segment.label);
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
    key(out, ",\"customer_id");
    optional(out, r.customer_id);
    key(out, ",\"orphan");
    out.extend_from_slice(if r.orphan { b"true" } else { b"false" });
    key(out, ",\"promise_broken");
    out.extend_from_slice(if r.promise_broken { b"true" } else { b"false" });
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
    if let Some(campaign) = &response.campaign {
        key(&mut out, ",\"campaign\":{\"name");
        string(&mut out, &campaign.name);
        key(&mut out, ",\"holdout");
        number(&mut out, campaign.holdout);
        key(&mut out, ",\"treatment");
        integer(&mut out, campaign.treatment);
        key(&mut out, ",\"control");
        integer(&mut out, campaign.control);
        key(&mut out, ",\"held_out_by_other_campaigns");
        integer(&mut out, campaign.held_out_by_other_campaigns);
        out.push(b'}');
    }
    key(&mut out, ",\"held_back");
    out.push(b'{');
    for (i, (rule, n)) in response.held_back.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        string(&mut out, rule);
        out.push(b':');
        integer(&mut out, *n);
    }
    out.push(b'}');
    key(&mut out, ",\"items");
    out.push(b'[');
    for (i, c) in response.items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        contact(&mut out, c);
    }
    out.extend_from_slice(b"]}");
    out
}

/// One contact, fields in the order of [`QueueContact`].
fn contact(out: &mut Vec<u8>, c: &QueueContact<'_>) {
    key(out, "{\"rank");
    integer(out, c.rank);
    key(out, ",\"customer_id");
    optional(out, c.customer_id);
    key(out, ",\"action");
    string(out, c.action);
    key(out, ",\"action_label");
    string(out, &c.action_label);
    key(out, ",\"expected_gain");
    number(out, c.expected_gain);
    key(out, ",\"value_at_risk");
    number(out, c.value_at_risk);
    key(out, ",\"renewals");
    renewals(out, &c.renewals);
    out.push(b'}');
}
