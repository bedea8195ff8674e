//! Scoring typed snapshot rows straight from the feature builder, without a table in between:
//! the inline path (`POST /v1/score` with raw records), where building a polars frame per
//! request cost more than the scoring itself. Each model feature is computed by the catalog's
//! own function, then typed as the model's schema says, exactly as the snapshot file would be
//! read back ([`super::FrameSource`]); a test scores both ways and compares.

use std::ops::Range;

use super::rows::{FeatureSource, RenewalKeys, ScoreError};
use lapse_core::categories::Categories;
use lapse_core::features::{Compute, FEATURES, Snapshot};

/// The catalog function of a feature.
fn compute_of(name: &str) -> Result<Compute, ScoreError> {
    FEATURES
        .iter()
        .find(|f| f.name == name)
        .map(|f| f.compute)
        .ok_or_else(|| ScoreError::Input(format!("no column {name:?} (build the snapshot with `lapse features`)")))
}

/// A numeric catalog feature over rows (NaN where missing).
fn numbers(snapshot: &Snapshot<'_>, name: &str, rows: Range<usize>) -> Result<Vec<f64>, ScoreError> {
    Ok(match compute_of(name)? {
        Compute::Numeric(f) => rows.map(|i| f(snapshot.ctx(i)).unwrap_or(f64::NAN)).collect(),
        // Text read as a number, as a table reader casting the column would.
        Compute::Categorical(f) => rows.map(|i| f(snapshot.ctx(i)).and_then(|s| s.parse::<f64>().ok()).unwrap_or(f64::NAN)).collect(),
    })
}

/// A categorical catalog feature over rows.
fn categories(snapshot: &Snapshot<'_>, name: &str, rows: Range<usize>) -> Result<Categories, ScoreError> {
    match compute_of(name)? {
        Compute::Categorical(f) => Ok(Categories::from_values(rows.map(|i| f(snapshot.ctx(i))))),
        Compute::Numeric(_) => Err(ScoreError::Model(format!("the model takes {name:?} as a category; the feature builder makes it a number"))),
    }
}

impl RenewalKeys {
    /// The keys of every row of a snapshot.
    pub fn from_snapshot(snapshot: &Snapshot<'_>) -> Result<RenewalKeys, ScoreError> {
        let book = snapshot.book;
        let rows = &snapshot.rows;
        let all = 0..rows.len();
        let agent = Categories::from_values(rows.iter().map(|r| book.policies.agent_id.get(r.policy as usize)));
        let left = numbers(snapshot, "orphan_policy", all.clone())?;
        let orphan = agent.codes.iter().zip(&left).map(|(&code, &l)| code == Categories::MISSING || l == 1.0).collect();
        let customer = Categories::from_values(rows.iter().map(|r| {
            let c = book.policies.customer[r.policy as usize] as usize;
            book.customers.id.get(c).map(String::as_str)
        }));
        Ok(RenewalKeys {
            policy_id: rows.iter().map(|r| Box::from(book.policies.id[r.policy as usize].as_str())).collect(),
            installment_no: rows.iter().map(|r| book.installments.number[r.installment as usize]).collect(),
            due: rows.iter().map(|r| book.installments.due[r.installment as usize]).collect(),
            as_of: vec![snapshot.spec.as_of; rows.len()],
            annualized_premium: numbers(snapshot, "annualized_premium", all.clone())?,
            remaining_payment_years: numbers(snapshot, "remaining_payment_years", all.clone())?,
            agent,
            channel: categories(snapshot, "channel", all.clone())?,
            region: categories(snapshot, "region", all.clone())?,
            product_code: categories(snapshot, "product_code", all.clone())?,
            product_type: categories(snapshot, "product_type", all)?,
            customer,
            orphan,
            contact_changed: super::frame::contact_changed(
                &vec![snapshot.spec.as_of; rows.len()],
                &numbers(snapshot, "days_since_contact_change", 0..rows.len())?,
            ),
        })
    }
}

/// The model's features computed from a snapshot's rows.
pub struct SnapshotSource<'s, 'b>(pub &'s Snapshot<'b>);

impl FeatureSource for SnapshotSource<'_, '_> {
    fn numbers(&self, name: &str, rows: Range<usize>) -> Result<Vec<f64>, ScoreError> {
        numbers(self.0, name, rows)
    }

    fn categories(&self, name: &str, rows: Range<usize>) -> Result<Categories, ScoreError> {
        categories(self.0, name, rows)
    }
}
