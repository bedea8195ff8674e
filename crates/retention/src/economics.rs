//! What a renewal is worth and what to do about it: the value at risk, the retention actions
//! with their save rates and costs, the expected gain of each, and the risk x value segments.
//!
//! Value V = annualized premium x remaining payment years, the years capped (a 30-year term
//! is not worth 30 years of premium to a collection team: later years are uncertain and
//! discounted). For an action a with save rate s_a (the share of would-be lapses it saves) and
//! cost c_a, gain_a = p x s_a x V - c_a. The recommended action is the one with the largest
//! gain, and "none" when no gain is positive.

use serde::{Deserialize, Serialize};

/// One retention action a team can take.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Action {
    /// `sms`, `call`, `visit`, ...
    pub name: String,
    /// Share of would-be lapses the action saves (0..1).
    pub save_rate: f64,
    /// Cost of one contact, in premium currency.
    pub cost: f64,
    /// Save rates measured per segment (`high_risk_high_value`, ...; `lapse effect
    /// --economics-out` writes them where a campaign could measure them): a renewal of a listed
    /// segment uses its segment's rate instead of `save_rate`.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub segment_save_rates: std::collections::BTreeMap<String, f64>,
}

impl Action {
    /// An action with one save rate for every segment.
    pub fn new(name: &str, save_rate: f64, cost: f64) -> Action {
        Action { name: name.into(), save_rate, cost, segment_save_rates: Default::default() }
    }
}

/// The economics of the work list: value cap, actions, band thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Economics {
    /// Remaining payment years counted in the value at risk, at most.
    pub value_cap_years: f64,
    /// The actions, cheapest first by convention.
    pub actions: Vec<Action>,
    /// Upper bounds of the `low` and `medium` risk bands (P(lapse)); above is `high`.
    pub risk_bands: [f64; 2],
    /// Upper bounds of the `low` and `medium` value bands (value at risk); above is `high`.
    pub value_bands: [f64; 2],
}

impl Default for Economics {
    /// Defaults for a life book paying premiums in the thousands: an SMS reminder saves few
    /// lapses but costs almost nothing, a call by a collection agent saves more, a visit by
    /// the servicing agent saves most and costs most. Save rates are of the order reported for
    /// retention campaigns (a few percent for reminders, 10-30% for personal contact); set
    /// your own from your campaign results with `--economics FILE`.
    fn default() -> Self {
        Economics {
            value_cap_years: 5.0,
            actions: vec![Action::new("sms", 0.05, 0.5), Action::new("call", 0.20, 15.0), Action::new("visit", 0.35, 120.0)],
            risk_bands: [0.10, 0.30],
            value_bands: [10_000.0, 50_000.0],
        }
    }
}

/// The recommended action of a renewal: an index into [`Economics::actions`], or none (the
/// scoring rows' code, one value for "no action pays" and "not assigned").
pub use lapse_model::scoring::NO_ACTION;

/// An economics file that cannot be used: the file, and what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct EconomicsError {
    pub path: std::path::PathBuf,
    pub message: String,
}

impl Economics {
    /// Reads economics from a JSON file (missing fields take the defaults).
    pub fn from_file(path: &std::path::Path) -> Result<Self, EconomicsError> {
        let fail = |message: String| EconomicsError { path: path.to_path_buf(), message };
        let bytes = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
        let economics: Economics = serde_json::from_slice(&bytes).map_err(|e| fail(e.to_string()))?;
        economics.validate().map_err(|e| fail(e.0))?;
        Ok(economics)
    }

    /// Checks the numbers make sense.
    pub fn validate(&self) -> Result<(), lapse_core::error::InvalidInput> {
        self.problem().map_or(Ok(()), |reason| Err(lapse_core::error::InvalidInput(reason)))
    }

