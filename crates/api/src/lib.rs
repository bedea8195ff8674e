//! `lapse serve`: the scoring API the collection queue service calls.
//!
//! At start (and on every reload) the champion model scores the whole snapshot once
//! ([`scorebook`]): probability, value, best action, reasons. Requests by key are then lookups
//! and JSON rendering; inline records go through the contract checks, the snapshot builder and
//! the same scoring code (on the receiving worker for a few customers, on the compute pool for
//! more). See `docs/serving.md`.

pub mod api;
pub mod auth;
pub mod campaigns;
pub mod config;
pub mod dto;
pub mod error;
pub mod inline;
pub mod json;
pub mod listen;
pub mod outcomes;
pub mod pool;
pub mod schema;
pub mod score_log;
pub mod scorebook;
pub mod server;
pub mod teams;
pub mod telemetry;
pub mod winback;

pub use api::{AppState, openapi_document, router};
pub use config::{Limits, ServeConfig, TlsFiles};
pub use lapse_retention::Economics;
pub use scorebook::{LoadError, Scorebook};
pub use server::{ServeError, build_state, build_state_with, open_outcomes, run, serve_blocking};
