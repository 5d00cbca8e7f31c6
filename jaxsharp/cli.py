"""The `jaxsharp` command: one subcommand per job, each module imported only when its subcommand runs.

    jaxsharp train --config experiments/student_tiny_x2_cpu_nokd.py --accelerator cpu
    jaxsharp evaluate --method student --mode sharpen --sets Set5,Set14
    jaxsharp sharpen photo.jpg
    jaxsharp mos serve --study S --db mos.sqlite
    jaxsharp COMMAND --help

Each has its `python -m` form too (the module in COMMANDS). A subcommand is a module function
`(argv, prog=...) -> int` with its own parser; add it to COMMANDS.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

# name -> (module, its entry function, one-line help), in pipeline order. Importing a module pulls in JAX, so only
# the chosen one is imported.
COMMANDS = {
    "train": ("jaxsharp.train", "run", "train a student or teacher from an experiments/ config (resumes)"),
    "evaluate": ("jaxsharp.evaluate", "main", "PSNR / SSIM of a method on benchmark sets, the literature's way"),
    "evaluate-realistic": ("jaxsharp.evaluate_realistic", "main",
                           "every method per kind of real blur (camera, motion, noise, JPEG, H.264): one table"),
    "sharpen": ("jaxsharp.sharpen_cli", "main", "sharpen (or upscale) images, folders and videos"),
    "stream": ("jaxsharp.stream", "main", "live video through a pipe: raw frames in on stdin, sharpened out on stdout"),
    "bench": ("jaxsharp.bench", "main", "speed of the students, the teacher and the baselines, side by side"),
    "export": ("jaxsharp.export", "main", "a student as StableHLO or ONNX"),
    "quantize": ("jaxsharp.quantize", "main", "a student's ONNX graph in static int8, with its measured PSNR cost"),
    "port": ("jaxsharp.port.swinir_torch", "main", "convert official SwinIR .pth weights (torch-free)"),
    "mos": ("jaxsharp.mos.cli", "main", "mean-opinion-score study: prepare, serve, report"),
    "demo": ("jaxsharp.demo", "main", "sharpen the bundled sample with the bundled student (make demo)"),
    "plot-training": ("jaxsharp.plot_training", "main", "loss / PSNR / learning-rate curves of a run"),
}


def build_parser() -> argparse.ArgumentParser:
    from jaxsharp import __version__

    parser = argparse.ArgumentParser(prog="jaxsharp", description="Real-time image and video sharpening in JAX.")
    parser.add_argument("--version", action="version", version=f"jaxsharp {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (_, _, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in COMMANDS:
        module_name, function, _ = COMMANDS[argv[0]]
        entry = getattr(importlib.import_module(module_name), function)
        return entry(argv[1:], prog=f"jaxsharp {argv[0]}")
    build_parser().parse_args(argv)  # --help / --version / an unknown command: argparse prints and exits
    return 2


if __name__ == "__main__":
    sys.exit(main())
