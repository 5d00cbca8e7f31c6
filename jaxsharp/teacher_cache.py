"""Teacher outputs for distillation, computed once and cached as 16-bit PNGs beside a manifest.

    build_teacher_cache(teacher, source.paths, "cache/swinir_s_x2", root=source.root, scale=2)
    data.make_train_loader(source, ..., teacher_cache_dir="cache/swinir_s_x2")

One training image's path: hr = mod_crop(image, s); lr = degrade.pair(degradation, hr, s, "sr",
seed=image_seed(relative path))[0] (default "bicubic": bicubic_pair's lr); out = teacher(lr) under the x8 geometric
self-ensemble, clipped to [0, 1]; written as `<relative path>.png` (suffix replaced), 16 bits per channel so the cache
adds no 8-bit rounding to the distillation target. The teacher always sees the degradation's sr-mode lr, so one cache
serves students of both modes (sharpen students are trained on the sharpen-mode input of the same crop).

manifest.json records what made the outputs: the teacher (source path, config, pad mode, a sha256 of its
parameters), scale, degradation, self-ensemble, tiling and quantize settings (a manifest without "degradation",
written before it was recorded, is a "bicubic" one). A cache whose manifest differs from the current
request is stale: its outputs are deleted and rebuilt. A matching one is resumed: outputs already written are kept
(each file is written atomically, so an interrupted run leaves only whole files).

Upcycled inputs (DUKD, "Data Upcycling Knowledge Distillation for Image Super-Resolution"): the teacher also labels
inputs that have no ground truth, so the student sees more distinct inputs than the training images give.
`upcycle=("zoom_in", "zoom_out")` adds, per image, in subfolders of the cache:
- zoom_in/<name>: the teacher's output for the mod-cropped HR image itself taken as an lr (s times its size): the
  student gets that image's own degradation-free input and learns the teacher's output (no ground truth);
- zoom_out/<name>: the teacher's output for the lr degraded once more (`zoom_out_image` is the lr, made as the main
  cache's, mod-cropped; its own lr is seeded by `degrade.image_seed(rel + "#zoom_out")`): the lr is the ground
  truth there and the teacher's output the distillation target.
The manifest lists the kinds it holds ("upcycle") and their entries; adding a kind to a cache keeps what it has.

Official teacher outputs (`<name>_SwinIR.png` written by the official test script, with their LR inputs) are a second
source of distillation targets with no ground truth: `find_official_pairs`. The ones in shared/data are benchmark
images; folders named after a benchmark set are refused, so benchmark images never reach training.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import pathlib
import re
import warnings
from typing import Callable, Iterable

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from tqdm import tqdm

from jaxsharp import atomic, degrade
from jaxsharp.checkpoint import flat_state
from jaxsharp.image_io import IMAGE_SUFFIXES, read_image_rgb, write_image

MANIFEST = "manifest.json"
_FORMAT = "jaxsharp-teacher-cache"
_VERSION = 2  # 2: images smaller than a tile are padded up to it
# Benchmark set names (evaluate.BENCHMARK_SETS and their common aliases), matched case-insensitively as whole words
# of a folder name: "swinir_set5", "Set14/LR_bicubic" match; "bsds500_train" does not.
BENCHMARK_NAMES = ("set5", "set14", "b100", "bsd100", "bsds100", "urban100", "manga109")
_BENCHMARK_RE = re.compile(r"(?<![a-z0-9])(" + "|".join(BENCHMARK_NAMES) + r")(?![a-z0-9])")
OFFICIAL_SUFFIX = "_SwinIR"
UPCYCLE_KINDS = ("zoom_in", "zoom_out")


# ---------------------------------------------------------------------------------------------------------------
# x8 geometric self-ensemble


def dihedral(x: jax.Array, k: int) -> jax.Array:
    """Symmetry k of the square on NHWC: k % 4 quarter turns, then a left-right mirror if k >= 4.

    The same convention as `data.dihedral_transform` (HWC, NumPy), here on the H, W axes of a batch.
    """
    y = jnp.rot90(x, k % 4, axes=(1, 2))
    return jnp.flip(y, axis=2) if k >= 4 else y


def inverse_dihedral(y: jax.Array, k: int) -> jax.Array:
    """Undoes `dihedral(., k)`: mirror back first, then turn back."""
    if k >= 4:
        y = jnp.flip(y, axis=2)
    return jnp.rot90(y, -(k % 4), axes=(1, 2))


def self_ensemble(fn: Callable[[jax.Array], jax.Array], x: jax.Array) -> jax.Array:
    """Mean over the 8 dihedral transforms t of t^-1(fn(t(x))); x NHWC, fn NHWC -> NHWC (any scale).

    Pure if fn is. For an fn that commutes with rotations and mirrors (pointwise maps, nearest upsampling) the
    result is fn(x); for a learned model it averages away orientation-dependent errors (+0.1-0.2 dB for SwinIR).
    """
    outputs = [inverse_dihedral(jnp.asarray(fn(dihedral(x, k))), k) for k in range(8)]
    return functools.reduce(jnp.add, outputs) / 8.0


_self_ensemble = self_ensemble  # build_teacher_cache's keyword argument of the same name shadows the function


def read_teacher_output(path: str | os.PathLike) -> np.ndarray:
    """A cached or official teacher output as float32 RGB [H, W, 3] in [0, 1], 16-bit precision kept.

    Raises image_io.ImageReadError naming the file if it is missing or unreadable.
    """
    return read_image_rgb(path)  # image_io decodes 16-bit PNGs itself (Pillow would round them to 8 bits)


# ---------------------------------------------------------------------------------------------------------------
# The cache


def params_sha256(params) -> str:
    """sha256 over every parameter (name, dtype, shape, bytes): the teacher's weights identity.

    params: an nnx.State or a flat {"a/b/0/kernel": array} dict (both hash alike), or any other pytree of arrays.
    """
    if isinstance(params, nnx.State):
        items = list(flat_state(params).items())
    elif isinstance(params, dict) and all(isinstance(k, str) and not isinstance(v, dict) for k, v in params.items()):
        items = list(params.items())
    else:
        items = [(jax.tree_util.keystr(path), leaf) for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]]
    digest = hashlib.sha256()
    for name, value in sorted(items, key=lambda item: item[0]):
        array = np.ascontiguousarray(np.asarray(value))
        digest.update(f"{name}|{array.dtype}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def teacher_identity(teacher) -> dict:
    """What identifies a teacher's outputs: its source, config, border padding and a hash of its parameters."""
    config = teacher.config
    return {
        "source": str(getattr(teacher, "source", "")),
        "config": dataclasses.asdict(config) if dataclasses.is_dataclass(config) else repr(config),
        "pad": getattr(teacher, "pad", None),
        "params_sha256": params_sha256(teacher.params),
    }


