"""The degradation stage: (model input, target) pairs made from sharp images, by name.

Degradations by name: every stage that makes a model input from a sharp image (the training loaders, the teacher
cache, evaluate, mos prepare, the demo) calls `pair(name, hr, scale, mode, quantize=..., seed=...)`, and the name
comes from `config.data.degradation` or `--degradation` (default "bicubic", which is `jaxsharp.bicubic.bicubic_pair` exactly).
`DEGRADATIONS` maps names to functions; `get(name)` looks one up (one-line ValueError listing the names). Besides
"bicubic", the realistic ones (Gaussian / defocus / motion blur, noise, JPEG, H.264 / HEVC, the Real-ESRGAN and
BSRGAN chains: jaxsharp.degrade_realistic, its `pipelines` docstring lists them) are registered at the end of this
module.

Adding a degradation is one function plus one registration, here in this module's "Registered degradations"
section at the end (nothing else changes: the config key, the CLIs' --degradation and the cache manifest all read
the registry):

    @register("bicubic_noise")
    def bicubic_noise(hr, scale, mode, *, quantize, rng):
        lr, hr = bicubic_pair(hr, scale, "sr", quantize=quantize)
        lr = np.clip(lr + rng.normal(0.0, 5 / 255, lr.shape), 0.0, 1.0).astype(np.float32)
        return (lr if mode == "sr" else sharpen_input(lr, scale, quantize=quantize)), hr

The contract (`Degradation`): hr float32 HWC (or NHWC) in [0, 1], NumPy; return (model input, target) with target
= mod_crop(hr, scale) and the input [H/s, W/s] in mode "sr" (the lr a teacher sees) or [H, W] in mode "sharpen"
(what a sharpen student sees; `sharpen_input` upsamples an lr the way bicubic does), both float32 in [0, 1]. Draw
every random number from `rng`, a numpy Generator that `pair` makes from its `seed`: the loaders pass grain's
per-record generator, the teacher cache and evaluate `image_seed(name)`, so a pair is a function of (seed, image).
"""
from __future__ import annotations

import hashlib
from typing import Callable, Protocol

import numpy as np

# The MATLAB bicubic core lives in jaxsharp.bicubic (so the realistic degradations can build on it without an
# import cycle); re-exported here, where the pipeline's callers have always found it.
from jaxsharp.bicubic import (MODES, bicubic_pair, contributions, imresize, imresize_np,  # noqa: F401
                              mod_crop, resize_matrix, resize_plan, sharpen_input)


# ---------------------------------------------------------------------------------------------------------------
# The registry


class Degradation(Protocol):
    """(hr, scale, mode, *, quantize, rng) -> (model input, target); see the module docstring for the contract."""

    def __call__(self, hr: np.ndarray, scale: int, mode: str, *, quantize: bool,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]: ...


DEGRADATIONS: dict[str, Degradation] = {}
DEFAULT = "bicubic"


def register(name: str) -> Callable[[Degradation], Degradation]:
    """Decorator: registers a `Degradation` under `name` (a name registered twice is an error)."""

    def add(fn: Degradation) -> Degradation:
        if name in DEGRADATIONS:
            raise ValueError(f"degradation {name!r} is already registered")
        DEGRADATIONS[name] = fn
        return fn

    return add


def get(name: str) -> Degradation:
    """The registered degradation `name`; ValueError (one line, naming the registered ones) otherwise."""
    try:
        return DEGRADATIONS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown degradation {name!r}; registered: {', '.join(sorted(DEGRADATIONS))}") from None


def image_seed(name: str, seed: int = 0) -> int:
    """A seed for one image from its name (e.g. its path relative to the data root) and a run seed.

    Stable across processes and Python versions (sha256, not hash()), so the same image degrades the same way in
    every run, worker and host.
    """
    digest = hashlib.sha256(f"{int(seed)}|{name}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def pair(name: str, hr, scale: int, mode: str, *, quantize: bool = False,
         seed: int | np.random.Generator | None = None):
    """The (model input, target) pair of degradation `name` for one sharp image hr (float HWC / NHWC in [0, 1]).

    mode "sr" -> (lr [H/s, W/s], hr mod-cropped), "sharpen" -> (input [H, W], hr mod-cropped): the teacher cache
    asks for "sr" (the lr the teacher sees), a sharpen student's loader for "sharpen". quantize: uint8 levels as
    `bicubic_pair`. seed: an int, or a numpy Generator used (and advanced) as is; None is seed 0. Deterministic
    degradations ignore it ("bicubic" is `bicubic_pair(hr, scale, mode, quantize=quantize)` bit for bit).
    Raises ValueError for an unknown name or mode, or a degradation that returns the wrong shapes.
    """
    fn = get(name)
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; valid modes: {', '.join(MODES)}")
    scale = int(scale)
    if scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(0 if seed is None else seed)
    model_input, target = fn(hr, scale, mode, quantize=quantize, rng=rng)
    h, w = hr.shape[-3] - hr.shape[-3] % scale, hr.shape[-2] - hr.shape[-2] % scale
    side = (h // scale, w // scale) if mode == "sr" else (h, w)
    if tuple(target.shape[-3:-1]) != (h, w) or tuple(model_input.shape[-3:-1]) != side:
        raise ValueError(f"degradation {name!r} returned input {tuple(model_input.shape)} and target "
                         f"{tuple(target.shape)} for hr {tuple(hr.shape)} at x{scale} {mode}; expected "
                         f"{side} and {(h, w)}")
    return model_input, target


# ---------------------------------------------------------------------------------------------------------------
# Registered degradations (a new one: a function with the `Degradation` signature and @register("name"), here)


@register("bicubic")
def _bicubic(hr, scale: int, mode: str, *, quantize: bool, rng: np.random.Generator):
    """MATLAB bicubic down (and, in sharpen mode, back up): the literature's degradation and the default."""
    del rng  # deterministic
    return bicubic_pair(hr, scale, mode, quantize=quantize)


# The realistic degradations (issue 18: Gaussian / defocus / motion blur, noise, JPEG, H.264 / HEVC, and the
# Real-ESRGAN and BSRGAN chains), defined in jaxsharp/degrade_realistic/pipelines.py; its docstring lists the names.
# Imported here, at the end, because it builds on this module.
from jaxsharp.degrade_realistic import pipelines as _realistic  # noqa: E402

for _name, _fn in _realistic.DEGRADATIONS.items():
    register(_name)(_fn)
del _name, _fn
