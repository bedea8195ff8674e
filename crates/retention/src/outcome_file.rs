//! Outcomes as files: a call-centre export read for `lapse outcomes import` (CSV or Parquet,
//! every column read as text and checked as `POST /v1/outcomes` checks a batch), and every stored
//! outcome written for `lapse outcomes export` (atomically, a temp file renamed into place).

use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::outcomes::{Outcome, RawOutcome};
use lapse_core::dates::format_day;
use lapse_core::features::{WriteError, write_frames};
use lapse_core::table::read_frame;

/// The columns of an outcomes file, in the order they are written.
pub const COLUMNS: [&str; 11] =
    ["id", "policy_id", "installment_no", "customer_id", "action", "result", "at", "reason", "promised_date", "agent_id", "note"];

/// An outcomes file that cannot be read or written.
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct OutcomeFileError {
    pub path: PathBuf,
    pub message: String,
}

/// Reads an outcomes file as raw outcomes, one per data row (row i is `outcomes[i]` of the
/// batch: checking names the row). A column it does not know is refused (a misspelt
/// `promise_date` would otherwise be dropped silently); `id`, `policy_id`, `installment_no`,
/// `action`, `result` and `at` are required.
pub fn read_outcomes_file(path: &Path) -> Result<Vec<RawOutcome>, OutcomeFileError> {
    let fail = |message: String| OutcomeFileError { path: path.to_path_buf(), message };
    let (df, _) = read_frame(path).map_err(|e| fail(e.message))?;
    if let Some(unknown) = df.get_column_names().into_iter().find(|c| !COLUMNS.contains(&c.as_str())) {
        return Err(fail(format!("unknown column {unknown:?} (columns: {})", COLUMNS.join(", "))));
    }
    for required in ["id", "policy_id", "installment_no", "action", "result", "at"] {
        if df.column(required).is_err() {
            return Err(fail(format!("missing column {required}")));
        }
    }
    let text = |name: &str| -> Result<Option<StringChunked>, OutcomeFileError> {
        match df.column(name) {
            Ok(c) => {
                let c = c.cast(&DataType::String).map_err(|e| fail(format!("column {name}: {e}")))?;
                Ok(Some(c.str().map_err(|e| fail(e.to_string()))?.clone()))
            }
            Err(_) => Ok(None),
        }
    };
    let columns: Vec<Option<StringChunked>> = COLUMNS.iter().map(|c| text(c)).collect::<Result<_, _>>()?;
    let mut out = Vec::with_capacity(df.height());
    for i in 0..df.height() {
        let cell = |c: usize| columns[c].as_ref().and_then(|col| col.get(i)).map(str::trim).filter(|t| !t.is_empty()).map(str::to_string);
        let installment_no = cell(2).map(|t| t.parse::<i64>().unwrap_or(-1));
        out.push(RawOutcome {
            id: cell(0),
            policy_id: cell(1),
            installment_no,
            customer_id: cell(3),
            action: cell(4),
            result: cell(5),
            at: cell(6),
            reason: cell(7),
            promised_date: cell(8),
            agent_id: cell(9),
            note: cell(10),
        });
    }
    Ok(out)
}

/// Writes `outcomes` to `path` (.csv or .parquet) atomically; returns the rows written.
pub fn write_outcomes_file(path: &Path, outcomes: &[Outcome]) -> Result<usize, OutcomeFileError> {
    let fail = |message: String| OutcomeFileError { path: path.to_path_buf(), message };
    let text = |name: &str, f: &dyn Fn(&Outcome) -> Option<String>| Column::new(name.into(), outcomes.iter().map(f).collect::<Vec<_>>());
    let columns = vec![
        text("id", &|o| Some(o.id.clone())),
        text("policy_id", &|o| Some(o.policy_id.clone())),
        Column::new("installment_no".into(), outcomes.iter().map(|o| o.installment_no).collect::<Vec<_>>()),
        text("customer_id", &|o| Some(o.customer_id.clone())),
        text("action", &|o| Some(o.action.clone())),
        text("result", &|o| Some(o.result.as_str().to_string())),
        text("at", &|o| Some(o.at.clone())),
        text("reason", &|o| o.reason.clone()),
        text("promised_date", &|o| o.promised_date.map(format_day)),
        text("agent_id", &|o| o.agent_id.clone()),
        text("note", &|o| o.note.clone()),
    ];
    let frame = DataFrame::new(outcomes.len(), columns);
    write_frames(path, Vec::new(), std::iter::once(frame)).map_err(|e| match e {
        WriteError::Extension(_) => fail("unknown extension (expected .csv or .parquet)".into()),
        other => fail(other.to_string()),
    })
}

