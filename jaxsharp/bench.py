"""Speed of the students beside the teacher and the classic baselines, side by side on one device in one run.

    python -m jaxsharp.bench --json bench.json                        # 1920x1080 frames, batch 1, float32
    python -m jaxsharp.bench --json bench.json --size 1280x720 --batch 4 --dtype bfloat16
    python -m jaxsharp.bench --json bench.json --plot speed_quality.png --quality results.json
    python -m jaxsharp.bench --json bench.json --student runs/my_run/export      # also time a trained student
    python -m jaxsharp.bench --json bench.json --plot frontier.png --quality results.json --quality-set B100 \
        --frontier experiments/results/reparam_frontier.json                     # + the explored students
    python -m jaxsharp.bench stream --json stream.json     # `jaxsharp stream` through pipes (bench_stream.py)
    python -m jaxsharp.bench video --json video.json       # `jaxsharp sharpen clip.mp4`, file to file

Entries, all x2 on a WxH frame (sharpen: WxH in and out; upscale: (W/2)x(H/2) in):
- student-*: each shipped student, and each registered size without a shipped x2 sharpen student, built with
  random weights and labelled so (speed does not depend on the weights).
- teacher SwinIR-S x2, random weights (same reason), on a crop of at most 256x256 LR pixels; its time and FLOPs are
  scaled to the frame's (W/2)x(H/2) LR pixels (window attention is linear in pixels) and the row says by how much.
  In sharpen mode the teacher also needs the 1/2 downscale of the frame, which is not counted.
- --frontier FILE: each explored point whose export exists (see "Explored students" below).
- bicubic x2 with jax.image.resize; Pillow's bicubic resize (uint8, host).
- the unsharp-mask baseline on the sharpen-mode WxH frame, three ways: jitted XLA (baselines.unsharp_mask_jax, the
  tuned filter in the run's dtype: the fast way, what the plot's unsharp point should be read by); NumPy float64 on
  the host (baselines.unsharp_mask, what evaluate computes); OpenCV on uint8 (baselines.unsharp_mask_opencv:
  GaussianBlur sigma 2 + addWeighted 1.5 / -0.5, the recipe OpenCV users reach for; a different filter, so the row
  has no quality figure; skipped with a note when cv2 is missing: `pip install 'jaxsharp[bench]'`).
- a reference 3x3 conv 64->64 on the (H/2)x(W/2) map the students work at: what this backend's XLA reaches on
  this kind of work, the yardstick for the students' GFLOP/s.

Per entry: ms per frame (median of --repeats calls after one warm-up, each waited for with block_until_ready,
divided by --batch), FPS, compile seconds (AOT `jit(f).lower(...).compile()`, timed apart from the runs), GFLOPs per
frame from XLA's cost analysis of that executable (null for host entries), achieved GFLOP/s. --dtype bfloat16 casts
the XLA entries' parameters and inputs (host entries stay as they are). The figures compare entries within one run;
load from other processes shows in every row, so the header prints the load average.

--plot draws the efficiency frontier, two panels:
- PSNR-Y against FPS (log) for every timed entry with a quality figure. From an evaluate.py JSON (--quality):
  evaluate's `student` rows go to the default student (student_small_x2), `teacher`, `bicubic` and `unsharp` rows to
  theirs (`unsharp` to both its XLA and NumPy rows); a row whose method names a student (e.g. `student_tiny_x2`, any
  spelling) goes to that one. Explored students take theirs from the frontier file. One set: --quality-set, default
  the evaluate file's first (B100 with --frontier alone).
- PSNR-Y on Set14 against GFLOPs per 1920x1080 frame (log) for the students (GFLOPs: the frontier file's own
  figure, else the timed row's scaled to 1080p by pixel count; not the teacher, ~100x off to the right), every
  explored point (timed or not), and published anchors at their published PSNR and computed GFLOPs (PUBLISHED:
  SESR-M3 / M5 / M11, FSRCNN; the AIMET model zoo's independent re-trainings of SESR hollow).
Shipped students, explored ones (--frontier, --student), the teacher, baselines and published figures each have
their own marker.

Explored students (--frontier FILE, experiments/reparam_frontier.py writes it): {"points": [{"name", "export"
(a saved student directory, relative to the repository; looked up from the current directory, then from the file's
folder and each folder above it), "gflops_1080p", "params", "val": {"psnr_y"}, "report": {SET: {"psnr_y",
"ssim_y"}}}]}. A point whose export exists is timed as a student; every point is drawn from its "report" (no
evaluate JSON needed for them); one without an export only on the GFLOPs panel.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import math
import os
import pathlib
import statistics
import sys
import time
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jaxsharp import atomic, baselines, models, student
from jaxsharp.checkpoint import flat_param_vars, load_flat_params
from jaxsharp.engine import DTYPES
from jaxsharp.loaded_model import LoadedModel
from jaxsharp.student.info import cost_flops, parse_frame_size
from jaxsharp.student.model import abstract as abstract_student
from jaxsharp.teacher import SwinIR, SwinIRConfig, Teacher

SCALE = 2
TEACHER_CROP = 256  # LR pixels a side: a whole 1080p frame is minutes per call on a CPU
DEFAULT_STUDENT_SIZE = "small"
RESULT_KEYS = ("name", "ms_per_frame", "fps", "compile_s", "gflops_per_frame", "achieved_gflops_per_s")


class BenchError(Exception):
    """A benchmark request that cannot run as asked (bad size, bad quality file)."""


@dataclasses.dataclass
class Entry:
    """One benchmarked method; `run(repeats)` builds, compiles and times it and returns its row (RESULT_KEYS)."""

    name: str
    role: str  # "student", "teacher", "baseline", "reference" or "onnxruntime" (a student in that backend)
    measure: Callable[[str, int], dict]  # (name, repeats) -> row
    quality_methods: tuple[str, ...] = ()  # evaluate.py method names whose PSNR is this entry's, canonical form
    size: str = ""  # the student size, for the summary
    group: str = ""  # the plot's marker: a key of GROUPS (default: the role's)
    label: str = ""  # the plot's label (default: the name without its parenthesis)
    frontier: FrontierPoint | None = None  # an explored student: its PSNR figures and GFLOPs per 1080p frame

    def run(self, repeats: int) -> dict:
        return self.measure(self.name, repeats)

    @property
    def plot_group(self) -> str:
        return self.group or self.role

    @property
    def plot_label(self) -> str:
        return self.label or self.name.split(" (")[0]


@dataclasses.dataclass(frozen=True)
class FrontierPoint:
    """One explored student of a --frontier file."""

    name: str
    export: pathlib.Path | None  # the saved student, None when it is not there
    export_text: str  # the export as the file writes it
    gflops_1080p: float | None
    params: int | None
    psnr_y: dict[str, float]  # set -> PSNR-Y, from the point's "report"


@dataclasses.dataclass(frozen=True)
class Anchor:
    """A published model at its published PSNR-Y and computed GFLOPs per 1920x1080 output frame (x2, 2 x MACs)."""

    name: str
    gflops_1080p: float
    psnr_y: dict[str, float]  # set -> PSNR-Y
    retrained: bool  # an independent re-training (hollow marker), not the paper's own figure


# From issue 16. The paper's figures: SESR (Bhardwaj et al., MLSys 2022), FSRCNN as tabled there; re-trainings: the
# AIMET model zoo's SESR x2 (Set14). GFLOPs are the collapsed networks' 2 x multiply-accumulates for a 1920x1080
# output from a 960x540 input (FSRCNN's approximate).
PUBLISHED = (
    Anchor("SESR-M3", 9.2, {"Set14": 32.70}, False),
    Anchor("SESR-M5", 14.0, {"Set5": 37.39, "Set14": 32.84}, False),
    Anchor("SESR-M11", 28.4, {"Set5": 37.58, "Set14": 33.03}, False),
    Anchor("FSRCNN", 27.0, {"Set5": 37.00, "Set14": 32.63}, False),
    Anchor("SESR-M3 (AIMET)", 9.2, {"Set14": 32.41}, True),
    Anchor("SESR-M5 (AIMET)", 14.0, {"Set14": 32.57}, True),
    Anchor("SESR-M11 (AIMET)", 28.4, {"Set14": 32.73}, True),
)
COST_SET = "Set14"  # the GFLOPs panel's set: the one every anchor has
COST_FRAME = (1080, 1920)
DEFAULT_FRONTIER_SET = "B100"  # the speed panel's set when no evaluate JSON names one

# The plot's marker per group: (legend text, scatter style).
GROUPS = {
    "shipped": ("shipped student", {"marker": "o", "color": "C0"}),
    "explored": ("explored student", {"marker": "^", "color": "C1"}),
    "random": ("student, random weights", {"marker": "o", "color": "C7"}),
    "teacher": ("teacher", {"marker": "D", "color": "C3"}),
    "baseline": ("baseline", {"marker": "s", "color": "C2"}),
    "published": ("published (paper's PSNR)", {"marker": "*", "color": "C4", "s": 90}),
    "retrained": ("published model re-trained (AIMET)", {"marker": "*", "s": 90, "facecolors": "none",
                                                          "edgecolors": "C4"}),
}


# ----------------------------------------------------------------------------------------------------------------
# Measuring


def median_seconds(call: Callable[[], object], repeats: int, warmup: int = 1) -> float:
    """Median wall time of `call()` over `repeats` runs after `warmup` untimed ones; `call` must block."""
    for _ in range(warmup):
        call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def result_row(name: str, seconds_per_frame: float, compile_s: float | None, flops_per_frame: float | None) -> dict:
    gflops = flops_per_frame / 1e9 if flops_per_frame else None  # 0 = not reported by this backend: null
    return {"name": name, "ms_per_frame": seconds_per_frame * 1e3, "fps": 1.0 / seconds_per_frame,
            "compile_s": compile_s, "gflops_per_frame": gflops,
            "achieved_gflops_per_s": gflops / seconds_per_frame if gflops else None}


def measure_xla(name: str, fn, args: tuple, *, frames: int, repeats: int, frame_factor: float = 1.0) -> dict:
    """AOT-compiles `fn(*args)` (timed apart), then times the executable. frames: frames per call.

    frame_factor scales time and FLOPs from what was run (a crop) to one frame.
    """
    start = time.perf_counter()
    compiled = jax.jit(fn).lower(*args).compile()
    compile_s = time.perf_counter() - start
    seconds = median_seconds(lambda: jax.block_until_ready(compiled(*args)), repeats)
    flops = counted_flops(fn, args, compiled)
    return result_row(name, seconds * frame_factor / frames, compile_s, flops * frame_factor / frames)


def counted_flops(fn, args: tuple, compiled, *, on_cpu: bool | None = None) -> float:
    """FLOPs of one call of `fn(*args)`: XLA's cost analysis, taken from a CPU compile off the CPU backend.

    Why: the GPU backend's cost analysis leaves out library calls, and every convolution there is a cuDNN custom
    call, so an H200 reported 0.006 GFLOPs for a student's 1080p frame (the CPU count: 140). The CPU compile of the
    same function and shapes counts the same arithmetic. on_cpu None: only when the default backend is not the CPU.
    """
    if on_cpu is None:
        on_cpu = jax.default_backend() != "cpu"
    if not on_cpu:
        return max(cost_flops(compiled), 0.0)
    cpu = jax.sharding.SingleDeviceSharding(jax.devices("cpu")[0])
    specs = jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=cpu), args)
    return max(cost_flops(jax.jit(fn).lower(*specs).compile()), 0.0)


def measure_host(name: str, fn, frames: list, *, repeats: int) -> dict:
    seconds = median_seconds(lambda: [fn(f) for f in frames], repeats)
    return result_row(name, seconds / len(frames), None, None)


# ----------------------------------------------------------------------------------------------------------------
# Entries


def _random(shape, dtype, seed=0) -> jax.Array:
    return jax.random.uniform(jax.random.key(seed), shape, jnp.float32).astype(dtype)


def _cast(tree, dtype):
    return jax.tree.map(lambda a: a.astype(dtype), tree)


def random_weights(model: nnx.Module, seed: int = 0) -> nnx.Module:
    """Fills an abstract (`nnx.eval_shape`) model with small Gaussian noise; returns it.

    Speed does not depend on the values, and numpy noise takes milliseconds where each layer's own JAX initialiser
    costs a compile or an eager dispatch per op (seconds for SwinIR on a busy CPU).
    """
    rng = np.random.default_rng(seed)
    flat = {key: rng.normal(0.0, 0.02, var.get_value().shape).astype(np.float32)
            for key, var in flat_param_vars(model).items()}
    load_flat_params(model, flat, source="random weights")
    return model


def _students(extra: tuple[str, ...] = (),
              frontier: tuple[FrontierPoint, ...] = ()) -> list[tuple[str, LoadedModel, str, FrontierPoint | None]]:
    """(row name, student, plot group, frontier point): shipped ones, random builds of the sizes with no shipped x2
    sharpen student, `extra` saved model directories (named by the folder, or the run folder for a trainer's
    `export`), then the frontier points whose export exists."""
    shipped = [(name, models.load_path(d), "shipped", None) for name, (family, d) in models.shipped().items()
               if family.role == "student"]
    covered = {getattr(m.config, "size", None) for _, m, _, _ in shipped if m.scale == SCALE and m.mode == "sharpen"}
    built = []
    for size in student.SIZES:
        if size not in covered:
            model = random_weights(abstract_student(student.StudentConfig.from_size(size, scale=SCALE)))
            built.append((f"student_{size}_x{SCALE} (random weights)",
                          student.LoadedStudent(model, source="random weights"), "random", None))
    added = []
    for path in extra:
        p = pathlib.Path(path)
        label = models.canonical(p.parent.name if p.name == "export" else p.name)  # matches --quality methods
        try:
            added.append((f"{label} ({path})", models.load_path(p), "explored", None))
        except (OSError, ValueError) as e:
            raise BenchError(f"--student {path}: {e}") from None
    for point in frontier:
        if point.export is not None:
            try:
                added.append((f"{point.name} (frontier: {point.export_text})", models.load_path(point.export),
                              "explored", point))
            except (OSError, ValueError) as e:
                raise BenchError(f"--frontier point {point.name}: {e}") from None
    return shipped + built + added


def _default_student_row(students) -> str:
    """The row of the student `jaxsharp sharpen` uses by default (evaluate's method "student"): the shipped model
    its alias resolves to, else the random build of that size (an install without shipped students)."""
    try:
        name = models.canonical(models.resolve(models.DEFAULT_STUDENT, scale=SCALE).name)
    except FileNotFoundError:
        name = None
    return next((n for n, _, _, _ in students if n == name), None) or next(
        (n for n, s, _, _ in students if getattr(s.config, "size", None) == DEFAULT_STUDENT_SIZE), students[0][0])


def opencv_available() -> bool:
    return importlib.util.find_spec("cv2") is not None


OPENCV_MISSING = ("note: the OpenCV unsharp row is skipped: cv2 is not installed "
                  "(pip install 'jaxsharp[bench]' or opencv-python-headless)")


def build_entries(hw: tuple[int, int], *, batch: int, dtype, extra_students: tuple[str, ...] = (),
                  frontier: tuple[FrontierPoint, ...] = ()) -> list[Entry]:
    """The benchmark's entries for output frames of size hw = (H, W); nothing is compiled or run yet.

    The OpenCV row is left out when cv2 cannot be imported (`opencv_available`; main prints OPENCV_MISSING).
    """
    h, w = hw
    if h % SCALE or w % SCALE:
        raise BenchError(f"frame {w}x{h} must have even width and height (x{SCALE} from a half-size image)")
    lh, lw = h // SCALE, w // SCALE
    entries = []

    students = _students(extra_students, frontier)
    default = _default_student_row(students)
    for name, loaded, group, point in students:
        multiple = loaded.block if loaded.mode == "sharpen" else loaded.scale
        if h % multiple or w % multiple:
            raise BenchError(f"frame {w}x{h} is not a multiple of {name}'s block / scale {multiple}")
        in_hw = (h, w) if loaded.mode == "sharpen" else (h // loaded.scale, w // loaded.scale)

        def measure(name, repeats, loaded=loaded, in_hw=in_hw):
            args = (_cast(loaded.params, dtype), _random((batch, *in_hw, 3), dtype))
            return measure_xla(name, loaded.apply, args, frames=batch, repeats=repeats)

        base = name.split(" ")[0]
        methods = () if point else (base, base.rsplit("_x", 1)[0]) + (("student",) if name == default else ())
        entries.append(Entry(name, "student", measure, methods, size=getattr(loaded.config, "size", loaded.family),
                             group=group, frontier=point))

    ch, cw = min(TEACHER_CROP, lh), min(TEACHER_CROP, lw)
    factor = (lh * lw) / (ch * cw)
    where = "whole frame" if factor == 1 else f"{cw}x{ch} LR crop, time x{factor:.2f} to the frame"

    def measure_teacher(name, repeats):
        teacher = Teacher(random_weights(nnx.eval_shape(lambda: SwinIR(SwinIRConfig(), rngs=nnx.Rngs(0)))))
        args = (_cast(teacher.params, dtype), _random((batch, ch, cw, 3), dtype))
        return measure_xla(name, teacher.apply, args, frames=batch, repeats=repeats, frame_factor=factor)

    entries.append(Entry(f"teacher SwinIR-S x2 (random weights; {where})", "teacher", measure_teacher,
                         ("teacher", "swinir")))

    def measure_bicubic(name, repeats):
        resize = lambda x: jax.image.resize(x, (batch, h, w, 3), "bicubic")
        return measure_xla(name, resize, (_random((batch, lh, lw, 3), dtype),), frames=batch, repeats=repeats)

    entries.append(Entry("bicubic x2 (jax.image.resize)", "baseline", measure_bicubic, ("bicubic",)))

    def measure_pillow(name, repeats):
        from PIL import Image

        rng = np.random.default_rng(0)
        frames = [Image.fromarray(rng.integers(0, 256, (lh, lw, 3), dtype=np.uint8)) for _ in range(batch)]
        return measure_host(name, lambda im: im.resize((w, h), Image.Resampling.BICUBIC), frames, repeats=repeats)

    entries.append(Entry("bicubic x2 (Pillow, uint8)", "baseline", measure_pillow, ("pillow-bicubic",)))

    def measure_unsharp_xla(name, repeats):
        return measure_xla(name, baselines.unsharp_mask_jax, (_random((batch, h, w, 3), dtype),), frames=batch,
                           repeats=repeats)

    entries.append(Entry(f"unsharp mask (XLA, {jnp.dtype(dtype).name}, jitted separable)", "baseline",
                         measure_unsharp_xla, ("unsharp",), label="unsharp (XLA)"))

    def measure_unsharp(name, repeats):
        rng = np.random.default_rng(0)
        frames = [rng.random((h, w, 3), dtype=np.float32) for _ in range(batch)]
        return measure_host(name, baselines.unsharp_mask, frames, repeats=repeats)

    entries.append(Entry("unsharp mask (numpy float64, host)", "baseline", measure_unsharp, ("unsharp",),
                         label="unsharp (NumPy)"))

    if opencv_available():
        def measure_opencv(name, repeats):
            rng = np.random.default_rng(0)
            frames = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(batch)]
            return measure_host(name, baselines.unsharp_mask_opencv, frames, repeats=repeats)

        # No quality methods: a different filter from evaluate's unsharp (see baselines.unsharp_mask_opencv).
        entries.append(Entry(f"OpenCV unsharp, another filter (uint8, host: GaussianBlur sigma "
                             f"{baselines.OPENCV_UNSHARP_SIGMA:g}, addWeighted {1 + baselines.OPENCV_UNSHARP_AMOUNT:g}"
                             f" / {-baselines.OPENCV_UNSHARP_AMOUNT:g})", "baseline", measure_opencv))

    def measure_reference(name, repeats):
        conv = lambda k, x: jax.lax.conv_general_dilated(x, k, (1, 1), "SAME",
                                                         dimension_numbers=("NHWC", "HWIO", "NHWC"))
        args = (_random((3, 3, 64, 64), dtype, seed=1) * 0.05, _random((batch, lh, lw, 64), dtype))
        return measure_xla(name, conv, args, frames=batch, repeats=repeats)

    entries.append(Entry(f"reference conv 3x3 64->64 on {lh}x{lw}", "reference", measure_reference))
    # ONNX Runtime rows for the shipped students only (an export per student: seconds each, not per frontier point)
    entries += onnxruntime_entries([(name, m) for name, m, group, _ in students if group == "shipped"], (h, w),
                                   batch=batch, dtype=dtype)
    return entries


def onnxruntime_entries(students: list[tuple[str, LoadedModel]], hw: tuple[int, int], *, batch: int,
                        dtype) -> list[Entry]:
    """Rows "<student> onnxruntime float32" (and "... int8" where the model's folder has a current int8 graph,
    jaxsharp.quantize): the student's ONNX graph in onnxruntime (jaxsharp/onnxruntime_backend.py) on the same input
    as its XLA row. Each student's XLA executable and graphs are timed in interleaved rounds (xla, float32, int8,
    xla, ...), so load from other processes falls on all alike; the ratios to XLA go to stderr. Compile seconds:
    the graph (an export, or the cache) plus the session; GFLOPs: XLA's count of the same network. No rows
    without onnxruntime and jax2onnx, or in bfloat16 (onnxruntime runs float32 or int8)."""
    import importlib.util

    from jaxsharp import onnxruntime_backend

    if dtype != jnp.float32 or not all(importlib.util.find_spec(m) for m in ("onnxruntime", "jax2onnx")):
        print("note: no onnxruntime rows (bfloat16, or onnxruntime / jax2onnx not installed)", file=sys.stderr)
        return []
    h, w = hw
    entries = []
    for name, loaded in students:
        in_hw = (h, w) if loaded.mode == "sharpen" else (h // loaded.scale, w // loaded.scale)
        int8 = onnxruntime_backend.find_int8(loaded)
        precisions = ("float32",) + (("int8",) if int8 is not None and not int8.stale else ())
        rounds: dict[str, tuple[float, float, float]] = {}

        def interleaved(repeats, loaded=loaded, in_hw=in_hw, precisions=precisions, rounds=rounds, name=name):
            x = np.asarray(_random((batch, *in_hw, 3), jnp.float32))
            args = (loaded.params, jnp.asarray(x))
            compiled = jax.jit(loaded.apply).lower(*args).compile()
            flops = counted_flops(loaded.apply, args, compiled)
            calls, prepare_s = {"xla": lambda: jax.block_until_ready(compiled(*args))}, {}
            for precision in precisions:
                start = time.perf_counter()
                runner = onnxruntime_backend.Runner(loaded, precision=precision)
                prepare_s[precision] = time.perf_counter() - start
                calls[precision] = lambda runner=runner: runner(x)
            times: dict[str, list[float]] = {k: [] for k in calls}
            for call in calls.values():
                call()  # warm-up
            for _ in range(repeats):
                for key, call in calls.items():
                    start = time.perf_counter()
                    call()
                    times[key].append(time.perf_counter() - start)
            median = {k: statistics.median(v) for k, v in times.items()}
            rounds.update({p: (median[p], prepare_s[p], flops) for p in precisions})
            print(f"  {name}, {repeats} interleaved rounds: xla {1e3 * median['xla'] / batch:,.2f} ms/frame; "
                  + "; ".join(f"onnxruntime {p} {1e3 * median[p] / batch:,.2f} ms/frame = "
                              f"{median['xla'] / median[p]:.2f}x the speed of xla" for p in precisions),
                  file=sys.stderr, flush=True)

        for precision in precisions:
            def measure(row_name, repeats, precision=precision, interleaved=interleaved, rounds=rounds):
                if not rounds:  # the student's first row times every precision; the others read the result
                    interleaved(repeats)
                seconds, prepare, flops = rounds[precision]
                return result_row(row_name, seconds / batch, prepare, flops / batch)

            label = (name.replace(" (", f" onnxruntime {precision} (", 1) if " (" in name
                     else f"{name} onnxruntime {precision}")
            entries.append(Entry(label, "onnxruntime", measure, size=getattr(loaded.config, "size", loaded.family)))
    return entries


# ----------------------------------------------------------------------------------------------------------------
# Reporting


def device_name() -> str:
    device = jax.devices()[0]
    cores = f", {os.cpu_count()} cores" if device.platform == "cpu" else ""
    return f"{device.platform}: {device.device_kind}{cores}"


def _fmt(value, digits=3) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}g}" if abs(value) < 10 ** digits else f"{value:,.0f}"


def markdown_table(results: list[dict], reference: dict | None) -> str:
    ref_rate = reference and reference["achieved_gflops_per_s"]
    lines = ["| entry | ms / frame | FPS | compile s | GFLOPs / frame | GFLOP/s | % of ref conv |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        rate = r["achieved_gflops_per_s"]
        share = f"{100 * rate / ref_rate:.0f}%" if rate and ref_rate else "-"
        lines.append(f"| {r['name']} | {_fmt(r['ms_per_frame'])} | {_fmt(r['fps'])} | {_fmt(r['compile_s'])} | "
                     f"{_fmt(r['gflops_per_frame'])} | {_fmt(rate)} | {share} |")
    return "\n".join(lines)


def summary(entries: list[Entry], results: list[dict]) -> str:
    """One line of ratios: the default student against the teacher, each student's GFLOP/s against the reference."""
    by_name = {r["name"]: r for r in results}
    students = [e for e in entries if e.role == "student"]
    teacher = next(e for e in entries if e.role == "teacher")
    reference = by_name[next(e for e in entries if e.role == "reference").name]
    default = next((e for e in students if "student" in e.quality_methods), students[0])
    parts = [f"{default.name} is {by_name[teacher.name]['ms_per_frame'] / by_name[default.name]['ms_per_frame']:,.0f}x "
             "faster per frame than the teacher"]
    ref_rate = reference["achieved_gflops_per_s"]
    if ref_rate:
        # Rows by their name's first word (student-small-x2, my_run): sizes repeat when several students share one.
        shares = [f"{e.name.split(' ')[0]} {100 * by_name[e.name]['achieved_gflops_per_s'] / ref_rate:.0f}%"
                  for e in students if by_name[e.name]["achieved_gflops_per_s"]]
        parts.append(f"student GFLOP/s as % of the reference conv ({ref_rate:,.1f} GFLOP/s): {', '.join(shares)}")
    return "summary: " + "; ".join(parts)


