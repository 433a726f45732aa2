#!/usr/bin/env python3
"""Our OC-SVM run against scikit-learn's OneClassSVM (libsvm) on the same rows.

Takes a finished `dagmm train --config configs/<set>/ocsvm.toml --seed S` run folder and the
`dagmm export --config configs/<set>/dagmm.toml --seed S` setup of the same data set and seed (the
same split and min-max scaling: the OC-SVM configs share the DAGMM configs' protocol), fits
scikit-learn's OneClassSVM with the run's ν and γ on the same training rows, and compares its
decision values on the test rows with the run's `scores.csv` (ours), and both programs' F1 at the
run's percentile and ROC AUC. Only runs that fitted every training row (rows_fitted =
rows_available: Thyroid, Arrhythmia) can be compared row for row; a subsampled run (KDDCUP) draws
its subsample with our generator.

    python3 scripts/ocsvm_peer.py --run RUN --setup SETUP [--json OUT]

Needs numpy and scikit-learn. The setup's rows are float32 (what the networks read), ours are
float64: decision values agree to about 1e-5 of their range, not to the bit.
"""

import argparse
import csv
import json
import os
import sys

import numpy as np
from sklearn.svm import OneClassSVM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_torch_dagmm import judge, load_setup  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True, help="our OC-SVM run folder")
    ap.add_argument("--setup", required=True, help="dagmm export of the same data set and seed")
    ap.add_argument("--json")
    args = ap.parse_args()
    with open(os.path.join(args.run, "summary.json")) as f:
        summary = json.load(f)
    fit = summary["ocsvm"]
    if fit["rows_fitted"] != fit["rows_available"]:
        sys.exit(f"{args.run}: fitted {fit['rows_fitted']} of {fit['rows_available']} rows (a subsample): "
                 "not comparable row for row")
    _, data, _, _ = load_setup(args.setup)
    train, test = data["train"].astype(np.float64), data["test"].astype(np.float64)
    if train.shape[0] != fit["rows_available"]:
        sys.exit(f"the setup has {train.shape[0]} training rows, the run {fit['rows_available']}")
    ours = []
    with open(os.path.join(args.run, "scores.csv")) as f:
        for r in csv.DictReader(f):
            ours.append(float(r["decision_function"]))
    ours = np.array(ours)
    if ours.shape[0] != test.shape[0]:
        sys.exit(f"scores.csv has {ours.shape[0]} rows, the setup's test half {test.shape[0]}")
    svm = OneClassSVM(kernel="rbf", nu=fit["nu"], gamma=fit["gamma"], tol=1e-3).fit(train)
    theirs = svm.decision_function(test)
    pct = summary["anomaly_percentile"]
    labels = data["test_labels"]
    span = float(np.abs(theirs).max())
    report = {
        "run": args.run,
        "nu": fit["nu"], "gamma": fit["gamma"],
        "rho": {"ours": fit["rho"], "scikit_learn": float(-svm.intercept_[0])},
        "support_vectors": {"ours": fit["n_support"], "scikit_learn": int(svm.support_.shape[0])},
        "max_abs_decision_difference": float(np.abs(ours - theirs).max()),
        "relative_to_largest_decision": float(np.abs(ours - theirs).max() / span),
        "ours": judge(-ours, labels, pct),
        "scikit_learn": judge(-theirs, labels, pct),
    }
    print(json.dumps(report, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
