"""The SwinIR teacher: `load(path)` returns a callable model on NHWC float32 images in [0, 1].

    model = jaxsharp.teacher.load("weights/swinir_s_x2")      # a directory written by `jaxsharp port X.pth --out DIR`
    model = jaxsharp.port.swinir_torch.load_teacher("002_lightweightSR_DIV2K_s64w8_SwinIR-S_x2.pth")  # .pth / .npz
    model = jaxsharp.models.load("teacher")                    # any model by name or path (shipped: swinir_s_x2)
    y = model(x)                                               # x [N, H, W, C] -> raw [N, sH, sW, C], not clamped
    y = model(x, tile=256, overlap=32)                         # large images, tiled and blended

`model.apply(model.params, x)` is the pure function behind it, for jit / vmap / sharding by the caller.
"""

from __future__ import annotations

import json
import os
import pathlib

import jax
import numpy as np
from flax import nnx

from jaxsharp import atomic
from jaxsharp.checkpoint import flat_params as flat_params_of, load_flat_params, restore_params, save_params
from jaxsharp.loaded_model import LoadedModel, TrainingSpec
from jaxsharp.teacher.swinir import PAD_MODES, SwinIR, SwinIRConfig, forward

__all__ = ["Teacher", "load", "save", "SwinIR", "SwinIRConfig"]


class Teacher(LoadedModel):
    """A SwinIR model with its parameters split out, so that `apply` is a pure function of (params, x); the
    interface is `jaxsharp.loaded_model.LoadedModel`'s (an sr model with an unbounded receptive field)."""

    family = "swinir"
    role = "teacher"

    def __init__(self, model: SwinIR, *, pad: str = "reflect", source: str = ""):
        if pad not in PAD_MODES:
            raise ValueError(f"unknown pad mode {pad!r}; choose one of {PAD_MODES}")
        super().__init__(model, source=source)
        self.config: SwinIRConfig = model.config
        self.pad = pad

    @property
    def scale(self) -> int:
        return self.config.upscale

    @property
    def mode(self) -> str:
        return "sr"

    @property
    def in_chans(self) -> int:
        return self.config.in_chans

    def describe(self) -> dict:
        return {**super().describe(), "pad": self.pad}

    def apply(self, params, x: jax.Array) -> jax.Array:
        """Pure forward: x [N, H, W, C] float32 in [0, 1] (any H, W) -> raw output [N, sH, sW, C]."""
        return forward(nnx.merge(self.graphdef, params), x, self.pad)


def training_spec(config) -> TrainingSpec:
    """The trainer's view of config.model.kind "swinir": SwinIR(**config.model.swinir) trained from scratch, sr mode
    at its own upscale."""
    swinir_config = SwinIRConfig(**config.model.swinir)
    scale, mode = config.data.scale, config.data.mode
    if swinir_config.upscale != scale or mode != "sr":
        raise ValueError(f"a SwinIR model is trained in sr mode at its own upscale; got data.mode={mode!r}, "
                         f"data.scale={scale}, model.swinir.upscale={swinir_config.upscale}")
    return TrainingSpec(
        build=lambda rngs: SwinIR(swinir_config, rngs=rngs),
        forward=lambda model, x: forward(model, x),
        export=lambda directory, model: save(directory, swinir_config, flat_params_of(model), overwrite=True),
        loaded=Teacher,
        name="teacher",
    )


def build(config: SwinIRConfig, flat_params: dict[str, np.ndarray], *, pad: str = "reflect",
          source: str = "") -> Teacher:
    if pad not in PAD_MODES:
        raise ValueError(f"unknown pad mode {pad!r}; choose one of {PAD_MODES}")
    model = nnx.eval_shape(lambda: SwinIR(config, rngs=nnx.Rngs(0)))  # shapes only: weights come from the file
    load_flat_params(model, flat_params, source=source)
    return Teacher(model, pad=pad, source=source)


def save(directory: str | os.PathLike, config: SwinIRConfig, flat_params: dict[str, np.ndarray], *,
         overwrite: bool = False, **meta) -> pathlib.Path:
    """Writes a directory `load` reads: orbax `params/` + `config.json` ({"model": "swinir", "config": ..., **meta}).

    The directory is built under a temporary name and renamed, so it appears complete or not at all; an existing
    one is replaced only with overwrite=True.
    """
    meta_json = {"model": "swinir", "config": config.to_json_dict(), **meta}
    with atomic.directory(directory, overwrite=overwrite) as tmp:
        save_params(tmp / "params", flat_params)
        (tmp / "config.json").write_text(json.dumps(meta_json, indent=2) + "\n")
    return pathlib.Path(directory)


def load(path: str | os.PathLike, *, pad: str = "reflect", **overrides) -> Teacher:
    """Loads a ported teacher directory (`save`'s output: orbax `params/` + `config.json`).

    `overrides` replace config fields (e.g. img_range=255.0). An official `.pth` or a `.npz` keyed by PyTorch names
    is read by `jaxsharp.port.swinir_torch.load_teacher` (this package never imports the port: no import cycle).
    """
    path = pathlib.Path(path)
    if not path.is_dir():
        if path.is_file() or path.suffix in (".pth", ".pt", ".npz"):
            raise ValueError(f"{path}: a weights file, not a ported teacher directory; read it with "
                             "jaxsharp.port.swinir_torch.load_teacher, or convert it with "
                             f"`jaxsharp port {path} --out DIR`")
        raise FileNotFoundError(f"{path}: no such ported teacher directory")
    meta_file = path / "config.json"
    if not meta_file.is_file():
        raise FileNotFoundError(f"{path}: not a ported teacher directory (no config.json)")
    meta = json.loads(meta_file.read_text())
    if meta.get("model") != "swinir":
        raise ValueError(f"{meta_file}: model {meta.get('model')!r} is not 'swinir'")
    config = SwinIRConfig(**{**meta["config"], **overrides})
    return build(config, restore_params(path / "params"), pad=pad, source=str(path))
