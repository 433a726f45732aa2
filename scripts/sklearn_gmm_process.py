#!/usr/bin/env python3
"""scikit-learn as a whole process on a `dagmm bench gmm --write-data` file, the peer of
`dagmm gmm --data FILE --label-column label -k K --scale z-score --percentile 5`: read the CSV,
z-score every column, fit `GaussianMixture(K, covariance_type="full", random_state=0)` once, and
print the read and fit times and the lower bound. Time the whole process from outside:

    dagmm bench gmm --preset wide --write-data /tmp/wide.csv
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/time -f "%e s %M KB" \
        python3 scripts/sklearn_gmm_process.py /tmp/wide.csv --components 2

Needs numpy and scikit-learn (results/README.md, "Wide EM as whole processes").
"""
import argparse
import time

import numpy as np
from sklearn.mixture import GaussianMixture

parser = argparse.ArgumentParser()
parser.add_argument("csv")
parser.add_argument("--components", type=int, default=2)
args = parser.parse_args()

t0 = time.time()
x = np.loadtxt(args.csv, delimiter=",", skiprows=1)[:, :-1]  # the last column is `label`
x = (x - x.mean(0)) / x.std(0)
t1 = time.time()
g = GaussianMixture(args.components, covariance_type="full", random_state=0).fit(x)
print(
    f"read+scale {t1 - t0:.2f}s fit {time.time() - t1:.2f}s iters {g.n_iter_} "
    f"lb {g.lower_bound_:.5f}"
)
