#!/usr/bin/env python3
"""Writes the scikit-learn reference the OC-SVM detector's test holds ours to:
`crates/pipeline/src/detectors/fixtures/ocsvm_sklearn.json`.

scikit-learn's `OneClassSVM` (libsvm) with an RBF kernel, fitted on rows drawn here (three
blobs in 4 dimensions and a few uniform rows) at two (nu, gamma) settings, tolerance 1e-6; the
fixture holds the rows, the settings, and libsvm's decision values f(x) = sum_i alpha_i K(x_i, x)
- rho on the training rows and on held-out rows, its rho and its number of support vectors.

    pip install numpy scikit-learn      # a venv; CI does not need it, the fixture is committed
    python3 scripts/make_ocsvm_fixture.py
"""

import json
import os

import numpy as np
import sklearn
from sklearn.svm import OneClassSVM

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "crates", "pipeline", "src", "detectors",
                   "fixtures", "ocsvm_sklearn.json")


def rows(rng, n):
    centers = rng.uniform(-2.0, 2.0, size=(3, 4))
    x = centers[rng.integers(0, 3, size=n)] + rng.normal(0.0, 0.4, size=(n, 4))
    odd = rng.random(n) < 0.05
    x[odd] = rng.uniform(-4.0, 4.0, size=(odd.sum(), 4))
    return x


def main():
    rng = np.random.default_rng(2001)
    x, held_out = rows(rng, 300), rows(rng, 100)
    cases = []
    for nu, gamma in ((0.1, 0.5), (0.3, 0.05)):
        svm = OneClassSVM(kernel="rbf", nu=nu, gamma=gamma, tol=1e-6, shrinking=True).fit(x)
        cases.append({
            "nu": nu,
            "gamma": gamma,
            "rho": float(-svm.intercept_[0]),
            "n_support": int(svm.support_.shape[0]),
            "train_decision": svm.decision_function(x).tolist(),
            "held_out_decision": svm.decision_function(held_out).tolist(),
        })
        print(f"nu {nu}, gamma {gamma}: rho {cases[-1]['rho']:.6f}, {cases[-1]['n_support']} support vectors")
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump({"generator": "scripts/make_ocsvm_fixture.py", "scikit_learn": sklearn.__version__,
                   "rows": x.tolist(), "held_out": held_out.tolist(), "cases": cases}, f)
        f.write("\n")
    print(f"wrote {os.path.relpath(OUT)} ({os.path.getsize(OUT) / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
