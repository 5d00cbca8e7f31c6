"""The inference engine: batched, compiled inference of one loaded model for one task, on frames of any size.

    engine = Sharpener(jaxsharp.models.load("student-small"), mode="sharpen", batch=4)
    outputs = engine(frames)          # float32 RGB [H, W, 3] in [0, 1], any sizes -> same order, clipped

Every caller that runs a model on images goes through it: `jaxsharp sharpen` (jaxsharp/sharpen_cli.py), the Python
API (`jaxsharp.sharpen`, jaxsharp/infer.py), evaluate, the MOS stimuli, the demo, and `LoadedModel.__call__`; so
padding, tiling and the mode adapters have one definition and evaluate measures what users run.

Tasks (`mode`) and models. `sharpen`: a blurry image in, a sharper one of the same size out. `sr`: an image in, one
`scale` times larger out. A model of the other mode is adapted with MATLAB bicubic (`degrade.imresize`, inside the
compiled function): for `sharpen` an sr model gets the image shrunk by its scale (it then restores the detail a
bicubic x`scale` round trip removes), for `sr` a sharpen model gets the image enlarged by bicubic.

Compiles: frames are padded at the bottom and right up to a shape bucket (multiples of `bucket` pixels, 64 by
default) by the one padding rule (`pad_frames`: the frame mirrored with its edge pixel repeated,
MATLAB's boundary rule), and up to `batch` frames of a bucket run in one call, a short call at the next power of
two (`compiled_batch`: one image costs one image), so a folder of mixed sizes compiles a few times per bucket, not
once per image; the output is cropped back. The bicubic parts (the sr student's residual, the mode
adapters) then equal the unpadded resize exactly, and an untrained student returns exactly its baseline. The convs
see mirrored content past the bottom and right edges instead of zeros (as SwinIR's reflect padding to a window
multiple does), so within a receptive radius of those edges the output depends slightly on the bucket.

Tiles: inputs above a pixel budget (or larger than `tile`) run in fixed-size tiles (`tiling.tiled_apply`). For a
model with a bounded receptive radius the default overlap is exact: a quarter of it covers the radius, so tiles
equal the whole-image output to float rounding. SwinIR's windows see further; its default overlap (32) is an
approximation.

Backends (`backend`): "xla" (default) compiles the model with XLA, one executable per input shape. "onnxruntime"
runs a student's exported ONNX graph in onnxruntime instead (jaxsharp/onnxruntime_backend.py: one session for
every shape, `precision` float32, int8 or auto); padding, buckets, tiles, mode adapters and the clip stay here, so
the two backends differ only in the model's arithmetic.
"""

from __future__ import annotations

import collections
import dataclasses
import math
import time
from typing import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxsharp import degrade, onnxruntime_backend
from jaxsharp.tiling import tiled_apply

MODES = degrade.MODES
DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}
DEFAULT_BUCKET = 64
DEFAULT_BATCH = 4

# Above these many model-input pixels per frame, run in tiles of the given side (model-input pixels). A CNN's
# activations are a few hundred bytes per input pixel; SwinIR's attention needs tens of kilobytes. Keyed by whether
# the receptive field is bounded.
_WHOLE_FRAME_PIXELS = {True: 2048 * 2048, False: 512 * 512}
_AUTO_TILE = {True: 1024, False: 256}
_UNBOUNDED_OVERLAP = 32  # model-input pixels; see the README's tiling figures for SwinIR


PAD_MODE = "symmetric"  # numpy's name for MATLAB's rule: the edge pixel repeated, then mirrored


def pad_frames(x: np.ndarray, h: int, w: int) -> np.ndarray:
    """x [..., H, W, C] -> [..., h, w, C] (h >= H, w >= W), extended at the bottom and right by `PAD_MODE`.

    Larger pads than the frame itself mirror again (numpy's rule), so any bucket works for any frame.
    """
    x = np.asarray(x)
    ph, pw = h - x.shape[-3], w - x.shape[-2]
    if ph < 0 or pw < 0:
        raise ValueError(f"cannot pad a {x.shape[-2]}x{x.shape[-3]} frame down to {w}x{h}")
    if not ph and not pw:
        return x
    widths = [(0, 0)] * (x.ndim - 3) + [(0, ph), (0, pw), (0, 0)]
    return np.pad(x, widths, mode=PAD_MODE)


