#!/usr/bin/env python3
"""A DAGMM in PyTorch, written from the paper (Zong et al., ICLR 2018), as the peer of this
repository's: it times training beside `dagmm bench train`, and it trains and judges a DAGMM from
the same starting point as `dagmm train` (the rows, split, scaling and initial weights that
`dagmm export` writes) or from its own (its own KDDCUP reading, split, scaling and PyTorch's own
initialisation), so the two implementations can be compared run by run.

The model (the paper's KDDCUP setting unless a setup says otherwise):
- compression: d-60-30-10-1 encoder, tanh between layers, linear bottleneck; decoder mirrored
  (1-10-30-60-d, tanh between layers, linear output);
- z = [z_c, ||x - x'|| / ||x||, x.x' / (||x|| ||x'||)], every norm sqrt(sum v^2 + eps^2), eps = 1e-6;
- estimation: 3-10-4, tanh, dropout 0.5, softmax;
- the batch's mixture (phi, mu, Sigma from gamma and z), energies by the Cholesky factor of
  Sigma + 1e-6 I and a true log-sum-exp, penalty sum_k sum_j 1/(Sigma_k,jj + 1e-6);
- J = mean ||x - x'||^2 + 0.1 mean E + 0.005 P; Adam, lr 1e-4, eps 1e-8; batch 1024, shuffled
  each epoch (a last batch of at most dim(z) rows joins the one before, as ours does: its
  covariances would be singular); gradients clipped to a global norm when the setup says so;
- scoring: the mixture of the whole training set (network in evaluation mode, dropout off,
  accumulated in float64, two passes), the energies of the test rows under it, the top 20% flagged
  (strictly above NumPy's 80th percentile), precision, recall, F1, ROC AUC, average precision.

Subcommands:

    # time training beside `dagmm bench train` (the rows it writes with --write-data)
    python3 scripts/bench_torch_dagmm.py bench --data /tmp/train_rows.csv --threads 1 2

    # train and judge from our starting point (`dagmm export --config C --seed S --out DIR`)
    python3 scripts/bench_torch_dagmm.py run --setup DIR --json out.json

    # train and judge from its own starting point: its own KDDCUP pipeline, torch.manual_seed(S)
    python3 scripts/bench_torch_dagmm.py run --kddcup ../shared/data/kddcup99/kddcup.data_10_percent.gz --seed S

`run` judges the untrained network first (the same network at its initial weights, the same
whole-set mixture and scoring: the untrained control) and then the trained one. With --setup it
also compares its untrained energies with ours (the setup's untrained.npz), which must agree to
float32 rounding when both compute the same thing.
"""

import argparse
import gzip
import json
import math
import os
import platform
import time

import numpy as np
import torch
from torch import nn

NORM_EPS = 1e-6
JITTER = 1e-6
LN_2PI = math.log(2 * math.pi)

# The paper's KDDCUP setting (its section 4.3), used where no setup says otherwise.
PAPER_KDDCUP = {
    "encoder_layers": [60, 30, 10, 1],
    "estimation_hidden": [10],
    "n_components": 4,
    "dropout": 0.5,
    "norm_eps": NORM_EPS,
    "jitter": JITTER,
    "lambda_energy": 0.1,
    "lambda_cov": 0.005,
    "learning_rate": 1e-4,
    "adam_epsilon": 1e-8,
    "batch_size": 1024,
    "epochs": 200,
    "grad_clip_norm": None,
    "penalty": "diagonal",
    "scoring_batch_size": 4096,
    "anomaly_percentile": 20.0,
}


def mlp(widths):
    """Linear layers with tanh between them, none after the last."""
    layers = []
    for i, (a, b) in enumerate(zip(widths, widths[1:])):
        layers.append(nn.Linear(a, b))
        if i + 2 < len(widths):
            layers.append(nn.Tanh())
    return nn.Sequential(*layers)


