"""Benchmark evaluation: PSNR/SSIM (Y and RGB) of a method on SR benchmark sets, the literature's way.

    python -m jaxsharp.evaluate --method bicubic --scale 2 --sets Set5,Set14 --json results.json

Every input is rebuilt from the HR images with `degrade.bicubic_pair(..., quantize=True)` (MATLAB bicubic on
uint8, which reproduces the official Set5/Set14 LR files bit for bit); B100/Urban100's shipped LR files are not
the standard ones and are never read. GT is the HR mod-cropped to the scale; `crop_border` = scale.
`--degradation NAME` makes the inputs with another registered degradation instead (`degrade.pair`, seeded per image
by `degrade.image_seed` of its file stem); the name is recorded in every result row. The default, bicubic, is the
literature's protocol above.
`jaxsharp.evaluate_realistic` runs every method over the realistic families in one table (the `realistic` suite).

Methods: `baselines.METHODS` (bicubic, lanczos, unsharp: jaxsharp/baselines.py; student, teacher: a model from
`models.load`, run by the inference engine exactly as `jaxsharp sharpen` runs it, padding and mode adapters
included, so evaluating a model equals scoring the files `jaxsharp sharpen` writes for the same inputs),
plus `predictions`: images read from --predictions DIR, named like the HR file or `<name>_<suffix>.<ext>`
(e.g. `baby_SwinIR.png`); GT is cropped to the prediction's size, as the official SwinIR test script does.
--weights defaults to the shipped default student (student-small) / teacher (teacher). `--backend onnxruntime`
(students) runs the model's ONNX graph in onnxruntime through the same engine, `--precision` float32, int8 or
auto (jaxsharp/onnxruntime_backend.py); `jaxsharp.quantize` measures int8 against float32 this way.
Model outputs are clamped to [0, 1]; all outputs are quantized to uint8 levels before measuring.
"""

from __future__ import annotations

import argparse
import math
import os
import pathlib
import sys
import warnings
from typing import Callable

import numpy as np

from jaxsharp import atomic, baselines, degrade, image_io, metrics, paths, splits
from jaxsharp.degrade import MODES
from jaxsharp.engine import Sharpener
from jaxsharp.figures import detail_crop_box, save_crop_rows
from jaxsharp.image_io import (IMAGE_SUFFIXES, AnimatedImageWarning, ImageReadError, read_image_rgb,
                               write_image)
from jaxsharp.onnxruntime_backend import BACKENDS, PRECISIONS

BENCHMARK_SETS = ("Set5", "Set14", "B100", "Urban100", "Manga109")
METHODS = baselines.METHODS + ("predictions",)

# An image-producing method: (image name, model input HWC float32 [0, 1]) -> output HWC float [0, 1].
Method = Callable[[str, np.ndarray], np.ndarray]


class UnreadableImageWarning(UserWarning):
    """A file in an evaluated folder (or a prediction) that could not be used; it is skipped."""


class SkipImage(Exception):
    """Raised by a method when one image cannot be evaluated (missing or unreadable prediction)."""


class EvaluationError(Exception):
    """A problem with the requested evaluation as a whole (missing set, unavailable model)."""


# ----------------------------------------------------------------------------------------------------------------
# Methods


def _find_prediction(directory: pathlib.Path, name: str) -> pathlib.Path:
    exact = [p for p in directory.iterdir() if p.stem == name and p.suffix.lower() in IMAGE_SUFFIXES]
    if exact:
        return exact[0]
    suffixed = sorted(p for p in directory.iterdir()
                      if p.stem.startswith(name + "_") and p.suffix.lower() in IMAGE_SUFFIXES)
    if len(suffixed) == 1:
        return suffixed[0]
    if not suffixed:
        raise SkipImage(f"no prediction for {name!r} in {directory} (expected {name}.png or {name}_<suffix>.png)")
    raise SkipImage(f"several predictions for {name!r} in {directory}: {', '.join(p.name for p in suffixed)}")