def _evaluate_rows(path: str | os.PathLike) -> tuple[list[dict], list[str]]:
    """(rows, sets in file order) of an evaluate.py JSON."""
    try:
        rows = json.loads(pathlib.Path(path).read_text())["results"]
        sets = list(dict.fromkeys(r["set"] for r in rows))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise BenchError(f"{path}: not an evaluate.py JSON ({type(e).__name__}: {e})") from None
    return rows, sets


def match_quality(rows: list[dict], entries: list[Entry], set_name: str) -> dict[str, float]:
    """{entry name: PSNR-Y} of `set_name` for the entries an evaluate.py row names (the module docstring's rules)."""
    psnr = {}
    for entry in entries:
        for method in entry.quality_methods:  # most specific first
            row = next((r for r in rows if r["set"] == set_name and models.canonical(str(r.get("method"))) == method
                        and r.get("psnr_y") is not None), None)
            if row is not None:
                psnr[entry.name] = float(row["psnr_y"])
                break
    return psnr


def read_quality(path: str | os.PathLike, entries: list[Entry], set_name: str | None) -> tuple[str, dict[str, float]]:
    """(set, {entry name: PSNR-Y}) from an evaluate.py JSON; see the module docstring for the matching."""
    rows, sets = _evaluate_rows(path)
    if not sets:
        raise BenchError(f"{path}: no results")
    set_name = set_name or sets[0]
    if set_name not in sets:
        raise BenchError(f"{path}: no set {set_name!r}; sets there: {', '.join(sets)}")
    psnr = match_quality(rows, entries, set_name)
    if not psnr:
        methods = sorted({str(r.get("method")) for r in rows})
        raise BenchError(f"{path}: no benchmarked entry has a quality figure in set {set_name!r} "
                         f"(methods there: {', '.join(methods)})")
    return set_name, psnr


