"""The training loop: config in, trained and exported model out (`jaxsharp.train` is its command line).

    config = configs.load_config("experiments/student_small_x2.py", ["--config.steps=10"])  # as the CLI reads it
    train_lib.validate_config(config)                         # a one-line ValueError for a value no run can use
    result = train_lib.train_and_evaluate(config, workdir)   # (jaxsharp.configs; or any get_config() ConfigDict)

What a run leaves in WORKDIR:
  checkpoints/<step>/   train state (params, optimizer state, step) + each process's data-iterator position
  metrics.csv           step,time,split,name,value rows (split: train / eval), appended and flushed as written
  teacher_cache/        teacher outputs for distillation, when the config names no cache of its own
  export/               the final parameters in the model's shipped format (evaluate --weights WORKDIR/export)

Running the same command again resumes from the newest complete checkpoint (a damaged or half-written step is
skipped with a warning and moved aside to checkpoints/<step>.unreadable) and gives the parameters an
uninterrupted run gives, bit for bit: the step's randomness is a function of (seed, step), the data iterator is
restored with the model, and the compiled step is the same program.

The train step is compiled once, ahead of time, for the static batch shapes (`data.batch_shapes`), with the
state replicated and the batch split over the "data" mesh axis; the state buffers are donated. The loop never
waits for the device except every `log_every` steps (metrics to host), at evaluations and at checkpoints.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import os
import pathlib
import signal
import sys
import time
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from flax import nnx
from tqdm import tqdm

from jaxsharp import (atomic, checkpoint, data, degrade, evaluate, losses, mesh as mesh_lib, models, paths, splits,
                      steps)
from jaxsharp.engine import Sharpener

DATA_SOURCES = ("folders", "div2k")
SCHEDULES = ("constant", "cosine", "multistep")
CSV_FIELDS = ("step", "time", "split", "name", "value")


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or inf; the message names the step and the last good checkpoint."""


@dataclasses.dataclass
class TrainResult:
    step: int  # steps completed
    params: dict[str, np.ndarray]  # final parameters, flat ("a/b/kernel") as checkpoint.flat_params
    export_dir: pathlib.Path | None  # None on processes other than 0
    train_step_traces: int  # times the train step was traced in this process (1: static shapes held)
    compile_seconds: float


# ----------------------------------------------------------------------------------------------------------------
# Model


# ----------------------------------------------------------------------------------------------------------------
# Optimizer


def make_schedule(optim: ml_collections.ConfigDict, total_steps: int) -> optax.Schedule:
    """Learning rate per optimizer step: linear warmup from 0, then `optim.schedule`.

    constant: optim.lr. cosine: to optim.lr * optim.final_lr_fraction at the last step. multistep: multiplied by
    optim.gamma at each of optim.milestones (fractions of the run, so a recipe scales with the step budget).
    """
    lr, warmup = optim.lr, optim.warmup_steps
    if optim.schedule == "constant":
        main = optax.constant_schedule(lr)
    elif optim.schedule == "cosine":
        main = optax.cosine_decay_schedule(lr, max(total_steps - warmup, 1), alpha=optim.final_lr_fraction)
    elif optim.schedule == "multistep":
        boundaries = {round(f * total_steps) - warmup: optim.gamma for f in optim.milestones}
        if any(b <= 0 for b in boundaries):
            raise ValueError(f"milestones {tuple(optim.milestones)} fall inside the {warmup}-step warmup")
        main = optax.piecewise_constant_schedule(lr, boundaries)
    else:
        raise ValueError(f"unknown optim.schedule {optim.schedule!r}; choose one of {SCHEDULES}")
    if warmup <= 0:
        return main
    return optax.join_schedules([optax.linear_schedule(0.0, lr, warmup), main], [warmup])


