//! The statistics of a two-arm campaign: lapse rates, the save rate 1 - r_t / r_c with a 95%
//! interval, a p-value, the difference in lapse rates with its interval, and the smallest save
//! rate the sample could detect.
//!
//! The interval of the save rate comes from the risk ratio RR = r_t / r_c on the log scale
//! (Katz et al. 1978): se(ln RR) = sqrt(1/x_t - 1/n_t + 1/x_c - 1/n_c), RR in
//! exp(ln RR +- 1.96 se), save rate in [1 - RR_high, 1 - RR_low]. With a zero cell, 0.5 is
//! added to every cell (Haldane-Anscombe), for the estimate as for its interval. Its coverage is checked by simulation in the tests.
//! Used by `lapse effect` and the stratified uplift learner. Hand-written: these are a dozen lines of textbook formulas; no Rust crate ships them.

/// z for a two-sided 95% interval.
pub const Z_95: f64 = 1.959_963_984_540_054;
/// z for 80% power.
pub const Z_POWER_80: f64 = 0.841_621_233_572_914_3;

/// What the arms show: renewals whose outcome is known and lapses, per arm.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Arms {
    pub treated: usize,
    pub treated_lapses: usize,
    pub control: usize,
    pub control_lapses: usize,
}

/// The estimates of [`Arms::estimate`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub lapse_rate_treated: Option<f64>,
    pub lapse_rate_control: Option<f64>,
    /// 1 - r_t / r_c; None without control lapses.
    pub save_rate: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    /// Two-sided p-value of no difference (pooled two-proportion z test).
    pub p_value: Option<f64>,
    /// r_c - r_t: lapses prevented per treated renewal, with its Wald interval.
    pub difference: Option<f64>,
    pub difference_low: Option<f64>,
    pub difference_high: Option<f64>,
    /// The smallest save rate a two-sided 5% test would detect with 80% power at these arm
    /// sizes and this control lapse rate.
    pub min_detectable_save_rate: Option<f64>,
}

/// The smallest save rate s that the pooled two-proportion z test (two-sided 5%) detects with
/// 80% power, for a control lapse rate `r_c` and arm sizes: the s where
/// z_0.975 sqrt(p(1-p)(1/n_t + 1/n_c)) + z_0.8 sqrt(r_t(1-r_t)/n_t + r_c(1-r_c)/n_c) = r_c - r_t,
/// r_t = r_c (1 - s), p the pooled rate; found by bisection. None when even s = 1 is not
/// detectable.
pub fn min_detectable_save_rate(r_c: f64, n_t: f64, n_c: f64) -> Option<f64> {
    let shortfall = |s: f64| {
        let r_t = r_c * (1.0 - s);
        let pooled = (n_t * r_t + n_c * r_c) / (n_t + n_c);
        let needed = Z_95 * (pooled * (1.0 - pooled) * (1.0 / n_t + 1.0 / n_c)).sqrt()
            + Z_POWER_80 * (r_t * (1.0 - r_t) / n_t + r_c * (1.0 - r_c) / n_c).sqrt();
        needed - (r_c - r_t)
    };
    if shortfall(1.0) > 0.0 {
        return None;
    }
    let (mut lo, mut hi) = (0.0, 1.0);
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if shortfall(mid) > 0.0 { lo = mid } else { hi = mid }
    }
    Some(hi)
}

/// The standard error of an estimate read off its 95% interval; None when the interval is
/// missing, empty or not finite.
pub fn standard_error(ci_low: Option<f64>, ci_high: Option<f64>) -> Option<f64> {
    ci_low.zip(ci_high).map(|(lo, hi)| (hi - lo) / (2.0 * Z_95)).filter(|se| se.is_finite() && *se > 0.0)
}

