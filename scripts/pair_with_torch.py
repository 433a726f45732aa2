#!/usr/bin/env python3
"""Our DAGMM and the PyTorch DAGMM of `scripts/bench_torch_dagmm.py`, paired seed by seed on
KDDCUP under the paper's protocol, into a results folder (`results/torch_pairing/` by default).

For every seed S it runs, skipping what a previous call finished:
1. `dagmm export --config CONFIG --seed S`: our split, scaled rows and initial weights, and our
   untrained control on them;
2. `dagmm train --config CONFIG --seed S`: our DAGMM trained from those weights (and its own
   untrained control, the same as 1's);
3. `bench_torch_dagmm.py run --setup`: PyTorch trained from the same split and weights (its own
   shuffles and dropout masks), with its untrained control; it also checks that its untrained
   energies equal ours;
4. `bench_torch_dagmm.py run --kddcup`: PyTorch from its own start, as an independent user would
   run it: its own KDDCUP reading, numpy's split of seed S, PyTorch's own initial weights; trained
   (`torch_own`) or only its untrained control (`torch_own_untrained`, `--epochs 0`: a minute a
   seed).

Then it writes into OUT: `runs.csv` (a row per seed and program: F1, ROC AUC, the untrained
control's, the last epoch's loss terms, the whole-set mixture's smallest weight, smallest
covariance eigenvalue and log-determinants), `table.md` (means ± std, paired tests over the seeds:
Wilcoxon signed-rank and paired t), and `records/` (each run's figures, without the per-row
scores). The run folders themselves stay in WORK (scores of 247k rows each are not committed).

    python3 scripts/pair_with_torch.py --seeds 0-9 --work /tmp/pairing --out results/torch_pairing

Needs torch, numpy, scipy and scikit-learn (a venv), and a built `dagmm` (--dagmm).
"""

