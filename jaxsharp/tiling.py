"""Tiled inference for images too large to run whole: fixed-size tiles, feathered blending, no seams.

Every tile has the same shape, so the network compiles once per tile shape. Neighbouring tiles overlap by
`overlap` input pixels; in the overlap each tile's weight ramps linearly towards its edge, so the result
blends smoothly instead of averaging two hard-edged tiles (the official SwinIR script's uniform average).
"""

from __future__ import annotations

from typing import Callable

import jax
import numpy as np


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of size `tile` covering [0, length), stride tile - overlap, the last flush with the end."""
    if tile >= length:
        return [0]
    stride = tile - overlap
    if stride <= 0:
        raise ValueError(f"tile overlap {overlap} must be smaller than the tile size {tile}")
    starts = list(range(0, length - tile, stride))
    return starts + [length - tile]


def _ramp(size: int, ramp: int, rise: bool, fall: bool) -> np.ndarray:
    w = np.ones(size, np.float32)
    if ramp > 0:
        r = (np.arange(ramp, dtype=np.float32) + 0.5) / ramp
        if rise:
            w[:ramp] = np.minimum(w[:ramp], r)
        if fall:
            w[size - ramp:] = np.minimum(w[size - ramp:], r[::-1])
    return w


def tiled_apply(fn: Callable[[jax.Array], jax.Array], x: np.ndarray | jax.Array, *, tile: int, overlap: int,
                scale: int, tiles_per_call: int = 4) -> np.ndarray:
    """Applies `fn` ([n, t, t, C] -> [n, s*t, s*t, C']) to overlapping tiles of x [N, H, W, C]; returns [N, sH, sW, C'].

    Tiles are batched `tiles_per_call` at a time (the last batch padded) so `fn` sees one shape only.
    """
    x = np.asarray(x, np.float32)
    n, h, w, _ = x.shape
    th, tw = min(tile, h), min(tile, w)
    boxes = [(i, y, xx) for i in range(n) for y in tile_starts(h, th, overlap) for xx in tile_starts(w, tw, overlap)]
    ramp = overlap * scale
    out = weight = None
    for k in range(0, len(boxes), tiles_per_call):
        chunk = boxes[k:k + tiles_per_call]
        batch = np.stack([x[i, y:y + th, xx:xx + tw] for i, y, xx in chunk])
        if len(chunk) < tiles_per_call:
            batch = np.concatenate([batch, np.repeat(batch[:1], tiles_per_call - len(chunk), axis=0)])
        result = np.asarray(fn(batch))[: len(chunk)]
        if out is None:
            out = np.zeros((n, h * scale, w * scale, result.shape[-1]), np.float32)
            weight = np.zeros((n, h * scale, w * scale, 1), np.float32)
        for (i, y, xx), tile_out in zip(chunk, result):
            wy = _ramp(th * scale, ramp, rise=y > 0, fall=y + th < h)
            wx = _ramp(tw * scale, ramp, rise=xx > 0, fall=xx + tw < w)
            wt = (wy[:, None] * wx[None, :])[..., None]
            ys, xs = slice(y * scale, (y + th) * scale), slice(xx * scale, (xx + tw) * scale)
            out[i, ys, xs] += tile_out * wt
            weight[i, ys, xs] += wt
    return out / weight