def _find_export(text: str, frontier_file: pathlib.Path) -> pathlib.Path | None:
    """The directory `text` names: absolute, or relative to the current directory, then to the frontier file's folder
    and each folder above it (the file lives in the repository its exports are relative to)."""
    path = pathlib.Path(text).expanduser()
    candidates = [path] if path.is_absolute() else [path, *(d / path for d in frontier_file.resolve().parents)]
    return next((c for c in candidates if c.is_dir()), None)


def read_frontier(path: str | os.PathLike) -> tuple[FrontierPoint, ...]:
    """The explored students of a frontier JSON (experiments/reparam_frontier.py's); see the module docstring."""
    path = pathlib.Path(path)
    try:
        data = json.loads(path.read_text())
        points = []
        for p in data["points"]:
            report = p.get("report") or {}
            psnr = {str(s): float(v["psnr_y"]) for s, v in report.items() if v.get("psnr_y") is not None}
            export_text = str(p.get("export") or "")
            gflops, params = p.get("gflops_1080p"), p.get("params")
            points.append(FrontierPoint(str(p["name"]), _find_export(export_text, path) if export_text else None,
                                        export_text, None if gflops is None else float(gflops),
                                        None if params is None else int(params), psnr))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise BenchError(f"{path}: not a frontier JSON ({type(e).__name__}: {e})") from None
    names = [p.name for p in points]
    repeated = sorted(n for n in set(names) if names.count(n) > 1)
    if repeated:
        raise BenchError(f"{path}: point names repeat ({', '.join(repeated)})")
    return tuple(points)


