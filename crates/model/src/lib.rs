//! lapse models: everything between a feature table and a score, with no HTTP, report-page or
//! command-line code in it.
//!
//! The retention decisions built on the scores (economics, work lists, campaigns, uplift, the
//! win-back ranking) are in `lapse-retention`.
//!
//! [`train`] fits and validates model families on a table and calibrates them, from the parts
//! [`dataset`] (a table as labels and feature columns), [`encode`] (the design matrix),
//! [`estimators`] (the families; [`logistic`] the Newton solver of the linear ones), [`calibrate`] and [`shap`] (exact tree contributions); [`metrics`] is
//! every quality figure once; [`artifact`] is the model as one JSON document; [`registry`]
//! keeps versions and the champion pointer; [`drift`] compares a table with the reference
//! stored with a model; [`scoring`] turns features into probabilities and reasons (value and
//! action asked of a [`scoring::Valuation`]); [`promotion`] is the champion/challenger rule;
//! [`score_log`] is the line the API logs for every score; [`fitted`] the renewals a model
//! learnt from; [`evaluate`] a registered model on a labelled table. See `ARCHITECTURE.md`.

pub mod artifact;
pub mod calibrate;
pub mod dataset;
pub mod drift;
pub mod encode;
pub mod estimators;
pub mod evaluate;
pub mod fitted;
pub mod logistic;
pub mod metrics;
pub mod partial_dependence;
pub mod promotion;
pub mod registry;
pub mod score_log;
pub mod scoring;
pub mod shap;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
pub mod train;