/// Precision-weighted shrinkage of a measured save rate toward a prior: the posterior mean of a
/// normal prior (`prior`, `prior_sd`) and a normal measurement (`measured` = rate and standard
/// error), kept within `bounds`; the prior (kept within `bounds`) without a usable measurement.
/// The effect report's measured economics bound it to [0, 1] (a save rate an economics file
/// takes); the stratified uplift learner to [-0.5, 1] (a contact may raise lapses, and the
/// ranking should see it).
pub fn shrink(prior: f64, prior_sd: f64, measured: Option<(f64, f64)>, bounds: (f64, f64)) -> f64 {
    match measured {
        Some((rate, se)) if se > 0.0 && prior_sd > 0.0 && rate.is_finite() => {
            let (wp, wm) = (1.0 / (prior_sd * prior_sd), 1.0 / (se * se));
            ((prior * wp + rate * wm) / (wp + wm)).clamp(bounds.0, bounds.1)
        }
        _ => prior.clamp(bounds.0, bounds.1),
    }
}

/// P(|Z| > |z|) for a standard normal Z.
pub fn two_sided_p(z: f64) -> f64 {
    libm::erfc(z.abs() / std::f64::consts::SQRT_2)
}

impl Arms {
    pub fn estimate(&self) -> Estimate {
        let (n_t, x_t, n_c, x_c) = (self.treated as f64, self.treated_lapses as f64, self.control as f64, self.control_lapses as f64);
        let rate = |x: f64, n: f64| (n > 0.0).then(|| x / n);
        let (r_t, r_c) = (rate(x_t, n_t), rate(x_c, n_c));
        let mut out = Estimate {
            lapse_rate_treated: r_t,
            lapse_rate_control: r_c,
            save_rate: None,
            ci_low: None,
            ci_high: None,
            p_value: None,
            difference: None,
            difference_low: None,
            difference_high: None,
            min_detectable_save_rate: None,
        };
        let (Some(r_t), Some(r_c)) = (r_t, r_c) else { return out };
        let d = r_c - r_t;
        let se_d = (r_t * (1.0 - r_t) / n_t + r_c * (1.0 - r_c) / n_c).sqrt();
        out.difference = Some(d);
        out.difference_low = Some(d - Z_95 * se_d);
        out.difference_high = Some(d + Z_95 * se_d);
        let pooled = (x_t + x_c) / (n_t + n_c);
        let se_0 = (pooled * (1.0 - pooled) * (1.0 / n_t + 1.0 / n_c)).sqrt();
        out.p_value = Some(if se_0 > 0.0 { two_sided_p(d / se_0) } else { 1.0 });
        if r_c > 0.0 && r_c < 1.0 {
            out.min_detectable_save_rate = min_detectable_save_rate(r_c, n_t, n_c);
        }
        if x_c == 0.0 {
            return out;
        }
        let (a, b, c, e) = if x_t == 0.0 || x_t == n_t || x_c == n_c { (x_t + 0.5, n_t + 1.0, x_c + 0.5, n_c + 1.0) } else { (x_t, n_t, x_c, n_c) };
        let log_rr = ((a / b) / (c / e)).ln();
        // The estimate from the same (corrected, when a cell is zero) counts as its interval.
        out.save_rate = Some(1.0 - log_rr.exp());
        let se = (1.0 / a - 1.0 / b + 1.0 / c - 1.0 / e).sqrt();
        out.ci_low = Some(1.0 - (log_rr + Z_95 * se).exp());
        out.ci_high = Some(1.0 - (log_rr - Z_95 * se).exp());
        out
    }
}

/// One arm's clusters (a customer's renewals share an arm, a contact, and often a fate): per
/// customer, (renewals whose outcome is known, lapses).
pub type Clusters = [(usize, usize)];

/// The lapse rate of an arm as a ratio estimator over its clusters and its cluster-robust
/// variance: r = sum y / sum m, var(r) = n/(n-1) sum (y_i - r m_i)^2 / (sum m)^2 (the sandwich
/// estimator a survey statistician uses for a ratio; with one renewal per customer it is the
/// binomial r(1-r)/(n-1)). None with fewer than two clusters or no renewal.
pub fn clustered_rate(clusters: &Clusters) -> Option<(f64, f64)> {
    let n = clusters.len() as f64;
    let m: f64 = clusters.iter().map(|c| c.0 as f64).sum();
    let y: f64 = clusters.iter().map(|c| c.1 as f64).sum();
    if n < 2.0 || m <= 0.0 {
        return None;
    }
    let r = y / m;
    let spread: f64 = clusters.iter().map(|&(mi, yi)| (yi as f64 - r * mi as f64).powi(2)).sum();
    Some((r, n / (n - 1.0) * spread / (m * m)))
}

