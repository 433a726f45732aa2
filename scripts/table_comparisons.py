#!/usr/bin/env python3
"""Which methods of a sweep's results folder are statistically apart, per data set (and grid
point), from the runs' own summaries: `comparisons.md` beside the folder's `table.md`.

For every data set (Table 3: every contamination level) it lists each method's seeds, F1 and ROC
AUC as mean ± std over its seeds, the paper's F1 and our difference to it (marked where it exceeds
twice our standard deviation; never with one seed, which has no spread), and each method paired
seed by seed (the same seeds give the same split) with the best method by mean F1: the mean F1
difference, wins/losses, the paired t-test's two-sided p and the Wilcoxon signed-rank test's
(with five seeds the exact Wilcoxon p cannot fall below 0.0625, so "apart" means paired t
p < 0.05). Where the method has an untrained control, trained − untrained F1 is paired the same
way.

    /work/torchenv/bin/python scripts/table_comparisons.py results/dagmm_paper_table2

Needs numpy and scipy. Reads `experiment.toml` (labels, paper figures) and every
`<data set>/<run>[/<grid point>]/seed<k>/summary.json` under the folder.
"""

import argparse
import json
import math
import os
import re
import sys
import tomllib

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pair_with_torch import mean_std, paired  # noqa: E402

ALPHA = 0.05


def load_runs(folder):
    exp = tomllib.load(open(os.path.join(folder, "experiment.toml"), "rb"))
    entries = {}
    for r in exp["run"]:
        ds = re.search(r"configs/([^/]+)/", r["config"]).group(1)
        entries[(ds, r["name"])] = r
    runs = {}  # (ds, grid) -> name -> seed -> summary
    for root, _dirs, files in os.walk(folder):
        if "summary.json" not in files:
            continue
        m = re.fullmatch(r"seed(\d+)", os.path.basename(root))
        if not m:
            continue
        rel = os.path.relpath(os.path.dirname(root), folder).split(os.sep)
        ds, name, grid = rel[0], rel[1], "/".join(rel[2:])
        if (ds, name) not in entries:
            continue
        s = json.load(open(os.path.join(root, "summary.json")))
        runs.setdefault((ds, grid), {}).setdefault(name, {})[int(m.group(1))] = s
    return entries, runs


def paired_over_seeds(a, b):
    """`pair_with_torch.paired` of a − b, None below two seeds; where every difference is the same
    (no spread, scipy's t-test p undefined) p is 0 for a nonzero difference and 1 for none."""
    if len(a) < 2:
        return None
    p = paired(a, b)
    t = p["paired_t_p"]
    if math.isnan(t):
        t = 0.0 if p["mean_difference"] != 0 else 1.0
    return {"mean": p["mean_difference"], "wins": p["wins"], "losses": p["losses"], "t": t,
            "w": p["wilcoxon_p"]}


def fmt_p(p):
    return "–" if p is None else (f"{p:.3f}" if p >= 0.001 else f"{p:.0e}")


def sets_order(ds):
    paper_order = ["kddcup", "thyroid", "arrhythmia", "kddcup_rev"]
    return (paper_order.index(ds) if ds in paper_order else 99, ds)