def make_optimizer(optim: ml_collections.ConfigDict, total_steps: int) -> tuple[optax.GradientTransformation,
                                                                                  optax.Schedule]:
    """Adam (AdamW when optim.weight_decay > 0), after clipping the global gradient norm to optim.grad_clip (0: off)."""
    schedule = make_schedule(optim, total_steps)
    if optim.weight_decay > 0:
        adam = optax.adamw(schedule, b1=optim.b1, b2=optim.b2, eps=optim.eps, weight_decay=optim.weight_decay)
    else:
        adam = optax.adam(schedule, b1=optim.b1, b2=optim.b2, eps=optim.eps)
    parts = [optax.clip_by_global_norm(optim.grad_clip)] if optim.grad_clip > 0 else []
    return optax.chain(*parts, adam), schedule


# ----------------------------------------------------------------------------------------------------------------
# Data and loss


# Config paths (jaxsharp/paths.py): weights and outputs relative to the repository, shared data to the data root, so
# a config means the same files from any working directory.


def train_source(config: ml_collections.ConfigDict) -> data.ImageSource:
    """The training images, by config.data.source (default "folders"):

    folders: config.data.train_dirs, one folder, or several read as one set under their common parent (paths
      relative to it, so cache names stay unique).
    div2k: the local DIV2K download in config.data.div2k_dir (default ~/datasets/DIV2K, the official layout, see
      `div2k_tfds`), prepared once into array_record files under config.data.tfds_data_dir (default
      ~/tensorflow_datasets) by process 0, then its train split; tensorflow-datasets is imported only here. No
      teacher cache (its records are not files) and no data.cache_images (800 2K images do not fit in memory).
    """
    kind = config.data.get("source", "folders")
    if kind == "div2k":
        return _div2k_source(config)
    if kind != "folders":
        raise ValueError(f"unknown data.source {kind!r}; choose one of {DATA_SOURCES}")
    dirs = [paths.data_path(d) for d in config.data.train_dirs]
    if not dirs:
        raise ValueError("data.train_dirs is empty")
    if len(dirs) == 1:
        root, include = dirs[0], None
    else:
        root = pathlib.Path(os.path.commonpath(dirs))
        if root in dirs:
            raise ValueError(f"data.train_dirs: {root} contains the other folders; name it alone or only the others")
        include = tuple(d.relative_to(root).as_posix() for d in dirs)
    exclude = ()
    if config.data.get("holdout_validation", False):
        held = splits.validation_files(paths.data_root())
        exclude = tuple(p.relative_to(root).as_posix() for p in held if p.is_relative_to(root))
    return data.ImageFolderSource(root, cache=config.data.cache_images, include=include, exclude=exclude)


def _div2k_source(config: ml_collections.ConfigDict):
    if config.data.get("cache_images", False):
        raise ValueError("data.cache_images is for folder sources; set it False with data.source 'div2k' (decoded, "
                         "DIV2K's 800 training images are ~26 GB per process)")
    from jaxsharp import div2k_tfds  # lazy: the folder path never imports tensorflow-datasets

    data_dir = paths.repo_path(config.data.get("tfds_data_dir", "~/tensorflow_datasets"))
    if jax.process_index() == 0:
        div2k_tfds.prepare_div2k_local(manual_dir=paths.repo_path(config.data.get("div2k_dir", "~/datasets/DIV2K")),
                                       data_dir=data_dir)
    _sync_processes("div2k_prepare")
    return div2k_tfds.div2k_local_source(data_dir=data_dir, split="train")


@dataclasses.dataclass(frozen=True)
class _StudentTeacherConfig:
    upscale: int
    student: dict


class StudentAsTeacher:
    """A trained student in the teacher's seat of `teacher_cache.build_teacher_cache`: bicubic lr -> HR-size output.

    The cache always feeds the teacher the lr image; a sharpen-mode student gets the blurry image made from it
    (MATLAB bicubic, clipped, as `degrade.bicubic_pair` makes the training inputs).
    """

    def __init__(self, loaded):
        from jaxsharp.student.resample import bicubic_upsample

        self.loaded, self.params, self.source, self.pad = loaded, loaded.params, loaded.source, None
        self.config = _StudentTeacherConfig(upscale=loaded.scale, student=dataclasses.asdict(loaded.config))
        self._upsample = bicubic_upsample

    def __call__(self, x, *, tile: int | None = None, overlap: int | None = None) -> jax.Array:
        x = jnp.asarray(x, jnp.float32)
        if self.loaded.mode == "sharpen":
            x = jnp.clip(self._upsample(x, self.loaded.scale), 0.0, 1.0)
        return self.loaded(x, tile=tile, overlap=overlap)


