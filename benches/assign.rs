//! The capacitated work list (`lapse_retention::assign`) on a million renewals: gains
//! p x s_a x V - c_a with the default economics' save rates and costs, p and V drawn like a
//! book's (seeded), three capacity settings. Prints wall time per setting (median of 5).
//!
//!     cargo bench --bench assign

use std::time::Instant;

use lapse_retention::Economics;
use lapse_retention::NO_ACTION;
use lapse_retention::assign::{GainMatrix, assign, total_gain};
use rand::{Rng, SeedableRng};

fn main() {
    let n = 1_000_000;
    let economics = Economics::default();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2026);
    let mut gains = Vec::with_capacity(n * economics.actions.len());
    for _ in 0..n {
        // Lapse probabilities skewed low, values over two orders of magnitude.
        let p = rng.random::<f64>().powi(3) * 0.9;
        let v = 1_000.0 * (rng.random::<f64>() * 4.6).exp();
        gains.extend(economics.actions.iter().map(|a| p * a.save_rate * v - a.cost));
    }
    let g = GainMatrix { values: &gains, actions: economics.actions.len() };
    println!("| capacity (sms, call, visit) | listed | total gain | median s (5 runs) |\n|---|---|---|---|");
    // (1, 0, 0): one renewal listed, so the time is the fixed cost (gains, heaps).
    for capacity in [[1, 0, 0], [5_000, 800, 300], [50_000, 8_000, 3_000], [300_000, 100_000, 20_000]] {
        let mut times = Vec::new();
        let mut result = Vec::new();
        for _ in 0..5 {
            let started = Instant::now();
            result = assign(g, &capacity);
            times.push(started.elapsed().as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        let listed = result.iter().filter(|&&a| a != NO_ACTION).count();
        println!("| {capacity:?} | {listed} | {:.0} | {:.3} |", total_gain(g, &result), times[2]);
    }
}
