"""Training-data pipeline: folder source, crops/augmentation, degradation, determinism, state, sharding, tfds DIV2K."""

from __future__ import annotations

import itertools
import os
import pathlib
import subprocess
import sys
import textwrap

import grain
import numpy as np
import pytest
from PIL import Image

from jaxsharp import data, degrade
from jaxsharp.image_io import ImageReadError

REPO = pathlib.Path(__file__).resolve().parents[1]


def _save_rgb(path: pathlib.Path, pixels: np.ndarray) -> pathlib.Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


@pytest.fixture
def random_folder(tmp_path) -> pathlib.Path:
    """Three noise images of different sizes (all larger than the 16-px crops used below)."""
    rng = np.random.default_rng(0)
    for name, (h, w) in {"a.png": (40, 50), "b.png": (36, 28), "sub/c.png": (24, 33)}.items():
        _save_rgb(tmp_path / name, rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
    return tmp_path


def _take(loader, n: int) -> list[dict[str, np.ndarray]]:
    return list(itertools.islice(iter(loader), n))


def _dihedral_views(image: np.ndarray) -> list[np.ndarray]:
    # Independent enumeration of the 8 symmetries of the square: 4 rotations of the image and of its transpose.
    transposed = image.transpose(1, 0, 2)
    return [np.rot90(im, k) for im in (image, transposed) for k in range(4)]


def _find_dihedral_crop(crop: np.ndarray, images: list[np.ndarray]) -> tuple[int, int] | None:
    """(image index, dihedral view index) such that `crop` is a window of that view of that image, else None."""
    size = crop.shape[0]
    for i, image in enumerate(images):
        for j, view in enumerate(_dihedral_views(image)):
            if view.shape[0] < size or view.shape[1] < size:
                continue
            windows = np.lib.stride_tricks.sliding_window_view(view, (size, size), axis=(0, 1))
            if np.any(np.all(windows == crop.transpose(2, 0, 1)[None, None], axis=(2, 3, 4))):
                return i, j
    return None


# --- shapes, dtypes, static batches -------------------------------------------------------------------------------

@pytest.mark.parametrize("mode, scale, input_side", [("sr", 2, 8), ("sr", 4, 4), ("sharpen", 2, 16)])
def test_batches_have_static_shapes_float32_in_unit_range(random_folder, mode, scale, input_side):
    source = data.ImageFolderSource(random_folder)
    loader = data.make_train_loader(source, crop_size=16, scale=scale, mode=mode, batch_size=2, seed=0)
    expected = {"input": (2, input_side, input_side, 3), "target": (2, 16, 16, 3)}
    assert data.batch_shapes(crop_size=16, scale=scale, mode=mode, batch_size=2) == expected
    batches = _take(loader, 5)  # 10 records from 3 images: crosses epoch boundaries, still full batches
    for batch in batches:
        assert set(batch) == {"input", "target"}
        for key, array in batch.items():
            assert array.shape == expected[key] and array.dtype == np.float32
            assert 0.0 <= array.min() and array.max() <= 1.0


def test_include_reads_only_the_named_folders_with_paths_relative_to_the_root(tmp_path):
    rng = np.random.default_rng(1)
    for name in ("T91/x.png", "T91/deep/y.png", "BSDS/z.png", "DIV2K/w.png", "top.png"):
        _save_rgb(tmp_path / name, rng.integers(0, 256, (20, 20, 3), dtype=np.uint8))
    source = data.ImageFolderSource(tmp_path, include=("T91", "BSDS"))
    assert [p.relative_to(tmp_path).as_posix() for p in source.paths] == ["BSDS/z.png", "T91/deep/y.png", "T91/x.png"]
    assert "include=('T91', 'BSDS')" in repr(source)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        data.ImageFolderSource(tmp_path, include=("T91", "nowhere"))


def test_several_train_dirs_are_one_source_under_their_common_parent(tmp_path):
    import ml_collections

    from jaxsharp import train_lib

    rng = np.random.default_rng(2)
    for name in ("sets/a/1.png", "sets/b/2.png", "sets/c/3.png"):
        _save_rgb(tmp_path / name, rng.integers(0, 256, (20, 20, 3), dtype=np.uint8))
    config = ml_collections.ConfigDict({"data": {"train_dirs": (str(tmp_path / "sets/a"), str(tmp_path / "sets/c")),
                                                 "cache_images": False}})
    source = train_lib.train_source(config)
    assert source.root == tmp_path / "sets"
    assert [p.name for p in source.paths] == ["1.png", "3.png"]
    config.data.train_dirs = (str(tmp_path / "sets"), str(tmp_path / "sets/a"))
    with pytest.raises(ValueError, match="contains the other folders"):
        train_lib.train_source(config)


def test_t91_batch_at_training_size(shared_data):
    # Real data: 91 BMPs, one of them (78x78) smaller than the crop, so the padding warning must name the count.
    source = data.ImageFolderSource(shared_data / "train" / "T91", cache=True)
    assert len(source) == 91
    with pytest.warns(UserWarning, match="1 of 91 images .* smaller than the 96-px crop"):
        loader = data.make_train_loader(source, crop_size=96, scale=2, mode="sr", batch_size=4, seed=1)
    (batch,) = _take(loader, 1)
    assert batch["input"].shape == (4, 48, 48, 3) and batch["target"].shape == (4, 96, 96, 3)
    assert batch["target"].std() > 0.05  # real picture content, not padding or zeros


# --- determinism --------------------------------------------------------------------------------------------------

def test_same_seed_gives_identical_batches_and_other_seeds_differ(random_folder):
    source = data.ImageFolderSource(random_folder)

    def batches(seed):
        return _take(data.make_train_loader(source, crop_size=16, scale=2, mode="sr", batch_size=2, seed=seed), 4)

    first, again, other = batches(7), batches(7), batches(8)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a["input"], b["input"])
        np.testing.assert_array_equal(a["target"], b["target"])
    assert any(not np.array_equal(a["target"], c["target"]) for a, c in zip(first, other))
    # Successive batches of one run differ too (the rng is per record, not reused).
    assert not np.array_equal(first[0]["target"], first[1]["target"])


