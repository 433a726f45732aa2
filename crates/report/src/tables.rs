//! The report's tables: `table.md`/`.csv` (per data set and method, mean ± std over seeds of
//! every metric, the untrained control, the paper's figures), `percentiles.md`/`.csv` (F1 at each
//! swept percentile) and `rules.md`/`.csv` (the same scores under every threshold rule).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use dagmm_pipeline::files::write_bytes;
use dagmm_pipeline::{DecisionKind, Metric, RunSummary, ThresholdRule};

use crate::groups::{mean_std, name, seed, values, Group, Groups, MethodKey};

pub(crate) const METRICS: &[(Metric, &str)] = &[
    (Metric::Precision, "precision"),
    (Metric::Recall, "recall"),
    (Metric::F1, "F1"),
    (Metric::RocAuc, "ROC AUC"),
    (Metric::UntrainedF1, "untrained F1"),
    (Metric::UntrainedRocAuc, "untrained ROC AUC"),
];

/// The published figures a table puts beside ours, as experiment files name them.
pub(crate) const PAPER: &[(Metric, &str)] = &[
    (Metric::Precision, "precision"),
    (Metric::Recall, "recall"),
    (Metric::F1, "F1"),
    (Metric::RocAuc, "ROC AUC"),
];

/// A table cell: the mean ± sample standard deviation over seeds, or the one seed's value.
pub(crate) fn cell(values: &[f64]) -> String {
    let (m, s) = mean_std(values);
    if values.len() > 1 {
        format!("{m:.4} ± {s:.4}")
    } else {
        format!("{m:.4}")
    }
}

/// Which commits of dagmm made a report's runs, and how many each (from their manifests), so a
/// table made by an older binary says so: `Runs made by dagmm commit 6dc7f99313 (12 runs),
/// fbc67ddd5a (40 runs).`
pub(crate) fn provenance_line(groups: &Groups) -> String {
    let mut by_commit: BTreeMap<String, usize> = BTreeMap::new();
    for r in groups.values().flat_map(|g| &g.runs) {
        let commit = match r.manifest.as_ref().map(|m| &m.git) {
            Some(git) => match &git.commit {
                Some(c) => {
                    let short: String = c.chars().take(10).collect();
                    if git.dirty == Some(true) {
                        format!("{short} (with uncommitted changes)")
                    } else {
                        short
                    }
                }
                None => "unknown (not a git checkout)".into(),
            },
            None => "unknown (no manifest)".into(),
        };
        *by_commit.entry(commit).or_insert(0) += 1;
    }
    let parts: Vec<String> = by_commit
        .iter()
        .map(|(c, n)| format!("{c} ({n} run{})", if *n == 1 { "" } else { "s" }))
        .collect();
    format!(
        "Runs made by dagmm commit{} {}.\n\n",
        if parts.len() == 1 { "" } else { "s" },
        parts.join(", ")
    )
}

