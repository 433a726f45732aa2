#!/usr/bin/env python3
"""PyTorch peer of `dagmm bench train`: the same DAGMM network, loss, optimiser and batch, timed the
same way, so the two can be put side by side on one machine.

The model is the DAGMM paper's KDDCUP setting, as this repository's `configs/kddcup/dagmm.toml`
(and `DagmmConfig::default()`) defines it:

- compression: d-60-30-10-1 encoder, tanh between layers, linear bottleneck; decoder mirrored
  (1-10-30-60-d, tanh between layers, linear output);
- z = [z_c, ||x - x'|| / ||x||, x.x' / (||x|| ||x'||)] (norms guarded by eps = 1e-6 as ours);
- estimation: 3-10-4, tanh, dropout 0.5, softmax;
- the batch's mixture (phi, mu, Sigma from gamma and z), energies by Cholesky of Sigma + 1e-6 I and
  a true log-sum-exp, penalty sum 1/(Sigma_jj + 1e-6);
- J = mean ||x - x'||^2 + 0.1 mean E + 0.005 P; Adam, lr 1e-4, eps 1e-8; batch 1024, shuffled
  each epoch, the last short batch kept.

Rows: the CSV that `dagmm bench train --write-data FILE` writes (columns x0.., no label), so both
train on the same numbers; without --data, the same shape is drawn here (uniform [0, 1]).

    ./target/release/dagmm bench train --epochs 1 --write-data /tmp/train_rows.csv
    python3 scripts/bench_torch_dagmm.py --data /tmp/train_rows.csv --epochs 3 --threads 1 2

Prints samples/s per epoch and thread count; --json FILE writes them.
"""

import argparse
import json
import math
import platform
import time

import numpy as np
import torch
from torch import nn

NORM_EPS = 1e-6
JITTER = 1e-6
LAMBDA_ENERGY = 0.1
LAMBDA_COV = 0.005


def mlp(widths):
    """Linear layers with tanh between them, none after the last."""
    layers = []
    for i, (a, b) in enumerate(zip(widths, widths[1:])):
        layers.append(nn.Linear(a, b))
        if i + 2 < len(widths):
            layers.append(nn.Tanh())
    return nn.Sequential(*layers)


class Dagmm(nn.Module):
    def __init__(self, d, encoder=(60, 30, 10, 1), hidden=10, k=4, dropout=0.5):
        super().__init__()
        widths = [d, *encoder]
        self.encoder = mlp(widths)
        self.decoder = mlp(widths[::-1])
        self.estimation = nn.Sequential(
            nn.Linear(encoder[-1] + 2, hidden),
            nn.Tanh(),
            nn.Dropout(dropout),
            nn.Linear(hidden, k),
            nn.Softmax(dim=1),
        )

    def forward(self, x):
        zc = self.encoder(x)
        xh = self.decoder(zc)
        eps2 = NORM_EPS * NORM_EPS
        sq = ((x - xh) ** 2).sum(1, keepdim=True)
        xn = torch.sqrt((x * x).sum(1, keepdim=True) + eps2)
        xhn = torch.sqrt((xh * xh).sum(1, keepdim=True) + eps2)
        rel = torch.sqrt(sq + eps2) / xn
        cos = (x * xh).sum(1, keepdim=True) / (xn * xhn)
        z = torch.cat([zc, rel, cos], 1)
        return z, sq.squeeze(1), self.estimation(z)


def loss_of(z, sq, gamma):
    n, d = z.shape
    s = gamma.sum(0)  # [K]
    phi = s / n
    mu = gamma.t() @ z / s.clamp_min(1e-30).unsqueeze(1)  # [K, d]
    dev = z.unsqueeze(0) - mu.unsqueeze(1)  # [K, N, d]
    cov = (dev * gamma.t().unsqueeze(2)).transpose(1, 2) @ dev
    cov = cov / s.clamp_min(1e-30).view(-1, 1, 1)
    eye = torch.eye(d, dtype=z.dtype)
    chol = torch.linalg.cholesky(cov + JITTER * eye)
    y = torch.linalg.solve_triangular(chol, dev.transpose(1, 2), upper=False)  # [K, d, N]
    maha = (y * y).sum(1)  # [K, N]
    log_det = 2.0 * torch.log(torch.diagonal(chol, dim1=1, dim2=2)).sum(1)
    log_w = (torch.log(phi.clamp_min(1e-30)) - 0.5 * (log_det + d * math.log(2 * math.pi)))
    energy = -torch.logsumexp(log_w.unsqueeze(1) - 0.5 * maha, dim=0)
    penalty = (1.0 / (torch.diagonal(cov, dim1=1, dim2=2) + JITTER)).sum()
    return sq.mean() + LAMBDA_ENERGY * energy.mean() + LAMBDA_COV * penalty


def run(x, epochs, batch, threads, seed):
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    model = Dagmm(x.shape[1])
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4, eps=1e-8)
    n = x.shape[0]
    rng = np.random.default_rng(seed)
    per_epoch = []
    for _ in range(epochs):
        order = rng.permutation(n)
        started = time.perf_counter()
        total = 0.0
        for a in range(0, n, batch):
            xb = torch.from_numpy(x[order[a : a + batch]])
            z, sq, gamma = model(xb)
            loss = loss_of(z, sq, gamma)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * xb.shape[0]
        secs = time.perf_counter() - started
        per_epoch.append({"seconds": secs, "samples_per_second": n / secs, "mean_loss": total / n})
    return per_epoch


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", help="CSV of rows (header x0..); default: uniform rows of --rows x --dims")
    ap.add_argument("--rows", type=int, default=198_401, help="rows when drawn here (KDDCUP's training half)")
    ap.add_argument("--dims", type=int, default=118)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=1024)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="torch.set_num_threads values to time")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args()
    if args.data:
        x = np.loadtxt(args.data, delimiter=",", skiprows=1, dtype=np.float32, ndmin=2)
        header = open(args.data).readline().strip().split(",")
        if header and header[-1] == "label":
            x = x[:, :-1]
    else:
        x = np.random.default_rng(args.seed).random((args.rows, args.dims), dtype=np.float32)
    x = np.ascontiguousarray(x, dtype=np.float32)
    print(f"PyTorch {torch.__version__}, {x.shape[0]} rows x {x.shape[1]} features, batch {args.batch_size}")
    results = []
    for threads in args.threads:
        epochs = run(x, args.epochs, args.batch_size, threads, args.seed)
        # The first epoch warms caches and allocators; the best of the rest is the figure.
        timed = epochs[1:] or epochs
        best = max(e["samples_per_second"] for e in timed)
        for i, e in enumerate(epochs, 1):
            print(f"  threads {threads} epoch {i}: {e['seconds']:.2f} s, {e['samples_per_second']:,.0f} samples/s, "
                  f"loss {e['mean_loss']:.4f}")
        print(f"threads {threads}: {best:,.0f} samples/s (best epoch after the first)")
        results.append({"threads": threads, "epochs": epochs, "samples_per_second": best})
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "benchmark": "dagmm_train_torch",
                    "torch": torch.__version__,
                    "python": platform.python_version(),
                    "rows": int(x.shape[0]),
                    "dims": int(x.shape[1]),
                    "batch_size": args.batch_size,
                    "runs": results,
                },
                f,
                indent=2,
            )


if __name__ == "__main__":
    main()