def cache_name(relative_path: str | os.PathLike) -> str:
    """Cache file of a source image: its path relative to the image root with the suffix replaced by .png."""
    return pathlib.PurePosixPath(pathlib.PurePath(relative_path).as_posix()).with_suffix(".png").as_posix()


def read_manifest(cache_dir: str | os.PathLike) -> dict:
    """The cache's manifest; FileNotFoundError / ValueError naming the file if missing or not a teacher cache."""
    path = pathlib.Path(cache_dir) / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing (not a teacher cache; build one with build_teacher_cache)")
    try:
        manifest = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: unreadable manifest ({e})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != _FORMAT:
        raise ValueError(f"{path}: not a teacher-cache manifest")
    return manifest


def _common_root(paths: list[pathlib.Path]) -> pathlib.Path:
    return pathlib.Path(os.path.commonpath([str(p.parent) for p in paths]))


def _clear_outputs(cache_dir: pathlib.Path) -> None:
    for path in sorted(cache_dir.rglob("*"), reverse=True):  # children before their folders
        if path.name == MANIFEST and path.parent == cache_dir:
            continue
        if path.is_file() and (path.suffix == ".png" or path.name.endswith(".tmp")):
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def check_upcycle(kinds: Iterable[str]) -> tuple[str, ...]:
    """The upcycling kinds, validated, in UPCYCLE_KINDS order; ValueError naming an unknown one."""
    kinds = tuple(kinds)
    unknown = [k for k in kinds if k not in UPCYCLE_KINDS]
    if unknown:
        raise ValueError(f"unknown upcycling kind {unknown[0]!r}; valid kinds: {', '.join(UPCYCLE_KINDS)}")
    return tuple(k for k in UPCYCLE_KINDS if k in kinds)


def lr_image(hr: np.ndarray, relative_path: str, *, scale: int, degradation: str = degrade.DEFAULT,
             quantize: bool = False) -> np.ndarray:
    """The lr the main cache's teacher sees for a mod-cropped training image (its path relative to the root)."""
    return degrade.pair(degradation, hr, scale, "sr", quantize=quantize, seed=degrade.image_seed(relative_path))[0]


def zoom_out_image(hr: np.ndarray, relative_path: str, *, scale: int, degradation: str = degrade.DEFAULT,
                   quantize: bool = False) -> np.ndarray:
    """The ground truth of a zoom-out record: the image's lr (`lr_image`), mod-cropped to the scale."""
    return degrade.mod_crop(lr_image(hr, relative_path, scale=scale, degradation=degradation, quantize=quantize),
                            scale)


