"""What every runnable model is: the interface a teacher or student meets once loaded, whatever its family.

    model = jaxsharp.models.load("student-small")   # any family, by name or path (jaxsharp/models.py)
    y = model(x)                                    # x [N, H, W, 3] float32 in [0, 1] -> raw output, not clipped
    y = model(x, tile=512)                          # large frames in tiles (jaxsharp.engine, the one tiling path)
    y = model.apply(model.params, x)                # the pure function, for jit / vmap / sharding by the caller

A `LoadedModel` holds an nnx module split into a graph and its parameters, and says:
- scale and mode: "sr" maps an image to one `scale` times larger, "sharpen" keeps the size;
- block: input height and width must be multiples of it (a sharpen student's space-to-depth block; 1 otherwise);
- receptive_radius: how far (input pixels) an output pixel sees, or None when it is unbounded (SwinIR's shifted
  windows): tiles are then an approximation and need an overlap chosen by hand;
- num_params, source (where it was loaded from), meta (facts saved beside it) and `describe()` (JSON-able).

One padding rule, for every caller (evaluate, `jaxsharp sharpen`, the Python API, the demo, MOS stimuli): frames
are extended at the bottom and right by mirroring with the edge pixel repeated (`engine.pad_frames`, MATLAB's boundary
rule), to a multiple of `block` at least, and the output is cropped back. `jaxsharp.engine.Sharpener` applies it;
`__call__` goes through the engine too, so the numbers evaluate publishes are the numbers users get.
"""

from __future__ import annotations

import dataclasses
import pathlib
from typing import Any, Callable

import jax
import numpy as np
from flax import nnx

@dataclasses.dataclass
class TrainingSpec:
    """What the training loop needs from a family: build, forward to HR size, export in the shipped format."""

    build: Callable[[nnx.Rngs], nnx.Module]
    forward: Callable[[nnx.Module, jax.Array], jax.Array]  # model input NHWC -> output at HR size (raw)
    export: Callable[[pathlib.Path, nnx.Module], Any]  # writes (or replaces) a directory `models.load` reads
    loaded: Callable[[nnx.Module], "LoadedModel"]  # the trained module as the family's LoadedModel (evaluation)
    name: str  # the role, for metric rows ("student" / "teacher")


class LoadedModel:
    """A model with its parameters split out, so that `apply` is a pure function of (params, x). Subclassed by
    each family (jaxsharp.student.LoadedStudent, jaxsharp.teacher.Teacher), which fill in the geometry."""

    family: str = ""  # the registered family name (jaxsharp.models)
    role: str = ""  # "student" or "teacher"

    def __init__(self, module: nnx.Module, *, source: str = "", meta: dict | None = None):
        self.config = module.config
        self.source = str(source)
        self.meta = dict(meta or {})
        self.graphdef, self.params = nnx.split(module, nnx.Param)
        self._engines: dict = {}

    # -- geometry, per family --

    @property
    def scale(self) -> int:
        raise NotImplementedError

    @property
    def mode(self) -> str:
        raise NotImplementedError

    @property
    def block(self) -> int:
        return 1

    @property
    def receptive_radius(self) -> int | None:
        return None

    @property
    def in_chans(self) -> int:
        return 3

    @property
    def num_params(self) -> int:
        return int(sum(np.prod(a.shape) for a in jax.tree.leaves(self.params)))

    def describe(self) -> dict:
        """JSON-able identity: family, source, scale, mode, parameters and the config's fields."""
        config = dataclasses.asdict(self.config) if dataclasses.is_dataclass(self.config) else repr(self.config)
        return {"family": self.family, "source": self.source, "scale": self.scale, "mode": self.mode,
                "num_params": self.num_params, "config": config}

    # -- running --

    def apply(self, params, x: jax.Array) -> jax.Array:
        """Pure forward: x [N, H, W, C] float in [0, 1], H and W multiples of `block` -> raw output."""
        return nnx.merge(self.graphdef, params)(x)

    def default_overlap(self) -> int | None:
        """Tile overlap (input pixels) whose dropped quarter covers the receptive radius (tiled == whole image);
        None when the receptive field is unbounded."""
        r = self.receptive_radius
        return None if r is None else -(-4 * r // self.block) * self.block

    def __call__(self, x, *, tile: int | None = None, overlap: int | None = None) -> jax.Array:
        """x [N, H, W, C] float in [0, 1], any H, W -> raw output [N, H, W, C] (sharpen) or [N, sH, sW, C] (sr).

        Padded by the one rule (module docstring) to the block; tile: run in tiles of this many input pixels
        (overlap None: the exact one, or 32 for an unbounded receptive field).
        """
        from jaxsharp.engine import Sharpener

        x = np.asarray(x, np.float32)
        if x.ndim != 4 or x.shape[-1] != self.in_chans:
            raise ValueError(f"{self.role or 'model'} input must be [N, H, W, {self.in_chans}], "
                             f"got shape {tuple(x.shape)}")
        # Tiles run 4 to a call (as many as the frames when more), whole frames all at once. An engine compiles once
        # per input shape and is kept per (batch, tile, overlap), as a jitted function keeps one per shape.
        tiled = tile is not None and (tile < x.shape[1] or tile < x.shape[2])
        batch = max(x.shape[0], 4) if tiled else x.shape[0]
        key = (id(self.params), batch, tile, overlap)
        engine = self._engines.pop(key, None)
        if engine is None:
            engine = Sharpener(self, mode=self.mode, batch=batch, bucket=self.block, tile=tile, overlap=overlap,
                               auto_tile=False, clip=False)
        self._engines[key] = engine
        while len(self._engines) > 8:
            self._engines.pop(next(iter(self._engines)))
        return jax.numpy.asarray(np.stack(engine.run_bucket(list(x))))
