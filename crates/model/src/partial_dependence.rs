//! What the model learnt about one input: its partial dependence, the mean predicted lapse
//! probability over a sample of rows when that input is set to each of its deciles (Friedman
//! 2001), so an analyst sees the shape (rising, flat, U-shaped) behind an importance number.
//! Hand-written: a loop over a grid with the model's own design and prediction.

use serde::{Deserialize, Serialize};

use crate::artifact::LapseModel;
use crate::dataset::Dataset;
use lapse_core::table::{FeatureColumn, FeatureValues};

/// One input's partial dependence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartialDependence {
    pub feature: String,
    /// (input value, mean predicted probability) at the input's deciles.
    pub points: Vec<(f64, f64)>,
}

/// Rows sampled for the curves (evenly spaced through the table: deterministic).
const SAMPLE: usize = 2000;

/// The partial dependence of the numeric inputs among `features`, in that order.
pub fn partial_dependence(model: &LapseModel, data: &Dataset, features: &[String]) -> Vec<PartialDependence> {
    let n = data.len();
    if n == 0 {
        return Vec::new();
    }
    let step = (n / SAMPLE).max(1);
    let rows: Vec<usize> = (0..n).step_by(step).take(SAMPLE).collect();
    let sample: Vec<FeatureColumn> = data
        .features
        .iter()
        .map(|c| FeatureColumn {
            name: c.name.clone(),
            values: match &c.values {
                FeatureValues::Numeric(v) => FeatureValues::Numeric(rows.iter().map(|&r| v[r]).collect()),
                FeatureValues::Categorical(v) => FeatureValues::Categorical(v.select(&rows.iter().map(|&r| r as u32).collect::<Vec<_>>())),
            },
        })
        .collect();
    let all: Vec<usize> = (0..rows.len()).collect();
    let mut out = Vec::new();
    for name in features {
        let Some(index) = sample.iter().position(|c| &c.name == name) else { continue };
        let FeatureValues::Numeric(values) = &sample[index].values else { continue };
        let mut present: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        if present.len() < 10 {
            continue;
        }
        present.sort_by(f64::total_cmp);
        let mut grid: Vec<f64> = (0..10).map(|d| present[(d * (present.len() - 1)) / 9]).collect();
        grid.dedup();
        let mut points = Vec::with_capacity(grid.len());
        for &g in &grid {
            let mut columns = sample.clone();
            columns[index].values = FeatureValues::Numeric(vec![g; rows.len()]);
            let Ok(design) = model.design(&columns, &all) else { break };
            let p = model.predict_design(&design);
            points.push((g, p.iter().sum::<f64>() / p.len() as f64));
        }
        if points.len() == grid.len() {
            out.push(PartialDependence { feature: name.clone(), points });
        }
    }
    out
}