@dataclasses.dataclass(frozen=True)
class PlotPoint:
    label: str
    x: float
    y: float
    group: str  # a key of GROUPS


def speed_points(entries: list[Entry], results: list[dict], psnr: dict[str, float], set_name: str) -> list[PlotPoint]:
    """The speed panel: each timed entry with a `set_name` PSNR (explored students: their frontier figure)."""
    points = []
    for entry, row in zip(entries, results):
        y = entry.frontier.psnr_y.get(set_name) if entry.frontier else psnr.get(entry.name)
        if y is not None and entry.role != "reference":
            points.append(PlotPoint(entry.plot_label, row["fps"], y, entry.plot_group))
    return points


def cost_points(entries: list[Entry], results: list[dict], psnr: dict[str, float],
                frontier: tuple[FrontierPoint, ...], hw: tuple[int, int]) -> list[PlotPoint]:
    """The GFLOPs panel (COST_SET): timed students with a COST_SET PSNR in `psnr` (GFLOPs scaled from the run's frame
    to COST_FRAME by pixel count), every frontier point with a figure, and the PUBLISHED anchors. Not the teacher:
    at ~100x the students' GFLOPs it would squeeze them and the anchors into a corner."""
    scale = (COST_FRAME[0] * COST_FRAME[1]) / (hw[0] * hw[1])
    points = []
    for entry, row in zip(entries, results):
        if entry.role == "student" and entry.frontier is None and entry.name in psnr and row["gflops_per_frame"]:
            points.append(PlotPoint(entry.plot_label, row["gflops_per_frame"] * scale, psnr[entry.name],
                                    entry.plot_group))
    for point in frontier:
        if point.gflops_1080p and COST_SET in point.psnr_y:
            points.append(PlotPoint(point.name, point.gflops_1080p, point.psnr_y[COST_SET], "explored"))
    for anchor in PUBLISHED:
        if COST_SET in anchor.psnr_y:
            points.append(PlotPoint(anchor.name, anchor.gflops_1080p, anchor.psnr_y[COST_SET],
                                    "retrained" if anchor.retrained else "published"))
    return points


