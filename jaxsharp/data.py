"""Training batches from image files: grain pipeline of random crops, dihedral augmentation, on-the-fly degradation.

One image's path through this module:
  ImageFolderSource[i]            float32 RGB [H, W, 3] in [0, 1]   (any readable file, via image_io)
  -> random_crop_augment           [crop, crop, 3]: reflect-pad if small, random crop, one of the 8 dihedral transforms
  -> degrade.pair(degradation)     {"input": [h, w, 3], "target": [crop, crop, 3]}  (default "bicubic": bicubic_pair)
  -> grain Batch(drop_remainder)   {"input": [B, h, w, 3], "target": [B, crop, crop, 3]} float32, static shapes

With a teacher cache (distillation, see teacher_cache.py), each record is (hr, cached teacher output) at the same size,
cropped and transformed together by one draw, and batches gain "teacher" [B, crop, crop, 3] and per-sample weights
"target_weight" / "teacher_weight" [B] for losses.student_loss. Official teacher outputs (LR input, output, no ground
truth) can join as extra records with target_weight 0; their "target" is a copy of the teacher crop (static shapes).
Upcycled records from the same cache (DUKD's zoom-in: an HR crop as the input, the teacher's output its only target;
zoom-out: the lr as the ground truth of its own degradation) replace an image's record with their shares
(`upcycle_shares`, drawn per record).

Randomness comes only from grain's per-record generator (Philox keyed by seed + the record's position in the sampled
stream; a random degradation draws from it after the crop), so the same seed and worker_count give identical batches
(worker_count 0 and 1 agree; with more workers each worker batches its own share of records), and the iterator
state (`get_state` / `set_state`) restores the exact stream. Records are sharded over `jax.process_index()` /
`jax.process_count()` by default.

Choices:
- Images smaller than the crop are reflect-padded up to the crop size (centred) rather than skipped, so small sets
  such as T91 (smallest image 78x78) keep every image at any crop size; the loader warns how many images that affects.
- Files that cannot be opened at all (not an image, unreadable header) are skipped with a warning naming each file when
  the folder is scanned. A file whose header is fine but whose pixel data is corrupt is only found when decoded
  (scan-time full decoding would make start-up slow on big sets): the source raises `image_io.ImageReadError` naming
  the file, and the loader drops that record with a warning naming it (once per process) and fills the batch from the
  next records, so one bad file in a week-long run costs one record, not the run (`skip_unreadable=False` raises
  instead). If every record fails, the loader raises rather than looping forever over nothing.
"""

from __future__ import annotations

import os
import pathlib
import warnings
from typing import Protocol

import grain
import numpy as np
from absl import flags
from PIL import Image, UnidentifiedImageError

from jaxsharp import degrade, teacher_cache
from jaxsharp.image_io import IMAGE_SUFFIXES, ImageReadError, read_image_rgb

# EXIF orientations 5..8 rotate by 90 degrees: the decoded image is the header size transposed.
_EXIF_ORIENTATION = 0x0112
_TRANSPOSING_ORIENTATIONS = (5, 6, 7, 8)


