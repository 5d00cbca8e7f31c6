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
import logging
import os
import pathlib
import sys

import jax
import jax.numpy as jnp
from jax import export as jax_export

from jaxsharp import atomic, models
from jaxsharp.loaded_model import LoadedModel
from jaxsharp.degrade import MODES

FORMATS = ("stablehlo", "onnx")
DEFAULT_PLATFORMS = ("cpu", "cuda", "rocm", "tpu")


class ExportError(Exception):
    """A request that cannot be exported (unknown model, missing dependency, mismatched flags)."""


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


def input_shape(config) -> tuple:
    """Symbolic input shape: sharpen needs H, W multiples of the block (space-to-depth), sr needs H, W >= 2
    (the bicubic residual mirror-pads by 2)."""
    if config.mode == "sharpen":
        return jax_export.symbolic_shape(f"b, {config.block}*h, {config.block}*w, 3")
    return jax_export.symbolic_shape("b, h, w, 3", constraints=("h >= 2", "w >= 2"))


def _forward(loaded: LoadedModel):
    params = loaded.params
    return lambda x: loaded.apply(params, x)


def export_stablehlo(loaded: LoadedModel, platforms=DEFAULT_PLATFORMS) -> tuple[bytes, dict]:
    """(serialized jax.export.Exported, sidecar facts). Batch, H, W symbolic; see the module docstring."""
    spec = jax.ShapeDtypeStruct(input_shape(loaded.config), jnp.float32)
    exported = jax_export.export(jax.jit(_forward(loaded)), platforms=tuple(platforms))(spec)
    facts = {
        "platforms": list(exported.platforms),
        "calling_convention_version": exported.calling_convention_version,
        "input": {"shape": [str(d) for d in exported.in_avals[0].shape], "dtype": "float32"},
        "output": {"shape": [str(d) for d in exported.out_avals[0].shape], "dtype": "float32"},
    }
    return bytes(exported.serialize()), facts


def _import_jax2onnx():
    try:
        import jax2onnx
    except ImportError as e:
        raise ExportError(f"ONNX export needs jax2onnx ({e}): pip install -e '.[export]' && "
                          "pip install --no-deps 'jax2onnx==0.17.1' (see `python -m jaxsharp.export --help`)") from None
    return jax2onnx


def export_onnx(loaded: LoadedModel) -> tuple[bytes, dict]:
    """(serialized ONNX ModelProto, sidecar facts). Input 'image' [B, H, W, 3], output 'output'; dynamic B, H, W."""
    jax2onnx = _import_jax2onnx()
    config = loaded.config
    forward = _forward(loaded)
    if config.mode == "sharpen":
        # jax2onnx can only name a graph input's dims by plain symbols (an 's*h' input dim has no origin for 'h'),
        # so H and W enter plain and are cropped to multiples of the block, which space-to-depth can then prove.
        s = config.block

        def fn(x):
            b, h, w, c = x.shape
            return forward(jax.lax.slice(x, (0, 0, 0, 0), (b, s * (h // s), s * (w // s), c)))

        inputs = [("B", "H", "W", 3)]
    else:
        fn = forward
        inputs = [jax.ShapeDtypeStruct(input_shape(config), jnp.float32)]
    serde_log = logging.getLogger("onnx_ir.serde")
    level = serde_log.level
    serde_log.setLevel(logging.ERROR)  # one warning per untyped shape temp: noise, the graph checks and runs
    try:
        proto = jax2onnx.to_onnx(fn, inputs, model_name=f"jaxsharp_student_{config.size}_x{config.scale}",
                                 input_names=["image"], output_names=["output"])
    finally:
        serde_log.setLevel(level)
    import onnx

    onnx.checker.check_model(proto)

    def dims(value_info):
        return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]

    facts = {
        "opset": max(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")),
        "input": {"name": "image", "shape": dims(proto.graph.input[0]), "dtype": "float32"},
        "output": {"name": "output", "shape": dims(proto.graph.output[0]), "dtype": "float32"},
        "jax2onnx_version": getattr(jax2onnx, "__version__", "unknown"),
    }
    return proto.SerializeToString(), facts


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