# Where a label may sit around its point: directions (dx, dy, ha, va) in order of preference, at growing distances
# (points); beyond the first distance a thin leader line joins label and point.
_LABEL_DIRECTIONS = ((1, 1, "left", "bottom"), (1, -1, "left", "top"), (-1, 1, "right", "bottom"),
                     (-1, -1, "right", "top"), (1, 0, "left", "center"), (-1, 0, "right", "center"),
                     (0, 1, "center", "bottom"), (0, -1, "center", "top"))
_LABEL_DISTANCES = (4, 14, 26)


def _place_labels(ax, points: list[PlotPoint], renderer) -> None:
    """Annotates each point at the first spot overlapping no marker, legend or label placed before and staying inside
    the axes (else the spot costing least); labels stay out of the layout so placing them moves nothing."""
    from matplotlib.text import Text
    from matplotlib.transforms import Bbox

    frame = ax.get_window_extent(renderer)
    obstacles = [Bbox.from_bounds(*(ax.transData.transform((p.x, p.y)) - 4), 8, 8) for p in points]
    if ax.get_legend() is not None:
        obstacles.append(ax.get_legend().get_window_extent(renderer))
    for i, point in enumerate(points):
        best = None
        for distance in _LABEL_DISTANCES:
            leader = {"arrowprops": {"arrowstyle": "-", "lw": 0.4, "color": "0.5", "shrinkA": 1, "shrinkB": 3}} \
                if distance > _LABEL_DISTANCES[0] else {}
            for dx, dy, ha, va in _LABEL_DIRECTIONS:
                text = ax.annotate(point.label, (point.x, point.y), textcoords="offset points",
                                   xytext=(dx * distance, dy * distance), ha=ha, va=va, fontsize=7, **leader)
                text.set_in_layout(False)
                text.update_positions(renderer)
                box = Text.get_window_extent(text, renderer).padded(2)  # the text alone, not its leader line
                cost = (sum(_overlap(box, other) for j, other in enumerate(obstacles) if j != i)
                        + 4 * (box.width * box.height - _overlap(box, frame)))  # outside the axes
                if best is None or cost < best[0]:
                    if best is not None:
                        best[1].remove()
                    best = (cost, text, box)
                else:
                    text.remove()
                if cost == 0:
                    break
            if best[0] == 0:
                break
        obstacles.append(best[2])


