"""`jaxsharp COMMAND`: one console command fronts every entry point, each with --help; `python -m` forms kept."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

from jaxsharp import cli, mesh

ARGPARSE_COMMANDS = [name for name in cli.COMMANDS if name != "train"]


@pytest.mark.parametrize("command", ARGPARSE_COMMANDS)
def test_every_command_has_help_under_its_jaxsharp_name(command, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main([command, "--help"])
    assert info.value.code == 0
    assert f"usage: jaxsharp {command}" in capsys.readouterr().out


def test_train_help_and_the_python_m_forms():
    # absl parses train's flags (ml_collections' --config.key=value among them): its --help lists --config, and
    # --accelerator's help the platforms installed here (found without starting a backend) and the fallback.
    out = subprocess.run([sys.executable, "-m", "jaxsharp", "train", "--help"], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and "--config" in out.stdout + out.stderr
    help_text = " ".join(out.stdout.split())
    assert f"Detected here (JAX support installed): {', '.join(mesh.installed_platforms())}" in help_text
    assert "without --accelerator JAX picks the best available" in help_text
    for module in ("jaxsharp.evaluate", "jaxsharp.infer", "jaxsharp.port"):
        out = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0 and "usage:" in out.stdout, (module, out.stderr[-500:])


def test_unknown_command_lists_the_commands(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["unsharpen"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert all(name in err for name in cli.COMMANDS)


def test_the_suite_without_its_data_stops_with_one_line(tmp_path):
    env = {**os.environ, "JAXSHARP_DATA": str(tmp_path / "nowhere")}
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_cli.py"],
                         capture_output=True, text=True, timeout=120, env=env,
                         cwd=pathlib.Path(__file__).resolve().parents[1])
    assert out.returncode == 4
    assert f"{tmp_path / 'nowhere'} not found: the tests need the project's shared data" in out.stdout + out.stderr
    assert "error" not in (out.stdout + out.stderr).lower().replace("errors", "")  # no per-test errors
