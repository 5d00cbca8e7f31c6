"""`python -m jaxsharp.mos prepare`: a study's stimuli, made by jaxsharp.evaluate's methods, one crop per image.

For every HR image of the chosen sets (resolved as `jaxsharp.evaluate` does, under the data root by default) the
model input is made exactly as the evaluation makes it (`degrade.pair(degradation, ..., quantize=True)`, default
bicubic = `degrade.bicubic_pair`; the name is recorded in the study manifest), each method
is `evaluate.make_method`'s, and `hr` is the HR image itself: the hidden reference of ACR-HR (ITU-T P.910).
Every method of an image is shown on the same square crop: `figures.detail_crop_box` (the most gradient energy)
on the HR image, its corner and side aligned to the scale. Outputs are quantized to uint8 as the evaluation's
and written as lossless PNGs under opaque ids (see jaxsharp.mos.study for the layout).

Methods run on a window of the input, the crop plus `margin` HR pixels of context on each side (clamped at the
image border), so that a model compiles once for every full-size crop instead of once per image size. Where the
method's receptive radius is within the margin (bicubic, unsharp, the shipped students: 18 pixels for
`student-small-x2`, against a default margin of 32) the crop equals the crop of the whole-image output exactly
(tests/test_mos.py checks it); for the SwinIR teacher, which sees further, it is the tiled approximation
the README measures (a largest difference of 0.008 at 32 pixels of overlap).

`teacher` is never a default: the shipped SwinIR-S (jaxsharp/assets/teachers/swinir_s_x2) is weaker than the
students, so a study names its teacher with --teacher-weights and is otherwise refused with a one-line error. The
default methods work with what the repository ships.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import pathlib
import secrets
import sys

import numpy as np

from jaxsharp import atomic, degrade, paths
from jaxsharp.degrade import MODES
from jaxsharp.evaluate import EvaluationError, SkipImage, list_images, make_method, resolve_sets
from jaxsharp.figures import detail_crop_box
from jaxsharp.image_io import ImageReadError, read_image_rgb, write_image
from jaxsharp.mos import study

STUDY_METHODS = study.METHOD_ORDER


class PrepareError(Exception):
    """A study that cannot be made as asked (unknown method, missing weights, missing set)."""


def crop_box(target: np.ndarray, size: int, scale: int) -> tuple[int, int, int]:
    """(top, left, side) of the detail crop of `target` [H, W, 3] (H, W multiples of scale), all multiples of scale.

    Raises SkipImage for an image smaller than the scale.
    """
    top, left, side = detail_crop_box(target, size)
    side -= side % scale
    if side < scale:
        raise SkipImage(f"{target.shape[1]}x{target.shape[0]} is too small for a crop at x{scale}")
    return top - top % scale, left - left % scale, side


def context_window(box: tuple[int, int, int], shape: tuple[int, ...], margin: int, scale: int
                   ) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of the crop `box` grown by `margin` each side, clamped, multiples of scale."""
    top, left, side = box
    margin += -margin % scale
    h, w = shape[0], shape[1]
    return max(0, top - margin), min(h, top + side + margin), max(0, left - margin), min(w, left + side + margin)


