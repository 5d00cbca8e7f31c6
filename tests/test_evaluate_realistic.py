"""The realistic suite: each cell equals `evaluate --degradation` of the same method (an independent path that
degrades per method), the gain column is the difference to doing nothing, and bad options exit 2 in one line."""

import json

import numpy as np
import pytest
from PIL import Image

from jaxsharp import evaluate, evaluate_realistic


@pytest.fixture(scope="module")
def small_set(shared_data, tmp_path_factory):
    # Two 64x48 crops of Set5 images (small: the suite runs every family on them).
    folder = tmp_path_factory.mktemp("small_set")
    for name in ("baby", "butterfly"):
        image = Image.open(shared_data / "benchmarks" / "Set5" / "HR" / f"{name}.png").convert("RGB")
        image.crop((40, 40, 104, 88)).save(folder / f"{name}.png")
    return folder


def test_cells_equal_evaluate_per_degradation(small_set, tiny_student):
    families = ("bicubic", "motion_5_9", "h264_crf33")
    methods = evaluate_realistic.make_methods([str(tiny_student)], opencv=False)
    results = evaluate_realistic.run_suite([("small", small_set)], methods, families=families, progress=False)
    assert len(results) == len(families) * 3
    for family in families:
        for method, (name, weights) in {evaluate_realistic.NOTHING: ("bicubic", None),
                                        evaluate_realistic.UNSHARP: ("unsharp", None),
                                        str(tiny_student): ("student", str(tiny_student))}.items():
            fn = evaluate.make_method(name, scale=2, mode="sharpen", weights=weights)
            want = evaluate.evaluate_set("small", small_set, fn, method_name=name, scale=2, mode="sharpen",
                                         progress=False, degradation=family)
            got = next(r for r in results if r["degradation"] == family and r["method"] == method)
            assert got["n_images"] == want["n_images"] == 2
            for key in evaluate_realistic.KEYS:
                assert got[key] == pytest.approx(want[key], abs=1e-9), (family, method, key)


def test_summary_weights_images_and_subtracts_doing_nothing():
    def row(s, m, p, n):
        return {"set": s, "method": m, "degradation": "f", "n_images": n, "psnr_y": p, "ssim_y": p / 100,
                "psnr_rgb": p, "ssim_rgb": p / 100}

    results = [row("a", "do nothing", 30.0, 1), row("b", "do nothing", 33.0, 2),
               row("a", "x", 31.0, 1), row("b", "x", 36.0, 2)]
    rows = {r["method"]: r for r in evaluate_realistic.summary(results)}
    assert rows["do nothing"]["psnr_y"] == pytest.approx(32.0)  # (30 + 2 * 33) / 3
    assert rows["x"]["psnr_y"] == pytest.approx(34.0 + 1 / 3)
    assert rows["x"]["gain_psnr_y"] == pytest.approx(34.0 + 1 / 3 - 32.0)
    assert rows["do nothing"]["gain_psnr_y"] == 0.0
    table = evaluate_realistic.markdown_table(list(rows.values()))
    assert table.splitlines()[0] == "| degradation | do nothing | x |"


def test_cli_writes_json_and_plot(small_set, tiny_student, tmp_path, capsys):
    root = tmp_path / "root"
    (root / "categories").mkdir(parents=True)
    (root / "categories" / "small").symlink_to(small_set)
    out, plot = tmp_path / "suite.json", tmp_path / "suite.png"
    assert evaluate_realistic.main(["--sets", "categories/small", "--data-root", str(root), "--families",
                                    "gaussian_1.5,defocus_r2", "--models", str(tiny_student), "--images-per-set",
                                    "1", "--no-opencv", "--json", str(out), "--plot", str(plot),
                                    "--no-progress"]) == 0
    table = capsys.readouterr().out
    assert "| gaussian_1.5 |" in table and "| defocus_r2 |" in table
    data = json.loads(out.read_text())
    assert data["families"] == ["gaussian_1.5", "defocus_r2"] and data["images_per_set"] == 1
    assert {r["n_images"] for r in data["results"]} == {1}
    assert {r["method"] for r in data["summary"]} == {"do nothing", "unsharp", str(tiny_student)}
    assert np.asarray(Image.open(plot)).ndim == 3


@pytest.mark.parametrize("argv, words", [
    (["--families", "bicubic,no_such_blur"], "no_such_blur"),
    (["--models", "no_such_model"], "no_such_model"),
    (["--images-per-set", "0"], "--images-per-set"),
    (["--sets", "NoSuchSet"], "NoSuchSet"),
])
def test_bad_options_exit_2_with_one_line(shared_data, argv, words, capsys):
    with pytest.raises(SystemExit) as e:
        evaluate_realistic.main(argv + ["--no-progress", "--no-opencv"])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and words in err
