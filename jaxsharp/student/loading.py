"""Trained students on disk and in use: `save` / `load` a directory of config.json + params.npz, `LoadedStudent`.

    model = jaxsharp.student.load("runs/small_x2/export")   # a directory written by `save` (shipped ones by name:
                                                            # jaxsharp.models.load("student_small_x2"))
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
import zipfile

import numpy as np
from flax import nnx

from jaxsharp import atomic
from jaxsharp.checkpoint import flat_params, flat_state, load_flat_params
from jaxsharp.loaded_model import LoadedModel, TrainingSpec
from jaxsharp.student.config import SIZES, StudentConfig
from jaxsharp.student.model import Student, abstract, build

CONFIG_FILE = "config.json"
PARAMS_FILE = "params.npz"


class ConvStudent(LoadedModel):
    """What every conv-stack student family shares once loaded: scale, mode, block and receptive radius are its
    config's (`StudentConfig`, `ReparamConfig`: the same four fields)."""

    role = "student"

    @property
    def scale(self) -> int:
        return self.config.scale

    @property
    def mode(self) -> str:
        return self.config.mode

    @property
    def block(self) -> int:
        return self.config.block

    @property
    def receptive_radius(self) -> int:
        return self.config.receptive_radius


class LoadedStudent(ConvStudent):
    """A student with its parameters split out, so that `apply` is a pure function of (params, x); the interface
    is `jaxsharp.loaded_model.LoadedModel`'s."""

    family = "student"

    def __init__(self, model: Student, *, source: str = "", meta: dict | None = None):
        super().__init__(model, source=source, meta=meta)
        self.config: StudentConfig = model.config


def flat_weights(model_or_params) -> dict[str, np.ndarray]:
    """A module, a loaded model, an nnx.State of params or a flat dict -> flat {"head/kernel": array}."""
    if isinstance(model_or_params, LoadedModel):
        model_or_params = nnx.merge(model_or_params.graphdef, model_or_params.params)
    if isinstance(model_or_params, nnx.Module):
        return flat_params(model_or_params)
    if isinstance(model_or_params, nnx.State):
        return flat_state(model_or_params)
    if isinstance(model_or_params, dict):
        return {str(k): np.asarray(v) for k, v in model_or_params.items()}
    raise TypeError(f"cannot save a {type(model_or_params).__name__}: pass the model, its loaded form, an "
                    "nnx.State of its params or a flat dict")


def write_saved(directory: str | os.PathLike, flat: dict, config, abstract_model: nnx.Module, *,
                extra_meta: dict | None = None, overwrite: bool = False) -> pathlib.Path:
    """Writes `directory`/config.json ({**config.to_dict(), "meta": extra_meta}) + params.npz of `flat`, after
    checking `flat` loads into `abstract_model`. Built under a temporary name and renamed into place; an existing
    directory is replaced only with overwrite=True. Any conv-student family's `save` ends here."""
    directory = pathlib.Path(directory).resolve()
    flat = {k: np.asarray(v, np.float32) for k, v in flat.items()}
    load_flat_params(abstract_model, flat, source=f"save({directory})")  # refuse to write an unloadable student
    meta = {**config.to_dict(), "meta": dict(extra_meta or {})}
    text = json.dumps(meta, indent=2, sort_keys=True)  # before any file is written: a non-JSON meta fails here
    with atomic.directory(directory, overwrite=overwrite) as tmp:
        (tmp / CONFIG_FILE).write_text(text + "\n")
        with open(tmp / PARAMS_FILE, "wb") as f:
            np.savez(f, **flat)
            f.flush()
            os.fsync(f.fileno())
    return directory


def save(directory: str | os.PathLike, model_or_params, config: StudentConfig, *, extra_meta: dict | None = None,
         overwrite: bool = False) -> pathlib.Path:
    """Writes `directory`/config.json + params.npz; the parameters are checked against `config` first.

    model_or_params: a Student, a LoadedStudent, an nnx.State of its params, or a flat {"head/kernel": array} dict.
    extra_meta: JSON-able facts to keep beside the config (training run, data, metrics). The directory is built under
    a temporary name and renamed into place; an existing one is replaced only with overwrite=True.
    """
    return write_saved(directory, flat_weights(model_or_params), config, abstract(config), extra_meta=extra_meta,
                       overwrite=overwrite)


def read_config(directory: pathlib.Path, from_dict=StudentConfig.from_dict, what: str = "student") -> tuple:
    """(config, meta) of a saved directory; `from_dict` parses the config (the family's)."""
    config_file = directory / CONFIG_FILE
    if not config_file.is_file():
        raise FileNotFoundError(f"{config_file}: missing (not a saved student directory)")
    try:
        data = json.loads(config_file.read_text())
        return from_dict(data), dict(data.get("meta") or {})
    except (ValueError, TypeError, UnicodeDecodeError) as e:
        raise ValueError(f"{config_file}: not a valid {what} config ({e})") from None


def read_params(params_file: pathlib.Path) -> dict[str, np.ndarray]:
    if not params_file.is_file():
        raise FileNotFoundError(f"{params_file}: missing student weights")
    try:
        with np.load(params_file, allow_pickle=False) as npz:
            return {k: np.asarray(npz[k]) for k in npz.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as e:
        raise ValueError(f"{params_file}: corrupt or unreadable student weights ({type(e).__name__}: {e})") from None


def load_saved(path: str | os.PathLike, *, from_dict, abstract_of, loaded_cls, what: str):
    """A saved conv-student directory -> `loaded_cls(model)`: the config parsed by `from_dict`, the shapes from
    `abstract_of(config)`, the weights from params.npz (read with allow_pickle=False). One-line errors."""
    directory = pathlib.Path(path)
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory}: no such student directory")
    config, meta = read_config(directory, from_dict, what)
    params_file = directory / PARAMS_FILE
    model = abstract_of(config)  # shapes only: the weights come from the file
    load_flat_params(model, read_params(params_file), source=str(params_file))
    return loaded_cls(model, source=str(directory), meta=meta)


def load(path: str | os.PathLike) -> LoadedStudent:
    """Loads a student saved by `save` (a directory; shipped ones by name: `jaxsharp.models.load`).

    Raises FileNotFoundError / ValueError with one line naming the missing or bad file.
    """
    return load_saved(path, from_dict=StudentConfig.from_dict, abstract_of=abstract, loaded_cls=LoadedStudent,
                      what="student")


def training_spec(config) -> TrainingSpec:
    """The trainer's view of config.model.kind "student": StudentConfig.from_size(config.model.student["size"],
    scale=data.scale, mode=data.mode, **the other config.model.student fields)."""
    fields = dict(config.model.student)
    size = fields.pop("size")
    if size not in SIZES:
        raise ValueError(f"unknown model.student.size {size!r}; registered sizes: {', '.join(SIZES)}")
    student_config = StudentConfig.from_size(size, scale=config.data.scale, mode=config.data.mode, **fields)
    return TrainingSpec(
        build=lambda rngs: build(student_config, rngs=rngs),
        forward=lambda model, x: model(x),
        export=lambda directory, model: save(directory, model, student_config, overwrite=True),
        loaded=LoadedStudent,
        name="student",
    )