def _predictions_method(directory: pathlib.Path) -> Method:
    def run(name: str, inp: np.ndarray) -> np.ndarray:
        path = _find_prediction(directory, name)
        try:
            return read_image_rgb(path)
        except ImageReadError as e:
            raise SkipImage(str(e)) from None

    return run


def model_method(model_or_engine, *, mode: str | None = None, backend: str = "xla",
                 precision: str = "auto") -> Method:
    """A loaded model (or an engine) as a Method, through the engine with `jaxsharp sharpen`'s defaults (buckets,
    padding); mode: the task, default the model's own; backend, precision: the engine's."""
    engine = model_or_engine if isinstance(model_or_engine, Sharpener) else Sharpener(
        model_or_engine, mode=mode, batch=1, backend=backend, precision=precision)
    return lambda name, inp: engine([np.asarray(inp, np.float32)])[0]


def _check_model_matches(method: str, model, scale: int, mode: str) -> None:
    # A model for another scale or mode would fail later with a shape error on the first image; say why now. A
    # teacher (an sr model) is adapted to sharpen mode by the engine; a student is measured in its own mode only.
    if model.scale != scale:
        raise EvaluationError(f"the {method} weights are for x{model.scale}, but --scale is {scale}")
    if model.role == "student" and model.mode != mode:
        raise EvaluationError(f"the {method} weights are for --mode {model.mode}, but --mode is {mode}")


def make_method(method: str, *, scale: int, mode: str, weights: str | None = None,
                predictions: str | os.PathLike | None = None, backend: str = "xla",
                precision: str = "auto") -> Method:
    """Builds the image-producing function for `method` (see the module docstring)."""
    if (backend, precision) != ("xla", "auto") and method not in baselines.MODEL_METHODS:
        raise EvaluationError(f"--backend and --precision apply to the model methods "
                              f"({', '.join(baselines.MODEL_METHODS)}), not to {method}")
    if method in baselines.BASELINES:
        try:
            fn = baselines.method(method, scale=scale, mode=mode)
        except baselines.UnavailableMethod as e:
            raise EvaluationError(f"--method {e}") from None
        return lambda name, inp: fn(inp)
    if method in baselines.MODEL_METHODS:
        from jaxsharp import models

        default = models.DEFAULT_STUDENT if method == "student" else models.DEFAULT_TEACHER
        try:
            model = models.load(weights or default, scale=scale if weights is None else None, mode=mode)
        except (OSError, ValueError, KeyError) as e:
            raise EvaluationError(f"cannot load {method} weights {weights or default}: {e}") from None
        if model.role != method:
            raise EvaluationError(f"{weights} is a {model.role}, not a {method}")
        _check_model_matches(method, model, scale, mode)
        try:
            return model_method(model, mode=mode, backend=backend, precision=precision)
        except ValueError as e:  # the backend's own errors: a missing dependency, no int8 graph, a bad option
            raise EvaluationError(str(e)) from None
    if method == "predictions":
        if not predictions:
            raise EvaluationError("--method predictions needs --predictions DIR")
        directory = pathlib.Path(predictions)
        if not directory.is_dir():
            raise EvaluationError(f"predictions folder not found: {directory}")
        return _predictions_method(directory)
    raise EvaluationError(f"unknown method {method!r}; valid methods: {', '.join(METHODS)}")


# ----------------------------------------------------------------------------------------------------------------
# One set


def is_single_channel_file(path: pathlib.Path) -> bool:
    """True for a greyscale image file (Pillow modes 1, L, LA, I, I;16*, F); reads the header only."""
    from PIL import Image

    with Image.open(path) as img:
        return img.mode in ("1", "L", "LA", "I", "F") or img.mode.startswith("I;16")


def list_images(folder: pathlib.Path | tuple[pathlib.Path, ...]) -> list[pathlib.Path]:
    """Image files of a folder, sorted; other (non-hidden) files are reported with a warning and skipped. A tuple
    of files (a split, `resolve_sets`' "val") is its own list."""
    if isinstance(folder, tuple):
        return list(folder)
    files = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.is_dir():
            continue
        if path.suffix.lower() in IMAGE_SUFFIXES:
            files.append(path)
        else:
            warnings.warn(f"{path}: skipped (not an image file)", UnreadableImageWarning, stacklevel=2)
    return files


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else float("nan")


