"""Fusion operators against their numpy definitions (MMSA's TFN and LMF)."""
import numpy as np
import pytest

import emofuse

rng = np.random.default_rng(5)


def with_one(h):
    return np.concatenate([np.ones((h.shape[0], 1), h.dtype), h], axis=1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("count", [1, 2, 3])
def test_tensor_fusion_is_the_outer_product(dtype, count):
    hs = [rng.normal(size=(6, d)).astype(dtype) for d in (3, 2, 4)[:count]]
    z = emofuse.fusion.tensor_fusion(hs)
    expected = with_one(hs[0])
    for h in hs[1:]:
        expected = np.einsum("ni,nj->nij", expected, with_one(h)).reshape(6, -1)
    assert z.dtype == dtype
    np.testing.assert_allclose(z, expected, rtol=1e-6)
    plain = emofuse.fusion.tensor_fusion(hs, prepend_one=False)
    expected = hs[0]
    for h in hs[1:]:
        expected = np.einsum("ni,nj->nij", expected, h).reshape(6, -1)
    np.testing.assert_allclose(plain, expected, rtol=1e-6)


def test_concat():
    hs = [rng.normal(size=(4, d)) for d in (2, 5)]
    np.testing.assert_array_equal(emofuse.fusion.concat(hs), np.concatenate(hs, axis=1))
    mixed = emofuse.fusion.concat([hs[0].astype(np.float32), hs[1]])
    assert mixed.dtype == np.float64


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_low_rank_fusion_matches_mmsa_formula(dtype):
    n, rank, out = 5, 4, 3
    hs = [rng.normal(size=(n, d)).astype(dtype) for d in (3, 2, 4)]
    factors = [rng.normal(size=(rank, h.shape[1] + 1, out)).astype(dtype) for h in hs]
    w = rng.normal(size=(1, rank)).astype(dtype)
    b = rng.normal(size=(1, out)).astype(dtype)
    y = emofuse.fusion.low_rank_fusion(hs, factors, w, b)
    zy = np.ones((rank, n, out))
    for h, f in zip(hs, factors):
        zy = zy * np.einsum("nd,rdh->rnh", with_one(h).astype(np.float64), f.astype(np.float64))
    expected = np.einsum("r,rnh->nh", w[0].astype(np.float64), zy) + b[0]
    assert y.dtype == dtype and y.shape == (n, out)
    np.testing.assert_allclose(y, expected, rtol=1e-4 if dtype == np.float32 else 1e-10, atol=1e-5)


def test_fusion_errors():
    h = rng.normal(size=(4, 3))
    with pytest.raises(ValueError, match=r"modalities: expected 1 to 3 arrays, got 4"):
        emofuse.fusion.tensor_fusion([h, h, h, h])
    with pytest.raises(ValueError, match=r"modalities\[1\]: expected 4 samples \(as modalities\[0\] has\), got 3"):
        emofuse.fusion.concat([h, h[:3]])
    with pytest.raises(ValueError, match=r"modalities\[0\]: expected a 2-D array"):
        emofuse.fusion.concat([h[0]])
    factors = [rng.normal(size=(2, 4, 5)), rng.normal(size=(2, 3, 5))]
    with pytest.raises(ValueError, match=r"factor 1 .*expected"):
        emofuse.fusion.low_rank_fusion([h, h], [factors[0], factors[0][:, :, :4]],
                                       np.ones((1, 2)), np.zeros((1, 5)))
    with pytest.raises(ValueError, match=r"features"):
        emofuse.fusion.low_rank_fusion([h, h], factors, np.ones((1, 2)), np.zeros((1, 5)))
    with pytest.raises(ValueError, match=r"factors: expected 2 arrays"):
        emofuse.fusion.low_rank_fusion([h, h], factors[:1], np.ones((1, 2)), np.zeros((1, 5)))
