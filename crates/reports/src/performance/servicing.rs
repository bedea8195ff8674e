//! Orphan policies (孤儿单) apart: each renewal's servicing state at its due date, the level
//! `servicing` of the report, so the collection rate of renewals whose agent had left, and of
//! policies before and after a reassignment, stand beside that of serviced ones.
//!
//! For a renewal due on D of a policy whose recorded agent left on L (the agents table) and
//! whose `agent_change` events (before T) fall on dates c:
//! - `no agent`: the policy has no agent;
//! - `after reassignment`: a change on or before D, no more than [`REASSIGNMENT_WINDOW_DAYS`]
//!   before it, and not before L when the agent has left (a 收展 team took the policy over);
//! - `orphan`: the recorded agent had left by D (L <= D) and no change since L;
//! - `before reassignment`: a change after D (before T), no more than the window after it;
//! - `serviced`: the rest (the agent in service, no change near).
//!
//! The extract names the new agent only (an `agent_change` event carries no previous agent), so
//! "before reassignment" is the policy under its previous agent, who may have left or not; the
//! `orphan` state is the one the extract proves. The window keeps before and after comparable
//! (a year each side, not a policy's whole life).

use lapse_core::dates::Day;
use lapse_core::extract::Book;

/// Days each side of a reassignment that count as before and after it.
pub const REASSIGNMENT_WINDOW_DAYS: i32 = 365;

/// The states, in the report's order (the codes [`servicing_states`] returns index it).
pub const STATES: [&str; 5] = ["serviced", "orphan", "before reassignment", "after reassignment", "no agent"];

const SERVICED: u8 = 0;
const ORPHAN: u8 = 1;
const BEFORE: u8 = 2;
const AFTER: u8 = 3;
const NO_AGENT: u8 = 4;

/// Per installment row of `book`, its servicing state at its due date ([`STATES`] index), as
/// the extract shows it before `as_of`. A byte per installment: 90 MB for a 10M-policy book's
/// 90M installments.
pub fn servicing_states(book: &Book, as_of: Day) -> Vec<u8> {
    let (policies, inst, events) = (&book.policies, &book.installments, &book.events);
    let change = events.kind.code_of("agent_change");
    let mut states = vec![SERVICED; inst.number.len()];
    let mut changes: Vec<Day> = Vec::new();
    for p in 0..policies.len() {
        changes.clear();
        if let Some(code) = change {
            changes.extend(events.of_policy(p).filter(|&e| events.kind.codes[e] == code && events.date[e] < as_of).map(|e| events.date[e]));
            changes.sort_unstable();
        }
        let has_agent = policies.agent_id.get(p).is_some();
        let left = policies.agent[p].and_then(|a| book.agents.leave_date[a as usize]).filter(|&l| l < as_of);
        for i in inst.of_policy(p) {
            let due = inst.due[i];
            states[i] = if !has_agent {
                NO_AGENT
            } else {
                let last_change = changes.iter().rev().find(|&&c| c <= due).copied();
                let next_change = changes.iter().find(|&&c| c > due).copied();
                let after = last_change.filter(|&c| due - c <= REASSIGNMENT_WINDOW_DAYS);
                match left.filter(|&l| l <= due) {
                    Some(l) if after.is_some_and(|c| c >= l) => AFTER,
                    Some(_) => ORPHAN,
                    None if after.is_some() => AFTER,
                    None if next_change.is_some_and(|c| c - due <= REASSIGNMENT_WINDOW_DAYS) => BEFORE,
                    None => SERVICED,
                }
            };
        }
    }
    states
}