def min_measurable_side(scale: int) -> int:
    """The smallest side (pixels) an image can have and still be measured: SSIM's window after `crop_border`."""
    return metrics.SSIM_WINDOW + 2 * scale


def check_measurable(what: str, h: int, w: int, scale: int) -> None:
    """SkipImage unless an h x w image (as measured: HR after the mod-crop, a prediction as is) fits SSIM."""
    side = min_measurable_side(scale)
    if h < side or w < side:
        raise SkipImage(f"{what}, too small to measure at x{scale} (SSIM needs {side}x{side} pixels: its "
                        f"{metrics.SSIM_WINDOW}-pixel window and crop_border {scale})")


def score(output: np.ndarray, target: np.ndarray, scale: int, *, gray: bool = False) -> dict[str, float]:
    """PSNR / SSIM (Y and RGB) of one output against its target, the literature's way (crop_border = scale)."""
    return {
        "psnr_y": metrics.psnr_y(output, target, crop_border=scale, gray=gray),
        "ssim_y": metrics.ssim_y(output, target, crop_border=scale, gray=gray),
        "psnr_rgb": metrics.psnr_rgb(output, target, crop_border=scale),
        "ssim_rgb": metrics.ssim_rgb(output, target, crop_border=scale),
    }


def evaluate_set(set_name: str, hr_dir: str | os.PathLike, method: Method, *, method_name: str, scale: int,
                 mode: str, save_dir: str | os.PathLike | None = None, gray_as_is: bool = False,
                 progress: bool = True, figure_rows: int = 4, crop_size: int = 96,
                 degradation: str = degrade.DEFAULT) -> dict:
    """Evaluates `method` on every image of `hr_dir`; returns the result dict (means and per-image metrics).

    Unreadable files, and images too small to measure (`min_measurable_side`), are skipped with an
    UnreadableImageWarning naming them. With save_dir, outputs go to
    save_dir/<set>/<name>.png and a side-by-side crop figure to save_dir/<set>_crops.png.
    gray_as_is: Y metrics of single-channel HR files are measured on the grey values (metrics `gray=True`).
    degradation: how the inputs are made (a `degrade.DEGRADATIONS` name; default bicubic), recorded in the result.
    """
    from tqdm import tqdm

    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; valid modes: {', '.join(MODES)}")
    degrade.get(degradation)
    hr_dir = hr_dir if isinstance(hr_dir, tuple) else pathlib.Path(hr_dir)
    images, crops = [], []
    out_dir = pathlib.Path(save_dir) / set_name if save_dir is not None else None
    for path in tqdm(list_images(hr_dir), desc=f"{set_name} x{scale} {method_name}", unit="img",
                     disable=not progress, leave=False):
        try:
            hr = read_image_rgb(path)
            hh, hw = hr.shape[:2]
            what = f"{path}: the HR image is {hw}x{hh}"
            if method_name != "predictions" and (hh % scale or hw % scale):  # measured after the mod-crop
                hh, hw = hh - hh % scale, hw - hw % scale
                what += f" ({hw}x{hh} mod-cropped)"
            check_measurable(what, hh, hw, scale)
            inp, target = degrade.pair(degradation, hr, scale, mode, quantize=True,
                                       seed=degrade.image_seed(path.stem))
            output = method(path.stem, inp)
            if method_name == "predictions":
                oh, ow = output.shape[:2]
                if oh > hr.shape[0] or ow > hr.shape[1]:
                    raise SkipImage(f"prediction for {path.name} is {ow}x{oh}, larger than the HR image")
                check_measurable(f"the prediction for {path.name} is {ow}x{oh}", oh, ow, scale)
                target = hr[:oh, :ow]  # as the official script: GT cropped to the output size
        except (ImageReadError, SkipImage) as e:
            warnings.warn(f"{e} (skipped)" if isinstance(e, SkipImage) else f"{e}; skipped",
                          UnreadableImageWarning, stacklevel=2)
            continue
        if method_name != "predictions" and output.shape != target.shape:
            raise ValueError(f"{method_name} returned shape {output.shape} for {path.name}, expected {target.shape}")
        row = {"name": path.stem, **score(output, target, scale,
                                          gray=gray_as_is and is_single_channel_file(path))}
        images.append(row)
        if out_dir is not None:
            write_image(out_dir / f"{path.stem}.png", np.clip(output, 0.0, 1.0))
            if len(crops) < figure_rows:
                top, left, size = detail_crop_box(target, crop_size)
                same_size = inp.shape == target.shape
                shown_input = inp if same_size else np.repeat(np.repeat(inp, scale, 0), scale, 1)
                box = (slice(top, top + size), slice(left, left + size))
                crops.append({"name": path.stem, "psnr_y": row["psnr_y"], "input": shown_input[box],
                              "input_label": "input" if same_size else f"input (nearest x{scale})",
                              "output": np.clip(output, 0, 1)[box], "target": target[box]})
    if not images:
        warnings.warn(f"{hr_dir}: no image could be evaluated", UnreadableImageWarning, stacklevel=2)
    if out_dir is not None and crops:
        save_crop_rows(pathlib.Path(save_dir) / f"{set_name.replace('/', '_')}_crops.png",
                          f"{set_name} x{scale} {mode}: {method_name}", crops)
    return {
        "set": set_name, "method": method_name, "scale": scale, "mode": mode, "degradation": degradation,
        **{key: _mean([r[key] for r in images]) for key in ("psnr_y", "ssim_y", "psnr_rgb", "ssim_rgb")},
        "n_images": len(images), "images": images,
    }