pub(crate) fn write_tables(dir: &Path, groups: &Groups) -> Result<String> {
    let mut md = provenance_line(groups);
    md.push_str("| data set | method | seeds | epochs |");
    let mut csv = String::from("data_set,method,label,seeds,epochs");
    for (metric, title) in METRICS {
        let key = metric.key();
        md.push_str(&format!(" {title} |"));
        csv.push_str(&format!(",{key}_mean,{key}_std"));
    }
    for (metric, title) in PAPER {
        md.push_str(&format!(" paper {title} |"));
        csv.push_str(&format!(",paper_{}", metric.key()));
    }
    md.push_str(" F1 − paper | NaN-free | samples/s |\n|---|---|---|---|");
    md.push_str(&"---|".repeat(METRICS.len() + PAPER.len() + 3));
    md.push('\n');
    csv.push_str(",f1_minus_paper,nan_free,samples_per_second_mean\n");
    // The best mean of each judged metric on each data set, marked in bold.
    let marked = [
        Metric::Precision,
        Metric::Recall,
        Metric::F1,
        Metric::RocAuc,
    ];
    let mut best: BTreeMap<(&str, Metric), f64> = BTreeMap::new();
    for ((data, _), g) in groups {
        for metric in marked {
            if let Some(v) = values(&g.runs, metric) {
                let m = mean_std(&v).0;
                let b = best.entry((data.as_str(), metric)).or_insert(m);
                *b = b.max(m);
            }
        }
    }
    for ((data, MethodKey(method)), g) in groups {
        let seeds: Vec<String> = g.runs.iter().map(seed).collect();
        let epochs = g.runs[0]
            .summary
            .epochs
            .map_or("–".into(), |e| e.to_string());
        let label = name(method, g);
        md.push_str(&format!(
            "| {data} | {label} | {} | {epochs} |",
            seeds.join(", ")
        ));
        csv.push_str(&format!(
            "{data},{method},\"{}\",{},{epochs}",
            label.replace('"', "'"),
            seeds.join(" ")
        ));
        for (metric, _) in METRICS {
            match values(&g.runs, *metric) {
                Some(v) => {
                    let (m, s) = mean_std(&v);
                    if best.get(&(data.as_str(), *metric)) == Some(&m) {
                        md.push_str(&format!(" **{}** |", cell(&v)));
                    } else {
                        md.push_str(&format!(" {} |", cell(&v)));
                    }
                    csv.push_str(&format!(",{m},{s}"));
                }
                None => {
                    md.push_str(" n/a |");
                    csv.push_str(",,");
                }
            }
        }
        for (metric, _) in PAPER {
            match g.paper.get(metric.key()) {
                Some(v) => {
                    md.push_str(&format!(" {v:.4} |"));
                    csv.push_str(&format!(",{v}"));
                }
                None => {
                    md.push_str(" – |");
                    csv.push(',');
                }
            }
        }
        // Our mean F1 less the published one, where the experiment gives it.
        let f1 = values(&g.runs, Metric::F1).map(|v| mean_std(&v).0);
        match (f1, g.paper.get(Metric::F1.key())) {
            (Some(ours), Some(paper)) => {
                md.push_str(&format!(" {:+.4} |", ours - paper));
                csv.push_str(&format!(",{}", ours - paper));
            }
            _ => {
                md.push_str(" – |");
                csv.push(',');
            }
        }
        // Runs from before `nan_free` was recorded finished, and a NaN loss stops a run.
        let nan_free = g.runs.iter().all(|r| r.summary.nan_free.unwrap_or(true));
        let speed = values(&g.runs, Metric::SamplesPerSecond).map(|v| mean_std(&v).0);
        md.push_str(&format!(
            " {} | {} |\n",
            if nan_free { "yes" } else { "NO" },
            speed.map_or("n/a".into(), |s| format!("{s:.0}"))
        ));
        csv.push_str(&format!(
            ",{nan_free},{}\n",
            speed.map_or(String::new(), |s| s.to_string())
        ));
    }
    write_bytes(&dir.join("table.md"), md.as_bytes())?;
    write_bytes(&dir.join("table.csv"), csv.as_bytes())?;
    Ok(md)
}

/// Per percentile: (precision, recall, F1) of every seed. The run's own cut joins the swept
/// percentiles when the run flagged the top P% of its test scores (the sweep's rule), so a
/// Thyroid run cut at 2.5% shows there too.
pub(crate) fn sweep_rows(g: &Group) -> BTreeMap<i64, Vec<[f64; 3]>> {
    let mut rows: BTreeMap<i64, Vec<[f64; 3]>> = BTreeMap::new();
    for r in &g.runs {
        let s = &r.summary;
        let mut own: BTreeMap<i64, [f64; 3]> = s
            .sweep
            .iter()
            .map(|row| {
                (
                    per_mille(row.percentile),
                    [row.precision, row.recall, row.f1],
                )
            })
            .collect();
        if let Some(p) = configured_cut(s) {
            if let (Some(pr), Some(re), Some(f1)) = (s.precision, s.recall, s.f1) {
                own.entry(per_mille(p)).or_insert([pr, re, f1]);
            }
        }
        for (p, v) in own {
            rows.entry(p).or_default().push(v);
        }
    }
    rows
}

pub(crate) fn per_mille(percentile: f64) -> i64 {
    (percentile * 1000.0).round() as i64
}

/// The percentile a run cut its test scores at, when it used the sweep's rule.
pub(crate) fn configured_cut(s: &RunSummary) -> Option<f64> {
    let rule = s.decision == DecisionKind::TestPercentile;
    (rule && !s.sweep.is_empty())
        .then_some(s.anomaly_percentile)
        .flatten()
}

