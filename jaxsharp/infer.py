"""Sharpening images and videos: batched, compiled inference in shape buckets, in tiles, in float32 or bfloat16.

    jaxsharp sharpen photo.jpg                        # -> photo_sharp.png beside it (also: python -m jaxsharp.infer)
    jaxsharp sharpen photos/ -o sharp/                # a folder, recursively; the output keeps the tree
    jaxsharp sharpen clip.mp4 --mode sr --scale 2     # -> clip_x2.mp4: frame rate and audio kept
    out = jaxsharp.sharpen(images, model="student-small", batch=8)   # in memory: list of HWC or NHWC, float [0, 1]

Tasks (--mode) and models. `sharpen`: a blurry image in, a sharper one of the same size out. `sr`: an image in, one
`scale` times larger out. A model of the other mode is adapted with MATLAB bicubic (`degrade.imresize`, inside the
compiled function): for `sharpen` an sr model gets the image shrunk by its scale (it then restores the detail a
bicubic x`scale` round trip removes), for `sr` a sharpen model gets the image enlarged by bicubic. The teacher is an
sr model. Names: `student-small` / `student-tiny` / `student-base` are the shipped `student_<size>_x<scale>`
(the one trained for the task's mode if both are shipped), `teacher` a shipped teacher, anything else a path.

Compiles: frames are padded at the bottom and right up to a shape bucket (multiples of `bucket` pixels, 64 by
default) and batches are padded to `batch` frames, so a folder of mixed sizes compiles once per bucket, not once per
image; the output is cropped back. The padding mirrors the frame with its edge pixel repeated, MATLAB's boundary
rule: the bicubic parts (the sr student's residual, the mode adapters) then equal the unpadded resize exactly, and an
untrained student returns exactly its baseline. The convs see mirrored content past the bottom and right edges
instead of zeros (as SwinIR's reflect padding to a window multiple does), so within a receptive radius of those
edges the output differs slightly from `model(x)` on the unpadded frame.

Tiles: inputs above a pixel budget (or larger than --tile) run in fixed-size tiles (`tiling.tiled_apply`). For a
student the default overlap is exact: a quarter of it covers the receptive radius, so tiles equal the whole-image
output to float rounding. The teacher's windows see further; its default overlap (32) is an approximation.

Files: every format image_io reads. Outputs are PNG unless -o names another suffix; 16-bit PNGs stay 16-bit; the
ICC profile is carried over; alpha is kept (not sharpened; resized with MATLAB bicubic in sr mode); grayscale stays
grayscale: the model sees three equal channels and the output is their mean, the nearest grey (in squared error)
to whatever small colour the model adds. Animated files (GIF, WebP) are sharpened as their first frame, with a
warning. Unreadable files are reported one line each and skipped; the exit status
is then 1. Nothing is half-written (jaxsharp.atomic); an existing output or the input itself is replaced only with
--overwrite (otherwise skipped with a message).
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import functools
import json
import math
import os
import pathlib
import re
import sys
import time
import warnings
from typing import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxsharp import degrade, image_io
from jaxsharp.tiling import tiled_apply

MODES = degrade.MODES
DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}
STUDENT_NAMES = ("student-tiny", "student-small", "student-base")
TEACHER_NAME = "teacher"
SHIPPED_TEACHERS = pathlib.Path(__file__).resolve().parent / "assets" / "teachers"
DEFAULT_MODEL = "student-small"
DEFAULT_SCALE = 2
DEFAULT_BUCKET = 64
DEFAULT_BATCH = 4
OUTPUT_TAGS = {"sharpen": "_sharp", "sr": "_x{scale}"}

# Above these many model-input pixels per frame, run in tiles of the given side (model-input pixels). The student's
# activations are a few hundred bytes per input pixel; SwinIR's attention needs tens of kilobytes.
_WHOLE_FRAME_PIXELS = {"student": 2048 * 2048, "teacher": 512 * 512}
_AUTO_TILE = {"student": 1024, "teacher": 256}
_TEACHER_OVERLAP = 32  # model-input pixels; see the README's tiling figures for SwinIR


def _round_up(n: int, multiple: int) -> int:
    return -(-n // multiple) * multiple


# ---------------------------------------------------------------------------------------------------------------
# Models by name


def _teacher_hint() -> str:
    return ("convert the official SwinIR weights with `python -m ports.swinir_torch "
            "001_classicalSR_DIV2K_s48w8_SwinIR-M_x2.pth --out weights/swinir_m_x2` "
            "and pass --model weights/swinir_m_x2")


def _shipped_student(size: str, scale: int, mode: str):
    from jaxsharp import student
    from jaxsharp.student.loading import SHIPPED_DIR, read_config

    pattern = re.compile(rf"student[-_]{size}[-_]x{scale}([-_][a-z0-9_-]+)?", re.IGNORECASE)
    names = [n for n in student.shipped_names() if pattern.fullmatch(n)]
    if not names:
        shipped = ", ".join(student.shipped_names()) or "none"
        raise FileNotFoundError(f"no shipped student-{size} at x{scale} (shipped: {shipped}); "
                                "pass --model PATH to a saved student directory")
    # The one trained for the task's mode if there is one; otherwise the other mode, adapted (module docstring).
    names.sort(key=lambda n: (read_config(SHIPPED_DIR / n)[0].mode != mode, len(n), n))
    return student.load(SHIPPED_DIR / names[0])


def load_model(name_or_path: str | os.PathLike, *, scale: int | None = None, mode: str = "sharpen"):
    """A student (LoadedStudent) or teacher (Teacher) for `--model`: a name in STUDENT_NAMES, 'teacher', or a path.

    Paths: a student directory (student.save), a ported teacher directory, or an official SwinIR .pth / .npz.
    `scale` picks the shipped model for a name (default 2); for a path it must match the model's scale if given.
    Raises FileNotFoundError / ValueError with one line saying what is missing.
    """
    from jaxsharp import student, teacher

    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; valid modes: {', '.join(MODES)}")
    spec = str(name_or_path)
    if spec in STUDENT_NAMES:
        return _shipped_student(spec.split("-", 1)[1], scale or DEFAULT_SCALE, mode)
    if spec == TEACHER_NAME:
        want = scale or DEFAULT_SCALE
        found = sorted(SHIPPED_TEACHERS.glob(f"*x{want}")) if SHIPPED_TEACHERS.is_dir() else []
        found = [p for p in found if (p / "config.json").is_file()]
        if not found:
            raise FileNotFoundError(f"no SwinIR teacher is shipped with jaxsharp (x{want}); {_teacher_hint()}")
        model = teacher.load(found[0])
    else:
        path = pathlib.Path(spec)
        if not path.exists():
            names = ", ".join(STUDENT_NAMES + (TEACHER_NAME,))
            raise FileNotFoundError(f"{path}: no such model file or directory (names: {names}; shipped students: "
                                    f"{', '.join(student.shipped_names()) or 'none'})")
        kind = None
        if path.is_dir() and (path / "config.json").is_file():
            try:
                kind = json.loads((path / "config.json").read_text()).get("model")
            except (ValueError, UnicodeDecodeError, AttributeError) as e:
                raise ValueError(f"{path / 'config.json'}: unreadable model config ({e})") from None
        model = student.load(path) if kind == "jaxsharp-student" else teacher.load(path)
    if scale is not None and model.scale != scale:
        raise ValueError(f"{spec} is a x{model.scale} model; --scale {scale} asks for x{scale}")
    return model


# ---------------------------------------------------------------------------------------------------------------
# The engine


@dataclasses.dataclass
class CompileStats:
    """Per compiled input shape: compile time (AOT) and the calls run with it."""

    compile_s: float = 0.0
    run_s: float = 0.0
    calls: int = 0


class Sharpener:
    """Batched, compiled inference of one model for one task, on float32 RGB frames of any size.

    frames -> mirror-pad to the bucket -> batches of `batch` (the last padded) -> one AOT-compiled function per
    input shape (resize adapter, model, clip to [0, 1]) -> crop back. `traces` counts traces (= compiles).
    """

    def __init__(self, model, *, mode: str | None = None, batch: int = DEFAULT_BATCH, tile: int | None = None,
                 overlap: int | None = None, dtype: str = "float32", bucket: int = DEFAULT_BUCKET,
                 auto_tile: bool = True):
        self.model = model
        # A student knows its (bounded) receptive field; anything else is treated as SwinIR, whose windows see far.
        self.kind = "student" if hasattr(model, "default_overlap") else "teacher"
        self.model_mode = getattr(model, "mode", "sr")  # SwinIR is an sr model
        self.mode = mode or self.model_mode
        if self.mode not in MODES:
            raise ValueError(f"unknown mode {self.mode!r}; valid modes: {', '.join(MODES)}")
        if dtype not in DTYPES:
            raise ValueError(f"unknown dtype {dtype!r}; choose one of {', '.join(DTYPES)}")
        in_chans = getattr(getattr(model, "config", None), "in_chans", 3)
        if in_chans != 3:
            raise ValueError(f"only RGB models are supported; this one takes {in_chans} channel(s)")
        for name, value in (("batch", batch), ("bucket", bucket), ("tile", tile)):
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if overlap is not None and (not isinstance(overlap, int) or overlap < 0):
            raise ValueError(f"overlap must be a non-negative integer, got {overlap!r}")
        s = self.scale = model.scale
        self.dtype = dtype
        self.batch = batch
        self.out_scale = s if self.mode == "sr" else 1
        # Input pixels per model pixel (sharpen task, sr model: the model sees the image shrunk by s).
        self._model_per_input = {("sharpen", "sr"): 1 / s, ("sr", "sharpen"): s}.get((self.mode, self.model_mode), 1)
        # Frames, tiles and tile offsets stay on the model's grid: whole space-to-depth blocks for a sharpen model,
        # whole shrink factors for the bicubic adapter (and enlarged tiles of whole blocks for the other adapter).
        block = model.config.block if self.kind == "student" else 1  # 1 for sr students and the teacher
        if self.mode == "sharpen":
            self.align = block if self.model_mode == "sharpen" else s
        else:
            self.align = block // math.gcd(block, s)
        self.bucket = _round_up(bucket, self.align)
        exact = self.exact_overlap()
        if overlap is None:
            overlap = exact if exact is not None else _round_up(
                math.ceil(_TEACHER_OVERLAP / self._model_per_input), self.align)
        self.overlap = _round_up(overlap, self.align)
        self.tile = None if tile is None else _round_up(tile, self.align)
        if self.tile is not None and self.tile <= self.overlap:
            raise ValueError(f"tile {self.tile} must be larger than the overlap {self.overlap}"
                             + (f" (the exact overlap for this model is {exact})" if exact is not None else ""))
        self.auto_tile = auto_tile
        self.params = jax.tree.map(lambda a: jnp.asarray(a, DTYPES[dtype]), model.params)
        self.traces = 0
        self.stats: dict[tuple[int, ...], CompileStats] = {}
        self._compiled: dict[tuple[int, ...], Callable] = {}
        self._jitted = jax.jit(self._forward)

    # -- geometry --

    def receptive_radius(self) -> int | None:
        """How far (input pixels) an output pixel sees, resize adapter included; None for the teacher (unbounded)."""
        if self.kind != "student":
            return None
        r, s = self.model.config.receptive_radius, self.scale
        if (self.mode, self.model_mode) == ("sharpen", "sr"):
            return s * (r + 3)  # the shrink's taps reach 2 lr pixels (2s input pixels), plus rounding
        if (self.mode, self.model_mode) == ("sr", "sharpen"):
            return math.ceil(r / s) + 3  # the enlargement's taps reach 2 input pixels, plus rounding
        return r

    def exact_overlap(self) -> int | None:
        """The overlap (input pixels) whose dropped quarter covers the receptive radius; None for the teacher."""
        r = self.receptive_radius()
        return None if r is None else _round_up(4 * r, self.align)

    def bucket_shape(self, h: int, w: int) -> tuple[int, int]:
        return _round_up(h, self.bucket), _round_up(w, self.bucket)

    def tile_for(self, h: int, w: int) -> int | None:
        """The tile side for a bucket of h x w input pixels, or None to run the frame whole."""
        tile = self.tile
        if tile is None and self.auto_tile:
            model_pixels = h * w * self._model_per_input ** 2
            if model_pixels > _WHOLE_FRAME_PIXELS[self.kind]:
                tile = max(_round_up(int(_AUTO_TILE[self.kind] / self._model_per_input), self.align),
                           self.overlap + self.align)
        if tile is None or (tile >= h and tile >= w):
            return None
        return tile

    # -- compiled function --

    def _forward(self, params, x: jax.Array) -> jax.Array:
        self.traces += 1  # runs once per trace: the compile counter the tests read
        if (self.mode, self.model_mode) == ("sharpen", "sr"):
            x = degrade.imresize(x, 1.0 / self.scale)
        elif (self.mode, self.model_mode) == ("sr", "sharpen"):
            x = degrade.imresize(x, float(self.scale))
        y = self.model.apply(params, x.astype(DTYPES[self.dtype]))
        return jnp.clip(y.astype(jnp.float32), 0.0, 1.0)

    def _executable(self, shape: tuple[int, ...]) -> Callable:
        exe = self._compiled.get(shape)
        if exe is None:
            start = time.perf_counter()
            exe = self._jitted.lower(self.params, jax.ShapeDtypeStruct(shape, jnp.float32)).compile()
            self.stats[shape] = CompileStats(compile_s=time.perf_counter() - start)
            self._compiled[shape] = exe
        return exe

    def run_batch(self, x: np.ndarray) -> np.ndarray:
        """[n <= batch, H, W, 3] float32 -> [n, oH, oW, 3]: one call of the compiled function, batch padded."""
        n = x.shape[0]
        if n < self.batch:
            x = np.concatenate([x, np.repeat(x[-1:], self.batch - n, axis=0)])
        shape = tuple(x.shape)
        exe = self._executable(shape)
        start = time.perf_counter()
        y = np.asarray(exe(self.params, np.ascontiguousarray(x, np.float32)))
        stats = self.stats[shape]
        stats.run_s += time.perf_counter() - start
        stats.calls += 1
        return y[:n]

    # -- frames --

    def _pad_to(self, frame: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        h, w = frame.shape[:2]
        if (h, w) == shape:
            return frame
        return np.pad(frame, ((0, shape[0] - h), (0, shape[1] - w), (0, 0)), mode="symmetric")

    def run_bucket(self, frames: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Frames of one bucket (any number) -> outputs cropped to each frame's own size times `out_scale`."""
        if not frames:
            return []
        shape = self.bucket_shape(*frames[0].shape[:2])
        if any(self.bucket_shape(*f.shape[:2]) != shape for f in frames):
            raise ValueError("run_bucket takes frames of one bucket; call the Sharpener itself for mixed sizes")
        x = np.stack([self._pad_to(np.asarray(f, np.float32), shape) for f in frames])
        tile = self.tile_for(*shape)
        if tile is None:
            y = np.concatenate([self.run_batch(x[i:i + self.batch]) for i in range(0, len(x), self.batch)])
        else:
            y = tiled_apply(self.run_batch, x, tile=tile, overlap=self.overlap, scale=self.out_scale,
                            tiles_per_call=self.batch)
        o = self.out_scale
        return [np.ascontiguousarray(y[i, : f.shape[0] * o, : f.shape[1] * o]) for i, f in enumerate(frames)]

    def __call__(self, frames: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Float32 RGB frames [H, W, 3] in [0, 1], any sizes -> outputs in the same order, clipped to [0, 1]."""
        groups: dict[tuple[int, int], list[int]] = collections.defaultdict(list)
        for i, frame in enumerate(frames):
            if frame.ndim != 3 or frame.shape[-1] != 3:
                raise ValueError(f"frames must be [H, W, 3] RGB, got shape {tuple(frame.shape)}")
            groups[self.bucket_shape(*frame.shape[:2])].append(i)
        out: list[np.ndarray | None] = [None] * len(frames)
        for indices in groups.values():
            for k in range(0, len(indices), self.batch):
                chunk = indices[k:k + self.batch]
                for i, y in zip(chunk, self.run_bucket([frames[i] for i in chunk])):
                    out[i] = y
        return out

    def report(self) -> list[str]:
        """One line per compiled shape: compile time, calls and run time (for -v)."""
        lines = []
        for shape, st in self.stats.items():
            per = f", {1000 * st.run_s / st.calls:.1f} ms per call" if st.calls else ""
            lines.append(f"shape {'x'.join(map(str, shape))}: compiled in {st.compile_s:.2f} s; "
                         f"{st.calls} call(s) in {st.run_s:.2f} s{per}")
        return lines


# ---------------------------------------------------------------------------------------------------------------
# In memory: jaxsharp.sharpen


@functools.lru_cache(maxsize=4)
def _named_model(name: str, scale: int | None, mode: str):
    return load_model(name, scale=scale, mode=mode)


_ENGINES: collections.OrderedDict = collections.OrderedDict()
_MAX_ENGINES = 8


def _engine(model, **settings) -> Sharpener:
    key = (id(model), tuple(sorted(settings.items())))
    engine = _ENGINES.pop(key, None)
    if engine is None:
        engine = Sharpener(model, **settings)  # holds `model`, so its id is not reused while cached
    _ENGINES[key] = engine
    while len(_ENGINES) > _MAX_ENGINES:
        _ENGINES.popitem(last=False)
    return engine


def sharpen(images, model=DEFAULT_MODEL, *, mode: str | None = None, scale: int | None = None,
            batch: int = DEFAULT_BATCH, tile: int | None = None, overlap: int | None = None,
            dtype: str = "float32", bucket: int = DEFAULT_BUCKET):
    """Sharpens (mode 'sharpen') or upscales (mode 'sr') images in memory, batched and compiled once per bucket.

    images: a list of float HWC arrays (C = 3 RGB or 1 grey, any sizes) or one NHWC array, values in [0, 1].
    model: a loaded student or teacher, a name or a path (`load_model`), or a `Sharpener` (then the other
    settings are its own). mode: default the loaded model's own, 'sharpen' for a name or path.
    Returns the same structure, float32 in [0, 1] (sr: `scale` times larger). Engines are cached per (model,
    settings), so calling again with the same model does not recompile.
    """
    if isinstance(model, Sharpener):
        engine = model
    else:
        if isinstance(model, (str, os.PathLike)):
            mode = mode or "sharpen"  # a name picks the shipped model for the task; the task must not follow it
            model = _named_model(str(model), scale, mode)
        elif scale is not None and model.scale != scale:
            raise ValueError(f"the model is x{model.scale}; scale={scale} asks for x{scale}")
        engine = _engine(model, mode=mode, batch=batch, tile=tile, overlap=overlap, dtype=dtype, bucket=bucket)
    stacked = isinstance(images, (np.ndarray, jax.Array))
    if stacked and np.ndim(images) != 4:
        raise ValueError(f"an array of images must be NHWC, got shape {np.shape(images)}")
    frames = [np.asarray(im) for im in images]
    for frame in frames:
        if frame.ndim != 3 or frame.shape[-1] not in (1, 3):
            raise ValueError(f"images must be HWC with 1 or 3 channels, got shape {frame.shape}")
        if not np.issubdtype(frame.dtype, np.floating):
            raise TypeError(f"images must be float in [0, 1], got {frame.dtype} (divide uint8 pixels by 255)")
    rgb = [np.repeat(f, 3, axis=-1) if f.shape[-1] == 1 else f for f in frames]
    outputs = engine([np.asarray(f, np.float32) for f in rgb])
    outputs = [y.mean(axis=-1, keepdims=True) if f.shape[-1] == 1 else y for f, y in zip(frames, outputs)]
    return np.stack(outputs) if stacked else outputs


# ---------------------------------------------------------------------------------------------------------------
# Files: the `jaxsharp sharpen` command


@dataclasses.dataclass(frozen=True)
class Job:
    src: pathlib.Path
    dst: pathlib.Path
    is_video: bool


def _is_hidden(path: pathlib.Path, root: pathlib.Path) -> bool:
    # Dot-files include the temporary files jaxsharp.atomic writes beside an output while it is being written.
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def _looks_like_folder(path: pathlib.Path, raw: str) -> bool:
    return path.is_dir() or raw.endswith(("/", os.sep)) or not path.suffix


def plan_jobs(inputs: Sequence[str], output: str | None, *, tag: str) -> tuple[list[Job], list[str]]:
    """(jobs, errors): what to write where, from the command's inputs and -o.

    A file: beside it as <stem><tag>.png (videos keep their container), or into -o (a file, or a folder when it
    exists, ends with '/' or has no suffix). A folder: recursively into -o, or into <folder><tag> beside it, keeping
    the tree (dot-files and the output folder itself are skipped). Several inputs need -o to be a folder.
    """
    from jaxsharp import video
    from jaxsharp.image_io import IMAGE_SUFFIXES

    def out_name(src: pathlib.Path, stem: str) -> str:
        return stem + (video.output_suffix(src) if video.is_video(src) else ".png")

    out = pathlib.Path(output) if output else None
    out_is_folder = out is not None and (len(inputs) > 1 or _looks_like_folder(out, output))
    if out is not None and not out_is_folder and any(pathlib.Path(raw).is_dir() for raw in inputs):
        return [], [f"{output}: for a folder input, -o must be a folder"]
    if out is not None and len(inputs) > 1 and out.suffix and not out.is_dir():
        return [], [f"{output}: with several inputs, -o must be a folder"]
    jobs, errors, claimed = [], [], {}
    for raw in inputs:
        src = pathlib.Path(raw)
        if src.is_dir():
            root = out / src.name if out is not None and len(inputs) > 1 else out or src.with_name(src.name + tag)
            root_resolved = root.resolve()
            for path in sorted(src.rglob("*")):
                if not path.is_file() or _is_hidden(path, src) or root_resolved in path.resolve().parents:
                    continue
                if path.suffix.lower() in IMAGE_SUFFIXES or video.is_video(path):
                    rel = path.relative_to(src)
                    jobs.append(Job(path, root / rel.parent / out_name(path, rel.stem), video.is_video(path)))
        elif src.exists():
            if out is None:
                dst = src.with_name(out_name(src, src.stem + tag))
            elif out_is_folder:
                dst = out / out_name(src, src.stem)
            else:
                dst = out
            jobs.append(Job(src, dst, video.is_video(src)))
        else:
            errors.append(f"{src}: no such file or directory")
    unique = []
    for job in jobs:
        key = job.dst.resolve()
        if key in claimed:
            errors.append(f"{job.src}: its output {job.dst} would also be written for {claimed[key]}; skipped")
            continue
        claimed[key] = job.src
        unique.append(job)
    return unique, errors


def _int_at_least(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def build_parser(prog: str = "python -m jaxsharp.infer") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description="Sharpen (or upscale) images, folders of images and videos.",
                                epilog="Example: jaxsharp sharpen photo.jpg  (writes photo_sharp.png beside it)")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, folders (recursive) or video files")
    p.add_argument("-o", "--output", metavar="PATH",
                   help="output file, or folder (default: beside each input, as NAME_sharp.png / NAME_x2.png)")
    p.add_argument("--mode", choices=MODES, default="sharpen",
                   help="sharpen: same size out (default); sr: --scale times larger out")
    p.add_argument("--scale", type=_int_at_least(1), default=None,
                   help=f"the model's scale (default: {DEFAULT_SCALE} for a named model, its own for a path)")
    p.add_argument("--model", default=DEFAULT_MODEL,
                   help=f"{' | '.join(STUDENT_NAMES + (TEACHER_NAME,))} | PATH (default: {DEFAULT_MODEL})")
    p.add_argument("--tile", type=_int_at_least(1), default=None,
                   help="run in tiles of this many input pixels (default: automatic for large inputs)")
    p.add_argument("--overlap", type=_int_at_least(0), default=None,
                   help="tile overlap in input pixels (default: the exact one for a student, 32 for the teacher)")
    p.add_argument("--batch", type=_int_at_least(1), default=DEFAULT_BATCH, help="frames per compiled call")
    p.add_argument("--bucket", type=_int_at_least(1), default=DEFAULT_BUCKET,
                   help="pad inputs up to multiples of this many pixels, so mixed sizes share compiles")
    p.add_argument("--dtype", choices=tuple(DTYPES), default="float32", help="compute dtype")
    p.add_argument("--max-pixels", type=_int_at_least(1), default=None,
                   help="refuse images with more pixels than this (default: Pillow's decompression-bomb limit)")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs (and the input itself)")
    p.add_argument("-v", "--verbose", action="store_true", help="report compile and run time per shape")
    return p


class _Run:
    """One command's bookkeeping: messages on stderr, written paths on stdout, failures counted for the exit status."""

    def __init__(self, verbose: bool):
        self.verbose = verbose
        self.written = self.skipped = self.failed = 0

    def fail(self, message: str) -> None:
        self.failed += 1
        print(f"error: {message}", file=sys.stderr)

    def skip(self, message: str) -> None:
        self.skipped += 1
        print(f"skip: {message}", file=sys.stderr)

    def wrote(self, path: pathlib.Path) -> None:
        self.written += 1
        print(path)


def _save_image(job: Job, decoded, rgb: np.ndarray, engine: Sharpener, run: _Run) -> None:
    from PIL import Image

    from jaxsharp.image_io import write_image

    alpha = decoded.alpha
    if alpha is not None and engine.out_scale != 1:
        # MATLAB bicubic, as the colour of the sr baseline; the alpha is resized, never sharpened.
        alpha = np.clip(degrade.imresize_np(alpha, float(engine.out_scale)), 0.0, 1.0)
    fmt = Image.registered_extensions().get(job.dst.suffix.lower())
    if alpha is not None and fmt in ("JPEG", "MPO"):
        print(f"note: {job.dst}: JPEG has no alpha channel; the alpha of {job.src} is dropped", file=sys.stderr)
        alpha = None
    bits = 16 if decoded.bits == 16 and fmt == "PNG" else 8
    out = rgb.mean(axis=-1) if decoded.grayscale else rgb
    try:
        write_image(job.dst, out, bits=bits, alpha=alpha, icc_profile=decoded.icc_profile)
    except (OSError, ValueError) as e:
        run.fail(f"{job.dst}: cannot write ({e})")
        return
    run.wrote(job.dst)


def _sharpen_images(jobs: list[Job], engine: Sharpener, run: _Run) -> None:
    """Reads images one at a time and runs them in full batches per bucket; memory stays at a few batches."""
    from jaxsharp.image_io import AnimatedImageWarning, ImageReadError, read_image

    pending: dict[tuple[int, int], list] = collections.defaultdict(list)

    def flush(bucket):
        items = pending.pop(bucket)
        for (job, decoded), rgb in zip(items, engine.run_bucket([d.rgb for _, d in items])):
            _save_image(job, decoded, rgb, engine, run)

    for job in jobs:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", AnimatedImageWarning)
                decoded = read_image(job.src)
        except ImageReadError as e:
            run.fail(str(e))
            continue
        for warning in caught:  # one line each (the default display adds the source line of the warn call)
            print(f"warning: {warning.message}", file=sys.stderr)
        bucket = engine.bucket_shape(*decoded.size)
        pending[bucket].append((job, decoded))
        if len(pending[bucket]) == engine.batch:
            flush(bucket)
        elif sum(map(len, pending.values())) > 4 * engine.batch:  # many sizes: run the fullest bucket part-full
            flush(max(pending, key=lambda b: len(pending[b])))
    for bucket in list(pending):
        flush(bucket)


def _sharpen_video(job: Job, engine: Sharpener, run: _Run) -> None:
    from jaxsharp import video

    try:
        summary = video.transcode(job.src, job.dst, engine, batch=engine.batch, scale=engine.out_scale,
                                  progress=sys.stderr.isatty())
    except video.VideoError as e:
        run.fail(str(e))
        return
    if run.verbose:
        print(f"{job.src}: {summary.frames} frames at {float(summary.rate):.3f} fps, {summary.codec} "
              f"{summary.size[1]}x{summary.size[0]}, {summary.audio_streams} audio stream(s) copied", file=sys.stderr)
    run.wrote(job.dst)


def main(argv: Sequence[str] | None = None, *, prog: str = "python -m jaxsharp.infer") -> int:
    """The `jaxsharp sharpen` command. Exit status: 0 done, 1 some files failed, 2 bad usage or model."""
    args = build_parser(prog).parse_args(argv)
    image_io.ignore_decompression_bomb_warning()
    if args.max_pixels is not None:
        from PIL import Image

        Image.MAX_IMAGE_PIXELS = args.max_pixels  # image_io enforces Pillow's limit as an error
    try:
        model = load_model(args.model, scale=args.scale, mode=args.mode)
        tag = OUTPUT_TAGS[args.mode].format(scale=model.scale)
        engine = Sharpener(model, mode=args.mode, batch=args.batch, tile=args.tile, overlap=args.overlap,
                           dtype=args.dtype, bucket=args.bucket)
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    run = _Run(args.verbose)
    jobs, errors = plan_jobs(args.inputs, args.output, tag=tag)
    for message in errors:
        run.fail(message)
    todo = []
    for job in jobs:
        if job.dst.resolve() == job.src.resolve() and not args.overwrite:
            run.skip(f"{job.dst} is the input itself (pass --overwrite to replace it, or -o)")
        elif job.dst.exists() and not args.overwrite:
            run.skip(f"{job.dst} exists (pass --overwrite to replace it)")
        else:
            todo.append(job)
    start = time.perf_counter()
    _sharpen_images([j for j in todo if not j.is_video], engine, run)
    for job in todo:
        if job.is_video:
            _sharpen_video(job, engine, run)
    if args.verbose:
        print(f"{args.model}: x{engine.scale} {engine.model_mode} model, {args.mode} task, {args.dtype}, "
              f"batch {engine.batch}, bucket {engine.bucket}, overlap {engine.overlap}; "
              f"{time.perf_counter() - start:.2f} s in all", file=sys.stderr)
        for line in engine.report():
            print(f"  {line}", file=sys.stderr)
    if run.failed or run.skipped or args.verbose:
        print(f"{run.written} written, {run.skipped} skipped, {run.failed} failed", file=sys.stderr)
    return 1 if run.failed else 0


if __name__ == "__main__":
    sys.exit(main())