impl Estimate {
    /// The interval of the save rate, the difference's interval and the p-value again, with
    /// cluster-robust variances (customers with several renewals in the arms): ln RR +- 1.96
    /// sqrt(var_t / r_t^2 + var_c / r_c^2) (delta method), the difference +- 1.96 sqrt(var_t +
    /// var_c), a Wald test of no difference. Unchanged when an arm has fewer than two clusters
    /// or no lapse (the corrected Katz interval stands).
    pub fn clustered(mut self, treated: &Clusters, control: &Clusters) -> Estimate {
        let (Some((r_t, v_t)), Some((r_c, v_c))) = (clustered_rate(treated), clustered_rate(control)) else { return self };
        let d = r_c - r_t;
        let se_d = (v_t + v_c).sqrt();
        self.difference_low = Some(d - Z_95 * se_d);
        self.difference_high = Some(d + Z_95 * se_d);
        self.p_value = Some(if se_d > 0.0 { two_sided_p(d / se_d) } else { 1.0 });
        if r_t > 0.0 && r_c > 0.0 {
            let log_rr = (r_t / r_c).ln();
            let se = (v_t / (r_t * r_t) + v_c / (r_c * r_c)).sqrt();
            self.ci_low = Some(1.0 - (log_rr + Z_95 * se).exp());
            self.ci_high = Some(1.0 - (log_rr - Z_95 * se).exp());
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn clustered_intervals_match_katz_for_single_renewals_and_widen_for_shared_fates() {
        // One renewal per customer: close to the Katz interval (n - 1 against n).
        let singles = |n: usize, x: usize| -> Vec<(usize, usize)> { (0..n).map(|i| (1, usize::from(i < x))).collect() };
        let e = Arms { treated: 1000, treated_lapses: 80, control: 250, control_lapses: 30 }.estimate();
        let c = e.clustered(&singles(1000, 80), &singles(250, 30));
        assert!((c.ci_low.unwrap() - e.ci_low.unwrap()).abs() < 0.01 && (c.ci_high.unwrap() - e.ci_high.unwrap()).abs() < 0.01, "{c:?} vs {e:?}");
        // The same renewals as pairs of one customer who lapse or pay together: half the
        // information, a wider interval.
        let pairs = |n: usize, x: usize| -> Vec<(usize, usize)> { (0..n / 2).map(|i| (2, if i < x / 2 { 2 } else { 0 })).collect() };
        let p = e.clustered(&pairs(1000, 80), &pairs(250, 30));
        let width = |e: &Estimate| e.ci_high.unwrap() - e.ci_low.unwrap();
        assert!(width(&p) > 1.3 * width(&e), "{} vs {}", width(&p), width(&e));
        assert_eq!(p.save_rate, e.save_rate, "the estimate itself does not change");
        // Too few clusters: the Katz interval stands.
        assert_eq!(e.clustered(&[(1000, 80)], &singles(250, 30)), e);
    }

    #[test]
    fn textbook_figures() {
        // 1000 treated with 80 lapses, 250 control with 30: r_t 8%, r_c 12%, save rate 1/3.
        let e = Arms { treated: 1000, treated_lapses: 80, control: 250, control_lapses: 30 }.estimate();
        assert!((e.save_rate.unwrap() - 1.0 / 3.0).abs() < 1e-12);
        // RR 2/3, se(ln RR) = sqrt(1/80 - 1/1000 + 1/30 - 1/250) = 0.2022.
        let se = (1.0f64 / 80.0 - 1.0 / 1000.0 + 1.0 / 30.0 - 1.0 / 250.0).sqrt();
        assert!((e.ci_high.unwrap() - (1.0 - (2.0f64 / 3.0).ln().sub_exp(Z_95 * se))).abs() < 1e-12);
        assert!((e.ci_low.unwrap() - (1.0 - ((2.0f64 / 3.0).ln() + Z_95 * se).exp())).abs() < 1e-12);
        assert!((e.ci_low.unwrap() - 0.0094).abs() < 1e-4 && (e.ci_high.unwrap() - 0.5514).abs() < 1e-4, "{e:?}");
        // z = 0.04 / sqrt(0.088 * 0.912 * (1/1000 + 1/250)) = 1.9968: p = 0.0458.
        assert!((e.p_value.unwrap() - 0.0458).abs() < 1e-4, "{:?}", e.p_value);
        assert!((two_sided_p(Z_95) - 0.05).abs() < 1e-12);
        // No control lapses: no save rate, but the rates and the difference are there.
        let e = Arms { treated: 10, treated_lapses: 1, control: 10, control_lapses: 0 }.estimate();
        assert_eq!(e.save_rate, None);
        assert_eq!(e.lapse_rate_treated, Some(0.1));
        // An empty arm: nothing to compare.
        assert_eq!(Arms { treated: 10, treated_lapses: 1, control: 0, control_lapses: 0 }.estimate().difference, None);
    }

    trait SubExp {
        fn sub_exp(self, x: f64) -> f64;
    }
    impl SubExp for f64 {
        fn sub_exp(self, x: f64) -> f64 {
            (self - x).exp()
        }
    }

    #[test]
    fn the_interval_covers_the_true_save_rate_at_the_stated_rate() {
        // 2,000 simulated campaigns per setting: lapse probability r_c untreated, r_c (1 - s)
        // treated. A 95% interval should miss about 5% of the time: between 3.5% and 6.5%
        // (the binomial(2000, 0.05) band is +-1%).
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        for (n_t, n_c, r_c, s) in [(2000, 500, 0.2, 0.25), (800, 800, 0.1, 0.0), (5000, 250, 0.3, 0.4), (1500, 400, 0.06, 0.5)] {
            let draws = 2000;
            let mut missed = 0;
            let mut mde = 0.0;
            for _ in 0..draws {
                let x_t = (0..n_t).filter(|_| rng.random::<f64>() < r_c * (1.0 - s)).count();
                let x_c = (0..n_c).filter(|_| rng.random::<f64>() < r_c).count();
                let e = Arms { treated: n_t, treated_lapses: x_t, control: n_c, control_lapses: x_c }.estimate();
                let (lo, hi) = (e.ci_low.unwrap(), e.ci_high.unwrap());
                if !(lo <= s && s <= hi) {
                    missed += 1;
                }
                mde += e.min_detectable_save_rate.unwrap_or(1.0) / draws as f64;
            }
            let miss = missed as f64 / draws as f64;
            assert!((0.035..=0.065).contains(&miss), "n_t {n_t} n_c {n_c} r_c {r_c} s {s}: missed {miss}");
            assert!(mde > 0.0 && mde <= 1.0, "{mde}");
        }
    }

    #[test]
    fn the_detectable_effect_gives_eighty_percent_power() {
        // At the sizes and rate where the minimum detectable save rate is s*, a true save rate
        // of s* is detected (p < 0.05 with fewer lapses treated) about 80% of the time.
        let (n_t, n_c, r_c) = (3000, 750, 0.15);
        let s = Arms { treated: n_t, treated_lapses: 0, control: n_c, control_lapses: (r_c * n_c as f64) as usize }
            .estimate()
            .min_detectable_save_rate
            .unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let draws = 2000;
        let detected = (0..draws)
            .filter(|_| {
                let x_t = (0..n_t).filter(|_| rng.random::<f64>() < r_c * (1.0 - s)).count();
                let x_c = (0..n_c).filter(|_| rng.random::<f64>() < r_c).count();
                let e = Arms { treated: n_t, treated_lapses: x_t, control: n_c, control_lapses: x_c }.estimate();
                e.p_value.unwrap() < 0.05 && e.difference.unwrap() > 0.0
            })
            .count();
        let power = detected as f64 / draws as f64;
        assert!((0.75..=0.85).contains(&power), "power {power} at s {s}");
    }
}
