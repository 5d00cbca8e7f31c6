"""Official SwinIR PyTorch weights -> the Flax teacher, without torch.

    jaxsharp port 001_classicalSR_DIV2K_s48w8_SwinIR-M_x2.pth --out weights/swinir_m_x2
    python -m jaxsharp.port.swinir_torch ...          # the same command (also `python -m jaxsharp.port`)
    model = load_teacher("001_classicalSR_DIV2K_s48w8_SwinIR-M_x2.pth")   # a jaxsharp.teacher.Teacher, no directory

Reads the `.pth` with `jaxsharp.port.torch_pickle` (a restricted unpickler: nothing from the file is executed), picks
`params_ema`, `params` or a bare state dict, infers the config from tensor shapes, maps every PyTorch name to its
Flax parameter by the explicit rules in `NAME_RULES` (transposing Linear and Conv weights), checks that every source
tensor is used exactly once and every Flax parameter is filled, and writes an orbax checkpoint plus `config.json`.
The buffers `relative_position_index` and `attn_mask` are checked equal to the recomputed ones, then dropped.

Imports run one way: the converter needs only the Flax SwinIR (`jaxsharp.teacher.swinir`), `jaxsharp.checkpoint`
and `jaxsharp.port.torch_pickle`; `load_teacher` and `port` also use `jaxsharp.teacher` (build / save), which never
imports this package.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import pathlib
import re
import sys
import zipfile
import zlib

import numpy as np

from jaxsharp.port.torch_pickle import MAX_EXPANSION, CheckpointError, load_torch_file, select_state_dict

# (torch-name pattern, flax-name template, transform). Applied in order; the first match wins.
# Transforms: 'linear' [out, in] -> [in, out]; 'conv' [out, in, kh, kw] -> [kh, kw, in, out]; 'copy'.
NAME_RULES: tuple[tuple[str, str, str], ...] = (
    # Swin blocks
    (r"layers\.(\d+)\.residual_group\.blocks\.(\d+)\.(norm1|norm2)\.weight", r"layers/\1/residual_group/blocks/\2/\3/scale", "copy"),
    (r"layers\.(\d+)\.residual_group\.blocks\.(\d+)\.(norm1|norm2)\.bias", r"layers/\1/residual_group/blocks/\2/\3/bias", "copy"),
    (r"layers\.(\d+)\.residual_group\.blocks\.(\d+)\.attn\.relative_position_bias_table",
     r"layers/\1/residual_group/blocks/\2/attn/relative_position_bias_table", "copy"),
    (r"layers\.(\d+)\.residual_group\.blocks\.(\d+)\.attn\.(qkv|proj)\.weight", r"layers/\1/residual_group/blocks/\2/attn/\3/kernel", "linear"),
    (r"layers\.(\d+)\.residual_group\.blocks\.(\d+)\.attn\.(qkv|proj)\.bias", r"layers/\1/residual_group/blocks/\2/attn/\3/bias", "copy"),
    (r"layers\.(\d+)\.residual_group\.blocks\.(\d+)\.mlp\.(fc1|fc2)\.weight", r"layers/\1/residual_group/blocks/\2/mlp/\3/kernel", "linear"),
    (r"layers\.(\d+)\.residual_group\.blocks\.(\d+)\.mlp\.(fc1|fc2)\.bias", r"layers/\1/residual_group/blocks/\2/mlp/\3/bias", "copy"),
    # RSTB residual connection: '1conv' is one conv, '3conv' a Sequential with convs at 0, 2, 4
    (r"layers\.(\d+)\.conv\.weight", r"layers/\1/conv/kernel", "conv"),
    (r"layers\.(\d+)\.conv\.bias", r"layers/\1/conv/bias", "copy"),
    (r"layers\.(\d+)\.conv\.0\.(weight|bias)", r"layers/\1/conv/conv1/\2", "conv"),
    (r"layers\.(\d+)\.conv\.2\.(weight|bias)", r"layers/\1/conv/conv2/\2", "conv"),
    (r"layers\.(\d+)\.conv\.4\.(weight|bias)", r"layers/\1/conv/conv3/\2", "conv"),
    (r"conv_after_body\.0\.(weight|bias)", r"conv_after_body/conv1/\1", "conv"),
    (r"conv_after_body\.2\.(weight|bias)", r"conv_after_body/conv2/\1", "conv"),
    (r"conv_after_body\.4\.(weight|bias)", r"conv_after_body/conv3/\1", "conv"),
    # Norms outside the blocks
    (r"patch_embed\.norm\.weight", r"patch_embed_norm/scale", "copy"),
    (r"patch_embed\.norm\.bias", r"patch_embed_norm/bias", "copy"),
    (r"norm\.weight", r"norm/scale", "copy"),
    (r"norm\.bias", r"norm/bias", "copy"),
    # Reconstruction heads. 'pixelshuffle': Sequential(conv, shuffle, conv, shuffle...); convs at even indices.
    (r"conv_before_upsample\.0\.(weight|bias)", r"conv_before_upsample/\1", "conv"),
    (r"upsample\.(\d+)\.(weight|bias)", r"upsample/\1/\2", "conv"),  # index resolved in _rename_upsample
    (r"(conv_first|conv_after_body|conv_last|conv_up1|conv_up2|conv_hr)\.(weight|bias)", r"\1/\2", "conv"),
)

def _transform(array: np.ndarray, kind: str) -> np.ndarray:
    if kind == "linear":
        return np.ascontiguousarray(array.T)
    if kind == "conv" and array.ndim == 4:
        return np.ascontiguousarray(array.transpose(2, 3, 1, 0))
    return np.asarray(array)


def _is_buffer(name: str) -> bool:
    return name.endswith(".relative_position_index") or name.endswith(".attn_mask")


def _rename_upsample(flax_name: str, upsampler: str) -> str:
    match = re.fullmatch(r"upsample/(\d+)/(weight|bias)", flax_name)
    if not match:
        return flax_name
    index, leaf = int(match.group(1)), match.group(2)
    if index % 2:
        raise CheckpointError(f"upsample.{index} is a PixelShuffle slot and holds no parameters")
    if upsampler == "pixelshuffledirect":
        return f"upsample_conv/{leaf}"
    return f"upsample/convs/{index // 2}/{leaf}"


def torch_name_to_flax(name: str, upsampler: str) -> tuple[str, str]:
    """One PyTorch state-dict name -> (Flax flat name, transform). Raises CheckpointError for unknown names."""
    for pattern, template, kind in NAME_RULES:
        if re.fullmatch(pattern, name):
            flax_name = _rename_upsample(re.sub(pattern, template, name), upsampler)
            head, _, leaf = flax_name.rpartition("/")
            if leaf == "weight":  # captured torch leaf of a conv: Flax calls it 'kernel'
                flax_name = f"{head}/kernel"
            return flax_name, ("copy" if leaf == "bias" else kind)
    raise CheckpointError(f"no Flax parameter for the PyTorch tensor {name!r}")


# ----------------------------------------------------------------------------------------------------------------
# Config from tensor shapes


def img_range_from_filename(name: str) -> float:
    """The official JPEG-artifact models (006_CAR_*, 006_colorCAR_*) were trained with img_range 255."""
    return 255.0 if re.search(r"CAR_|_jpeg\d+", os.path.basename(name)) else 1.0


def infer_config(sd: dict[str, np.ndarray], *, name: str = "", **overrides):
    """SwinIRConfig from an official state dict's names and shapes; `overrides` win over anything inferred."""
    from jaxsharp.teacher.swinir import SwinIRConfig

    if any(k.startswith("absolute_pos_embed") for k in sd):
        raise CheckpointError(f"{name}: absolute position embedding (ape=True) is not supported")
    if "conv_first.weight" not in sd:
        raise CheckpointError(f"{name}: not a SwinIR state dict (no 'conv_first.weight'; keys: {list(sd)[:4]}...)")
    try:
        inferred = _inferred_config(sd, name)
    except KeyError as e:
        raise CheckpointError(f"{name}: incomplete SwinIR state dict (no tensor {e.args[0]!r})") from None
    except (ValueError, IndexError) as e:  # a tensor of the wrong rank: unpacking or indexing its shape fails
        raise CheckpointError(f"{name}: not a SwinIR state dict the port can read ({e})") from None
    unknown = set(overrides) - set(inferred)
    if unknown:
        raise ValueError(f"unknown SwinIR config option(s) {sorted(unknown)}; valid: {sorted(inferred)}")
    inferred.update(overrides)
    return SwinIRConfig(**inferred)


