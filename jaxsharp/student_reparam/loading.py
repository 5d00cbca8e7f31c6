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

import os
import pathlib

from jaxsharp.loaded_model import TrainingSpec
from jaxsharp.student.loading import ConvStudent, flat_weights, load_saved, write_saved
from jaxsharp.student_reparam.config import SIZES, ReparamConfig
from jaxsharp.student_reparam.model import CollapsedStudent, ReparamStudent, abstract, build, collapse_student


class LoadedReparamStudent(ConvStudent):
    """A collapsed re-parameterised student with its parameters split out (`apply` is pure); the interface is
    `jaxsharp.loaded_model.LoadedModel`'s. A ReparamStudent (training form) is collapsed on the way in."""

    family = "reparam"

    def __init__(self, model: CollapsedStudent | ReparamStudent, *, source: str = "", meta: dict | None = None):
        if isinstance(model, ReparamStudent):
            model = collapse_student(model)
        super().__init__(model, source=source, meta=meta)
        self.config: ReparamConfig = model.config


def save(directory: str | os.PathLike, model_or_params, config: ReparamConfig, *, extra_meta: dict | None = None,
         overwrite: bool = False) -> pathlib.Path:
    """Writes `directory`/config.json + params.npz of the collapsed network; checked against `config` first.

    model_or_params: a ReparamStudent (collapsed here), a CollapsedStudent, a LoadedReparamStudent, an nnx.State of
    collapsed params, or a flat {"head/kernel": array} dict. extra_meta: JSON-able facts kept beside the config.
    An existing directory is replaced only with overwrite=True.
    """
    if isinstance(model_or_params, ReparamStudent):
        model_or_params = collapse_student(model_or_params)
    return write_saved(directory, flat_weights(model_or_params), config, abstract(config), extra_meta=extra_meta,
                       overwrite=overwrite)


def load(path: str | os.PathLike) -> LoadedReparamStudent:
    """Loads a student saved by `save` (a directory). Raises FileNotFoundError / ValueError naming the bad file."""
    return load_saved(path, from_dict=ReparamConfig.from_dict, abstract_of=abstract, loaded_cls=LoadedReparamStudent,
                      what="reparam student")


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
