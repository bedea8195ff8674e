//! lapse retention: what to do about a scored renewal, and what doing it saved. No training,
//! HTTP, report-page or command-line code in it: the learning crate (`lapse-model`) gives the
//! probabilities; this crate decides.
//!
//! [`economics`] is what a renewal is worth and each action's expected gain (it is the
//! [`lapse_model::scoring::Valuation`] scoring asks); [`spec`] is the one grammar of a work-list
//! request, shared by `lapse queue` and `GET /v1/queue`; [`worklist`] selects and orders the list
//! and [`assign`] gives actions under per-action capacities exactly; [`campaign`] draws holdouts,
//! stores campaigns and holds the effect statistics (save rates, intervals, shrinkage) that the
//! effect report and [`uplift`] share; [`uplift`] learns who responds to a contact from a
//! campaign's two arms; [`outcomes`] are what agents recorded after a contact (checked a batch at
//! a time; [`outcome_file`] reads a call-centre export and writes them all out) and [`contact`] the rules they imply (refusals, promises, do-not-contact, wrong
//! numbers, frequency caps); [`winback`] ranks the win-back list by the reinstatement model. See
//! `ARCHITECTURE.md`.

pub mod assign;
pub mod campaign;
pub mod contact;
pub mod economics;
pub mod handout;
pub mod outcome_file;
pub mod outcomes;
pub mod spec;
pub mod uplift;
pub mod winback;
pub mod worklist;

pub use economics::{Action, BAND_NAMES, Economics, EconomicsError, NO_ACTION, segment_name, segments};
pub use spec::{RankBy, SpecError, WorkListRequest, WorkListSpec};
pub use worklist::{Contact, CustomerOrder, Filters, Listed, WorkList, select};
