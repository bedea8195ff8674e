//! lapse: lapse-risk prediction and retention prioritization for life insurers.
//!
//! The pipeline: [`extract`] reads and checks the core system's extracts into a [`extract::Book`];
//! [`features`] builds point-in-time feature rows for the renewals at risk; [`generate`] writes
//! realistic synthetic books for tests, demos and benchmarks. See `ARCHITECTURE.md`.

pub mod dates;
pub mod drift;
pub mod extract;
pub mod features;
pub mod generate;
pub mod io_util;
pub mod metrics;
pub mod model;
pub mod persistency;
pub mod realised;
pub mod registry;
pub mod serve;
pub mod train;
