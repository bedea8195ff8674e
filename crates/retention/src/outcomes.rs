//! What an agent recorded after a contact: the outcome of a call, a visit or an SMS. Outcomes
//! arrive in batches (`POST /v1/outcomes`, `lapse outcomes import`), are checked here as one
//! (a batch with one bad outcome is refused whole, naming `outcomes[i].field`) and kept by the
//! store; the contact rules ([`crate::contact`]) read them back.

use lapse_core::dates::{Day, format_day, parse_day};

pub use lapse_core::contacts::ContactResult;

/// The refusal reasons accepted by default.
pub const DEFAULT_REFUSAL_REASONS: [&str; 5] = ["cannot_afford", "dissatisfied", "bought_elsewhere", "no_longer_needed", "other"];

/// The longest id, note or other text field an outcome may carry, in bytes.
pub const MAX_ID_BYTES: usize = 128;
pub const MAX_NOTE_BYTES: usize = 2000;

/// One recorded outcome, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The client's idempotency key: the same id again is a duplicate.
    pub id: String,
    pub policy_id: String,
    pub installment_no: u32,
    /// The customer the policy belongs to (from the request, else the served snapshot).
    pub customer_id: String,
    /// The action taken (`call`, `sms`, `visit`, ... as the economics name them).
    pub action: String,
    pub result: ContactResult,
    /// When, as given (RFC 3339 with its offset).
    pub at: String,
    /// When, in milliseconds since 1970-01-01 UTC.
    pub at_ms: i64,
    /// The calendar day of `at` in its own offset (the agent's day).
    pub day: Day,
    pub reason: Option<String>,
    pub promised_date: Option<Day>,
    pub agent_id: Option<String>,
    pub note: Option<String>,
}

impl Outcome {
    /// Whether `other` records the same thing (an idempotent retry), field by field.
    pub fn same_as(&self, other: &Outcome) -> bool {
        self == other
    }

    /// The outcome as the feature builder reads it ([`lapse_core::extract::Book::attach_contacts`]).
    pub fn recorded(&self) -> lapse_core::contacts::RecordedContact<'_> {
        lapse_core::contacts::RecordedContact {
            policy_id: &self.policy_id,
            installment_no: self.installment_no,
            day: self.day,
            result: self.result,
            reason: self.reason.as_deref(),
            promised_date: self.promised_date,
        }
    }
}

/// An outcome as it arrives, nothing checked: `None` is "not given".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawOutcome {
    pub id: Option<String>,
    pub policy_id: Option<String>,
    pub installment_no: Option<i64>,
    pub customer_id: Option<String>,
    pub action: Option<String>,
    pub result: Option<String>,
    pub at: Option<String>,
    pub reason: Option<String>,
    pub promised_date: Option<String>,
    pub agent_id: Option<String>,
    pub note: Option<String>,
}

/// An outcome that cannot be recorded: its position in the batch, the field and why. Always
/// the caller's input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("outcomes[{index}].{field}: {reason}")]
pub struct OutcomeError {
    pub index: usize,
    pub field: &'static str,
    pub reason: String,
}

/// What a batch is checked against: the actions that exist and the refusal reasons accepted.
#[derive(Debug, Clone)]
pub struct OutcomeRules<'a> {
    pub actions: &'a [&'a str],
    pub refusal_reasons: &'a [String],
}