class Dagmm(nn.Module):
    def __init__(self, d, encoder=(60, 30, 10, 1), hidden=(10,), k=4, dropout=0.5, norm_eps=NORM_EPS):
        super().__init__()
        widths = [d, *encoder]
        self.norm_eps = norm_eps
        self.encoder = mlp(widths)
        self.decoder = mlp(widths[::-1])
        est = []
        sizes = [encoder[-1] + 2, *hidden, k]
        for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
            est.append(nn.Linear(a, b))
            if i + 2 < len(sizes):
                est += [nn.Tanh(), nn.Dropout(dropout)]
        est.append(nn.Softmax(dim=1))
        self.estimation = nn.Sequential(*est)

    def forward(self, x):
        """z, the squared reconstruction error per row, and gamma."""
        zc = self.encoder(x)
        xh = self.decoder(zc)
        eps2 = self.norm_eps * self.norm_eps
        sq = ((x - xh) ** 2).sum(1, keepdim=True)
        xn = torch.sqrt((x * x).sum(1, keepdim=True) + eps2)
        xhn = torch.sqrt((xh * xh).sum(1, keepdim=True) + eps2)
        rel = torch.sqrt(sq + eps2) / xn
        cos = (x * xh).sum(1, keepdim=True) / (xn * xhn)
        z = torch.cat([zc, rel, cos], 1)
        return z, sq.squeeze(1), self.estimation(z)

    def linear_layers(self):
        """{'encoder': [Linear...], 'decoder': [...], 'estimation': [...]}, input first."""
        pick = lambda seq: [m for m in seq if isinstance(m, nn.Linear)]
        return {"encoder": pick(self.encoder), "decoder": pick(self.decoder), "estimation": pick(self.estimation)}

    def load_layers(self, arrays):
        """Weights from arrays named `{group}.{i}.weight` ([d_out, d_in]) and `.bias`."""
        with torch.no_grad():
            for group, layers in self.linear_layers().items():
                for i, layer in enumerate(layers):
                    w = np.asarray(arrays[f"{group}.{i}.weight"])
                    b = np.asarray(arrays[f"{group}.{i}.bias"])
                    if tuple(w.shape) != tuple(layer.weight.shape) or tuple(b.shape) != tuple(layer.bias.shape):
                        raise SystemExit(f"{group}.{i}: weight {w.shape} / bias {b.shape} given for "
                                         f"{tuple(layer.weight.shape)} / {tuple(layer.bias.shape)}")
                    layer.weight.copy_(torch.from_numpy(w).to(layer.weight.dtype))
                    layer.bias.copy_(torch.from_numpy(b).to(layer.bias.dtype))


def model_for(d, cfg):
    return Dagmm(d, cfg["encoder_layers"], cfg["estimation_hidden"], cfg["n_components"], cfg["dropout"],
                 cfg["norm_eps"])


# --- the mixture ------------------------------------------------------------------------------

def batch_mixture(z, gamma):
    """The paper's eq. 5 on one batch: phi [K], mu [K, d], Sigma [K, d, d] (centred form)."""
    n = z.shape[0]
    s = gamma.sum(0)
    phi = s / n
    denom = s.clamp_min(1e-30)
    mu = gamma.t() @ z / denom.unsqueeze(1)
    dev = z.unsqueeze(0) - mu.unsqueeze(1)  # [K, N, d]
    cov = (dev * gamma.t().unsqueeze(2)).transpose(1, 2) @ dev / denom.view(-1, 1, 1)
    return phi, mu, cov


def energies(z, phi, mu, cov, jitter):
    """E(z) = -log sum_k phi_k N(z; mu_k, Sigma_k + jitter I), by Cholesky and log-sum-exp."""
    d = z.shape[1]
    eye = torch.eye(d, dtype=z.dtype, device=z.device)
    chol = torch.linalg.cholesky(cov + jitter * eye)
    dev = z.unsqueeze(0) - mu.unsqueeze(1)  # [K, N, d]
    y = torch.linalg.solve_triangular(chol, dev.transpose(1, 2), upper=False)  # [K, d, N]
    maha = (y * y).sum(1)  # [K, N]
    log_det = 2.0 * torch.log(torch.diagonal(chol, dim1=1, dim2=2)).sum(1)
    log_w = torch.log(phi.clamp_min(1e-30)) - 0.5 * (log_det + d * LN_2PI)
    return -torch.logsumexp(log_w.unsqueeze(1) - 0.5 * maha, dim=0)


def penalty(cov, jitter, kind="diagonal"):
    """The paper's sum_k sum_j 1/(Sigma_k,jj + jitter) ("diagonal"), or sum_k tr((Sigma_k + jitter I)^-1)
    ("precision"), which equals it for diagonal covariances and also grows when a covariance is
    singular through correlation."""
    if kind == "diagonal":
        return (1.0 / (torch.diagonal(cov, dim1=1, dim2=2) + jitter)).sum()
    eye = torch.eye(cov.shape[1], dtype=cov.dtype, device=cov.device)
    chol_inv = torch.linalg.solve_triangular(torch.linalg.cholesky(cov + jitter * eye), eye.expand_as(cov),
                                             upper=False)
    return (chol_inv * chol_inv).sum()


