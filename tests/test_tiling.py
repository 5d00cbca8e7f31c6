"""Tiled inference: seam-free blending, exact when the overlap covers the receptive field."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxsharp.tiling import edge_weights, tile_starts, tiled_apply


def test_tile_starts_cover_everything():
    for length, tile, overlap in [(100, 32, 8), (64, 64, 8), (65, 64, 8), (10, 32, 4), (257, 48, 16)]:
        starts = tile_starts(length, tile, overlap)
        covered = np.zeros(length, bool)
        for s in starts:
            covered[s:s + tile] = True
        assert covered.all() and starts[-1] + min(tile, length) == length


def test_overlap_must_be_smaller_than_tile():
    with pytest.raises(ValueError, match="overlap"):
        tile_starts(100, 16, 16)


def test_pointwise_network_is_reproduced_exactly():
    # Nearest-neighbour x2 has no spatial context, so any tiling must give the whole-image result.
    fn = lambda t: jnp.repeat(jnp.repeat(t, 2, axis=1), 2, axis=2) * 0.5 + 0.1
    x = np.random.default_rng(0).random((2, 70, 53, 3), dtype=np.float32)
    np.testing.assert_allclose(tiled_apply(fn, x, tile=24, overlap=8, scale=2), np.asarray(fn(x)), atol=1e-6)


def test_local_network_exact_when_quarter_overlap_covers_receptive_radius():
    # Three 3x3 convolutions: receptive radius 3; overlap 16 -> a dropped margin of 4 px per shared edge.
    rng = np.random.default_rng(1)
    kernels = [jnp.asarray(rng.normal(size=(3, 3, c_in, 4)).astype(np.float32) / 6) for c_in in (3, 4, 4)]

    def fn(t):
        for k in kernels:
            t = jnp.tanh(jax.lax.conv_general_dilated(t, k, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")))
        return t

    x = rng.random((1, 90, 77, 3), dtype=np.float32)
    tiled = tiled_apply(fn, x, tile=32, overlap=16, scale=1)
    assert np.abs(tiled - np.asarray(fn(x))).max() < 1e-5
    # With too little overlap the tile borders leak in: the check above is not vacuous.
    assert np.abs(tiled_apply(fn, x, tile=32, overlap=4, scale=1) - np.asarray(fn(x))).max() > 1e-3


def test_edge_weights_drop_border_and_ramp():
    w = edge_weights(32, 16, rise=True, fall=True)
    assert (w[:4] == 0).all() and (w[-4:] == 0).all() and (w[12:20] == 1).all()
    assert np.all(np.diff(w[:12]) >= 0)
    assert (edge_weights(32, 16, rise=False, fall=False) == 1).all()