/// Parses RFC 3339 (`2026-02-28T10:15:00+08:00`, `...Z`, fractional seconds allowed): the
/// instant in ms since 1970 UTC and the calendar day in the given offset (the agent's day, which
/// the rules count in). Hand-written: a fixed layout of a few fields, on the crate's own `Day`.
pub fn parse_instant(text: &str) -> Option<(i64, Day)> {
    let t = text.trim();
    if t.len() < 20 || t.as_bytes().get(10).is_none_or(|&b| b != b'T' && b != b't' && b != b' ') {
        return None;
    }
    let day = parse_day(&t[..10])?;
    let (clock, rest) = t[11..].split_at(8.min(t.len() - 11));
    let b = clock.as_bytes();
    if b.len() != 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let num = |s: &str| -> Option<i64> { if s.bytes().all(|c| c.is_ascii_digit()) { s.parse().ok() } else { None } };
    let (h, m, s) = (num(&clock[..2])?, num(&clock[3..5])?, num(&clock[6..8])?);
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    // Fraction, then the offset.
    let mut rest = rest;
    let mut millis = 0i64;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let first3: String = frac[..digits].chars().chain(std::iter::repeat('0')).take(3).collect();
        millis = num(&first3)?;
        rest = &frac[digits..];
    }
    let offset_minutes = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let o = &rest[1..];
            if o.len() != 5 || o.as_bytes()[2] != b':' {
                return None;
            }
            let (oh, om) = (num(&o[..2])?, num(&o[3..])?);
            if oh > 23 || om > 59 {
                return None;
            }
            sign * (oh * 60 + om)
        }
    };
    let local_ms = i64::from(day) * 86_400_000 + ((h * 60 + m) * 60 + s.min(59)) * 1000 + millis;
    Some((local_ms - offset_minutes * 60_000, day))
}

/// Optional fields that, when given, may not be empty (an empty customer id or date is a
/// mistake, not an absence).
const NOT_EMPTY_WHEN_GIVEN: [&str; 2] = ["customer_id", "promised_date"];

fn text(value: &Option<String>, index: usize, field: &'static str, max: usize, required: bool) -> Result<Option<String>, OutcomeError> {
    let fail = |reason: String| OutcomeError { index, field, reason };
    match value.as_deref().map(str::trim) {
        None | Some("") if required => Err(fail("required".into())),
        Some("") if NOT_EMPTY_WHEN_GIVEN.contains(&field) => Err(fail("empty: leave it out or give a value".into())),
        None | Some("") => Ok(None),
        Some(v) if v.len() > max => Err(fail(format!("at most {max} bytes"))),
        Some(v) if v.chars().any(char::is_control) && field != "note" => Err(fail("control characters are not allowed".into())),
        Some(v) => Ok(Some(v.to_string())),
    }
}

