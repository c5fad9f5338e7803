#!/usr/bin/env python3
"""Writes the numpy/scikit-learn reference data for tests/core (pooling, concat, linear,
ridge). Run with Debian's python3 (python3-numpy, python3-sklearn):

    /usr/bin/python3 tests/core/generate_fixtures.py

It overwrites tests/core/data/*.npy; the files are committed so the C++ tests need no Python.
"""
from pathlib import Path

import numpy as np
from sklearn.linear_model import Ridge

DATA = Path(__file__).resolve().parent / "data"
rng = np.random.default_rng(20261124)


def save(name, array):
    np.save(DATA / f"{name}.npy", np.ascontiguousarray(array))


def pooling_case():
    # Lengths cover full, partial, a single frame and empty samples; the mask adds holes.
    batch, time, dim = 5, 7, 3
    x = rng.normal(size=(batch, time, dim))
    lengths = np.array([7, 4, 1, 0, 6], dtype=np.uint64)
    mask = (rng.uniform(size=(batch, time)) > 0.3).astype(np.uint8)
    mask[4, :] = 0  # sample 4: every frame dropped -> pools to zeros
    save("pool_x", x)
    save("pool_lengths", lengths)
    save("pool_mask", mask)
    for masked in (False, True):
        valid = np.arange(time)[None, :] < lengths[:, None].astype(np.int64)
        if masked:
            valid &= mask.astype(bool)
        mean = np.zeros((batch, dim))
        mx = np.zeros((batch, dim))
        last = np.zeros((batch, dim))
        for b in range(batch):
            frames = x[b][valid[b]]
            if len(frames):
                mean[b] = frames.mean(axis=0)
                mx[b] = frames.max(axis=0)
                last[b] = frames[-1]
        suffix = "_masked" if masked else ""
        save(f"pool_mean{suffix}", mean)
        save(f"pool_max{suffix}", mx)
        save(f"pool_last{suffix}", last)


def concat_linear_case():
    batch = 6
    t, a, v = rng.normal(size=(batch, 4)), rng.normal(size=(batch, 3)), rng.normal(size=(batch, 5))
    w = rng.normal(size=(2, 12))
    b = rng.normal(size=(2,))
    fused = np.concatenate([t, a, v], axis=1)
    save("concat_text", t)
    save("concat_audio", a)
    save("concat_vision", v)
    save("concat_out", fused)
    save("linear_weight", w)
    save("linear_bias", b)
    save("linear_out", fused @ w.T + b)


def ridge_case(name, samples, dims, outputs, alpha):
    x = rng.normal(size=(samples, dims)) * rng.uniform(0.5, 3.0, size=dims) + rng.normal(size=dims)
    y = x @ rng.normal(size=(dims, outputs)) + 0.1 * rng.normal(size=(samples, outputs)) + 2.0
    model = Ridge(alpha=alpha, fit_intercept=True, solver="cholesky").fit(x, y)
    x_test = rng.normal(size=(9, dims))
    save(f"{name}_x", x)
    save(f"{name}_y", y)
    save(f"{name}_coef", np.atleast_2d(model.coef_))
    save(f"{name}_intercept", np.atleast_1d(model.intercept_))
    save(f"{name}_x_test", x_test)
    save(f"{name}_pred", model.predict(x_test).reshape(9, outputs))


if __name__ == "__main__":
    DATA.mkdir(exist_ok=True)
    pooling_case()
    concat_linear_case()
    ridge_case("ridge_primal", samples=40, dims=6, outputs=2, alpha=0.7)
    ridge_case("ridge_dual", samples=12, dims=30, outputs=1, alpha=2.5)
    ridge_case("ridge_unregularised", samples=50, dims=4, outputs=1, alpha=0.0)