def objective(model, xb, cfg):
    """J of a batch and its terms (reconstruction, energy, penalty)."""
    z, sq, gamma = model(xb)
    phi, mu, cov = batch_mixture(z, gamma)
    e = energies(z, phi, mu, cov, cfg["jitter"])
    p = penalty(cov, cfg["jitter"], cfg.get("penalty", "diagonal"))
    recon, energy = sq.mean(), e.mean()
    total = recon + cfg["lambda_energy"] * energy + cfg["lambda_cov"] * p
    return total, (recon, energy, p)


def epoch_batches(n, batch, min_rows):
    """(start, end) of each batch; a last batch of fewer than min_rows rows joins the one before."""
    bounds = [(a, min(a + batch, n)) for a in range(0, n, batch)]
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] < min_rows:
        last = bounds.pop()
        bounds[-1] = (bounds[-1][0], last[1])
    return bounds


def train(model, x, cfg, seed, on_epoch=None):
    """Adam on J for cfg['epochs'] epochs, reshuffled each epoch (numpy default_rng(seed)),
    dropout from torch's generator; returns each epoch's mean terms."""
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=cfg["learning_rate"], eps=cfg["adam_epsilon"])
    n = x.shape[0]
    rng = np.random.default_rng(seed)
    xt = torch.from_numpy(x)
    zd = cfg["encoder_layers"][-1] + 2
    history = []
    for epoch in range(1, cfg["epochs"] + 1):
        started = time.perf_counter()
        order = torch.from_numpy(rng.permutation(n))
        sums = np.zeros(4)
        for a, b in epoch_batches(n, min(cfg["batch_size"], n), zd + 1):
            xb = xt[order[a:b]]
            total, (r, e, p) = objective(model, xb, cfg)
            opt.zero_grad(set_to_none=True)
            total.backward()
            if cfg.get("grad_clip_norm"):
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg["grad_clip_norm"])
            opt.step()
            sums += (b - a) * np.array([total.item(), r.item(), e.item(), p.item()])
        row = dict(zip(["total", "reconstruction", "energy", "penalty"], (sums / n).tolist()))
        row.update(epoch=epoch, seconds=time.perf_counter() - started)
        history.append(row)
        if on_epoch:
            on_epoch(row)
    return history


@torch.no_grad()
def whole_set_mixture(model, x, batch):
    """phi, mu, Sigma of ALL rows of x (network in evaluation mode), accumulated in float64."""
    model.eval()
    chunks = [torch.from_numpy(x[a:a + batch]) for a in range(0, x.shape[0], batch)]
    sum_g, sum_gz = 0.0, 0.0
    for xb in chunks:
        z, _, g = model(xb)
        z, g = z.double(), g.double()
        sum_g = sum_g + g.sum(0)
        sum_gz = sum_gz + g.t() @ z
    mu = sum_gz / sum_g.clamp_min(1e-30).unsqueeze(1)
    scatter = 0.0
    for xb in chunks:
        z, _, g = model(xb)
        dev = z.double().unsqueeze(0) - mu.unsqueeze(1)
        scatter = scatter + (dev * g.double().t().unsqueeze(2)).transpose(1, 2) @ dev
    cov = scatter / sum_g.clamp_min(1e-30).view(-1, 1, 1)
    return sum_g / x.shape[0], mu, cov


@torch.no_grad()
def score(model, x, mixture, cfg):
    """Energies and squared reconstruction errors of the rows of x (float64)."""
    model.eval()
    phi, mu, cov = mixture
    out_e, out_r = [], []
    b = cfg["scoring_batch_size"]
    for a in range(0, x.shape[0], b):
        z, sq, _ = model(torch.from_numpy(x[a:a + b]))
        out_e.append(energies(z.double(), phi, mu, cov, cfg["jitter"]).numpy())
        out_r.append(sq.double().numpy())
    return np.concatenate(out_e), np.concatenate(out_r)