def load_teacher(path: str | os.PathLike):
    """loss.teacher -> the teacher for the cache: any model `models.load` reads; a student is seated as one."""
    model = models.load_path(path)
    return StudentAsTeacher(model) if model.role == "student" else model


def _teacher_cache_dir(config: ml_collections.ConfigDict, workdir: pathlib.Path, source) -> pathlib.Path | None:
    """The folder of cached teacher outputs for distillation; built into WORKDIR/teacher_cache when not given.

    Process 0 builds it (resuming a partial one; a cache made by other weights is rebuilt) while the others wait:
    several hosts need a shared filesystem, or a prebuilt loss.teacher_cache_dir on each.
    """
    loss = config.loss
    if loss.distill_lambda <= 0:
        return None
    if loss.teacher_cache_dir:
        return paths.repo_path(loss.teacher_cache_dir)
    if not loss.teacher:
        raise ValueError("loss.distill_lambda > 0 needs loss.teacher (weights) or loss.teacher_cache_dir")
    cache_dir = workdir / "teacher_cache"
    if jax.process_index() == 0:
        build_teacher_cache(config, cache_dir, source=source)
    _sync_processes("teacher_cache")
    return cache_dir


def build_teacher_cache(config: ml_collections.ConfigDict, cache_dir: str | os.PathLike, *,
                        teacher: str | os.PathLike | None = None, source: data.ImageSource | None = None,
                        **options) -> dict:
    """Caches the teacher's outputs on the config's training images into `cache_dir` (resumable); the manifest.

    teacher: weights (default: loss.teacher), relative to the repository. source: the config's training source if
    already made. options: `teacher_cache.build_teacher_cache`'s (tile, overlap, self_ensemble, progress, ...);
    tile and overlap default to loss.teacher_tile (0: whole images) and loss.teacher_overlap.
    """
    from jaxsharp import teacher_cache

    options.setdefault("tile", int(config.loss.get("teacher_tile", 0)) or None)
    options.setdefault("overlap", int(config.loss.get("teacher_overlap", 16)))
    options.setdefault("degradation", config.data.get("degradation", "bicubic"))
    options.setdefault("upcycle", tuple(upcycle_shares(config)))
    source = source if source is not None else train_source(config)
    if not hasattr(source, "paths"):
        raise ValueError(f"a teacher cache needs image files; data.source {config.data.get('source', 'folders')!r} "
                         "has none (distill from data.source 'folders')")
    model = load_teacher(paths.repo_path(teacher or config.loss.teacher))
    return teacher_cache.build_teacher_cache(model, source.paths, cache_dir, scale=config.data.scale,
                                             mode=config.data.mode, root=source.root, **options)


def upcycle_shares(config: ml_collections.ConfigDict) -> dict[str, float]:
    """data.upcycle's non-zero shares, {kind: share}, checked by data.check_upcycle_shares (ValueError naming the
    field); none in configs written before the field."""
    try:
        return data.check_upcycle_shares(dict(config.data.get("upcycle") or {}))
    except ValueError as e:
        raise ValueError(f"data.upcycle: {e}") from None


