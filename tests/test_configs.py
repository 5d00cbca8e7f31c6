"""Configs and the data root: every published and test config is common's fields (plus its model's), loaded the way
the trainer loads it; data_root() is $JAXSHARP_DATA, else ../shared/data beside the repository; config data paths
follow jaxsharp/paths.py's rule; `evaluate --data-root` and the variable both reach the evaluation."""

from __future__ import annotations

import json
import pathlib

import ml_collections
import numpy as np
import pytest

from jaxsharp import configs, evaluate, models, paths, train_lib
from jaxsharp.configs import common
from jaxsharp.image_io import write_image

REPO = pathlib.Path(__file__).resolve().parents[1]
PUBLISHED = sorted(p for p in (REPO / "experiments").glob("*.py") if "def get_config" in p.read_text())
TEST_CONFIGS = sorted((REPO / "tests" / "configs").glob("*.py"))


def _keys(config: ml_collections.ConfigDict) -> set[str]:
    def walk(d, prefix):
        for k, v in d.items():
            yield from walk(v, f"{prefix}{k}.") if isinstance(v, dict) else [f"{prefix}{k}"]
    return set(walk(config.to_dict(), ""))


def test_the_published_configs_are_found():
    assert {p.stem for p in PUBLISHED} >= {"student_small_x2", "student_small_x2_nokd", "student_tiny_x2_cpu_nokd",
                                            "teacher_swinir_s_x2"}


@pytest.mark.parametrize("path", PUBLISHED + TEST_CONFIGS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_config_is_common_plus_overrides_and_names_a_model(path):
    assert "runpy" not in path.read_text()  # flat: no config runs another
    config = configs.load_config(path)
    assert isinstance(config, ml_collections.ConfigDict)
    keys, base = _keys(config), _keys(common.get_config())
    assert base <= keys
    # Beyond common's keys, only fields of a student family's config (StudentConfig, ReparamConfig)
    family_sections = ("model.student.", f"model.{config.model.kind}.")
    assert {k for k in keys - base if not k.startswith(family_sections)} == set()
    spec = models.training_spec(config)  # the model section is one the trainer builds (nothing is built here)
    assert spec.name == models.FAMILIES[config.model.kind].role
    train_lib.validate_config(config)  # and every value one the trainer accepts


def test_load_config_parses_overrides_as_the_trainer_does():
    config = configs.load_config(REPO / "tests" / "configs" / "student_tiny.py",
                                 ["--config.steps=9", "--config.data.train_dirs=('a', '/b')", "--config.optim.lr=0.5",
                                  "--config.eval.sets=()"])
    assert (config.steps, config.data.train_dirs, config.optim.lr, config.eval.sets) == (9, ("a", "/b"), 0.5, ())
    with pytest.raises(configs.ConfigError, match=r"^--config.optim.shedule: no such key; did you mean optim.schedule"):
        configs.load_config(REPO / "tests" / "configs" / "student_tiny.py", ["--config.optim.shedule=cosine"])
    with pytest.raises(ValueError, match="not --config"):
        configs.load_config(REPO / "tests" / "configs" / "student_tiny.py", ["--steps=1"])


def test_data_root_is_the_variable_else_shared_data_beside_the_repository(monkeypatch, tmp_path):
    monkeypatch.delenv(paths.DATA_ENV, raising=False)
    assert paths.data_root() == REPO.parent / "shared" / "data"
    monkeypatch.setenv(paths.DATA_ENV, str(tmp_path))
    assert paths.data_root() == tmp_path.resolve()


def test_config_paths_follow_the_rule(monkeypatch, tmp_path):
    monkeypatch.setenv(paths.DATA_ENV, str(tmp_path))
    assert paths.data_path("train/T91") == tmp_path.resolve() / "train" / "T91"  # shared data: under the root
    assert paths.data_path("../shared/data/train/T91") == (REPO / "../shared/data/train/T91").resolve()  # as before
    assert paths.data_path("./runs/fake") == REPO / "runs" / "fake"
    assert paths.data_path("/abs/train") == pathlib.Path("/abs/train")
    assert paths.repo_path("runs/x/export") == REPO / "runs" / "x" / "export"  # weights and outputs: the repository
    assert paths.repo_path("/abs/w.npz") == pathlib.Path("/abs/w.npz")


@pytest.fixture
def tiny_root(tmp_path) -> pathlib.Path:
    rng = np.random.default_rng(0)
    for i in range(2):
        write_image(tmp_path / "root" / "benchmarks" / "Tiny" / "HR" / f"im{i}.png",
                    rng.uniform(0, 1, (24, 20, 3)).astype(np.float32))
    return tmp_path / "root"


def test_evaluate_data_root_flag_and_variable_reach_the_sets(monkeypatch, tmp_path, tiny_root):
    monkeypatch.setenv(paths.DATA_ENV, str(tmp_path / "elsewhere"))  # the flag wins over the variable
    out = tmp_path / "flag.json"
    assert evaluate.main(["--method", "bicubic", "--sets", "Tiny", "--data-root", str(tiny_root), "--json", str(out),
                          "--no-progress"]) == 0
    by_flag = json.loads(out.read_text())["results"]
    assert [r["set"] for r in by_flag] == ["Tiny"]

    monkeypatch.setenv(paths.DATA_ENV, str(tiny_root))  # no flag: the variable
    out = tmp_path / "env.json"
    assert evaluate.main(["--method", "bicubic", "--sets", "Tiny", "--json", str(out), "--no-progress"]) == 0
    assert json.loads(out.read_text())["results"] == by_flag

    monkeypatch.setenv(paths.DATA_ENV, str(tmp_path / "elsewhere"))
    with pytest.raises(SystemExit):
        evaluate.main(["--method", "bicubic", "--sets", "Tiny", "--no-progress"])
