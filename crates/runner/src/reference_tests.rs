//! The config and experiment reference (`docs/config.md`) against the types it describes: every
//! field a config or an experiment file can hold is named there, and every name there is a
//! field, so the page cannot drift from the code.

use std::collections::BTreeSet;
use std::path::Path;

use dagmm_pipeline::{DetectorKind, RunConfig};

/// Every dotted key of a TOML value (arrays are leaves).
fn keys(prefix: &str, value: &toml::Value, out: &mut BTreeSet<String>) {
    if let toml::Value::Table(t) = value {
        for (k, v) in t {
            let key = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            if v.is_table() {
                keys(&key, v, out);
            } else {
                out.insert(key);
            }
        }
    }
}

/// Every field a config can hold: the resolved configs of every detector, with every optional
/// field given a value.
pub fn config_keys() -> BTreeSet<String> {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("c.toml");
    std::fs::write(
        &base,
        "seed = 1\n[data]\nsource = \"file\"\npath = \"x.csv\"\nnames = \"k.names\"\n\
         label_column = \"label\"\nsplit_seed = 3\n[evaluation]\nanomaly_percentile = 5.0\n",
    )
    .unwrap();
    let mut all = BTreeSet::new();
    let mut add = |overrides: &[String]| {
        let c = RunConfig::load(&base, overrides).unwrap_or_else(|e| panic!("{overrides:?}: {e}"));
        let v = toml::Value::try_from(c.resolved()).unwrap();
        keys("", &v, &mut all);
    };
    for kind in DetectorKind::ALL {
        add(&[format!("model.kind=\"{}\"", kind.name())]);
    }
    add(&[
        "data.contamination=0.02".into(),
        "training.grad_clip_norm=5.0".into(),
        "pretraining.learning_rate=1e-3".into(),
        "pretraining.batch_size=64".into(),
    ]);
    add(&[
        "evaluation.threshold=\"value\"".into(),
        "evaluation.threshold_value=1.0".into(),
    ]);
    add(&["evaluation.pu.labelled_fraction=0.1".into()]);
    add(&["model.kind=\"gmm\"".into(), "gmm.select_k=[1, 4]".into()]);
    add(&["model.kind=\"ocsvm\"".into(), "ocsvm.gamma=0.5".into()]);
    all.insert("extends".into());
    all
}

/// Every field of an experiment file: `description`, `seeds` and the `[[run]]` entry's fields.
pub fn experiment_keys() -> BTreeSet<String> {
    let text = "description = \"d\"\nseeds = [0]\n[[run]]\nname = \"a\"\nlabel = \"A\"\n\
                config = \"c.toml\"\ndata = \"x\"\nset = [\"seed=1\"]\n\
                grid = { \"seed\" = [1] }\nseeds = [0]\npaper = { f1 = 0.5 }\n";
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("e.toml");
    std::fs::write(&file, text).unwrap();
    let exp = dagmm_run_folder::experiment::Experiment::load(&file).unwrap();
    let v = toml::Value::try_from(&exp).unwrap();
    let mut out = BTreeSet::new();
    for (k, value) in v.as_table().unwrap() {
        if k == "run" {
            for (field, _) in value.as_array().unwrap()[0].as_table().unwrap() {
                out.insert(format!("run.{field}"));
            }
        } else {
            out.insert(k.clone());
        }
    }
    out
}

/// The `` `key` `` names of a reference section's table rows (`| `key` | ...`).
fn documented(page: &str, heading: &str) -> BTreeSet<String> {
    let start = page
        .find(heading)
        .unwrap_or_else(|| panic!("docs/config.md has no `{heading}`"));
    let rest = &page[start + heading.len()..];
    let end = rest.find("\n## ").unwrap_or(rest.len());
    rest[..end]
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split_once('`').map(|(k, _)| k.to_string()))
        .collect()
}

#[test]
fn the_reference_names_every_field_and_nothing_else() {
    let page =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/config.md"))
            .unwrap();
    for (heading, fields) in [
        ("## Config files", config_keys()),
        ("## Experiment files", experiment_keys()),
    ] {
        let listed = documented(&page, heading);
        let missing: Vec<&String> = fields.difference(&listed).collect();
        let unknown: Vec<&String> = listed.difference(&fields).collect();
        assert!(
            missing.is_empty() && unknown.is_empty(),
            "{heading}: not in docs/config.md: {missing:?}; in it but no field: {unknown:?}"
        );
    }
}

#[test]
#[ignore = "prints the fields, for writing the reference"]
fn print_fields() {
    for k in config_keys() {
        println!("{k}");
    }
    for k in experiment_keys() {
        println!("{k}");
    }
}
