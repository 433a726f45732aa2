#!/usr/bin/env python3
"""Each entry of a sweep's results folder against its own untrained control, seed by seed.

Every DAGMM-family run's `summary.json` holds its F1 and ROC AUC and those of the same network at
its initial weights (`untrained_f1`, `untrained_roc_auc`), judged by the same protocol on the same
split. For every entry (data set / method / grid point) this pairs the two over the seeds and
writes a markdown table: the mean difference trained − untrained, how many seeds are above and
below, and the two-sided Wilcoxon signed-rank p (exact for small n, scipy) and paired t p.

    python3 scripts/paired_untrained.py results/dagmm_training_study [--extra NAME=runs.csv] [--out FILE]

`--extra NAME=CSV` adds an entry from a CSV with columns seed, program, f1, roc_auc, untrained_f1,
untrained_roc_auc (the rows whose program is `dagmm (ours)`), e.g. results/torch_pairing/runs.csv
for the 200-epoch runs of the same seeds. Needs numpy and scipy; the tests are pair_with_torch.py's.
"""

import argparse
import csv
import glob
import json
import os
import re

import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pair_with_torch import mean_std, paired  # noqa: E402


def entries_of(folder):
    found = {}
    for path in sorted(glob.glob(os.path.join(folder, "**", "summary.json"), recursive=True)):
        with open(path) as f:
            s = json.load(f)
        if s.get("untrained_f1") is None:
            continue
        entry = os.path.relpath(os.path.dirname(os.path.dirname(path)), folder)
        found.setdefault(entry, []).append(
            (s["seed"], s["f1"], s["roc_auc"], s["untrained_f1"], s["untrained_roc_auc"]))
    return found


def entry_of_csv(path, program="dagmm (ours)"):
    rows = []
    with open(path) as f:
        for r in csv.DictReader(f):
            if r["program"] == program:
                rows.append((int(r["seed"]), float(r["f1"]), float(r["roc_auc"]),
                             float(r["untrained_f1"]), float(r["untrained_roc_auc"])))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder")
    ap.add_argument("--extra", action="append", default=[], help="NAME=CSV (see above)")
    ap.add_argument("--out", help="default: FOLDER/untrained_paired.md")
    args = ap.parse_args()
    entries = entries_of(args.folder)
    for extra in args.extra:
        name, _, path = extra.rpartition("=")
        entries[name] = entry_of_csv(path)
    lines = [f"# Every entry against its untrained control, seed by seed ({os.path.basename(os.path.normpath(args.folder))})", "",
             "Written by `scripts/paired_untrained.py`. Differences are trained − untrained, seed by seed "
             "(the same initial weights, split and protocol); Wilcoxon signed-rank (two-sided, exact for "
             "small n) and paired t.", "",
             "| entry | seeds | F1 | untrained F1 | F1 difference | above / below | Wilcoxon p | paired t p "
             "| ROC AUC | untrained ROC AUC | ROC AUC difference | above / below | Wilcoxon p |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    natural = lambda e: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", e)]  # noqa: E731
    for entry in sorted(entries, key=natural):
        rows = entries[entry]
        rows = sorted(rows)
        _, f1, auc, uf1, uauc = (list(c) for c in zip(*rows))
        d, da = paired(f1, uf1), paired(auc, uauc)
        lines.append(f"| {entry} | {len(rows)} | {mean_std(f1)} | {mean_std(uf1)} | {d['mean_difference']:+.4f} | "
                     f"{d['wins']} / {d['losses']} | {d['wilcoxon_p']:.3g} | {d['paired_t_p']:.3g} | "
                     f"{mean_std(auc)} | {mean_std(uauc)} | {da['mean_difference']:+.4f} | "
                     f"{da['wins']} / {da['losses']} | {da['wilcoxon_p']:.3g} |")
    out = args.out or os.path.join(args.folder, "untrained_paired.md")
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