def load_feature_teacher(config: ml_collections.ConfigDict):
    """loss.teacher as the frozen network of feature distillation: a student-format model (it has feature maps to
    compare) of the run's scale and mode; ValueError naming the weights otherwise."""
    if not config.loss.teacher:
        raise ValueError("loss.feature_lambda > 0 needs loss.teacher (a student-format model to take features from)")
    path = paths.repo_path(config.loss.teacher)
    model = models.load_path(path)
    module = nnx.merge(model.graphdef, model.params)
    if model.role != "student" or not hasattr(module, "with_features"):
        raise ValueError(f"{path}: feature distillation needs a student-format teacher (with feature maps), got a "
                         f"{model.role} ({type(module).__name__})")
    if (model.scale, model.mode) != (config.data.scale, config.data.mode):
        raise ValueError(f"{path}: the feature teacher is x{model.scale} {model.mode}, the run is "
                         f"x{config.data.scale} {config.data.mode}")
    return model


def make_loss_fn(config: ml_collections.ConfigDict, forward) -> steps.LossFn:
    loss = config.loss

    consistency = float(loss.get("consistency_lambda", 0.0))
    feature = float(loss.get("feature_lambda", 0.0))
    teacher = load_feature_teacher(config) if feature else None

    def loss_fn(model, batch, key):
        del key  # no stochastic layer in today's models
        if feature:
            pred, student_features = model.with_features(batch["input"])
        else:
            pred = forward(model, batch["input"])
        value, aux = losses.student_loss(pred, batch, pixel_kind=loss.pixel_kind, distill_kind=loss.distill_kind,
                                         distill_lambda=loss.distill_lambda)
        if feature:
            # The teacher's parameters are constants of the step: no gradient, no optimizer state, no checkpoint.
            _, teacher_features = nnx.merge(teacher.graphdef, teacher.params).with_features(batch["input"])
            term = losses.feature_affinity_loss(student_features, teacher_features,
                                                pool=int(loss.get("feature_pool", 1)))
            value = value + feature * term
            aux = {**aux, "feature_loss": term, "loss": value}
        if consistency:
            term = losses.inversion_consistency_loss(forward(model, 1.0 - batch["input"]), batch["teacher"],
                                                     loss.distill_kind, weights=batch.get("teacher_weight"))
            value = value + consistency * term
            aux = {**aux, "consistency_loss": term, "loss": value}
        return value, (pred, aux)

    return loss_fn


# ----------------------------------------------------------------------------------------------------------------
# Metrics output


class MetricWriter:
    """Rows of metrics.csv (and TensorBoard scalars when tensorboardX is installed); process 0 writes, others no-op.

    On a resumed run, rows past the restored step (logged after the last checkpoint, before the crash) are dropped
    first, so the file holds one history.
    """

    def __init__(self, workdir: pathlib.Path, *, resume_step: int, active: bool):
        self.active = active
        self.path = workdir / "metrics.csv"
        self._file = None
        self._tb = None
        if not active:
            return
        if self.path.exists():
            with self.path.open(newline="") as f:
                rows = [r for r in csv.DictReader(f) if int(r["step"]) <= resume_step]
            kept = io.StringIO(newline="")
            writer = csv.DictWriter(kept, CSV_FIELDS)
            writer.writeheader()
            writer.writerows(rows)
            atomic.write_text(self.path, kept.getvalue())
            self._file = self.path.open("a", newline="")
            self._csv = csv.DictWriter(self._file, CSV_FIELDS)
        else:
            self._file = self.path.open("w", newline="")
            self._csv = csv.DictWriter(self._file, CSV_FIELDS)
            self._csv.writeheader()
        try:
            from tensorboardX import SummaryWriter  # optional: not a dependency
        except ImportError:
            pass
        else:
            self._tb = SummaryWriter(str(workdir / "tensorboard"))

    def write(self, step: int, split: str, values: dict[str, float]) -> None:
        if not self.active:
            return
        now = time.time()
        self._csv.writerows({"step": step, "time": f"{now:.3f}", "split": split, "name": k, "value": repr(float(v))}
                            for k, v in values.items())
        self._file.flush()
        if self._tb is not None:
            for k, v in values.items():
                self._tb.add_scalar(f"{split}/{k}", float(v), step)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        if self._tb is not None:
            self._tb.close()