def _inferred_config(sd: dict[str, np.ndarray], name: str) -> dict:
    """The SwinIRConfig fields read from the state dict's names and shapes (KeyError for a missing tensor)."""
    embed_dim, in_chans = sd["conv_first.weight"].shape[:2]
    layer_ids = sorted({int(m.group(1)) for k in sd if (m := re.match(r"layers\.(\d+)\.", k))})
    depths, heads = [], []
    for i in layer_ids:
        blocks = {int(m.group(1)) for k in sd if (m := re.match(rf"layers\.{i}\.residual_group\.blocks\.(\d+)\.", k))}
        depths.append(len(blocks))
        heads.append(sd[f"layers.{i}.residual_group.blocks.0.attn.relative_position_bias_table"].shape[1])
    table_rows = sd["layers.0.residual_group.blocks.0.attn.relative_position_bias_table"].shape[0]
    window = (math.isqrt(table_rows) + 1) // 2
    mlp_hidden = sd["layers.0.residual_group.blocks.0.mlp.fc1.weight"].shape[0]
    resi = "3conv" if "conv_after_body.0.weight" in sd else "1conv"
    if "conv_up1.weight" in sd:
        upsampler, upscale = "nearest+conv", 4 if "conv_up2.weight" in sd else 2
    elif "conv_before_upsample.0.weight" in sd:
        upsampler = "pixelshuffle"
        convs = sorted(int(m.group(1)) for k in sd if (m := re.fullmatch(r"upsample\.(\d+)\.weight", k)))
        ratio = sd["upsample.0.weight"].shape[0] // sd["upsample.0.weight"].shape[1]
        upscale = 3 if ratio == 9 else 2 ** len(convs)
    elif "upsample.0.weight" in sd:
        upsampler = "pixelshuffledirect"
        upscale = math.isqrt(sd["upsample.0.weight"].shape[0] // in_chans)
    else:
        upsampler, upscale = "", 1
    img_size = 64
    masks = [k for k in sd if k.endswith(".attn_mask")]
    if masks:  # stored masks have (img_size / window)^2 windows
        img_size = math.isqrt(sd[masks[0]].shape[0]) * window
    inferred = dict(upscale=upscale, in_chans=int(in_chans), img_size=img_size, window_size=window,
                    img_range=img_range_from_filename(name), depths=tuple(depths), embed_dim=int(embed_dim),
                    num_heads=tuple(int(h) for h in heads), mlp_ratio=mlp_hidden / embed_dim, upsampler=upsampler,
                    resi_connection=resi, qkv_bias="layers.0.residual_group.blocks.0.attn.qkv.bias" in sd,
                    patch_norm="patch_embed.norm.weight" in sd)
    return inferred


# ----------------------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class PortReport:
    config: object
    n_params: int
    n_source_tensors: int
    dropped: dict[str, str]

    def summary(self) -> str:
        lines = [f"config: {json.dumps(self.config.to_json_dict())}",
                 f"parameters: {self.n_params:,} in {self.n_source_tensors - len(self.dropped)} tensors",
                 f"dropped: {len(self.dropped)} buffers"]
        reasons: dict[str, int] = {}
        for why in self.dropped.values():
            reasons[why] = reasons.get(why, 0) + 1
        lines += [f"  {n} x {why}" for why, n in reasons.items()]
        return "\n".join(lines)


def _check_buffer(name: str, value: np.ndarray, config, *, source: str) -> str:
    from jaxsharp.teacher.swinir import relative_position_index, shifted_window_mask

    window = config.block_window
    if name.endswith(".relative_position_index"):
        expected = relative_position_index(window)
        why = "relative_position_index: equal to the recomputed index"
    else:
        if value.ndim != 3 or value.shape[1] != window * window:
            raise CheckpointError(f"{source}: {name} has shape {value.shape}, not [nW, {window ** 2}, {window ** 2}]")
        size = math.isqrt(value.shape[0]) * window
        expected = shifted_window_mask(size, size, window, config.window_size // 2)
        why = "attn_mask: equal to the recomputed mask (recomputed per input size at run time)"
    if value.shape != expected.shape or not np.array_equal(value.astype(expected.dtype), expected):
        raise CheckpointError(f"{source}: buffer {name} differs from the one the official model computes")
    return why


def convert_state_dict(sd: dict[str, np.ndarray], *, source: str = "", **overrides):
    """PyTorch state dict -> (SwinIRConfig, flat float32 Flax params, PortReport). Every tensor accounted for."""
    from flax import nnx

    from jaxsharp.checkpoint import flat_param_vars
    from jaxsharp.teacher.swinir import SwinIR

    config = infer_config(sd, name=source, **overrides)
    abstract = nnx.eval_shape(lambda: SwinIR(config, rngs=nnx.Rngs(0)))
    targets = {k: v.get_value().shape for k, v in flat_param_vars(abstract).items()}
    flat, dropped = {}, {}
    for name, value in sd.items():
        if _is_buffer(name):
            dropped[name] = _check_buffer(name, value, config, source=source)
            continue
        if not np.issubdtype(value.dtype, np.floating) and value.dtype.name != "bfloat16":
            raise CheckpointError(f"{source}: parameter {name} has dtype {value.dtype}, expected floating point")
        flax_name, kind = torch_name_to_flax(name, config.upsampler)
        if flax_name in flat:
            raise CheckpointError(f"{source}: two PyTorch tensors map to {flax_name}")
        if flax_name not in targets:
            raise CheckpointError(f"{source}: {name} -> {flax_name}, which the inferred model does not have")
        array = _transform(np.asarray(value, dtype=np.float32), kind)
        if array.shape != targets[flax_name]:
            raise CheckpointError(f"{source}: {name} {value.shape} -> {flax_name} {array.shape}, "
                                  f"the model expects {targets[flax_name]}")
        flat[flax_name] = array
    missing = sorted(set(targets) - set(flat))
    if missing:
        raise CheckpointError(f"{source}: no PyTorch tensor for Flax parameter(s) {missing[:5]}")
    report = PortReport(config, sum(a.size for a in flat.values()), len(sd), dropped)
    return config, flat, report


def load_state_dict_file(path: str | os.PathLike, param_key: str | None = None) -> dict[str, np.ndarray]:
    """A `.pth` (torch-free reader) or a `.npz` keyed by PyTorch names -> state dict of numpy arrays."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such weights file")
    if path.suffix == ".npz":
        _check_npz(path)
        try:
            with np.load(path, allow_pickle=False) as npz:
                return {k: npz[k] for k in npz.files}
        except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error, MemoryError) as e:
            raise CheckpointError(f"{path}: cannot read as .npz ({' '.join(str(e).split())})") from None
    return select_state_dict(load_torch_file(path), param_key, path=path)


def _check_npz(path: pathlib.Path) -> None:
    """Refuse an .npz whose arrays would inflate far beyond the file (a zip bomb), before numpy allocates them.

    Each member's declared size must be within MAX_EXPANSION times the file (as for .pth storages), and the array
    its .npy header describes must fit in the member: numpy allocates the header's shape before reading any data.
    """
    size = path.stat().st_size
    limit = MAX_EXPANSION * max(size, 1)
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if info.file_size > limit:
                    raise CheckpointError(f"{path}: entry {info.filename!r} inflates to {info.file_size} bytes, over "
                                          f"{MAX_EXPANSION}x the file's {size} bytes (zip bomb?)")
                if not info.filename.endswith(".npy"):
                    continue
                with archive.open(info) as member:
                    version = np.lib.format.read_magic(member)
                    if version not in ((1, 0), (2, 0)):
                        continue  # numpy reads (and bounds) what it understands; 3.0 holds structured dtypes only
                    read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                                   else np.lib.format.read_array_header_2_0)
                    shape, _, dtype = read_header(member)
                    header_end = member.tell()
                nbytes = math.prod(shape) * dtype.itemsize
                if not dtype.hasobject and nbytes > info.file_size - header_end:
                    raise CheckpointError(f"{path}: array {info.filename[:-4]!r} {shape} {dtype} needs {nbytes} "
                                          f"bytes, its entry holds {info.file_size - header_end} (corrupt file?)")
    except CheckpointError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        raise CheckpointError(f"{path}: cannot read as .npz ({' '.join(str(e).split())})") from None


def load_teacher(path: str | os.PathLike, *, pad: str = "reflect", param_key: str | None = None, **overrides):
    """An official SwinIR `.pth`, or a `.npz` keyed by PyTorch names -> `jaxsharp.teacher.Teacher`, in memory.

    The config is inferred from tensor shapes (img_range from the official file name); `overrides` replace config
    fields (e.g. img_range=255.0). Nothing from the file is executed. The model maps NHWC float32 in [0, 1] to the
    raw x`scale` output. Raises CheckpointError (a ValueError) with one line for a file it cannot port.
    """
    from jaxsharp import teacher

    sd = load_state_dict_file(path, param_key)
    config, flat, _ = convert_state_dict(sd, source=str(path), **overrides)
    return teacher.build(config, flat, pad=pad, source=str(path))


def port(src: str | os.PathLike, out: str | os.PathLike, *, param_key: str | None = None, **overrides) -> PortReport:
    """Converts `src` and writes `out/` (orbax params + config.json); `out` must not exist yet."""
    from jaxsharp.teacher import save

    out = pathlib.Path(out)
    if out.exists():
        raise FileExistsError(f"{out}: already exists; choose a new --out directory")
    sd = load_state_dict_file(src, param_key)
    config, flat, report = convert_state_dict(sd, source=str(src), **overrides)
    save(out, config, flat, source=os.path.basename(src), n_params=report.n_params)
    return report


def main(argv: list[str] | None = None, *, prog: str = "python -m jaxsharp.port.swinir_torch") -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    parser.add_argument("src", help="official SwinIR .pth (or .npz keyed by PyTorch names)")
    parser.add_argument("--out", required=True, help="output directory (must not exist)")
    parser.add_argument("--param-key", default=None, help="top-level key to read (default: params_ema, params, or a bare state dict)")
    parser.add_argument("--img-range", type=float, default=None, help="override img_range (default: from the file name)")
    args = parser.parse_args(argv)
    overrides = {} if args.img_range is None else {"img_range": args.img_range}
    try:
        report = port(args.src, args.out, param_key=args.param_key, **overrides)
    except (CheckpointError, ValueError, OSError) as e:  # OSError: FileExistsError, an unwritable --out, disk full
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(report.summary())
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
