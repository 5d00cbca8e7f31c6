"""jaxsharp.models: one interface, one registry, one padding rule; evaluate measures what `jaxsharp sharpen` writes.

References: the files `jaxsharp sharpen` writes, scored by `evaluate --method predictions` (the official SwinIR
script's way of scoring outputs on disk), against `evaluate --method student|teacher` on the same inputs.
"""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

from jaxsharp import degrade, evaluate, models, sharpen_cli
from jaxsharp.image_io import read_image_rgb, write_image
from jaxsharp.engine import pad_frames
from jaxsharp.loaded_model import LoadedModel

SET5 = ("baby", "bird", "butterfly", "head", "woman")


def test_every_shipped_model_meets_the_interface():
    shipped = models.shipped()
    assert {"student_small_x2", "student_tiny_x2", "student_small_x2_plain", "student_small_x2_plain_kd",
            "student_tiny_x2_plain", "swinir_s_x2"} <= set(shipped)
    for name in shipped:
        model = models.load(name)
        assert isinstance(model, LoadedModel) and models.name_of(model) == name
        assert model.mode in degrade.MODES and model.scale == 2 and model.block >= 1
        assert model.num_params == sum(np.prod(a.shape) for a in __import__("jax").tree.leaves(model.params))
        if model.role == "student":
            assert model.receptive_radius >= 1 and model.default_overlap() % model.block == 0
        else:
            assert model.receptive_radius is None and model.default_overlap() is None
        json.dumps(model.describe())  # JSON-able


def test_aliases_and_spellings_name_one_model_each():
    source = lambda name: models.load(name).source  # noqa: E731
    assert source("student-small") == source("student_small_x2") == source("student-small-x2") \
        == source("STUDENT_SMALL_X2")  # the shortest name, not its _plain / _plain_kd variants
    assert source("student-tiny") == source("student_tiny_x2")
    assert source("teacher") == source("swinir_s_x2")
    with pytest.raises(FileNotFoundError, match="no_such_model: no such model.*shipped: student_small_x2"):
        models.load("no_such_model")
    with pytest.raises(FileNotFoundError, match="no shipped student-base at x2"):
        models.load("student-base")
    with pytest.raises(ValueError, match="unknown mode 'blur'"):
        models.load("student-tiny", mode="blur")


def test_a_new_family_is_one_registration(tmp_path, monkeypatch):
    # A toy family: a saved directory whose config.json says "toy" loads through the registered loader only.
    loaded = []

    def load_toy(directory):
        loaded.append(directory)
        return models.load("student_tiny_x2_plain")  # stands in for the family's own LoadedModel

    monkeypatch.setattr(models, "FAMILIES", dict(models.FAMILIES))
    models.register(models.Family("toy", "student", "toy-format", load_toy, lambda config: None, tmp_path / "none"))
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "config.json").write_text(json.dumps({"model": "toy-format"}))
    assert models.load(tmp_path / "m").family == "student" and loaded == [tmp_path / "m"]
    with pytest.raises(ValueError, match="saved format 'toy-format' is 'toy'"):
        models.register(models.Family("toy2", "student", "toy-format", load_toy, lambda c: None, tmp_path))
    (tmp_path / "m" / "config.json").write_text(json.dumps({"model": "nobody"}))
    with pytest.raises(ValueError, match="unknown model 'nobody'; known: 'jaxsharp-student' \\(student\\)"):
        models.load(tmp_path / "m")


def test_the_padding_rule_is_matlab_symmetric_and_any_size():
    x = np.arange(6, dtype=np.float32).reshape(1, 2, 3, 1)
    padded = pad_frames(x, 5, 7)
    assert padded.shape == (1, 5, 7, 1)
    np.testing.assert_array_equal(padded[0, 0, :, 0], [0, 1, 2, 2, 1, 0, 0])  # edge repeated, then mirrored
    np.testing.assert_array_equal(padded[0, :, 0, 0], [0, 3, 3, 0, 0])
    with pytest.raises(ValueError, match="cannot pad"):
        pad_frames(x, 1, 3)


def _set5_inputs(shared_data, tmp_path, mode: str, names=SET5) -> tuple[pathlib.Path, pathlib.Path]:
    """(HR folder, folder of the model inputs evaluate makes for it, as 8-bit PNGs: exact, they are uint8 levels)."""
    hr_dir, in_dir = tmp_path / "hr", tmp_path / f"in_{mode}"
    for name in names:
        hr = read_image_rgb(shared_data / "benchmarks" / "Set5" / "HR" / f"{name}.png")
        write_image(hr_dir / f"{name}.png", hr)
        inp, _ = degrade.bicubic_pair(hr, 2, mode, quantize=True)
        write_image(in_dir / f"{name}.png", inp)
    return hr_dir, in_dir


def _rows(path: pathlib.Path) -> dict[str, float]:
    (result,) = json.loads(path.read_text())["results"]
    return {"mean": result["psnr_y"], **{r["name"]: r["psnr_y"] for r in result["images"]}}


@pytest.mark.parametrize("method, weights, mode", [
    ("student", "student_tiny_x2", "sharpen"),
    ("teacher", "reference/swinir/tiny_classical_x2_weights.npz", "sr"),
    ("teacher", "reference/swinir/tiny_classical_x2_weights.npz", "sharpen"),  # the sr model through the adapter
])
def test_evaluate_equals_scoring_the_files_jaxsharp_sharpen_wrote(shared_data, tmp_path, method, weights, mode):
    weights = str(shared_data / weights) if weights.startswith("reference/") else weights
    names = SET5 if method == "student" else ("bird", "butterfly")  # random-weight SwinIR: fewer, for time
    hr_dir, in_dir = _set5_inputs(shared_data, tmp_path, mode, names)
    out_dir = tmp_path / "sharpened"
    assert sharpen_cli.main([str(in_dir), "-o", str(out_dir), "--model", weights, "--mode", mode]) == 0
    common = ["--hr-dir", str(hr_dir), "--mode", mode, "--scale", "2", "--no-progress"]
    assert evaluate.main(["--method", method, "--weights", weights, "--json", str(tmp_path / "m.json")] + common) == 0
    assert evaluate.main(["--method", "predictions", "--predictions", str(out_dir),
                          "--json", str(tmp_path / "p.json")] + common) == 0
    measured, files = _rows(tmp_path / "m.json"), _rows(tmp_path / "p.json")
    assert measured.keys() == files.keys() and len(measured) == len(names) + 1
    for key in measured:
        assert abs(measured[key] - files[key]) < 1e-3, (key, measured[key], files[key])


def test_shipped_models_load_by_name_from_any_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # names never depend on the working directory (the README's example)
    assert models.load("teacher").family == "swinir" and models.load("student_tiny_x2").family == "reparam"
    assert models.load("student_tiny_x2_plain").family == "student"


def test_evaluate_defaults_to_the_shipped_models_without_weights():
    student, teacher = (evaluate.make_method(m, scale=2, mode="sharpen") for m in ("student", "teacher"))
    x = np.full((16, 16, 3), 0.5, np.float32)
    assert student("x", x).shape == teacher("x", x).shape == (16, 16, 3)
    with pytest.raises(evaluate.EvaluationError, match="student_tiny_x2 is a student, not a teacher"):
        evaluate.make_method("teacher", scale=2, mode="sharpen", weights="student_tiny_x2")
