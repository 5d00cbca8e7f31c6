"""The student network: a plain residual CNN that works at low resolution.

    sharpen: blurry [B, H, W, 3] --space-to-depth(s)--> [B, H/s, W/s, 3*s*s] --convs--> 3*s*s --pixel-shuffle(s)-->
             [B, H, W, 3], + blurry
    sr:      lr [B, h, w, 3] --convs--> 3*s*s --pixel-shuffle(s)--> [B, s*h, s*w, 3], + bicubic_upsample(lr, s)

Working at 1/s resolution costs 1/s^2 of the same convs at full size, and a sharpen student at scale s sees the
same neighbourhood (in low-resolution pixels) as an sr student. The two modes share every parameter shape except
the head conv's input channels (3*s*s after space-to-depth, 3 for lr input): the body and tail are the same.

The tail conv starts at zero (kernel and bias), so an untrained student is exactly its residual: the blurry input
(sharpen) or MATLAB bicubic (sr). Training starts from that baseline and never from a random image. The hidden
convs use He initialisation, the variance-preserving choice for ReLU stacks.
"""

from __future__ import annotations

import math

import jax
from flax import nnx

from jaxsharp.student.config import StudentConfig
from jaxsharp.student.resample import bicubic_upsample, pixel_unshuffle
from jaxsharp.teacher.swinir import pixel_shuffle


def _conv(in_channels: int, out_channels: int, init, rngs: nnx.Rngs) -> nnx.Conv:
    return nnx.Conv(in_channels, out_channels, (3, 3), padding="SAME", kernel_init=init, rngs=rngs)


class Student(nnx.Module):
    """Residual CNN student; see the module docstring. Parameters: head, body/0..n-1, tail (kernel, bias)."""

    def __init__(self, config: StudentConfig, *, rngs: nnx.Rngs):
        self.config = config
        he = nnx.initializers.he_normal()
        c, b = config.channels, config.out_block
        self.head = _conv(config.in_channels, c, he, rngs)
        self.body = nnx.List([_conv(c, c, he, rngs) for _ in range(config.num_convs - 2)])
        self.tail = _conv(c, 3 * b * b, nnx.initializers.zeros_init(), rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        """x: float32 NHWC in [0, 1] -> [B, H, W, 3] (sharpen; H, W multiples of the block) or [B, sH, sW, 3] (sr).

        The output is not clipped: the loss sees the raw values, callers clip for display or saving.
        """
        return self.with_features(x)[0]

    def with_features(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        """(output as __call__, the last hidden feature map [B, H/s, W/s, channels]): feature distillation's view."""
        cfg = self.config
        if x.ndim != 4 or x.shape[-1] != 3:
            raise ValueError(f"student input must be [B, H, W, 3], got shape {tuple(x.shape)}")
        if cfg.mode == "sharpen":
            residual, features = x, pixel_unshuffle(x, cfg.block)
        else:
            residual, features = bicubic_upsample(x, cfg.scale), x
        h = jax.nn.relu(self.head(features))
        for conv in self.body:
            h = jax.nn.relu(conv(h))
        return residual + pixel_shuffle(self.tail(h), cfg.out_block), h


def build(config: StudentConfig, *, rngs: nnx.Rngs) -> Student:
    """A freshly initialised student (the tail at zero: output == residual baseline)."""
    return Student(config, rngs=rngs)


def abstract(config: StudentConfig) -> Student:
    """The student's structure with shape-only parameters (no random init), to be filled from a file."""
    return nnx.eval_shape(lambda: Student(config, rngs=nnx.Rngs(0)))


def num_params(model: Student) -> int:
    """Number of parameters (works on `abstract` students too)."""
    return sum(math.prod(v.shape) for v in jax.tree.leaves(nnx.state(model, nnx.Param)))
