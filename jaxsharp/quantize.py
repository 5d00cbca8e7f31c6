"""Static int8 quantization of a student's ONNX graph for the onnxruntime backend, with its measured cost in PSNR.

    python -m jaxsharp.quantize --model student-small               # -> int8.onnx + int8.json in the model's folder
    python -m jaxsharp.quantize --model runs/my_run/export --sets Set5 --out /tmp/q    # quick: Set5 only

The float32 graph (`onnxruntime_backend.float32_graph`, what `jaxsharp.export --format onnx` writes) is quantized
by `onnxruntime.quantization.quantize_static`: QDQ format, per-channel int8 weights, uint8 activations,
reduce_range (7-bit weights, so that the u8 x s8 products of CPUs without VNNI cannot saturate; the graph is meant
to run on any x86 CPU), MinMax ranges calibrated on CALIBRATION_FILES: 8 fixed training images (T91), outside
every benchmark set and the validation split, made into model inputs as evaluate makes them (bicubic, quantized
to uint8) and padded to the engine's 64-pixel bucket by its padding rule. `quant_pre_process` is skipped: its
symbolic shape inference fails on the sharpen graph's dynamic-shape crop, and the graph needs none of it.

Then the cost is measured, never assumed: PSNR-Y of the int8 graph against the float32 graph, both in onnxruntime
through the same engine (`jaxsharp.evaluate`'s set and metric functions), on --sets (default Set5 and B100). The
sidecar int8.json records the calibration files, the settings, versions, every set's two PSNRs and their delta.
The onnxruntime backend uses int8 by default (precision auto) only where |delta| <= 0.05 dB on both Set5 and B100
(`onnxruntime_backend.meets_quality_rule`); a sidecar without both sets measured never passes. The graph is looked
for in the model's own folder, so --out defaults to it; written elsewhere, copy both files beside the model.
"""

from __future__ import annotations

import argparse
import logging
import pathlib
import sys
import tempfile
import time

import numpy as np

from jaxsharp import atomic, degrade, engine, evaluate, image_io, models, onnxruntime_backend, paths
from jaxsharp.onnxruntime_backend import INT8_FILE, INT8_SIDECAR, QUALITY_RULE_DB, QUALITY_RULE_SETS

# Relative to the data root's train/ folder: T91 (Yang et al.'s training images), never a benchmark or validation
# image. Fixed by name so the calibration never moves; a spread of sizes and content (faces, flowers, text, fabric).
CALIBRATION_FILES = tuple(f"T91/{name}.bmp" for name in ("t1", "t12", "t24", "t36", "t48", "t60", "tt1", "tt12"))
DEFAULT_SETS = QUALITY_RULE_SETS
SETTINGS = {"quant_format": "QDQ", "per_channel": True, "activation_type": "QUInt8", "weight_type": "QInt8",
            "calibrate_method": "MinMax", "pre_process": False}


class QuantizeError(Exception):
    """A quantization request that cannot run (not a student, missing data, missing dependency)."""


def calibration_files(data_root: pathlib.Path) -> list[pathlib.Path]:
    files = [pathlib.Path(data_root) / "train" / name for name in CALIBRATION_FILES]
    for path in files:
        if not path.is_file():
            raise QuantizeError(f"calibration image not found: {path} (jaxsharp.quantize.CALIBRATION_FILES)")
    return files


