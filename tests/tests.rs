//! One integration-test binary (faster to link than one per file); a module per area.

mod common;

mod cli;
mod contract;
mod drift;
mod features;
mod generator;
mod nightly;
mod reports;
mod serve;
mod serve_e2e;
mod train;
