//! A trained world for the tests of the crates above (feature `testkit`): a generated book, its
//! scoring snapshot and a registry with a champion, built from the real parts (no mocks).

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use lapse_core::extract::read::FileFormat;
use lapse_core::extract::{OnError, load_book};
use lapse_core::features::BuildPlan;
use lapse_core::generate::{GenerateConfig, generate};
use lapse_core::testkit::day;

use crate::registry::Registry;
use crate::train::{Dataset, DatasetOptions, Family, Params, TrainConfig, train};

/// The fixture's snapshot date.
pub const AS_OF: &str = "2026-09-01";

/// A generated book, its scoring snapshot and a registry with a champion gbdt (v0001) and a
/// logistic model (v0002, not promoted).
pub struct ServeFixture {
    pub book: PathBuf,
    pub snapshot: PathBuf,
    pub training: PathBuf,
    pub models: PathBuf,
}

impl ServeFixture {
    /// The fixture's files under `dir` (built or not).
    pub fn at(dir: &Path) -> Self {
        ServeFixture {
            book: dir.join("book"),
            snapshot: dir.join("snapshot.parquet"),
            training: dir.join("train.parquet"),
            models: dir.join("models"),
        }
    }

    /// A copy of the fixture's registry under `into` that a test may change.
    pub fn models_copy(&self, into: &Path) -> PathBuf {
        let target = into.join("models");
        lapse_core::testkit::copy_dir(&self.models, &target);
        target
    }

    /// Generates the book (3,000 policies, seed 11), builds a year of training snapshots and the
    /// snapshot of [`AS_OF`], trains and registers both models, promotes the gbdt.
    pub fn build(&self) {
        let at = self;
        generate(&GenerateConfig::new(3000, 11)).write(&at.book, FileFormat::Csv).unwrap();
        let loaded = load_book(&at.book, OnError::Strict).unwrap();
        let extract_date = day("2026-09-30");
        let dates = lapse_core::dates::date_series(day("2025-03-31"), day("2026-02-28"), lapse_core::dates::Step::Months(1));
        BuildPlan { as_of: dates, horizon_days: 30, grace_days: 60, extract_date }.write(&loaded.book, &at.training).unwrap();
        BuildPlan { as_of: vec![day(AS_OF)], horizon_days: 30, grace_days: 60, extract_date }.write(&loaded.book, &at.snapshot).unwrap();
        let data = Dataset::read(&at.training, &DatasetOptions::default()).unwrap();
        let registry = Registry::new(&at.models);
        let params = Params { gbdt_rounds: 40, ..Params::default() };
        for family in [Family::Gbdt, Family::Logistic] {
            let outcome = train(&data, &TrainConfig { families: vec![family], params: params.clone(), ..TrainConfig::default() }).unwrap();
            registry
                .register_with_reference(&outcome.model, &outcome.report, Some(&outcome.reference), &at.training, "2026-11-22T00:00:00Z")
                .unwrap();
        }
        registry.promote("v0001").unwrap();
    }
}
