"""The student's two resampling adapters at integer scales: space-to-depth, and MATLAB bicubic upsampling.

`pixel_unshuffle` is the exact inverse of `jaxsharp.teacher.swinir.pixel_shuffle` (PyTorch's channel order), so a
full-size image enters the network at low resolution and leaves through the same layout.

`bicubic_upsample` gives the same numbers as `degrade.imresize(x, s)` (MATLAB's bicubic, symmetric borders), which
is how the training inputs and the literature's bicubic baseline are made, so the sr student's residual starts at
that baseline exactly. `degrade.imresize` multiplies by dense [out, in] matrices: at 1080p output that is ~30 GFLOP
per frame, more than the whole `tiny` student. At an integer scale the kernel is polyphase: output phase p of every
input pixel uses the same 4 taps, so the resize is a few shifted slices and multiply-adds, O(pixels), fully fusable.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from jaxsharp import degrade


def pixel_unshuffle(x: jax.Array, r: int) -> jax.Array:
    """Space-to-depth, NHWC [B, rH, rW, C] -> [B, H, W, C*r*r], channel c*r*r + i*r + j = sub-pixel (i, j) of c.

    The inverse of `pixel_shuffle` (torch.nn.PixelUnshuffle's order). H and W must be multiples of r.
    """
    b, hr, wr, c = x.shape
    if hr % r or wr % r:
        raise ValueError(f"pixel_unshuffle by {r} needs H and W multiples of {r}, got {hr}x{wr}")
    x = x.reshape(b, hr // r, r, wr // r, r, c).transpose(0, 1, 3, 5, 2, 4)
    return x.reshape(b, hr // r, wr // r, c * r * r)


@functools.lru_cache(maxsize=16)
def phase_taps(scale: int) -> tuple[tuple[tuple[int, float], ...], ...]:
    """Per output phase p (0..scale-1), the (input offset, weight) taps of MATLAB's bicubic upsampling by `scale`.

    Output pixel s*i + p = sum of weight * input[i + offset]. Read off an interior row of `degrade.contributions`,
    so the weights are MATLAB's by construction; zero-weight taps are dropped.
    """
    n = 16  # long enough that the middle row never touches a border
    weights, indices = degrade.contributions(n, n * scale, float(scale))
    centre = n // 2
    return tuple(
        tuple((int(i) - centre, float(w)) for i, w in zip(indices[scale * centre + p], weights[scale * centre + p])
              if w != 0.0)
        for p in range(scale)
    )


def _upsample_axis(x: jax.Array, scale: int, axis: int) -> jax.Array:
    taps = phase_taps(scale)
    pad = max(abs(offset) for phase in taps for offset, _ in phase)
    n = x.shape[axis]
    widths = [(0, 0)] * x.ndim
    widths[axis] = (pad, pad)
    # 'symmetric' (edge pixel repeated) is MATLAB's mirror rule for indices outside the image.
    padded = jnp.pad(x, widths, mode="symmetric")
    phases = []
    for phase in taps:
        terms = [w * jax.lax.slice_in_dim(padded, pad + off, pad + off + n, axis=axis) for off, w in phase]
        phases.append(functools.reduce(jnp.add, terms))
    out = jnp.stack(phases, axis=axis + 1)  # [..., n, scale, ...]: phase p of input i is output s*i + p
    shape = list(x.shape)
    shape[axis] = n * scale
    return out.reshape(shape)


def bicubic_upsample(x: jax.Array, scale: int) -> jax.Array:
    """MATLAB `imresize(x, scale, 'bicubic')` for integer scale >= 1: NHWC [B, h, w, C] -> [B, s*h, s*w, C].

    Same weights and borders as `degrade.imresize` (rows first, as MATLAB on equal scales); not clipped.
    """
    if int(scale) != scale or scale < 1:
        raise ValueError(f"bicubic_upsample needs an integer scale >= 1, got {scale}")
    scale = int(scale)
    if scale == 1:
        return x
    return _upsample_axis(_upsample_axis(x, scale, 1), scale, 2)