/// Each policy's customer in a scoring snapshot (built by `lapse features`).
pub fn customers_of_snapshot(path: &Path) -> Result<std::collections::HashMap<String, String>, OutcomeFileError> {
    let fail = |message: String| OutcomeFileError { path: path.to_path_buf(), message };
    let (df, _) = read_frame(path).map_err(|e| fail(e.message))?;
    let text = |name: &str| -> Result<StringChunked, OutcomeFileError> {
        let c = df.column(name).map_err(|_| fail(format!("missing column {name}")))?;
        let c = c.cast(&DataType::String).map_err(|e| fail(format!("column {name}: {e}")))?;
        Ok(c.str().map_err(|e| fail(e.to_string()))?.clone())
    };
    let (policy, customer) = (text("policy_id")?, text("customer_id")?);
    Ok(policy.iter().zip(customer.iter()).filter_map(|(p, c)| Some((p?.to_string(), c?.to_string()))).collect())
}

/// Outcomes a call centre would have recorded for the contacts of a (generated) book, for the
/// demo and the tests: one per `contact_sms` / `contact_call` / `contact_visit` event dated
/// before `extract_date` that falls in a renewal's window (from 30 days before its due date to
/// the end of its grace). Deterministic in `seed`. Documented in docs/contact-rules.md:
///
/// - reached: a visit 80%, a call 55% (65% on the agent channel), an SMS 10% (a reply);
///   unreached calls and SMS are `no_answer`; 3% of customers have a wrong number (every call
///   and SMS to them is `wrong_number`);
/// - reached about a renewal that is then paid within grace: 60% `promised` (the promised date
///   is the payment date, or up to 5 days before it: most promises are kept), else `reached`;
/// - reached about a renewal that lapses: 45% `refused` (reasons: cannot_afford 40%,
///   dissatisfied 20%, bought_elsewhere 15%, no_longer_needed 15%, other 10%), 25% `promised`
///   a week ahead (broken), 5% `do_not_contact`, else `reached`.
///
/// So outcomes carry what the payments later show: a model may learn from them.
pub fn simulated_outcomes(book: &lapse_core::extract::Book, seed: u64, extract_date: lapse_core::dates::Day, grace_days: i32) -> Vec<Outcome> {
    use crate::campaign::arms::renewal_hash;
    use crate::outcomes::{ContactResult, parse_instant};
    // Draws in [0, 1) from a keyed hash: the same book and seed give the same outcomes.
    let draw = |key: &str, policy: &str, n: u32, salt: u64| -> f64 {
        let h = renewal_hash(&format!("{seed}:{salt}:{key}"), policy, n);
        (h >> 11) as f64 / (1u64 << 53) as f64
    };
    let (events, inst, policies) = (&book.events, &book.installments, &book.policies);
    let mut out = Vec::new();
    for p in 0..policies.len() {
        let policy = policies.id[p].as_str();
        let customer = book.customers.id[policies.customer[p] as usize].as_str();
        let wrong_number = draw("wrong-number", customer, 0, 0) < 0.03;
        let agent_channel = policies.channel.get(p).is_some_and(|c| c.eq_ignore_ascii_case("agent"));
        for e in events.of_policy(p) {
            let day = events.date[e];
            let action = match events.kind.get(e) {
                Some("contact_sms") => "sms",
                Some("contact_call") => "call",
                Some("contact_visit") => "visit",
                _ => continue,
            };
            if day >= extract_date {
                continue;
            }
            let Some(i) = inst.of_policy(p).find(|&i| inst.number[i] >= 2 && inst.due[i] - 30 <= day && day <= inst.due[i] + grace_days) else {
                continue;
            };
            let n = inst.number[i];
            let key = format!("{}:{action}", lapse_core::dates::format_day(day));
            let paid = inst.paid[i].filter(|&d| d <= inst.due[i] + grace_days);
            let reach = match action {
                "visit" => 0.8,
                "call" if agent_channel => 0.65,
                "call" => 0.55,
                _ => 0.10,
            };
            let (u, v) = (draw(&key, policy, n, 1), draw(&key, policy, n, 2));
            let (result, reason, promised) = if wrong_number && action != "visit" {
                (ContactResult::WrongNumber, None, None)
            } else if u >= reach {
                (ContactResult::NoAnswer, None, None)
            } else if let Some(paid) = paid {
                if v < 0.6 && paid >= day {
                    (ContactResult::Promised, None, Some((paid - (draw(&key, policy, n, 3) * 6.0) as i32).max(day)))
                } else {
                    (ContactResult::Reached, None, None)
                }
            } else if v < 0.45 {
                let w = draw(&key, policy, n, 4);
                let reason = match w {
                    w if w < 0.40 => "cannot_afford",
                    w if w < 0.60 => "dissatisfied",
                    w if w < 0.75 => "bought_elsewhere",
                    w if w < 0.90 => "no_longer_needed",
                    _ => "other",
                };
                (ContactResult::Refused, Some(reason.to_string()), None)
            } else if v < 0.70 {
                (ContactResult::Promised, None, Some(day + 7))
            } else if v < 0.75 {
                (ContactResult::DoNotContact, None, None)
            } else {
                (ContactResult::Reached, None, None)
            };
            let at = format!("{}T10:00:00+08:00", lapse_core::dates::format_day(day));
            let Some((at_ms, local_day)) = parse_instant(&at) else { continue };
            out.push(Outcome {
                id: format!("sim-{policy}-{n}-{key}"),
                policy_id: policy.to_string(),
                installment_no: n,
                customer_id: customer.to_string(),
                action: action.to_string(),
                result,
                at,
                at_ms,
                day: local_day,
                reason,
                promised_date: promised,
                agent_id: policies.agent_id.get(p).map(str::to_string),
                note: None,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcomes::{ContactResult, OutcomeRules, check_batch};
    use lapse_core::extract::{OnError, load_book};
    use lapse_core::generate::{GenerateConfig, generate};

    #[test]
    fn simulated_outcomes_are_valid_deterministic_and_say_what_the_payments_show() {
        let dir = tempfile::tempdir().unwrap();
        let config = GenerateConfig::new(2000, 11);
        generate(&config).write(dir.path(), lapse_core::extract::read::FileFormat::Csv).unwrap();
        let book = load_book(dir.path(), OnError::Strict).unwrap().book;
        let all = simulated_outcomes(&book, 11, config.extract_date, 60);
        assert_eq!(all, simulated_outcomes(&book, 11, config.extract_date, 60), "deterministic");
        assert!(all.len() > 1000, "{}", all.len());
        // Valid as a batch of the API would be (ids unique, promises dated, reasons known).
        let raw: Vec<RawOutcome> = all
            .iter()
            .map(|o| RawOutcome {
                id: Some(o.id.clone()),
                policy_id: Some(o.policy_id.clone()),
                installment_no: Some(i64::from(o.installment_no)),
                customer_id: Some(o.customer_id.clone()),
                action: Some(o.action.clone()),
                result: Some(o.result.as_str().to_string()),
                at: Some(o.at.clone()),
                reason: o.reason.clone(),
                promised_date: o.promised_date.map(lapse_core::dates::format_day),
                agent_id: o.agent_id.clone(),
                note: None,
            })
            .collect();
        let reasons: Vec<String> = crate::outcomes::DEFAULT_REFUSAL_REASONS.iter().map(|s| s.to_string()).collect();
        let checked = check_batch(&raw, &OutcomeRules { actions: &["sms", "call", "visit"], refusal_reasons: &reasons }, |_| None).unwrap();
        assert_eq!(checked.len(), all.len(), "no id twice");
        // Refusals only on renewals that lapsed; a promise on a renewal then paid is dated at most
        // 5 days before the payment (and none after it).
        let inst = &book.installments;
        let paid_in_grace = |o: &Outcome| {
            let p = book.policies.id.iter().position(|id| *id == o.policy_id).unwrap();
            let i = inst.of_policy(p).find(|&i| inst.number[i] == o.installment_no).unwrap();
            inst.paid[i].filter(|&d| d <= inst.due[i] + 60)
        };
        let count = |r: ContactResult| all.iter().filter(|o| o.result == r).count();
        assert!(count(ContactResult::Refused) > 20 && count(ContactResult::Promised) > 20 && count(ContactResult::NoAnswer) > 100);
        for o in all.iter().filter(|o| o.result == ContactResult::Refused) {
            assert!(paid_in_grace(o).is_none(), "{o:?}");
        }
        for o in all.iter().filter(|o| o.result == ContactResult::Promised) {
            if let Some(paid) = paid_in_grace(o) {
                let promised = o.promised_date.unwrap();
                assert!(promised <= paid && paid <= promised + 5 || promised == o.day, "{o:?} paid {paid}");
            }
        }
        // Reach by action: visits most, SMS least.
        let reached = |action: &str| {
            let of: Vec<&Outcome> = all.iter().filter(|o| o.action == action && o.result != ContactResult::WrongNumber).collect();
            of.iter().filter(|o| o.result != ContactResult::NoAnswer).count() as f64 / of.len().max(1) as f64
        };
        assert!(
            reached("visit") > reached("call") && reached("call") > reached("sms"),
            "{} {} {}",
            reached("visit"),
            reached("call"),
            reached("sms")
        );
    }
}
