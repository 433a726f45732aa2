#!/usr/bin/env python3
"""What a DAGMM's energy is made of, on one KDDCUP split: the untrained network (our initial
weights, from `dagmm export`) and a trained one (`bench_torch_dagmm.py run --save-model`), each
judged by its energy and by the pieces the energy is built from, beside scores that need no
network at all.

For each network it reports, on the test rows (ROC AUC, and F1 with the top 20% flagged):
- the energy under the whole-set mixture (what DAGMM scores by);
- each coordinate of z = [z_c, relative distance, cosine] alone, as a 1-D Gaussian fitted on the
  training rows (score (z_j - m_j)^2 / s_j^2);
- the squared reconstruction error alone;
- the energy under a mixture of as many components fitted to the training rows' z by EM
  (scikit-learn, full covariances, reg_covar = the jitter, 3 initialisations): the network kept,
  the estimation network's memberships replaced;
- the mixture: its weights, each component's covariance eigenvalues, and how much of the test
  rows' Mahalanobis distance lies along each component's smallest eigenvector;
and, without a network: the norm of x as a 1-D Gaussian, and the distance to the nearest of 10
k-means centroids of the training rows (scikit-learn, seed 0).

    python3 scripts/dagmm_anatomy.py --setup /tmp/setup_seed0 [--trained /tmp/seed0.pt] [--json out.json]

Several seeds' JSON files, one table (mean ± std over the seeds of each score's ROC AUC and F1,
and the seeds' median mixture figures):

    python3 scripts/dagmm_anatomy.py --table anatomy.md seed0.json seed1.json ...
"""

import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_torch_dagmm import energies, judge, load_setup, model_for, whole_set_mixture  # noqa: E402
from pair_with_torch import mean_std  # noqa: E402


@torch.no_grad()
def forward(model, x, batch=8192):
    model.eval()
    zs, sqs = [], []
    for a in range(0, x.shape[0], batch):
        z, sq, _ = model(torch.from_numpy(x[a:a + batch]))
        zs.append(z.double().numpy())
        sqs.append(sq.double().numpy())
    return np.concatenate(zs), np.concatenate(sqs)


def gaussian_1d(train, test):
    m, s = train.mean(), train.std()
    return (test - m) ** 2 / max(s * s, 1e-300)


def network_anatomy(model, data, cfg, percentile):
    mixture = whole_set_mixture(model, data["train"], cfg["scoring_batch_size"])
    z_train, _ = forward(model, data["train"])
    z_test, sq_test = forward(model, data["test"])
    labels = data["test_labels"]
    phi, mu, cov = (t.numpy() for t in mixture)
    e = energies(torch.from_numpy(z_test), *mixture, cfg["jitter"]).numpy()
    out = {"energy": judge(e, labels, percentile)}
    for j, name in enumerate(["z_c" if z_test.shape[1] == 3 else f"z_c{j}" for j in range(z_test.shape[1] - 2)]
                             + ["relative distance", "cosine"]):
        out[f"{name} alone"] = judge(gaussian_1d(z_train[:, j], z_test[:, j]), labels, percentile)
    out["reconstruction error alone"] = judge(sq_test, labels, percentile)
    from sklearn.mixture import GaussianMixture

    em = GaussianMixture(len(phi), covariance_type="full", reg_covar=cfg["jitter"], n_init=3,
                         random_state=0).fit(z_train)
    out["EM mixture on z (scoring only)"] = judge(-em.score_samples(z_test), labels, percentile)
    comps = []
    for k in range(len(phi)):
        w, v = np.linalg.eigh(cov[k] + cfg["jitter"] * np.eye(cov.shape[1]))
        dev = z_test - mu[k]
        along = (dev @ v) ** 2 / w  # Mahalanobis contribution of each eigen-direction
        share_smallest = along[:, 0] / along.sum(1)
        comps.append({"phi": float(phi[k]), "eigenvalues": w.tolist(),
                      "smallest_direction_share_anomalies": float(np.median(share_smallest[labels == 1])),
                      "smallest_direction_share_normal": float(np.median(share_smallest[labels == 0]))})
    return out, comps