def calibration_inputs(model, files: list[pathlib.Path]) -> list[np.ndarray]:
    """Model inputs [1, h, w, 3] float32 in [0, 1]: each image's input for the model's own mode (bicubic, as
    evaluate makes them), padded to the engine's default bucket by the engine's rule."""
    inputs = []
    for path in files:
        inp, _ = degrade.pair(degrade.DEFAULT, image_io.read_image_rgb(path), model.scale, model.mode, quantize=True)
        h, w = inp.shape[:2]
        bucket = engine.DEFAULT_BUCKET
        inputs.append(engine.pad_frames(inp, -(-h // bucket) * bucket, -(-w // bucket) * bucket)[None])
    return [np.ascontiguousarray(x, np.float32) for x in inputs]


def quantize_graph(float32_graph: bytes, inputs: list[np.ndarray], *, reduce_range: bool = True,
                   **options) -> bytes:
    """The static int8 QDQ graph of `float32_graph`, its activation ranges calibrated on `inputs`. options: more
    `quantize_static` arguments (e.g. op_types_to_quantize, nodes_to_exclude), for experiments."""
    import onnx
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self._inputs = iter(inputs)

        def get_next(self):
            x = next(self._inputs, None)
            return None if x is None else {"image": x}

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # its advice to run quant_pre_process, which this graph cannot (module docstring)
    try:
        with tempfile.TemporaryDirectory(prefix="jaxsharp-quantize-") as tmp:
            out = pathlib.Path(tmp) / INT8_FILE
            quantize_static(onnx.load_from_string(float32_graph), out, Reader(), quant_format=QuantFormat.QDQ,
                            per_channel=True, reduce_range=reduce_range, activation_type=QuantType.QUInt8,
                            weight_type=QuantType.QInt8, calibrate_method=CalibrationMethod.MinMax, **options)
            return out.read_bytes()
    finally:
        root.setLevel(level)


def measure_quality(model, int8_graph: bytes, sets: list[str], data_root: pathlib.Path, *,
                    progress: bool = False) -> list[dict]:
    """Per set: PSNR-Y (and SSIM-Y) of float32 and int8 in onnxruntime through the same engine, and the delta."""
    runners = {p: onnxruntime_backend.Runner(model, precision=p, graph=g)
               for p, g in (("float32", onnxruntime_backend.float32_graph(model)[0]), ("int8", int8_graph))}
    methods = {p: evaluate.model_method(engine.Sharpener(model, mode=model.mode, batch=1, backend=r))
               for p, r in runners.items()}
    try:
        resolved = evaluate.resolve_sets(sets, data_root)
    except evaluate.EvaluationError as e:
        raise QuantizeError(str(e)) from None
    rows = []
    for set_name, folder in resolved:
        result = {p: evaluate.evaluate_set(set_name, folder, method, method_name=f"student onnxruntime {p}",
                                           scale=model.scale, mode=model.mode, progress=progress)
                  for p, method in methods.items()}
        rows.append({"set": set_name, "n_images": result["int8"]["n_images"],
                     "psnr_y_float32": result["float32"]["psnr_y"], "psnr_y_int8": result["int8"]["psnr_y"],
                     "delta_db": result["int8"]["psnr_y"] - result["float32"]["psnr_y"],
                     "ssim_y_float32": result["float32"]["ssim_y"], "ssim_y_int8": result["int8"]["ssim_y"]})
    return rows


def quantize(model, out_dir: pathlib.Path, *, data_root: pathlib.Path, sets: list[str],
             reduce_range: bool = True, progress: bool = False) -> dict:
    """Quantizes, measures, then writes out_dir/int8.onnx and out_dir/int8.json (atomically, the sidecar last);
    returns the sidecar."""
    import onnxruntime

    start = time.perf_counter()
    files = calibration_files(data_root)
    float32_graph, _ = onnxruntime_backend.float32_graph(model)
    int8_graph = quantize_graph(float32_graph, calibration_inputs(model, files), reduce_range=reduce_range)
    quantize_s = time.perf_counter() - start
    quality = measure_quality(model, int8_graph, sets, data_root, progress=progress)
    sidecar = {
        "format": "onnx-int8-qdq",
        "model": models.name_of(model),
        "weights_sha256": onnxruntime_backend.weights_digest(model),
        "scale": model.scale, "mode": model.mode,
        "input": {"name": "image", "layout": "NHWC", "dtype": "float32", "range": [0.0, 1.0]},
        "output": {"name": "output", "note": "raw model output, not clipped to [0, 1]"},
        "settings": {**SETTINGS, "reduce_range": reduce_range},
        "calibration": {"files": [f"train/{name}" for name in CALIBRATION_FILES],
                        "inputs": f"{degrade.DEFAULT} x{model.scale} {model.mode} inputs (uint8-quantized), padded "
                                  f"to {engine.DEFAULT_BUCKET}-pixel buckets"},
        "quality_reference": "the float32 graph in onnxruntime, same engine and inputs",
        "quality": quality,
        "rule": {"max_abs_delta_db": QUALITY_RULE_DB, "sets": list(QUALITY_RULE_SETS)},
        "meets_rule": None,  # filled below from the numbers, as the backend recomputes it
        "onnxruntime_version": onnxruntime.__version__,
        "quantize_s": round(quantize_s, 2),
    }
    sidecar["meets_rule"] = onnxruntime_backend.meets_quality_rule(sidecar)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic.write_file(out_dir / INT8_FILE, lambda f: f.write(int8_graph))
    atomic.write_json(out_dir / INT8_SIDECAR, sidecar, allow_nan=False)
    return sidecar


def build_parser(prog: str = "python -m jaxsharp.quantize") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0],
                                epilog=__doc__.split("\n\n", 2)[2],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="a student: an alias (student-small), a shipped name or a folder")
    p.add_argument("--scale", type=int, help="the scale an alias picks (default 2)")
    p.add_argument("--out", metavar="DIR", help="where int8.onnx and int8.json go (default: the model's folder, "
                                                "where the onnxruntime backend looks for them)")
    p.add_argument("--sets", default=",".join(DEFAULT_SETS),
                   help="comma-separated sets to measure int8 against float32 on (default %(default)s; the rule "
                        "needs both)")
    p.add_argument("--data-root", help=f"the shared data folder (default ${paths.DATA_ENV}, else ../shared/data)")
    p.add_argument("--no-reduce-range", action="store_true",
                   help="8-bit weights: only for CPUs with VNNI (AVX512-VNNI / AVX-VNNI), which cannot saturate")
    p.add_argument("--no-progress", action="store_true")
    return p


def main(argv: list[str] | None = None, *, prog: str = "python -m jaxsharp.quantize") -> int:
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    try:
        onnxruntime_backend.import_onnxruntime()
        model = models.load(args.model, scale=args.scale)
        if model.role != "student":
            raise QuantizeError(f"{args.model} is a {model.role}: only students are exported and quantized")
        source = pathlib.Path(model.source)
        if args.out is None and not source.is_dir():
            raise QuantizeError(f"{args.model} has no folder to write beside; pass --out DIR")
        out_dir = pathlib.Path(args.out) if args.out else source
        data_root = pathlib.Path(args.data_root) if args.data_root else paths.data_root()
        sets = [s.strip() for s in args.sets.split(",") if s.strip()]
        sidecar = quantize(model, out_dir, data_root=data_root, sets=sets, reduce_range=not args.no_reduce_range,
                           progress=not args.no_progress)
    except (QuantizeError, ValueError, OSError) as e:
        parser.exit(2, f"{parser.prog}: error: {e}\n")
    for q in sidecar["quality"]:
        print(f"{q['set']} ({q['n_images']} images): PSNR-Y float32 {q['psnr_y_float32']:.3f} dB, int8 "
              f"{q['psnr_y_int8']:.3f} dB, delta {q['delta_db']:+.3f} dB")
    verdict = ("meets the rule: the onnxruntime backend uses it by default" if sidecar["meets_rule"] else
               f"does not meet the rule (|delta| <= {QUALITY_RULE_DB} dB on {' and '.join(QUALITY_RULE_SETS)}, "
               "both measured): used only with --precision int8")
    print(f"wrote {out_dir / INT8_FILE} and {out_dir / INT8_SIDECAR}; int8 {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
