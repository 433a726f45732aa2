//! `paired.md` and the report's summary: each method against the data set's best on the seeds
//! both ran, and each trained network against its untrained control (paired t-test and exact
//! Wilcoxon signed-rank test, `dagmm_evaluation::paired`).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use dagmm_evaluation::paired::PairedTest;
use dagmm_pipeline::files::write_bytes;
use dagmm_pipeline::Metric;

use crate::groups::{mean_std, name, values, Group, Groups, MethodKey};

/// The paired test of two methods' (or a method and its control's) figures on the seeds both
/// have.
pub(crate) fn paired_on_common_seeds(a: &BTreeMap<u64, f64>, b: &BTreeMap<u64, f64>) -> PairedTest {
    let (x, y): (Vec<f64>, Vec<f64>) = a
        .iter()
        .filter_map(|(s, v)| b.get(s).map(|w| (*v, *w)))
        .unzip();
    dagmm_evaluation::paired::paired_test(&x, &y)
}

/// A paired test's cells of a comparisons table: pairs, mean difference, both p, `apart`.
pub(crate) fn test_cells(t: &PairedTest) -> String {
    format!(
        "{} | {:+.4} | {} | {} | {}",
        t.n,
        t.mean_difference,
        p_cell(t.t_p),
        p_cell(t.wilcoxon_p),
        if apart(t) { "apart" } else { "" }
    )
}

/// F1 by seed of a group's runs (runs without a seed or an F1 left out).
pub(crate) fn f1_by_seed(g: &Group, metric: Metric) -> BTreeMap<u64, f64> {
    g.runs
        .iter()
        .filter_map(|r| Some((r.summary.seed?, r.summary.metric(metric)?)))
        .collect()
}

/// A p-value as tables show it.
pub(crate) fn p_cell(p: Option<f64>) -> String {
    match p {
        None => "–".into(),
        Some(p) if p < 0.001 => format!("{p:.1e}"),
        Some(p) => format!("{p:.3}"),
    }
}

/// Whether a paired comparison is apart at 0.05: both tests say so (the Wilcoxon test alone
/// cannot reach 0.05 with fewer than six pairs, so five seeds rest on the t-test too).
pub(crate) fn apart(t: &PairedTest) -> bool {
    let t_p = t.t_p.unwrap_or(1.0);
    let w_p = t.wilcoxon_p.unwrap_or(1.0);
    t_p < 0.05 && (w_p < 0.05 || t.n < 6)
}

/// The paired comparisons of a report, per data set: every method against the best one (by
/// mean F1) on the seeds both ran, and every trained network against its untrained control on
/// the same seeds; written as `paired.md` (`scripts/table_comparisons.py` writes its own
/// `comparisons.md`, the same tests by scipy, with the paper's figures beside). Returns its text and the summary's sentences
/// (which method is best where, by how much, with what confidence; where training lowered F1).
pub(crate) fn write_comparisons(dir: &Path, groups: &Groups) -> Result<(String, Vec<String>)> {
    let mut md = String::from(
        "Each method against the data set's best (highest mean F1) on the seeds both ran: the \
         mean F1 difference, the paired t-test's and the Wilcoxon signed-rank test's two-sided p \
         (Wilcoxon: exact; it cannot go below 0.0625 with five pairs). `apart`: p < 0.05 (both \
         tests from six pairs on).\n",
    );
    let mut summary = Vec::new();
    let mut by_data: BTreeMap<&str, Vec<(&str, &Group)>> = BTreeMap::new();
    for ((data, MethodKey(method)), g) in groups {
        by_data.entry(data).or_default().push((method, g));
    }
    for (data, methods) in &by_data {
        let mean_f1 = |g: &Group| values(&g.runs, Metric::F1).map(|v| mean_std(&v).0);
        let mut ranked: Vec<(&str, &Group, f64)> = methods
            .iter()
            .filter_map(|(m, g)| mean_f1(g).map(|f| (*m, *g, f)))
            .collect();
        ranked.sort_by(|a, b| b.2.total_cmp(&a.2));
        let Some(&(best_m, best_g, best_f1)) = ranked.first() else {
            continue;
        };
        let best_name = name(best_m, best_g);
        md.push_str(&format!(
            "\n### {data}\n\n| method | mean F1 | seeds paired | F1 − {best_name} | paired t p | Wilcoxon p | |\n|---|---|---|---|---|---|---|\n"
        ));
        let best_seeds = f1_by_seed(best_g, Metric::F1);
        md.push_str(&format!(
            "| {best_name} | {best_f1:.4} | {} | best | – | – | |\n",
            best_seeds.len()
        ));
        let mut runner_up = None;
        for &(m, g, f1) in &ranked[1..] {
            let t = paired_on_common_seeds(&f1_by_seed(g, Metric::F1), &best_seeds);
            md.push_str(&format!(
                "| {} | {f1:.4} | {} |\n",
                name(m, g),
                test_cells(&t)
            ));
            if runner_up.is_none() {
                runner_up = Some((name(m, g), f1, t));
            }
        }
        let n_best = best_g.runs.len();
        let mut sentence = format!(
            "On {data}, {best_name} has the highest F1 ({best_f1:.3}, {} run{})",
            n_best,
            if n_best == 1 { "" } else { "s" }
        );
        match runner_up {
            Some((second, f1, t)) if t.n >= 2 => sentence.push_str(&format!(
                ", {:.3} above {second} ({f1:.3}); over their {} common seeds the difference is {} \
                 (paired t p {}, Wilcoxon p {})",
                best_f1 - f1,
                t.n,
                if apart(&t) { "apart from zero" } else { "not apart from zero" },
                p_cell(t.t_p),
                p_cell(t.wilcoxon_p)
            )),
            Some((second, f1, _)) => sentence.push_str(&format!(
                ", {:.3} above {second} ({f1:.3}); too few common seeds to test the difference",
                best_f1 - f1
            )),
            None => {}
        }
        sentence.push('.');
        summary.push(sentence);

        // Trained against untrained, seed by seed.
        let mut lowered = Vec::new();
        let mut rows = String::new();
        for (m, g) in methods {
            let t = paired_on_common_seeds(
                &f1_by_seed(g, Metric::F1),
                &f1_by_seed(g, Metric::UntrainedF1),
            );
            if t.n == 0 {
                continue;
            }
            rows.push_str(&format!("| {} | {} |\n", name(m, g), test_cells(&t)));
            if t.mean_difference < 0.0 {
                lowered.push(format!(
                    "{} ({:+.3}{})",
                    name(m, g),
                    t.mean_difference,
                    if apart(&t) { ", apart" } else { "" }
                ));
            }
        }
        if !rows.is_empty() {
            md.push_str(&format!(
                "\nTrained against untrained (the same network at its initial weights, the same \
                 seeds):\n\n| method | seeds | F1 − untrained F1 | paired t p | Wilcoxon p | |\n|---|---|---|---|---|---|\n{rows}"
            ));
        }
        if !lowered.is_empty() {
            summary.push(format!(
                "On {data}, training lowered the mean F1 below the untrained network's for {}.",
                lowered.join(", ")
            ));
        }
    }
    write_bytes(&dir.join("paired.md"), md.as_bytes())?;
    Ok((md, summary))
}
