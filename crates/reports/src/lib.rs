//! lapse reports: what analysts and managers read, as JSON and self-contained HTML pages.
//!
//! [`persistency`] (13th/25th-month persistency from a book), [`realised`] (the score log
//! joined with outcomes), [`night`] (what a nightly run records: summary, champion/challenger
//! evaluation, decision line), the drift report ([`lapse_model::drift::DriftReport`], computed
//! in the model crate because the registry stores its reference), the [`pages`] that render them
//! (maud templates, plotters charts) and the [`export`] that writes them; [`why`] is why
//! customers lapse across the book (groups, observed and predicted rates, top reasons);
//! [`performance`] is renewal team performance (collection rate by agent, team, branch, region,
//! channel and product, against targets, risk-adjusted); [`audit`] is the data-quality audit's
//! history (the audit itself is `lapse_core::audit`); [`history`] is every night's reports read
//! into one history for the console's pages over time. Reports never import
//! the nightly job that makes some of them.

pub mod audit;
pub mod effect;
pub mod export;
pub mod funnel;
pub mod history;
pub mod night;
pub mod pages;
pub mod performance;
pub mod persistency;
pub mod realised;
pub mod uplift;
pub mod why;

pub use export::{ExportError, Exporter, write_html, write_json};
pub use pages::Context;

#[cfg(test)]
mod tests;
