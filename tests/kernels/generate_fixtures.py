#!/usr/bin/env python3
"""Parity fixtures for the emofuse kernels, computed with PyTorch (CPU) in float32 and float64.

Writes tests/kernels/data/torch_parity.json. Inputs are float32-representable, so the same
numbers feed the float and the double tests; outputs are stored per dtype with 17 significant
digits (repr), so JSON loses no precision. Run with Debian's python3 (numpy + torch):

    /usr/bin/python3 tests/kernels/generate_fixtures.py
"""
import json
import pathlib

import numpy as np
import torch
import torch.nn.functional as F

HERE = pathlib.Path(__file__).resolve().parent
rng = np.random.default_rng(20261125)


def f32(a):
    return np.asarray(a, dtype=np.float32)


def listed(t):
    return [float(v) for v in np.asarray(t, dtype=np.float64).ravel()]


def both(fn, *inputs):
    """fn applied to float32 and float64 tensors of the (float32-representable) inputs."""
    out = {}
    for name, dtype in (("f32", torch.float32), ("f64", torch.float64)):
        tensors = [torch.tensor(np.asarray(i, dtype=np.float64), dtype=dtype) for i in inputs]
        out[name] = listed(fn(*tensors).numpy())
    return out


# Element-wise: a dense grid plus random points, tails and the exp overflow edge.
grid = np.concatenate([
    np.linspace(-10, 10, 161),
    rng.uniform(-40, 40, 64),
    [0.0, -0.0, 1e-30, -1e-30, 1e-7, -1e-7, 20, -20, 30, -30, 60, -60, 80, -80, 88.5, -87, 0.5, -0.5],
])
x_elem = f32(grid)
elementwise = {"x": listed(x_elem)}
for name, fn in (
    ("exp", torch.exp),
    ("tanh", torch.tanh),
    ("sigmoid", torch.sigmoid),
    ("relu", torch.relu),
    ("gelu", lambda t: F.gelu(t, approximate="none")),
    ("signed_sqrt", lambda t: torch.sign(t) * torch.sqrt(torch.abs(t))),
):
    elementwise[name] = both(fn, x_elem)

# Row softmax: ordinary, large-offset and wide rows.
soft_rows, soft_cols = 5, 37
x_soft = f32(rng.normal(0, 3, size=(soft_rows, soft_cols)))
x_soft[3] += 1000.0
x_soft[4] *= 20.0
softmax = {"rows": soft_rows, "cols": soft_cols, "x": listed(x_soft),
           "y": both(lambda t: torch.softmax(t, dim=-1), x_soft)}

# LayerNorm with affine parameters (torch.nn.functional.layer_norm, biased variance).
ln_rows, ln_cols, ln_eps = 4, 50, 1e-5
x_ln = f32(rng.normal(2, 5, size=(ln_rows, ln_cols)))
gamma = f32(rng.uniform(0.5, 1.5, size=ln_cols))
beta = f32(rng.normal(0, 1, size=ln_cols))
layer_norm = {"rows": ln_rows, "cols": ln_cols, "eps": ln_eps, "x": listed(x_ln),
              "gamma": listed(gamma), "beta": listed(beta),
              "y": both(lambda t, g, b: F.layer_norm(t, (ln_cols,), g, b, eps=ln_eps), x_ln, gamma, beta)}

# L2 normalisation (torch.nn.functional.normalize): one row is tiny, so eps takes over.
l2_rows, l2_cols, l2_eps = 3, 20, 1e-12
x_l2 = f32(rng.normal(0, 1, size=(l2_rows, l2_cols)))
x_l2[2] *= 1e-14
l2 = {"rows": l2_rows, "cols": l2_cols, "eps": l2_eps, "x": listed(x_l2),
      "y": both(lambda t: F.normalize(t, p=2.0, dim=-1, eps=l2_eps), x_l2)}

# Linear + ReLU with PyTorch's (out, in) weight layout.
lin_rows, lin_in, lin_out = 5, 33, 7
x_lin = f32(rng.normal(0, 1, size=(lin_rows, lin_in)))
w_lin = f32(rng.normal(0, 0.3, size=(lin_out, lin_in)))
b_lin = f32(rng.normal(0, 0.3, size=lin_out))
linear = {"rows": lin_rows, "in": lin_in, "out": lin_out, "x": listed(x_lin),
          "weight": listed(w_lin), "bias": listed(b_lin),
          "y_relu": both(lambda t, w, b: torch.relu(F.linear(t, w, b)), x_lin, w_lin, b_lin)}

fixture = {"generator": "tests/kernels/generate_fixtures.py", "torch": torch.__version__,
           "elementwise": elementwise, "softmax": softmax, "layer_norm": layer_norm,
           "l2_normalize": l2, "linear": linear}
(HERE / "data").mkdir(exist_ok=True)
path = HERE / "data" / "torch_parity.json"
path.write_text(json.dumps(fixture, indent=None, separators=(",", ":")) + "\n")
print(f"wrote {path} ({path.stat().st_size} bytes)")
