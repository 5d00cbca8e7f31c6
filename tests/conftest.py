"""Shared test setup: grain's absl flags, the `slow` marker, the shared data root (jaxsharp.paths.data_root),
shipped-model stand-ins."""

from __future__ import annotations

import dataclasses
import pathlib

import pytest
from absl import flags

from jaxsharp import paths

# grain's worker processes read absl flags; unparsed flags make them fail.
flags.FLAGS.mark_as_parsed()

REPO = pathlib.Path(__file__).resolve().parents[1]
SHARED_DATA = paths.data_root()  # $JAXSHARP_DATA, else ../shared/data beside the repository


def pytest_sessionstart(session):
    # Without the data root most tests would each fail on it (over a hundred errors): one line says why instead.
    if not SHARED_DATA.is_dir():
        pytest.exit(f"{SHARED_DATA} not found: the tests need the project's shared data, ../shared/data beside the "
                    "repository (or set $JAXSHARP_DATA); see the README's Quick start", returncode=4)


def pytest_collection_modifyitems(config, items):
    # `slow` tests run only when asked for by marker expression (e.g. -m slow).
    if "slow" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="slow: run with -m slow (or `make test-all`)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def shared_data() -> pathlib.Path:
    # The reference data is what the tests check against: missing data is a failure, not a skip.
    if not SHARED_DATA.is_dir():
        pytest.fail(f"{SHARED_DATA} not found: the tests need ../shared/data beside the repository "
                    "(or $JAXSHARP_DATA)")
    return SHARED_DATA


@pytest.fixture
def ship_from(monkeypatch):
    """ship_from(role, directory): as an install whose shipped models of `role` ("student" or "teacher") are those
    in `directory`. Every family of the role moves: the student families share one assets folder, so relocating
    the plain one alone would leave the re-parameterised students shipped."""

    def patch(role: str, directory: pathlib.Path) -> None:
        from jaxsharp import models

        names = [n for n, f in models.FAMILIES.items() if f.role == role]
        assert names, f"no registered family has role {role!r}"
        for name in names:
            monkeypatch.setitem(models.FAMILIES, name,
                                dataclasses.replace(models.FAMILIES[name], shipped_dir=pathlib.Path(directory)))

    return patch


@pytest.fixture
def toy_degradation(monkeypatch) -> str:
    """Registers "toy_noise" for one test, as jaxsharp.degrade's docstring says a new degradation is added: the
    bicubic lr plus Gaussian noise (sigma 0.02) drawn from the pair's rng. Returns its name."""
    import numpy as np

    from jaxsharp import degrade

    def toy_noise(hr, scale, mode, *, quantize, rng):
        lr, hr = degrade.bicubic_pair(hr, scale, "sr", quantize=quantize)
        lr = np.clip(lr + rng.normal(0.0, 0.02, lr.shape), 0.0, 1.0).astype(np.float32)
        return (lr if mode == "sr" else degrade.sharpen_input(lr, scale, quantize=quantize)), hr

    monkeypatch.setitem(degrade.DEGRADATIONS, "toy_noise", toy_noise)
    return "toy_noise"


@pytest.fixture(scope="module")
def tiny_student(tmp_path_factory) -> pathlib.Path:
    """A saved 8-channel, 3-conv x2 sharpen student with small random weights (the video tests' model)."""
    import numpy as np

    from jaxsharp import student
    from jaxsharp.checkpoint import flat_param_vars
    from jaxsharp.student.model import abstract

    # Weights drawn with NumPy: jax.random would compile a program per layer, seconds on a busy CPU.
    config = student.StudentConfig(scale=2, mode="sharpen", channels=8, num_convs=3)
    rng = np.random.default_rng(0)
    flat = {name: (0.05 * rng.standard_normal(var.shape)).astype(np.float32)
            for name, var in flat_param_vars(abstract(config)).items()}
    return student.save(tmp_path_factory.mktemp("students") / "tiny", flat, config)


@pytest.fixture(scope="session", autouse=True)
def _graph_cache(tmp_path_factory):
    """The onnxruntime backend's graph cache ($JAXSHARP_CACHE_DIR) in a temporary folder: no test writes to the
    user's ~/.cache, and a run starts without cached graphs."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JAXSHARP_CACHE_DIR", str(tmp_path_factory.mktemp("jaxsharp_cache")))
        yield