# --- augmentation and degradation (closed form) -------------------------------------------------------------------

def test_random_crop_augment_returns_a_dihedral_crop_and_covers_all_eight():
    image = np.random.default_rng(1).random((20, 27, 3), dtype=np.float32)  # distinct values: windows are unique
    found_views, found_crops = set(), set()
    for seed in range(64):
        crop = data.random_crop_augment(image, np.random.default_rng(seed), crop_size=8)
        assert crop.shape == (8, 8, 3) and crop.flags.c_contiguous
        match = _find_dihedral_crop(crop, [image])
        assert match is not None, f"seed {seed}: not a crop of any dihedral view"
        found_views.add(match[1])
        found_crops.add(crop.tobytes())
    assert found_views == set(range(8))
    assert len(found_crops) > 50  # positions vary as well as orientations
    # Pure function of (image, rng state): same generator state, same crop; the input is left untouched.
    before = image.copy()
    a = data.random_crop_augment(image, np.random.default_rng(3), crop_size=8)
    b = data.random_crop_augment(image, np.random.default_rng(3), crop_size=8)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(image, before)


def test_loader_targets_are_dihedral_crops_of_the_source_images(random_folder):
    source = data.ImageFolderSource(random_folder)
    images = [source[i] for i in range(len(source))]
    loader = data.make_train_loader(source, crop_size=16, scale=2, mode="sr", batch_size=3, seed=3)
    for batch in _take(loader, 2):
        for target in batch["target"]:
            assert _find_dihedral_crop(target, images) is not None


@pytest.mark.parametrize("mode, quantize", [("sr", False), ("sharpen", False), ("sr", True)])
def test_input_is_exactly_the_bicubic_pair_of_the_target(random_folder, mode, quantize):
    source = data.ImageFolderSource(random_folder)
    loader = data.make_train_loader(source, crop_size=12, scale=3, mode=mode, batch_size=3, seed=0, quantize=quantize)
    (batch,) = _take(loader, 1)
    for model_input, target in zip(batch["input"], batch["target"]):
        expected_input, expected_target = degrade.bicubic_pair(target, 3, mode, quantize=quantize)
        np.testing.assert_array_equal(model_input, expected_input)
        np.testing.assert_array_equal(target, expected_target)