# ----------------------------------------------------------------------------------------------------------------
# Sets, output, CLI


def resolve_sets(names: list[str], data_root: pathlib.Path) -> list[tuple[str, pathlib.Path | tuple]]:
    """Set names -> (row name, HR folder). `categories` expands to one row per category folder; "val" is the
    validation split's files (jaxsharp.splits, a tuple of paths in place of the folder)."""
    resolved = []
    for name in names:
        if name == splits.NAME:
            try:
                files = splits.validation_files(data_root)
            except FileNotFoundError as e:
                raise EvaluationError(str(e)) from None
            resolved.append((name, files))
            continue
        if name == "categories":
            root = data_root / "categories"
            if not root.is_dir():
                raise EvaluationError(f"set folder not found: {root} (from --sets {name})")
            resolved += [(f"categories/{d.name}", d) for d in sorted(root.iterdir()) if d.is_dir()]
        elif name.startswith("categories/"):
            resolved.append((name, data_root / name))
        else:
            resolved.append((name, data_root / "benchmarks" / name / "HR"))
    for name, folder in resolved:
        if not isinstance(folder, tuple) and not folder.is_dir():
            raise EvaluationError(f"set folder not found: {folder} (from --sets {name})")
    return resolved


def markdown_table(results: list[dict]) -> str:
    lines = ["| set | method | scale | mode | degradation | images | PSNR-Y | SSIM-Y | PSNR-RGB | SSIM-RGB |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['set']} | {r['method']} | x{r['scale']} | {r['mode']} | "
                     f"{r.get('degradation', degrade.DEFAULT)} | {r['n_images']} | "
                     f"{r['psnr_y']:.2f} | {r['ssim_y']:.4f} | {r['psnr_rgb']:.2f} | {r['ssim_rgb']:.4f} |")
    return "\n".join(lines)


def json_safe(value):
    # inf (identical images) and nan (empty set) are not JSON; written as null.
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    return value


def write_json(path: str | os.PathLike, results: list[dict]) -> None:
    """Writes {"results": [...]} atomically (temp file + rename); non-finite numbers become null."""
    atomic.write_json(path, json_safe({"results": results}), indent=1, allow_nan=False)


