"""The re-parameterised student: SESR's collapsible linear blocks (optionally with ECBSR's edge branches) in
training, one plain k x k conv per block once collapsed.

    sharpen: blurry [B, H, W, 3] --space-to-depth(s)--> head --> body blocks (activation after each) --(+ head's
             output)--> tail --> pixel-shuffle(s) --> + blurry
    sr:      lr [B, h, w, 3] --> the same stack --> pixel-shuffle(scale) --> + bicubic_upsample(lr, scale)

Every block is linear: a sum of branches (collapse.py) that equals ONE k x k conv + bias, the skip included
(body blocks only; the head and tail change the width). Two modules share one forward (`run`):

- `ReparamStudent`, what the trainer holds: the expanded branch weights. Its `__call__` collapses every block
  (weight-space einsums, `LinearBlock.collapse`) and runs the small convs, so the gradients reach the expanded
  weights while the activations cost what the deployed network's cost (SESR's collapsed training: at p = 256
  the expanded forward would run 16x wider convs on every pixel). `expanded(x)` runs the branches literally,
  the reference the tests hold the collapse to.
- `CollapsedStudent`, what is saved, loaded, exported, benchmarked and tiled: head, body/i and tail convs
  (kernel [k, k, in, out], bias) and, with PReLU, act/i/slope. `collapse_student` turns the first into the second.

The tail starts at zero in every branch, so an untrained student is exactly its residual (the blurry input or
MATLAB bicubic), as the plain student's is.
"""

from __future__ import annotations

import functools
import math
from typing import Callable, Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from jaxsharp.student.resample import bicubic_upsample, pixel_unshuffle
from jaxsharp.student_reparam import collapse
from jaxsharp.student_reparam.config import ReparamConfig
from jaxsharp.teacher.swinir import pixel_shuffle

_ZERO = nnx.initializers.zeros_init()
_HE = nnx.initializers.he_normal()
_LECUN = nnx.initializers.lecun_normal()
# torch's default conv init (kaiming_uniform, a = sqrt(5)), ECBSR's for its branches.
_TORCH = nnx.initializers.variance_scaling(1.0 / 3.0, "fan_in", "uniform")


def _param(init, shape, rngs: nnx.Rngs) -> nnx.Param:
    return nnx.Param(init(rngs.params(), shape, jnp.float32))


