//! One line beside each metric a page shows, on that page, in the reader's language (each line
//! is one text node, so the phrase table translates it whole): what the figure is, which way is
//! better, and the base of every rate. The wording follows `docs/glossary.md`.

use maud::{Markup, html};

/// A metric a page can explain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    RocAuc,
    LogLoss,
    Ece,
    Psi,
    Qini,
    Contribution,
    SaveRate,
    Detectable,
    LapseRateFunnel,
    LapseRateTraining,
    Persistency,
    CollectionRate,
    ObservedToExpected,
}

impl Metric {
    /// The line, in English (the phrase table holds its Chinese).
    pub fn line(self) -> &'static str {
        match self {
            Metric::RocAuc => {
                "ROC AUC: the chance that a renewal which lapsed is ranked above one which was paid (0.5 is a coin toss, 1 is perfect; higher is better)."
            }
            Metric::LogLoss => {
                "Log loss: the average penalty of the predicted probabilities against what happened (lower is better; it punishes confident mistakes most)."
            }
            Metric::Ece => {
                "ECE (expected calibration error): the average gap between the predicted lapse probability and the lapse rate observed at that probability (lower is better)."
            }
            Metric::Psi => {
                "PSI (population stability index): how far a feature's distribution today moved from the model's training data (below 0.1 stable, 0.1-0.25 watch, above 0.25 act)."
            }
            Metric::Qini => {
                "Qini: the lapses a ranking prevents beyond contacting the same number of renewals at random, summed down the list (higher is better)."
            }
            Metric::Contribution => {
                "A reason's number, e.g. (+0.50): how much that input raises this renewal's log-odds of lapse; +0.7 roughly doubles the odds."
            }
            Metric::SaveRate => {
                "Save rate: 1 - lapse rate of the contacted arm / lapse rate of the control arm, on renewals whose grace has ended: the relative cut in lapses (a good call campaign saves 10-30%; not the share of customers kept)."
            }
            Metric::Detectable => {
                "Detectable: the smallest save rate this campaign's size could tell from zero (80% power, two-sided 5%); a smaller true effect may be real but unmeasured."
            }
            Metric::LapseRateFunnel => {
                "Lapse rate here: of the renewals due in the month, those unpaid when their grace ended (most customers pay: a few percent)."
            }
            Metric::LapseRateTraining => {
                "Lapse rate of the training table: of the renewals at risk on each snapshot date (due within 30 days or overdue in grace, so unpaid at the snapshot), those that lapsed: higher than a month's lapse rate, because renewals already paid are not at risk."
            }
            Metric::Persistency => {
                "Persistency: of the policies whose 13th (25th) month premium fell due with its grace over, the share that paid it (a policy, not a renewal, is counted)."
            }
            Metric::CollectionRate => "Collection rate: premium collected within grace / premium due of the renewals due in the month (达成率).",
            Metric::ObservedToExpected => {
                "Observed / expected: the premium collected over what an average agent was expected to collect from the same customers (above 1 is better than the book predicts)."
            }
        }
    }
}

/// The lines of `metrics`, as a note.
pub fn metric_notes(metrics: &[Metric]) -> Markup {
    html! {
        ul.note.metrics {
            @for m in metrics { li { (m.line()) } }
        }
    }
}

/// Every line (for the phrase table's test).
pub const ALL: [Metric; 13] = [
    Metric::RocAuc,
    Metric::LogLoss,
    Metric::Ece,
    Metric::Psi,
    Metric::Qini,
    Metric::Contribution,
    Metric::SaveRate,
    Metric::Detectable,
    Metric::LapseRateFunnel,
    Metric::LapseRateTraining,
    Metric::Persistency,
    Metric::CollectionRate,
    Metric::ObservedToExpected,
];

/// The metrics a page (by its title) shows, explained at its top.
pub fn of_page(title: &str) -> &'static [Metric] {
    use Metric::*;
    match title {
        "Drift report" => &[Psi],
        "Champion and challenger" => &[RocAuc, LogLoss, Ece],
        "Persistency" => &[Persistency],
        "Realised performance" => &[RocAuc, LogLoss],
        "Renewal funnel" => &[LapseRateFunnel],
        "Renewal team performance" => &[CollectionRate, ObservedToExpected],
        "Why customers lapse" => &[Contribution, LapseRateTraining],
        t if t.starts_with("Nightly run") => &[RocAuc, LogLoss, LapseRateTraining, Psi],
        t if t.starts_with("Campaign effect") => &[SaveRate, Detectable],
        t if t.starts_with("Uplift") => &[Qini, SaveRate],
        _ => &[],
    }
}
