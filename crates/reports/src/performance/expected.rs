//! What the lapse model expected of each renewal, point in time: for each due month M, the
//! renewals due in M are scored on a snapshot taken at M's first day (what was known before the
//! month began: the list a team starts the month with), with the agent's own record set to the
//! book's typical value, so the expectation is that of an average agent on the same customers.

use std::ops::Range;

use lapse_core::categories::Categories;
use lapse_core::extract::Book;
use lapse_core::features::{KnownCodes, Snapshot, SnapshotSpec};
use lapse_model::artifact::LapseModel;
use lapse_model::fitted::{FittedRenewals, renewal_key};
use lapse_model::scoring::{FeatureSource, ScoreError, SnapshotSource};

use super::{Month, RiskModel};

/// The inputs that describe the servicing agent's own record: neutralized when scoring.
pub const AGENT_RECORD: [&str; 3] = ["agent_lapse_rate_12m", "agent_renewals_12m", "agent_tenure_years"];

/// Snapshot rows scored at a time.
const SCORE_BLOCK: usize = 65_536;

/// A snapshot's features with the agent-record inputs replaced by one value each.
struct AverageAgent<'s, 'b> {
    inner: SnapshotSource<'s, 'b>,
    values: Vec<(&'static str, f64)>,
}

impl FeatureSource for AverageAgent<'_, '_> {
    fn numbers(&self, name: &str, rows: Range<usize>) -> Result<Vec<f64>, ScoreError> {
        match self.values.iter().find(|(n, _)| *n == name) {
            Some(&(_, value)) => Ok(vec![value; rows.len()]),
            None => self.inner.numbers(name, rows),
        }
    }

    fn categories(&self, name: &str, rows: Range<usize>) -> Result<Categories, ScoreError> {
        self.inner.categories(name, rows)
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.retain(|v| !v.is_nan());
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// P(lapse) per installment row of `book` (NaN for rows not due in `months`; 0 for renewals
/// due in them but paid before their month began), and what was scored.
pub fn expected_lapse(
    book: &Book,
    model: &LapseModel,
    version: &str,
    fitted: Option<&FittedRenewals>,
    months: &[Month],
    grace_days: i32,
) -> Result<(Vec<f32>, RiskModel), ScoreError> {
    expected_lapse_in_blocks(book, model, version, fitted, months, grace_days, SCORE_BLOCK)
}

/// [`expected_lapse`] scoring `block` snapshot rows at a time.
pub(crate) fn expected_lapse_in_blocks(
    book: &Book,
    model: &LapseModel,
    version: &str,
    fitted: Option<&FittedRenewals>,
    months: &[Month],
    grace_days: i32,
    score_block: usize,
) -> Result<(Vec<f32>, RiskModel), ScoreError> {
    let inst = &book.installments;
    let mut lapse = vec![f32::NAN; inst.len()];
    // Renewals due in the months: 0 until a snapshot scores them (paid before their month).
    let (first, last) = match (months.first(), months.last()) {
        (Some(a), Some(b)) => (a.first_day(), b.last_day()),
        _ => return Ok((lapse, RiskModel { version: version.into(), neutralized: Vec::new(), scored: 0, fitted_share: None })),
    };
    for (i, slot) in lapse.iter_mut().enumerate() {
        if inst.number[i] >= 2 && (first..=last).contains(&inst.due[i]) {
            *slot = 0.0;
        }
    }
    let codes = KnownCodes::resolve(book);
    let uses = |name: &str| model.schema.columns.iter().any(|c| c.name == name);
    let neutralized: Vec<String> = AGENT_RECORD.iter().filter(|n| uses(n)).map(|n| n.to_string()).collect();
    let (mut scored, mut fitted_rows) = (0u64, 0u64);
    for month in months {
        let start = month.first_day();
        let spec = SnapshotSpec { as_of: start, horizon_days: month.last_day() - start, grace_days, extract_date: start };
        let snapshot = Snapshot::build(book, &codes, spec);
        let rows: Vec<usize> = (0..snapshot.len())
            .filter(|&r| {
                let due = inst.due[snapshot.rows[r].installment as usize];
                due >= start && due <= month.last_day()
            })
            .collect();
        if rows.is_empty() {
            continue;
        }
        let inner = SnapshotSource(&snapshot);
        let mut values = Vec::new();
        for name in AGENT_RECORD.iter().filter(|n| uses(n)) {
            let value = if *name == "agent_lapse_rate_12m" { snapshot.book_lapse_rate } else { median(inner.numbers(name, 0..snapshot.len())?) };
            values.push((*name, value));
        }
        let source = AverageAgent { inner, values };
        // A block of snapshot rows at a time: a big book's month never has every feature
        // column of every row in memory at once.
        let mut probabilities = Vec::with_capacity(rows.len());
        let mut next = 0;
        for block in (0..snapshot.len()).step_by(score_block) {
            let block = block..(block + score_block).min(snapshot.len());
            let end = next + rows[next..].partition_point(|&r| r < block.end);
            if end == next {
                continue;
            }
            let columns = source.features(model, block.clone())?;
            let local: Vec<usize> = rows[next..end].iter().map(|&r| r - block.start).collect();
            let design = model.design(&columns, &local).map_err(|e| ScoreError::Model(e.to_string()))?;
            probabilities.extend(model.predict_design(&design));
            next = end;
        }
        for (&r, p) in rows.iter().zip(probabilities) {
            let row = snapshot.rows[r];
            lapse[row.installment as usize] = p as f32;
            scored += 1;
            if let Some(fitted) = fitted {
                let id = &book.policies.id[row.policy as usize];
                if fitted.contains(renewal_key(id, i64::from(inst.number[row.installment as usize]))) {
                    fitted_rows += 1;
                }
            }
        }
    }
    let fitted_share = fitted.filter(|_| scored > 0).map(|_| fitted_rows as f64 / scored as f64);
    Ok((lapse, RiskModel { version: version.into(), neutralized, scored, fitted_share }))
}