def _overlap(a, b) -> float:
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w * h if w > 0 and h > 0 else 0.0


def _panel(ax, points: list[PlotPoint], *, xlabel: str, title: str, empty: str) -> None:
    ax.set_title(title, fontsize=9)
    ax.set_ylabel("PSNR-Y (dB)")
    ax.set_xlabel(xlabel)
    if not points:
        ax.text(0.5, 0.5, empty, ha="center", va="center", transform=ax.transAxes, fontsize=9)
        return
    for group, (legend, style) in GROUPS.items():
        mine = [p for p in points if p.group == group]
        if mine:
            ax.scatter([p.x for p in mine], [p.y for p in mine], label=legend, **{"s": 30, **style})
    ax.set_xscale("log")
    ax.margins(x=0.15, y=0.08)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="best")


def figure(speed: list[PlotPoint], cost: list[PlotPoint], *, speed_title: str, cost_title: str):
    """The two-panel frontier figure (a matplotlib Figure): PSNR-Y against FPS, PSNR-Y against GFLOPs per frame."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(15, 6.5), layout="constrained")
    FigureCanvasAgg(fig)
    ax_speed, ax_cost = fig.subplots(1, 2)
    _panel(ax_speed, speed, xlabel="frames per second (log)", title=speed_title,
           empty="no timed entry has a PSNR figure in this set")
    _panel(ax_cost, cost, xlabel=f"GFLOPs per {COST_FRAME[1]}x{COST_FRAME[0]} frame (log)", title=cost_title,
           empty="nothing has a PSNR figure in this set")
    fig.canvas.draw()  # the layout, so labels are placed where they will be drawn
    renderer = fig.canvas.get_renderer()
    for ax in (ax_speed, ax_cost):
        legend = ax.get_legend()
        if legend is not None:  # "best" would move it again at the final draw, onto the labels placed below
            legend.set_loc(tuple(ax.transAxes.inverted().transform(legend.get_window_extent(renderer).p0)))
    _place_labels(ax_speed, speed, renderer)
    _place_labels(ax_cost, cost, renderer)
    return fig


def plot(speed: list[PlotPoint], cost: list[PlotPoint], path: str | os.PathLike, **figure_kwargs) -> None:
    """Writes `figure(speed, cost, **figure_kwargs)` to `path` as a PNG, atomically."""
    fig = figure(speed, cost, **figure_kwargs)
    atomic.write_file(path, lambda f: fig.savefig(f, format="png", dpi=120))


# ----------------------------------------------------------------------------------------------------------------
# CLI


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def build_parser(prog: str = "python -m jaxsharp.bench") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0],
                                epilog=__doc__.split("\n\n", 2)[2],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", required=True, metavar="FILE", help="results JSON (written atomically)")
    p.add_argument("--size", type=parse_frame_size, default=(1080, 1920), metavar="WxH",
                   help="output frame, width x height (default 1920x1080)")
    p.add_argument("--batch", type=_positive, default=1, help="frames per call (default 1); figures are per frame")
    p.add_argument("--dtype", choices=list(DTYPES), default="float32")
    p.add_argument("--repeats", type=_positive, default=10, help="timed calls per entry (default 10)")
    p.add_argument("--student", action="append", default=[], metavar="DIR",
                   help="also time this saved student (a trainer's WORKDIR/export); repeatable")
    p.add_argument("--frontier", metavar="FRONTIER_JSON",
                   help="explored students (experiments/reparam_frontier.py's JSON): time each export, plot each point")
    p.add_argument("--plot", metavar="FILE.png",
                   help="the frontier figure: PSNR-Y vs FPS and Set14 PSNR-Y vs GFLOPs (needs --quality or --frontier)")
    p.add_argument("--quality", metavar="EVAL_JSON", help="an evaluate.py --json file with the PSNR figures")
    p.add_argument("--quality-set", metavar="SET",
                   help=f"the set of the FPS panel (default: the --quality file's first, else {DEFAULT_FRONTIER_SET})")
    return p


def main(argv: list[str] | None = None, *, prog: str = "python -m jaxsharp.bench") -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] in (["stream"], ["video"]):  # the video paths end to end: jaxsharp/bench_stream.py
        from jaxsharp import bench_stream

        entry = bench_stream.main if argv[0] == "stream" else bench_stream.video_main
        return entry(argv[1:], prog=f"{prog} {argv[0]}")
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    if args.plot and not (args.quality or args.frontier):
        parser.error("--plot needs --quality (an evaluate.py JSON) and/or --frontier")
    if args.quality and not args.plot:
        parser.error("--quality needs --plot")
    if args.quality_set and not args.plot:
        parser.error("--quality-set needs --plot")
    h, w = args.size
    try:
        frontier = read_frontier(args.frontier) if args.frontier else ()
        entries = build_entries((h, w), batch=args.batch, dtype=DTYPES[args.dtype],
                                extra_students=tuple(args.student), frontier=frontier)
        if args.quality:
            set_name, psnr = read_quality(args.quality, entries, args.quality_set)
            psnr_cost = match_quality(_evaluate_rows(args.quality)[0], entries, COST_SET)
        else:
            set_name, psnr, psnr_cost = args.quality_set or DEFAULT_FRONTIER_SET, {}, {}
    except BenchError as e:
        parser.exit(2, f"{parser.prog}: error: {e}\n")

    device = device_name()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan
    print(f"jaxsharp.bench: {w}x{h} frames (x{SCALE}), batch {args.batch}, {args.dtype}, {args.repeats} timed "
          f"runs per entry; device {device}; load average at start {load:.2f}", flush=True)
    results = []
    for entry in entries:
        row = entry.run(args.repeats)
        results.append(row)
        print(f"  {row['name']}: {row['ms_per_frame']:,.2f} ms/frame", file=sys.stderr, flush=True)
    reference = next((r for e, r in zip(entries, results) if e.role == "reference"), None)
    print(markdown_table(results, reference))
    print(summary(entries, results))
    if not opencv_available():
        print(OPENCV_MISSING)
    untimed = [p.name for p in frontier if p.export is None]
    if untimed:
        print(f"note: frontier points without an export here, not timed (GFLOPs panel only): {', '.join(untimed)}")
    atomic.write_json(args.json, {"device": device, "size": [h, w], "results": results}, allow_nan=False)
    if args.plot:
        speed = speed_points(entries, results, psnr, set_name)
        cost = cost_points(entries, results, psnr_cost, frontier, (h, w))
        plot(speed, cost, args.plot, speed_title=f"{set_name} PSNR-Y vs speed at {w}x{h}, {args.dtype}, {device}",
             cost_title=f"{COST_SET} PSNR-Y vs GFLOPs per {COST_FRAME[1]}x{COST_FRAME[0]} frame (x2); published "
                        "anchors at their published PSNR")
        print(f"plotted {len(speed)} entries against FPS and {len(cost)} against GFLOPs to {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
