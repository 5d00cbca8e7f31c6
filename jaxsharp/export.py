"""Export a student for serving outside Python JAX: serialized StableHLO (jax.export) or ONNX (jax2onnx).

    python -m jaxsharp.export --model student-small --format stablehlo --out small_x2.stablehlo
    python -m jaxsharp.export --model student-tiny --format onnx --out tiny_x2.onnx
    python -m jaxsharp.export --model runs/small_x2/export --format onnx --out small_x2.onnx

Both formats take NHWC float32 in [0, 1] and return the raw (not clipped) output; the weights are baked in as
constants. Batch, height and width are dynamic (symbolic) in both:
- stablehlo: input shape `(b, s*h, s*w, 3)` for sharpen students (H and W must be multiples of the scale s;
  other sizes are rejected by `exported.call` with a shape error), `(b, h, w, 3)` with h, w >= 2 for sr students
  (output `(b, s*h, s*w, 3)`). Lowered for cpu, cuda, rocm and tpu unless --platforms says otherwise. Read it back
  with `jax.export.deserialize(open(FILE, 'rb').read()).call(x)`.
- onnx: input `image` `[B, H, W, 3]`, output `output`. A sharpen graph cannot raise on a bad size: it crops H and
  W down to multiples of the scale, so pass multiples (pad first, as `jaxsharp.engine` does) to get
  the whole frame back. sr graphs need H, W >= 2.
Beside FILE a sidecar FILE.json holds the student config and the input/output contract.

ONNX needs jax2onnx, onnx and onnxruntime. jax2onnx 0.17.1 declares orbax-checkpoint < 0.11.37, which conflicts
with jaxsharp's orbax pin although it never imports orbax, so install it without its declared dependencies:
`pip install -e '.[export]' && pip install --no-deps 'jax2onnx==0.17.1'` (the export extra lists what it imports).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys

import jax

from jaxsharp import atomic, models
from jaxsharp.degrade import MODES
from jaxsharp.export_graph import DEFAULT_PLATFORMS, ExportError, export_onnx, export_stablehlo
from jaxsharp.loaded_model import LoadedModel

FORMATS = ("stablehlo", "onnx")


def resolve_student(model: str, scale: int | None = None, mode: str = "sharpen") -> LoadedModel:
    """`--model` read as `jaxsharp sharpen` reads it (`models.load`): 'student-small' is the shipped
    student_small_x<scale> (scale default 2; `mode` picks when both modes are shipped), else a shipped name or a
    student directory. A missing shipped student names the shipped ones."""
    try:
        loaded = models.load(model, scale=scale, mode=mode)
    except (FileNotFoundError, ValueError) as e:
        raise ExportError(str(e)) from None
    if loaded.role != "student":
        raise ExportError(f"{model} is a {loaded.family} {loaded.role}: only students (plain conv stacks) are exported")
    return loaded


def sidecar_path(out: str | os.PathLike) -> pathlib.Path:
    out = pathlib.Path(out)
    return out.with_name(out.name + ".json")


def export(loaded: LoadedModel, fmt: str, out: str | os.PathLike, *,
           platforms=DEFAULT_PLATFORMS) -> pathlib.Path:
    """Writes `out` (atomically) and its sidecar `out`.json; returns `out`."""
    if fmt == "stablehlo":
        blob, facts = export_stablehlo(loaded, platforms)
    elif fmt == "onnx":
        blob, facts = export_onnx(loaded)
    else:
        raise ExportError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    constraint = ("H, W multiples of the scale" if loaded.config.mode == "sharpen" else "H, W >= 2")
    sidecar = {
        "format": fmt,
        **loaded.config.to_dict(),
        "source": loaded.source,
        "layout": "NHWC", "range": [0.0, 1.0], "constraint": constraint,
        "output_note": "raw model output, not clipped to [0, 1]",
        "jax_version": jax.__version__,
        **facts,
    }
    path = atomic.write_file(out, lambda f: f.write(blob))
    atomic.write_json(sidecar_path(out), sidecar)
    return path


def build_parser(prog: str = "python -m jaxsharp.export") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0],
                                epilog=__doc__.split("\n\n", 2)[2],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True,
                   help=f"{', '.join(models.STUDENT_ALIASES)} (the shipped student_<size>_x<scale>), a shipped name "
                        f"({', '.join(n for n, (f, _) in models.shipped().items() if f.role == 'student')}) "
                        "or a student directory")
    p.add_argument("--scale", type=int, help=f"the scale a name picks (default {models.DEFAULT_SCALE}); checked "
                                            "against a directory's config when given")
    p.add_argument("--mode", choices=MODES, default="sharpen",
                   help="the mode a name picks when both are shipped (default sharpen); a directory keeps its own")
    p.add_argument("--format", required=True, choices=FORMATS)
    p.add_argument("--out", required=True, metavar="FILE", help="output file; its sidecar is FILE.json")
    p.add_argument("--platforms", default=",".join(DEFAULT_PLATFORMS),
                   help="stablehlo only: comma-separated platforms to lower for (default %(default)s)")
    return p


def main(argv: list[str] | None = None, *, prog: str = "python -m jaxsharp.export") -> int:
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    platforms = tuple(p.strip() for p in args.platforms.split(",") if p.strip())
    if args.format != "stablehlo" and args.platforms != parser.get_default("platforms"):
        parser.exit(2, f"{parser.prog}: error: --platforms applies to --format stablehlo only\n")
    try:
        loaded = resolve_student(args.model, args.scale, args.mode)
        path = export(loaded, args.format, args.out, platforms=platforms)
    except (ExportError, ValueError, OSError) as e:
        parser.exit(2, f"{parser.prog}: error: {e}\n")
    c = loaded.config
    print(f"wrote {path} ({path.stat().st_size:,} bytes, {args.format}, student {c.size} x{c.scale} {c.mode}) "
          f"and {sidecar_path(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
