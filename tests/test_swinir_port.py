"""The port utility: official .pth files -> Flax teacher, every tensor accounted for, nothing executed."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import zipfile

import jax
import numpy as np
import pytest

from jaxsharp import teacher
from jaxsharp.teacher.swinir import SwinIRConfig
from jaxsharp.port import swinir_torch
from jaxsharp.port.torch_pickle import CheckpointError

REPO = __import__("pathlib").Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ref_dir(shared_data):
    return shared_data / "reference" / "swinir"


def _run_port(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jaxsharp.port.swinir_torch", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=300)


# ---------------------------------------------------------------------------------------------------------------
# Official-format .pth fixtures load to exactly the npz tensors.


@pytest.mark.parametrize("pth, npz, key, cast", [
    ("tiny_classical_x2_official_params.pth", "tiny_classical_x2_weights.npz", None, None),
    ("tiny_classical_x2_official_params_ema_legacy.pth", "tiny_classical_x2_weights.npz", None, None),
    ("tiny_classical_x2_official_params_ema_legacy.pth", "tiny_classical_x2_weights.npz", "params", None),
    ("tiny_classical_x2_official_params_fp16.pth", "tiny_classical_x2_weights.npz", None, np.float16),
    ("swinirS_lightweight_x2_official_params.pth", "swinirS_lightweight_x2_weights.npz", None, None),
])
def test_pth_loads_to_npz_params(ref_dir, pth, npz, key, cast):
    _, from_pth, _ = swinir_torch.convert_state_dict(swinir_torch.load_state_dict_file(ref_dir / pth, key))
    with np.load(ref_dir / npz) as z:
        sd = {k: z[k] for k in z.files}
    if cast is not None:
        sd = {k: v.astype(cast).astype(np.float32) for k, v in sd.items()}
    _, from_npz, _ = swinir_torch.convert_state_dict(sd)
    assert from_pth.keys() == from_npz.keys()
    for k in from_npz:
        np.testing.assert_array_equal(from_pth[k], from_npz[k], err_msg=k)


def test_port_cli_writes_a_directory_that_loads(ref_dir, tmp_path):
    out = tmp_path / "tiny_x2"
    result = _run_port(str(ref_dir / "tiny_classical_x2_official_params.pth"), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert '"upsampler": "pixelshuffle"' in result.stdout and "201,911" in result.stdout
    assert "4 x relative_position_index" in result.stdout and "2 x attn_mask" in result.stdout
    meta = json.loads((out / "config.json").read_text())
    assert meta["config"]["depths"] == [2, 2] and meta["n_params"] == 201911
    x = np.load(ref_dir / "tiny_classical_x2_in_61x38.npy").transpose(0, 2, 3, 1)
    from_dir = np.asarray(teacher.load(out)(x))
    from_npz = np.asarray(swinir_torch.load_teacher(ref_dir / "tiny_classical_x2_weights.npz")(x))
    np.testing.assert_array_equal(from_dir, from_npz)
    # An existing output directory is never overwritten.
    again = _run_port(str(ref_dir / "tiny_classical_x2_official_params.pth"), "--out", str(out))
    assert again.returncode == 1 and "already exists" in again.stderr


def test_teacher_load_reads_directories_only_and_points_files_at_the_port(ref_dir, tmp_path):
    # jaxsharp.teacher never imports jaxsharp.port (tests/test_import_graph.py): weights files go through the port.
    for weights in (ref_dir / "tiny_classical_x2_official_params.pth", ref_dir / "tiny_classical_x2_weights.npz",
                    tmp_path / "missing.pth"):
        with pytest.raises(ValueError) as info:
            teacher.load(weights)
        message = str(info.value)
        assert "\n" not in message and message.startswith(f"{weights}:"), message
        assert "jaxsharp.port.swinir_torch.load_teacher" in message and f"jaxsharp port {weights} --out DIR" in message
    with pytest.raises(FileNotFoundError, match="no such ported teacher directory"):
        teacher.load(tmp_path / "missing")


def test_load_teacher_takes_pad_param_key_and_overrides(ref_dir):
    model = swinir_torch.load_teacher(ref_dir / "tiny_classical_x2_official_params_ema_legacy.pth", pad="testpad",
                                      param_key="params", img_range=255.0)
    assert isinstance(model, teacher.Teacher) and model.pad == "testpad" and model.config.img_range == 255.0
    with pytest.raises(CheckpointError, match="no such weights file"):
        swinir_torch.load_teacher(ref_dir / "missing.pth")


def test_port_command_names_its_front(capsys):
    # `jaxsharp port` (jaxsharp.cli) passes its own name; `python -m jaxsharp.port` is the same command.
    with pytest.raises(SystemExit) as info:
        swinir_torch.main(["--help"], prog="jaxsharp port")
    assert info.value.code == 0 and capsys.readouterr().out.startswith("usage: jaxsharp port ")
    result = subprocess.run([sys.executable, "-m", "jaxsharp.port", "--help"], cwd=REPO, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.startswith("usage: python -m jaxsharp.port ")


class _Evil:
    def __init__(self, sentinel):
        self.sentinel = sentinel

    def __reduce__(self):
        import os

        return os.system, (f"touch {self.sentinel}",)


def _torch_like_zip(path, payload: bytes):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", payload)
        z.writestr("archive/version", "3\n")


def test_port_cli_refuses_malicious_pth(tmp_path):
    sentinel = tmp_path / "pwned"
    evil = tmp_path / "evil.pth"
    _torch_like_zip(evil, pickle.dumps({"params": _Evil(sentinel)}, protocol=2))
    result = _run_port(str(evil), "--out", str(tmp_path / "out"))
    assert result.returncode == 1
    assert "system" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not sentinel.exists() and not (tmp_path / "out").exists()


@pytest.mark.parametrize("case", ["empty", "text", "truncated", "wrong_key", "not_swinir"])
def test_port_cli_bad_files_give_one_line_errors(ref_dir, tmp_path, case):
    src = tmp_path / f"{case}.pth"
    extra = []
    if case == "empty":
        src.write_bytes(b"")
    elif case == "text":
        src.write_text("this is not a checkpoint\n")
    elif case == "truncated":
        src.write_bytes((ref_dir / "tiny_classical_x2_official_params.pth").read_bytes()[:300_000])
    elif case == "wrong_key":
        src.write_bytes((ref_dir / "tiny_classical_x2_official_params.pth").read_bytes())
        extra = ["--param-key", "state_dict_ema"]
    else:
        np.savez(tmp_path / "not_swinir.npz", **{"fc.weight": np.zeros((2, 2), np.float32)})
        src = tmp_path / "not_swinir.npz"
    result = _run_port(str(src), "--out", str(tmp_path / "out"), *extra)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and src.name in lines[0], result.stderr
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------------------------------------------
# Every official variant: the name map covers the official state-dict layout, written out here from the
# official model definition (network_swinir.py), independently of the port's rules.


def official_state_dict(c: SwinIRConfig, rng: np.random.Generator) -> dict[str, np.ndarray]:
    e, cin, w = c.embed_dim, c.in_chans, c.window_size
    hid = int(e * c.mlp_ratio)
    shapes: dict[str, tuple] = {"conv_first.weight": (e, cin, 3, 3), "conv_first.bias": (e,)}
    if c.patch_norm:
        shapes.update({"patch_embed.norm.weight": (e,), "patch_embed.norm.bias": (e,)})

    def resi(prefix):
        if c.resi_connection == "1conv":
            return {f"{prefix}.weight": (e, e, 3, 3), f"{prefix}.bias": (e,)}
        q = e // 4
        return {f"{prefix}.0.weight": (q, e, 3, 3), f"{prefix}.0.bias": (q,), f"{prefix}.2.weight": (q, q, 1, 1),
                f"{prefix}.2.bias": (q,), f"{prefix}.4.weight": (e, q, 3, 3), f"{prefix}.4.bias": (e,)}

    for i, (depth, heads) in enumerate(zip(c.depths, c.num_heads)):
        for j in range(depth):
            b = f"layers.{i}.residual_group.blocks.{j}"
            shapes.update({
                f"{b}.norm1.weight": (e,), f"{b}.norm1.bias": (e,),
                f"{b}.attn.relative_position_bias_table": ((2 * w - 1) ** 2, heads),
                f"{b}.attn.qkv.weight": (3 * e, e), f"{b}.attn.qkv.bias": (3 * e,),
                f"{b}.attn.proj.weight": (e, e), f"{b}.attn.proj.bias": (e,),
                f"{b}.norm2.weight": (e,), f"{b}.norm2.bias": (e,),
                f"{b}.mlp.fc1.weight": (hid, e), f"{b}.mlp.fc1.bias": (hid,),
                f"{b}.mlp.fc2.weight": (e, hid), f"{b}.mlp.fc2.bias": (e,)})
        shapes.update(resi(f"layers.{i}.conv"))
    shapes.update({"norm.weight": (e,), "norm.bias": (e,)})
    shapes.update(resi("conv_after_body"))
    s, nf = c.upscale, 64
    if c.upsampler == "pixelshuffle":
        shapes.update({"conv_before_upsample.0.weight": (nf, e, 3, 3), "conv_before_upsample.0.bias": (nf,)})
        steps = [9] if s == 3 else [4] * int(np.log2(s))
        for k, r in enumerate(steps):
            shapes.update({f"upsample.{2 * k}.weight": (r * nf, nf, 3, 3), f"upsample.{2 * k}.bias": (r * nf,)})
        shapes.update({"conv_last.weight": (cin, nf, 3, 3), "conv_last.bias": (cin,)})
    elif c.upsampler == "pixelshuffledirect":
        shapes.update({"upsample.0.weight": (s * s * cin, e, 3, 3), "upsample.0.bias": (s * s * cin,)})
    elif c.upsampler == "nearest+conv":
        shapes.update({"conv_before_upsample.0.weight": (nf, e, 3, 3), "conv_before_upsample.0.bias": (nf,)})
        for name in ["conv_up1"] + (["conv_up2"] if s == 4 else []) + ["conv_hr"]:
            shapes.update({f"{name}.weight": (nf, nf, 3, 3), f"{name}.bias": (nf,)})
        shapes.update({"conv_last.weight": (cin, nf, 3, 3), "conv_last.bias": (cin,)})
    else:
        shapes.update({"conv_last.weight": (cin, e, 3, 3), "conv_last.bias": (cin,)})
    sd = {k: (0.05 * rng.standard_normal(v)).astype(np.float32) for k, v in shapes.items()}
    # The official files also store two buffers per block (checked against a real .pth in the test below).
    from jaxsharp.teacher.swinir import relative_position_index, shifted_window_mask

    for i, depth in enumerate(c.depths):
        for j in range(depth):
            b = f"layers.{i}.residual_group.blocks.{j}"
            sd[f"{b}.attn.relative_position_index"] = relative_position_index(w)
            if j % 2:
                sd[f"{b}.attn_mask"] = shifted_window_mask(c.img_size, c.img_size, w, w // 2)
    return sd


# One tiny stand-in per row of the official release table (same structure, small widths).
VARIANTS = {
    "classicalSR_M_x2": dict(upscale=2, upsampler="pixelshuffle", img_size=48),
    "classicalSR_M_x3": dict(upscale=3, upsampler="pixelshuffle", img_size=48),
    "classicalSR_M_x8": dict(upscale=8, upsampler="pixelshuffle", img_size=64),
    "lightweightSR_S_x3": dict(upscale=3, upsampler="pixelshuffledirect"),
    "realSR_M_x4_GAN": dict(upscale=4, upsampler="nearest+conv"),
    "realSR_M_x2_GAN": dict(upscale=2, upsampler="nearest+conv"),
    "realSR_L_x4_GAN_3conv": dict(upscale=4, upsampler="nearest+conv", resi_connection="3conv", embed_dim=16,
                                  num_heads=(2, 4)),
    "grayDN": dict(upscale=1, upsampler="", in_chans=1, img_size=128),
    "colorDN": dict(upscale=1, upsampler="", img_size=128),
    "grayCAR_w7": dict(upscale=1, upsampler="", in_chans=1, window_size=7, img_size=126, img_range=255.0),
    "colorCAR_w7": dict(upscale=1, upsampler="", window_size=7, img_size=126, img_range=255.0),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_official_variant_maps_and_runs(variant):
    kwargs = {**dict(depths=(1, 2), embed_dim=12, num_heads=(2, 3), mlp_ratio=2.0), **VARIANTS[variant]}
    config = SwinIRConfig(**kwargs)
    sd = official_state_dict(config, np.random.default_rng(0))
    name = "006_colorCAR_DFWB_s126w7_SwinIR-M_jpeg10.pth" if config.img_range == 255 else "x.pth"
    converted, flat, report = swinir_torch.convert_state_dict(sd, source=name)
    assert converted == config  # every field inferred back from shapes (img_range from the file name)
    buffers = [k for k in sd if k.endswith(("relative_position_index", "attn_mask"))]
    assert sorted(report.dropped) == sorted(buffers)
    assert report.n_params == sum(v.size for k, v in sd.items() if k not in buffers)
    model = teacher.build(converted, flat)
    x = np.random.default_rng(1).random((1, 13, 10, config.in_chans), dtype=np.float32)
    y = np.asarray(model(x))
    assert y.shape == (1, 13 * config.upscale, 10 * config.upscale, config.in_chans) and np.isfinite(y).all()


def test_restoration_head_is_a_residual_on_the_input():
    # Closed form: with conv_last zeroed, the denoising / JPEG model returns its input exactly (up to float
    # rounding of the mean shift and img_range scaling).
    config = SwinIRConfig(**dict(depths=(1,), embed_dim=12, num_heads=(2,), **VARIANTS["colorCAR_w7"]))
    sd = official_state_dict(config, np.random.default_rng(0))
    sd["conv_last.weight"][:] = 0
    sd["conv_last.bias"][:] = 0
    _, flat, _ = swinir_torch.convert_state_dict(sd, source="006_colorCAR_jpeg10.pth")
    x = np.random.default_rng(2).random((1, 20, 15, 3), dtype=np.float32)
    np.testing.assert_allclose(np.asarray(teacher.build(config, flat)(x)), x, atol=1e-5)


def test_buffers_are_checked_then_dropped(ref_dir):
    from jaxsharp.port.torch_pickle import load_torch_file, select_state_dict

    sd = select_state_dict(load_torch_file(ref_dir / "tiny_classical_x2_official_params.pth"))
    _, _, report = swinir_torch.convert_state_dict(sd)
    assert len(report.dropped) == 6  # 4 relative_position_index + 2 attn_mask (img_size 48: 36 windows)
    key = "layers.0.residual_group.blocks.1.attn_mask"
    sd[key] = sd[key].copy()
    sd[key][0, 0, 1] = -50.0
    with pytest.raises(CheckpointError, match="attn_mask differs"):
        swinir_torch.convert_state_dict(sd)


def test_unsupported_options_are_rejected():
    with pytest.raises(ValueError, match="upsampler"):
        SwinIRConfig(upsampler="bilinear")
    with pytest.raises(ValueError, match="resi_connection"):
        SwinIRConfig(resi_connection="2conv")
    with pytest.raises(ValueError, match="in_chans"):
        SwinIRConfig(in_chans=4)
    with pytest.raises(ValueError, match="upscale"):
        SwinIRConfig(upsampler="nearest+conv", upscale=3)
    with pytest.raises(ValueError, match="upscale"):
        SwinIRConfig(upsampler="pixelshuffle", upscale=5)
    with pytest.raises(ValueError, match="divisible"):
        SwinIRConfig(embed_dim=60, num_heads=(7, 6, 6, 6))
    with pytest.raises(ValueError, match="unknown SwinIR config"):
        swinir_torch.infer_config(official_state_dict(SwinIRConfig(depths=(1,), num_heads=(6,)),
                                                      np.random.default_rng(0)), drop_path_rate=0.1)
    with pytest.raises(ValueError, match="pad mode"):
        teacher.build(SwinIRConfig(depths=(1,), num_heads=(6,)), {}, pad="zeros")
