//! The accuracy guard: held-out ROC AUC of every family and of `auto` (search and blend, judged
//! on rows that chose nothing) on public and small low-dimensional tables, against the figures
//! recorded in `benches/accuracy.json`. Exits 1 when a figure drops by more than 0.001, so a
//! speed change in the learners cannot quietly lose accuracy.
//!
//! Run: `cargo bench --bench accuracy`; `LAPSE_ACCURACY_RECORD=1 cargo bench --bench accuracy`
//! records the figures of this code as the new baseline (only after a reviewed change).
//!
//! Tables (5 folds each, on a `fold` column):
//! 1. eudirectlapse (`../shared/data/eudirectlapse.csv` or `$LAPSE_EUDIRECT`): 23,060 rows, 18
//!    columns; skipped when absent (it is not committed);
//! 2. its strongest seven columns (by univariate AUC: bonus-malus evolution, policyholder age,
//!    policy age, region, vehicle age, last and market premium): few features, as surrender
//!    tables often are;
//! 3. a simulated table of 22,000 rows and seven features where few interact strongly (a
//!    threshold pair, a product, a category x flag), the shape of the surrender data the issue
//!    names; generated here with a fixed seed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use lapse_model::train::{Dataset, DatasetOptions, Family, TrainConfig, train};
use rand::{Rng, SeedableRng};

/// A drop larger than this fails the guard.
const TOLERANCE: f64 = 0.001;

const STRONGEST: [&str; 7] = ["polholder_BMCevol", "polholder_age", "policy_age", "vehicl_region", "vehicl_age", "prem_last", "prem_market"];

/// The eudirectlapse columns in `keep` (with the label and the fold), as a CSV at `out`.
fn columns(source: &Path, keep: &[&str], out: &Path) {
    let text = std::fs::read_to_string(source).expect("eudirectlapse");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let picked: Vec<usize> = header.iter().enumerate().filter(|(_, h)| keep.contains(h) || **h == "lapse" || **h == "fold").map(|(i, _)| i).collect();
    let mut csv = picked.iter().map(|&i| header[i]).collect::<Vec<_>>().join(",");
    csv.push('\n');
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        csv.push_str(&picked.iter().map(|&i| cells[i]).collect::<Vec<_>>().join(","));
        csv.push('\n');
    }
    std::fs::write(out, csv).unwrap();
}

/// The simulated interacting table.
fn simulated(out: &Path) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(20261206);
    let mut csv = String::from("lapse,x1,x2,x3,x4,x5,x6,x7,fold\n");
    for i in 0..22_000 {
        let (x1, x2, x3, x4): (f64, f64, f64, f64) = (rng.random(), rng.random(), rng.random(), rng.random());
        let x5 = ["a", "b", "c"][rng.random_range(0..3)];
        let x6: f64 = rng.random::<f64>() * 2.0 - 1.0;
        let x7 = u8::from(rng.random::<f64>() < 0.4);
        let logit = -2.2 + 2.5 * f64::from(u8::from(x1 > 0.6 && x2 < 0.4)) + 2.0 * (x3 * x4 - 0.25) * 4.0
            - 1.5 * f64::from(u8::from(x5 == "c" && x7 == 1))
            + 0.3 * x6;
        let lapse = u8::from(rng.random::<f64>() < 1.0 / (1.0 + (-logit).exp()));
        csv.push_str(&format!("{lapse},{x1:.4},{x2:.4},{x3:.4},{x4:.4},{x5},{x6:.4},{x7},{}\n", i % 5));
    }
    std::fs::write(out, csv).unwrap();
}

/// Held-out ROC AUC per family and for `auto` on the table at `path`.
fn measure(path: &Path) -> BTreeMap<String, f64> {
    let data = Dataset::read(path, &DatasetOptions { label: Some("lapse".into()), ..Default::default() }).expect("table");
    let mut out = BTreeMap::new();
    for family in [Family::Logistic, Family::Forest, Family::Gbdt] {
        let outcome = train(&data, &TrainConfig { families: vec![family], ..TrainConfig::default() }).expect("train");
        out.insert(family.as_str().to_string(), outcome.report.roc_auc.unwrap_or(f64::NAN));
    }
    let outcome = train(&data, &TrainConfig { search: true, blend: true, ..TrainConfig::default() }).expect("train auto");
    out.insert("auto".to_string(), outcome.report.roc_auc.unwrap_or(f64::NAN));
    out
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let work = PathBuf::from(target).join("bench-books/accuracy");
    std::fs::create_dir_all(&work).unwrap();
    let eudirect = std::env::var("LAPSE_EUDIRECT").map(PathBuf::from).unwrap_or_else(|_| root.join("../shared/data/eudirectlapse.csv"));
    let mut tables: Vec<(&str, PathBuf)> = Vec::new();
    if eudirect.exists() {
        let strongest = work.join("eudirect-strongest7.csv");
        columns(&eudirect, &STRONGEST, &strongest);
        tables.push(("eudirectlapse", eudirect.clone()));
        tables.push(("eudirectlapse, strongest 7 columns", strongest));
    } else {
        println!("eudirectlapse not found at {}: its two tables are skipped", eudirect.display());
    }
    let sim = work.join("interacting-7.csv");
    simulated(&sim);
    tables.push(("simulated, 7 features, strong interactions", sim));

    let baseline_path = root.join("benches/accuracy.json");
    let baseline: BTreeMap<String, BTreeMap<String, f64>> =
        std::fs::read_to_string(&baseline_path).ok().and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default();
    let mut now: BTreeMap<String, BTreeMap<String, f64>> = baseline.clone();
    let mut drops = Vec::new();
    println!("| table | family | recorded ROC AUC | now | change | s |\n|---|---|---|---|---|---|");
    for (name, path) in &tables {
        let started = Instant::now();
        let figures = measure(path);
        let seconds = started.elapsed().as_secs_f64();
        for (family, auc) in &figures {
            let recorded = baseline.get(*name).and_then(|b| b.get(family)).copied();
            let change = recorded.map(|r| auc - r);
            println!(
                "| {name} | {family} | {} | {auc:.4} | {} | {seconds:.0} |",
                recorded.map_or("-".into(), |r| format!("{r:.4}")),
                change.map_or("-".into(), |c| format!("{c:+.4}"))
            );
            if change.is_some_and(|c| c < -TOLERANCE) || auc.is_nan() {
                drops.push(format!("{name}, {family}: {auc:.4} against {:.4} recorded", recorded.unwrap_or(f64::NAN)));
            }
        }
        now.insert(name.to_string(), figures);
    }
    if std::env::var("LAPSE_ACCURACY_RECORD").is_ok_and(|v| v == "1") {
        std::fs::write(&baseline_path, serde_json::to_string_pretty(&now).unwrap() + "\n").unwrap();
        println!("recorded in {}", baseline_path.display());
    } else if !drops.is_empty() {
        eprintln!("accuracy fell by more than {TOLERANCE}:\n{}", drops.join("\n"));
        std::process::exit(1);
    }
}
