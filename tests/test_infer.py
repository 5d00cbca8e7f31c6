"""jaxsharp.infer: buckets compile once, tiles are seamless, bf16 stays close, files and bad inputs behave.

References: the loaded model's own `__call__` (whole frames), MATLAB bicubic `degrade.imresize_np` for the mode
adapters and the untrained (zero-tail) students, Pillow for what lands in the output files.
"""

from __future__ import annotations

import math
import pathlib

import jax
import numpy as np
import pytest
from flax import nnx
from PIL import Image, ImageCms

import jaxsharp
from jaxsharp import cli, degrade, infer, metrics, models, png16, student
from jaxsharp.checkpoint import flat_param_vars
from jaxsharp.demo import SAMPLE
from jaxsharp.image_io import read_image, read_image_rgb
from jaxsharp.student.model import abstract


def _save_student(path: pathlib.Path, *, mode: str = "sharpen", size: str | None = None, tail_std: float = 0.02,
                  seed: int = 0) -> pathlib.Path:
    """A student with He-normal hidden convs and a small random tail, drawn with NumPy (no per-layer compiles)."""
    config = (student.StudentConfig.from_size(size, scale=2, mode=mode) if size
              else student.StudentConfig(scale=2, mode=mode, channels=8, num_convs=3))
    rng = np.random.default_rng(seed)
    flat = {}
    for name, var in flat_param_vars(abstract(config)).items():
        std = 0.0 if name.endswith("bias") else tail_std if name.startswith("tail") else math.sqrt(
            2.0 / math.prod(var.shape[:-1]))
        flat[name] = (std * rng.standard_normal(var.shape)).astype(np.float32)
    return student.save(path, flat, config)


@pytest.fixture(scope="module")
def students(tmp_path_factory) -> dict[str, pathlib.Path]:
    root = tmp_path_factory.mktemp("students")
    return {mode: _save_student(root / mode, mode=mode) for mode in ("sharpen", "sr")}


@pytest.fixture(scope="module")
def zero_tail_students(tmp_path_factory) -> dict[str, pathlib.Path]:
    root = tmp_path_factory.mktemp("untrained")
    return {mode: _save_student(root / mode, mode=mode, tail_std=0.0) for mode in ("sharpen", "sr")}


