//! Paired tests over seeds: is method A's figure apart from method B's when both ran on the same
//! seeds? The paired t-test (Student's t on the per-seed differences) and the Wilcoxon
//! signed-rank test (exact over every sign pattern up to 20 pairs, ties sharing their mean rank
//! and zero differences dropped, as scipy's `wilcoxon` does; a normal approximation beyond),
//! both two-sided. Checked against scipy's `ttest_rel` and `wilcoxon` in the tests.

/// The outcome of comparing paired figures `a` and `b`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairedTest {
    /// Pairs compared.
    pub n: usize,
    /// Mean of `a − b`.
    pub mean_difference: f64,
    /// Two-sided p of the paired t-test; `None` when the differences do not vary (t undefined)
    /// or fewer than two pairs.
    pub t_p: Option<f64>,
    /// Two-sided p of the Wilcoxon signed-rank test; `None` when every difference is zero.
    pub wilcoxon_p: Option<f64>,
}

/// Both tests on the pairs `(a[i], b[i])`.
pub fn paired_test(a: &[f64], b: &[f64]) -> PairedTest {
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    let n = d.len();
    let mean = if n == 0 {
        0.0
    } else {
        d.iter().sum::<f64>() / n as f64
    };
    PairedTest {
        n,
        mean_difference: mean,
        t_p: paired_t_p(&d),
        wilcoxon_p: wilcoxon_p(&d),
    }
}

/// Two-sided p of Student's t on the differences `d` (n − 1 degrees of freedom).
fn paired_t_p(d: &[f64]) -> Option<f64> {
    let n = d.len();
    if n < 2 {
        return None;
    }
    let mean = d.iter().sum::<f64>() / n as f64;
    let var = d.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    if var <= 0.0 || !var.is_finite() {
        return None;
    }
    let t = mean / (var / n as f64).sqrt();
    Some(student_t_two_sided(t, (n - 1) as f64))
}

/// `P(|T| ≥ |t|)` for Student's t with `df` degrees of freedom: `I_{df/(df+t²)}(df/2, 1/2)`.
pub fn student_t_two_sided(t: f64, df: f64) -> f64 {
    let x = df / (df + t * t);
    regularized_incomplete_beta(x, df / 2.0, 0.5).clamp(0.0, 1.0)
}

/// `I_x(a, b)` by its continued fraction (Lentz's method), using the symmetry
/// `I_x(a, b) = 1 − I_{1−x}(b, a)` where the fraction converges slowly.
pub fn regularized_incomplete_beta(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    if x < (a + 1.0) / (a + b + 2.0) {
        ln_front.exp() * beta_fraction(x, a, b) / a
    } else {
        1.0 - ln_front.exp() * beta_fraction(1.0 - x, b, a) / b
    }
}

