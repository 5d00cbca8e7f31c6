"""experiments/results/kd_v2.json against the committed seed-0 pairs (experiments/results/kd_v2_models/): their
Set5 figures recomputed here from the weights must be the ones the JSON holds, so the published gains are the
models' own and not edited numbers."""

from __future__ import annotations

import json
import pathlib

import pytest

from jaxsharp import evaluate

REPO = pathlib.Path(__file__).resolve().parents[1]
RESULTS = REPO / "experiments" / "results"


@pytest.mark.parametrize("student", ["tiny", "small"])
def test_committed_dukd_pair_reproduces_its_set5_figures(student, shared_data):
    variants = json.loads((RESULTS / "kd_v2.json").read_text())["variants"]
    (entry,) = [v for v in variants if v["name"] == "dukd" and v["student"] == student]
    (pair,) = [p for p in entry["pairs"] if p["seed"] == 0]
    for arm, folder in (("kd", f"{student}_kd_dukd_s0"), ("nokd", f"{student}_nokd_s0")):
        method = evaluate.make_method("student", scale=2, mode="sharpen",
                                      weights=str(RESULTS / "kd_v2_models" / folder))
        result = evaluate.evaluate_set("Set5", shared_data / "benchmarks" / "Set5" / "HR", method,
                                       method_name="student", scale=2, mode="sharpen", progress=False)
        assert result["psnr_y"] == pytest.approx(pair[arm]["Set5"], abs=1e-3), (student, arm)
