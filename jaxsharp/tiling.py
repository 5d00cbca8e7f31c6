"""Tiled inference for images too large to run whole: fixed-size tiles, feathered blending, no seams.

Every tile has the same shape, so the network compiles once per tile shape. Neighbouring tiles overlap by
`overlap` input pixels; in the overlap each tile's outer border is dropped and the rest cross-fades linearly
(`edge_weights`), instead of the official SwinIR script's uniform average of hard-edged tiles.
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


def edge_weights(size: int, overlap: int, rise: bool, fall: bool) -> np.ndarray:
    """1-D blend weights of one tile (in output pixels) along one axis.

    At an edge shared with a neighbour, the outer quarter of the overlap gets weight 0 (those pixels saw the tile
    border, not the image), the middle half ramps linearly to 1. So tiling is exact whenever a quarter of the
    overlap covers the network's receptive radius, and otherwise the seam is spread over half the overlap.
    """
    w = np.ones(size, np.float32)
    margin, ramp = overlap // 4, max(overlap - 2 * (overlap // 4), 1)
    edge = np.concatenate([np.zeros(margin, np.float32), (np.arange(ramp, dtype=np.float32) + 0.5) / ramp])
    edge = edge[:size]
    if rise:
        w[: edge.size] = np.minimum(w[: edge.size], edge)
    if fall:
        w[size - edge.size:] = np.minimum(w[size - edge.size:], edge[::-1])
    return w


def tiled_apply(fn: Callable[[jax.Array], jax.Array], x: np.ndarray | jax.Array, *, tile: int, overlap: int,
                scale: int, tiles_per_call: int = 4) -> np.ndarray:
    """Applies `fn` ([n, t, t, C] -> [n, s*t, s*t, C']) to overlapping tiles of x [N, H, W, C]; returns [N, sH, sW, C'].

    Tiles go to `fn` `tiles_per_call` at a time, the last call with the rest (jaxsharp.engine pads a short call to
    one of a few compiled batch sizes).
    """
    x = np.asarray(x, np.float32)
    n, h, w, _ = x.shape
    th, tw = min(tile, h), min(tile, w)
    boxes = [(i, y, xx) for i in range(n) for y in tile_starts(h, th, overlap) for xx in tile_starts(w, tw, overlap)]
    out = weight = None
    for k in range(0, len(boxes), tiles_per_call):
        chunk = boxes[k:k + tiles_per_call]
        batch = np.stack([x[i, y:y + th, xx:xx + tw] for i, y, xx in chunk])
        result = np.asarray(fn(batch))[: len(chunk)]
        if out is None:
            out = np.zeros((n, h * scale, w * scale, result.shape[-1]), np.float32)
            weight = np.zeros((n, h * scale, w * scale, 1), np.float32)
        for (i, y, xx), tile_out in zip(chunk, result):
            wy = edge_weights(th * scale, overlap * scale, rise=y > 0, fall=y + th < h)
            wx = edge_weights(tw * scale, overlap * scale, rise=xx > 0, fall=xx + tw < w)
            wt = (wy[:, None] * wx[None, :])[..., None]
            ys, xs = slice(y * scale, (y + th) * scale), slice(xx * scale, (xx + tw) * scale)
            out[i, ys, xs] += tile_out * wt
            weight[i, ys, xs] += wt
    return out / weight