def build_parser(prog: str = "python -m jaxsharp.evaluate") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    p.add_argument("--method", required=True, choices=METHODS)
    p.add_argument("--weights", help="--method student / teacher: a model name or path (models.load; default: "
                                     "the shipped student-small / teacher)")
    p.add_argument("--predictions", metavar="DIR", help="folder of output images for --method predictions")
    p.add_argument("--backend", choices=BACKENDS, default="xla",
                   help="model methods: run the model with XLA (default) or its ONNX graph in onnxruntime")
    p.add_argument("--precision", choices=PRECISIONS, default="auto",
                   help="--backend onnxruntime: float32, int8 (the model's jaxsharp.quantize graph) or auto "
                        "(int8 where it met the quality rule; default)")
    p.add_argument("--scale", type=int, default=2, choices=(2, 3, 4))
    p.add_argument("--mode", default="sr", choices=MODES,
                   help="sr: input is the lr image; sharpen: input is the bicubic-blurred image at HR size")
    # Checked after parsing (not argparse choices) so that a bad name is one line, as the other errors.
    p.add_argument("--degradation", default=degrade.DEFAULT, metavar="NAME",
                   help=f"how inputs are made from the HR images, one of: {', '.join(sorted(degrade.DEGRADATIONS))} "
                        "(default: %(default)s, the literature's)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--sets", default="Set5,Set14",
                       help=f"comma-separated: {', '.join(BENCHMARK_SETS)}, categories, categories/<name>")
    where.add_argument("--hr-dir", metavar="DIR", help="evaluate one folder of HR images instead of --sets")
    p.add_argument("--data-root", default=None,
                   help=f"folder holding benchmarks/ and categories/ (default: ${paths.DATA_ENV}, else "
                        "../shared/data beside the repo)")
    p.add_argument("--json", metavar="FILE", help="write the results as JSON (atomically)")
    p.add_argument("--save-dir", metavar="DIR", help="save outputs and a side-by-side crop figure per set")
    p.add_argument("--gray-as-is", action="store_true",
                   help="Y metrics of single-channel (greyscale) HR files on their grey values, as the MATLAB-era "
                        "tables (e.g. the bicubic Set14 rows); default: BT.601 Y of three equal channels, as the "
                        "official SwinIR script")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None, *, prog: str = "python -m jaxsharp.evaluate") -> int:
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    image_io.ignore_decompression_bomb_warning()
    try:
        try:
            degrade.get(args.degradation)
        except ValueError as e:
            raise EvaluationError(str(e)) from None
        if args.hr_dir:
            hr_dir = pathlib.Path(args.hr_dir)
            if not hr_dir.is_dir():
                raise EvaluationError(f"set folder not found: {hr_dir} (from --hr-dir)")
            sets = [(hr_dir.name, hr_dir)]
        else:
            names = [n.strip() for n in args.sets.split(",") if n.strip()]
            sets = resolve_sets(names, pathlib.Path(args.data_root) if args.data_root else paths.data_root())
        method = make_method(args.method, scale=args.scale, mode=args.mode, weights=args.weights,
                             predictions=args.predictions, backend=args.backend, precision=args.precision)
    except EvaluationError as e:
        parser.exit(2, f"{parser.prog}: error: {e}\n")

    from tqdm import tqdm

    results = []
    with warnings.catch_warnings():
        warnings.simplefilter("always", UnreadableImageWarning)
        warnings.simplefilter("always", AnimatedImageWarning)
        previous = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None):
            if issubclass(category, (UnreadableImageWarning, AnimatedImageWarning)):
                tqdm.write(f"warning: {message}", file=sys.stderr)
            else:
                previous(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        for set_name, folder in sets:
            results.append(evaluate_set(set_name, folder, method, method_name=args.method, scale=args.scale,
                                        mode=args.mode, save_dir=args.save_dir, gray_as_is=args.gray_as_is,
                                        progress=not args.no_progress, degradation=args.degradation))
    print(markdown_table(results))
    if args.json:
        write_json(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