def zoom_out_seed_name(relative_path: str) -> str:
    """The name whose `degrade.image_seed` seeds the zoom-out image's own degradation (random degradations)."""
    return f"{relative_path}#zoom_out"


def build_teacher_cache(teacher, image_paths: Iterable[str | os.PathLike], cache_dir: str | os.PathLike, *,
                        scale: int, mode: str = "sr", root: str | os.PathLike | None = None,
                        self_ensemble: bool = True, tile: int | None = None, overlap: int = 32,
                        quantize: bool = False, degradation: str = degrade.DEFAULT, progress: bool = True,
                        upcycle: Iterable[str] = ()) -> dict:
    """Writes the teacher's output for every image to `cache_dir` (resumable), returns the manifest.

    teacher: a `jaxsharp.teacher.Teacher` (any object with .config.upscale, .params, __call__(x, tile=, overlap=)).
    image_paths: the training images; each is cached as cache_name(path relative to `root`) (default: their
      common folder; pass the ImageFolderSource's root so the loader finds them).
    scale: must be the teacher's. mode: the students it serves ("sr" or "sharpen"); the cache is the same for both
      (the teacher always sees the degradation's sr-mode lr), so it is checked but not recorded.
    tile / overlap: run the teacher in tiles (`Teacher.__call__`); None runs each image whole (one compile per
      image shape and orientation). quantize: round the teacher's lr input to uint8 levels (degrade.bicubic_pair).
    degradation: a `degrade.DEGRADATIONS` name, recorded; a cache made with another is stale and rebuilt. Each
      image's randomness (if any) is seeded by `degrade.image_seed` of its relative path.
    upcycle: also cache these upcycled kinds (UPCYCLE_KINDS; see the module docstring). Kinds already in the
      cache stay listed, so one cache serves runs with and without upcycling.
    """
    upcycle = check_upcycle(upcycle)
    if mode not in degrade.MODES:
        raise ValueError(f"unknown mode {mode!r}; valid modes: {', '.join(degrade.MODES)}")
    degrade.get(degradation)
    teacher_scale = int(teacher.config.upscale)
    if int(scale) != teacher_scale:
        raise ValueError(f"scale {scale} does not match the teacher's x{teacher_scale}")
    paths = [pathlib.Path(p) for p in image_paths]
    if not paths:
        raise ValueError("no images to cache")
    root = pathlib.Path(root) if root is not None else _common_root(paths)
    todo: list[tuple[pathlib.Path, str, str]] = []  # (image, path relative to root, cache file name)
    owners: dict[str, pathlib.Path] = {}
    for path in paths:
        try:
            relative = path.resolve().relative_to(root.resolve())
        except ValueError:
            raise ValueError(f"{path} is not under the image root {root}") from None
        name = cache_name(relative)
        if name in owners:
            raise ValueError(f"{path} and {owners[name]} would share the cache file {name}; rename one of them")
        owners[name] = path
        todo.append((path, relative.as_posix(), name))

    cache_dir = pathlib.Path(cache_dir)
    key = {"format": _FORMAT, "version": _VERSION, "teacher": teacher_identity(teacher), "scale": teacher_scale,
           "self_ensemble": bool(self_ensemble), "tile": tile, "overlap": overlap if tile else None,
           "quantize": bool(quantize), "degradation": degradation}
    key = json.loads(json.dumps(key))  # as the manifest will read back (tuples become lists)
    kept: tuple[str, ...] = ()
    if cache_dir.exists() and any(cache_dir.iterdir()):
        old = read_manifest(cache_dir)  # refuses a non-empty folder that is not a cache: nothing there is deleted
        old.setdefault("degradation", degrade.DEFAULT)  # written before the key existed: bicubic, still valid
        if {k: old.get(k) for k in key} != key:
            changed = sorted(k for k in key if old.get(k) != key[k])
            warnings.warn(f"teacher cache {cache_dir} is stale ({', '.join(changed)} changed): rebuilding it",
                          stacklevel=2)
            _clear_outputs(cache_dir)
        else:
            kept = tuple(old.get("upcycle", ()))
    upcycle_all = check_upcycle(set(upcycle) | set(kept))
    cache_dir.mkdir(parents=True, exist_ok=True)
    manifest = {**key, "upcycle": list(upcycle_all), "complete": False, "entries": {},
                "upcycled_entries": {kind: {} for kind in upcycle_all}}
    atomic.write_json(cache_dir / MANIFEST, manifest, sort_keys=True)  # first: a crash from here on resumes under this identity

    def run_teacher(x):
        if not tile:
            return teacher(x)
        # Images smaller than a tile are padded up to it (symmetric, as the teacher pads to its window) so every
        # call sees the one tile shape: otherwise each small image's size is a fresh compile, seconds to a minute
        # each for SwinIR, which dominated building T91's cache.
        h, w = x.shape[1:3]
        ph, pw = max(tile - h, 0), max(tile - w, 0)
        if ph or pw:
            x = jnp.asarray(np.pad(np.asarray(x), ((0, 0), (0, ph), (0, pw), (0, 0)), mode="symmetric"))
        s = teacher_scale
        return teacher(x, tile=tile, overlap=overlap)[:, : h * s, : w * s]

    def label(lr: np.ndarray, expected: tuple[int, ...], path: pathlib.Path, out_path: pathlib.Path) -> None:
        x = jnp.asarray(lr[None], jnp.float32)
        out = _self_ensemble(run_teacher, x) if self_ensemble else run_teacher(x)
        out = np.clip(np.asarray(out, np.float32)[0], 0.0, 1.0)
        if out.shape != expected:
            raise ValueError(f"{path}: teacher output {out.shape}, expected {expected}")
        write_image(out_path, out, bits=16)

    for path, rel, name in tqdm(todo, desc=f"teacher cache {cache_dir.name}", unit="img", disable=not progress):
        files = {"": cache_dir / name, **{kind: cache_dir / kind / name for kind in upcycle_all}}
        if not all(f.is_file() for f in files.values()):
            hr = degrade.mod_crop(read_image_rgb(path), teacher_scale)
            options = dict(scale=teacher_scale, degradation=degradation, quantize=quantize)
            if not files[""].is_file():
                label(lr_image(hr, rel, **options), hr.shape, path, files[""])
            if "zoom_in" in files and not files["zoom_in"].is_file():
                label(hr, (hr.shape[0] * teacher_scale, hr.shape[1] * teacher_scale, 3), path, files["zoom_in"])
            if "zoom_out" in files and not files["zoom_out"].is_file():
                small = zoom_out_image(hr, rel, **options)
                label(lr_image(small, zoom_out_seed_name(rel), **options), small.shape, path, files["zoom_out"])
        manifest["entries"][rel] = name
        for kind in upcycle_all:
            manifest["upcycled_entries"][kind][rel] = name
    manifest["complete"] = True
    atomic.write_json(cache_dir / MANIFEST, manifest, sort_keys=True)
    return manifest