import argparse
import csv
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def processor():
    """The CPU's model name, as /proc/cpuinfo gives it."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def seeds_of(text):
    out = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        out += list(range(int(a), int(b) + 1)) if b else [int(a)]
    return out


def run(cmd, log):
    print("$", " ".join(cmd), flush=True)
    with open(log, "a") as f:
        f.write("$ " + " ".join(cmd) + "\n")
        f.flush()
        started = time.time()
        code = subprocess.call(cmd, stdout=f, stderr=subprocess.STDOUT)
        f.write(f"# exit {code} after {time.time() - started:.0f} s\n")
    if code != 0:
        sys.exit(f"failed ({code}): {' '.join(cmd)}; see {log}")


def mixture_diagnostics(phi, mu, cov):
    phi, cov = np.asarray(phi, float), np.asarray(cov, float)
    eig = np.linalg.eigvalsh(cov)
    diag = np.diagonal(cov, axis1=1, axis2=2)
    _, logdet = np.linalg.slogdet(cov + 1e-6 * np.eye(cov.shape[1]))
    return {
        "min_phi": float(phi.min()),
        "min_eigenvalue": float(eig.min()),
        "min_diagonal": float(diag.min()),
        "log_dets": [round(float(v), 3) for v in logdet],
        "min_log_det": float(logdet.min()),
        "penalty_of_mixture": float((1.0 / (diag + 1e-6)).sum()),
    }


def ours_record(folder):
    s = json.load(open(os.path.join(folder, "summary.json")))
    m = json.load(open(os.path.join(folder, "model", "model.json")))["mixture"]["gaussian"]
    last = s["final_loss"]
    rec = {
        "f1": s["f1"], "precision": s["precision"], "recall": s["recall"], "roc_auc": s["roc_auc"],
        "pr_auc": s["pr_auc"], "untrained_f1": s["untrained_f1"], "untrained_roc_auc": s["untrained_roc_auc"],
        "reconstruction": last["reconstruction"], "energy": last["energy"], "penalty": last["penalty"],
        "train_seconds": s["train_seconds"],
        "mixture": {"phi": m["weights"], "mu": m["means"], "cov": m["covariances"]},
    }
    rec.update(mixture_diagnostics(m["weights"], m["means"], m["covariances"]))
    return rec


def torch_record(path):
    r = json.load(open(path))
    last = r["history"][-1] if r["history"] else {"reconstruction": None, "energy": None, "penalty": None}
    rec = {
        "f1": r["trained"]["f1"], "precision": r["trained"]["precision"], "recall": r["trained"]["recall"],
        "roc_auc": r["trained"]["roc_auc"], "pr_auc": r["trained"]["pr_auc"],
        "untrained_f1": r["untrained"]["f1"], "untrained_roc_auc": r["untrained"]["roc_auc"],
        "reconstruction": last["reconstruction"], "energy": last["energy"], "penalty": last["penalty"],
        "train_seconds": r["train_seconds"], "agreement_with_ours": r["agreement_with_ours"],
        "mixture": r["mixture"],
    }
    m = r["mixture"]
    rec.update(mixture_diagnostics(m["phi"], m["mu"], m["cov"]))
    return rec


def paired(a, b):
    """Paired tests of a - b over seeds: mean difference, Wilcoxon signed-rank p, paired t p."""
    from scipy import stats

    a, b = np.asarray(a, float), np.asarray(b, float)
    d = a - b
    w = stats.wilcoxon(a, b) if np.any(d != 0) else None
    t = stats.ttest_rel(a, b)
    return {"n": len(d), "mean_difference": float(d.mean()), "std_difference": float(d.std(ddof=1)),
            "wins": int((d > 0).sum()), "losses": int((d < 0).sum()),
            "wilcoxon_p": float(w.pvalue) if w is not None else 1.0, "paired_t_p": float(t.pvalue)}


def mean_std(v):
    v = np.asarray([x for x in v if x is not None], float)
    return f"{v.mean():.4f} ± {v.std(ddof=1):.4f}" if len(v) > 1 else (f"{v[0]:.4f}" if len(v) else "–")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", default="0-9", help="e.g. 0-9 or 0,3,5")
    ap.add_argument("--config", default="configs/kddcup/dagmm.toml")
    ap.add_argument("--set", action="append", default=[], help="override for both programs' runs (dagmm --set)")
    ap.add_argument("--dagmm", default=os.path.join(ROOT, "target", "release", "dagmm"))
    ap.add_argument("--kddcup", default=None, help="raw KDDCUP file for PyTorch's own start "
                                                    "(default: $DAGMM_DATA_DIR or ../shared/data)")
    ap.add_argument("--programs", default="ours,torch_shared,torch_own_untrained",
                    help="which runs to make (the others are only read): ours, torch_shared, torch_own, "
                         "torch_own_untrained")
    ap.add_argument("--torch-threads", type=int, default=1)
    ap.add_argument("--work", required=True, help="where run folders and setups go (not committed)")
    ap.add_argument("--out", default=os.path.join(ROOT, "results", "torch_pairing"))
    ap.add_argument("--report-only", action="store_true", help="only aggregate what is in WORK")
    args = ap.parse_args()
    data_dir = os.environ.setdefault("DAGMM_DATA_DIR", os.path.join(ROOT, "..", "shared", "data"))
    kddcup = args.kddcup or os.path.join(data_dir, "kddcup99", "kddcup.data_10_percent.gz")
    os.makedirs(args.work, exist_ok=True)
    log = os.path.join(args.work, "log.txt")
    seeds = seeds_of(args.seeds)
    extra = [a for s in args.set for a in ("--set", s)]
    env_py = sys.executable
    torch_script = os.path.join(HERE, "bench_torch_dagmm.py")

    programs = set(args.programs.split(","))
    if not args.report_only:
        for seed in seeds:
            setup = os.path.join(args.work, f"setup_seed{seed}")
            ours = os.path.join(args.work, f"ours_seed{seed}")
            shared = os.path.join(args.work, f"torch_shared_seed{seed}.json")
            own = os.path.join(args.work, f"torch_own_seed{seed}.json")
            own0 = os.path.join(args.work, f"torch_own_untrained_seed{seed}.json")
            if not os.path.exists(os.path.join(setup, "setup.json")):
                run([args.dagmm, "export", "--config", args.config, "--seed", str(seed), *extra, "--out", setup], log)
            if "ours" in programs and not os.path.exists(os.path.join(ours, "summary.json")):
                run([args.dagmm, "train", "--config", args.config, "--seed", str(seed), *extra, "--out", ours], log)
            if "torch_shared" in programs and not os.path.exists(shared):
                run([env_py, torch_script, "run", "--setup", setup, "--threads", str(args.torch_threads),
                     "--json", shared], log)
            if "torch_own" in programs and not os.path.exists(own):
                run([env_py, torch_script, "run", "--kddcup", kddcup, "--seed", str(seed),
                     "--threads", str(args.torch_threads), "--json", own], log)
            if "torch_own_untrained" in programs and not os.path.exists(own0):
                run([env_py, torch_script, "run", "--kddcup", kddcup, "--seed", str(seed), "--epochs", "0",
                     "--threads", str(args.torch_threads), "--json", own0], log)

    rows, records = [], {}
    for seed in seeds:
        found = {
            "dagmm (ours)": (os.path.join(args.work, f"ours_seed{seed}"), ours_record, "summary.json"),
            "PyTorch, our start": (os.path.join(args.work, f"torch_shared_seed{seed}.json"), torch_record, None),
            "PyTorch, own start": (os.path.join(args.work, f"torch_own_seed{seed}.json"), torch_record, None),
            "PyTorch, own start, untrained only": (
                os.path.join(args.work, f"torch_own_untrained_seed{seed}.json"), torch_record, None),
        }
        for name, (path, reader, inner) in found.items():
            probe = os.path.join(path, inner) if inner else path
            if not os.path.exists(probe):
                continue
            rec = reader(path)
            records.setdefault(name, {})[seed] = rec
            rows.append({"seed": seed, "program": name, **{k: v for k, v in rec.items()
                                                           if k not in ("mixture", "agreement_with_ours", "log_dets")}})
    if not rows:
        sys.exit("nothing finished yet")
    os.makedirs(os.path.join(args.out, "records"), exist_ok=True)
    fields = ["seed", "program", "f1", "precision", "recall", "roc_auc", "pr_auc", "untrained_f1",
              "untrained_roc_auc", "reconstruction", "energy", "penalty", "min_phi", "min_eigenvalue",
              "min_diagonal", "min_log_det", "penalty_of_mixture", "train_seconds"]
    with open(os.path.join(args.out, "runs.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    for name, by_seed in records.items():
        slug = {"dagmm (ours)": "ours", "PyTorch, our start": "torch_our_start",
                "PyTorch, own start": "torch_own_start",
                "PyTorch, own start, untrained only": "torch_own_start_untrained"}[name]
        with open(os.path.join(args.out, "records", f"{slug}.json"), "w") as f:
            json.dump({str(s): r for s, r in sorted(by_seed.items())}, f, indent=1)

    lines = ["# Our DAGMM and a PyTorch DAGMM, paired on KDDCUP", "",
             f"Config `{args.config}`{' with ' + ', '.join(args.set) if args.set else ''}; the paper's protocol "
             "(seeded 50/50 split, trained on the normal rows of one half, the top 20% of the other half's "
             "energies flagged). Written by `scripts/pair_with_torch.py` "
             f"(PyTorch on {args.torch_threads} thread(s); processor: {processor()}).",
             "", "## Per program (mean ± std over the seeds)", "",
             "| program | seeds | F1 | ROC AUC | untrained F1 | untrained ROC AUC | trained − untrained F1 | "
             "last reconstruction | last energy | last penalty | smallest φ | smallest Σ eigenvalue |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, by_seed in records.items():
        v = list(by_seed.values())
        col = lambda k: [r[k] for r in v]
        if name.endswith("untrained only"):
            lines.append(f"| {name} | {len(v)} | – | – | {mean_std(col('untrained_f1'))} | "
                         f"{mean_std(col('untrained_roc_auc'))} | – | – | – | – | – | – |")
            continue
        gain = [r["f1"] - r["untrained_f1"] for r in v]
        lines.append(f"| {name} | {len(v)} | {mean_std(col('f1'))} | {mean_std(col('roc_auc'))} | "
                     f"{mean_std(col('untrained_f1'))} | {mean_std(col('untrained_roc_auc'))} | {mean_std(gain)} "
                     f"({sum(g < 0 for g in gain)} of {len(v)} below) | {mean_std(col('reconstruction'))} | "
                     f"{mean_std(col('energy'))} | {mean_std(col('penalty'))} | "
                     f"{np.median(col('min_phi')):.3g} (median) | {np.median(col('min_eigenvalue')):.2g} (median) |")
    lines += ["", "## Per seed: F1 (ROC AUC)", "",
              "| seed | " + " | ".join(f"{n} trained | {n} untrained" for n in records) + " |",
              "|---|" + "---|---|" * len(records)]
    for seed in seeds:
        cells = []
        for name in records:
            r = records[name].get(seed)
            trained = "–" if (not r or name.endswith("untrained only")) else f"{r['f1']:.4f} ({r['roc_auc']:.4f})"
            cells += [trained, f"{r['untrained_f1']:.4f} ({r['untrained_roc_auc']:.4f})" if r else "–"]
        lines.append(f"| {seed} | " + " | ".join(cells) + " |")

    lines += ["", "## Paired tests over the seeds", "",
              "Differences are first − second, seed by seed; Wilcoxon signed-rank (two-sided, exact for small n) "
              "and paired t.", "",
              "| comparison | metric | seeds | mean difference | first higher / lower | Wilcoxon p | paired t p |",
              "|---|---|---|---|---|---|---|"]

    def add_test(label, a_name, a_key, b_name, b_key, metric):
        a, b = records.get(a_name, {}), records.get(b_name, {})
        common = sorted(set(a) & set(b))
        if len(common) < 3:
            return
        t = paired([a[s][a_key] for s in common], [b[s][b_key] for s in common])
        lines.append(f"| {label} | {metric} | {t['n']} | {t['mean_difference']:+.4f} | {t['wins']} / {t['losses']} | "
                     f"{t['wilcoxon_p']:.3g} | {t['paired_t_p']:.3g} |")

    for metric, key in (("F1", "f1"), ("ROC AUC", "roc_auc")):
        add_test("ours − PyTorch (same start)", "dagmm (ours)", key, "PyTorch, our start", key, metric)
        add_test("ours trained − ours untrained", "dagmm (ours)", key, "dagmm (ours)", "untrained_" + key, metric)
        add_test("PyTorch trained − untrained (same start)", "PyTorch, our start", key, "PyTorch, our start",
                 "untrained_" + key, metric)
        add_test("PyTorch trained − untrained (own start)", "PyTorch, own start", key, "PyTorch, own start",
                 "untrained_" + key, metric)
        add_test("ours untrained − PyTorch untrained, own start (seeds paired, splits and weights not)",
                 "dagmm (ours)", "untrained_" + key, "PyTorch, own start, untrained only", "untrained_" + key, metric)
        add_test("PyTorch own start − our start (trained)", "PyTorch, own start", key, "PyTorch, our start", key,
                 metric)
        add_test("PyTorch own start − our start (untrained)", "PyTorch, own start", "untrained_" + key,
                 "PyTorch, our start", "untrained_" + key, metric)

    agree = [r["agreement_with_ours"] for r in records.get("PyTorch, our start", {}).values()
             if r.get("agreement_with_ours")]
    if agree:
        lines += ["", "## The untrained network, computed by both", "",
                  "PyTorch's untrained energies of the test rows against ours, from the same rows and weights "
                  "(`untrained.npz` of `dagmm export`):", "",
                  f"- largest energy difference over all seeds: {max(a['max_abs_energy_difference'] for a in agree):.3g} "
                  f"(relative {max(a['max_relative_energy_difference'] for a in agree):.3g});",
                  f"- rows flagged the same: at least {100 * min(a['same_flag_fraction'] for a in agree):.4f}%;",
                  f"- largest difference of the whole-set mixtures: φ {max(a['max_abs_phi_difference'] for a in agree):.2g}, "
                  f"μ {max(a['max_abs_mu_difference'] for a in agree):.2g}, "
                  f"Σ {max(a['max_abs_cov_difference'] for a in agree):.2g}."]
    with open(os.path.join(args.out, "table.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
