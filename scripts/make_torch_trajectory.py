#!/usr/bin/env python3
"""Writes the PyTorch trajectory that `crates/model/src/tests/torch_trajectory.rs` holds our DAGMM
to: `crates/model/src/tests/fixtures/torch_trajectory.json`.

The PyTorch DAGMM is `scripts/bench_torch_dagmm.py`'s (written from the paper). It trains from
weights drawn here, on rows drawn here, with dropout off (p = 0) and one batch of all the rows
per step, so that ours can take the very same steps: the fixture holds the rows, the initial
weights, and for each step the loss terms before it and the gradients' global norm; the
gradients of the first step; the weights after the first step (Adam's first update) and after
the last; the whole-set mixture after training and the energies of the training rows and of
held-out rows under it.

Three trajectories are written: the paper's objective without clipping; with the gradients'
global norm clipped (at a norm the gradients exceed on about half the steps); and with the
precision penalty (sum_k tr((Sigma_k + jitter I)^-1)) in place of the paper's diagonal one. Each is run twice in PyTorch, in float64
(the reference) and in float32: the float32 run's distance from the float64 one is what float32
rounding alone does over the trajectory, and the test allows ours a multiple of it.

    pip install torch numpy          # a venv; CI does not need it, the fixture is committed
    python3 scripts/make_torch_trajectory.py
"""

import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_torch_dagmm import Dagmm, energies, objective, whole_set_mixture  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "crates", "model", "src", "tests",
                   "fixtures", "torch_trajectory.json")

CONFIG = {
    "encoder_layers": [10, 6, 3, 1],  # the paper's KDDCUP shape, narrower: d-10-6-3-1, mirrored
    "estimation_hidden": [10],
    "n_components": 4,
    "dropout": 0.0,
    "norm_eps": 1e-6,
    "jitter": 1e-6,
    "lambda_energy": 0.1,
    "lambda_cov": 0.005,
    "learning_rate": 1e-3,
    "adam_epsilon": 1e-8,
    "steps": 300,
    "scoring_batch_size": 100,
}
N_ROWS, N_HELD_OUT, DIM = 256, 64, 12
CLIPPED_NORM = 0.5


def rows(rng, n):
    """Three tight clusters in [0, 1]^12 and a few uniform rows (anomalies), clipped to [0, 1]."""
    centers = rng.uniform(0.2, 0.8, size=(3, DIM))
    which = rng.integers(0, 3, size=n)
    x = centers[which] + rng.normal(0.0, 0.05, size=(n, DIM))
    outliers = rng.random(n) < 0.04
    x[outliers] = rng.uniform(0.0, 1.0, size=(outliers.sum(), DIM))
    return np.clip(x, 0.0, 1.0).astype(np.float32)


def initial_layers(rng):
    """PyTorch's nn.Linear default, U(+-1/sqrt(d_in)), for every layer; weights [d_in, d_out]."""
    widths = [DIM, *CONFIG["encoder_layers"]]
    est = [CONFIG["encoder_layers"][-1] + 2, *CONFIG["estimation_hidden"], CONFIG["n_components"]]
    groups = {"encoder": list(zip(widths, widths[1:])),
              "decoder": list(zip(widths[::-1], widths[::-1][1:])),
              "estimation": list(zip(est, est[1:]))}
    out = {}
    for name, shapes in groups.items():
        out[name] = []
        for d_in, d_out in shapes:
            bound = 1.0 / np.sqrt(d_in)
            w = rng.uniform(-bound, bound, size=(d_in, d_out)).astype(np.float32)
            b = rng.uniform(-bound, bound, size=d_out).astype(np.float32)
            out[name].append({"weight": w, "bias": b})
    return out


def as_torch_arrays(layers):
    """`{group}.{i}.weight` in PyTorch's [d_out, d_in] layout, as load_layers takes them."""
    return {f"{g}.{i}.{k}": (l[k].T if k == "weight" else l[k])
            for g, ls in layers.items() for i, l in enumerate(ls) for k in ("weight", "bias")}


def layer_values(model, attr):
    """Every layer's `attr` ('data' or 'grad') in our layout: weight [d_in, d_out] row-major."""
    out = {}
    for group, layers in model.linear_layers().items():
        out[group] = []
        for layer in layers:
            w, b = getattr(layer.weight, attr), getattr(layer.bias, attr)
            out[group].append({"weight": w.detach().double().numpy().T.ravel().tolist(),
                               "bias": b.detach().double().numpy().tolist()})
    return out


