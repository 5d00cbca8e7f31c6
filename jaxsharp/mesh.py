"""Devices, the data mesh, shardings and multi-process start-up.

    backend = mesh.setup("gpu")                  # pins the platform, joins the other processes, checks devices
    m = mesh.make_data_mesh()                    # 1-D mesh of every device of every process, axis "data"
    batch = mesh.global_batch(host_batch, m)     # per-process numpy batches -> one global jax.Array per key

Data parallelism only: batches are split over "data" (each process feeds its own rows), parameters and optimizer
state are replicated. `setup` must run before anything touches a JAX backend: `jax.distributed.initialize` and
the `jax_platforms` pin both refuse to act once a backend exists.
"""

from __future__ import annotations

import os

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

ACCELERATORS = ("cpu", "gpu", "tpu")
DATA_AXIS = "data"


class AcceleratorUnavailableError(RuntimeError):
    """The requested accelerator has no devices; the message is one line meant for the user."""


# JAX platform names per accelerator, tried in order. jax_platforms="gpu" would demand every GPU plugin at once
# (CUDA and ROCm) and fail on a machine with one of them.
_PLATFORMS = {"cpu": ("cpu",), "gpu": ("cuda", "rocm"), "tpu": ("tpu",)}


# What each accelerator needs beyond the jaxlib every install has (pyproject.toml's extras).
NEEDS = {"gpu": "an NVIDIA GPU and `pip install 'jaxsharp[gpu]'` (CUDA 12)",
         "tpu": "a TPU VM and `pip install 'jaxsharp[tpu]'`"}


def installed_platforms() -> tuple[str, ...]:
    """The accelerators whose JAX support is installed here: cpu always, gpu with a CUDA or ROCm PJRT plugin, tpu with
    libtpu. Read from the installed packages (no plugin imported, no backend started), so cheap enough for --help;
    whether the hardware is there shows only when a backend starts (`setup`, or `jax.devices()`)."""
    import importlib.util
    import pkgutil
    from importlib import metadata

    plugins = {entry.value.split(":")[0] for entry in metadata.entry_points(group="jax_plugins")}
    namespace = importlib.util.find_spec("jax_plugins")  # older plugins: modules of the jax_plugins package
    if namespace is not None and namespace.submodule_search_locations:
        plugins |= {m.name for m in pkgutil.iter_modules(namespace.submodule_search_locations)}
    found = ["cpu"]
    if any("cuda" in name or "rocm" in name for name in plugins):
        found.append("gpu")
    if importlib.util.find_spec("libtpu") is not None or any("tpu" in name for name in plugins):
        found.append("tpu")
    return tuple(found)


def _start_backend(platform: str) -> list | None:
    """Devices of `platform` with JAX pinned to it, or None (pin undone) when it cannot start."""
    from jax.extend import backend

    jax.config.update("jax_platforms", platform)
    try:
        return jax.devices()
    except (RuntimeError, AssertionError):  # AssertionError: the CUDA plugin is there but no GPU is visible
        jax.config.update("jax_platforms", "")
        backend.clear_backends()
        return None


def _visible_platforms() -> list[str]:
    """Platforms JAX can start unpinned (asked only after the requested one failed, to say what there is)."""
    try:
        return sorted({d.platform for d in jax.devices()})
    except RuntimeError:
        return []


def setup(accelerator: str | None = None, *, coordinator_address: str | None = None,
          num_processes: int | None = None, process_id: int | None = None) -> str:
    """Selects the backend and, for several processes, joins them; returns the backend's platform name.

    accelerator: "cpu", "gpu", "tpu" or None (JAX's default choice). A platform without devices raises
      AcceleratorUnavailableError("no gpu devices: jax sees only cpu").
    coordinator_address / num_processes / process_id: for `jax.distributed.initialize`; each falls back to the
      environment (JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES, JAX_PROCESS_ID). One process (the default) skips it.
    """
    if accelerator is not None and accelerator not in ACCELERATORS:
        raise ValueError(f"unknown accelerator {accelerator!r}; choose one of {ACCELERATORS}")
    coordinator_address = coordinator_address or os.environ.get("JAX_COORDINATOR_ADDRESS")
    if num_processes is None and os.environ.get("JAX_NUM_PROCESSES"):
        num_processes = int(os.environ["JAX_NUM_PROCESSES"])
    if process_id is None and os.environ.get("JAX_PROCESS_ID"):
        process_id = int(os.environ["JAX_PROCESS_ID"])
    if num_processes is not None and num_processes > 1:
        if not coordinator_address or process_id is None:
            raise ValueError(f"{num_processes} processes need a coordinator address and a process id "
                             "(flags or JAX_COORDINATOR_ADDRESS / JAX_PROCESS_ID)")
        jax.distributed.initialize(coordinator_address=coordinator_address, num_processes=num_processes,
                                   process_id=process_id)
    if accelerator is None:
        return jax.devices()[0].platform
    # Pinned before the first backend starts, so that "cpu" on a GPU host never takes GPU memory.
    for platform in _PLATFORMS[accelerator]:
        devices = _start_backend(platform)
        if devices:
            return devices[0].platform
    seen = _visible_platforms()
    raise AcceleratorUnavailableError(
        f"no {accelerator} devices: jax sees only {', '.join(seen) if seen else 'no devices'}")


def make_data_mesh(devices=None) -> Mesh:
    """A 1-D mesh over `devices` (default: every device of every process), axis "data"."""
    devices = jax.devices() if devices is None else devices
    return jax.make_mesh((len(devices),), (DATA_AXIS,), axis_types=(jax.sharding.AxisType.Auto,),
                         devices=devices)


def batch_sharding(mesh: Mesh) -> NamedSharding:
    """Leading (batch) axis split over "data"; other axes whole."""
    return NamedSharding(mesh, P(DATA_AXIS))


def replicated(mesh: Mesh) -> NamedSharding:
    """A full copy on every device: parameters, optimizer state, step, metrics."""
    return NamedSharding(mesh, P())


def per_process_batch_size(global_batch_size: int, mesh: Mesh) -> int:
    """Rows each process loads; the global batch must split evenly over processes and devices."""
    n_dev, n_proc = mesh.devices.size, jax.process_count()
    if global_batch_size % n_dev:
        raise ValueError(f"batch_size {global_batch_size} must be a multiple of the {n_dev} devices of the mesh")
    return global_batch_size // n_proc


def _deal_rows(x: np.ndarray, n_local: int) -> np.ndarray:
    """Reorders rows so local device l gets rows l, l + L, l + 2L, ... of the process batch (L local devices).

    The loader gives process p of P the stream positions p, p + P, p + 2P, ...; dealing them out the same way
    inside a process gives device d of D positions d, d + D, ... whenever P = 1 or L = 1, so one process with
    two devices computes on each device exactly what two processes with one device each compute.
    """
    if n_local == 1:
        return x
    b = x.shape[0]
    return x.reshape(b // n_local, n_local, *x.shape[1:]).swapaxes(0, 1).reshape(x.shape)


def global_batch(host_batch: dict[str, np.ndarray], mesh: Mesh) -> dict[str, jax.Array]:
    """Per-process batches {key: [b, ...]} -> global arrays [b * process_count, ...] sharded over "data"."""
    sharding = batch_sharding(mesh)
    n_local = len(sharding.addressable_devices)
    return {key: jax.make_array_from_process_local_data(sharding, _deal_rows(np.asarray(value), n_local))
            for key, value in host_batch.items()}
