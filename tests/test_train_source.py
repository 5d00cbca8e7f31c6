"""train_lib's data plumbing: config.data.source ("folders" / a local DIV2K through tensorflow-datasets) and
config.data.degradation reaching the loader and the teacher cache; old configs without either key keep working."""

from __future__ import annotations

import json
import pathlib
import runpy
import subprocess
import sys
import textwrap

import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest
from PIL import Image

from jaxsharp import data, degrade, train_lib

REPO = pathlib.Path(__file__).resolve().parents[1]


def _save_rgb(path: pathlib.Path, pixels: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)


def _noise(shape, seed) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def _config(**data_fields) -> ml_collections.ConfigDict:
    return ml_collections.ConfigDict({"data": {"cache_images": False, "scale": 2, "mode": "sharpen", **data_fields},
                                      "loss": {"teacher": "nearest"}})


class NearestTeacher:
    """A stand-in teacher: nearest-neighbour x2 upsampling, with a teacher's identity fields."""

    def __init__(self):
        self.config = type("Config", (), {"upscale": 2})()
        self.params, self.source, self.pad = {"gain": np.float32(1)}, "nearest", "reflect"

    def __call__(self, x, tile=None, overlap=32):
        return jnp.repeat(jnp.repeat(jnp.asarray(x), 2, axis=1), 2, axis=2)


@pytest.fixture
def fake_div2k(tmp_path) -> dict[str, pathlib.Path]:
    """A DIV2K download in the official layout (div2k_tfds.SPLIT_FOLDERS), three train and one validation image."""
    manual = tmp_path / "DIV2K"
    images = {}
    for i in range(4):
        folder = "DIV2K_train_HR" if i < 3 else "DIV2K_valid_HR"
        images[f"{i + 1:04d}.png"] = _noise((36 + 2 * i, 40, 3), i)
        _save_rgb(manual / folder / f"{i + 1:04d}.png", images[f"{i + 1:04d}.png"])
    return {"manual": manual, "tfds": tmp_path / "tfds", "images": images}


def test_div2k_source_gives_a_loader_and_a_batch(fake_div2k):
    config = _config(source="div2k", div2k_dir=str(fake_div2k["manual"]), tfds_data_dir=str(fake_div2k["tfds"]))
    source = train_lib.train_source(config)
    assert len(source) == 3  # the train split only
    assert list((fake_div2k["tfds"] / "div2k_local" / "1.0.0").glob("*.array_record*"))
    loader = data.make_train_loader(source, crop_size=16, scale=2, mode="sharpen", batch_size=2, seed=0,
                                    degradation=config.data.get("degradation", "bicubic"))
    batch = next(iter(loader))
    assert batch["input"].shape == batch["target"].shape == (2, 16, 16, 3)
    train = [v for k, v in sorted(fake_div2k["images"].items())[:3]]
    for model_input, target in zip(batch["input"], batch["target"]):
        np.testing.assert_array_equal(model_input, degrade.bicubic_pair(target, 2, "sharpen")[0])
        as_uint8 = np.round(target * 255).astype(np.uint8)
        assert any(np.any(np.all(np.lib.stride_tricks.sliding_window_view(view, (16, 16), axis=(0, 1))
                                 == as_uint8.transpose(2, 0, 1)[None, None], axis=(2, 3, 4)))
                   for image in train for im in (image, image.transpose(1, 0, 2)) for view in
                   (np.rot90(im, k) for k in range(4)))
    assert len(train_lib.train_source(config)) == 3  # prepared once, then reused


def test_div2k_source_refusals(fake_div2k, tmp_path):
    div2k = dict(source="div2k", div2k_dir=str(fake_div2k["manual"]), tfds_data_dir=str(fake_div2k["tfds"]))
    with pytest.raises(ValueError, match="data.cache_images is for folder sources"):
        train_lib.train_source(_config(**dict(div2k, cache_images=True)))
    with pytest.raises(ValueError, match=r"unknown data.source 'imagenet'; choose one of \('folders', 'div2k'\)"):
        train_lib.train_source(_config(source="imagenet"))
    with pytest.raises(ValueError, match="a teacher cache needs image files; data.source 'div2k'"):
        train_lib.build_teacher_cache(_config(**div2k), tmp_path / "cache")


def test_the_folder_source_never_imports_tensorflow_datasets(tmp_path):
    _save_rgb(tmp_path / "images" / "a.png", _noise((20, 20, 3), 0))
    script = textwrap.dedent(f"""
        import sys
        import ml_collections
        from jaxsharp import train_lib
        config = ml_collections.ConfigDict({{"data": {{"train_dirs": ({str(tmp_path / "images")!r},),
                                                      "cache_images": False}}}})
        assert len(train_lib.train_source(config)) == 1
        assert not [m for m in sys.modules if m.startswith("tensorflow_datasets")]
    """)
    subprocess.run([sys.executable, "-c", script], cwd=REPO, check=True, timeout=120)


def test_config_degradation_reaches_the_teacher_cache(tmp_path, monkeypatch, toy_degradation):
    _save_rgb(tmp_path / "images" / "a.png", _noise((12, 14, 3), 0))
    monkeypatch.setattr(train_lib, "load_teacher", lambda path: NearestTeacher())
    folders = dict(train_dirs=(str(tmp_path / "images"),))
    manifest = train_lib.build_teacher_cache(_config(**folders), tmp_path / "old", progress=False)
    assert manifest["degradation"] == "bicubic"  # a config without the key
    manifest = train_lib.build_teacher_cache(_config(degradation=toy_degradation, **folders), tmp_path / "toy",
                                             progress=False)
    assert json.loads((tmp_path / "toy" / "manifest.json").read_text())["degradation"] == toy_degradation


class _Stop(Exception):
    pass


@pytest.mark.parametrize("degradation", [None, "toy_noise"])
def test_config_degradation_reaches_the_training_loader(tmp_path, monkeypatch, toy_degradation, degradation):
    _save_rgb(tmp_path / "images" / "a.png", _noise((20, 20, 3), 0))
    config = runpy.run_path(str(REPO / "experiments" / "student_tiny_x2.py"))["get_config"]()
    config.update_from_flattened_dict({"data.train_dirs": (str(tmp_path / "images"),), "data.cache_images": False,
                                       "loss.distill_lambda": 0.0, "data.crop_size": 16, "data.batch_size": 1})
    if degradation is not None:
        config.data.degradation = degradation
    seen = {}

    def make_train_loader(source, **kwargs):
        seen.update(kwargs)
        raise _Stop

    monkeypatch.setattr(train_lib.data, "make_train_loader", make_train_loader)
    with pytest.raises(_Stop):
        train_lib.train_and_evaluate(config, tmp_path / "work")
    assert seen["degradation"] == (degradation or "bicubic")


def test_the_validation_split_is_held_out_of_training_and_evaluated_by_name():
    from jaxsharp import evaluate, paths, splits

    root = paths.data_root()
    dirs = ("train/T91", "train/BSDS500_test")
    everything = train_lib.train_source(_config(train_dirs=dirs))
    held_out = train_lib.train_source(_config(train_dirs=dirs, holdout_validation=True))
    val = splits.validation_files(root)
    assert len(val) == len(set(val)) == 10
    assert set(everything.paths) - set(held_out.paths) == set(val)  # exactly the split, nothing else
    assert len(held_out) == len(everything) - 10
    assert "exclude=" in repr(held_out)  # grain's restore check sees which records these are
    [(name, files)] = evaluate.resolve_sets(["val"], root)
    assert name == "val" and files == val
    assert evaluate.list_images(files) == list(val)