def method_crop(method, name: str, inp: np.ndarray, target: np.ndarray, box: tuple[int, int, int], *,
                margin: int, scale: int, mode: str) -> np.ndarray:
    """The crop `box` of `method`'s output, run on a context window of `inp` (see the module docstring).

    inp: the model input for `target` (sharpen: blurry, HR size; sr: lr, 1/scale). Returns float HWC in [0, 1].
    """
    top, bottom, left, right = context_window(box, target.shape, margin, scale)
    s = 1 if mode == "sharpen" else scale  # input pixels per output pixel, inverted
    window = inp[top // s : bottom // s, left // s : right // s]
    out = np.asarray(method(name, window))
    if out.shape != (bottom - top, right - left, 3):
        raise ValueError(f"{name}: the method returned shape {out.shape} for a {right - left}x{bottom - top} window")
    y, x = box[0] - top, box[1] - left
    return np.clip(out[y : y + box[2], x : x + box[2]], 0.0, 1.0)


def _category(set_name: str) -> str:
    return set_name.split("/", 1)[1] if set_name.startswith("categories/") else set_name


def _new_id(taken: set[str]) -> str:
    while (item_id := secrets.token_hex(8)) in taken:
        pass
    taken.add(item_id)
    return item_id


def build_methods(methods: list[str], *, scale: int, mode: str, student_weights: str | None,
                  teacher_weights: str | None) -> dict:
    """name -> evaluate Method (None for `hr`); every model is loaded (and checked) before any image is made."""
    unknown = [m for m in methods if m not in STUDY_METHODS]
    if unknown:
        raise PrepareError(f"unknown method {unknown[0]!r}; valid methods: {', '.join(STUDY_METHODS)}")
    if len(set(methods)) != len(methods):
        raise PrepareError(f"a method is listed twice: {','.join(methods)}")
    if len(methods) < 2:
        raise PrepareError("a study needs at least two methods")
    if "teacher" in methods and not teacher_weights:
        raise PrepareError("method teacher needs --teacher-weights (jaxsharp/assets/teachers/swinir_s_x2, or "
                           "the official SwinIR release converted with `jaxsharp port`; see the README)")
    weights = {"student": student_weights, "teacher": teacher_weights}
    built = {}
    for name in methods:
        try:
            built[name] = None if name == "hr" else make_method(name, scale=scale, mode=mode, weights=weights.get(name))
        except EvaluationError as e:
            raise PrepareError(str(e).replace("--weights", f"--{name}-weights")) from None
    return built


def prepare_study(out: str | os.PathLike, sets: list[str], methods: list[str], *, scale: int = 2,
                  mode: str = "sharpen", crop: int = study.DEFAULT_CROP, margin: int = study.DEFAULT_MARGIN,
                  student_weights: str | None = study.DEFAULT_STUDENT, teacher_weights: str | None = None,
                  data_root: str | os.PathLike | None = None, overwrite: bool = False,
                  progress: bool = True, degradation: str = degrade.DEFAULT) -> dict:
    """Writes the study directory `out` (atomically: complete or absent) and returns its manifest.

    sets: evaluate set names (Set5, Set14, ..., categories, categories/<name>). methods: STUDY_METHODS names.
    crop: side of the square crop in HR pixels (smaller images: their short side). Unreadable images are skipped
    with a warning on stderr, as the evaluation does. degradation: a `degrade.DEGRADATIONS` name, as evaluate's.
    """
    from tqdm import tqdm

    if mode not in MODES:
        raise PrepareError(f"unknown mode {mode!r}; valid modes: {', '.join(MODES)}")
    try:
        degrade.get(degradation)
    except ValueError as e:
        raise PrepareError(str(e)) from None
    if crop < 8 or margin < 0:
        raise PrepareError(f"--crop must be >= 8 and --margin >= 0 (got {crop}, {margin})")
    out = pathlib.Path(out)
    if out.exists() and not overwrite:
        raise PrepareError(f"{out} already exists (pass --overwrite to replace it)")
    try:
        data_root = pathlib.Path(data_root) if data_root is not None else paths.data_root()
        folders = resolve_sets(sets, data_root)
    except EvaluationError as e:
        raise PrepareError(str(e)) from None
    built = build_methods(methods, scale=scale, mode=mode, student_weights=student_weights,
                          teacher_weights=teacher_weights)
    sources = [(set_name, path) for set_name, folder in folders for path in list_images(folder)]
    taken: set[str] = set()
    images, items = [], []
    with atomic.directory(out, overwrite=overwrite) as tmp:
        for set_name, path in tqdm(sources, desc="prepare", unit="img", disable=not progress):
            try:
                inp, target = degrade.pair(degradation, read_image_rgb(path), scale, mode, quantize=True,
                                           seed=degrade.image_seed(path.stem))
                box = crop_box(target, crop, scale)
                crops = {name: target[box[0] : box[0] + box[2], box[1] : box[1] + box[2]] if method is None else
                         method_crop(method, path.stem, inp, target, box, margin=margin, scale=scale, mode=mode)
                         for name, method in built.items()}
            except (ImageReadError, SkipImage) as e:
                print(f"warning: {path}: {e}; skipped", file=sys.stderr)
                continue
            image = f"{set_name}/{path.stem}"
            category = _category(set_name)
            images.append({"image": image, "category": category, "source": str(path),
                           "size": [int(target.shape[1]), int(target.shape[0])], "box": [int(v) for v in box]})
            for name, pixels in crops.items():
                item_id = _new_id(taken)
                file = write_image(study.image_path(tmp, item_id), pixels)
                items.append({"id": item_id, "image": image, "category": category, "method": name,
                              "sha256": hashlib.sha256(file.read_bytes()).hexdigest()})
        if not items:
            raise PrepareError("no image could be used; nothing written")
        manifest = {
            "format": study.FORMAT, "version": study.VERSION, "study_id": secrets.token_hex(8),
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "scale": scale, "mode": mode, "degradation": degradation, "crop": crop, "margin": margin,
            "sets": list(sets),
            "methods": list(methods), "data_root": str(pathlib.Path(data_root).resolve()),
            "weights": {"student": student_weights if "student" in methods else None,
                        "teacher": teacher_weights if "teacher" in methods else None},
            "images": images, "items": items,
        }
        atomic.write_json(tmp / study.MANIFEST, manifest)
    return manifest
