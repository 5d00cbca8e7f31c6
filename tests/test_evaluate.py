"""evaluate: the CLI reproduces published numbers (bicubic Set5 x2, official SwinIR outputs), skips bad files
with a warning, and fails cleanly (exit 2, one line) on a missing set or an unavailable method."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from jaxsharp import baselines, evaluate
from jaxsharp.image_io import read_image_rgb, write_image

SWINIR_M_X2 = ("teacher_outputs", "swinir_set5", "classicalSR_SwinIR-M_x2_DIV2K")
RESULT_KEYS = {"set", "method", "scale", "mode", "degradation", "psnr_y", "ssim_y", "psnr_rgb", "ssim_rgb", "n_images",
               "images"}


def _small_hr_dir(shared_data, tmp_path, names=("butterfly", "bird"), size=64):
    folder = tmp_path / "hr"
    for name in names:
        hr = read_image_rgb(shared_data / "benchmarks" / "Set5" / "HR" / f"{name}.png")
        write_image(folder / f"{name}.png", hr[64 : 64 + size, 64 : 64 + size])
    return folder


def test_cli_bicubic_set5_x2_reproduces_the_literature(shared_data, tmp_path, capsys):
    out = tmp_path / "res" / "bicubic.json"
    code = evaluate.main(["--method", "bicubic", "--scale", "2", "--sets", "Set5", "--data-root", str(shared_data),
                          "--json", str(out), "--no-progress"])
    assert code == 0
    (row,) = json.loads(out.read_text())["results"]
    assert set(row) == RESULT_KEYS
    assert (row["set"], row["method"], row["scale"], row["mode"], row["degradation"], row["n_images"]) == (
        "Set5", "bicubic", 2, "sr", "bicubic", 5)
    assert abs(row["psnr_y"] - 33.66) <= 0.02 and abs(row["ssim_y"] - 0.9299) <= 0.001
    assert {img["name"] for img in row["images"]} == {"baby", "bird", "butterfly", "head", "woman"}
    assert row["psnr_y"] == pytest.approx(np.mean([img["psnr_y"] for img in row["images"]]))
    assert "| Set5 | bicubic | x2 | sr | bicubic | 5 | 33.6" in capsys.readouterr().out
    assert not list(out.parent.glob(".*tmp"))  # atomic write leaves no temp file


def test_cli_predictions_reproduce_swinir_m_x2(shared_data, tmp_path):
    out = tmp_path / "pred.json"
    evaluate.main(["--method", "predictions", "--predictions", str(shared_data.joinpath(*SWINIR_M_X2)),
                   "--sets", "Set5", "--scale", "2", "--data-root", str(shared_data), "--json", str(out),
                   "--no-progress"])
    (row,) = json.loads(out.read_text())["results"]
    assert row["n_images"] == 5
    assert abs(row["psnr_y"] - 38.35) <= 0.01 and abs(row["ssim_y"] - 0.9620) <= 0.0001


def test_corrupt_and_fake_images_warn_and_the_rest_is_evaluated(shared_data, tmp_path, capsys):
    folder = _small_hr_dir(shared_data, tmp_path)
    good = (folder / "bird.png").read_bytes()
    (folder / "corrupt.png").write_bytes(good[: len(good) // 2])  # truncated PNG
    (folder / "notes.png").write_text("not an image\n")
    out = tmp_path / "r.json"
    code = evaluate.main(["--method", "bicubic", "--hr-dir", str(folder), "--json", str(out), "--no-progress"])
    assert code == 0
    err = capsys.readouterr().err
    assert "corrupt.png" in err and "notes.png" in err
    (row,) = json.loads(out.read_text())["results"]
    assert row["n_images"] == 2 and {i["name"] for i in row["images"]} == {"bird", "butterfly"}
    assert all(math.isfinite(i["psnr_y"]) for i in row["images"])


def test_evaluate_set_warns_with_the_file_name(shared_data, tmp_path):
    folder = _small_hr_dir(shared_data, tmp_path, names=("bird",))
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    method = evaluate.make_method("bicubic", scale=2, mode="sr")
    with pytest.warns(evaluate.UnreadableImageWarning, match="broken.png"):
        row = evaluate.evaluate_set("tiny", folder, method, method_name="bicubic", scale=2, mode="sr",
                                    progress=False)
    assert row["n_images"] == 1


def test_missing_set_exits_2_with_one_line(shared_data, capsys):
    with pytest.raises(SystemExit) as exc:
        evaluate.main(["--method", "bicubic", "--sets", "Set5,NoSuchSet", "--data-root", str(shared_data)])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "NoSuchSet" in err


def test_degradation_is_recorded_and_an_unknown_one_exits_2_with_one_line(shared_data, tmp_path, capsys,
                                                                         toy_degradation):
    folder = _small_hr_dir(shared_data, tmp_path)
    rows = {}
    for name in ("bicubic", toy_degradation):
        out = tmp_path / f"{name}.json"
        assert evaluate.main(["--method", "bicubic", "--mode", "sharpen", "--hr-dir", str(folder), "--json", str(out),
                              "--degradation", name, "--no-progress"]) == 0
        (rows[name],) = json.loads(out.read_text())["results"]
        assert set(rows[name]) == RESULT_KEYS and rows[name]["degradation"] == name
        assert f"| hr | bicubic | x2 | sharpen | {name} | 2 |" in capsys.readouterr().out
    # sharpen-mode bicubic is the input itself: the noisy input scores lower than the clean one.
    assert rows[toy_degradation]["psnr_y"] < rows["bicubic"]["psnr_y"] - 1.0
    again = evaluate.evaluate_set("hr", folder, evaluate.make_method("bicubic", scale=2, mode="sharpen"),
                                  method_name="bicubic", scale=2, mode="sharpen", progress=False,
                                  degradation=toy_degradation)
    assert again["psnr_y"] == rows[toy_degradation]["psnr_y"]  # seeded per image: the same noise every run

    with pytest.raises(SystemExit) as exc:
        evaluate.main(["--method", "bicubic", "--hr-dir", str(folder), "--degradation", "nosuch"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "unknown degradation 'nosuch'" in err and "bicubic" in err


def test_unknown_option_exits_2():
    with pytest.raises(SystemExit) as exc:
        evaluate.main(["--method", "bicubic", "--no-such-option"])
    assert exc.value.code == 2


def test_missing_weights_are_a_one_line_error(capsys):
    with pytest.raises(SystemExit) as exc:
        evaluate.main(["--method", "student", "--weights", "no_such_weights"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "no_such_weights: no such model file or directory" in err and len(err.strip().splitlines()) == 1


def test_sharpen_bicubic_is_the_blurry_input_and_equals_sr_bicubic(shared_data, tmp_path):
    # quantize=True builds blurry exactly as the sr bicubic baseline upsamples lr, so the two rows agree.
    folder = _small_hr_dir(shared_data, tmp_path)
    rows = [evaluate.evaluate_set("tiny", folder, evaluate.make_method("bicubic", scale=2, mode=mode),
                                  method_name="bicubic", scale=2, mode=mode, progress=False)
            for mode in ("sr", "sharpen")]
    assert rows[0]["psnr_y"] == rows[1]["psnr_y"] and rows[0]["ssim_rgb"] == rows[1]["ssim_rgb"]


def test_unsharp_and_lanczos_run_and_save_outputs_and_figure(shared_data, tmp_path):
    folder = _small_hr_dir(shared_data, tmp_path)
    save = tmp_path / "save"
    code = evaluate.main(["--method", "unsharp", "--hr-dir", str(folder), "--save-dir", str(save), "--no-progress"])
    assert code == 0
    assert (save / "hr" / "bird.png").is_file() and (save / "hr_crops.png").is_file()
    row = evaluate.evaluate_set("tiny", folder, evaluate.make_method("lanczos", scale=2, mode="sr"),
                                method_name="lanczos", scale=2, mode="sr", progress=False)
    assert row["n_images"] == 2 and 20 < row["psnr_y"] < 60


def test_unsharp_mask_closed_forms():
    x = np.random.default_rng(0).random((20, 24, 3)).astype(np.float32) * 0.5 + 0.25
    np.testing.assert_allclose(baselines.unsharp_mask(np.full((9, 9, 3), 0.4), 1.0, 2.0, 0.0), 0.4, atol=1e-7)
    np.testing.assert_allclose(baselines.unsharp_mask(x, 1.0, 0.0, 0.0), x, atol=1e-7)
    np.testing.assert_allclose(baselines.unsharp_mask(x, 1.0, 1.0, 1.0), x, atol=1e-7)  # threshold above all detail


def test_categories_expand_to_one_row_each(shared_data):
    rows = evaluate.resolve_sets(["Set5", "categories"], shared_data)
    assert rows[0][0] == "Set5"
    assert [name for name, _ in rows[1:]] == [f"categories/{c}" for c in
                                             ("animals", "games", "nature", "people", "text")]


def _teacher_load():
    try:
        from jaxsharp.teacher import load
    except ImportError:
        return None
    return load


@pytest.mark.skipif(_teacher_load() is None, reason="jaxsharp.teacher.load is not written yet")
def test_teacher_pipeline_runs_on_the_tiny_fixture(shared_data, tmp_path):
    # Random weights: only the pipeline is checked (shapes, clamping, finite metrics), not quality.
    folder = _small_hr_dir(shared_data, tmp_path, names=("bird",), size=48)
    from jaxsharp.port import swinir_torch

    weights = tmp_path / "tiny_teacher"  # --weights names a ported directory (jaxsharp port)
    swinir_torch.port(shared_data / "reference" / "swinir" / "tiny_classical_x2_weights.npz", weights)
    method = evaluate.make_method("teacher", scale=2, mode="sr", weights=str(weights))
    row = evaluate.evaluate_set("tiny", folder, method, method_name="teacher", scale=2, mode="sr", progress=False)
    assert row["n_images"] == 1
    assert all(math.isfinite(row[k]) for k in ("psnr_y", "ssim_y", "psnr_rgb", "ssim_rgb"))


def _student_api():
    try:
        from jaxsharp import student
        return student if hasattr(student, "load") else None
    except ImportError:
        return None


@pytest.mark.skipif(_student_api() is None, reason="jaxsharp.student.load is not written yet")
def test_student_pipeline_runs_and_rejects_another_scale(shared_data, tmp_path, capsys):
    from flax import nnx

    student = _student_api()
    config = student.StudentConfig.from_size("tiny", scale=2, mode="sharpen")
    weights = student.save(tmp_path / "tiny_x2", student.build(config, rngs=nnx.Rngs(0)), config)
    folder = _small_hr_dir(shared_data, tmp_path, names=("bird",), size=48)
    method = evaluate.make_method("student", scale=2, mode="sharpen", weights=str(weights))
    row = evaluate.evaluate_set("tiny", folder, method, method_name="student", scale=2, mode="sharpen",
                                progress=False)
    assert row["n_images"] == 1 and all(math.isfinite(row[k]) for k in ("psnr_y", "ssim_y"))
    with pytest.raises(SystemExit) as exc:
        evaluate.main(["--method", "student", "--weights", str(weights), "--scale", "4", "--mode", "sharpen"])
    assert exc.value.code == 2 and "x2" in capsys.readouterr().err