/// The continued fraction of `I_x(a, b)` by the modified Lentz method, two terms (an even and
/// an odd partial numerator) per round.
fn beta_fraction(x: f64, a: f64, b: f64) -> f64 {
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 / away_from_zero(1.0 - qab * x / qap);
    let mut h = d;
    for m in 1..=300 {
        let m = m as f64;
        let m2 = 2.0 * m;
        h *= lentz_step(m * (b - m) * x / ((qam + m2) * (a + m2)), &mut c, &mut d);
        let step = lentz_step(
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
            &mut c,
            &mut d,
        );
        h *= step;
        if (step - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// One term of Lentz's method with partial numerator `aa`: updates `c` and `d` and returns the
/// factor the fraction's value takes.
fn lentz_step(aa: f64, c: &mut f64, d: &mut f64) -> f64 {
    *d = 1.0 / away_from_zero(1.0 + aa * *d);
    *c = away_from_zero(1.0 + aa / *c);
    *d * *c
}

/// `v`, or a tiny number in its place when it is within 1e-300 of zero (Lentz's guard).
fn away_from_zero(v: f64) -> f64 {
    const TINY: f64 = 1e-300;
    if v.abs() < TINY {
        TINY
    } else {
        v
    }
}

/// `ln Γ(x)` (Lanczos, g = 7, n = 9; about 15 digits for x > 0).
pub fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection.
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = G[0];
    for (i, g) in G.iter().enumerate().skip(1) {
        sum += g / (x + i as f64);
    }
    let t = x + 7.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// Exact enumeration up to this many non-zero differences; a normal approximation beyond.
const EXACT_UP_TO: usize = 20;

/// Two-sided p of the Wilcoxon signed-rank test on the differences `d`.
fn wilcoxon_p(d: &[f64]) -> Option<f64> {
    let nonzero: Vec<f64> = d.iter().copied().filter(|x| *x != 0.0).collect();
    let n = nonzero.len();
    if n == 0 {
        return None;
    }
    // Ranks of |d|, ties sharing their mean rank.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| nonzero[i].abs().total_cmp(&nonzero[j].abs()));
    let mut ranks = vec![0.0; n];
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && nonzero[order[j + 1]].abs() == nonzero[order[i]].abs() {
            j += 1;
        }
        let mean_rank = (i + j) as f64 / 2.0 + 1.0;
        for k in i..=j {
            ranks[order[k]] = mean_rank;
        }
        i = j + 1;
    }
    let r_plus: f64 = (0..n).filter(|&k| nonzero[k] > 0.0).map(|k| ranks[k]).sum();
    if n <= EXACT_UP_TO {
        // Twice the smaller tail of R+ over every sign pattern (half-ranks kept exact by
        // counting in doubled ranks).
        let doubled: Vec<u64> = ranks.iter().map(|r| (r * 2.0).round() as u64).collect();
        let observed = (r_plus * 2.0).round() as u64;
        let total: u64 = doubled.iter().sum();
        let mut counts = vec![0u64; total as usize + 1];
        counts[0] = 1;
        for &r in &doubled {
            for s in (r as usize..counts.len()).rev() {
                counts[s] += counts[s - r as usize];
            }
        }
        let all = 2f64.powi(n as i32);
        let below: u64 = counts[..=observed as usize].iter().sum();
        let above: u64 = counts[observed as usize..].iter().sum();
        Some((2.0 * below.min(above) as f64 / all).min(1.0))
    } else {
        let nf = n as f64;
        let mean = nf * (nf + 1.0) / 4.0;
        // Variance with the tie correction.
        let mut tie_term = 0.0;
        let mut sorted = ranks.clone();
        sorted.sort_by(f64::total_cmp);
        let mut i = 0;
        while i < n {
            let mut j = i;
            while j + 1 < n && sorted[j + 1] == sorted[i] {
                j += 1;
            }
            let t = (j - i + 1) as f64;
            tie_term += t * t * t - t;
            i = j + 1;
        }
        let var = nf * (nf + 1.0) * (2.0 * nf + 1.0) / 24.0 - tie_term / 48.0;
        let z = (r_plus - mean).abs() / var.sqrt();
        Some((2.0 * normal_upper_tail(z)).min(1.0))
    }
}

/// `P(Z ≥ z)` for a standard normal `Z` (complementary error function, W. J. Cody's rational
/// approximation through `erfc`; about 1e-7 relative).
fn normal_upper_tail(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

fn erfc(x: f64) -> f64 {
    // Numerical Recipes' erfcc: relative error below 1.2e-7 everywhere.
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let ans = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 {
        ans
    } else {
        2.0 - ans
    }
}

/// The Nemenyi test's critical difference of average ranks (Demšar 2006) for `k` methods ranked
/// on `n` data sets at α = 0.05: `q_α √(k(k+1)/(6n))`, with `q_0.05` the studentised range
/// statistic over √2 (Demšar's table to 10 methods, extended to 20 as Orange's `compute_CD`
/// does); `None` outside 2 to 20 methods.
pub fn nemenyi_critical_difference(k: usize, n: usize) -> Option<f64> {
    const Q_05: [f64; 19] = [
        1.959964, 2.343701, 2.569032, 2.727774, 2.849705, 2.948320, 3.030879, 3.101730, 3.163684,
        3.218654, 3.268004, 3.312739, 3.353618, 3.391230, 3.426041, 3.458425, 3.488685, 3.517073,
        3.543799,
    ];
    if n == 0 || !(2..=20).contains(&k) {
        return None;
    }
    let q = Q_05[k - 2];
    Some(q * (k as f64 * (k as f64 + 1.0) / (6.0 * n as f64)).sqrt())
}

/// Average ranks of methods over data sets (rank 1 the best, higher figures better, ties
/// sharing their mean rank): `figures[data set][method]`, every data set holding every method.
pub fn average_ranks(figures: &[Vec<f64>]) -> Vec<f64> {
    let k = figures.first().map_or(0, Vec::len);
    let mut sums = vec![0.0; k];
    for row in figures {
        let mut order: Vec<usize> = (0..k).collect();
        order.sort_by(|&i, &j| row[j].total_cmp(&row[i]));
        let mut i = 0;
        while i < k {
            let mut j = i;
            while j + 1 < k && row[order[j + 1]] == row[order[i]] {
                j += 1;
            }
            let rank = (i + j) as f64 / 2.0 + 1.0;
            for &m in &order[i..=j] {
                sums[m] += rank;
            }
            i = j + 1;
        }
    }
    let n = figures.len().max(1) as f64;
    sums.iter().map(|s| s / n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs().max(1e-12)
    }

    #[test]
    fn the_tests_agree_with_scipy() {
        // scipy 1.15: ttest_rel(a, b).pvalue, wilcoxon(a, b).pvalue.
        let a = [0.91, 0.88, 0.93, 0.90, 0.87];
        let b = [0.85, 0.86, 0.90, 0.84, 0.88];
        let p = paired_test(&a, &b);
        assert!(close(p.t_p.unwrap(), 0.0722993895363607, 1e-9), "{p:?}");
        assert!(close(p.wilcoxon_p.unwrap(), 0.125, 1e-12), "{p:?}");
        let a = [0.5, 0.6, 0.7, 0.8, 0.9, 0.55, 0.65, 0.75];
        let b = [0.52, 0.5, 0.6, 0.85, 0.7, 0.5, 0.6, 0.7];
        let p = paired_test(&a, &b);
        assert!(close(p.t_p.unwrap(), 0.06359962262480927, 1e-9), "{p:?}");
        assert!(close(p.wilcoxon_p.unwrap(), 0.03125, 1e-12), "{p:?}");
        // Ties among the differences.
        let p = paired_test(
            &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            &[0.0, 1.0, 2.0, 3.0, 5.5, 4.0],
        );
        assert!(close(p.wilcoxon_p.unwrap(), 0.0625, 1e-12), "{p:?}");
        // scipy.stats.t.sf(t, df) * 2.
        assert!(close(
            student_t_two_sided(2.0, 4.0),
            0.11611652351681556,
            1e-9
        ));
        assert!(close(
            student_t_two_sided(0.5, 10.0),
            0.627893605742973,
            1e-9
        ));
        assert!(close(
            student_t_two_sided(5.0, 2.0),
            0.037749551350623724,
            1e-9
        ));
        // Nothing to test: equal figures, one pair.
        let same = paired_test(&[0.5, 0.5], &[0.5, 0.5]);
        assert_eq!((same.t_p, same.wilcoxon_p), (None, None));
        assert_eq!(paired_test(&[0.9], &[0.1]).t_p, None);
    }

    #[test]
    fn ranks_and_the_critical_difference_follow_demsar() {
        // Demšar (2006): k = 4, N = 14 gives CD = 2.569 √(4·5/84) = 1.25.
        let cd = nemenyi_critical_difference(4, 14).unwrap();
        assert!((cd - 1.2536).abs() < 1e-3, "{cd}");
        assert_eq!(nemenyi_critical_difference(21, 5), None);
        assert!(
            (nemenyi_critical_difference(12, 4).unwrap()
                - 3.268004 * (12.0f64 * 13.0 / 24.0).sqrt())
            .abs()
                < 1e-12
        );
        let ranks = average_ranks(&[vec![0.9, 0.8, 0.7], vec![0.5, 0.5, 0.9]]);
        assert_eq!(
            ranks,
            vec![(1.0 + 2.5) / 2.0, (2.0 + 2.5) / 2.0, (3.0 + 1.0) / 2.0]
        );
        // The normal approximation, past 20 pairs: 30 positive differences give about 1.7e-6.
        let a: Vec<f64> = (0..30).map(|i| 1.0 + i as f64).collect();
        let b = vec![0.0; 30];
        let p = paired_test(&a, &b).wilcoxon_p.unwrap();
        assert!(p < 1e-5 && p > 1e-7, "{p}");
    }
}
