"""ONNX Runtime as an inference backend: a student's exported ONNX graph run by onnxruntime on the CPU.

    engine = Sharpener(model, backend="onnxruntime")                  # jaxsharp/engine.py; precision "auto"
    jaxsharp sharpen photo.jpg --backend onnxruntime --precision int8  # also jaxsharp.sharpen(..., backend=)

The engine keeps its padding, buckets, tiles and mode adapters; only the model's forward pass changes hands: the
graph `jaxsharp export --format onnx` writes (`export_graph.export_onnx`: NHWC float32 `image` -> `output`, dynamic
batch, height and width), in an `onnxruntime.InferenceSession` on the CPU provider with one intra-op thread per core
this process may use. One session runs every shape. Students only: a teacher is not exported. Float32 equals the
XLA path to float rounding (tests/test_onnxruntime_backend.py holds max |diff| <= 1e-4).

Precisions (`precision`):
- float32: the exported graph. It is cached on disk, keyed by the weights' content hash (`weights_digest`), under
  `$JAXSHARP_CACHE_DIR/onnx` (default `$XDG_CACHE_HOME/jaxsharp`, else `~/.cache/jaxsharp`), written atomically.
  Why a cache and not an export in memory each time: the first jax2onnx export in a process costs ~10 s on a
  2-core CPU (its plugins load and trace; a second export takes 0.06 s), which a cache hit turns into a file
  read, and a cached graph runs without jax2onnx installed. A cache that cannot be written is skipped silently.
- int8: a static QDQ int8 graph (`jaxsharp.quantize`, calibrated on training images), read from the model's
  directory (`int8.onnx` + `int8.json`); its sidecar must name these weights (same digest).
- auto (default): int8 where the model's int8 graph meets the quality rule (`meets_quality_rule`: |PSNR-Y
  delta| <= 0.05 dB on Set5 and on B100, both measured and recorded by `jaxsharp.quantize`), float32 otherwise.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pathlib
import time
import warnings

import jax
import numpy as np

BACKENDS = ("xla", "onnxruntime")
PRECISIONS = ("auto", "float32", "int8")
INT8_FILE = "int8.onnx"
INT8_SIDECAR = "int8.json"
QUALITY_RULE_DB = 0.05  # the most PSNR-Y (dB) int8 may lose (or gain) against float32 on each rule set
QUALITY_RULE_SETS = ("Set5", "B100")
CACHE_ENV = "JAXSHARP_CACHE_DIR"
# Bump when export_onnx's graph changes for the same weights: cached float32 graphs are keyed by it.
GRAPH_VERSION = 1
INSTALL_HINT = "pip install -e '.[export]' && pip install --no-deps 'jax2onnx==0.17.1'"


class BackendError(ValueError):
    """A backend request that cannot run: unknown option, missing dependency, no (or a stale) int8 graph."""


class Int8QualityWarning(UserWarning):
    """An int8 graph was asked for explicitly although it does not meet (or was not measured against) the rule."""


def import_onnxruntime():
    try:
        import onnxruntime
    except ImportError as e:
        raise BackendError(f"the onnxruntime backend needs onnxruntime ({e}): {INSTALL_HINT}") from None
    return onnxruntime


def threads() -> int:
    """CPU cores this process may run on (its affinity mask, which a container or taskset narrows)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def weights_digest(model) -> str:
    """sha256 of what decides the exported graph: family, config, and every parameter (path, dtype, shape,
    bytes). The same weights loaded from anywhere give the same digest; any changed value gives another."""
    h = hashlib.sha256()
    described = model.describe()
    h.update(json.dumps({"family": described["family"], "config": described["config"]}, sort_keys=True,
                        default=str).encode())
    for path, leaf in sorted(jax.tree_util.tree_leaves_with_path(model.params),
                             key=lambda kv: jax.tree_util.keystr(kv[0])):
        a = np.ascontiguousarray(np.asarray(leaf))
        h.update(f"{jax.tree_util.keystr(path)}|{a.dtype.str}|{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def cache_dir() -> pathlib.Path:
    env = os.environ.get(CACHE_ENV)
    if env:
        return pathlib.Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache"
    return pathlib.Path(base) / "jaxsharp"


def _check_student(model) -> None:
    if model.role != "student":
        raise BackendError(f"the onnxruntime backend runs students (exported conv stacks); "
                           f"{model.source or model.family} is a {model.family} {model.role}: use --backend xla")


def float32_graph(model) -> tuple[bytes, str]:
    """(serialized ONNX graph, where it came from: 'cache' or 'export'); see the module docstring."""
    from jaxsharp import atomic, export_graph

    _check_student(model)
    path = cache_dir() / "onnx" / f"{weights_digest(model)}-v{GRAPH_VERSION}.onnx"
    try:
        return path.read_bytes(), "cache"
    except OSError:
        pass
    try:
        blob, _ = export_graph.export_onnx(model)
    except export_graph.ExportError as e:  # jax2onnx missing: the one-line install hint
        raise BackendError(f"the onnxruntime backend exports the model first; {e}") from None
    try:
        atomic.write_file(path, lambda f: f.write(blob))
    except OSError:
        pass  # a read-only home: run from memory, export again next time
    return blob, "export"


@dataclasses.dataclass
class Int8Graph:
    """A model directory's int8 graph and its sidecar (`jaxsharp.quantize`)."""

    path: pathlib.Path
    sidecar: dict
    stale: bool  # the sidecar names other weights than the model's


def find_int8(model) -> Int8Graph | None:
    """The int8 graph saved in the model's directory, or None (no directory, no graph, unreadable sidecar)."""
    directory = pathlib.Path(model.source) if model.source else None
    if directory is None or not directory.is_dir():
        return None
    path, sidecar_path = directory / INT8_FILE, directory / INT8_SIDECAR
    if not path.is_file() or not sidecar_path.is_file():
        return None
    try:
        sidecar = json.loads(sidecar_path.read_text())
    except (OSError, ValueError) as e:
        raise BackendError(f"{sidecar_path}: unreadable ({e})") from None
    return Int8Graph(path, sidecar, stale=sidecar.get("weights_sha256") != weights_digest(model))


def meets_quality_rule(sidecar: dict) -> bool:
    """True when the sidecar's measured PSNR-Y deltas (int8 - float32) are within QUALITY_RULE_DB on every set of
    QUALITY_RULE_SETS; a set not measured fails it. Recomputed from the numbers, not read from a flag."""
    deltas = {q.get("set"): q.get("delta_db") for q in sidecar.get("quality", []) if isinstance(q, dict)}
    return all(isinstance(deltas.get(s), (int, float)) and abs(deltas[s]) <= QUALITY_RULE_DB
               for s in QUALITY_RULE_SETS)


def _quality_line(sidecar: dict) -> str:
    parts = [f"{q['set']} {q['delta_db']:+.3f} dB" for q in sidecar.get("quality", [])
             if isinstance(q.get("delta_db"), (int, float))]
    return ", ".join(parts) or "not measured"


class Runner:
    """One onnxruntime session of a student's graph: [N, H, W, 3] float32 -> raw output (the graph's `output`).

    precision: 'auto', 'float32' or 'int8' (module docstring); `precision` then holds the one chosen, `origin`
    where the graph came from. graph: serialized ONNX to run instead of looking one up (precision must then say
    which it is: float32 or int8), e.g. `jaxsharp.quantize`'s graph before it is written.
    """

    def __init__(self, model, *, precision: str = "auto", graph: bytes | None = None,
                 num_threads: int | None = None):
        if precision not in PRECISIONS:
            raise BackendError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
        if graph is not None and precision == "auto":
            raise BackendError("a given graph needs its precision: float32 or int8")
        ort = import_onnxruntime()
        _check_student(model)
        self.model = model
        start = time.perf_counter()
        if graph is not None:
            self.precision, self.origin = precision, "given"
        else:
            self.precision, graph, self.origin = self._select(model, precision)
        self.graph_s = time.perf_counter() - start  # an export (first in a process: ~10 s), else a file read
        options = ort.SessionOptions()
        options.intra_op_num_threads = num_threads or threads()
        options.inter_op_num_threads = 1  # a conv stack is one chain of ops: nothing to run side by side
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        start = time.perf_counter()
        self.session = ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
        self.build_s = time.perf_counter() - start

    @staticmethod
    def _select(model, precision: str) -> tuple[str, bytes, str]:
        if precision in ("auto", "int8"):
            int8 = find_int8(model)
            name = model.source or model.family
            if precision == "int8":
                if int8 is None:
                    raise BackendError(f"no int8 graph for {name}: make one with `python -m jaxsharp.quantize "
                                       f"--model {name}` (writes {INT8_FILE} and {INT8_SIDECAR} beside it)")
                if int8.stale:
                    raise BackendError(f"{int8.path} was made for other weights than {name}'s: run "
                                       f"`python -m jaxsharp.quantize --model {name}` again")
                if not meets_quality_rule(int8.sidecar):
                    warnings.warn(f"{int8.path}: int8 against float32 PSNR-Y: {_quality_line(int8.sidecar)}; "
                                  f"the default (auto) uses int8 only within {QUALITY_RULE_DB} dB on "
                                  f"{' and '.join(QUALITY_RULE_SETS)}", Int8QualityWarning, stacklevel=4)
                return "int8", int8.path.read_bytes(), str(int8.path)
            if int8 is not None and not int8.stale and meets_quality_rule(int8.sidecar):
                return "int8", int8.path.read_bytes(), str(int8.path)
        blob, origin = float32_graph(model)
        return "float32", blob, origin

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """x [N, H, W, C] float32 (H, W multiples of the block for a sharpen student) -> the raw output."""
        (y,) = self.session.run(["output"], {"image": np.ascontiguousarray(x, np.float32)})
        return y

    def describe(self) -> str:
        return (f"onnxruntime {self.precision}, {self.session.get_providers()[0]}: graph from {self.origin} in "
                f"{self.graph_s:.2f} s, session built in {self.build_s:.2f} s")