def judge(scores, labels, percentile):
    """The top `percentile`% of scores flagged (strictly above NumPy's percentile)."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    threshold = float(np.percentile(scores, 100.0 - percentile))
    flagged = scores > threshold
    tp = int(np.sum(flagged & (labels == 1)))
    fp = int(np.sum(flagged & (labels == 0)))
    fn = int(np.sum(~flagged & (labels == 1)))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"threshold": threshold, "precision": precision, "recall": recall, "f1": f1,
            "roc_auc": float(roc_auc_score(labels, scores)),
            "pr_auc": float(average_precision_score(labels, scores))}


def mixture_record(mixture):
    phi, mu, cov = (t.numpy() for t in mixture)
    return {"phi": phi.tolist(), "mu": mu.tolist(), "cov": cov.tolist()}


# --- our starting point (dagmm export) ---------------------------------------------------------

def load_setup(folder):
    with open(os.path.join(folder, "setup.json")) as f:
        setup = json.load(f)
    if setup.get("format") != "dagmm-peer-setup" or setup.get("version") != 1:
        raise SystemExit(f"{folder}/setup.json: not a dagmm-peer-setup version 1 file")
    rows = np.load(os.path.join(folder, "rows.npz"))
    weights = dict(np.load(os.path.join(folder, "initial_weights.npz")))
    untrained = dict(np.load(os.path.join(folder, "untrained.npz")))
    data = {
        "train": np.ascontiguousarray(rows["train"], dtype=np.float32),
        "test": np.ascontiguousarray(rows["test"], dtype=np.float32),
        "test_labels": rows["test_labels"].astype(np.int64),
    }
    return setup, data, weights, untrained


# --- its own starting point: KDDCUP read, split and scaled here --------------------------------

def load_kddcup(path):
    """Raw KDDCUP99 (41 features and a label): protocol_type, service and flag one-hot (categories
    sorted by name), the other 38 as numbers; label 1 for `normal.` (the anomaly class)."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        rows = [line.rstrip("\n").split(",") for line in f if line.strip()]
    symbolic = [1, 2, 3]
    numeric = [j for j in range(41) if j not in symbolic]
    x_num = np.array([[float(r[j]) for j in numeric] for r in rows], dtype=np.float64)
    blocks = [x_num]
    for j in symbolic:
        values = [r[j] for r in rows]
        cats = sorted(set(values))
        index = {c: i for i, c in enumerate(cats)}
        onehot = np.zeros((len(rows), len(cats)))
        onehot[np.arange(len(rows)), [index[v] for v in values]] = 1.0
        blocks.append(onehot)
    y = np.array([1 if r[41] == "normal." else 0 for r in rows], dtype=np.int64)
    return np.hstack(blocks), y


def own_kddcup_setup(path, seed, train_fraction=0.5):
    """The paper's protocol, drawn here: a 50/50 split by numpy default_rng(seed), fit on the
    normal (label 0) rows of the first half, min-max scaling fitted on them (a column constant
    there gets range 1), judged on the second half."""
    x, y = load_kddcup(path)
    perm = np.random.default_rng(seed).permutation(len(y))
    cut = int(len(y) * train_fraction)
    train_idx, test_idx = perm[:cut], perm[cut:]
    train_idx = train_idx[y[train_idx] == 0]
    lo = x[train_idx].min(0)
    span = x[train_idx].max(0) - lo
    span[span <= 0] = 1.0
    scale = lambda rows: np.ascontiguousarray((x[rows] - lo) / span, dtype=np.float32)
    return {"train": scale(train_idx), "test": scale(test_idx), "test_labels": y[test_idx]}


# --- subcommands -------------------------------------------------------------------------------