def write_table(out, paths):
    """One markdown table from the JSON reports of several seeds."""
    reports = [json.load(open(p)) for p in paths]
    seeds = [r["seed"] for r in reports]
    lines = [f"# What a DAGMM's energy is made of: KDDCUP, paper protocol, seeds {', '.join(map(str, seeds))}", "",
             "Written by `scripts/dagmm_anatomy.py --table` from each seed's `--json` report. Each score "
             "judged on the test rows: ROC AUC, and F1 with the top 20% flagged (mean ± std over the seeds).", "",
             "| network | score | ROC AUC | F1 | seeds |", "|---|---|---|---|---|"]
    for part in ("no network", "untrained", "trained"):
        names = []
        for r in reports:
            for name in r.get(part, {}):
                if name not in names:
                    names.append(name)
        for name in names:
            got = [r[part][name] for r in reports if name in r.get(part, {})]
            lines.append(f"| {part} | {name} | {mean_std([m['roc_auc'] for m in got])} | "
                         f"{mean_std([m['f1'] for m in got])} | {len(got)} |")
    for part in ("untrained", "trained"):
        mixtures = [r[f"{part} mixture"] for r in reports if f"{part} mixture" in r]
        if not mixtures:
            continue
        largest = [max(c["phi"] for c in m) for m in mixtures]
        smallest_eig = [min(min(c["eigenvalues"]) for c in m) for m in mixtures]
        heaviest = [max(m, key=lambda c: c["phi"]) for m in mixtures]
        share_a = [c["smallest_direction_share_anomalies"] for c in heaviest]
        share_n = [c["smallest_direction_share_normal"] for c in heaviest]
        lines += ["", f"The {part} network's whole-set mixture over {len(mixtures)} seeds: the largest weight "
                  f"{np.median(largest):.4f} (median; range {min(largest):.4f}-{max(largest):.4f}), the smallest "
                  f"covariance eigenvalue (jitter included) {np.median(smallest_eig):.2e} (median). The share of a "
                  f"test row's Mahalanobis distance to the heaviest component that lies along that component's "
                  f"smallest eigenvector (the median row's, then the median over the seeds): anomalies "
                  f"{np.median(share_a):.3f} (seeds {min(share_a):.3f}-{max(share_a):.3f}), normal rows "
                  f"{np.median(share_n):.3f} (seeds {min(share_n):.3f}-{max(share_n):.3f})."]
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--table", help="write one table from the JSON reports given as arguments, and stop")
    ap.add_argument("reports", nargs="*", help="with --table: the JSON reports")
    ap.add_argument("--setup")
    ap.add_argument("--trained", help="a network saved by bench_torch_dagmm.py run --save-model")
    ap.add_argument("--json")
    args = ap.parse_args()
    if args.table:
        write_table(args.table, args.reports)
        return
    if not args.setup:
        ap.error("--setup is required (or --table)")
    torch.set_num_threads(1)
    setup, data, weights, _ = load_setup(args.setup)
    cfg = {k: setup[k] for k in ("encoder_layers", "estimation_hidden", "n_components", "dropout", "norm_eps",
                                 "jitter", "scoring_batch_size")}
    pct = setup["anomaly_percentile"]
    labels = data["test_labels"]
    report = {"seed": setup["seed"], "no network": {}}
    norm_train = np.linalg.norm(data["train"], axis=1)
    norm_test = np.linalg.norm(data["test"], axis=1)
    report["no network"]["norm of x"] = judge(gaussian_1d(norm_train, norm_test), labels, pct)
    from sklearn.cluster import KMeans

    km = KMeans(n_clusters=10, n_init=1, random_state=0).fit(data["train"][::4])
    report["no network"]["k-means (10) distance"] = judge(km.transform(data["test"]).min(1), labels, pct)

    untrained = model_for(data["train"].shape[1], cfg)
    untrained.load_layers(weights)
    report["untrained"], report["untrained mixture"] = network_anatomy(untrained, data, cfg, pct)
    if args.trained:
        saved = torch.load(args.trained, weights_only=False)
        trained = model_for(data["train"].shape[1], cfg)
        trained.load_state_dict(saved["state_dict"])
        report["trained"], report["trained mixture"] = network_anatomy(trained, data, cfg, pct)

    for part in ("no network", "untrained", "trained"):
        if part not in report:
            continue
        print(f"{part}:")
        for name, m in report[part].items():
            print(f"  {name:28s} ROC AUC {m['roc_auc']:.4f}  F1 {m['f1']:.4f}")
        if f"{part} mixture" in report:
            for c in report[f"{part} mixture"]:
                print(f"  component phi {c['phi']:.4f}: eigenvalues "
                      + ", ".join(f"{v:.2e}" for v in c["eigenvalues"])
                      + f"; smallest direction's share of the Mahalanobis distance (median): anomalies "
                        f"{c['smallest_direction_share_anomalies']:.3f}, normal {c['smallest_direction_share_normal']:.3f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