impl RawOutcome {
    /// Checks the outcome at `index` of its batch; `customer_of` gives the customer of a
    /// policy when the outcome does not name one (None: unknown).
    pub fn check(&self, index: usize, rules: &OutcomeRules<'_>, customer_of: impl Fn(&str) -> Option<String>) -> Result<Outcome, OutcomeError> {
        let fail = |field: &'static str, reason: String| OutcomeError { index, field, reason };
        let id = text(&self.id, index, "id", MAX_ID_BYTES, true)?.unwrap_or_default();
        let policy_id = text(&self.policy_id, index, "policy_id", MAX_ID_BYTES, true)?.unwrap_or_default();
        let installment_no = match self.installment_no {
            Some(n) if (1..=i64::from(i32::MAX)).contains(&n) => n as u32,
            Some(n) => return Err(fail("installment_no", format!("{n} is not 1..=2147483647"))),
            None => return Err(fail("installment_no", "required".into())),
        };
        let action = text(&self.action, index, "action", 64, true)?.unwrap_or_default();
        if !rules.actions.contains(&action.as_str()) {
            return Err(fail("action", format!("{action:?} is not an action (actions: {})", rules.actions.join(", "))));
        }
        let result_text = text(&self.result, index, "result", 64, true)?.unwrap_or_default();
        let result = ContactResult::parse(&result_text)
            .ok_or_else(|| fail("result", format!("{result_text:?}: use one of {}", ContactResult::ALL.map(ContactResult::as_str).join(", "))))?;
        let at = text(&self.at, index, "at", 64, true)?.unwrap_or_default();
        let (at_ms, day) = parse_instant(&at).ok_or_else(|| fail("at", format!("{at:?} is not an RFC 3339 time like 2026-02-28T10:15:00+08:00")))?;
        let reason = text(&self.reason, index, "reason", 64, false)?;
        match (&result, &reason) {
            (ContactResult::Refused, None) => {
                return Err(fail("reason", format!("a refusal needs a reason: one of {}", rules.refusal_reasons.join(", "))));
            }
            (ContactResult::Refused, Some(r)) if !rules.refusal_reasons.iter().any(|x| x == r) => {
                return Err(fail("reason", format!("{r:?}: use one of {}", rules.refusal_reasons.join(", "))));
            }
            (ContactResult::Refused, _) => {}
            (_, Some(_)) => return Err(fail("reason", format!("only a refusal has a reason, not {}", result.as_str()))),
            (_, None) => {}
        }
        let promised_date = match text(&self.promised_date, index, "promised_date", 32, false)? {
            None if result == ContactResult::Promised => return Err(fail("promised_date", "a promise needs promised_date (YYYY-MM-DD)".into())),
            None => None,
            Some(_) if result != ContactResult::Promised => {
                return Err(fail("promised_date", format!("only a promise has a promised_date, not {}", result.as_str())));
            }
            Some(d) => {
                let promised = parse_day(&d).ok_or_else(|| fail("promised_date", format!("{d:?} is not a date (YYYY-MM-DD)")))?;
                if promised < day {
                    return Err(fail("promised_date", format!("{} is before the outcome's day {}", format_day(promised), format_day(day))));
                }
                Some(promised)
            }
        };
        let agent_id = text(&self.agent_id, index, "agent_id", MAX_ID_BYTES, false)?;
        let note = text(&self.note, index, "note", MAX_NOTE_BYTES, false)?;
        let customer_id = match text(&self.customer_id, index, "customer_id", MAX_ID_BYTES, false)? {
            Some(c) => c,
            None => customer_of(&policy_id)
                .ok_or_else(|| fail("customer_id", format!("policy {policy_id:?} is not in the served snapshot: give the customer_id")))?,
        };
        Ok(Outcome { id, policy_id, installment_no, customer_id, action, result, at, at_ms, day, reason, promised_date, agent_id, note })
    }
}