def wide_table(entries, runs, order):
    """One row per method, one column group per data set (the first grid point only): F1 mean ±
    std (its untrained control's mean in brackets), ROC AUC, the paper's F1."""
    sets = sorted({ds for (ds, _) in runs}, key=sets_order)
    keys = {ds: min(g for (d, g) in runs if d == ds) for ds in sets}
    names = sorted({n for (ds, _) in runs for n in runs[(ds, keys[ds])]},
                   key=lambda n: order.index(n) if n in order else 99)
    head = "| method | " + " | ".join(f"{ds} F1 (untrained) | {ds} ROC AUC | {ds} paper F1" for ds in sets) + " |"
    out = ["## Every method, every data set", "",
           "F1 at the run's threshold, mean ± std over the seeds (how many in square brackets where fewer "
           "than five); the untrained control's mean F1 in brackets; ROC AUC; the paper's F1.", "",
           head, "|---|" + "---|" * (3 * len(sets))]
    for n in names:
        label, cells = None, []
        for ds in sets:
            m = runs[(ds, keys[ds])].get(n)
            e = entries.get((ds, n))
            if e:
                label = label or e["label"]
            if not m:
                cells += ["–", "–", "–"]
                continue
            seeds = sorted(m)
            f1 = [m[k]["f1"] for k in seeds]
            unt = [m[k].get("untrained_f1") for k in seeds if m[k].get("untrained_f1") is not None]
            cells.append(mean_std(f1) + (f" [{len(seeds)} seed{'s' if len(seeds) > 1 else ''}]" if len(seeds) < 5 else "")
                         + (f" ({np.mean(unt):.4f})" if unt else ""))
            cells.append(mean_std([m[k]["roc_auc"] for k in seeds]))
            paper = e.get("paper", {}).get("f1") if e else None
            cells.append("–" if paper is None else f"{paper:.4f}")
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    return out + [""]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder")
    ap.add_argument("--out", default=None, help="default: FOLDER/comparisons.md")
    args = ap.parse_args()
    entries, runs = load_runs(args.folder)
    lines = [f"# Which methods are apart: `{os.path.normpath(args.folder)}`", "",
             "Made by `scripts/table_comparisons.py` from the runs' `summary.json`. Per data set: F1 and "
             "ROC AUC mean ± std over the seeds each method has; `F1 − paper` marked `*` where it exceeds "
             "twice our standard deviation (or, with one seed, always unmarked: no spread to judge by); each "
             "method paired seed by seed with the best by mean F1 (shared seeds: same splits). `apart` = "
             f"paired t-test p < {ALPHA} (two-sided); with five seeds the exact Wilcoxon p is at least 0.0625. "
             "`trained − untrained`: the same pairing against the method's own untrained control.", ""]
    order = [name for (_, name) in entries]
    lines += wide_table(entries, runs, order)
    for (ds, grid) in sorted(runs, key=lambda k: (sets_order(k[0]), k[1])):
        methods = runs[(ds, grid)]
        title = ds + (f", {grid}" if grid else "")
        # The best among the methods with the most seeds (a method at one seed cannot be paired).
        most = max(len(v) for v in methods.values())
        ranked = sorted((n for n in methods if len(methods[n]) == most),
                        key=lambda n: -np.mean([s["f1"] for s in methods[n].values()]))
        best = ranked[0]
        lines += [f"## {title}", "",
                  "| method | seeds | F1 | ROC AUC | paper F1 | F1 − paper | vs best: ΔF1 (wins/losses) | t p | Wilcoxon p | apart | trained − untrained F1 (t p) |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        tied, apart = [], []
        for name in sorted(methods, key=lambda n: order.index(n) if n in order else 99):
            e = entries[(ds, name)]
            seeds = sorted(methods[name])
            f1 = [methods[name][k]["f1"] for k in seeds]
            auc = [methods[name][k]["roc_auc"] for k in seeds]
            paper = e.get("paper", {}).get("f1")
            diff = "–"
            if paper is not None:
                d = np.mean(f1) - paper
                mark = "*" if len(f1) > 1 and abs(d) > 2 * np.std(f1, ddof=1) else ""
                diff = f"{d:+.4f}{mark}"
            if name == best:
                vs, tp, wp, ap_ = "best", "", "", ""
            else:
                shared = [k for k in seeds if k in methods[best]]
                p = paired_over_seeds([methods[name][k]["f1"] for k in shared], [methods[best][k]["f1"] for k in shared])
                if p is None:
                    vs, tp, wp, ap_ = "–", "–", "–", "–"
                else:
                    vs = f"{p['mean']:+.4f} ({p['wins']}/{p['losses']})"
                    tp, wp = fmt_p(p["t"]), fmt_p(p["w"])
                    ap_ = "yes" if p["t"] < ALPHA else "no"
                    (apart if p["t"] < ALPHA else tied).append(e["label"])
            unt = [(methods[name][k].get("untrained_f1"), methods[name][k]["f1"]) for k in seeds]
            unt = [(u, f) for u, f in unt if u is not None]
            ut = "–"
            if unt:
                pu = paired_over_seeds([f for _, f in unt], [u for u, _ in unt])
                d = np.mean([f - u for u, f in unt])
                ut = f"{d:+.4f}" + (f" ({fmt_p(pu['t'])})" if pu else "")
            lines.append(f"| {e['label']} | {len(seeds)} | {mean_std(f1)} | {mean_std(auc)} | "
                         f"{'–' if paper is None else f'{paper:.4f}'} | {diff} | {vs} | {tp} | {wp} | {ap_} | {ut} |")
        fewer = [entries[(ds, n)]["label"] for n in methods if len(methods[n]) < most]
        lines += ["", f"Best by mean F1 among the methods at {most} seed(s): **{entries[(ds, best)]['label']}**"
                  + (f" (not yet at {most} seeds, so not ranked: {', '.join(fewer)})" if fewer else "") + f". Not apart from it (paired t p ≥ {ALPHA}): "
                  f"{', '.join(tied) if tied else 'none'}. Apart: {', '.join(apart) if apart else 'none'}.", ""]
    out = args.out or os.path.join(args.folder, "comparisons.md")
    with open(out + ".tmp", "w") as f:
        f.write("\n".join(lines))
    os.replace(out + ".tmp", out)
    print(f"wrote {out}")


if __name__ == "__main__":
    sys.exit(main())
