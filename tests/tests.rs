//! The one integration-test binary of the root package: the `lapse` binary end to end (real
//! processes, a real server on a real socket) and the layering of the workspace. Tests of one
//! crate's parts live beside them, in that crate (the API in process: `crates/api/tests`).

mod common;

mod accuracy;
mod campaign;
mod cli;
mod drift;
mod glossary;
mod history;
mod layers;
mod nightly;
mod outcomes;
mod serve_e2e;
mod why;
mod winback;