def test_a_registered_degradation_draws_after_the_crop_and_is_deterministic(random_folder, toy_degradation):
    source = data.ImageFolderSource(random_folder)
    kwargs = dict(crop_size=12, scale=2, mode="sharpen", batch_size=3, seed=5)
    plain = _take(data.make_train_loader(source, **kwargs), 2)
    toy = _take(data.make_train_loader(source, degradation=toy_degradation, **kwargs), 2)
    again = _take(data.make_train_loader(source, degradation=toy_degradation, **kwargs), 2)
    other_seed = _take(data.make_train_loader(source, degradation=toy_degradation, **dict(kwargs, seed=6)), 2)
    for p, t, a in zip(plain, toy, again):
        # The degradation draws after the crop: the same crops as bicubic, other inputs, the same again per seed.
        np.testing.assert_array_equal(t["target"], p["target"])
        np.testing.assert_array_equal(t["input"], a["input"])
        assert not np.array_equal(t["input"], p["input"])
        assert t["input"].shape == p["input"].shape and t["input"].dtype == np.float32
    assert not np.array_equal(toy[0]["input"], other_seed[0]["input"])
    with pytest.raises(ValueError, match="unknown degradation 'nosuch'; registered: .*bicubic"):
        data.make_train_loader(source, degradation="nosuch", **kwargs)


def test_images_smaller_than_the_crop_are_reflect_padded(tmp_path):
    small = np.arange(10 * 12 * 3, dtype=np.uint8).reshape(10, 12, 3)
    _save_rgb(tmp_path / "small.png", small)
    source = data.ImageFolderSource(tmp_path)
    with pytest.warns(UserWarning, match="1 of 1 images .* reflect-padded"):
        loader = data.make_train_loader(source, crop_size=16, scale=2, mode="sr", batch_size=2, seed=0)
    (batch,) = _take(loader, 1)
    # Reflection (not edge repeat, not zeros): a 16-px crop of a reflect-padded 10x12 image, under a dihedral view.
    padded = np.pad(small, ((3, 3), (2, 2), (0, 0)), mode="reflect").astype(np.float32) / 255.0
    for target in batch["target"]:
        assert _find_dihedral_crop(target, [padded]) is not None


# --- iterator state, sharding, worker processes -------------------------------------------------------------------

def test_iterator_state_restores_the_exact_stream(random_folder):
    source = data.ImageFolderSource(random_folder, cache=True)

    def loader():
        return data.make_train_loader(source, crop_size=16, scale=2, mode="sharpen", batch_size=2, seed=5)

    it = iter(loader())
    for _ in range(3):
        next(it)
    state = it.get_state()
    following = [next(it) for _ in range(3)]
    it.set_state(state)
    restored_in_place = [next(it) for _ in range(3)]
    fresh = iter(loader())  # as after a restart: a new loader, same configuration
    fresh.set_state(state)
    restored_fresh = [next(fresh) for _ in range(3)]
    for expected, a, b in zip(following, restored_in_place, restored_fresh):
        for key in ("input", "target"):
            np.testing.assert_array_equal(a[key], expected[key])
            np.testing.assert_array_equal(b[key], expected[key])


def test_two_shards_partition_the_records(tmp_path):
    # Constant images: a crop, any dihedral view and the bicubic pair of one stay that constant, which names the record.
    levels = [10, 40, 70, 100, 130, 160, 190]
    for level in levels:
        _save_rgb(tmp_path / f"{level:03d}.png", np.full((20, 20, 3), level, np.uint8))
    source = data.ImageFolderSource(tmp_path)

    def records_of(shard_index):
        loader = data.make_train_loader(
            source, crop_size=8, scale=2, mode="sr", batch_size=1, seed=11, num_epochs=1,
            shard_options=grain.sharding.ShardOptions(shard_index=shard_index, shard_count=2, drop_remainder=True),
        )
        return [int(round(float(batch["target"][0, 0, 0, 0]) * 255)) for batch in loader]

    shard0, shard1 = records_of(0), records_of(1)
    assert len(shard0) == len(shard1) == 3  # 7 records, 2 equal shards: one record left out this epoch
    assert not set(shard0) & set(shard1)
    assert len(set(shard0) | set(shard1)) == 6 and set(shard0) | set(shard1) <= set(levels)


def test_default_sharding_follows_jax_processes(tmp_path, monkeypatch):
    for level in (20, 60, 100, 140):
        _save_rgb(tmp_path / f"{level:03d}.png", np.full((20, 20, 3), level, np.uint8))
    source = data.ImageFolderSource(tmp_path)

    def levels(**kwargs):
        loader = data.make_train_loader(source, crop_size=8, scale=2, mode="sr", batch_size=1, seed=2, num_epochs=1,
                                        **kwargs)
        return [int(round(float(batch["target"][0, 0, 0, 0]) * 255)) for batch in loader]

    assert sorted(levels()) == [20, 60, 100, 140]  # one process: every record
    import jax

    monkeypatch.setattr(jax, "process_index", lambda: 1)
    monkeypatch.setattr(jax, "process_count", lambda: 2)
    explicit = grain.sharding.ShardOptions(shard_index=1, shard_count=2, drop_remainder=True)
    assert levels() == levels(shard_options=explicit) and len(levels()) == 2