def cmd_run(args):
    torch.set_num_threads(args.threads)
    if args.setup:
        setup, data, weights, ours = load_setup(args.setup)
        cfg = {k: setup.get(k, PAPER_KDDCUP[k]) for k in PAPER_KDDCUP}
        seed = setup["seed"] if args.seed is None else args.seed
        origin = {"setup": os.path.abspath(args.setup), "data": setup["data"], "split_seed": setup["split_seed"]}
    else:
        seed = 0 if args.seed is None else args.seed
        data = own_kddcup_setup(args.kddcup, seed)
        cfg, weights, ours = dict(PAPER_KDDCUP), None, None
        origin = {"kddcup": os.path.abspath(args.kddcup), "split": "numpy default_rng(seed) 50/50"}
    if args.epochs is not None:
        cfg["epochs"] = args.epochs
    if args.grad_clip_norm is not None:
        cfg["grad_clip_norm"] = args.grad_clip_norm or None
    if args.penalty is not None:
        cfg["penalty"] = args.penalty
    torch.manual_seed(seed)
    model = model_for(data["train"].shape[1], cfg)
    if weights is not None:
        model.load_layers(weights)
    labels = data["test_labels"]
    print(f"PyTorch {torch.__version__}, {data['train'].shape[0]} training rows, {data['test'].shape[0]} test rows, "
          f"{data['train'].shape[1]} features, seed {seed}, {cfg['epochs']} epochs", flush=True)

    started = time.perf_counter()
    mixture0 = whole_set_mixture(model, data["train"], cfg["scoring_batch_size"])
    energy0, _ = score(model, data["test"], mixture0, cfg)
    untrained = judge(energy0, labels, cfg["anomaly_percentile"])
    print(f"untrained: F1 {untrained['f1']:.4f}, ROC AUC {untrained['roc_auc']:.4f}", flush=True)
    agreement = None
    if ours is not None:
        diff = np.abs(energy0 - ours["test_energy"])
        rel = diff / np.maximum(1.0, np.abs(ours["test_energy"]))
        ranks_agree = float(np.mean((energy0 > untrained["threshold"])
                                    == (ours["test_energy"] > setup["untrained"]["threshold"])))
        agreement = {"max_abs_energy_difference": float(diff.max()),
                     "max_relative_energy_difference": float(rel.max()),
                     "same_flag_fraction": ranks_agree,
                     "ours_f1": setup["untrained"]["f1"], "ours_roc_auc": setup["untrained"]["roc_auc"],
                     "max_abs_phi_difference": float(np.abs(mixture0[0].numpy() - ours["phi"]).max()),
                     "max_abs_mu_difference": float(np.abs(mixture0[1].numpy() - ours["mu"]).max()),
                     "max_abs_cov_difference": float(np.abs(mixture0[2].numpy() - ours["cov"]).max())}
        print(f"untrained against ours: energies differ by at most {agreement['max_abs_energy_difference']:.3g} "
              f"({agreement['max_relative_energy_difference']:.3g} relative), same flag on "
              f"{100 * ranks_agree:.3f}% of the test rows; ours F1 {agreement['ours_f1']:.4f}, "
              f"ROC AUC {agreement['ours_roc_auc']:.4f}", flush=True)
    untrained_seconds = time.perf_counter() - started

    eval_epochs = {int(e) for e in args.eval_epochs.split(",")} if args.eval_epochs else set()

    def show(row):
        if args.verbose or row["epoch"] == cfg["epochs"] or row["epoch"] % 20 == 0:
            print(f"  epoch {row['epoch']}: total {row['total']:.4f}, reconstruction {row['reconstruction']:.4f}, "
                  f"energy {row['energy']:.4f}, penalty {row['penalty']:.2f} ({row['seconds']:.1f} s)", flush=True)
        if row["epoch"] in eval_epochs:
            # Judge the network as it is after this epoch (the whole-set mixture, dropout off).
            mix = whole_set_mixture(model, data["train"], cfg["scoring_batch_size"])
            e, _ = score(model, data["test"], mix, cfg)
            row["judged"] = judge(e, labels, cfg["anomaly_percentile"])
            eig = np.linalg.eigvalsh(mix[2].numpy())
            row["judged"].update(min_phi=float(mix[0].min()), min_eigenvalue=float(eig.min()))
            model.train()
            print(f"    judged after epoch {row['epoch']}: F1 {row['judged']['f1']:.4f}, ROC AUC "
                  f"{row['judged']['roc_auc']:.4f}, smallest phi {row['judged']['min_phi']:.3g}, smallest "
                  f"covariance eigenvalue {row['judged']['min_eigenvalue']:.3g}", flush=True)

    started = time.perf_counter()
    history = train(model, data["train"], cfg, seed, show)
    train_seconds = time.perf_counter() - started
    mixture = whole_set_mixture(model, data["train"], cfg["scoring_batch_size"])
    energy, recon = score(model, data["test"], mixture, cfg)
    trained = judge(energy, labels, cfg["anomaly_percentile"])
    print(f"trained: F1 {trained['f1']:.4f}, ROC AUC {trained['roc_auc']:.4f} "
          f"(untrained: F1 {untrained['f1']:.4f}); {train_seconds:.0f} s", flush=True)
    record = {
        "implementation": "scripts/bench_torch_dagmm.py",
        "torch": torch.__version__, "python": platform.python_version(), "processor": platform.processor(),
        "threads": args.threads, "seed": seed, "origin": origin, "config": cfg,
        "n_train": int(data["train"].shape[0]), "n_test": int(data["test"].shape[0]),
        "untrained": untrained, "trained": trained, "agreement_with_ours": agreement,
        "train_seconds": train_seconds, "untrained_seconds": untrained_seconds,
        "history": history,
        "untrained_mixture": mixture_record(mixture0), "mixture": mixture_record(mixture),
    }
    if args.json:
        with open(args.json + ".tmp", "w") as f:
            json.dump(record, f, indent=1)
        os.replace(args.json + ".tmp", args.json)
    if args.scores:
        np.savez(args.scores, energy=energy, reconstruction=recon, untrained_energy=energy0, label=labels)
    if args.save_model:
        torch.save({"config": cfg, "state_dict": model.state_dict(), "mixture": mixture,
                    "untrained_mixture": mixture0}, args.save_model)