def trajectory(x, held_out, layers, dtype, clip, penalty):
    torch.manual_seed(0)
    model = Dagmm(DIM, CONFIG["encoder_layers"], CONFIG["estimation_hidden"], CONFIG["n_components"],
                  CONFIG["dropout"], CONFIG["norm_eps"]).to(dtype)
    model.load_layers(as_torch_arrays(layers))
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=CONFIG["learning_rate"], eps=CONFIG["adam_epsilon"])
    xt = torch.from_numpy(x).to(dtype)
    cfg = dict(CONFIG, penalty=penalty)
    steps, first_gradients, after_first = [], None, None
    for step in range(CONFIG["steps"]):
        total, (r, e, p) = objective(model, xt, cfg)
        opt.zero_grad(set_to_none=True)
        total.backward()
        norm = torch.sqrt(sum((q.grad.double() ** 2).sum() for q in model.parameters())).item()
        steps.append({"total": total.item(), "reconstruction": r.item(), "energy": e.item(),
                      "penalty": p.item(), "gradient_norm": norm})
        if step == 0:
            first_gradients = layer_values(model, "grad")
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        if step == 0:
            after_first = layer_values(model, "data")
    # The whole-set mixture is accumulated in float64 (as ours is); the energies are computed in
    # the run's precision (ours computes them in float32 on the device).
    np_dtype = np.float64 if dtype == torch.float64 else np.float32
    mixture = whole_set_mixture(model, x.astype(np_dtype), CONFIG["scoring_batch_size"])
    with torch.no_grad():
        model.eval()
        as_run = [t.to(dtype) for t in mixture]
        energy_of = lambda rows: energies(model(torch.from_numpy(rows.astype(np_dtype)))[0], *as_run,
                                          CONFIG["jitter"]).double().numpy()
        train_energy, held_out_energy = energy_of(x), energy_of(held_out)
    phi, mu, cov = (t.numpy() for t in mixture)
    return {
        "steps": steps,
        "first_gradients": first_gradients,
        "after_first_step": after_first,
        "final": layer_values(model, "data"),
        "mixture": {"phi": phi.tolist(), "mu": mu.ravel().tolist(), "cov": cov.ravel().tolist()},
        "train_energy": train_energy.tolist(),
        "held_out_energy": held_out_energy.tolist(),
    }


def rounded(value):
    """Floats to 10 significant digits (exact for the float32 rows and weights; 1e-10 relative for
    the float64 reference, far below any tolerance the test uses): a smaller fixture."""
    if isinstance(value, float):
        return float(f"{value:.10g}")
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return value


def main():
    rng = np.random.default_rng(2018)
    x, held_out = rows(rng, N_ROWS), rows(rng, N_HELD_OUT)
    layers = initial_layers(rng)
    fixture = {
        "generator": "scripts/make_torch_trajectory.py",
        "torch": torch.__version__,
        "config": dict(CONFIG, input_dim=DIM),
        "rows": x.ravel().tolist(),
        "held_out": held_out.ravel().tolist(),
        "initial": {g: [{"weight": l["weight"].ravel().tolist(), "bias": l["bias"].tolist()} for l in ls]
                    for g, ls in layers.items()},
        "trajectories": [],
    }
    for clip, penalty in ((None, "diagonal"), (CLIPPED_NORM, "diagonal"), (None, "precision")):
        runs = {name: trajectory(x, held_out, layers, dtype, clip, penalty)
                for name, dtype in (("float64", torch.float64), ("float32", torch.float32))}
        norms = [s["gradient_norm"] for s in runs["float64"]["steps"]]
        if clip is not None:
            acted = sum(n > clip for n in norms) / len(norms)
            assert acted > 0.25, f"the clip acts on {acted:.0%} of the steps only"
            print(f"the clip at {clip} acts on {acted:.0%} of the steps")
        fixture["trajectories"].append({"grad_clip_norm": clip, "penalty": penalty, **runs})
        s0, s1 = runs["float64"]["steps"][0], runs["float64"]["steps"][-1]
        print(f"clip {clip}, {penalty} penalty: total {s0['total']:.5f} -> {s1['total']:.5f}, energy {s0['energy']:.4f} -> "
              f"{s1['energy']:.4f}, gradient norm {min(norms):.3f}..{max(norms):.3f}")
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(rounded(fixture), f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {os.path.relpath(OUT)} ({os.path.getsize(OUT) / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
