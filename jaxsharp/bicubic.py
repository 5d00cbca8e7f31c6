"""MATLAB-compatible bicubic resize and the (input, target) training/evaluation pairs built from it.

The SR literature makes its low-resolution images with MATLAB's `imresize(hr, 1/s, 'bicubic')`: a Keys cubic
kernel (a = -0.5), widened by 1/scale when shrinking (antialiasing), symmetric (mirror) padding at the borders,
and the dimension with the smaller scale factor resized first. PIL/OpenCV/jax.image bicubic differ from it
(no antialiasing, other padding), and a model trained on one degradation and tested on another loses ~0.1-1 dB.

Two implementations of the same weights:
- `imresize_np`: NumPy reference in float64, a gather over the kernel taps per output pixel as MATLAB's
  `imresizemex` does; `round_between_axes=True` emulates MATLAB on uint8 images (rounded after each 1-D pass).
- `imresize`: jit-able JAX, one dense weight matrix per axis built with NumPy at trace time (shapes are
  static), applied as two contractions. Exact (the matrix holds the same weights) and fast on accelerators.

Pairs: `bicubic_pair(hr, scale, mode)` with `lr = imresize(hr, 1/s)`, `blurry = imresize(lr, s)`:
mode "sr" gives (lr, hr), mode "sharpen" gives (blurry, hr), hr mod-cropped to a multiple of s.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

MODES = ("sr", "sharpen")

_KERNEL_WIDTH = 4.0  # MATLAB's width for 'bicubic' (support [-2, 2])


def _cubic(x: np.ndarray) -> np.ndarray:
    """Keys cubic convolution kernel with a = -0.5 (MATLAB's `cubic`)."""
    absx = np.abs(x)
    absx2 = absx * absx
    absx3 = absx2 * absx
    near = (1.5 * absx3 - 2.5 * absx2 + 1.0) * (absx <= 1)
    far = (-0.5 * absx3 + 2.5 * absx2 - 4.0 * absx + 2.0) * ((absx > 1) & (absx <= 2))
    return near + far


def contributions(in_length: int, out_length: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """MATLAB `contributions` for the antialiased bicubic kernel.

    Returns (weights [out_length, P] float64, indices [out_length, P] int, 0-based, already mirrored into
    [0, in_length)); each row of weights sums to 1.
    """
    if scale < 1:
        kernel_width = _KERNEL_WIDTH / scale
        kernel = lambda d: scale * _cubic(scale * d)  # noqa: E731  (antialiasing: stretch the kernel)
    else:
        kernel_width = _KERNEL_WIDTH
        kernel = _cubic
    x = np.arange(1, out_length + 1, dtype=np.float64)
    # 1-based input coordinate of each output pixel centre (0.5 maps to 0.5, as MATLAB).
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)
    left = np.floor(u - kernel_width / 2.0)
    taps = int(math.ceil(kernel_width)) + 2
    indices = left[:, None] + np.arange(taps, dtype=np.float64)[None, :]
    weights = kernel(u[:, None] - indices)
    weights = weights / weights.sum(axis=1, keepdims=True)
    # Symmetric padding: MATLAB's aux = [1:n, n:-1:1] indexed modulo 2n (it also drops all-zero tap columns,
    # which changes nothing numerically, so they are kept here).
    mirror = np.concatenate([np.arange(in_length), np.arange(in_length - 1, -1, -1)])
    indices = mirror[np.mod(indices.astype(np.int64) - 1, 2 * in_length)]
    return weights, indices


@functools.lru_cache(maxsize=256)
def resize_matrix(in_length: int, out_length: int, scale: float) -> np.ndarray:
    """Dense [out_length, in_length] float64 matrix M with resize(x) = M @ x along one axis."""
    weights, indices = contributions(in_length, out_length, scale)
    matrix = np.zeros((out_length, in_length), dtype=np.float64)
    rows = np.broadcast_to(np.arange(out_length)[:, None], indices.shape)
    np.add.at(matrix, (rows, indices), weights)  # mirrored taps can hit the same input pixel twice
    matrix.setflags(write=False)
    return matrix


def resize_plan(in_hw: tuple[int, int], scale: float | None = None,
                output_shape: tuple[int, int] | None = None) -> tuple[tuple[int, int], tuple[float, float], tuple[int, int]]:
    """MATLAB's size/scale bookkeeping: returns ((out_h, out_w), (scale_h, scale_w), axis order).

    With `scale`, out = ceil(scale * in) (a 1e-9 tolerance keeps 510 * (1/3) at 170, as intended); with
    `output_shape`, each axis gets scale = out / in. Axis order: the smaller scale first (MATLAB's stable
    sort, so rows first on ties); 0 = H, 1 = W.
    """
    if (scale is None) == (output_shape is None):
        raise ValueError("give exactly one of scale or output_shape")
    in_h, in_w = int(in_hw[0]), int(in_hw[1])
    if scale is not None:
        scale = float(scale)
        if not scale > 0:
            raise ValueError(f"scale must be positive, got {scale}")
        out_hw = tuple(int(math.ceil(scale * n - 1e-9)) for n in (in_h, in_w))
        scales = (scale, scale)
    else:
        out_hw = (int(output_shape[0]), int(output_shape[1]))
        if min(out_hw) < 1:
            raise ValueError(f"output_shape must be positive, got {output_shape}")
        scales = (out_hw[0] / in_h, out_hw[1] / in_w)
    order = (0, 1) if scales[0] <= scales[1] else (1, 0)
    return out_hw, scales, order


# Half-integer results are common (x2 weights are symmetric, pixels are integers): exactly they are ties that MATLAB
# rounds up, but float summation lands them a hair below .5. Treating values within this distance (in grey levels)
# of a tie as ties reproduces the official LR files bit for bit; without it ~0.1% of pixels are one level low.
_TIE_TOLERANCE_NP = 1e-6
_TIE_TOLERANCE_F32 = 1e-4  # float32 accumulates ~1e-5 grey levels of error


def _round_to_uint8_levels(x, xp=np, tie_tolerance: float = _TIE_TOLERANCE_NP):
    """[0, 1] floats -> nearest uint8 level / 255 as MATLAB's uint8 cast: saturate, round half away from zero."""
    return xp.floor(xp.clip(x, 0.0, 1.0) * 255.0 + (0.5 + tie_tolerance)) / 255.0


def imresize_np(image: np.ndarray, scale: float | None = None, *, output_shape: tuple[int, int] | None = None,
                round_between_axes: bool = False) -> np.ndarray:
    """NumPy reference of MATLAB `imresize(image, scale, 'bicubic')`.

    image: float HWC or NHWC (or HW), values in [0, 1]. Computed in float64; returned in the input's float
    dtype (float32 for anything else). Not clipped: bicubic overshoots slightly, as MATLAB on double images.
    round_between_axes: emulate MATLAB on a uint8 image; the result of each 1-D pass is clipped and rounded
    to the 255 uint8 levels (the output too), still expressed in [0, 1].
    """
    image = np.asarray(image)
    out_dtype = image.dtype if image.dtype in (np.float32, np.float64) else np.float32
    x = image.astype(np.float64)
    h_axis, w_axis = (x.ndim - 2, x.ndim - 1) if x.ndim == 2 else (x.ndim - 3, x.ndim - 2)
    out_hw, scales, order = resize_plan((x.shape[h_axis], x.shape[w_axis]), scale, output_shape)
    for which in order:
        axis = (h_axis, w_axis)[which]
        weights, indices = contributions(x.shape[axis], out_hw[which], scales[which])
        moved = np.moveaxis(x, axis, 0)
        acc = np.zeros((out_hw[which],) + moved.shape[1:], dtype=np.float64)
        bcast = (slice(None),) + (None,) * (moved.ndim - 1)
        for tap in range(weights.shape[1]):  # tap by tap, in order, as imresizemex accumulates
            acc += weights[:, tap][bcast] * moved[indices[:, tap]]
        x = np.moveaxis(acc, 0, axis)
        if round_between_axes:
            x = _round_to_uint8_levels(x)
    return x.astype(out_dtype)


@functools.partial(jax.jit, static_argnames=("scale", "output_shape", "round_between_axes"))
def imresize(image: jax.Array, scale: float | None = None, *, output_shape: tuple[int, int] | None = None,
             round_between_axes: bool = False) -> jax.Array:
    """JAX MATLAB-compatible bicubic resize, float32 HWC or NHWC in [0, 1] -> same layout at the new size.

    `scale` / `output_shape` / `round_between_axes` are static (one compile per input shape and setting).
    Matches `imresize_np` to float32 rounding (with round_between_axes, a rare tie may round differently).
    Not clipped unless round_between_axes (see `imresize_np`).
    """
    x = jnp.asarray(image, dtype=jnp.float32)
    if x.ndim not in (3, 4):
        raise ValueError(f"imresize expects HWC or NHWC, got shape {x.shape}")
    h_axis = x.ndim - 3
    out_hw, scales, order = resize_plan((x.shape[h_axis], x.shape[h_axis + 1]), scale, output_shape)
    for which in order:
        axis = h_axis + which
        matrix = jnp.asarray(resize_matrix(x.shape[axis], out_hw[which], scales[which]), dtype=jnp.float32)
        # HIGHEST: accelerators' default float32 matmul precision (bf16/tf32 passes) is far from exact.
        x = jnp.moveaxis(jnp.tensordot(matrix, x, axes=((1,), (axis,)), precision=jax.lax.Precision.HIGHEST),
                         0, axis)
        if round_between_axes:
            x = _round_to_uint8_levels(x, jnp, _TIE_TOLERANCE_F32)
    return x


def mod_crop(hr, scale: int):
    """Crops H and W (axes -3, -2 of HWC / NHWC) down to multiples of `scale`, keeping the top-left corner."""
    h, w = hr.shape[-3], hr.shape[-2]
    return hr[..., : h - h % scale, : w - w % scale, :]


def bicubic_pair(hr, scale: int, mode: str, *, quantize: bool = False):
    """The (input, target) pair for one sharp image, float HWC or NHWC in [0, 1].

    hr is mod-cropped to a multiple of `scale` (the target); lr = imresize(hr, 1/scale) [H/s, W/s];
    blurry = imresize(lr, scale) [H, W]. mode "sr" -> (lr, hr), mode "sharpen" -> (blurry, hr).
    Outputs are clipped to [0, 1] (stored images cannot overshoot). quantize=True: both resizes run as MATLAB on
    uint8 images (uint8 levels after each 1-D pass), which reproduces the official benchmark LR files bit for
    bit; the literature's bicubic baseline upsamples that way too.
    NumPy in -> NumPy (float32, via `imresize_np`) out; JAX in -> JAX out (via `imresize`, jit-able).
    """
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; valid modes: {', '.join(MODES)}")
    scale = int(scale)
    if scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale}")
    if isinstance(hr, jax.Array):
        resize, xp = imresize, jnp
    else:
        hr = np.asarray(hr, dtype=np.float32)
        resize, xp = imresize_np, np
    hr = mod_crop(hr, scale)
    # quantize: MATLAB on uint8, rounded after each 1-D pass; this reproduces the official LR files exactly.
    lr = xp.clip(resize(hr, 1.0 / scale, round_between_axes=quantize), 0.0, 1.0)
    if mode == "sr":
        return lr, hr
    return sharpen_input(lr, scale, quantize=quantize), hr


def sharpen_input(lr, scale: int, *, quantize: bool = False):
    """The sharpen-mode input made from an lr image: imresize(lr, scale), clipped to [0, 1] ([h, w] -> [s*h, s*w]).

    What `bicubic_pair` does after its downscale; quantize as there. NumPy in -> NumPy out, JAX in -> JAX out.
    """
    if isinstance(lr, jax.Array):
        return jnp.clip(imresize(lr, float(scale), round_between_axes=quantize), 0.0, 1.0)
    return np.clip(imresize_np(lr, float(scale), round_between_axes=quantize), 0.0, 1.0)
