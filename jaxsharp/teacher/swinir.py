"""SwinIR (Liang et al., 2021) as a Flax NNX module, computing what the official PyTorch model computes.

Layout is NHWC throughout: tokens stay as [B, H, W, C] (the official model flattens to [B, H*W, C]; LayerNorm
and Linear act on the last axis, so the two agree). Attribute names mirror the official `state_dict()` names
so that `jaxsharp/port/swinir_torch.py` needs only leaf renames, transposes and three structural renames.

Port details that change numbers (each checked by tests against the official outputs):
exact-erf GELU; LayerNorm eps 1e-5 with the two-pass variance; the shifted-window mask uses -100 (not -inf);
PyTorch PixelShuffle channel order; reflect-padding bottom/right to a window multiple, output cropped back.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

UPSAMPLERS = ("pixelshuffle", "pixelshuffledirect", "nearest+conv", "")
RESI_CONNECTIONS = ("1conv", "3conv")
RGB_MEAN = (0.4488, 0.4371, 0.4040)  # DIV2K mean the official model subtracts for 3-channel input
NUM_FEAT = 64  # reconstruction width of the official 'pixelshuffle' and 'nearest+conv' heads


@dataclasses.dataclass(frozen=True)
class SwinIRConfig:
    """The official `SwinIR(...)` keyword arguments that define a trained model (defaults: SwinIR-S x2)."""

    upscale: int = 2
    in_chans: int = 3
    img_size: int = 64
    window_size: int = 8
    img_range: float = 1.0
    depths: tuple[int, ...] = (6, 6, 6, 6)
    embed_dim: int = 60
    num_heads: tuple[int, ...] = (6, 6, 6, 6)
    mlp_ratio: float = 2.0
    upsampler: str = "pixelshuffledirect"
    resi_connection: str = "1conv"
    qkv_bias: bool = True
    patch_norm: bool = True

    def __post_init__(self):
        object.__setattr__(self, "depths", tuple(int(d) for d in self.depths))
        object.__setattr__(self, "num_heads", tuple(int(h) for h in self.num_heads))
        validate_config(self)

    @property
    def block_window(self) -> int:
        # The official block shrinks the window (and drops the shift) when img_size is not larger than it.
        return min(self.window_size, self.img_size)

    def to_json_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["depths"], d["num_heads"] = list(self.depths), list(self.num_heads)
        return d


def validate_config(c: SwinIRConfig) -> None:
    """Rejects options the official model does not define, with the offending value in the message."""

    def bad(msg):
        raise ValueError(f"unsupported SwinIR config: {msg}")

    if c.upsampler not in UPSAMPLERS:
        bad(f"upsampler={c.upsampler!r}; choose one of {UPSAMPLERS}")
    if c.resi_connection not in RESI_CONNECTIONS:
        bad(f"resi_connection={c.resi_connection!r}; choose one of {RESI_CONNECTIONS}")
    if c.in_chans not in (1, 3):
        bad(f"in_chans={c.in_chans}; the official model defines 1 (grayscale) or 3 (RGB)")
    if c.window_size < 1 or c.img_size < 1:
        bad(f"window_size={c.window_size}, img_size={c.img_size} must be positive")
    if c.img_range <= 0:
        bad(f"img_range={c.img_range} must be positive (official: 1.0 or 255.0)")
    if len(c.depths) == 0 or len(c.depths) != len(c.num_heads):
        bad(f"depths {c.depths} and num_heads {c.num_heads} must be non-empty and of equal length")
    if any(d < 1 for d in c.depths):
        bad(f"depths {c.depths} must be positive")
    for h in c.num_heads:
        if h < 1 or c.embed_dim % h:
            bad(f"embed_dim={c.embed_dim} is not divisible by num_heads={h}")
    if c.resi_connection == "3conv" and c.embed_dim % 4:
        bad(f"resi_connection='3conv' needs embed_dim divisible by 4, got {c.embed_dim}")
    if int(c.embed_dim * c.mlp_ratio) < 1:
        bad(f"mlp_ratio={c.mlp_ratio} gives an empty MLP")
    s = c.upscale
    if c.upsampler == "":
        if s != 1:
            bad(f"upsampler='' (denoising / JPEG) needs upscale=1, got {s}")
    elif c.upsampler == "pixelshuffle":
        if not (s >= 2 and (s & (s - 1) == 0 or s == 3)):
            bad(f"upsampler='pixelshuffle' supports upscale 2^n or 3, got {s}")
    elif c.upsampler == "nearest+conv":
        if s not in (2, 4):
            bad(f"upsampler='nearest+conv' supports upscale 2 or 4, got {s}")
    elif s < 1:
        bad(f"upscale={s} must be positive")


# ----------------------------------------------------------------------------------------------------------------
# Constants the official model registers as buffers: recomputed here (and checked against a .pth's by the port).


@functools.lru_cache(maxsize=None)
def relative_position_index(window: int) -> np.ndarray:
    """[w*w, w*w] int index into the ((2w-1)^2, heads) bias table, as the official WindowAttention buffer."""
    coords = np.stack(np.meshgrid(np.arange(window), np.arange(window), indexing="ij")).reshape(2, -1)
    rel = (coords[:, :, None] - coords[:, None, :]).transpose(1, 2, 0) + (window - 1)
    return (rel[..., 0] * (2 * window - 1) + rel[..., 1]).astype(np.int64)


@functools.lru_cache(maxsize=None)
def shifted_window_mask(height: int, width: int, window: int, shift: int) -> np.ndarray:
    """[nW, w*w, w*w] float32 mask of 0 / -100 for shifted windows, as the official `calculate_mask`."""
    region = np.zeros((height, width), np.float32)
    cuts = (slice(0, -window), slice(-window, -shift), slice(-shift, None))
    for i, hs in enumerate(cuts):
        for j, ws in enumerate(cuts):
            region[hs, ws] = 3 * i + j
    windows = region.reshape(height // window, window, width // window, window).transpose(0, 2, 1, 3)
    windows = windows.reshape(-1, window * window)
    diff = windows[:, None, :] - windows[:, :, None]
    return np.where(diff != 0, np.float32(-100.0), np.float32(0.0))


def window_partition(x: jax.Array, window: int) -> jax.Array:
    """[B, H, W, C] -> [B * nW, w*w, C], windows in row-major order per image (the official order)."""
    b, h, w, c = x.shape
    x = x.reshape(b, h // window, window, w // window, window, c).transpose(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, window * window, c)


def window_reverse(windows: jax.Array, window: int, height: int, width: int) -> jax.Array:
    """[B * nW, w*w, C] -> [B, H, W, C]; inverse of `window_partition`."""
    c = windows.shape[-1]
    x = windows.reshape(-1, height // window, width // window, window, window, c).transpose(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, height, width, c)


def pixel_shuffle(x: jax.Array, r: int) -> jax.Array:
    """NHWC version of torch.nn.PixelShuffle: channel c*r*r + i*r + j goes to sub-pixel (i, j) of channel c."""
    b, h, w, crr = x.shape
    c = crr // (r * r)
    x = x.reshape(b, h, w, c, r, r).transpose(0, 1, 4, 2, 5, 3)
    return x.reshape(b, h * r, w * r, c)


def upsample_nearest2x(x: jax.Array) -> jax.Array:
    return jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)


def gelu_exact(x: jax.Array) -> jax.Array:
    # The official nn.GELU() is the erf form; the tanh approximation shifts outputs by ~1e-3.
    return jax.nn.gelu(x, approximate=False)


def leaky_relu(slope: float):
    return functools.partial(jax.nn.leaky_relu, negative_slope=slope)


def _layer_norm(dim: int, rngs: nnx.Rngs) -> nnx.LayerNorm:
    # Two-pass variance, as torch: the fast E[x^2]-E[x]^2 form loses ~1e-5 on large activations.
    return nnx.LayerNorm(dim, epsilon=1e-5, use_fast_variance=False, rngs=rngs)


def _conv(cin: int, cout: int, k: int, rngs: nnx.Rngs) -> nnx.Conv:
    return nnx.Conv(cin, cout, (k, k), padding=((k // 2, k // 2), (k // 2, k // 2)), rngs=rngs)


# ----------------------------------------------------------------------------------------------------------------


class Mlp(nnx.Module):
    def __init__(self, dim: int, hidden: int, *, rngs: nnx.Rngs):
        self.fc1 = nnx.Linear(dim, hidden, rngs=rngs)
        self.fc2 = nnx.Linear(hidden, dim, rngs=rngs)

    def __call__(self, x):
        return self.fc2(gelu_exact(self.fc1(x)))


class WindowAttention(nnx.Module):
    """Multi-head self-attention inside windows, with the learned relative position bias."""

    def __init__(self, dim: int, window: int, num_heads: int, qkv_bias: bool, *, rngs: nnx.Rngs):
        self.window = window
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.relative_position_bias_table = nnx.Param(
            0.02 * jax.random.truncated_normal(rngs.params(), -2.0, 2.0, ((2 * window - 1) ** 2, num_heads)))
        self.qkv = nnx.Linear(dim, 3 * dim, use_bias=qkv_bias, rngs=rngs)
        self.proj = nnx.Linear(dim, dim, rngs=rngs)

    def __call__(self, x: jax.Array, mask: np.ndarray | None) -> jax.Array:
        """x: [B * nW, N, C] window tokens; mask: [nW, N, N] or None."""
        bw, n, c = x.shape
        hd = c // self.num_heads
        qkv = self.qkv(x).reshape(bw, n, 3, self.num_heads, hd).transpose(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * self.scale, qkv[1], qkv[2]
        attn = q @ k.swapaxes(-2, -1)  # [B*nW, heads, N, N]
        index = relative_position_index(self.window).reshape(-1)
        bias = self.relative_position_bias_table[...][index].reshape(n, n, -1).transpose(2, 0, 1)
        attn = attn + bias[None]
        if mask is not None:
            nw = mask.shape[0]
            # In attn's dtype: a float32 constant would promote a bfloat16 model back to float32 from here on.
            attn = attn.reshape(bw // nw, nw, self.num_heads, n, n) + jnp.asarray(mask, attn.dtype)[None, :, None]
            attn = attn.reshape(bw, self.num_heads, n, n)
        attn = jax.nn.softmax(attn, axis=-1)
        out = (attn @ v).transpose(0, 2, 1, 3).reshape(bw, n, c)
        return self.proj(out)


class SwinTransformerBlock(nnx.Module):
    def __init__(self, dim: int, num_heads: int, window: int, shift: int, mlp_ratio: float, qkv_bias: bool,
                 *, rngs: nnx.Rngs):
        self.window, self.shift = window, shift
        self.norm1 = _layer_norm(dim, rngs)
        self.attn = WindowAttention(dim, window, num_heads, qkv_bias, rngs=rngs)
        self.norm2 = _layer_norm(dim, rngs)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        b, h, w, c = x.shape
        y = self.norm1(x)
        if self.shift:
            y = jnp.roll(y, (-self.shift, -self.shift), axis=(1, 2))
        mask = shifted_window_mask(h, w, self.window, self.shift) if self.shift else None
        y = window_reverse(self.attn(window_partition(y, self.window), mask), self.window, h, w)
        if self.shift:
            y = jnp.roll(y, (self.shift, self.shift), axis=(1, 2))
        x = x + y
        return x + self.mlp(self.norm2(x))


class ConvBlock3(nnx.Module):
    """The official '3conv' residual connection: 3x3 -> LReLU -> 1x1 -> LReLU -> 3x3, at a quarter of the width."""

    def __init__(self, dim: int, *, rngs: nnx.Rngs):
        self.conv1 = _conv(dim, dim // 4, 3, rngs)
        self.conv2 = _conv(dim // 4, dim // 4, 1, rngs)
        self.conv3 = _conv(dim // 4, dim, 3, rngs)

    def __call__(self, x):
        act = leaky_relu(0.2)
        return self.conv3(act(self.conv2(act(self.conv1(x)))))


def _resi_conv(kind: str, dim: int, rngs: nnx.Rngs) -> nnx.Module:
    return _conv(dim, dim, 3, rngs) if kind == "1conv" else ConvBlock3(dim, rngs=rngs)


class ResidualGroup(nnx.Module):
    def __init__(self, blocks: Sequence[SwinTransformerBlock]):
        self.blocks = nnx.List(list(blocks))

    def __call__(self, x):
        for blk in self.blocks:
            x = blk(x)
        return x


class RSTB(nnx.Module):
    """Residual Swin Transformer Block: `depth` Swin blocks, a conv, and a skip connection."""

    def __init__(self, c: SwinIRConfig, depth: int, num_heads: int, *, rngs: nnx.Rngs):
        window = c.block_window
        shift = 0 if c.img_size <= c.window_size else c.window_size // 2
        self.residual_group = ResidualGroup([
            SwinTransformerBlock(c.embed_dim, num_heads, window, shift if i % 2 else 0, c.mlp_ratio, c.qkv_bias,
                                 rngs=rngs)
            for i in range(depth)])
        self.conv = _resi_conv(c.resi_connection, c.embed_dim, rngs)

    def __call__(self, x):
        return self.conv(self.residual_group(x)) + x


class PixelShuffleUpsample(nnx.Module):
    """The official `Upsample`: (conv to 4C, shuffle 2) per factor of 2, or one (conv to 9C, shuffle 3)."""

    def __init__(self, scale: int, dim: int, *, rngs: nnx.Rngs):
        steps = [3] if scale == 3 else [2] * int(math.log2(scale))
        self.factors = tuple(steps)
        self.convs = nnx.List([_conv(dim, f * f * dim, 3, rngs) for f in steps])

    def __call__(self, x):
        for conv, f in zip(self.convs, self.factors):
            x = pixel_shuffle(conv(x), f)
        return x


class SwinIR(nnx.Module):
    """SwinIR on NHWC input whose height and width are multiples of the window size (see `forward`)."""

    def __init__(self, config: SwinIRConfig, *, rngs: nnx.Rngs):
        c = self.config = config
        dim, cin = c.embed_dim, c.in_chans
        self.conv_first = _conv(cin, dim, 3, rngs)
        self.patch_embed_norm = _layer_norm(dim, rngs) if c.patch_norm else None
        self.layers = nnx.List([RSTB(c, d, h, rngs=rngs) for d, h in zip(c.depths, c.num_heads)])
        self.norm = _layer_norm(dim, rngs)
        self.conv_after_body = _resi_conv(c.resi_connection, dim, rngs)
        if c.upsampler == "pixelshuffle":
            self.conv_before_upsample = _conv(dim, NUM_FEAT, 3, rngs)
            self.upsample = PixelShuffleUpsample(c.upscale, NUM_FEAT, rngs=rngs)
            self.conv_last = _conv(NUM_FEAT, cin, 3, rngs)
        elif c.upsampler == "pixelshuffledirect":
            self.upsample_conv = _conv(dim, c.upscale ** 2 * cin, 3, rngs)
        elif c.upsampler == "nearest+conv":
            self.conv_before_upsample = _conv(dim, NUM_FEAT, 3, rngs)
            self.conv_up1 = _conv(NUM_FEAT, NUM_FEAT, 3, rngs)
            self.conv_up2 = _conv(NUM_FEAT, NUM_FEAT, 3, rngs) if c.upscale == 4 else None
            self.conv_hr = _conv(NUM_FEAT, NUM_FEAT, 3, rngs)
            self.conv_last = _conv(NUM_FEAT, cin, 3, rngs)
        else:
            self.conv_last = _conv(dim, cin, 3, rngs)

    def mean(self) -> jax.Array:
        return jnp.asarray(RGB_MEAN if self.config.in_chans == 3 else (0.0,), jnp.float32)

    def forward_features(self, x):
        if self.patch_embed_norm is not None:
            x = self.patch_embed_norm(x)
        for layer in self.layers:
            x = layer(x)
        return self.norm(x)

    def __call__(self, x: jax.Array) -> jax.Array:
        """x: [N, H, W, in_chans] in [0, 1], H and W multiples of the window; returns [N, sH, sW, in_chans] raw."""
        c = self.config
        mean = self.mean().astype(x.dtype)  # keeps bfloat16 input in bfloat16 (float32: unchanged)
        x = (x - mean) * c.img_range
        if c.upsampler == "":
            first = self.conv_first(x)
            x = x + self.conv_last(self.conv_after_body(self.forward_features(first)) + first)
        else:
            x = self.conv_first(x)
            x = self.conv_after_body(self.forward_features(x)) + x
            if c.upsampler == "pixelshuffle":
                x = jax.nn.leaky_relu(self.conv_before_upsample(x), 0.01)  # torch LeakyReLU default slope
                x = self.conv_last(self.upsample(x))
            elif c.upsampler == "pixelshuffledirect":
                x = pixel_shuffle(self.upsample_conv(x), c.upscale)
            else:
                act = leaky_relu(0.2)
                x = jax.nn.leaky_relu(self.conv_before_upsample(x), 0.01)
                x = act(self.conv_up1(upsample_nearest2x(x)))
                if self.conv_up2 is not None:
                    x = act(self.conv_up2(upsample_nearest2x(x)))
                x = self.conv_last(act(self.conv_hr(x)))
        return x / c.img_range + mean


# ----------------------------------------------------------------------------------------------------------------
# Padding around the network: any input size in, the same size (times the scale) out.

PAD_MODES = ("reflect", "testpad")


def pad_to_window(x: jax.Array, window: int, mode: str) -> jax.Array:
    """Pads [N, H, W, C] at the bottom/right so that H and W become window multiples.

    mode 'reflect': the official model's own `check_image_size` (reflect, no padding when already a multiple).
    mode 'testpad': the official `main_test_swinir.py` (flip-concatenate up to the next multiple, always >= 1 px).
    """
    _, h, w, _ = x.shape
    if mode == "reflect":
        ph, pw = (-h) % window, (-w) % window
        if ph or pw:
            x = jnp.pad(x, ((0, 0), (0, ph), (0, pw), (0, 0)), mode="reflect")
        return x
    if mode == "testpad":
        x = jnp.concatenate([x, jnp.flip(x, 1)], axis=1)[:, : (h // window + 1) * window]
        return jnp.concatenate([x, jnp.flip(x, 2)], axis=2)[:, :, : (w // window + 1) * window]
    raise ValueError(f"unknown pad mode {mode!r}; choose one of {PAD_MODES}")


def forward(model: SwinIR, x: jax.Array, pad: str = "reflect") -> jax.Array:
    """Any-size forward: [N, H, W, C] in [0, 1] -> raw [N, sH, sW, C], padding as `pad_to_window`."""
    c = model.config
    _, h, w, _ = x.shape
    y = model(pad_to_window(x, c.window_size, pad))
    return y[:, : h * c.upscale, : w * c.upscale]
