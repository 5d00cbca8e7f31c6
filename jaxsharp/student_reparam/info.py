"""Parameters and FLOPs per frame of the registered reparam sizes, collapsed (what ships), as a markdown table.

    python -m jaxsharp.student_reparam.info                      # every size, x2 sharpen, 1920x1080 frames
    python -m jaxsharp.student_reparam.info --size m5 --scale 2 --mode sr --frame 3840x2160

FLOPs are XLA's count for the compiled forward of the collapsed network (jaxsharp.student.info.compiled_flops; a
multiply-add counts 2), the space-to-depth / bicubic residual included. Training parameters (the expanded blocks)
are printed too. Nothing runs: the model is compiled from shapes only.
"""

from __future__ import annotations

import argparse
import sys

import jax
from flax import nnx

from jaxsharp.degrade import MODES
from jaxsharp.student.info import frame_cost as student_frame_cost, parse_frame_size
from jaxsharp.student_reparam.config import SIZES, ReparamConfig
from jaxsharp.student_reparam.model import abstract, build, num_params


def frame_cost(config: ReparamConfig, hw: tuple[int, int]) -> dict:
    """{"params", "training_params", "flops", "input_hw"} of the collapsed network producing an `hw` frame."""
    training = num_params(nnx.eval_shape(lambda: build(config, rngs=nnx.Rngs(0))))
    return {**student_frame_cost(config, hw, abstract_of=abstract), "training_params": training}


def table(sizes: list[str], *, scale: int, mode: str, hw: tuple[int, int], **overrides) -> str:
    rows = [f"Reparam student sizes (collapsed), x{scale} {mode}, {hw[1]}x{hw[0]} (WxH) output frame, "
            f"backend {jax.default_backend()}",
            "",
            "| size | channels | blocks | params | training params | GFLOPs / frame | input (WxH) |",
            "|---|---:|---:|---:|---:|---:|---|"]
    for size in sizes:
        config = ReparamConfig.from_size(size, scale=scale, mode=mode, **overrides)
        cost = frame_cost(config, hw)
        flops = f"{cost['flops'] / 1e9:.3g}" if cost["flops"] > 0 else "n/a"
        rows.append(f"| {size} | {config.channels} | {config.num_blocks} | {cost['params']:,} | "
                    f"{cost['training_params']:,} | {flops} | {cost['input_hw'][1]}x{cost['input_hw'][0]} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None, *, prog: str = "python -m jaxsharp.student_reparam.info") -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=list(SIZES), help="one size (default: all registered sizes)")
    parser.add_argument("--scale", type=int, default=2)
    parser.add_argument("--mode", choices=MODES, default="sharpen")
    parser.add_argument("--space-to-depth", type=int, default=0, help="sharpen block (0: the scale)")
    parser.add_argument("--frame", type=parse_frame_size, default=(1080, 1920), metavar="WxH",
                        help="output frame size (default 1920x1080)")
    args = parser.parse_args(argv)
    sizes = [args.size] if args.size else list(SIZES)
    try:
        print(table(sizes, scale=args.scale, mode=args.mode, hw=args.frame, space_to_depth=args.space_to_depth))
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
