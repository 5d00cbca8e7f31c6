"""Teacher outputs for distillation: self-ensemble, the cache (identity, resume, staleness), official pairs, and the
paired loader's crops checked against closed forms."""

from __future__ import annotations

import itertools
import json
import pathlib

import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

from jaxsharp import data, degrade, teacher_cache
from jaxsharp.image_io import write_image

TINY_TEACHER = "reference/swinir/tiny_classical_x2_weights.npz"


def _save_rgb(path: pathlib.Path, pixels: np.ndarray) -> pathlib.Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


def _noise(shape, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def _views_and_inverses():
    # Independent enumeration of the 8 symmetries (rotations of the image and of its transpose), with inverses.
    for k in range(4):
        yield (lambda x, k=k: np.rot90(x, k, axes=(1, 2))), (lambda y, k=k: np.rot90(y, -k, axes=(1, 2)))
        yield ((lambda x, k=k: np.rot90(x.transpose(0, 2, 1, 3), k, axes=(1, 2))),
               (lambda y, k=k: np.rot90(y, -k, axes=(1, 2)).transpose(0, 2, 1, 3)))


def _reference_ensemble(fn, x: np.ndarray) -> np.ndarray:
    return np.mean([inverse(np.asarray(fn(view(x)))) for view, inverse in _views_and_inverses()], axis=0)


class NearestTeacher:
    """A cheap stand-in teacher (nearest-neighbour x2 upsampling times a gain) with a teacher's identity fields."""

    def __init__(self, gain: float = 1.0):
        self.config = type("Config", (), {"upscale": 2})()
        self.params = {"gain": np.float32(gain)}
        self.source, self.pad, self.calls = "nearest", "reflect", 0
        self.gain = gain

    def __call__(self, x, tile=None, overlap=32):
        self.calls += 1
        self.shapes = getattr(self, "shapes", set()) | {tuple(x.shape)}
        return self.gain * jnp.repeat(jnp.repeat(jnp.asarray(x), 2, axis=1), 2, axis=2)


# --- self-ensemble ----------------------------------------------------------------------------------------------

def test_self_ensemble_of_equivariant_functions_is_the_function():
    x = jnp.asarray(np.random.default_rng(0).random((2, 5, 7, 3), dtype=np.float32))
    for fn in (lambda t: t * t + 1.0, lambda t: jnp.repeat(jnp.repeat(t, 3, axis=1), 3, axis=2)):
        np.testing.assert_allclose(np.asarray(teacher_cache.self_ensemble(fn, x)), np.asarray(fn(x)), atol=1e-6)


def test_self_ensemble_is_the_mean_of_the_eight_inverse_transformed_outputs():
    x = np.random.default_rng(1).random((1, 4, 6, 3), dtype=np.float32)

    def fn(t):  # not equivariant: a running sum down the rows, weighted by column
        return jnp.cumsum(t, axis=1) * (1.0 + jnp.arange(t.shape[2])[None, None, :, None])

    expected = _reference_ensemble(fn, x)
    np.testing.assert_allclose(np.asarray(teacher_cache.self_ensemble(fn, jnp.asarray(x))), expected, rtol=1e-6)
    assert not np.allclose(expected, np.asarray(fn(x)))


# --- cache ------------------------------------------------------------------------------------------------------

def test_read_teacher_output_keeps_sixteen_bits(tmp_path):
    image = np.random.default_rng(2).random((5, 7, 3), dtype=np.float32)
    write_image(tmp_path / "a.png", image, bits=16)
    back = teacher_cache.read_teacher_output(tmp_path / "a.png")
    assert back.dtype == np.float32 and back.shape == image.shape
    assert np.abs(back - image).max() <= 0.5 / 65535 + 1e-7  # Pillow alone would round to 8 bits (~2e-3)
    pixels = _noise((4, 6, 3))
    _save_rgb(tmp_path / "b.png", pixels)
    np.testing.assert_array_equal(teacher_cache.read_teacher_output(tmp_path / "b.png"), pixels / np.float32(255))


def test_build_cache_with_the_real_tiny_teacher(tmp_path, shared_data):
    from jaxsharp.port.swinir_torch import load_teacher

    teacher = load_teacher(shared_data / TINY_TEACHER)
    images = tmp_path / "images"
    _save_rgb(images / "a.png", _noise((17, 16, 3), 1))  # mod-cropped to 16x16: lr 8x8, one compile
    _save_rgb(images / "sub" / "b.bmp", _noise((16, 16, 3), 2))
    source = data.ImageFolderSource(images)
    manifest = teacher_cache.build_teacher_cache(teacher, source.paths, tmp_path / "cache", root=source.root,
                                                 scale=2, progress=False)
    assert manifest["complete"] and manifest["entries"] == {"a.png": "a.png", "sub/b.bmp": "sub/b.png"}
    assert manifest["teacher"]["params_sha256"] == teacher_cache.params_sha256(teacher.params)
    assert manifest["teacher"]["config"]["embed_dim"] == 24
    on_disk = json.loads((tmp_path / "cache" / "manifest.json").read_text())
    assert on_disk == manifest
    for path, name in zip(source.paths, ("a.png", "sub/b.png")):
        hr = degrade.mod_crop(np.asarray(Image.open(path).convert("RGB"), np.float32) / 255, 2)
        lr = degrade.imresize_np(hr.astype(np.float64), 0.5).clip(0, 1).astype(np.float32)
        expected = np.clip(_reference_ensemble(lambda t: teacher(jnp.asarray(t)), lr[None])[0], 0, 1)
        cached = teacher_cache.read_teacher_output(tmp_path / "cache" / name)
        assert cached.shape == hr.shape == (16, 16, 3)
        np.testing.assert_allclose(cached, expected, atol=0.5 / 65535 + 2e-6)

    # Upcycling works for the SwinIR teacher too: zoom-in is the ensemble of the teacher on the image itself.
    manifest = teacher_cache.build_teacher_cache(teacher, source.paths[:1], tmp_path / "cache", root=source.root,
                                                 scale=2, progress=False, upcycle=("zoom_in",))
    assert manifest["upcycle"] == ["zoom_in"]
    hr = degrade.mod_crop(np.asarray(Image.open(source.paths[0]).convert("RGB"), np.float32) / 255, 2)
    expected = np.clip(_reference_ensemble(lambda t: teacher(jnp.asarray(t)), hr[None])[0], 0, 1)
    np.testing.assert_allclose(teacher_cache.read_teacher_output(tmp_path / "cache" / "zoom_in" / "a.png"), expected,
                               atol=0.5 / 65535 + 2e-6)


def test_cache_resumes_detects_a_changed_teacher_and_protects_other_folders(tmp_path):
    images = tmp_path / "images"
    for i in range(3):
        _save_rgb(images / f"{i}.png", _noise((8, 10, 3), i))
    paths = sorted(images.iterdir())
    cache = tmp_path / "cache"
    teacher = NearestTeacher()
    teacher_cache.build_teacher_cache(teacher, paths[:2], cache, root=images, scale=2, progress=False)
    assert teacher.calls == 16  # 2 images x 8 transforms
    first = (cache / "0.png").stat().st_mtime_ns

    # Same teacher, one more image: only the new one is computed (the build resumes).
    teacher_cache.build_teacher_cache(teacher, paths, cache, root=images, scale=2, progress=False)
    assert teacher.calls == 24 and (cache / "0.png").stat().st_mtime_ns == first
    # Nearest upsampling is equivariant, so the ensemble is exact; lr is the bicubic half of the image.
    hr = _noise((8, 10, 3), 2).astype(np.float32) / 255
    lr = degrade.bicubic_pair(hr, 2, "sr")[0]
    np.testing.assert_allclose(teacher_cache.read_teacher_output(cache / "2.png"),
                               np.clip(np.repeat(np.repeat(lr, 2, 0), 2, 1), 0, 1), atol=0.5 / 65535 + 1e-6)

    # Other weights (same source path and config): the cache is stale and rebuilt.
    other = NearestTeacher(gain=0.5)
    with pytest.warns(UserWarning, match="stale.*teacher"):
        teacher_cache.build_teacher_cache(other, paths, cache, root=images, scale=2, progress=False)
    assert other.calls == 24
    np.testing.assert_allclose(teacher_cache.read_teacher_output(cache / "2.png"),
                               np.clip(0.5 * np.repeat(np.repeat(lr, 2, 0), 2, 1), 0, 1), atol=0.5 / 65535 + 1e-6)

    # A non-empty folder that is not a cache is never written into (nor cleared).
    with pytest.raises(FileNotFoundError, match="not a teacher cache"):
        teacher_cache.build_teacher_cache(teacher, paths, images, scale=2, progress=False)
    assert len(list(images.iterdir())) == 3
    with pytest.raises(ValueError, match="does not match the teacher's x2"):
        teacher_cache.build_teacher_cache(teacher, paths, cache, scale=3, progress=False)
    _save_rgb(images / "0.jpg", _noise((8, 10, 3)))
    with pytest.raises(ValueError, match="share the cache file 0.png"):
        teacher_cache.build_teacher_cache(teacher, sorted(images.iterdir()), cache, scale=2, progress=False)


def test_manifest_records_the_degradation_and_another_one_rebuilds(tmp_path, toy_degradation):
    images = tmp_path / "images"
    for i in range(2):
        _save_rgb(images / f"{i}.png", _noise((8, 10, 3), i))
    paths, cache = sorted(images.iterdir()), tmp_path / "cache"
    teacher = NearestTeacher()
    assert teacher_cache.build_teacher_cache(teacher, paths, cache, root=images, scale=2,
                                             progress=False)["degradation"] == "bicubic"
    # A manifest from before the key existed is a bicubic one: resumed, not rebuilt.
    manifest = json.loads((cache / "manifest.json").read_text())
    del manifest["degradation"]
    (cache / "manifest.json").write_text(json.dumps(manifest))
    teacher_cache.build_teacher_cache(teacher, paths, cache, root=images, scale=2, progress=False)
    assert teacher.calls == 16

    with pytest.warns(UserWarning, match=r"stale \(degradation changed\)"):
        manifest = teacher_cache.build_teacher_cache(teacher, paths, cache, root=images, scale=2, progress=False,
                                                     degradation=toy_degradation)
    assert teacher.calls == 32 and manifest["degradation"] == toy_degradation
    assert json.loads((cache / "manifest.json").read_text())["degradation"] == toy_degradation
    # The teacher saw the toy lr, drawn with the image's own seed (its path relative to the root).
    hr = _noise((8, 10, 3), 1).astype(np.float32) / 255
    lr = degrade.pair(toy_degradation, hr, 2, "sr", seed=degrade.image_seed("1.png"))[0]
    assert not np.array_equal(lr, degrade.bicubic_pair(hr, 2, "sr")[0])
    np.testing.assert_allclose(teacher_cache.read_teacher_output(cache / "1.png"),
                               np.clip(np.repeat(np.repeat(lr, 2, 0), 2, 1), 0, 1), atol=0.5 / 65535 + 1e-6)

    # The loader refuses a cache made with another degradation than its own.
    source = data.ImageFolderSource(images)
    kwargs = dict(crop_size=8, scale=2, mode="sr", batch_size=1, seed=0, teacher_cache_dir=cache)
    with pytest.raises(ValueError, match="made with degradation 'toy_noise', the loader uses 'bicubic'"):
        data.make_train_loader(source, **kwargs)
    batch = next(iter(data.make_train_loader(source, degradation=toy_degradation, **kwargs)))
    assert batch["teacher"].shape == (1, 8, 8, 3)
    with pytest.raises(ValueError, match="unknown degradation 'nosuch'"):
        teacher_cache.build_teacher_cache(teacher, paths, cache, root=images, scale=2, degradation="nosuch")


def test_tiled_cache_pads_small_images_to_the_tile_so_the_teacher_sees_one_shape(tmp_path):
    # Each input shape is a compile for a real teacher (a minute for SwinIR on a CPU): images smaller than a tile
    # are padded up to it, and the output is cropped back to the image, exactly where the teacher is local.
    images = tmp_path / "images"
    sizes = [(10, 14), (12, 8), (9, 9), (16, 6)]
    for i, size in enumerate(sizes):
        _save_rgb(images / f"{i}.png", _noise((*size, 3), i))
    teacher = NearestTeacher()
    teacher_cache.build_teacher_cache(teacher, sorted(images.iterdir()), tmp_path / "cache", root=images, scale=2,
                                      tile=8, overlap=2, progress=False)
    assert teacher.shapes == {(1, 8, 8, 3)}
    for i, size in enumerate(sizes):
        hr = degrade.mod_crop(_noise((*size, 3), i).astype(np.float32) / 255, 2)
        lr = degrade.bicubic_pair(hr, 2, "sr")[0]
        np.testing.assert_allclose(teacher_cache.read_teacher_output(tmp_path / "cache" / f"{i}.png"),
                                   np.clip(np.repeat(np.repeat(lr, 2, 0), 2, 1), 0, 1), atol=0.5 / 65535 + 1e-6)


# --- official outputs -------------------------------------------------------------------------------------------

def _official_folder(root: pathlib.Path, names_and_sizes, scale=2) -> tuple[pathlib.Path, pathlib.Path]:
    """Fake official pairs: LR noise and, as the 'output', its nearest-neighbour upsampling (a closed form)."""
    outputs, lrs = root / "outputs", root / "lr"
    for i, (name, (h, w)) in enumerate(names_and_sizes):
        lr = _noise((h, w, 3), 10 + i)
        _save_rgb(lrs / f"{name}x{scale}.png", lr)
        _save_rgb(outputs / f"{name}_SwinIR.png", np.repeat(np.repeat(lr, scale, 0), scale, 1))
    return outputs, lrs


def test_official_pairs_refuse_benchmark_folders(tmp_path, shared_data):
    official = shared_data / "teacher_outputs" / "swinir_set5" / "lightweightSR_SwinIR-S_x2"
    with pytest.raises(ValueError, match="benchmark set 'set5'"):
        teacher_cache.find_official_pairs(official, shared_data / "benchmarks" / "Set5" / "LR_bicubic" / "X2", scale=2)
    outputs, lrs = _official_folder(tmp_path / "Urban100_outputs", [("img", (6, 6))])
    with pytest.raises(ValueError, match="urban100"):
        teacher_cache.find_official_pairs(outputs, lrs, scale=2)
    assert teacher_cache.benchmark_name_in(tmp_path / "bsds500_train") is None
    outputs, lrs = _official_folder(tmp_path / "mine", [("cat", (6, 6))])
    (lrs / "cat.png").unlink(missing_ok=True)
    (lrs / "catx2.png").unlink()
    with pytest.raises(ValueError, match="no LR input .* cat"):
        teacher_cache.find_official_pairs(outputs, lrs, scale=2)


# --- paired loader ----------------------------------------------------------------------------------------------

def _take(loader, n):
    return list(itertools.islice(iter(loader), n))


def _reversed_channel_cache(images: pathlib.Path, cache: pathlib.Path) -> None:
    """A cache whose 'teacher output' of each image is the image with R and B swapped (written at 16 bits, exact)."""
    source = data.ImageFolderSource(images)
    for path in source.paths:
        image = degrade.mod_crop(np.asarray(Image.open(path).convert("RGB")), 2)
        write_image(cache / teacher_cache.cache_name(path.relative_to(images)), image[..., ::-1] / 255.0, bits=16)
    (cache / "manifest.json").write_text(json.dumps({"format": "jaxsharp-teacher-cache", "scale": 2,
                                                     "complete": True}))


@pytest.mark.parametrize("mode", ["sr", "sharpen"])
def test_teacher_crops_are_the_same_crops_as_the_targets(tmp_path, mode):
    images = tmp_path / "images"
    for name, (h, w) in {"a.png": (30, 40), "b.png": (26, 20), "sub/c.png": (21, 33)}.items():
        _save_rgb(images / name, _noise((h, w, 3), len(name) + h))
    _reversed_channel_cache(images, tmp_path / "cache")
    source = data.ImageFolderSource(images)
    kwargs = dict(crop_size=16, scale=2, mode=mode, batch_size=3, seed=4)
    batches = _take(data.make_train_loader(source, teacher_cache_dir=tmp_path / "cache", **kwargs), 3)
    shapes = data.batch_shapes(crop_size=16, scale=2, mode=mode, batch_size=3, teacher=True)
    for batch in batches:
        assert {k: v.shape for k, v in batch.items()} == shapes
        # Same window, same dihedral transform: the teacher crop is the target crop with R and B swapped, exactly.
        np.testing.assert_array_equal(batch["teacher"], batch["target"][..., ::-1])
        np.testing.assert_array_equal(batch["target_weight"], 1.0)
        np.testing.assert_array_equal(batch["teacher_weight"], 1.0)
        for model_input, target in zip(batch["input"], batch["target"]):
            np.testing.assert_array_equal(model_input, degrade.bicubic_pair(target, 2, mode)[0])
    assert len({b["target"].tobytes() for b in batches}) == 3
    # a.png and b.png are multiples of 2 already, so the paired loader draws the same crops as the plain loader
    # from them; only c.png (mod-cropped from 21x33 to 20x32 first) can differ.
    plain = _take(data.make_train_loader(source, **kwargs), 3)
    c = degrade.mod_crop(source[source.paths.index(images / "sub" / "c.png")], 2)
    differing = [t for pb, tb in zip(plain, batches) for p, t in zip(pb["target"], tb["target"])
                 if not np.array_equal(p, t)]
    assert len(differing) < 9 and all(_is_dihedral_window(t, c) for t in differing)


def _is_dihedral_window(crop: np.ndarray, image: np.ndarray) -> bool:
    size = crop.shape[0]
    for view in (np.rot90(im, k) for im in (image, image.transpose(1, 0, 2)) for k in range(4)):
        windows = np.lib.stride_tricks.sliding_window_view(view, (size, size), axis=(0, 1))
        if np.any(np.all(windows == crop.transpose(2, 0, 1)[None, None], axis=(2, 3, 4))):
            return True
    return False


def test_missing_cached_outputs_and_wrong_scale_are_reported(tmp_path):
    images = tmp_path / "images"
    for i in range(2):
        _save_rgb(images / f"{i}.png", _noise((20, 20, 3), i))
    _reversed_channel_cache(images, tmp_path / "cache")
    (tmp_path / "cache" / "1.png").unlink()
    source = data.ImageFolderSource(images)
    with pytest.raises(FileNotFoundError, match=r"no teacher output for 1 of 2 images .*1\.png"):
        data.make_train_loader(source, crop_size=8, scale=2, mode="sr", batch_size=1, seed=0,
                               teacher_cache_dir=tmp_path / "cache")
    with pytest.raises(ValueError, match="cache is for x2, the loader is x4"):
        data.make_train_loader(source, crop_size=8, scale=4, mode="sr", batch_size=1, seed=0,
                               teacher_cache_dir=tmp_path / "cache")


@pytest.mark.parametrize("mode", ["sr", "sharpen"])
def test_official_pairs_join_as_teacher_only_records(tmp_path, mode):
    images = tmp_path / "images"
    _save_rgb(images / "hr.png", _noise((24, 24, 3), 7))
    outputs, lrs = _official_folder(tmp_path / "extra", [("cat", (12, 15)), ("dog", (5, 6))])  # dog: padded
    official = data.OfficialPairSource(outputs, lrs, scale=2)
    assert len(official) == 2
    loader = data.make_train_loader(data.ImageFolderSource(images), crop_size=16, scale=2, mode=mode, batch_size=3,
                                    seed=1, official_pairs=official)
    kinds = set()
    for batch in _take(loader, 4):
        for i in range(3):
            teacher, target, model_input = batch["teacher"][i], batch["target"][i], batch["input"][i]
            if batch["target_weight"][i] == 0:  # official: teacher only; its lr is every other teacher pixel
                kinds.add("official")
                assert batch["teacher_weight"][i] == 1
                np.testing.assert_array_equal(target, teacher)
                lr = teacher[::2, ::2]
                np.testing.assert_array_equal(np.repeat(np.repeat(lr, 2, 0), 2, 1), teacher)  # aligned crop
                expected = lr if mode == "sr" else np.clip(degrade.imresize_np(lr, 2.0), 0, 1)
                np.testing.assert_array_equal(model_input, expected)
            else:  # the hr image without a cache: ground truth only
                kinds.add("hr")
                assert batch["teacher_weight"][i] == 0 and not teacher.any()
                np.testing.assert_array_equal(model_input, degrade.bicubic_pair(target, 2, mode)[0])
    assert kinds == {"official", "hr"}


def test_official_pairs_join_only_a_bicubic_loader(tmp_path, toy_degradation):
    images = tmp_path / "images"
    _save_rgb(images / "hr.png", _noise((24, 24, 3), 7))
    outputs, lrs = _official_folder(tmp_path / "extra", [("cat", (12, 15))])
    with pytest.raises(ValueError, match="official pairs have bicubic LR inputs"):
        data.make_train_loader(data.ImageFolderSource(images), crop_size=16, scale=2, mode="sr", batch_size=1,
                               seed=1, official_pairs=data.OfficialPairSource(outputs, lrs, scale=2),
                               degradation=toy_degradation)


# --- upcycled records (DUKD zoom-in / zoom-out) -------------------------------------------------------------------

def _nearest2(x: np.ndarray) -> np.ndarray:
    return np.clip(np.repeat(np.repeat(x, 2, 0), 2, 1), 0, 1)


def test_upcycled_outputs_are_the_teacher_on_the_image_itself_and_on_its_lr_degraded_again(tmp_path):
    images = tmp_path / "images"
    sizes = {"a.png": (12, 16), "b.png": (14, 10)}
    for i, (name, shape) in enumerate(sizes.items()):
        _save_rgb(images / name, _noise((*shape, 3), i))
    paths, cache, teacher = sorted(images.iterdir()), tmp_path / "cache", NearestTeacher()
    manifest = teacher_cache.build_teacher_cache(teacher, paths, cache, root=images, scale=2, progress=False,
                                                 upcycle=("zoom_out", "zoom_in"))
    assert manifest["upcycle"] == ["zoom_in", "zoom_out"] and teacher.calls == 2 * 3 * 8
    assert manifest["upcycled_entries"]["zoom_in"] == {"a.png": "a.png", "b.png": "b.png"}
    tol = 0.5 / 65535 + 1e-6
    for path in paths:
        hr = np.asarray(Image.open(path), np.float32) / 255
        # zoom-in: the HR image itself is the teacher's input (nearest x2 is exact under the self-ensemble)
        np.testing.assert_allclose(teacher_cache.read_teacher_output(cache / "zoom_in" / path.name), _nearest2(hr),
                                   atol=tol)
        # zoom-out: its ground truth is the image's bicubic lr; the teacher saw that lr's own bicubic lr
        small = teacher_cache.zoom_out_image(hr, path.name, scale=2)
        np.testing.assert_array_equal(small, degrade.mod_crop(degrade.bicubic_pair(hr, 2, "sr")[0], 2))
        np.testing.assert_allclose(teacher_cache.read_teacher_output(cache / "zoom_out" / path.name),
                                   _nearest2(degrade.bicubic_pair(small, 2, "sr")[0]), atol=tol)

    # A later build that asks for no upcycling keeps the kinds and recomputes nothing.
    again = teacher_cache.build_teacher_cache(teacher, paths, cache, root=images, scale=2, progress=False)
    assert again["upcycle"] == ["zoom_in", "zoom_out"] and teacher.calls == 48
    with pytest.raises(ValueError, match="unknown upcycling kind 'zoom_sideways'"):
        teacher_cache.build_teacher_cache(teacher, paths, cache, root=images, scale=2, upcycle=("zoom_sideways",))


def test_loader_draws_upcycled_records_in_their_shares_with_their_own_targets(tmp_path):
    images = tmp_path / "images"
    for i in range(3):
        _save_rgb(images / f"{i}.png", _noise((24, 24, 3), 20 + i))
    source = data.ImageFolderSource(images, cache=True)
    cache = tmp_path / "cache"
    teacher_cache.build_teacher_cache(NearestTeacher(), source.paths, cache, root=images, scale=2, progress=False,
                                      upcycle=("zoom_in", "zoom_out"))
    hrs = [np.asarray(Image.open(p), np.float32) / 255 for p in source.paths]
    smalls = [teacher_cache.zoom_out_image(hr, p.name, scale=2) for hr, p in zip(hrs, source.paths)]
    outs = [teacher_cache.read_teacher_output(cache / "zoom_out" / p.name) for p in source.paths]
    loader = data.make_train_loader(source, crop_size=8, scale=2, mode="sharpen", batch_size=8, seed=5,
                                    teacher_cache_dir=cache, upcycle_shares={"zoom_in": 0.25, "zoom_out": 0.25})
    counts = {"zoom_in": 0, "zoom_out": 0, "main": 0}
    for batch in _take(loader, 30):
        for inp, target, teacher, tw in zip(batch["input"], batch["target"], batch["teacher"],
                                            batch["target_weight"]):
            if tw == 0:  # zoom-in: an HR crop is the lr, the teacher's output its target
                counts["zoom_in"] += 1
                lr = teacher[::2, ::2]
                assert any(_is_dihedral_window(lr, hr) for hr in hrs)
                np.testing.assert_allclose(teacher, _nearest2(lr), atol=1e-4)
                np.testing.assert_allclose(inp, np.clip(degrade.imresize_np(lr, 2.0), 0, 1), atol=1e-6)
            elif any(_is_dihedral_window(target, s) for s in smalls):  # zoom-out: the lr is the ground truth
                counts["zoom_out"] += 1
                assert any(_is_dihedral_window(teacher, o) for o in outs)
                np.testing.assert_array_equal(inp, degrade.bicubic_pair(target, 2, "sharpen")[0])
            else:
                counts["main"] += 1
                assert any(_is_dihedral_window(target, hr) for hr in hrs)
    # 240 draws at 1/4, 1/4, 1/2: each count within 4 binomial standard deviations
    for kind, p in (("zoom_in", 0.25), ("zoom_out", 0.25), ("main", 0.5)):
        assert abs(counts[kind] - 240 * p) < 4 * np.sqrt(240 * p * (1 - p)), counts


def test_upcycled_shares_need_a_cache_that_holds_them(tmp_path):
    images = tmp_path / "images"
    _save_rgb(images / "a.png", _noise((16, 16, 3), 1))
    source, cache = data.ImageFolderSource(images), tmp_path / "cache"
    teacher_cache.build_teacher_cache(NearestTeacher(), source.paths, cache, root=images, scale=2, progress=False,
                                      upcycle=("zoom_out",))
    kwargs = dict(crop_size=8, scale=2, mode="sr", batch_size=1, seed=0)
    with pytest.raises(ValueError, match="has no zoom_in outputs"):
        data.make_train_loader(source, teacher_cache_dir=cache, upcycle_shares={"zoom_in": 0.2}, **kwargs)
    with pytest.raises(ValueError, match="need a teacher cache"):
        data.make_train_loader(source, upcycle_shares={"zoom_out": 0.2}, **kwargs)
    with pytest.raises(ValueError, match="sum below 1"):
        data.make_train_loader(source, teacher_cache_dir=cache, upcycle_shares={"zoom_out": 1.0}, **kwargs)
    (cache / "zoom_out" / "a.png").unlink()
    with pytest.raises(FileNotFoundError, match="no zoom_out output for 1 of 1"):
        data.make_train_loader(source, teacher_cache_dir=cache, upcycle_shares={"zoom_out": 0.2}, **kwargs)