def test_worker_process_matches_in_process_batches_without_parsed_flags(random_folder):
    # A fresh interpreter (no conftest, absl flags never parsed) with a real grain worker process: the loader itself
    # must handle grain's flag access, and a worker must produce the same batches as the in-process path.
    script = textwrap.dedent(f"""
        import numpy as np
        from absl import flags
        from jaxsharp import data
        assert not flags.FLAGS.is_parsed()
        source = data.ImageFolderSource({str(random_folder)!r})
        def take(workers):
            it = iter(data.make_train_loader(source, crop_size=16, scale=2, mode="sr", batch_size=2, seed=4,
                                             worker_count=workers))
            return [next(it) for _ in range(3)]
        for a, b in zip(take(0), take(1)):
            for key in ("input", "target"):
                np.testing.assert_array_equal(a[key], b[key])
        print("SAME")
    """)
    env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env,
                            cwd=REPO)
    assert result.returncode == 0 and "SAME" in result.stdout, result.stderr[-3000:]


# --- file formats and broken files --------------------------------------------------------------------------------

def test_every_supported_image_mode_comes_out_rgb_float(tmp_path):
    gray = np.arange(20 * 20, dtype=np.uint8).reshape(20, 20)
    rgb = np.stack([gray, 255 - gray, gray // 2], axis=-1)
    Image.fromarray(gray, mode="L").save(tmp_path / "gray.png")
    Image.fromarray(rgb).quantize(16).save(tmp_path / "palette.png")
    Image.fromarray(np.dstack([rgb, np.full_like(gray, 200)]), mode="RGBA").save(tmp_path / "rgba.png")
    deep = np.full((20, 20), 1000, np.uint16)  # 1000 / 65535: between two 8-bit levels
    Image.fromarray(deep).save(tmp_path / "gray16.png")
    (tmp_path / "nested").mkdir()
    Image.fromarray(rgb).save(tmp_path / "nested" / "photo.webp", lossless=True)
    Image.fromarray(rgb).save(tmp_path / "nested" / "photo.jpg", quality=95)
    Image.fromarray(rgb).save(tmp_path / "nested" / "photo.bmp")
    (tmp_path / "README.md").write_text("not an image, ignored silently")

    source = data.ImageFolderSource(tmp_path)
    names = [p.relative_to(tmp_path).as_posix() for p in source.paths]
    assert names == ["gray.png", "gray16.png", "nested/photo.bmp", "nested/photo.jpg", "nested/photo.webp",
                     "palette.png", "rgba.png"]
    images = dict(zip(names, (source[i] for i in range(len(source)))))
    for name, image in images.items():
        assert image.shape == (20, 20, 3) and image.dtype == np.float32, name
        assert 0.0 <= image.min() and image.max() <= 1.0, name
    np.testing.assert_array_equal(images["gray.png"], np.repeat(gray[..., None], 3, -1) / np.float32(255))
    np.testing.assert_allclose(images["gray16.png"], 1000 / 65535, rtol=1e-6)
    for name in ("nested/photo.webp", "nested/photo.bmp", "rgba.png"):
        np.testing.assert_array_equal(images[name], rgb / np.float32(255), err_msg=name)
    (batch,) = _take(data.make_train_loader(source, crop_size=16, scale=2, mode="sr", batch_size=7, seed=0), 1)
    assert batch["target"].shape == (7, 16, 16, 3)


def test_unreadable_files_are_skipped_with_a_warning_naming_them(random_folder):
    (random_folder / "broken.png").write_bytes(b"this is not a png")
    with pytest.warns(UserWarning, match=r"skipped 1 unreadable file.*broken\.png"):
        source = data.ImageFolderSource(random_folder)
    assert len(source) == 3 and all(p.name != "broken.png" for p in source.paths)


def test_corrupt_pixel_data_raises_an_error_naming_the_file(tmp_path):
    good = _save_rgb(tmp_path / "good.png", np.zeros((32, 32, 3), np.uint8))
    whole = _save_rgb(tmp_path / "truncated.png", np.random.default_rng(0).integers(0, 256, (64, 64, 3), np.uint8))
    whole.write_bytes(whole.read_bytes()[:200])  # header intact, pixel data cut off
    source = data.ImageFolderSource(tmp_path)  # headers are fine: nothing skipped at scan time
    assert [p.name for p in source.paths] == [good.name, "truncated.png"]
    with pytest.raises(ImageReadError, match="truncated.png"):
        source[1]


def test_empty_folder_and_bad_configuration_are_rejected(tmp_path_factory, random_folder):
    with pytest.raises(ValueError, match="no readable image files"):
        data.ImageFolderSource(_empty_dir(tmp_path_factory.mktemp("empty")))
    source = data.ImageFolderSource(random_folder)
    for kwargs, message in [(dict(crop_size=15, scale=2, mode="sr"), "multiple of scale"),
                            (dict(crop_size=16, scale=2, mode="denoise"), "mode must be one of"),
                            (dict(crop_size=16, scale=2, mode="sr", batch_size=0), "batch_size")]:
        kwargs = dict(dict(batch_size=2, seed=0), **kwargs)
        with pytest.raises(ValueError, match=message):
            data.make_train_loader(source, **kwargs)


def _empty_dir(tmp_path: pathlib.Path) -> pathlib.Path:
    (tmp_path / "notes.txt").write_text("no images here")
    return tmp_path


# --- tensorflow-datasets: local DIV2K -----------------------------------------------------------------------------

def test_div2k_local_tfds_round_trip_without_tensorflow(tmp_path, shared_data):
    from jaxsharp import div2k_tfds

    t91 = sorted((shared_data / "train" / "T91").glob("*.bmp"))[:6]
    manual = tmp_path / "manual"
    expected = {}
    for i, path in enumerate(t91):
        split = "train" if i < 4 else "validation"
        folder = manual / div2k_tfds.SPLIT_FOLDERS[split]
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{i + 1:04d}.png"
        pixels = np.asarray(Image.open(path).convert("RGB"))
        if i == 5:  # a grayscale file takes the conversion path (PIL-encoded RGB) instead of byte passthrough
            pixels = np.asarray(Image.fromarray(pixels).convert("L"))
            Image.fromarray(pixels, mode="L").save(folder / name)
            pixels = np.repeat(pixels[..., None], 3, -1)
        else:
            Image.fromarray(pixels).save(folder / name)
        expected[split, name] = pixels
    (manual / "DIV2K_train_LR_bicubic" / "X2").mkdir(parents=True)  # optional LR folders are ignored

    data_dir = tmp_path / "tfds"
    div2k_tfds.prepare_div2k_local(manual_dir=manual, data_dir=data_dir)
    assert list((data_dir / "div2k_local" / "1.0.0").glob("*.array_record*"))

    for split, count in (("train", 4), ("validation", 2)):
        source = div2k_tfds.div2k_local_source(data_dir=data_dir, split=split)
        assert len(source) == count
        for i in range(count):
            record = source.records[i]
            name = record["file_name"].decode() if isinstance(record["file_name"], bytes) else record["file_name"]
            np.testing.assert_array_equal(record["image"], expected[split, name])
            image = source[i]
            assert image.dtype == np.float32 and image.shape == expected[split, name].shape
            np.testing.assert_array_equal(image, expected[split, name] / np.float32(255))

    train = div2k_tfds.div2k_local_source(data_dir=data_dir, split="train")
    loader = data.make_train_loader(train, crop_size=32, scale=2, mode="sr", batch_size=4, seed=0)
    it = iter(loader)
    batch = next(it)
    assert batch["input"].shape == (4, 16, 16, 3) and batch["target"].shape == (4, 32, 32, 3)
    state = it.get_state()  # the tfds source's repr is stable, so its state restores too
    after = next(it)
    it.set_state(state)
    np.testing.assert_array_equal(next(it)["target"], after["target"])
    assert "tensorflow" not in sys.modules


def test_target_usm_sharpens_the_target_not_the_input(tmp_path):
    from jaxsharp.degrade_realistic.pipelines import usm_target

    rng = np.random.default_rng(0)
    image = rng.uniform(size=(48, 48, 3)).astype(np.float32)
    plain = data.CropAugmentDegrade(crop_size=32, scale=2, mode="sharpen")
    usm = data.CropAugmentDegrade(crop_size=32, scale=2, mode="sharpen", target_usm=0.5)
    a, b = plain.random_map(image, np.random.default_rng(1)), usm.random_map(image, np.random.default_rng(1))
    np.testing.assert_array_equal(a["input"], b["input"])
    np.testing.assert_allclose(b["target"], usm_target(a["target"], 0.5), atol=1e-6)
    assert not np.allclose(a["target"], b["target"])
    with pytest.raises(ValueError, match="target_usm"):
        data.CropAugmentDegrade(crop_size=32, scale=2, mode="sharpen", target_usm=-1)