def _host(tree):
    """Replicated global arrays -> numpy, from this process's first shard (works with several processes)."""
    return jax.tree.map(lambda a: np.asarray(a.addressable_data(0)), tree)


def _sync_processes(name: str) -> None:
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        multihost_utils.sync_global_devices(name)


def _evaluate(config, spec: models.TrainingSpec, engine: Sharpener, model) -> dict[str, float]:
    """Y-PSNR / SSIM of the current parameters on config.eval.sets (process 0 only; replicated params suffice).

    Through the inference engine, as `evaluate` and `jaxsharp sharpen` run the exported model, so the logged
    figures are the ones `evaluate --weights WORKDIR/export` prints. The engine is built once per run and gets the
    new parameters each time (same tree and shapes: nothing recompiles). model: the family's LoadedModel of them.
    """
    engine.params = jax.device_put(model.params, jax.local_devices()[0])
    method = evaluate.model_method(engine)
    data_root = paths.data_path(config.eval.data_root) if config.eval.data_root else paths.data_root()
    out = {}
    for set_name, folder in evaluate.resolve_sets(list(config.eval.sets), data_root):
        r = evaluate.evaluate_set(set_name, folder, method, method_name=spec.name, scale=config.data.scale,
                                  mode=config.data.mode, progress=False)
        out[f"{set_name}/psnr_y"], out[f"{set_name}/ssim_y"] = r["psnr_y"], r["ssim_y"]
    return out


# ----------------------------------------------------------------------------------------------------------------
# The loop


def validate_config(config: ml_collections.ConfigDict) -> None:
    """Raises ValueError naming the first field of `config` a run cannot use and what it allows.

    Cheap (no data read, nothing built or compiled): the trainer calls it before any expensive work, and
    `train_and_evaluate` first. What needs the files (folders, teacher weights) is checked where they are read.
    """
    for key in ("steps", "log_every", "eval_every", "checkpoint_every", "data.batch_size", "data.crop_size",
                "data.scale"):
        _at_least(config, key, 1)
    _at_least(config, "data.worker_count", 0)
    _at_least(config, "loss.distill_lambda", 0)
    _one_of(config, "model.kind", tuple(models.FAMILIES))
    _one_of(config, "data.mode", degrade.MODES)
    _one_of(config, "data.source", DATA_SOURCES, default="folders")
    _one_of(config, "data.degradation", tuple(sorted(degrade.DEGRADATIONS)), default=degrade.DEFAULT)
    _one_of(config, "optim.schedule", SCHEDULES)
    _one_of(config, "loss.pixel_kind", losses.KINDS)
    _one_of(config, "loss.distill_kind", losses.KINDS)
    try:  # the family's own checks (student size and fields, SwinIR's scale and mode); nothing is built
        models.training_spec(config)
    except TypeError as e:  # a field the family's config does not have
        raise ValueError(f"model.{config.model.kind}: {e}") from None
    make_schedule(config.optim, config.steps)  # multistep milestones inside the warmup
    if config.data.get("source", "folders") == "folders" and not config.data.train_dirs:
        raise ValueError("data.train_dirs is empty; name one or more image folders")
    if not _field(config, "data.target_usm", 0.0) >= 0:
        raise ValueError(f"data.target_usm must be >= 0, got {config.data.target_usm}")
    if _field(config, "data.target_usm", 0.0) > 0 and config.loss.distill_lambda > 0:
        raise ValueError("data.target_usm > 0 (a sharpened target) is not supported with distillation "
                         "(loss.distill_lambda > 0)")
    _at_least(config, "loss.consistency_lambda", 0)
    _at_least(config, "loss.feature_lambda", 0)
    _at_least(config, "loss.feature_pool", 1)
    if (upcycle_shares(config) or _field(config, "loss.consistency_lambda", 0.0) > 0) and \
            not config.loss.distill_lambda > 0:
        raise ValueError("data.upcycle and loss.consistency_lambda need a teacher: set loss.distill_lambda > 0")
    if _field(config, "loss.feature_lambda", 0.0) > 0 and not config.loss.teacher:
        raise ValueError("loss.feature_lambda > 0 needs loss.teacher (a student-format model to take features from)")
    if config.loss.distill_lambda > 0 and not (config.loss.teacher or config.loss.teacher_cache_dir):
        raise ValueError("loss.distill_lambda > 0 needs loss.teacher (weights) or loss.teacher_cache_dir; "
                         "or set loss.distill_lambda = 0")


