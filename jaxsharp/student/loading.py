"""Trained students on disk and in use: `save` / `load` a directory of config.json + params.npz, `LoadedStudent`.

    model = jaxsharp.student.load("runs/small_x2/export")   # a directory written by `save`
    model = jaxsharp.student.load("student-small-x2")       # shipped: jaxsharp/assets/students/student-small-x2/
    y = model(x)                                            # x [N, H, W, 3] in [0, 1] -> raw output, not clipped
    y = model(x, tile=512)                                  # large frames in tiles (exact with the default overlap)

params.npz holds flat `path/to/leaf` keys (checkpoint.flat_params); it is read with allow_pickle=False, so loading
never executes code from the file. The directory is written under a temporary name and renamed into place, so a
reader never sees a half-written student.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import zipfile

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jaxsharp import atomic
from jaxsharp.checkpoint import flat_params, flat_state, load_flat_params
from jaxsharp.student.config import StudentConfig
from jaxsharp.student.model import Student, abstract
from jaxsharp.tiling import tiled_apply

CONFIG_FILE = "config.json"
PARAMS_FILE = "params.npz"
SHIPPED_DIR = pathlib.Path(__file__).resolve().parent.parent / "assets" / "students"
_SHIPPED_NAME = re.compile(r"^student[-_][a-z0-9]+[-_]x\d+([-_][a-z0-9]+)*$")


class LoadedStudent:
    """A student with its parameters split out, so that `apply` is a pure function of (params, x)."""

    def __init__(self, model: Student, *, source: str = "", meta: dict | None = None):
        self.config: StudentConfig = model.config
        self.source = source
        self.meta = dict(meta or {})
        self.graphdef, self.params = nnx.split(model, nnx.Param)
        self._apply_jit = jax.jit(self.apply)

    @property
    def scale(self) -> int:
        return self.config.scale

    @property
    def mode(self) -> str:
        return self.config.mode

    def apply(self, params, x: jax.Array) -> jax.Array:
        """Pure forward, see `Student.__call__` for shapes (sharpen: H, W must be multiples of the scale)."""
        return nnx.merge(self.graphdef, params)(x)

    def default_overlap(self) -> int:
        """Tile overlap (input pixels) whose dropped quarter covers the receptive radius: tiled == whole image."""
        overlap = 4 * self.config.receptive_radius
        step = self.config.block
        return -(-overlap // step) * step

    def __call__(self, x, *, tile: int | None = None, overlap: int | None = None) -> jax.Array:
        """x [N, H, W, 3] float in [0, 1] -> [N, H, W, 3] (sharpen) or [N, sH, sW, 3] (sr), raw (not clipped).

        sharpen mode accepts any H, W: the frame is reflect-padded to a multiple of the block and the output cropped.
        tile: run in tiles of this many input pixels (compiles once per tile shape); overlap None = the exact one.
        """
        x = jnp.asarray(x, jnp.float32)
        if x.ndim != 4 or x.shape[-1] != 3:
            raise ValueError(f"student input must be [N, H, W, 3], got shape {tuple(x.shape)}")
        h, w = x.shape[1], x.shape[2]
        s = self.config.out_block
        if self.mode == "sharpen":
            pad_h, pad_w = -h % s, -w % s
            if pad_h or pad_w:
                x = jnp.pad(x, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="reflect")
            if tile is not None:
                tile = -(-tile // s) * s  # space-to-depth blocks must line up across tiles
        if overlap is None:
            overlap = self.default_overlap()
        elif self.mode == "sharpen":
            overlap = -(-overlap // s) * s
        if tile is None or (tile >= x.shape[1] and tile >= x.shape[2]):
            y = self._apply_jit(self.params, x)
        else:
            if tile <= overlap:
                raise ValueError(f"tile {tile} must be larger than the overlap {overlap} (this student's exact "
                                 f"overlap is {self.default_overlap()} input pixels)")
            out_scale = 1 if self.mode == "sharpen" else s
            y = jnp.asarray(tiled_apply(lambda t: self._apply_jit(self.params, t), x, tile=tile, overlap=overlap,
                                        scale=out_scale))
        return y[:, :h, :w] if self.mode == "sharpen" else y


def _as_flat(model_or_params) -> dict[str, np.ndarray]:
    if isinstance(model_or_params, LoadedStudent):
        model_or_params = nnx.merge(model_or_params.graphdef, model_or_params.params)
    if isinstance(model_or_params, nnx.Module):
        return flat_params(model_or_params)
    if isinstance(model_or_params, nnx.State):
        return flat_state(model_or_params)
    if isinstance(model_or_params, dict):
        return {str(k): np.asarray(v) for k, v in model_or_params.items()}
    raise TypeError(f"cannot save a {type(model_or_params).__name__}: pass a Student, LoadedStudent, nnx.State "
                    "of its params or a flat dict")


def save(directory: str | os.PathLike, model_or_params, config: StudentConfig, *, extra_meta: dict | None = None,
         overwrite: bool = False) -> pathlib.Path:
    """Writes `directory`/config.json + params.npz; the parameters are checked against `config` first.

    model_or_params: a Student, a LoadedStudent, an nnx.State of its params, or a flat {"head/kernel": array} dict.
    extra_meta: JSON-able facts to keep beside the config (training run, data, metrics). The directory is built under
    a temporary name and renamed into place; an existing one is replaced only with overwrite=True.
    """
    directory = pathlib.Path(directory).resolve()
    flat = {k: np.asarray(v, np.float32) for k, v in _as_flat(model_or_params).items()}
    load_flat_params(abstract(config), flat, source=f"save({directory})")  # refuse to write an unloadable student
    meta = {**config.to_dict(), "meta": dict(extra_meta or {})}
    text = json.dumps(meta, indent=2, sort_keys=True)  # before any file is written: a non-JSON meta fails here
    with atomic.directory(directory, overwrite=overwrite) as tmp:
        (tmp / CONFIG_FILE).write_text(text + "\n")
        with open(tmp / PARAMS_FILE, "wb") as f:
            np.savez(f, **flat)
            f.flush()
            os.fsync(f.fileno())
    return directory


def shipped_names() -> list[str]:
    """Names of the students shipped in jaxsharp/assets/students (each a saved student directory)."""
    if not SHIPPED_DIR.is_dir():
        return []
    return sorted(p.name for p in SHIPPED_DIR.iterdir() if (p / CONFIG_FILE).is_file())


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-")


def resolve(name_or_path: str | os.PathLike) -> pathlib.Path:
    """The student directory for a path, or for a shipped name such as 'student-small-x2' / 'student_small_x2'."""
    path = pathlib.Path(name_or_path)
    if path.is_dir():
        return path
    name = str(name_or_path)
    if _SHIPPED_NAME.match(name.lower()):
        matches = [n for n in shipped_names() if _canonical(n) == _canonical(name)]
        if matches:
            return SHIPPED_DIR / matches[0]
        available = ", ".join(shipped_names()) or "none"
        raise FileNotFoundError(f"no shipped student named {name!r}; available: {available}")
    raise FileNotFoundError(f"{path}: no such student directory (and not a shipped name like 'student-small-x2'; "
                            f"available: {', '.join(shipped_names()) or 'none'})")


def read_config(directory: pathlib.Path) -> tuple[StudentConfig, dict]:
    config_file = directory / CONFIG_FILE
    if not config_file.is_file():
        raise FileNotFoundError(f"{config_file}: missing (not a saved student directory)")
    try:
        data = json.loads(config_file.read_text())
        return StudentConfig.from_dict(data), dict(data.get("meta") or {})
    except (ValueError, TypeError, UnicodeDecodeError) as e:
        raise ValueError(f"{config_file}: not a valid student config ({e})") from None


def read_params(params_file: pathlib.Path) -> dict[str, np.ndarray]:
    if not params_file.is_file():
        raise FileNotFoundError(f"{params_file}: missing student weights")
    try:
        with np.load(params_file, allow_pickle=False) as npz:
            return {k: np.asarray(npz[k]) for k in npz.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as e:
        raise ValueError(f"{params_file}: corrupt or unreadable student weights ({type(e).__name__}: {e})") from None


def load(name_or_path: str | os.PathLike) -> LoadedStudent:
    """Loads a student saved by `save` (a directory) or shipped with jaxsharp (a name like 'student-small-x2').

    Raises FileNotFoundError / ValueError with one line naming the missing or bad file.
    """
    directory = resolve(name_or_path)
    config, meta = read_config(directory)
    params_file = directory / PARAMS_FILE
    model = abstract(config)  # shapes only: the weights come from the file
    load_flat_params(model, read_params(params_file), source=str(params_file))
    return LoadedStudent(model, source=str(directory), meta=meta)
