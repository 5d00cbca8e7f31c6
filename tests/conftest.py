"""Shared test setup: grain's absl flags, the `slow` marker, the shared data root (jaxsharp.paths.data_root)."""

from __future__ import annotations

import pathlib

import pytest
from absl import flags

from jaxsharp import paths

# grain's worker processes read absl flags; unparsed flags make them fail.
flags.FLAGS.mark_as_parsed()

REPO = pathlib.Path(__file__).resolve().parents[1]
SHARED_DATA = paths.data_root()  # $JAXSHARP_DATA, else ../shared/data beside the repository


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