    /// What is wrong with the numbers, if anything.
    fn problem(&self) -> Option<String> {
        if !(self.value_cap_years.is_finite() && self.value_cap_years > 0.0) {
            return Some(format!("value_cap_years must be > 0, not {}", self.value_cap_years));
        }
        if self.actions.is_empty() || self.actions.len() > 16 {
            return Some("give between 1 and 16 actions".into());
        }
        for a in &self.actions {
            if a.name.is_empty() || a.name == "none" || !a.name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_')) {
                return Some(format!("action name {:?} is not allowed (letters, digits, '-' and '_'; not none)", a.name));
            }
            if !(0.0..=1.0).contains(&a.save_rate) {
                return Some(format!("action {}: save_rate must be in [0, 1], not {}", a.name, a.save_rate));
            }
            for (segment, rate) in &a.segment_save_rates {
                if !segments().any(|s| s == segment) {
                    return Some(format!("action {}: no segment {segment:?} (segments are like high_risk_low_value)", a.name));
                }
                if !(0.0..=1.0).contains(rate) {
                    return Some(format!("action {}, segment {segment}: save rate must be in [0, 1], not {rate}", a.name));
                }
            }
            if !(a.cost.is_finite() && a.cost >= 0.0) {
                return Some(format!("action {}: cost must be >= 0, not {}", a.name, a.cost));
            }
        }
        let ascending = |b: [f64; 2]| b[0].is_finite() && b[1].is_finite() && b[0] <= b[1];
        if !ascending(self.risk_bands) || !ascending(self.value_bands) {
            return Some("band thresholds must be finite and ascending".into());
        }
        None
    }

    /// Value at risk of a renewal.
    pub fn value(&self, annualized_premium: f64, remaining_payment_years: f64) -> f64 {
        let years = if remaining_payment_years.is_finite() { remaining_payment_years.clamp(0.0, self.value_cap_years) } else { 1.0 };
        let premium = if annualized_premium.is_finite() { annualized_premium.max(0.0) } else { 0.0 };
        premium * years
    }

    /// The save rate of action `a` for a renewal of lapse probability `p` and value `v`: its
    /// segment's measured rate when there is one, else the action's.
    pub fn save_rate(&self, a: &Action, p: f64, v: f64) -> f64 {
        if a.segment_save_rates.is_empty() {
            return a.save_rate;
        }
        let segment = segment_name(self.risk_band(p), self.value_band(v));
        a.segment_save_rates.get(segment).copied().unwrap_or(a.save_rate)
    }

    /// The expected gain of action `a` for lapse probability `p` and value `v`:
    /// p x s_a x V - c_a.
    pub fn gain(&self, a: &Action, p: f64, v: f64) -> f64 {
        self.benefit(a, p, v) - a.cost
    }

    /// What action `a` is expected to save before its cost: p x s_a x V.
    pub fn benefit(&self, a: &Action, p: f64, v: f64) -> f64 {
        p * self.save_rate(a, p, v) * v
    }

    /// The best action and its gain for lapse probability `p` and value `v`; [`NO_ACTION`]
    /// (gain 0) when no action has a positive expected gain.
    pub fn best_action(&self, p: f64, v: f64) -> (u8, f64) {
        let mut best = (NO_ACTION, 0.0);
        for (i, a) in self.actions.iter().enumerate() {
            let gain = self.gain(a, p, v);
            if gain > best.1 {
                best = (i as u8, gain);
            }
        }
        best
    }

    /// The action's name.
    pub fn action_name(&self, action: u8) -> &str {
        self.actions.get(usize::from(action)).map_or("none", |a| a.name.as_str())
    }

    /// Risk band (0 low, 1 medium, 2 high) of a probability.
    pub fn risk_band(&self, p: f64) -> u8 {
        band(p, self.risk_bands)
    }

    /// Value band (0 low, 1 medium, 2 high) of a value at risk.
    pub fn value_band(&self, v: f64) -> u8 {
        band(v, self.value_bands)
    }
}

fn band(x: f64, bounds: [f64; 2]) -> u8 {
    if x < bounds[0] {
        0
    } else if x < bounds[1] {
        1
    } else {
        2
    }
}

/// Scoring asks the economics for a renewal's value and best action.
impl lapse_model::scoring::Valuation for Economics {
    fn value(&self, annualized_premium: f64, remaining_payment_years: f64) -> f64 {
        Economics::value(self, annualized_premium, remaining_payment_years)
    }

    fn best_action(&self, probability: f64, value: f64) -> (u8, f64) {
        Economics::best_action(self, probability, value)
    }
}

/// Names of the three bands.
pub const BAND_NAMES: [&str; 3] = ["low", "medium", "high"];

/// The segment name of a risk band and a value band (`high_risk_high_value`, ...).
pub fn segment_name(risk: u8, value: u8) -> &'static str {
    const NAMES: [[&str; 3]; 3] = [
        ["low_risk_low_value", "low_risk_medium_value", "low_risk_high_value"],
        ["medium_risk_low_value", "medium_risk_medium_value", "medium_risk_high_value"],
        ["high_risk_low_value", "high_risk_medium_value", "high_risk_high_value"],
    ];
    NAMES[usize::from(risk.min(2))][usize::from(value.min(2))]
}

/// Every segment name (risk band x value band), low risk low value first.
pub fn segments() -> impl Iterator<Item = &'static str> {
    (0..3u8).flat_map(|r| (0..3u8).map(move |v| segment_name(r, v)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_action_is_the_largest_positive_gain() {
        let e = Economics::default();
        // Low risk, low value: nothing pays.
        assert_eq!(e.best_action(0.01, 10.0).0, NO_ACTION);
        // p=0.5, V=20000: sms 0.5*0.05*20000-0.5=499.5, call 1985, visit 3380 -> visit.
        let (a, gain) = e.best_action(0.5, 20_000.0);
        assert_eq!(e.action_name(a), "visit");
        assert!((gain - 3380.0).abs() < 1e-9);
        // p=0.05, V=2000: sms 4.5, call 5, visit -85 -> call.
        let (a, gain) = e.best_action(0.05, 2000.0);
        assert_eq!(e.action_name(a), "call");
        assert!((gain - 5.0).abs() < 1e-9);
    }

    #[test]
    fn a_measured_segment_rate_replaces_the_action_rate_in_its_segment() {
        let mut e = Economics::default();
        e.actions[2].segment_save_rates.insert("high_risk_high_value".into(), 0.0);
        e.validate().unwrap();
        // p=0.5, V=60000 is high risk, high value: a visit saves nothing there, a call does.
        assert_eq!(e.action_name(e.best_action(0.5, 60_000.0).0), "call");
        // p=0.5, V=20000 is high risk, medium value: the action's own rate.
        assert_eq!(e.action_name(e.best_action(0.5, 20_000.0).0), "visit");
        e.actions[2].segment_save_rates.insert("no_such_segment".into(), 0.1);
        assert!(e.validate().unwrap_err().contains("no segment"));
    }

    #[test]
    fn value_caps_the_years() {
        let e = Economics::default();
        assert_eq!(e.value(1200.0, 20.0), 6000.0);
        assert_eq!(e.value(1200.0, 2.0), 2400.0);
        assert_eq!(e.value(f64::NAN, 2.0), 0.0);
    }

    #[test]
    fn bad_economics_are_refused() {
        let mut e = Economics::default();
        e.actions[0].save_rate = 1.5;
        assert!(e.validate().unwrap_err().contains("save_rate"));
        let e = Economics { risk_bands: [0.5, 0.1], ..Economics::default() };
        assert!(e.validate().is_err());
    }
}