def _pad_with(y: jax.Array, value: jax.Array, pad: int) -> jax.Array:
    """y [B, H, W, C] padded by `pad` pixels on every side with the per-channel constant value [C]."""
    padded = jnp.pad(y, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    inside = jnp.pad(jnp.ones(y.shape[1:3], bool), pad)[None, :, :, None]
    return jnp.where(inside, padded, value)


# ----------------------------------------------------------------------------------------------------------------
# Branches: collapse() -> (kernel [k, k, in, out], bias [out]); expanded(x) runs the branch as trained literally.


class ExpandSqueeze(nnx.Module):
    """SESR: k x k conv in -> p, then 1x1 conv p -> out, both with a bias."""

    def __init__(self, cin: int, cout: int, k: int, p: int, *, zero_out: bool, rngs: nnx.Rngs):
        self.kernel = _param(_HE, (k, k, cin, p), rngs)
        self.bias = _param(_ZERO, (p,), rngs)
        # 1/p variance: the product of the two convs has He variance 2 / (k*k*in).
        self.pointwise = _param(_ZERO if zero_out else _LECUN, (p, cout), rngs)
        self.pointwise_bias = _param(_ZERO, (cout,), rngs)

    def collapse(self) -> collapse.Conv:
        return collapse.expand_squeeze(self.kernel[...], self.bias[...], self.pointwise[...],
                                       self.pointwise_bias[...])

    def expanded(self, x: jax.Array) -> jax.Array:
        y = collapse.conv(x, self.kernel[...], self.bias[...])
        return collapse.conv(y, self.pointwise[...][None, None], self.pointwise_bias[...])


class PlainConv(nnx.Module):
    """One k x k conv with a bias: ECBSR's conv3x3 branch, and every conv of the collapsed network."""

    def __init__(self, cin: int, cout: int, k: int, *, init=_TORCH, rngs: nnx.Rngs):
        self.kernel = _param(init, (k, k, cin, cout), rngs)
        self.bias = _param(_ZERO, (cout,), rngs)

    def collapse(self) -> collapse.Conv:
        return self.kernel[...], self.bias[...]

    def expanded(self, x: jax.Array) -> jax.Array:
        return collapse.conv(x, self.kernel[...], self.bias[...])

    __call__ = expanded


class PointwiseThenConv(nnx.Module):
    """ECBSR: 1x1 conv in -> m, then k x k conv m -> out; the 1x1 output is padded with its bias."""

    def __init__(self, cin: int, cout: int, k: int, m: int, *, zero_out: bool, rngs: nnx.Rngs):
        self.pointwise = _param(_TORCH, (cin, m), rngs)
        self.pointwise_bias = _param(_ZERO, (m,), rngs)
        self.kernel = _param(_ZERO if zero_out else _TORCH, (k, k, m, cout), rngs)
        self.bias = _param(_ZERO, (cout,), rngs)

    def collapse(self) -> collapse.Conv:
        return collapse.pointwise_then_conv(self.pointwise[...], self.pointwise_bias[...], self.kernel[...],
                                            self.bias[...])

    def expanded(self, x: jax.Array) -> jax.Array:
        y = collapse.conv(x, self.pointwise[...][None, None], self.pointwise_bias[...])
        y = _pad_with(y, self.pointwise_bias[...], self.kernel.shape[0] // 2)
        return collapse.conv(y, self.kernel[...], self.bias[...], padding="VALID")


class PointwiseThenMask(nnx.Module):
    """ECBSR: 1x1 conv in -> out, then per channel a fixed 3x3 mask (Sobel-x, Sobel-y or Laplacian) times a learnt
    scale, plus a learnt bias; the 1x1 output is padded with its bias."""

    def __init__(self, cin: int, cout: int, k: int, mask: str, *, zero_out: bool, rngs: nnx.Rngs):
        self.mask = mask  # a name in collapse.MASKS: static, not a parameter
        self.k = k
        self.pointwise = _param(_TORCH, (cin, cout), rngs)
        self.pointwise_bias = _param(_ZERO, (cout,), rngs)
        small = nnx.initializers.normal(1e-3)  # ECBSR's scale and bias init
        self.scale = _param(_ZERO if zero_out else small, (cout,), rngs)
        self.bias = _param(_ZERO if zero_out else small, (cout,), rngs)

    def collapse(self) -> collapse.Conv:
        return collapse.pointwise_then_mask(self.pointwise[...], self.pointwise_bias[...], self.scale[...],
                                            self.bias[...], collapse.MASKS[self.mask], self.k)

    def expanded(self, x: jax.Array) -> jax.Array:
        y = collapse.conv(x, self.pointwise[...][None, None], self.pointwise_bias[...])
        y = _pad_with(y, self.pointwise_bias[...], 1)
        depthwise = jnp.asarray(collapse.MASKS[self.mask])[:, :, None, None] * self.scale[...]  # [3, 3, 1, out]
        return collapse.conv(y, depthwise, self.bias[...], padding="VALID", groups=y.shape[-1])


class LinearBlock(nnx.Module):
    """in -> out channels, k x k: SESR's expand-squeeze branch (expand > 0), ECBSR's edge branches (edge_branches),
    the identity (identity, in == out); all linear, so `collapse()` is one k x k conv + bias.

    zero_out: every branch's last factor starts at zero (the tail: the block's output starts at exactly 0).
    """

    def __init__(self, cin: int, cout: int, k: int, *, expand: int, edge_branches: bool, edge_multiplier: int = 2,
                 identity: bool = False, zero_out: bool = False, rngs: nnx.Rngs):
        if identity and cin != cout:
            raise ValueError(f"an identity branch needs in == out channels, got {cin} -> {cout}")
        if not expand and not edge_branches:
            raise ValueError("a linear block needs the SESR branch (expand > 0) or the edge branches")
        self.cin, self.cout, self.k, self.identity = cin, cout, k, identity
        self.expand_squeeze = ExpandSqueeze(cin, cout, k, expand, zero_out=zero_out, rngs=rngs) if expand else None
        if edge_branches:
            self.conv = PlainConv(cin, cout, k, init=_ZERO if zero_out else _TORCH, rngs=rngs)
            self.pointwise_conv = PointwiseThenConv(cin, cout, k, edge_multiplier * cout, zero_out=zero_out,
                                                    rngs=rngs)
            self.edges = nnx.List([PointwiseThenMask(cin, cout, k, name, zero_out=zero_out, rngs=rngs)
                                   for name in collapse.MASKS])
        else:
            self.conv = self.pointwise_conv = self.edges = None

    def branches(self) -> list[nnx.Module]:
        found = [self.expand_squeeze, self.conv, self.pointwise_conv] + list(self.edges or [])
        return [b for b in found if b is not None]

    def collapse(self) -> collapse.Conv:
        """The block as one conv: (kernel [k, k, in, out], bias [out])."""
        parts = [b.collapse() for b in self.branches()]
        kernel = functools.reduce(jnp.add, [w for w, _ in parts])
        bias = functools.reduce(jnp.add, [b for _, b in parts])
        if self.identity:
            kernel = kernel + collapse.identity(self.cout, self.k)
        return kernel, bias

    def __call__(self, x: jax.Array) -> jax.Array:
        """Collapsed: one k x k conv, the cost of the deployed block."""
        return collapse.conv(x, *self.collapse())

    def expanded(self, x: jax.Array) -> jax.Array:
        """Every branch run as trained (the reference the collapse must equal)."""
        y = functools.reduce(jnp.add, [b.expanded(x) for b in self.branches()])
        return y + x if self.identity else y


class PReLU(nnx.Module):
    def __init__(self, channels: int, *, rngs: nnx.Rngs):
        del rngs
        self.slope = nnx.Param(jnp.full((channels,), 0.25, jnp.float32))  # PyTorch's initial slope

    def __call__(self, x: jax.Array) -> jax.Array:
        return jnp.where(x >= 0, x, self.slope[...] * x)


# ----------------------------------------------------------------------------------------------------------------
# The network


def _check_input(x: jax.Array) -> None:
    if x.ndim != 4 or x.shape[-1] != 3:
        raise ValueError(f"student input must be [B, H, W, 3], got shape {tuple(x.shape)}")


# BT.601 luma of [0, 1] RGB on a [0, 1] scale (metrics.py's Y / 255): what a color="y" body sees. Adding one value
# d to R, G and B moves this Y by d * 0.858 and leaves Cb and Cr unchanged (their rows sum to zero).
_Y_WEIGHTS = (65.481 / 255.0, 128.553 / 255.0, 24.966 / 255.0)
_Y_OFFSET = 16.0 / 255.0


def luma(x: jax.Array) -> jax.Array:
    """[..., 3] RGB in [0, 1] -> [..., 1] BT.601 Y in [16/255, 235/255]."""
    # Elementwise, not `x @ w`: XLA's CPU backend runs a K=3 matmul as a dot of its own, a separate pass over the
    # frame, where multiply-adds fuse with the space-to-depth that follows.
    r, g, b = x[..., 0:1], x[..., 1:2], x[..., 2:3]
    return r * _Y_WEIGHTS[0] + g * _Y_WEIGHTS[1] + b * _Y_WEIGHTS[2] + _Y_OFFSET


def run(config: ReparamConfig, layers: Sequence[Callable], activations: Sequence[Callable], x: jax.Array, *,
        with_features: bool = False):
    """The architecture, whatever the layers are: head, body..., tail (each x -> y), one activation per body layer.

    x: float32 NHWC in [0, 1] -> [B, H, W, 3] (sharpen; H, W multiples of the block) or [B, sH, sW, 3] (sr); raw.
    with_features: return (output, the tail's input feature map [B, H/s, W/s, channels]) for feature distillation.
    """
    _check_input(x)
    body_input = luma(x) if config.color == "y" else x
    if config.mode == "sharpen":
        residual, features = x, pixel_unshuffle(body_input, config.block)
    else:
        residual, features = bicubic_upsample(x, config.scale), body_input
    head, *body, tail = layers
    h = first = head(features)  # SESR: no activation after the head block
    for layer, activation in zip(body, activations, strict=True):
        h = activation(layer(h))
    if config.feature_residual:
        h = h + first
    out = pixel_shuffle(tail(h), config.out_block)  # [..., 3] or, with color "y", [..., 1]: broadcast to R, G, B
    out = residual + out if config.input_residual else out
    return (out, h) if with_features else out


def _activations(config: ReparamConfig, rngs: nnx.Rngs) -> nnx.List:
    if config.activation == "prelu":
        return nnx.List([PReLU(config.channels, rngs=rngs) for _ in range(config.num_blocks)])
    return nnx.List([])


def _activation_fns(config: ReparamConfig, act: nnx.List) -> list[Callable]:
    return list(act) if config.activation == "prelu" else [jax.nn.relu] * config.num_blocks


class ReparamStudent(nnx.Module):
    """The training form: expanded linear blocks head, body/0..m-1, tail (and act/i with PReLU)."""

    def __init__(self, config: ReparamConfig, *, rngs: nnx.Rngs):
        self.config = config
        c, k, edge = config.channels, config.body_kernel, config.edge_branches
        block = functools.partial(LinearBlock, expand=config.expand, edge_branches=edge,
                                  edge_multiplier=config.edge_multiplier, rngs=rngs)
        self.head = block(config.in_channels, c, config.head_kernel)
        self.body = nnx.List([block(c, c, k, identity=True) for _ in range(config.num_blocks)])
        self.tail = block(c, config.out_channels, config.head_kernel, zero_out=True)
        self.act = _activations(config, rngs)

    def blocks(self) -> list[LinearBlock]:
        return [self.head, *self.body, self.tail]

    def __call__(self, x: jax.Array) -> jax.Array:
        """Collapses every block, then runs the collapsed convs (see the module docstring); shapes as `run`."""
        convs = [functools.partial(collapse.conv, kernel=w, bias=b)
                 for w, b in (blk.collapse() for blk in self.blocks())]
        return run(self.config, convs, _activation_fns(self.config, self.act), x)

    def with_features(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        """(output as __call__, the tail's input feature map): feature distillation's view (`run`)."""
        convs = [functools.partial(collapse.conv, kernel=w, bias=b)
                 for w, b in (blk.collapse() for blk in self.blocks())]
        return run(self.config, convs, _activation_fns(self.config, self.act), x, with_features=True)

    def expanded(self, x: jax.Array) -> jax.Array:
        """Every branch of every block run literally: the reference for the tests (slow at large `expand`)."""
        return run(self.config, [blk.expanded for blk in self.blocks()], _activation_fns(self.config, self.act), x)


class CollapsedStudent(nnx.Module):
    """The deployed form: plain convs head, body/0..m-1, tail (kernel, bias) and act/i/slope with PReLU."""

    def __init__(self, config: ReparamConfig, *, rngs: nnx.Rngs):
        self.config = config
        widths = [config.in_channels] + [config.channels] * (config.num_blocks + 1) + [config.out_channels]
        convs = [PlainConv(cin, cout, k, init=_ZERO, rngs=rngs)
                 for cin, cout, k in zip(widths[:-1], widths[1:], config.kernels)]
        self.head, self.tail = convs[0], convs[-1]
        self.body = nnx.List(convs[1:-1])
        self.act = _activations(config, rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        """x: float32 NHWC in [0, 1] -> the raw output (see `run`)."""
        return run(self.config, [self.head, *self.body, self.tail], _activation_fns(self.config, self.act), x)

    def with_features(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        """(output as __call__, the tail's input feature map): feature distillation's view (`run`)."""
        return run(self.config, [self.head, *self.body, self.tail], _activation_fns(self.config, self.act), x,
                   with_features=True)


def build(config: ReparamConfig, *, rngs: nnx.Rngs) -> ReparamStudent:
    """A freshly initialised training student (the tail at zero: output == residual baseline)."""
    return ReparamStudent(config, rngs=rngs)


def abstract(config: ReparamConfig) -> CollapsedStudent:
    """The deployed network's structure with shape-only parameters, to be filled from a file or a collapse."""
    return nnx.eval_shape(lambda: CollapsedStudent(config, rngs=nnx.Rngs(0)))


def collapse_student(model: ReparamStudent) -> CollapsedStudent:
    """The deployed network equal to `model`: every block collapsed, the PReLU slopes copied."""
    out = abstract(model.config)
    for target, block in zip([out.head, *out.body, out.tail], model.blocks(), strict=True):
        kernel, bias = block.collapse()
        target.kernel.set_value(jnp.asarray(kernel, jnp.float32))
        target.bias.set_value(jnp.asarray(bias, jnp.float32))
    for target, source in zip(out.act, model.act, strict=True):
        target.slope.set_value(jnp.asarray(source.slope[...]))
    return out


def num_params(model: nnx.Module) -> int:
    """Number of parameters (works on `abstract` students too)."""
    return sum(math.prod(v.shape) for v in jax.tree.leaves(nnx.state(model, nnx.Param)))
