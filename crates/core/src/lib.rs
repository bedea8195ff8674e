//! lapse core: what every other crate stands on, with no model, report, HTTP or command-line
//! code in it.
//!
//! [`extract`] reads and checks the core system's extracts (`DATA_CONTRACT.md`) into a typed
//! [`extract::Book`]; [`features`] builds point-in-time feature rows for the renewals at risk
//! (the snapshot rule lives in [`features::history`]); [`table`] reads feature tables back with
//! the one typing rule for feature columns; [`generate`] writes realistic synthetic books;
//! [`contacts`] holds what agents recorded (attached by the caller, not in the extract);
//! [`dates`], [`categories`] and [`io_util`] are the shared vocabulary. See `ARCHITECTURE.md`.

pub mod audit;
pub mod categories;
pub mod contacts;
pub mod dates;
pub mod error;
pub mod extract;
pub mod features;
pub mod generate;
pub mod hash;
pub mod io_util;
pub mod json;
pub mod table;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
pub mod text;
pub mod winback;