def _noise(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((h, w, 3), dtype=np.float32)


# --- the engine ------------------------------------------------------------------------------------------------


def test_compiles_per_bucket_and_batch_size_for_mixed_sizes(students):
    engine = infer.Sharpener(student.load(students["sharpen"]), batch=2)
    sizes = [(30, 40), (50, 61), (64, 64), (70, 20), (33, 33), (1, 5), (100, 64), (65, 130)]
    frames = [_noise(h, w, i) for i, (h, w) in enumerate(sizes)]
    buckets = [(math.ceil(h / 64) * 64, math.ceil(w / 64) * 64) for h, w in sizes]
    outputs = engine(frames)
    assert [o.shape for o in outputs] == [(h, w, 3) for h, w in sizes]
    # Buckets (64, 64): 5 frames in calls of 2, 2 and 1; (128, 64): 2 frames, one call; (128, 192): 1 frame.
    assert sorted(buckets) == [(64, 64)] * 5 + [(128, 64)] * 2 + [(128, 192)]
    assert sorted(shape[:3] for shape in engine.stats) == [(1, 64, 64), (1, 128, 192), (2, 64, 64), (2, 128, 64)]
    assert engine.traces == 4
    engine(frames[::-1])
    assert engine.traces == 4  # a second pass over the same sizes compiles nothing


def test_a_short_call_runs_at_the_next_power_of_two_not_the_full_batch(students):
    engine = infer.Sharpener(student.load(students["sharpen"]), batch=8)
    assert [engine.compiled_batch(n) for n in range(1, 9)] == [1, 2, 4, 4, 8, 8, 8, 8]
    engine([_noise(40, 40)])
    assert list(engine.stats) == [(1, 64, 64, 3)]  # one image costs one image
    engine([_noise(40, 40, i) for i in range(3)])
    assert list(engine.stats) == [(1, 64, 64, 3), (4, 64, 64, 3)]
    with pytest.raises(ValueError, match="1 to 8 frames"):
        engine.compiled_batch(9)


def test_bucket_sized_frames_equal_the_model_and_others_differ_only_at_the_padded_edges(students):
    model = student.load(students["sharpen"])
    engine = infer.Sharpener(model, batch=1)
    exact = _noise(128, 64)
    np.testing.assert_allclose(engine([exact])[0], np.clip(np.asarray(model(exact[None]))[0], 0, 1), atol=1e-6)
    odd = _noise(100, 90, 1)
    ours, reference = engine([odd])[0], np.clip(np.asarray(model(odd[None]))[0], 0, 1)
    r = model.config.receptive_radius
    np.testing.assert_allclose(ours[:-r, :-r], reference[:-r, :-r], atol=1e-6)


@pytest.mark.parametrize("mode", ["sharpen", "sr"])
def test_tiles_equal_the_whole_frame_with_the_exact_overlap(students, mode):
    model = student.load(students[mode])  # a saved and reloaded student: the shipped format
    whole = infer.Sharpener(model, batch=2)([_noise(150, 170)])[0]
    tiled_engine = infer.Sharpener(model, batch=2, tile=64)
    tiled = tiled_engine([_noise(150, 170)])[0]
    assert tiled_engine.tile_for(192, 192) == 64  # it did run in tiles
    diff = np.abs(tiled - whole).max()
    print(f"tiny {mode} student, 150x170, tile 64, overlap {tiled_engine.overlap}: max |tiled - whole| {diff:.2e}")
    assert diff < 1e-4


def test_large_inputs_are_tiled_automatically(students):
    engine = infer.Sharpener(student.load(students["sharpen"]))
    assert engine.tile_for(1088, 1920) is None  # 1080p runs whole
    assert engine.tile_for(2176, 3840) == 1024  # 4K runs in tiles


def test_apply_is_pure_for_jit_and_vmap(students):
    model = jaxsharp.load_student(students["sharpen"])
    x = np.stack([_noise(16, 24, i) for i in range(6)]).reshape(2, 3, 16, 24, 3)
    jitted = jax.jit(model.apply)(model.params, x[0])
    np.testing.assert_allclose(jitted, np.asarray(model(x[0])), atol=1e-6)
    mapped = jax.vmap(model.apply, in_axes=(None, 0))(model.params, x)
    np.testing.assert_allclose(mapped[1], np.asarray(model(x[1])), atol=1e-6)


@pytest.mark.skipif("student_small_x2" not in models.shipped(), reason="student_small_x2 is not shipped yet")
def test_shipped_student_tiles_equal_the_whole_frame():
    model = models.load("student_small_x2")
    image = read_image_rgb(SAMPLE)[:200, :260]
    whole = infer.Sharpener(model, batch=1)([image])[0]
    tiled = infer.Sharpener(model, batch=4, tile=128)([image])[0]
    diff = np.abs(tiled - whole).max()
    print(f"shipped student_small_x2, 200x260, tile 128, overlap {model.default_overlap()}: "
          f"max |tiled - whole| {diff:.2e}")
    assert diff < 1e-4


def test_mode_adapters_are_matlab_bicubic_around_the_model(students):
    image = _noise(64, 128)
    sr_model = student.load(students["sr"])
    ours = infer.Sharpener(sr_model, mode="sharpen", batch=1)([image])[0]
    reference = np.asarray(sr_model(degrade.imresize_np(image, 0.5)[None]))[0]
    np.testing.assert_allclose(ours, np.clip(reference, 0, 1), atol=1e-5)
    sharpen_model = student.load(students["sharpen"])
    ours = infer.Sharpener(sharpen_model, mode="sr", batch=1)([image])[0]
    reference = np.asarray(sharpen_model(degrade.imresize_np(image, 2.0)[None]))[0]
    assert ours.shape == (128, 256, 3)
    np.testing.assert_allclose(ours, np.clip(reference, 0, 1), atol=1e-5)


def test_untrained_students_are_the_identity_and_bicubic(zero_tail_students):
    image = _noise(45, 70)
    same = jaxsharp.sharpen([image], model=student.load(zero_tail_students["sharpen"]))[0]
    np.testing.assert_allclose(same, image, atol=1e-6)
    larger = jaxsharp.sharpen([image], model=student.load(zero_tail_students["sr"]), mode="sr")[0]
    np.testing.assert_allclose(larger, np.clip(degrade.imresize_np(image, 2.0), 0, 1), atol=1e-5)


def test_sharpen_api_keeps_the_structure_and_caches_its_engine(students):
    model = jaxsharp.load_student(students["sharpen"])
    images = [_noise(20, 30), _noise(40, 10, 1)]
    out = jaxsharp.sharpen(images, model=model, batch=2)
    assert isinstance(out, list) and [o.shape for o in out] == [(20, 30, 3), (40, 10, 3)]
    assert all(o.dtype == np.float32 and o.min() >= 0 and o.max() <= 1 for o in out)
    stacked = jaxsharp.sharpen(np.stack([images[0]] * 3), model=model, batch=2)
    assert isinstance(stacked, np.ndarray) and stacked.shape == (3, 20, 30, 3)
    np.testing.assert_array_equal(stacked[1], out[0])
    grey = jaxsharp.sharpen([images[0][..., :1]], model=model, batch=2)[0]
    assert grey.shape == (20, 30, 1)
    engine = next(e for e in infer._ENGINES.values() if e.model is model)
    assert engine.traces == 2  # four calls, one bucket: batches of 2 and of 1
    with pytest.raises(TypeError, match="255"):
        jaxsharp.sharpen([np.zeros((8, 8, 3), np.uint8)], model=model)


def test_bfloat16_within_a_tenth_of_a_db_of_float32_on_set5(shared_data, tmp_path):
    name = "student_small_x2"
    if name in models.shipped():
        model = models.load(name)
    else:  # untrained `small` with a small random tail: an output near the blurry input, as a trained one is
        model = student.load(_save_student(tmp_path / "small", size="small", tail_std=1e-3))
        name = "random-init small x2"
    pairs = [degrade.bicubic_pair(read_image_rgb(p), 2, "sharpen")
             for p in sorted((shared_data / "benchmarks" / "Set5" / "HR").glob("*.png"))]
    psnr = {}
    for dtype in ("float32", "bfloat16"):
        outputs = jaxsharp.sharpen([blurry for blurry, _ in pairs], model=model, dtype=dtype, batch=1, bucket=128)
        assert all(np.isfinite(o).all() for o in outputs)
        psnr[dtype] = np.array([metrics.psnr_y(o, hr, crop_border=2) for o, (_, hr) in zip(outputs, pairs)])
    gap = psnr["bfloat16"] - psnr["float32"]
    print(f"{name}: Set5 x2 PSNR_Y float32 {psnr['float32'].mean():.3f} dB, bfloat16 {psnr['bfloat16'].mean():.3f} "
          f"dB; per image bf16 - fp32 {np.round(gap, 4).tolist()}")
    assert np.abs(gap).max() < 0.1


def test_a_teacher_runs_in_both_tasks():
    from jaxsharp import teacher
    from jaxsharp.teacher.swinir import SwinIR, SwinIRConfig

    config = SwinIRConfig(depths=(1,), embed_dim=12, num_heads=(2,), window_size=4, img_size=16)
    rng = np.random.default_rng(0)
    flat = {name: (np.ones(var.shape) if name.endswith("scale") else 0.05 * rng.standard_normal(var.shape))
            .astype(np.float32) for name, var in flat_param_vars(nnx.eval_shape(
                lambda: SwinIR(config, rngs=nnx.Rngs(0)))).items()}
    model = teacher.build(config, flat)
    image = _noise(20, 24)
    larger = jaxsharp.sharpen([image], model=model, mode="sr", bucket=16)[0]
    same = jaxsharp.sharpen([image], model=model, mode="sharpen", bucket=16)[0]
    assert larger.shape == (40, 48, 3) and same.shape == (20, 24, 3)
    assert np.isfinite(larger).all() and np.isfinite(same).all()


# --- models by name ----------------------------------------------------------------------------------------------


def test_names_pick_the_shipped_student_for_the_mode(tmp_path, ship_from):
    _save_student(tmp_path / "student_tiny_x2", mode="sharpen")
    _save_student(tmp_path / "student_tiny_x2_sr", mode="sr")
    ship_from("student", tmp_path)
    assert models.load("student-tiny", mode="sharpen").mode == "sharpen"
    assert models.load("student-tiny", mode="sr").mode == "sr"
    with pytest.raises(FileNotFoundError, match="no shipped student-tiny at x3.*student_tiny_x2"):
        models.load("student-tiny", scale=3)
    with pytest.raises(ValueError, match="x2 model; --scale 4"):
        models.load(tmp_path / "student_tiny_x2", scale=4)


# --- the command -----------------------------------------------------------------------------------------------


def _photo(path: pathlib.Path, size=(40, 50), seed=0) -> pathlib.Path:
    pixels = np.random.default_rng(seed).integers(0, 256, (*size, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


def test_no_flags_writes_name_sharp_png_beside_the_input(students, tmp_path, capsys):
    photo = _photo(tmp_path / "photo.jpg")
    assert infer.main([str(photo), "--model", str(students["sharpen"])]) == 0
    out = tmp_path / "photo_sharp.png"
    assert capsys.readouterr().out.strip() == str(out)
    assert Image.open(out).size == (50, 40) and Image.open(out).format == "PNG"


def test_folder_keeps_its_tree_reports_bad_files_and_goes_on(students, tmp_path, capsys):
    src = tmp_path / "photos"
    _photo(src / "a.png")
    _photo(src / "sub" / "deeper" / "b.jpg", size=(30, 20), seed=1)
    (src / "sub" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 30)
    _photo(src / ".hidden" / "c.png")
    out = src / "sharp"  # inside the input: never read back as an input
    args = [str(src), "-o", str(out), "--model", str(students["sharpen"])]
    assert infer.main(args) == 1
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "broken.png" in errors[0]
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == ["a.png", "sub/deeper/b.png"]
    assert Image.open(out / "sub" / "deeper" / "b.png").size == (20, 30)
    assert infer.main(args + ["--overwrite"]) == 1
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == written


def test_existing_outputs_and_the_input_are_not_replaced_without_overwrite(students, tmp_path, capsys):
    photo = _photo(tmp_path / "p.png")
    before = photo.read_bytes()
    model = ["--model", str(students["sharpen"])]
    assert infer.main([str(photo), "-o", str(photo)] + model) == 0
    assert photo.read_bytes() == before and "input itself" in capsys.readouterr().err
    (tmp_path / "p_sharp.png").write_bytes(b"keep me")
    assert infer.main([str(photo)] + model) == 0
    assert (tmp_path / "p_sharp.png").read_bytes() == b"keep me" and "exists" in capsys.readouterr().err
    assert infer.main([str(photo), "--overwrite"] + model) == 0
    assert Image.open(tmp_path / "p_sharp.png").size == (50, 40)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.png", "p_sharp.png"]  # no temporary files left


def test_bit_depth_alpha_grey_and_icc_survive(students, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    rng = np.random.default_rng(3)
    rgba16 = rng.integers(0, 65536, (24, 20, 4), dtype=np.uint16)
    (src / "deep.png").write_bytes(png16.encode(rgba16, icc_profile=profile))
    grey = rng.integers(0, 256, (16, 18), dtype=np.uint8)
    Image.fromarray(grey).save(src / "grey.png")
    for mode in ("sharpen", "sr"):
        out = tmp_path / mode
        assert infer.main([str(src), "-o", str(out), "--mode", mode, "--model", str(students[mode])]) == 0
        s = 2 if mode == "sr" else 1
        deep = read_image(out / "deep.png")
        assert deep.bits == 16 and deep.icc_profile == profile and deep.rgb.shape == (24 * s, 20 * s, 3)
        alpha = rgba16[..., 3] / np.float32(65535)
        expected = alpha if s == 1 else np.clip(degrade.imresize_np(alpha, 2.0), 0, 1)
        assert np.abs(deep.alpha - expected).max() <= 0.5 / 65535 + 1e-7  # resized, never sharpened
        with Image.open(out / "grey.png") as g:
            assert g.mode == "L" and g.size == (18 * s, 16 * s)


def test_a_decompression_bomb_is_refused_with_a_message(students, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)  # the command sets it; restore after
    photo = _photo(tmp_path / "big.png", size=(40, 40))
    assert infer.main([str(photo), "--max-pixels", "1000", "--model", str(students["sharpen"])]) == 1
    assert "decompression bomb" in capsys.readouterr().err
    assert not (tmp_path / "big_sharp.png").exists()


def test_usage_errors_exit_2(students, tmp_path, capsys, ship_from):
    photo = _photo(tmp_path / "p.png")
    ship_from("teacher", tmp_path / "no_teachers")  # as an install without the asset
    for argv in ([str(photo), "--no-such-option"], [str(photo), "--batch", "0"], [str(photo), "--mode", "blur"]):
        with pytest.raises(SystemExit) as info:
            infer.main(argv)
        assert info.value.code == 2
    assert infer.main([str(photo), "--model", "teacher"]) == 2
    assert "jaxsharp port" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        cli.main(["unsharpen", str(photo)])
    assert info.value.code == 2


def test_the_shipped_teacher_is_the_project_swinir_s_x2():
    # `--model teacher` finds jaxsharp/assets/teachers/swinir_s_x2 (experiments/teacher_swinir_s_x2.py's export).
    from jaxsharp.teacher import Teacher

    model = models.load("teacher", mode="sharpen")
    assert isinstance(model, Teacher)
    c = model.config
    assert (c.upscale, c.embed_dim, tuple(c.depths), c.window_size, c.upsampler) == (
        2, 60, (6, 6, 6, 6), 8, "pixelshuffledirect")
    with pytest.raises(FileNotFoundError, match="x3"):
        models.load("teacher", scale=3)


def test_jaxsharp_command_runs_sharpen_and_reports_compiles(students, tmp_path, capsys):
    photo = _photo(tmp_path / "p.png")
    assert cli.main(["sharpen", str(photo), "--model", str(students["sharpen"]), "-v", "--dtype", "bfloat16"]) == 0
    err = capsys.readouterr().err
    assert "shape 1x64x64x3: compiled in" in err and "1 written, 0 skipped, 0 failed" in err  # one image: batch 1
