"""A loaded student as a serialized graph, in memory: StableHLO (jax.export) or ONNX (jax2onnx).

The file formats, their contracts and the command are jaxsharp/export.py's; this module only makes the bytes, so
that what runs them in this process (the onnxruntime backend, jaxsharp/onnxruntime_backend.py, under the engine)
needs neither the model registry nor the command. It imports no other jaxsharp module.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp
from jax import export as jax_export

if TYPE_CHECKING:
    from jaxsharp.loaded_model import LoadedModel

DEFAULT_PLATFORMS = ("cpu", "cuda", "rocm", "tpu")


class ExportError(Exception):
    """A request that cannot be exported (unknown model, missing dependency, mismatched flags)."""


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
