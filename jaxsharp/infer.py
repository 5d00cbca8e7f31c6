"""Sharpening in memory: `jaxsharp.sharpen(images)`, batched and compiled once per shape bucket.

    out = jaxsharp.sharpen(images, model="student-small", batch=8)   # list of HWC or NHWC, float [0, 1]
    out = jaxsharp.sharpen(images, model=jaxsharp.models.load("teacher"), mode="sr")
    out = jaxsharp.sharpen(images, model="student-tiny", backend="onnxruntime")   # the ONNX graph in onnxruntime

The engine behind it (padding, buckets, tiles, mode adapters) is `jaxsharp.engine.Sharpener`; files, folders and
videos are `jaxsharp sharpen` (jaxsharp/sharpen_cli.py; `python -m jaxsharp.infer` is the same command).
"""

from __future__ import annotations

import collections
import functools
import os
import sys

import jax
import numpy as np

from jaxsharp import models
from jaxsharp.engine import DEFAULT_BATCH, DEFAULT_BUCKET, Sharpener

DEFAULT_MODEL = models.DEFAULT_STUDENT


@functools.lru_cache(maxsize=4)
def _named_model(name: str, scale: int | None, mode: str):
    return models.load(name, scale=scale, mode=mode)


_ENGINES: collections.OrderedDict = collections.OrderedDict()
_MAX_ENGINES = 8


def _engine(model, **settings) -> Sharpener:
    key = (id(model), tuple(sorted(settings.items())))
    engine = _ENGINES.pop(key, None)
    if engine is None:
        engine = Sharpener(model, **settings)  # holds `model`, so its id is not reused while cached
    _ENGINES[key] = engine
    while len(_ENGINES) > _MAX_ENGINES:
        _ENGINES.popitem(last=False)
    return engine


def sharpen(images, model=DEFAULT_MODEL, *, mode: str | None = None, scale: int | None = None,
            batch: int = DEFAULT_BATCH, tile: int | None = None, overlap: int | None = None,
            dtype: str = "float32", bucket: int = DEFAULT_BUCKET, backend: str = "xla", precision: str = "auto"):
    """Sharpens (mode 'sharpen') or upscales (mode 'sr') images in memory, batched and compiled once per bucket.

    images: a list of float HWC arrays (C = 3 RGB or 1 grey, any sizes) or one NHWC array, values in [0, 1].
    model: a loaded model, a name or a path (`models.load`), or a `Sharpener` (then the other
    settings are its own). mode: default the loaded model's own, 'sharpen' for a name or path.
    Returns the same structure, float32 in [0, 1] (sr: `scale` times larger). Engines are cached per (model,
    settings), so calling again with the same model does not recompile. backend: "xla" (default) or
    "onnxruntime" (a student's ONNX graph; precision "auto", "float32" or "int8": jaxsharp/onnxruntime_backend.py).
    """
    if isinstance(model, Sharpener):
        engine = model
    else:
        if isinstance(model, (str, os.PathLike)):
            mode = mode or "sharpen"  # a name picks the shipped model for the task; the task must not follow it
            model = _named_model(str(model), scale, mode)
        elif scale is not None and model.scale != scale:
            raise ValueError(f"the model is x{model.scale}; scale={scale} asks for x{scale}")
        engine = _engine(model, mode=mode, batch=batch, tile=tile, overlap=overlap, dtype=dtype, bucket=bucket,
                         backend=backend, precision=precision)
    stacked = isinstance(images, (np.ndarray, jax.Array))
    if stacked and np.ndim(images) != 4:
        raise ValueError(f"an array of images must be NHWC, got shape {np.shape(images)}")
    frames = [np.asarray(im) for im in images]
    for frame in frames:
        if frame.ndim != 3 or frame.shape[-1] not in (1, 3):
            raise ValueError(f"images must be HWC with 1 or 3 channels, got shape {frame.shape}")
        if not np.issubdtype(frame.dtype, np.floating):
            raise TypeError(f"images must be float in [0, 1], got {frame.dtype} (divide uint8 pixels by 255)")
    rgb = [np.repeat(f, 3, axis=-1) if f.shape[-1] == 1 else f for f in frames]
    outputs = engine([np.asarray(f, np.float32) for f in rgb])
    outputs = [y.mean(axis=-1, keepdims=True) if f.shape[-1] == 1 else y for f, y in zip(frames, outputs)]
    return np.stack(outputs) if stacked else outputs


def main(argv=None, *, prog: str = "python -m jaxsharp.infer") -> int:
    """`python -m jaxsharp.infer`: the `jaxsharp sharpen` command (jaxsharp/sharpen_cli.py)."""
    from jaxsharp import sharpen_cli

    return sharpen_cli.main(argv, prog=prog)


if __name__ == "__main__":
    sys.exit(main())
