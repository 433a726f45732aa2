#!/usr/bin/env python3
"""The fixture of `crates/model/src/tests/torch_dsebm.rs`: a DSEBM written from Zhai et al. (2016)
in PyTorch, float64, whose score ∂E/∂x comes from torch.autograd (`create_graph=True`) and whose
training gradient is therefore a true second-order derivative; ours writes the score out by hand
and lets Burn differentiate once. From the same weights, rows and corruption noise the fixture
holds: the energies and scores of clean rows, the score-matching loss and its gradient with
respect to every parameter, and the losses and weights along 30 full-batch Adam steps (learning
rate 1e-2, ε = 1e-8, PyTorch's defaults otherwise).

    /work/torchenv/bin/python scripts/make_dsebm_fixture.py \
        --out crates/model/src/tests/fixtures/torch_dsebm.json

Needs torch. The energy: E(x) = ½‖x − b′‖² − Σ_j h_L(x)_j, h_l = softplus(h_{l−1} W_l + b_l),
weights stored as Burn lays them out (`[in, out]`).
"""

import argparse
import json

import torch

N, D, HIDDEN, STEPS, LR, SIGMA = 40, 5, [7, 6], 30, 1e-2, 0.3


def energy(params, x):
    *layers, b_prime = params
    h = x
    for w, b in zip(layers[0::2], layers[1::2]):
        h = torch.nn.functional.softplus(h @ w + b)
    return 0.5 * ((x - b_prime) ** 2).sum(1) - h.sum(1)


def score(params, x, create_graph):
    x = x.detach().requires_grad_(True)
    e = energy(params, x)
    (g,) = torch.autograd.grad(e.sum(), x, create_graph=create_graph)
    return e, g


def loss(params, x, noise):
    noisy = x + noise
    _, g = score(params, noisy, create_graph=True)
    return ((x - (noisy - g)) ** 2).sum(1).mean()


def flat(t):
    return [float(v) for v in t.detach().reshape(-1)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    g = torch.Generator().manual_seed(7)
    dt = torch.float64
    widths = [D] + HIDDEN
    params = []
    for i, o in zip(widths, widths[1:]):
        bound = 1 / i ** 0.5
        params.append((torch.rand(i, o, generator=g, dtype=dt) * 2 - 1) * bound)
        params.append((torch.rand(o, generator=g, dtype=dt) * 2 - 1) * bound)
    params.append(torch.rand(D, generator=g, dtype=dt) * 0.4 - 0.2)
    params = [p.requires_grad_(True) for p in params]
    initial = [flat(p) for p in params]
    x = torch.rand(N, D, generator=g, dtype=dt)
    noises = [torch.randn(N, D, generator=g, dtype=dt) * SIGMA for _ in range(STEPS)]

    e, s = score(params, x, create_graph=False)
    l0 = loss(params, x, noises[0])
    grads = torch.autograd.grad(l0, params)

    opt = torch.optim.Adam(params, lr=LR, eps=1e-8)
    losses = []
    for k in range(STEPS):
        opt.zero_grad()
        l = loss(params, x, noises[k])
        losses.append(float(l.detach()))
        l.backward()
        opt.step()

    fixture = {
        "about": "scripts/make_dsebm_fixture.py: PyTorch float64, second-order autograd",
        "torch": torch.__version__,
        "input_dim": D, "hidden_layers": HIDDEN, "rows": N, "learning_rate": LR,
        "x": flat(x), "noises": [flat(n) for n in noises],
        "initial": initial,
        "energy": flat(e), "score": flat(s),
        "loss": float(l0.detach()), "gradients": [flat(gr) for gr in grads],
        "losses": losses, "final": [flat(p) for p in params],
    }
    with open(args.out, "w") as f:
        json.dump(fixture, f)
    print(f"wrote {args.out}: loss {float(l0.detach()):.6f} -> {losses[-1]:.6f} over {STEPS} steps")


if __name__ == "__main__":
    main()