/// Checks a whole batch: every outcome, and no id twice with different content (the same
/// outcome twice in one batch is a duplicate). The first fault is returned; nothing of a batch
/// with a fault may be stored.
pub fn check_batch(raw: &[RawOutcome], rules: &OutcomeRules<'_>, customer_of: impl Fn(&str) -> Option<String>) -> Result<Vec<Outcome>, OutcomeError> {
    let mut out: Vec<Outcome> = Vec::with_capacity(raw.len());
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (index, r) in raw.iter().enumerate() {
        let outcome = r.check(index, rules, &customer_of)?;
        if let Some(&first) = seen.get(&outcome.id) {
            if !out[first].same_as(&outcome) {
                return Err(OutcomeError { index, field: "id", reason: format!("outcomes[{first}] has the same id with other content") });
            }
            continue;
        }
        seen.insert(outcome.id.clone(), out.len());
        out.push(outcome);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules_reasons() -> Vec<String> {
        DEFAULT_REFUSAL_REASONS.iter().map(|s| s.to_string()).collect()
    }

    fn raw(result: &str) -> RawOutcome {
        RawOutcome {
            id: Some("o-1".into()),
            policy_id: Some("P1".into()),
            installment_no: Some(5),
            action: Some("call".into()),
            result: Some(result.into()),
            at: Some("2026-02-28T10:15:00+08:00".into()),
            ..Default::default()
        }
    }

    fn check(r: RawOutcome) -> Result<Outcome, OutcomeError> {
        let reasons = rules_reasons();
        let rules = OutcomeRules { actions: &["sms", "call", "visit"], refusal_reasons: &reasons };
        r.check(0, &rules, |p| (p == "P1").then(|| "C1".to_string()))
    }

    #[test]
    fn an_instant_keeps_its_own_day_and_the_utc_millisecond() {
        let (ms, day) = parse_instant("2026-02-28T01:15:00+08:00").unwrap();
        assert_eq!(format_day(day), "2026-02-28", "the agent's day, not UTC's (2026-02-27)");
        let (utc, _) = parse_instant("2026-02-27T17:15:00Z").unwrap();
        assert_eq!(ms, utc);
        assert_eq!(parse_instant("2026-02-27T17:15:00.250Z").unwrap().0, utc + 250);
        for bad in ["2026-02-28", "2026-02-28T25:00:00Z", "2026-02-30T10:00:00Z", "2026-02-28T10:00:00+0800", "2026-02-28T10:00:00"] {
            assert!(parse_instant(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn each_result_needs_what_it_says_and_nothing_else() {
        assert_eq!(check(raw("reached")).unwrap().customer_id, "C1", "the customer from the snapshot");
        let e = check(raw("refused")).unwrap_err();
        assert_eq!((e.field, e.index), ("reason", 0));
        assert!(check(RawOutcome { reason: Some("cannot_afford".into()), ..raw("refused") }).is_ok());
        assert_eq!(check(RawOutcome { reason: Some("too_expensive".into()), ..raw("refused") }).unwrap_err().field, "reason");
        assert_eq!(check(RawOutcome { reason: Some("other".into()), ..raw("reached") }).unwrap_err().field, "reason");
        assert_eq!(check(raw("promised")).unwrap_err().field, "promised_date");
        let promised = check(RawOutcome { promised_date: Some("2026-03-06".into()), ..raw("promised") }).unwrap();
        assert_eq!(promised.promised_date.map(format_day).as_deref(), Some("2026-03-06"));
        assert_eq!(check(RawOutcome { promised_date: Some("2026-02-01".into()), ..raw("promised") }).unwrap_err().field, "promised_date");
        assert_eq!(check(raw("maybe")).unwrap_err().field, "result");
        assert_eq!(check(RawOutcome { action: Some("fax".into()), ..raw("reached") }).unwrap_err().field, "action");
        assert_eq!(check(RawOutcome { installment_no: Some(0), ..raw("reached") }).unwrap_err().field, "installment_no");
        assert_eq!(check(RawOutcome { policy_id: Some("P9".into()), ..raw("reached") }).unwrap_err().field, "customer_id");
        assert!(check(RawOutcome { policy_id: Some("P9".into()), customer_id: Some("C9".into()), ..raw("reached") }).is_ok());
        assert_eq!(check(RawOutcome { customer_id: Some(String::new()), ..raw("reached") }).unwrap_err().field, "customer_id");
        assert_eq!(check(RawOutcome { promised_date: Some(String::new()), ..raw("reached") }).unwrap_err().field, "promised_date");
        assert_eq!(check(RawOutcome { at: Some("yesterday".into()), ..raw("reached") }).unwrap_err().field, "at");
    }

    #[test]
    fn a_batch_names_its_first_bad_outcome_and_folds_repeats() {
        let reasons = rules_reasons();
        let rules = OutcomeRules { actions: &["call"], refusal_reasons: &reasons };
        let good = raw("reached");
        let batch = vec![good.clone(), good.clone(), RawOutcome { id: Some("o-2".into()), ..raw("no_answer") }];
        assert_eq!(check_batch(&batch, &rules, |_| Some("C1".into())).unwrap().len(), 2);
        let clash = vec![good.clone(), RawOutcome { result: Some("no_answer".into()), ..good }];
        let e = check_batch(&clash, &rules, |_| Some("C1".into())).unwrap_err();
        assert_eq!((e.index, e.field), (1, "id"));
        assert_eq!(e.to_string(), "outcomes[1].id: outcomes[0] has the same id with other content");
    }
}
