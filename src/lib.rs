//! lapse: lapse-risk prediction and retention prioritization for life insurers.
//!
//! The pipeline: [`extract`] reads and checks the core system's extracts into a [`extract::Book`];
//! [`features`] builds point-in-time feature rows for the renewals at risk; [`generate`] writes
//! realistic synthetic books for tests, demos and benchmarks; [`train`] fits calibrated models
//! into the [`registry`]; [`serve`] is the scoring API; [`nightly`] is the scheduled job that
//! ties them together and writes the [`drift`], [`realised`] and [`persistency`] reports
//! ([`html`] pages beside the JSON). See `ARCHITECTURE.md`.

pub mod dates;
pub mod drift;
pub mod extract;
pub mod features;
pub mod generate;
pub mod html;
pub mod io_util;
pub mod metrics;
pub mod model;
pub mod nightly;
pub mod persistency;
pub mod realised;
pub mod registry;
pub mod serve;
pub mod train;