class ImageSource(Protocol):
    """What the loader reads: a random-access sequence of float32 RGB images [H, W, 3] in [0, 1]."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> np.ndarray: ...


def _header_size(path: pathlib.Path) -> tuple[int, int]:
    """(height, width) of the decoded image, from the header only (no pixel decoding)."""
    with Image.open(path) as img:
        width, height = img.size
        if img.format == "PNG":
            # PngImageFile.getexif() decodes all pixels to look for an eXIf chunk after them; read only one before.
            exif = Image.Exif()
            if "exif" in img.info:
                exif.load(img.info["exif"])
        else:
            exif = img.getexif()
        if exif.get(_EXIF_ORIENTATION) in _TRANSPOSING_ORIENTATIONS:
            width, height = height, width
    return height, width


class ImageFolderSource:
    """Every image file under `root` (recursive), as float32 RGB [H, W, 3] in [0, 1]; a grain random-access source.

    Files are found by suffix (image_io.IMAGE_SUFFIXES: PNG, JPEG, BMP, WebP, TIFF) and sorted by relative path, so
    every host of a multi-host run sees the same record order and sharding partitions the same list. Grayscale, palette,
    alpha and 16-bit files are normalised by image_io.read_image_rgb. Files whose header cannot be read are skipped with
    a warning naming them.

    cache: keep each decoded image in memory after its first read, so each file is decoded once per process (once per
      grain worker). Costs H * W * 12 bytes per image per process: meant for small sets (T91: ~40 MB), not for DIV2K.
    include: only these folders under `root` (e.g. ("T91", "BSDS500_test") of a train/ folder that holds more); paths
      stay relative to `root`, so several training sets share one teacher cache without name clashes.
    exclude: files left out (e.g. jaxsharp.splits' validation images), as paths relative to `root`.
    """

    def __init__(self, root: str | os.PathLike, *, cache: bool = False, include: tuple[str, ...] | None = None,
                 exclude: tuple[str, ...] = ()):
        self.root = pathlib.Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"{self.root}: not a directory")
        self.include = tuple(include) if include else None
        tops = [self.root / name for name in self.include] if self.include else [self.root]
        for top in tops:
            if not top.is_dir():
                raise FileNotFoundError(f"{top}: not a directory")
        self.exclude = tuple(sorted(exclude))
        left_out = set(self.exclude)
        candidates = sorted(
            {p for top in tops for p in top.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
             and p.relative_to(self.root).as_posix() not in left_out},
            key=lambda p: p.relative_to(self.root).as_posix(),
        )
        paths, sizes, skipped = [], [], []
        for path in candidates:
            try:
                size = _header_size(path)
            except (OSError, UnidentifiedImageError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
                skipped.append(f"{path} ({type(e).__name__}: {e})")
                continue
            paths.append(path)
            sizes.append(size)
        if skipped:
            warnings.warn(
                f"ImageFolderSource({self.root}): skipped {len(skipped)} unreadable file(s): " + "; ".join(skipped),
                stacklevel=2,
            )
        if not paths:
            raise ValueError(f"{self.root}: no readable image files ({', '.join(IMAGE_SUFFIXES)}) found")
        self.paths: tuple[pathlib.Path, ...] = tuple(paths)
        # (height, width) per record, read from headers: lets the loader report images smaller than the crop.
        self.sizes: tuple[tuple[int, int], ...] = tuple(sizes)
        self.cache = cache
        self._decoded: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> np.ndarray:
        """float32 RGB [H, W, 3] in [0, 1]. Read-only when cached: callers must copy before writing."""
        if not self.cache:
            return read_image_rgb(self.paths[index])
        image = self._decoded.get(index)
        if image is None:
            # Concurrent reader threads may decode the same file twice on a first read; harmless, the result is equal.
            image = read_image_rgb(self.paths[index])
            image.flags.writeable = False
            self._decoded[index] = image
        return image

    def __repr__(self) -> str:
        # grain checks repr(source) when restoring iterator state, so it must be stable across processes and runs.
        include = f", include={self.include!r}" if self.include else ""
        exclude = f", exclude={self.exclude!r}" if self.exclude else ""
        return (f"ImageFolderSource(root={str(self.root)!r}{include}{exclude}, num_records={len(self)}, "
                f"cache={self.cache})")

    def __getstate__(self):
        # Workers start with an empty cache: decoded images are not shipped through pickling.
        state = dict(self.__dict__)
        state["_decoded"] = {}
        return state


def dihedral_transform(image: np.ndarray, k: int) -> np.ndarray:
    """One of the 8 symmetries of the square on [H, W, C]: k % 4 quarter turns, then a left-right mirror if k >= 4."""
    if not 0 <= k < 8:
        raise ValueError(f"dihedral index must be in 0..7, got {k}")
    out = np.rot90(image, k % 4, axes=(0, 1))
    return out[:, ::-1] if k >= 4 else out


def reflect_pad_to(image: np.ndarray, size: int) -> np.ndarray:
    """Reflect-pads [H, W, C] (centred) so both sides are at least `size`; large enough images are returned as is."""
    height, width = image.shape[:2]
    pad_h, pad_w = max(size - height, 0), max(size - width, 0)
    if pad_h == 0 and pad_w == 0:
        return image
    return np.pad(image, ((pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2), (0, 0)), mode="reflect")


def random_crop_augment(image: np.ndarray, rng: np.random.Generator, *, crop_size: int) -> np.ndarray:
    """A random [crop_size, crop_size, C] crop of `image` [H, W, C] under a random dihedral transform.

    Pure function of (image, rng state): draws top, left, then the dihedral index, in that order. Images smaller than
    the crop are reflect-padded first (see reflect_pad_to). Returns a new contiguous array; `image` is not modified.
    """
    image = reflect_pad_to(image, crop_size)
    height, width = image.shape[:2]
    top = int(rng.integers(0, height - crop_size + 1))
    left = int(rng.integers(0, width - crop_size + 1))
    k = int(rng.integers(0, 8))
    crop = image[top:top + crop_size, left:left + crop_size]
    return dihedral_transform(crop, k).copy()  # a copy: the source may hand out its cached (read-only) image


def _check_crop_config(crop_size: int, scale: int, mode: str) -> None:
    if mode not in degrade.MODES:
        raise ValueError(f"mode must be one of {degrade.MODES}, got {mode!r}")
    if scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale}")
    if crop_size < 1 or crop_size % scale:
        raise ValueError(f"crop_size must be a positive multiple of scale={scale}, got {crop_size}")


class CropAugmentDegrade(grain.transforms.RandomMap):
    """grain transform: float32 RGB image -> {"input", "target"} training pair, random from grain's per-record rng.

    degradation: a `degrade.DEGRADATIONS` name; it draws from the record's rng after the crop and dihedral draws.
    target_usm: > 0 trains towards Real-ESRGAN's unsharp-masked target (pipelines.usm_target of that weight)
    instead of the clean crop; the input is made from the clean crop either way.
    """

    def __init__(self, *, crop_size: int, scale: int, mode: str, quantize: bool = False,
                 degradation: str = degrade.DEFAULT, target_usm: float = 0.0):
        _check_crop_config(crop_size, scale, mode)
        degrade.get(degradation)  # an unknown name fails here, not in a worker
        if not target_usm >= 0:
            raise ValueError(f"target_usm must be >= 0, got {target_usm}")
        self.crop_size, self.scale, self.mode, self.quantize = crop_size, scale, mode, quantize
        self.degradation, self.target_usm = degradation, float(target_usm)

    def random_map(self, element: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
        target = random_crop_augment(element, rng, crop_size=self.crop_size)
        model_input, target = degrade.pair(self.degradation, target, self.scale, self.mode, quantize=self.quantize,
                                           seed=rng)
        if self.target_usm:
            from jaxsharp.degrade_realistic.pipelines import usm_target

            target = usm_target(target, self.target_usm)
        return {"input": np.asarray(model_input, np.float32), "target": np.asarray(target, np.float32)}

    def __repr__(self) -> str:
        return (f"CropAugmentDegrade(crop_size={self.crop_size}, scale={self.scale}, mode={self.mode!r}, "
                f"quantize={self.quantize}, degradation={self.degradation!r}, target_usm={self.target_usm})")


# --- distillation: records with teacher outputs -------------------------------------------------------------------

class TeacherCacheSource:
    """An ImageFolderSource's images with their cached teacher outputs: records {"hr", "teacher"}, float32 [H, W, 3].

    hr is the image mod-cropped to the scale (what the teacher's input was made from), teacher the cached output of the
    same size (teacher_cache.build_teacher_cache with this source's root). Every image must be cached: missing files
    are reported when the source is made, a cached output of the wrong size when it is read (a stale cache).
    degradation: the loader's; a cache whose teacher saw another degradation's lr is refused (manifests from before
    the key existed are "bicubic"). cache: keep decoded pairs in memory (default: the wrapped source's setting).
    """

    def __init__(self, source: ImageFolderSource, cache_dir: str | os.PathLike, *, scale: int,
                 cache: bool | None = None, degradation: str = degrade.DEFAULT):
        if not hasattr(source, "paths") or not hasattr(source, "root"):
            raise TypeError(f"a teacher cache needs an image-folder source (with paths and root), got {source!r}")
        self.source, self.scale = source, int(scale)
        self.cache_dir = pathlib.Path(cache_dir)
        self.manifest = manifest = teacher_cache.read_manifest(self.cache_dir)
        if manifest.get("scale") != self.scale:
            raise ValueError(f"{self.cache_dir}: teacher cache is for x{manifest.get('scale')}, the loader is x{scale}")
        cached_degradation = manifest.get("degradation", degrade.DEFAULT)
        if cached_degradation != degradation:
            raise ValueError(f"{self.cache_dir}: teacher cache was made with degradation {cached_degradation!r}, the "
                             f"loader uses {degradation!r} (rebuild it with teacher_cache.build_teacher_cache)")
        if not manifest.get("complete"):
            warnings.warn(f"{self.cache_dir}: teacher cache build did not finish (missing outputs are reported below)",
                          stacklevel=2)
        self.files = tuple(self.cache_dir / teacher_cache.cache_name(p.relative_to(source.root)) for p in source.paths)
        missing = [str(f) for f in self.files if not f.is_file()]
        if missing:
            raise FileNotFoundError(f"{self.cache_dir}: no teacher output for {len(missing)} of {len(self.files)} "
                                    f"images (e.g. {missing[0]}); run teacher_cache.build_teacher_cache on "
                                    f"{source.root}")
        self.cache = source.cache if cache is None else cache
        self._decoded: dict[int, dict[str, np.ndarray]] = {}

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        record = self._decoded.get(index)
        if record is not None:
            return record
        record = self._read(index)
        if self.cache:
            for value in record.values():
                value.flags.writeable = False
            self._decoded[index] = record
        return record

    def _read(self, index: int) -> dict[str, np.ndarray]:
        hr = degrade.mod_crop(self.source[index], self.scale)
        teacher = teacher_cache.read_teacher_output(self.files[index])
        if teacher.shape != hr.shape:
            raise ImageReadError(f"{self.files[index]}: teacher output is {teacher.shape[:2]}, its image "
                                 f"{self.source.paths[index]} is {hr.shape[:2]} after mod-crop (stale cache?)")
        return {"hr": hr, "teacher": teacher}

    def __repr__(self) -> str:
        return (f"TeacherCacheSource(source={self.source!r}, cache_dir={str(self.cache_dir)!r}, scale={self.scale}, "
                f"cache={self.cache})")

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_decoded"] = {}
        return state


class UpcycledSource(TeacherCacheSource):
    """Upcycled records of a teacher cache (teacher_cache.UPCYCLE_KINDS, DUKD's zoom-in / zoom-out), one per image.

    kind "zoom_in": {"lr": the mod-cropped image itself, "teacher": the cached output, s times its size}: no ground
      truth, so the loader gives it target_weight 0 (as an official pair).
    kind "zoom_out": {"hr": teacher_cache.zoom_out_image (the image's lr), "teacher": the cached output, same size}:
      the lr is the ground truth and the loader degrades it as any training crop.
    The cache must hold the kind (build_teacher_cache(..., upcycle=...)); its degradation must be the loader's.
    """

    def __init__(self, source: ImageFolderSource, cache_dir: str | os.PathLike, kind: str, *, scale: int,
                 cache: bool | None = None, degradation: str = degrade.DEFAULT):
        super().__init__(source, cache_dir, scale=scale, cache=cache, degradation=degradation)
        (self.kind,) = teacher_cache.check_upcycle([kind])
        manifest = self.manifest
        if kind not in manifest.get("upcycle", ()):
            raise ValueError(f"{cache_dir}: the teacher cache has no {kind} outputs (it holds "
                             f"{', '.join(manifest.get('upcycle', ())) or 'none'}); build it with upcycle=({kind!r},)")
        self.quantize, self.degradation = bool(manifest.get("quantize", False)), degradation
        self.files = tuple(self.cache_dir / kind / f.relative_to(self.cache_dir) for f in self.files)
        missing = [str(f) for f in self.files if not f.is_file()]
        if missing:
            raise FileNotFoundError(f"{self.cache_dir}: no {kind} output for {len(missing)} of {len(self.files)} "
                                    f"images (e.g. {missing[0]})")

    def _read(self, index: int) -> dict[str, np.ndarray]:
        hr = degrade.mod_crop(self.source[index], self.scale)
        teacher = teacher_cache.read_teacher_output(self.files[index])
        if self.kind == "zoom_in":
            image, expected, key = hr, (hr.shape[0] * self.scale, hr.shape[1] * self.scale, 3), "lr"
        else:
            relative = self.source.paths[index].relative_to(self.source.root).as_posix()
            image = teacher_cache.zoom_out_image(hr, relative, scale=self.scale, degradation=self.degradation,
                                                 quantize=self.quantize)
            expected, key = image.shape, "hr"
        if teacher.shape != expected:
            raise ImageReadError(f"{self.files[index]}: {self.kind} teacher output is {teacher.shape[:2]}, expected "
                                 f"{expected[:2]} for {self.source.paths[index]} (stale cache?)")
        return {key: image, "teacher": teacher}

    def __repr__(self) -> str:
        return (f"UpcycledSource(source={self.source!r}, cache_dir={str(self.cache_dir)!r}, kind={self.kind!r}, "
                f"scale={self.scale}, cache={self.cache})")


class UpcycleMixSource:
    """A teacher cache's records with their upcycled versions: {"main": TeacherCacheSource record, "upcycled":
    {kind: UpcycledSource record}} per image; CropAugmentDegradeDistill picks one of them per draw (its shares), so
    every image serves every kind over an epoch in the proportions asked."""

    def __init__(self, main: TeacherCacheSource, upcycled: dict[str, UpcycledSource]):
        if any(len(u) != len(main) for u in upcycled.values()):
            raise ValueError("upcycled sources must have one record per image of the main source")
        self.main, self.upcycled = main, dict(upcycled)

    def __len__(self) -> int:
        return len(self.main)

    def __getitem__(self, index: int) -> dict:
        return {"main": self.main[index], "upcycled": {k: u[index] for k, u in self.upcycled.items()}}

    def __repr__(self) -> str:
        return f"UpcycleMixSource({self.main!r}, {', '.join(repr(u) for u in self.upcycled.values())})"


def check_upcycle_shares(shares: dict[str, float] | None) -> dict[str, float]:
    """{kind: share} with the zero shares dropped; ValueError for an unknown kind or shares outside [0, 1) in sum."""
    shares = {k: float(v) for k, v in (shares or {}).items()}
    teacher_cache.check_upcycle(shares)
    if any(not v >= 0 for v in shares.values()) or not sum(shares.values()) < 1:
        raise ValueError(f"upcycling shares must be >= 0 and sum below 1, got {shares}")
    return {k: v for k, v in shares.items() if v > 0}


class OfficialPairSource:
    """Official teacher outputs with their LR inputs and no ground truth: records {"lr", "teacher"}, float32.

    lr [h, w, 3], teacher [scale*h, scale*w, 3]. Pairs come from teacher_cache.find_official_pairs, which refuses
    folders named after benchmark sets.
    """

    def __init__(self, outputs_dir: str | os.PathLike, lr_dir: str | os.PathLike, *, scale: int):
        self.outputs_dir, self.lr_dir, self.scale = pathlib.Path(outputs_dir), pathlib.Path(lr_dir), int(scale)
        self.pairs = tuple(teacher_cache.find_official_pairs(outputs_dir, lr_dir, scale=scale))

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        pair = self.pairs[index]
        lr = read_image_rgb(pair.lr_path)
        teacher = teacher_cache.read_teacher_output(pair.output_path)
        expected = (lr.shape[0] * self.scale, lr.shape[1] * self.scale, 3)
        if teacher.shape != expected:
            raise ImageReadError(f"{pair.output_path}: teacher output is {teacher.shape[:2]}, expected "
                                 f"{expected[:2]} (x{self.scale} of {pair.lr_path})")
        return {"lr": lr, "teacher": teacher}

    def __repr__(self) -> str:
        return (f"OfficialPairSource(outputs_dir={str(self.outputs_dir)!r}, lr_dir={str(self.lr_dir)!r}, "
                f"scale={self.scale}, num_records={len(self)})")


class ConcatSource:
    """Records of several sources one after the other (a grain random-access source)."""

    def __init__(self, sources):
        self.sources = tuple(sources)
        self._starts = np.cumsum([0] + [len(s) for s in self.sources])

    def __len__(self) -> int:
        return int(self._starts[-1])

    def __getitem__(self, index: int):
        which = int(np.searchsorted(self._starts, index, side="right")) - 1
        return self.sources[which][index - int(self._starts[which])]

    def __repr__(self) -> str:
        return f"ConcatSource({', '.join(repr(s) for s in self.sources)})"


def random_crop_augment_official(lr: np.ndarray, teacher: np.ndarray, rng: np.random.Generator, *, crop_size: int,
                                 scale: int) -> tuple[np.ndarray, np.ndarray]:
    """Aligned random crops (lr [crop/s]^2, teacher [crop]^2) of an official pair under one dihedral transform.

    Draws top, left (in lr pixels), then the dihedral index, as random_crop_augment. A small lr is padded (centred)
    to crop/s and the teacher by s times as much, both 'symmetric' (mirrored about the image edge, which is the same
    line at both resolutions; 'reflect' mirrors about the edge pixel's centre, which is not), so they stay aligned.
    """
    lr_crop = crop_size // scale
    height, width = lr.shape[:2]
    pads = [(p // 2, p - p // 2) for p in (max(lr_crop - height, 0), max(lr_crop - width, 0))]
    if any(sum(p) for p in pads):
        lr = np.pad(lr, pads + [(0, 0)], mode="symmetric")
        teacher = np.pad(teacher, [(a * scale, b * scale) for a, b in pads] + [(0, 0)], mode="symmetric")
        height, width = lr.shape[:2]
    top = int(rng.integers(0, height - lr_crop + 1))
    left = int(rng.integers(0, width - lr_crop + 1))
    k = int(rng.integers(0, 8))
    lr = lr[top:top + lr_crop, left:left + lr_crop]
    teacher = teacher[top * scale:(top + lr_crop) * scale, left * scale:(left + lr_crop) * scale]
    return dihedral_transform(lr, k).copy(), dihedral_transform(teacher, k).copy()


class CropAugmentDegradeDistill(grain.transforms.RandomMap):
    """grain transform for distillation: a record -> {"input", "target", "teacher", "target_weight", "teacher_weight"}.

    Records: {"hr", "teacher"} (TeacherCacheSource, UpcycledSource "zoom_out": both weights 1; the two cropped and
    transformed by one draw, the input made from the hr crop as in CropAugmentDegrade); a bare hr image (no teacher
    output: teacher zeros, weight 0); {"lr", "teacher"} (OfficialPairSource, UpcycledSource "zoom_in": input from
    the lr crop, target = teacher crop with weight 0); {"main", "upcycled"} (UpcycleMixSource): one of them, the
    upcycled kind k with probability upcycle_shares[k], drawn before the crop.
    """

    def __init__(self, *, crop_size: int, scale: int, mode: str, quantize: bool = False,
                 degradation: str = degrade.DEFAULT, upcycle_shares: dict[str, float] | None = None):
        _check_crop_config(crop_size, scale, mode)
        degrade.get(degradation)
        self.crop_size, self.scale, self.mode, self.quantize = crop_size, scale, mode, quantize
        self.degradation = degradation
        self.upcycle_shares = check_upcycle_shares(upcycle_shares)

    def random_map(self, element, rng: np.random.Generator) -> dict[str, np.ndarray]:
        if isinstance(element, dict) and "upcycled" in element:
            if set(element["upcycled"]) != set(self.upcycle_shares):
                raise ValueError(f"record has upcycled kinds {sorted(element['upcycled'])}, the transform's shares "
                                 f"are for {sorted(self.upcycle_shares)}")
            u, chosen = float(rng.random()), element["main"]
            for kind, share in self.upcycle_shares.items():
                if u < share:
                    chosen = element["upcycled"][kind]
                    break
                u -= share
            element = chosen
        if isinstance(element, dict) and "lr" in element:
            lr, teacher = random_crop_augment_official(element["lr"], element["teacher"], rng,
                                                       crop_size=self.crop_size, scale=self.scale)
            model_input = lr
            if self.mode == "sharpen":  # the blurry image as bicubic_pair makes it from its own lr
                model_input = degrade.sharpen_input(lr, self.scale, quantize=self.quantize)
            target, weights = teacher, (0.0, 1.0)
        else:
            if isinstance(element, dict):
                both = np.concatenate([element["hr"], element["teacher"]], axis=-1)
                both = random_crop_augment(both, rng, crop_size=self.crop_size)
                target, teacher, weights = both[..., :3], both[..., 3:], (1.0, 1.0)
            else:
                target = random_crop_augment(element, rng, crop_size=self.crop_size)
                teacher, weights = np.zeros_like(target), (1.0, 0.0)
            model_input, target = degrade.pair(self.degradation, target, self.scale, self.mode,
                                               quantize=self.quantize, seed=rng)
        return {"input": np.asarray(model_input, np.float32), "target": np.ascontiguousarray(target, np.float32),
                "teacher": np.ascontiguousarray(teacher, np.float32),
                "target_weight": np.float32(weights[0]), "teacher_weight": np.float32(weights[1])}

    def __repr__(self) -> str:
        shares = f", upcycle_shares={self.upcycle_shares!r}" if self.upcycle_shares else ""
        return (f"CropAugmentDegradeDistill(crop_size={self.crop_size}, scale={self.scale}, mode={self.mode!r}, "
                f"quantize={self.quantize}, degradation={self.degradation!r}{shares})")


class SkipUnreadable:
    """A source whose records that raise ImageReadError come back as None (for DropUnreadable), each one warned about
    once per process. Raises ImageReadError once every record has failed: an unreadable set must not spin forever.

    repr is the wrapped source's: grain compares it when restoring iterator state, which stays valid either way.
    """

    def __init__(self, source):
        self.source = source
        self._failed: set[int] = set()

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int):
        try:
            return self.source[index]
        except ImageReadError as e:
            if index not in self._failed:
                self._failed.add(index)
                warnings.warn(f"{e}; record {index} dropped from its batch", stacklevel=2)
            if len(self._failed) >= len(self.source):
                raise ImageReadError(f"{self.source!r}: none of the {len(self.source)} records could be read "
                                     f"(the last: {e})") from None
            return None

    def __repr__(self) -> str:
        return repr(self.source)


class DropUnreadable(grain.transforms.Filter):
    """grain filter: drops the None records of SkipUnreadable, so batches are filled from the next records."""

    def filter(self, element) -> bool:
        return element is not None

    def __repr__(self) -> str:
        return "DropUnreadable()"


def batch_shapes(*, crop_size: int, scale: int, mode: str, batch_size: int,
                 teacher: bool = False) -> dict[str, tuple[int, ...]]:
    """The static shapes of every batch the loader yields (for model init and AOT compilation).

    teacher: the loader distills (a teacher cache or official pairs): "teacher" and the two weights are added.
    """
    _check_crop_config(crop_size, scale, mode)
    side = crop_size // scale if mode == "sr" else crop_size
    shapes = {"input": (batch_size, side, side, 3), "target": (batch_size, crop_size, crop_size, 3)}
    if teacher:
        shapes.update(teacher=(batch_size, crop_size, crop_size, 3), target_weight=(batch_size,),
                      teacher_weight=(batch_size,))
    return shapes


def _warn_small_images(source: ImageSource, crop_size: int) -> None:
    sizes = getattr(source, "sizes", None)  # known without decoding only for sources that read headers
    if sizes is None:
        return
    small = sum(1 for h, w in sizes if h < crop_size or w < crop_size)
    if small:
        warnings.warn(
            f"{small} of {len(sizes)} images in {source!r} are smaller than the {crop_size}-px crop; "
            "they are reflect-padded to the crop size",
            stacklevel=3,
        )


def make_train_loader(
    source: ImageSource,
    *,
    crop_size: int,
    scale: int,
    mode: str,
    batch_size: int,
    seed: int,
    num_epochs: int | None = None,
    worker_count: int = 0,
    shard_options: grain.sharding.ShardOptions | None = None,
    quantize: bool = False,
    read_threads: int = 4,
    teacher_cache_dir: str | os.PathLike | None = None,
    official_pairs: OfficialPairSource | None = None,
    skip_unreadable: bool = True,
    degradation: str = degrade.DEFAULT,
    target_usm: float = 0.0,
    upcycle_shares: dict[str, float] | None = None,
) -> grain.DataLoader:
    """A grain DataLoader of training batches {"input": [B, h, w, 3], "target": [B, crop, crop, 3]}, float32.

    h = w = crop_size // scale in mode "sr", crop_size in mode "sharpen" (see batch_shapes). Records are shuffled
    per epoch and cropped / augmented / degraded from grain's per-record rng, all keyed by `seed` (0 <= seed < 2**32):
    the same seed (and worker_count) gives identical batches; the last partial batch of a finite run is dropped, so
    every batch has the same shape. num_epochs None repeats forever. worker_count 0 runs in-process; > 0 starts grain
    worker processes (spawned: a script using them needs an `if __name__ == "__main__":` guard).
    shard_options None shards records over JAX processes (grain.sharding.ShardByJaxProcess, equal shard sizes).
    quantize: round the degraded input to uint8 levels, as benchmark LR files are (degrade.bicubic_pair).
    degradation: how inputs are made from the crops, a `degrade.DEGRADATIONS` name (default "bicubic"); the same
    seed gives the same degraded inputs. target_usm: see CropAugmentDegrade (not with a teacher).
    read_threads: threads decoding files per process; the read-ahead buffer is bounded to a few batches because
    decoded full-size images are large (a 2K DIV2K image is 33 MB as float32).

    teacher_cache_dir: distill from the teacher outputs cached there for `source` (an ImageFolderSource; see
    teacher_cache.build_teacher_cache): batches gain "teacher", "target_weight" and "teacher_weight" (batch_shapes
    with teacher=True). official_pairs: extra records with a teacher output and no ground truth (target_weight 0),
    mixed into the same shuffled stream. Without either, batches are exactly {"input", "target"} as above.
    A teacher cache must have been made with the same degradation; official pairs (bicubic LR files) only with
    "bicubic". upcycle_shares: {kind: share} of upcycled records (UpcycledSource, from the teacher cache) in the
    stream, e.g. {"zoom_in": 0.25, "zoom_out": 0.25}: each draw of an image takes that kind with that probability
    (UpcycleMixSource; the rest are its ground-truth record).

    skip_unreadable: a record whose file cannot be decoded (image_io.ImageReadError: corrupt pixel data, a stale
    teacher output) is dropped with a warning naming the file, and the batch is filled from the next records; the
    stream stays deterministic (the same files fail every time). False: the error propagates and stops the loader.

    Iterate with `it = iter(loader)`; `it.get_state()` / `it.set_state(state)` save and restore the position.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be in [0, 2**32), got {seed}")
    if worker_count < 0:
        raise ValueError(f"worker_count must be >= 0, got {worker_count}")
    distill = teacher_cache_dir is not None or official_pairs is not None
    shares = check_upcycle_shares(upcycle_shares)
    if shares and teacher_cache_dir is None:
        raise ValueError("upcycle_shares need a teacher cache (teacher_cache_dir): the teacher labels those records")
    if distill and target_usm:
        raise ValueError("target_usm (a sharpened target) is not supported with a teacher: distil, or sharpen the "
                         "target, not both")
    transform = (CropAugmentDegradeDistill(crop_size=crop_size, scale=scale, mode=mode, quantize=quantize,
                                           degradation=degradation, upcycle_shares=shares) if distill else
                 CropAugmentDegrade(crop_size=crop_size, scale=scale, mode=mode, quantize=quantize,
                                    degradation=degradation, target_usm=target_usm))
    _warn_small_images(source, crop_size)
    if distill:
        if teacher_cache_dir is not None:
            folder = source
            source = TeacherCacheSource(folder, teacher_cache_dir, scale=scale, degradation=degradation)
            if shares:
                source = UpcycleMixSource(source, {
                    kind: UpcycledSource(folder, teacher_cache_dir, kind, scale=scale, degradation=degradation)
                    for kind in shares})
        if official_pairs is not None:
            if official_pairs.scale != scale:
                raise ValueError(f"official pairs are x{official_pairs.scale}, the loader is x{scale}")
            if degradation != "bicubic":
                # Their inputs are the published bicubic LR files: mixing them in would train on two degradations.
                raise ValueError(f"official pairs have bicubic LR inputs; they cannot join a loader with degradation "
                                 f"{degradation!r}")
            source = ConcatSource([source, official_pairs])
    operations = [transform, grain.transforms.Batch(batch_size=batch_size, drop_remainder=True)]
    if skip_unreadable:
        source = SkipUnreadable(source)
        operations.insert(0, DropUnreadable())
    if worker_count > 0 and not flags.FLAGS.is_parsed():
        # grain reads its absl flags when it starts worker processes; unparsed flags raise there, far from the cause.
        # A CLI that parses flags (absl.app.run) is unaffected by this.
        flags.FLAGS.mark_as_parsed()
    if shard_options is None:
        shard_options = grain.sharding.ShardByJaxProcess(drop_remainder=True)
    # The sampler does not shard: the DataLoader does (grain's recommended split of roles), so each shard takes a
    # strided slice of one seeded stream of shuffled epochs; shards never share a position of that stream.
    sampler = grain.samplers.IndexSampler(
        num_records=len(source),
        shard_options=grain.sharding.NoSharding(),
        shuffle=True,
        num_epochs=num_epochs,
        seed=seed,
    )
    return grain.DataLoader(
        data_source=source,
        sampler=sampler,
        operations=operations,
        worker_count=worker_count,
        shard_options=shard_options,
        read_options=grain.ReadOptions(num_threads=read_threads,
                                       prefetch_buffer_size=max(2 * batch_size, read_threads)),
    )