def cmd_bench(args):
    if args.data:
        x = np.loadtxt(args.data, delimiter=",", skiprows=1, dtype=np.float32, ndmin=2)
        header = open(args.data).readline().strip().split(",")
        if header and header[-1] == "label":
            x = x[:, :-1]
    else:
        x = np.random.default_rng(args.seed).random((args.rows, args.dims), dtype=np.float32)
    x = np.ascontiguousarray(x, dtype=np.float32)
    cfg = dict(PAPER_KDDCUP, batch_size=args.batch_size, epochs=args.epochs)
    print(f"PyTorch {torch.__version__}, {x.shape[0]} rows x {x.shape[1]} features, batch {args.batch_size}")
    results = []
    for threads in args.threads:
        torch.set_num_threads(threads)
        torch.manual_seed(args.seed)
        model = model_for(x.shape[1], cfg)
        epochs = train(model, x, cfg, args.seed)
        for e in epochs:
            e["samples_per_second"] = x.shape[0] / e["seconds"]
            e["mean_loss"] = e["total"]
        # The first epoch warms caches and allocators; the best of the rest is the figure.
        timed = epochs[1:] or epochs
        best = max(e["samples_per_second"] for e in timed)
        for e in epochs:
            print(f"  threads {threads} epoch {e['epoch']}: {e['seconds']:.2f} s, {e['samples_per_second']:,.0f} "
                  f"samples/s, loss {e['total']:.4f}")
        print(f"threads {threads}: {best:,.0f} samples/s (best epoch after the first)")
        results.append({"threads": threads, "epochs": epochs, "samples_per_second": best})
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"benchmark": "dagmm_train_torch", "torch": torch.__version__,
                       "python": platform.python_version(), "rows": int(x.shape[0]), "dims": int(x.shape[1]),
                       "batch_size": args.batch_size, "runs": results}, f, indent=2)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)

    b = sub.add_parser("bench", help="time training on the rows `dagmm bench train --write-data` wrote")
    b.add_argument("--data", help="CSV of rows (header x0..); default: uniform rows of --rows x --dims")
    b.add_argument("--rows", type=int, default=198_401, help="rows when drawn here (KDDCUP's training half)")
    b.add_argument("--dims", type=int, default=118)
    b.add_argument("--epochs", type=int, default=3)
    b.add_argument("--batch-size", type=int, default=1024)
    b.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="torch.set_num_threads values to time")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--json", help="write the figures here")
    b.set_defaults(func=cmd_bench)

    r = sub.add_parser("run", help="train and judge a DAGMM: the untrained control, then the trained network")
    src = r.add_mutually_exclusive_group(required=True)
    src.add_argument("--setup", help="a folder `dagmm export` wrote: our rows, split, scaling and initial weights")
    src.add_argument("--kddcup", help="raw KDDCUP99 file: this script's own reading, split, scaling and init")
    r.add_argument("--seed", type=int, help="shuffles and dropout (and with --kddcup the split and the weights); "
                                            "default: the setup's seed, else 0")
    r.add_argument("--epochs", type=int, help="default: the setup's (200 with --kddcup)")
    r.add_argument("--grad-clip-norm", type=float, help="clip the gradients' global norm (0: off)")
    r.add_argument("--penalty", choices=["diagonal", "precision"],
                   help="the covariance penalty: the paper's diagonal one (default) or tr(Sigma^-1)")
    r.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    r.add_argument("--json", help="write the record (metrics, history, mixtures) here")
    r.add_argument("--scores", help="write the test rows' energies (.npz) here")
    r.add_argument("--save-model", help="write the trained network and both mixtures (torch.save) here")
    r.add_argument("--verbose", action="store_true", help="print every epoch")
    r.add_argument("--eval-epochs", help="also judge the network after these epochs, e.g. 10,50,100")
    r.set_defaults(func=cmd_run)

    args = ap.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
