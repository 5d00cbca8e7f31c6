"""The `jaxsharp` command: one subcommand per job, each module imported only when its subcommand runs.

    jaxsharp sharpen photo.jpg         # jaxsharp.infer
    jaxsharp mos serve --study S --db mos.sqlite   # jaxsharp.mos.cli
    jaxsharp --help

A subcommand is a module with `main(argv, prog=...) -> int` (its own argparse parser); add it to COMMANDS.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

# name -> (module, one-line help). Importing a module pulls in JAX, so only the chosen one is imported.
COMMANDS = {
    "sharpen": ("jaxsharp.infer", "sharpen (or upscale) images, folders and videos"),
    "mos": ("jaxsharp.mos.cli", "mean-opinion-score study: prepare, serve, report"),
}


def build_parser() -> argparse.ArgumentParser:
    from jaxsharp import __version__

    parser = argparse.ArgumentParser(prog="jaxsharp", description="Real-time image and video sharpening in JAX.")
    parser.add_argument("--version", action="version", version=f"jaxsharp {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in COMMANDS:
        module = importlib.import_module(COMMANDS[argv[0]][0])
        return module.main(argv[1:], prog=f"jaxsharp {argv[0]}")
    build_parser().parse_args(argv)  # --help / --version / an unknown command: argparse prints and exits
    return 2


if __name__ == "__main__":
    sys.exit(main())