# ---------------------------------------------------------------------------------------------------------------
# Official teacher outputs


@dataclasses.dataclass(frozen=True)
class OfficialPair:
    """One official teacher output and the LR image it was computed from."""

    name: str
    lr_path: pathlib.Path
    output_path: pathlib.Path


def benchmark_name_in(path: str | os.PathLike) -> str | None:
    """The benchmark set a path's folders are named after (e.g. 'set5' for .../swinir_set5/...), else None."""
    for part in pathlib.Path(path).resolve().parts:
        match = _BENCHMARK_RE.search(part.lower())
        if match:
            return match.group(1)
    return None


def find_official_pairs(outputs_dir: str | os.PathLike, lr_dir: str | os.PathLike, *,
                        scale: int) -> list[OfficialPair]:
    """Pairs every `<name>_SwinIR.png` in `outputs_dir` with its LR input `<name>x<scale>.<ext>` or `<name>.<ext>`.

    Refuses (ValueError) folders named after a benchmark set: official outputs published for benchmarks are for
    evaluation, and training on them would leak the test set. Every output needs its LR image.
    """
    outputs_dir, lr_dir = pathlib.Path(outputs_dir), pathlib.Path(lr_dir)
    for folder in (outputs_dir, lr_dir):
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder}: not a directory")
        benchmark = benchmark_name_in(folder)
        if benchmark:
            raise ValueError(f"{folder}: named after the benchmark set {benchmark!r}; benchmark images are never "
                             "used for training")
    outputs = sorted(p for p in outputs_dir.iterdir() if p.is_file() and p.stem.endswith(OFFICIAL_SUFFIX)
                     and p.suffix.lower() in IMAGE_SUFFIXES)
    if not outputs:
        raise ValueError(f"{outputs_dir}: no official outputs (*{OFFICIAL_SUFFIX}.png) found")
    lr_files = {p.stem: p for p in sorted(lr_dir.iterdir()) if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES}
    pairs, missing = [], []
    for output in outputs:
        name = output.stem[: -len(OFFICIAL_SUFFIX)]
        lr = lr_files.get(f"{name}x{scale}") or lr_files.get(name)
        if lr is None:
            missing.append(name)
        else:
            pairs.append(OfficialPair(name, lr, output))
    if missing:
        raise ValueError(f"{lr_dir}: no LR input ({{name}}x{scale}.png or {{name}}.png) for "
                         f"{', '.join(missing[:5])}{'...' if len(missing) > 5 else ''}")
    return pairs