pub(crate) fn write_percentiles(dir: &Path, groups: &Groups) -> Result<String> {
    let mut md = String::from(
        "Precision, recall and F1 when the top P% of test scores are flagged (mean ± std over seeds; the value alone for one seed).\n",
    );
    let mut csv = String::from(
        "data_set,method,percentile,seeds,precision_mean,precision_std,recall_mean,recall_std,f1_mean,f1_std\n",
    );
    for ((data, MethodKey(method)), g) in groups {
        let rows = sweep_rows(g);
        if rows.is_empty() {
            continue;
        }
        md.push_str(&format!(
            "\n### {data}: {}\n\n| percentile | seeds | precision | recall | F1 |\n|---|---|---|---|---|\n",
            name(method, g)
        ));
        for (p, v) in &rows {
            let p = *p as f64 / 1000.0;
            md.push_str(&format!("| {p} | {} |", v.len()));
            csv.push_str(&format!("{data},{method},{p},{}", v.len()));
            for k in 0..3 {
                let column: Vec<f64> = v.iter().map(|r| r[k]).collect();
                let (m, s) = mean_std(&column);
                md.push_str(&format!(" {} |", cell(&column)));
                csv.push_str(&format!(",{m},{s}"));
            }
            md.push('\n');
            csv.push('\n');
        }
    }
    write_bytes(&dir.join("percentiles.md"), md.as_bytes())?;
    write_bytes(&dir.join("percentiles.csv"), csv.as_bytes())?;
    Ok(md)
}

/// `rules.md`/`rules.csv`: every threshold rule on the same scores, per data set and method.
pub(crate) fn write_rules(dir: &Path, groups: &Groups) -> Result<Option<String>> {
    let mut md = String::from(
        "The same test scores cut by each threshold rule: the top `anomaly_percentile`% of the \
         test scores (the DAGMM paper), of the training and test scores together \
         (danieltan07/dagmm), or as many rows as the test set has anomalies (GOAD; precision = \
         recall = F1). Mean ± std over seeds, and the lowest and highest F1 of a single seed.\n\n\
         | data set | method | split | rule | seeds | precision | recall | F1 | F1 min | F1 max |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
    );
    let mut csv = String::from(
        "data_set,method,split,rule,seeds,precision_mean,precision_std,recall_mean,recall_std,f1_mean,f1_std,f1_min,f1_max\n",
    );
    let mut any = false;
    for ((data, MethodKey(method)), g) in groups {
        let split = g.runs[0]
            .summary
            .protocol
            .as_ref()
            .map_or("paper", |p| p.split.name());
        for rule in ThresholdRule::COMPARABLE {
            let outcomes: Vec<_> = g.runs.iter().filter_map(|r| r.summary.rule(rule)).collect();
            if outcomes.is_empty() {
                continue;
            }
            any = true;
            let column = |f: fn(&dagmm_pipeline::RuleOutcome) -> f64| {
                outcomes.iter().map(|o| f(o)).collect::<Vec<_>>()
            };
            let stat = |f: fn(&dagmm_pipeline::RuleOutcome) -> f64| mean_std(&column(f));
            let (p, r, f) = (stat(|o| o.precision), stat(|o| o.recall), stat(|o| o.f1));
            let lo = outcomes.iter().map(|o| o.f1).fold(f64::INFINITY, f64::min);
            let hi = outcomes
                .iter()
                .map(|o| o.f1)
                .fold(f64::NEG_INFINITY, f64::max);
            md.push_str(&format!(
                "| {data} | {} | {split} | {} | {} | {} | {} | {} | {lo:.4} | {hi:.4} |\n",
                name(method, g),
                rule.name(),
                outcomes.len(),
                cell(&column(|o| o.precision)),
                cell(&column(|o| o.recall)),
                cell(&column(|o| o.f1)),
            ));
            csv.push_str(&format!(
                "{data},{method},{split},{},{},{},{},{},{},{},{},{lo},{hi}\n",
                rule.name(),
                outcomes.len(),
                p.0,
                p.1,
                r.0,
                r.1,
                f.0,
                f.1
            ));
        }
    }
    if !any {
        return Ok(None);
    }
    write_bytes(&dir.join("rules.md"), md.as_bytes())?;
    write_bytes(&dir.join("rules.csv"), csv.as_bytes())?;
    Ok(Some(md))
}
