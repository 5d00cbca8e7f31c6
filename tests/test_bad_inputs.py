"""Every bad input (jaxsharp/testing/bad_inputs.py) through every entry point that reads user files: one-line refusals naming the
file, or a correct result; never a traceback, never a hang, nothing else in the batch lost. docs/robustness.md
lists each row and the test here that holds it.

References: Pillow's own decoding (ImageOps.exif_transpose, convert("RGB"), the first frame of an animation) for what
a correct result looks like; the shipped student-small keeps an image within a few grey levels of its input, which is
what the content checks below rely on (a rotated or wrong frame is tens of levels away).
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import warnings

import numpy as np
import pytest
from PIL import Image, ImageOps

from jaxsharp import data, evaluate, infer
from jaxsharp.testing import bad_inputs
from jaxsharp.image_io import ImageReadError, read_image
from jaxsharp.port import swinir_torch

REPO = pathlib.Path(__file__).resolve().parents[1]
INVALID = [name for name, (_, _, valid) in bad_inputs.IMAGE_CASES.items() if not valid]
TINY = ("one_by_one", "one_by_seven", "seven_by_one")
# Read by every entry point; .gif is not an image suffix, so folders skip it (a GIF named on the command line is read).
MEASURABLE = [name for name, (file, _, valid) in bad_inputs.IMAGE_CASES.items()
              if valid and name not in TINY and not file.endswith(".gif")]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return bad_inputs.build_image_corpus(tmp_path_factory.mktemp("corpus"))


def _rgb(path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(ImageOps.exif_transpose(img).convert("RGB"), np.float32) / 255.0


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and float(np.abs(a - b).mean()) < 0.03  # the student moves pixels by ~1e-2


# --- jaxsharp sharpen ----------------------------------------------------------------------------------------------


def test_sharpen_folder_writes_every_good_file_names_every_bad_one(tmp_path, capsys):
    folder = tmp_path / "library"
    files = bad_inputs.build_image_corpus(folder)
    good = [bad_inputs.write_good_picture(folder / "good_a.png"),
            bad_inputs.write_good_picture(folder / "good_b.jpg", 40, 30, seed=3)]
    out = tmp_path / "out"
    assert infer.main([str(folder), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == len(INVALID), err
    for name in INVALID:
        assert sum(str(files[name]) in line for line in errors) == 1, (name, err)
    assert f"warning: {files['animated_webp']}: WEBP with 3 frames; only the first frame is read" in err
    assert f"{2 + len(MEASURABLE) + len(TINY)} written, 0 skipped, {len(INVALID)} failed" in err
    written = {p.name for p in out.iterdir()}
    assert written == {f.with_suffix(".png").name for f in good} | {
        files[n].with_suffix(".png").name for n in MEASURABLE + list(TINY)}

    def output(name):
        return out / files[name].with_suffix(".png").name

    for name, size in [("one_by_one", (1, 1)), ("one_by_seven", (7, 1)), ("seven_by_one", (1, 7))]:
        assert Image.open(output(name)).size == size, name
    assert read_image(output("png16_rgb")).bits == 16
    assert Image.open(output("gray_alpha")).mode == "LA"  # grey stays grey, alpha is kept
    for name in ("jpeg_named_png", "palette", "cmyk_jpeg", "exif6", "exif8"):
        assert _close(_rgb(output(name)), _rgb(files[name])), name  # CMYK converted, EXIF applied
    assert not _close(_rgb(output("exif6")), np.rot90(_rgb(files["exif6"]), 2))  # the content check can tell
    with Image.open(files["animated_webp"]) as first:
        assert _close(_rgb(output("animated_webp")), np.asarray(first.convert("RGB"), np.float32) / 255.0)


def test_an_animated_gif_named_on_the_command_line_sharpens_its_first_frame(corpus, tmp_path, capsys):
    out = tmp_path / "gif.png"
    assert infer.main([str(corpus["animated_gif"]), "-o", str(out)]) == 0
    assert "GIF with 3 frames; only the first frame is read" in capsys.readouterr().err
    with Image.open(corpus["animated_gif"]) as gif:
        first = np.asarray(gif.convert("RGB"), np.float32) / 255.0
        gif.seek(1)
        second = np.asarray(gif.convert("RGB"), np.float32) / 255.0
    assert _close(_rgb(out), first) and not _close(_rgb(out), second)


def test_the_sharpen_command_exits_1_without_a_traceback(corpus, tmp_path):
    good = bad_inputs.write_good_picture(tmp_path / "good.png")
    bad = [corpus[name] for name in ("empty", "text_png", "truncated_jpeg", "bomb")]
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    result = subprocess.run([sys.executable, "-m", "jaxsharp", "sharpen", *map(str, bad), str(good),
                             "-o", str(tmp_path / "out")], cwd=REPO, capture_output=True, text=True, timeout=300,
                            env=env)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert [line.startswith("error:") for line in result.stderr.splitlines()].count(True) == len(bad)
    assert result.stdout.split() == [str(tmp_path / "out" / "good.png")]


# --- python -m jaxsharp.evaluate --------------------------------------------------------------------------------------


def _evaluate(argv, capsys) -> str:
    assert evaluate.main(argv + ["--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def test_evaluate_predictions_measures_the_good_ones_and_names_the_rest(corpus, tmp_path, capsys):
    hr, pred = tmp_path / "hr", tmp_path / "pred"
    for name, path in corpus.items():
        bad_inputs.write_good_picture(hr / f"{name}.png", 64, 64, seed=1)
        pred.mkdir(exist_ok=True)
        (pred / f"{name}{path.suffix}").write_bytes(path.read_bytes())
    out = tmp_path / "r.json"
    err = _evaluate(["--method", "predictions", "--predictions", str(pred), "--hr-dir", str(hr), "--json", str(out)],
                    capsys)
    (row,) = json.loads(out.read_text())["results"]
    assert sorted(image["name"] for image in row["images"]) == sorted(MEASURABLE)
    for name in INVALID:
        assert f"{pred / name}{corpus[name].suffix}" in err, name
    for name in TINY:
        assert f"the prediction for {name}.png is" in err and "too small to measure at x2" in err
    assert "no prediction for 'animated_gif'" in err


def test_evaluate_hr_dir_measures_the_good_ones_and_names_the_rest(corpus, capsys):
    folder = corpus["empty"].parent
    err = _evaluate(["--method", "bicubic", "--hr-dir", str(folder)], capsys)
    for name in INVALID + list(TINY):
        assert str(corpus[name]) in err, name
    assert "the HR image is 1x1 (0x0 mod-cropped), too small to measure at x2" in err
    assert f"{corpus['animated_gif']}: skipped (not an image file)" in err


def test_evaluate_set_counts_only_the_measurable_images(corpus):
    method = evaluate.make_method("bicubic", scale=2, mode="sr")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        row = evaluate.evaluate_set("corpus", corpus["empty"].parent, method, method_name="bicubic", scale=2,
                                    mode="sr", progress=False)
    assert sorted(image["name"] for image in row["images"]) == sorted(corpus[n].stem for n in MEASURABLE)
    assert all(np.isfinite(image["psnr_y"]) for image in row["images"]) and len(caught) >= len(INVALID) + len(TINY)


# --- the data pipeline ------------------------------------------------------------------------------------------------


def test_loader_drops_unreadable_records_and_fills_its_batches(tmp_path):
    folder = tmp_path / "train"
    files = bad_inputs.build_image_corpus(folder)
    bad_inputs.write_good_picture(folder / "good_a.png")
    bad_inputs.write_good_picture(folder / "good_b.jpg", 40, 30, seed=3)
    with pytest.warns(UserWarning, match="skipped 3 unreadable file") as scan:
        source = data.ImageFolderSource(folder)
    message = next(str(w.message) for w in scan if "unreadable" in str(w.message))
    for name in ("empty", "text_png", "bomb"):
        assert str(files[name]) in message, name
    readable = len(MEASURABLE) + len(TINY) + 2
    assert len(source) == readable + 3  # the three truncated files have good headers: found when decoded
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loader = data.make_train_loader(source, crop_size=16, scale=2, mode="sr", batch_size=2, seed=0, num_epochs=3)
        batches = list(loader)
    assert len(batches) == 3 * readable // 2  # every good record of every epoch is used; no batch is short
    for batch in batches:
        assert batch["target"].shape == (2, 16, 16, 3) and 0.0 <= batch["target"].min() <= batch["target"].max() <= 1
    dropped = " ".join(str(w.message) for w in caught if "dropped from its batch" in str(w.message))
    for name in ("truncated_png", "truncated_jpeg", "truncated_png16"):
        assert str(files[name]) in dropped, name
    with pytest.raises(ImageReadError, match="truncated"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        list(data.make_train_loader(source, crop_size=16, scale=2, mode="sr", batch_size=2, seed=0, num_epochs=1,
                                    skip_unreadable=False))


def test_loader_over_only_unreadable_files_raises_instead_of_spinning(tmp_path):
    bad_inputs.build_image_corpus(tmp_path, ["truncated_png", "truncated_jpeg"])
    source = data.ImageFolderSource(tmp_path)
    loader = data.make_train_loader(source, crop_size=16, scale=2, mode="sr", batch_size=2, seed=0, num_epochs=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ImageReadError, match="none of the 2 records could be read"):
            next(iter(loader))


# --- jaxsharp port (python -m jaxsharp.port.swinir_torch) -------------------------------------------------------------


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory, shared_data):
    reference = shared_data / "reference" / "swinir" / "tiny_classical_x2_weights.npz"
    return bad_inputs.build_checkpoint_corpus(tmp_path_factory.mktemp("pth"), reference)


@pytest.mark.parametrize("case", list(bad_inputs.CHECKPOINT_CASES))
def test_port_refuses_each_bad_checkpoint_in_one_line(checkpoints, case, tmp_path, capsys):
    out = tmp_path / "out"
    code = swinir_torch.main([str(checkpoints[case]), "--out", str(out)])
    captured = capsys.readouterr()
    if bad_inputs.CHECKPOINT_CASES[case][2]:  # float64 weights: a correct port
        assert code == 0 and "wrote" in captured.out and (out / "config.json").is_file()
        return
    lines = captured.err.strip().splitlines()
    assert code == 1 and len(lines) == 1 and lines[0].startswith(f"error: {checkpoints[case]}:"), captured.err
    assert not out.exists()
    expected = {"global": "refuses to load global", "zip_bomb": "over 100x", "int64": "dtype int64",
                "bool": "dtype bool", "complex_weight": "ComplexFloatStorage", "incomplete": "incomplete SwinIR",
                "truncated": "corrupt or truncated", "npz_bomb": "needs 4000000000000 bytes",
                "npz_deflate": "(zip bomb?)", "npz_object": "allow_pickle", "npz_complex": "dtype complex64"}
    (key,) = [k for k in expected if case.startswith(k)]
    assert expected[key] in lines[0], lines[0]
