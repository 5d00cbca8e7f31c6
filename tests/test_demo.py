"""`make demo`: the bundled student restores the bundled sample better than the blurry input and the unsharp mask."""

from __future__ import annotations

import re

from jaxsharp import demo, models


def test_bundled_student_and_sample_exist():
    assert demo.SAMPLE.is_file()
    assert demo.DEFAULT_MODEL in models.shipped()
    # The demo shows the model `jaxsharp sharpen` uses by default.
    assert models.resolve(models.DEFAULT_STUDENT) == models.resolve(demo.DEFAULT_MODEL)


def test_demo_runs_and_the_student_wins(tmp_path, capsys):
    assert demo.main(["--out", str(tmp_path)]) == 0
    table = capsys.readouterr().out
    psnr = {m.group(1).strip(): float(m.group(2)) for m in re.finditer(r"^\| ([^|]+) \| ([\d.]+) \|", table, re.M)}
    assert psnr[demo.DEFAULT_MODEL] > psnr["blurry input"] + 0.3
    assert psnr[demo.DEFAULT_MODEL] > psnr["unsharp mask"]
    for name in ("blurry.png", "unsharp.png", "sharpened.png", "original.png", "comparison.png"):
        assert (tmp_path / name).stat().st_size > 0


def test_demo_bad_image_is_a_one_line_error(tmp_path, capsys):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    assert demo.main(["--image", str(bad), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "broken.png" in err[0]


def test_demo_unknown_degradation_is_a_one_line_error(tmp_path, capsys):
    assert demo.main(["--degradation", "nosuch", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown degradation 'nosuch'" in err[0] and "bicubic" in err[0]
    assert not (tmp_path / "out").exists()