def _field(config: ml_collections.ConfigDict, key: str, default=None):
    *sections, name = key.split(".")
    for section in sections:
        config = config[section]
    return config.get(name, default)


def _at_least(config: ml_collections.ConfigDict, key: str, low: int) -> None:
    value = _field(config, key)
    if value < low:
        raise ValueError(f"{key} must be >= {low}, got {value}")


def _one_of(config: ml_collections.ConfigDict, key: str, allowed: tuple[str, ...], default=None) -> None:
    value = _field(config, key, default)
    if value not in allowed:
        raise ValueError(f"unknown {key} {value!r}; choose one of {', '.join(allowed)}")


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str | os.PathLike) -> TrainResult:
    """Trains (or resumes) the run described by `config` in `workdir`; see the module docstring."""
    validate_config(config)
    workdir = pathlib.Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    is_main = jax.process_index() == 0
    mesh = mesh_lib.make_data_mesh()
    replicated = mesh_lib.replicated(mesh)
    spec = models.training_spec(config)
    tx, schedule = make_optimizer(config.optim, config.steps)
    init_key, step_key = jax.random.split(jax.random.key(config.seed))

    graphdef, _ = steps.split_model(nnx.eval_shape(lambda: spec.build(nnx.Rngs(0))))

    def init_state():
        _, params = steps.split_model(spec.build(nnx.Rngs(params=init_key)))
        return steps.init_train_state(params, tx)

    # Built by a jitted function straight into its sharding: every process gets the same replicated arrays.
    state = jax.jit(init_state, out_shardings=replicated)()

    source = train_source(config)
    cache_dir = _teacher_cache_dir(config, workdir, source)
    loader = data.make_train_loader(
        source, crop_size=config.data.crop_size, scale=config.data.scale, mode=config.data.mode,
        batch_size=mesh_lib.per_process_batch_size(config.data.batch_size, mesh), seed=config.data.seed,
        worker_count=config.data.worker_count, teacher_cache_dir=cache_dir,
        degradation=config.data.get("degradation", "bicubic"), target_usm=config.data.get("target_usm", 0.0),
        upcycle_shares=upcycle_shares(config) if cache_dir is not None else None)
    data_iter = iter(loader)

    manager = checkpoint.train_checkpoint_manager(workdir / "checkpoints", max_to_keep=config.keep_checkpoints)
    abstract = jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=a.sharding), state)
    start, restored = checkpoint.restore_latest_train_state(
        manager, abstract, data_iter, move_aside=is_main, sync=lambda: _sync_processes("restore"),
        warn=lambda message: tqdm.write(message, file=sys.stderr) if is_main else None)
    if start:
        state = restored
        if is_main:
            tqdm.write(f"resuming from step {start} ({manager.directory / str(start)})")

    traces = 0
    train_step = steps.make_train_step(
        graphdef, tx, loss_fn=make_loss_fn(config, spec.forward), key=step_key,
        psnr_crop_border=config.data.scale,
        debug_nan_at_step=config.debug_nan_at_step if config.debug_nan_at_step >= 0 else None)

    def counted_step(state, batch):
        nonlocal traces
        traces += 1
        return train_step(state, batch)

    shapes = data.batch_shapes(crop_size=config.data.crop_size, scale=config.data.scale, mode=config.data.mode,
                               batch_size=config.data.batch_size, teacher=cache_dir is not None)
    first = mesh_lib.global_batch(next(data_iter), mesh)  # the real first batch fixes every key's shape
    bad = {k: v.shape for k, v in first.items() if v.shape != shapes.get(k)}
    if bad:
        raise ValueError(f"batches {bad} differ from the configured shapes {shapes}")
    t0 = time.perf_counter()
    compiled = jax.jit(counted_step, in_shardings=(replicated, mesh_lib.batch_sharding(mesh)),
                       out_shardings=(replicated, replicated), donate_argnums=0).lower(state, first).compile()
    compile_seconds = time.perf_counter() - t0

    writer = MetricWriter(workdir, resume_step=start, active=is_main)
    eval_engine = None  # built at the first evaluation
    bar = tqdm(total=config.steps, initial=start, disable=not is_main, dynamic_ncols=True, unit="step")
    pending: list[tuple[int, dict]] = []
    window_start, window_steps = time.perf_counter(), 0

    def flush_metrics(step: int) -> None:
        """Fetches the pending step metrics (the only wait for the device between logs) and checks the loss."""
        nonlocal pending, window_start, window_steps
        if not pending:
            return
        host = _host([m for _, m in pending])
        for (s, _), m in zip(pending, host):
            if not np.isfinite(m["loss"]):
                checkpoint.wait_until_finished(manager)
                last = manager.latest_step()
                raise NonFiniteLossError(
                    f"loss is {m['loss']} at step {s}; stopping. Last good checkpoint: "
                    + (f"step {last} in {manager.directory}" if last is not None else "none"))
        now = time.perf_counter()
        means = {k: float(np.mean([m[k] for m in host])) for k in host[0]}
        means["lr"] = float(schedule(step - 1))  # the rate step `step` used (optax counts from 0)
        means["steps_per_sec"] = window_steps / max(now - window_start, 1e-9)
        writer.write(step, "train", means)
        bar.set_postfix(loss=f"{means['loss']:.4g}", psnr=f"{means['psnr_y']:.2f}",
                        steps_per_s=f"{means['steps_per_sec']:.2f}", refresh=False)
        pending, window_start, window_steps = [], now, 0

    batch = first
    try:
        for step in range(start + 1, config.steps + 1):
            if batch is None:
                batch = mesh_lib.global_batch(next(data_iter), mesh)
            state, step_metrics = compiled(state, batch)
            batch = None
            pending.append((step, step_metrics))
            window_steps += 1
            bar.update(1)
            if step == config.debug_sigkill_at_step:
                os.kill(os.getpid(), signal.SIGKILL)  # tests of crash recovery: no cleanup, no flush
            last = step == config.steps
            if step % config.log_every == 0 or last:
                flush_metrics(step)
            if (step % config.eval_every == 0 or last) and config.eval.sets:
                flush_metrics(step)
                if is_main:
                    model = spec.loaded(nnx.merge(graphdef, _host(state["params"])))
                    if eval_engine is None:
                        eval_engine = Sharpener(model, batch=1)
                    writer.write(step, "eval", _evaluate(config, spec, eval_engine, model))
                window_start = time.perf_counter()  # steps/s counts training only
            if step % config.checkpoint_every == 0 or last:
                flush_metrics(step)  # never checkpoint past a non-finite loss
                checkpoint.save_train_state(manager, step, state, data_iter)
                window_start = time.perf_counter()
        flush_metrics(config.steps)
        checkpoint.wait_until_finished(manager)
    finally:
        bar.close()
        writer.close()
        checkpoint.close_manager(manager)

    params = _host(state["params"])
    export_dir = None
    if is_main:
        # Both formats are written under a temporary name and swapped in: the export is never half written.
        export_dir = workdir / "export"
        spec.export(export_dir, nnx.merge(graphdef, jax.tree.map(jnp.asarray, params)))
    _sync_processes("export")
    flat = checkpoint.flat_state(params)
    return TrainResult(step=max(start, config.steps), params=flat, export_dir=export_dir,
                       train_step_traces=traces, compile_seconds=compile_seconds)