def _round_up(n: int, multiple: int) -> int:
    return -(-n // multiple) * multiple


@dataclasses.dataclass
class CompileStats:
    """Per compiled input shape: compile time (AOT) and the calls run with it."""

    compile_s: float = 0.0
    run_s: float = 0.0
    calls: int = 0


class Sharpener:
    """Batched, compiled inference of one model for one task, on float32 RGB frames of any size.

    frames -> mirror-pad to the bucket -> batches of `batch` (the last padded) -> one AOT-compiled function per
    input shape (resize adapter, model, clip to [0, 1] unless clip=False) -> crop back. `traces` counts traces
    (= compiles). model: a `loaded_model.LoadedModel` (any family).

    backend: "xla", "onnxruntime" (students; `precision` "auto", "float32" or "int8", see
    jaxsharp/onnxruntime_backend.py) or a built `onnxruntime_backend.Runner` of this model (a given graph).
    `precision` is then the one that runs ("float32" / "bfloat16" from `dtype` on XLA).
    """

    def __init__(self, model, *, mode: str | None = None, batch: int = DEFAULT_BATCH, tile: int | None = None,
                 overlap: int | None = None, dtype: str = "float32", bucket: int = DEFAULT_BUCKET,
                 auto_tile: bool = True, clip: bool = True, backend="xla", precision: str = "auto"):
        self.model = model
        self.bounded = model.receptive_radius is not None
        self.model_mode = model.mode
        self.mode = mode or self.model_mode
        self.clip = clip
        if self.mode not in MODES:
            raise ValueError(f"unknown mode {self.mode!r}; valid modes: {', '.join(MODES)}")
        if dtype not in DTYPES:
            raise ValueError(f"unknown dtype {dtype!r}; choose one of {', '.join(DTYPES)}")
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
        block = model.block
        if self.mode == "sharpen":
            self.align = block if self.model_mode == "sharpen" else s
        else:
            self.align = block // math.gcd(block, s)
        self.bucket = _round_up(bucket, self.align)
        exact = self.exact_overlap()
        if overlap is None:
            overlap = exact if exact is not None else _round_up(
                math.ceil(_UNBOUNDED_OVERLAP / self._model_per_input), self.align)
        self.overlap = _round_up(overlap, self.align)
        self.tile = None if tile is None else _round_up(tile, self.align)
        if self.tile is not None and self.tile <= self.overlap:
            raise ValueError(f"tile {self.tile} must be larger than the overlap {self.overlap}"
                             + (f" (the exact overlap for this model is {exact})" if exact is not None else ""))
        self.auto_tile = auto_tile
        self._runner = self._backend(backend, precision)
        self.backend = "xla" if self._runner is None else "onnxruntime"
        self.precision = dtype if self._runner is None else self._runner.precision
        self.params = jax.tree.map(lambda a: jnp.asarray(a, DTYPES[dtype]), model.params)
        self.traces = 0
        self.stats: dict[tuple[int, ...], CompileStats] = {}
        self._compiled: dict[tuple[int, ...], Callable] = {}
        self._jitted = jax.jit(self._forward)

    def _backend(self, backend, precision: str):
        """None for XLA, else the onnxruntime Runner; rejects settings the backend would not honour."""
        if isinstance(backend, str) and backend not in onnxruntime_backend.BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(onnxruntime_backend.BACKENDS)}")
        if backend == "xla":
            if precision != "auto":
                raise ValueError(f"precision {precision!r} is for the onnxruntime backend; on XLA the compute "
                                 "type is dtype (float32 or bfloat16)")
            return None
        if self.dtype != "float32":
            raise ValueError(f"dtype {self.dtype} runs on the xla backend only; onnxruntime runs float32 or int8 "
                             "(precision)")
        if backend == "onnxruntime":
            return onnxruntime_backend.Runner(self.model, precision=precision)
        if backend.model is not self.model:
            raise ValueError("the onnxruntime Runner given as backend was built for another model")
        return backend

    # -- geometry --

    def receptive_radius(self) -> int | None:
        """How far (input pixels) an output pixel sees, resize adapter included; None when unbounded (SwinIR)."""
        if not self.bounded:
            return None
        r, s = self.model.receptive_radius, self.scale
        if (self.mode, self.model_mode) == ("sharpen", "sr"):
            return s * (r + 3)  # the shrink's taps reach 2 lr pixels (2s input pixels), plus rounding
        if (self.mode, self.model_mode) == ("sr", "sharpen"):
            return math.ceil(r / s) + 3  # the enlargement's taps reach 2 input pixels, plus rounding
        return r

    def exact_overlap(self) -> int | None:
        """The overlap (input pixels) whose dropped quarter covers the receptive radius; None when unbounded."""
        r = self.receptive_radius()
        return None if r is None else _round_up(4 * r, self.align)

    def bucket_shape(self, h: int, w: int) -> tuple[int, int]:
        return _round_up(h, self.bucket), _round_up(w, self.bucket)

    def tile_for(self, h: int, w: int) -> int | None:
        """The tile side for a bucket of h x w input pixels, or None to run the frame whole."""
        tile = self.tile
        if tile is None and self.auto_tile:
            model_pixels = h * w * self._model_per_input ** 2
            if model_pixels > _WHOLE_FRAME_PIXELS[self.bounded]:
                tile = max(_round_up(int(_AUTO_TILE[self.bounded] / self._model_per_input), self.align),
                           self.overlap + self.align)
        if tile is None or (tile >= h and tile >= w):
            return None
        return tile

    # -- compiled function --

    def _adapt(self, x: jax.Array) -> jax.Array:
        """The mode adapter (module docstring): the input resized for a model of the other mode."""
        if (self.mode, self.model_mode) == ("sharpen", "sr"):
            return degrade.imresize(x, 1.0 / self.scale)
        if (self.mode, self.model_mode) == ("sr", "sharpen"):
            return degrade.imresize(x, float(self.scale))
        return x

    def _forward(self, params, x: jax.Array) -> jax.Array:
        self.traces += 1  # runs once per trace: the compile counter the tests read
        y = self.model.apply(params, self._adapt(x).astype(DTYPES[self.dtype]))
        y = y.astype(jnp.float32)
        return jnp.clip(y, 0.0, 1.0) if self.clip else y

    def _forward_onnxruntime(self, params, x: np.ndarray) -> np.ndarray:
        """`_forward` with the model in onnxruntime (the adapter stays the same jitted resize); waits."""
        if self.mode != self.model_mode:
            x = np.asarray(self._adapt(x))
        y = self._runner(x)
        return np.clip(y, 0.0, 1.0) if self.clip else y

    def _executable(self, shape: tuple[int, ...]) -> Callable:
        exe = self._compiled.get(shape)
        if exe is None:
            start = time.perf_counter()
            if self._runner is None:
                exe = self._jitted.lower(self.params, jax.ShapeDtypeStruct(shape, jnp.float32)).compile()
            else:
                exe = self._forward_onnxruntime  # one session for every shape; its build is in `report`
            self.stats[shape] = CompileStats(compile_s=time.perf_counter() - start)
            self._compiled[shape] = exe
        return exe

    def compiled_batch(self, n: int) -> int:
        """The batch a call of n frames (or tiles) runs at: n rounded up to a power of two, at most `batch`.

        So one image costs one image, not a batch of copies, and a bucket compiles at most log2(batch) + 1 times.
        """
        if not 1 <= n <= self.batch:
            raise ValueError(f"a call takes 1 to {self.batch} frames, got {n}")
        return min(self.batch, 1 << (n - 1).bit_length())

    def submit(self, x: np.ndarray) -> Callable[[], np.ndarray]:
        """Starts one call of the compiled function on [n <= batch, H, W, 3] float32 (padded to `compiled_batch`)
        and returns without waiting: calling the returned function waits for and fetches [n, oH, oW, 3]."""
        n = x.shape[0]
        # XLA compiles per batch size, so short calls round up; onnxruntime's graph takes any batch as it is.
        size = self.compiled_batch(n) if self._runner is None else n
        if n < size:
            x = np.concatenate([x, np.repeat(x[-1:], size - n, axis=0)])
        shape = tuple(x.shape)
        exe = self._executable(shape)
        start = time.perf_counter()
        # XLA: dispatched, runs while the caller goes on; onnxruntime: done on return (the session blocks).
        y = exe(self.params, np.ascontiguousarray(x, np.float32))

        def fetch() -> np.ndarray:
            out = np.asarray(y)
            stats = self.stats[shape]
            stats.run_s += time.perf_counter() - start
            stats.calls += 1
            return out[:n]

        return fetch

    def run_batch(self, x: np.ndarray) -> np.ndarray:
        """[n <= batch, H, W, 3] float32 -> [n, oH, oW, 3]: one call of the compiled function (`submit`), waited for."""
        return self.submit(x)()

    # -- frames --

    def start_bucket(self, frames: Sequence[np.ndarray]) -> Callable[[], list[np.ndarray]]:
        """Frames of one bucket (any number) -> a function returning the outputs, each cropped to its frame's own
        size times `out_scale`. Up to `batch` whole frames are dispatched without waiting (an accelerator works
        while the caller decodes or reads the next frames: `jaxsharp stream`, videos; on a 2-core CPU, where the
        model already uses every core, it made no measurable difference); tiles and longer lists run before it
        returns."""
        if not frames:
            return lambda: []
        shape = self.bucket_shape(*frames[0].shape[:2])
        if any(self.bucket_shape(*f.shape[:2]) != shape for f in frames):
            raise ValueError("run_bucket takes frames of one bucket; call the Sharpener itself for mixed sizes")
        x = np.stack([pad_frames(np.asarray(f, np.float32), *shape) for f in frames])
        tile = self.tile_for(*shape)
        if tile is None and len(x) <= self.batch:
            fetch = self.submit(x)
        elif tile is None:
            y = np.concatenate([self.run_batch(x[i:i + self.batch]) for i in range(0, len(x), self.batch)])
            fetch = lambda: y  # noqa: E731
        else:
            y = tiled_apply(self.run_batch, x, tile=tile, overlap=self.overlap, scale=self.out_scale,
                            tiles_per_call=self.batch)
            fetch = lambda: y  # noqa: E731
        o = self.out_scale
        return lambda: [np.ascontiguousarray(y[: f.shape[0] * o, : f.shape[1] * o]) for y, f in zip(fetch(), frames)]

    def run_bucket(self, frames: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Frames of one bucket (any number) -> outputs cropped to each frame's own size times `out_scale`."""
        return self.start_bucket(frames)()

    def __call__(self, frames: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Float32 RGB frames [H, W, 3] in [0, 1], any sizes -> outputs in the same order, clipped to [0, 1]."""
        if self.model.in_chans != 3:
            raise ValueError(f"only RGB models run on frames; this one takes {self.model.in_chans} channel(s)")
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
        lines = [] if self._runner is None else [self._runner.describe()]
        for shape, st in self.stats.items():
            per = f", {1000 * st.run_s / st.calls:.1f} ms per call" if st.calls else ""
            lines.append(f"shape {'x'.join(map(str, shape))}: compiled in {st.compile_s:.2f} s; "
                         f"{st.calls} call(s) in {st.run_s:.2f} s{per}")
        return lines


