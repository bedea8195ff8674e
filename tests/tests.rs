//! The one integration-test binary: the `lapse` binary and the scoring API end to end (a real
//! process, a real socket) and the API's contract. Tests of one crate's parts live beside
//! them, in that crate.

mod common;

mod cli;
mod drift;
mod nightly;
mod serve;
mod serve_e2e;
