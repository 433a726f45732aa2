//! The per-row files of a run: `scores.csv` and `losses.csv`. Every file is written under a
//! temporary name and renamed into place (`dagmm_pipeline::files::atomically`), so a reader
//! never sees half a file.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use dagmm_model::EpochLosses;
use dagmm_pipeline::RowScores;

pub use dagmm_pipeline::files::{write_bytes, write_json};

/// `scores.csv`: `index,score,<the detector's columns>[,pu_score],flagged[,label]`, one row per
/// scored row; `index` is the row's number in the data file, `score` the anomaly score (higher =
/// more anomalous).
pub fn write_scores_csv(
    path: &Path,
    indices: &[usize],
    scores: &RowScores,
    pu_score: Option<&[f64]>,
    flagged: &[u8],
    labels: Option<&[u8]>,
) -> Result<()> {
    let mut text = String::with_capacity(scores.len() * 48);
    text.push_str("index,score");
    for (name, _) in &scores.columns {
        text.push(',');
        text.push_str(name);
    }
    if pu_score.is_some() {
        text.push_str(",pu_score");
    }
    text.push_str(",flagged");
    if labels.is_some() {
        text.push_str(",label");
    }
    text.push('\n');
    for (i, &index) in indices.iter().enumerate() {
        write!(text, "{index},{}", scores.score[i]).expect("writing to a String");
        for (_, values) in &scores.columns {
            write!(text, ",{}", values[i]).expect("writing to a String");
        }
        if let Some(p) = pu_score {
            write!(text, ",{}", p[i]).expect("writing to a String");
        }
        write!(text, ",{}", flagged[i]).expect("writing to a String");
        if let Some(l) = labels {
            write!(text, ",{}", l[i]).expect("writing to a String");
        }
        text.push('\n');
    }
    Ok(write_bytes(path, text.as_bytes())?)
}

/// `losses.csv`: one row per epoch of every stage (`layerN`, `finetune`, `train`).
pub fn write_losses_csv(path: &Path, history: &[EpochLosses]) -> Result<()> {
    let mut text = String::from(
        "stage,epoch,total,reconstruction,energy,penalty,regularization,codes_used,code_perplexity,seconds\n",
    );
    let opt = |v: Option<String>| v.unwrap_or_default();
    for e in history {
        writeln!(
            text,
            "{},{},{},{},{},{},{},{},{},{}",
            e.stage,
            e.epoch,
            e.total,
            e.reconstruction,
            e.energy,
            e.penalty,
            e.regularization,
            opt(e.codes_used.map(|c| c.to_string())),
            opt(e.code_perplexity.map(|c| c.to_string())),
            e.seconds
        )
        .expect("writing to a String");
    }
    Ok(write_bytes(path, text.as_bytes())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_csv_has_one_row_per_scored_row_with_the_detectors_columns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scores.csv");
        let scores = RowScores {
            score: vec![1.5, 7.0],
            columns: vec![("log_likelihood", vec![-1.5, -7.0])],
            embedding: None,
        };
        write_scores_csv(&path, &[3, 9], &scores, None, &[0, 1], Some(&[0, 1])).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "index,score,log_likelihood,flagged,label\n3,1.5,-1.5,0,0\n9,7,-7,1,1\n"
        );
        write_scores_csv(&path, &[0, 1], &scores, Some(&[0.2, 0.9]), &[0, 1], None).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "index,score,log_likelihood,pu_score,flagged\n0,1.5,-1.5,0.2,0\n1,7,-7,0.9,1\n"
        );
    }
}
