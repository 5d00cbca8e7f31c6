"""Weight-space algebra: every linear branch of a block as ONE k x k conv kernel [k, k, in, out] (HWIO) and bias.

A branch is linear in its input (convs and per-channel scales, no activation), so it equals one conv whose kernel
is the branch's impulse response. Each function below gives that conv in closed form (einsums over weights, no
image touched), cheap enough to run at every training step (SESR's collapsed training):

- `expand_squeeze`: SESR's k x k conv to p channels then 1x1 conv back: W = Wkxk . W1x1 over p,
  b = b_kxk . W1x1 + b_1x1. The k x k conv's bias passes through the 1x1 like any constant image: it lands in the
  output bias, never in the kernel (ARM-software/sesr#14: the official collapse, which convolves a delta through
  the biased convs, adds it to every kernel tap instead).
- `pointwise_then_conv`: ECBSR's 1x1 conv to m channels then k x k conv: W = W1x1 . Wkxk over m,
  b = sum over taps and m of b_1x1 * Wkxk + b_kxk.
- `pointwise_then_mask`: ECBSR's 1x1 conv then a fixed per-channel mask (Sobel, Laplacian) times a learnt scale,
  plus a learnt bias: W = W1x1 * mask * scale, b = b_1x1 * scale * sum(mask) + bias.
- `identity`: the centred delta (the block's skip), in == out only.

The last two "then" branches equal their collapsed conv at the image borders too only if the 1x1 output is padded
with its bias rather than zeros before the k x k conv (ECBSR's detail): the collapsed conv zero-pads its *input*,
and a 1x1 conv maps a zero pixel to its bias. `model.py` runs the branches that way; the tests hold both to 1e-5.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

# ECBSR's masks, [kh, kw], applied by cross-correlation (torch's conv2d and lax.conv alike).
MASKS = {
    "sobel_x": np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]], np.float32),
    "sobel_y": np.array([[1.0, 2.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -1.0]], np.float32),
    "laplacian": np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]], np.float32),
}

Conv = tuple[jax.Array, jax.Array]  # (kernel [k, k, in, out], bias [out])


def centred(kernel: jax.Array, k: int) -> jax.Array:
    """A [kh, kw, ...] kernel zero-padded to [k, k, ...] about its centre (the same operator on a wider window)."""
    pad = (k - kernel.shape[0]) // 2
    if pad < 0 or kernel.shape[0] != kernel.shape[1] or (k - kernel.shape[0]) % 2:
        raise ValueError(f"cannot centre a {kernel.shape[0]}x{kernel.shape[1]} kernel in {k}x{k}")
    return jnp.pad(kernel, [(pad, pad), (pad, pad)] + [(0, 0)] * (kernel.ndim - 2))


def expand_squeeze(kernel: jax.Array, bias: jax.Array, pointwise: jax.Array, pointwise_bias: jax.Array) -> Conv:
    """SESR branch: kernel [k, k, in, p], bias [p], then pointwise [p, out], pointwise_bias [out]."""
    return (jnp.einsum("hwip,po->hwio", kernel, pointwise),
            bias @ pointwise + pointwise_bias)


def pointwise_then_conv(pointwise: jax.Array, pointwise_bias: jax.Array, kernel: jax.Array, bias: jax.Array) -> Conv:
    """ECBSR 1x1->kxk branch: pointwise [in, m], pointwise_bias [m], then kernel [k, k, m, out], bias [out]."""
    return (jnp.einsum("im,hwmo->hwio", pointwise, kernel),
            jnp.einsum("m,hwmo->o", pointwise_bias, kernel) + bias)


def pointwise_then_mask(pointwise: jax.Array, pointwise_bias: jax.Array, scale: jax.Array, bias: jax.Array,
                        mask: np.ndarray, k: int) -> Conv:
    """ECBSR edge branch: pointwise [in, out], pointwise_bias [out], then per output channel o the fixed `mask`
    [3, 3] times scale[o], plus bias[o]; as a k x k conv (k >= 3)."""
    mask = centred(jnp.asarray(mask), k)
    return (jnp.einsum("io,hw,o->hwio", pointwise, mask, scale),
            pointwise_bias * scale * jnp.sum(mask) + bias)


def identity(channels: int, k: int) -> jax.Array:
    """The skip connection as a k x k kernel: 1 at the centre tap from channel c to channel c."""
    return centred(jnp.eye(channels, dtype=jnp.float32)[None, None], k)


def conv(x: jax.Array, kernel: jax.Array, bias: jax.Array | None = None, *, padding="SAME",
         groups: int = 1) -> jax.Array:
    """NHWC conv (cross-correlation) with an HWIO kernel, zero padding "SAME" or "VALID", plus bias."""
    y = jax.lax.conv_general_dilated(x, kernel, (1, 1), padding, dimension_numbers=("NHWC", "HWIO", "NHWC"),
                                     feature_group_count=groups)
    return y if bias is None else y + bias
