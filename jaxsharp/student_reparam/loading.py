"""Re-parameterised students on disk and in use: `save` / `load` the *collapsed* network (config.json +
params.npz of plain convs), `LoadedReparamStudent`, and the trainer's `training_spec`.

    save("runs/m5/export", trained, config)          # a ReparamStudent is collapsed first; what is written is
                                                     # head, body/i, tail (kernel, bias) and act/i/slope only
    model = jaxsharp.models.load("runs/m5/export")   # config.json's "model" names the family
    y = model(x, tile=512)                           # the engine: padding, tiling, batching as for any model

The saved config keeps the training fields (expand, edge_branches) as a record of how the weights were made; the
collapsed network depends only on the others. Files are read with allow_pickle=False and written atomically, as
the plain student's (jaxsharp.student.loading).
"""

from __future__ import annotations

import json
import os
import pathlib

import numpy as np
from flax import nnx

from jaxsharp import atomic
from jaxsharp.checkpoint import flat_params, flat_state, load_flat_params
from jaxsharp.loaded_model import LoadedModel, TrainingSpec
from jaxsharp.student.loading import read_params
from jaxsharp.student_reparam.config import SIZES, ReparamConfig
from jaxsharp.student_reparam.model import CollapsedStudent, ReparamStudent, abstract, build, collapse_student

CONFIG_FILE = "config.json"
PARAMS_FILE = "params.npz"


class LoadedReparamStudent(LoadedModel):
    """A collapsed re-parameterised student with its parameters split out (`apply` is pure); the interface is
    `jaxsharp.loaded_model.LoadedModel`'s. A ReparamStudent (training form) is collapsed on the way in."""

    family = "reparam"
    role = "student"

    def __init__(self, model: CollapsedStudent | ReparamStudent, *, source: str = "", meta: dict | None = None):
        if isinstance(model, ReparamStudent):
            model = collapse_student(model)
        super().__init__(model, source=source, meta=meta)
        self.config: ReparamConfig = model.config

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


def _as_flat(model_or_params) -> dict[str, np.ndarray]:
    if isinstance(model_or_params, LoadedReparamStudent):
        model_or_params = nnx.merge(model_or_params.graphdef, model_or_params.params)
    if isinstance(model_or_params, ReparamStudent):
        model_or_params = collapse_student(model_or_params)
    if isinstance(model_or_params, nnx.Module):
        return flat_params(model_or_params)
    if isinstance(model_or_params, nnx.State):
        return flat_state(model_or_params)
    if isinstance(model_or_params, dict):
        return {str(k): np.asarray(v) for k, v in model_or_params.items()}
    raise TypeError(f"cannot save a {type(model_or_params).__name__}: pass a ReparamStudent (collapsed here), a "
                    "CollapsedStudent, a LoadedReparamStudent, an nnx.State of collapsed params or a flat dict")


def save(directory: str | os.PathLike, model_or_params, config: ReparamConfig, *, extra_meta: dict | None = None,
         overwrite: bool = False) -> pathlib.Path:
    """Writes `directory`/config.json + params.npz of the collapsed network; checked against `config` first.

    model_or_params: a ReparamStudent (collapsed here), a CollapsedStudent, a LoadedReparamStudent, an nnx.State of
    collapsed params, or a flat {"head/kernel": array} dict. extra_meta: JSON-able facts kept beside the config.
    An existing directory is replaced only with overwrite=True.
    """
    directory = pathlib.Path(directory).resolve()
    flat = {k: np.asarray(v, np.float32) for k, v in _as_flat(model_or_params).items()}
    load_flat_params(abstract(config), flat, source=f"save({directory})")  # refuse to write an unloadable student
    text = json.dumps({**config.to_dict(), "meta": dict(extra_meta or {})}, indent=2, sort_keys=True)
    with atomic.directory(directory, overwrite=overwrite) as tmp:
        (tmp / CONFIG_FILE).write_text(text + "\n")
        with open(tmp / PARAMS_FILE, "wb") as f:
            np.savez(f, **flat)
            f.flush()
            os.fsync(f.fileno())
    return directory


def read_config(directory: pathlib.Path) -> tuple[ReparamConfig, dict]:
    config_file = directory / CONFIG_FILE
    if not config_file.is_file():
        raise FileNotFoundError(f"{config_file}: missing (not a saved student directory)")
    try:
        data = json.loads(config_file.read_text())
        return ReparamConfig.from_dict(data), dict(data.get("meta") or {})
    except (ValueError, TypeError, UnicodeDecodeError) as e:
        raise ValueError(f"{config_file}: not a valid reparam student config ({e})") from None


def load(path: str | os.PathLike) -> LoadedReparamStudent:
    """Loads a student saved by `save` (a directory). Raises FileNotFoundError / ValueError naming the bad file."""
    directory = pathlib.Path(path)
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory}: no such student directory")
    config, meta = read_config(directory)
    params_file = directory / PARAMS_FILE
    model = abstract(config)
    load_flat_params(model, read_params(params_file), source=str(params_file))
    return LoadedReparamStudent(model, source=str(directory), meta=meta)


def student_config(config) -> ReparamConfig:
    """config.model.reparam -> ReparamConfig.from_size(size, scale=data.scale, mode=data.mode, **other fields)."""
    fields = dict(config.model.reparam)
    size = fields.pop("size")
    if size not in SIZES:
        raise ValueError(f"unknown model.reparam.size {size!r}; registered sizes: {', '.join(SIZES)}")
    return ReparamConfig.from_size(size, scale=config.data.scale, mode=config.data.mode, **fields)


def training_spec(config) -> TrainingSpec:
    """The trainer's view of config.model.kind "reparam": builds the expanded ReparamStudent, forwards it with the
    per-step collapse, evaluates and exports the collapsed network."""
    reparam_config = student_config(config)
    return TrainingSpec(
        build=lambda rngs: build(reparam_config, rngs=rngs),
        forward=lambda model, x: model(x),
        export=lambda directory, model: save(directory, model, reparam_config, overwrite=True),
        loaded=LoadedReparamStudent,
        name="student",
    )
