#!/usr/bin/env python3
"""Times scikit-learn's GaussianMixture on the same rows `dagmm bench gmm` fits, for comparison.

    cargo run --release -p dagmm-runner -- bench gmm --write-data /tmp/bench.csv
    python3 scripts/bench_sklearn_gmm.py /tmp/bench.csv --components 8

Needs numpy and scikit-learn (`pip install numpy scikit-learn`); not used by the tests.
"""
import argparse
import time

import numpy as np
from sklearn.mixture import GaussianMixture

parser = argparse.ArgumentParser()
parser.add_argument("csv")
parser.add_argument("--components", type=int, default=8)
parser.add_argument("--repeats", type=int, default=3)
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()

data = np.loadtxt(args.csv, delimiter=",", skiprows=1)
X = data[:, :-1]
print(f"scikit-learn GaussianMixture, {X.shape[0]} rows x {X.shape[1]} features, K={args.components}, full, n_init=1")
times = []
for r in range(args.repeats):
    started = time.perf_counter()
    gmm = GaussianMixture(n_components=args.components, covariance_type="full", n_init=1, random_state=args.seed + r).fit(X)
    secs = time.perf_counter() - started
    times.append(secs)
    print(f"  run {r + 1}: {secs:.3f} s, {gmm.n_iter_} iterations, lower bound {gmm.lower_bound_:.5f}, converged {gmm.converged_}")
print(f"fastest {min(times):.3f} s, median {sorted(times)[len(times) // 2]:.3f} s")
