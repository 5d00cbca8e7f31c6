"""Parameters and FLOPs per frame of the registered student sizes, as a markdown table.

    python -m jaxsharp.student.info                      # every size, x2 sharpen, 1080x1920 frames
    python -m jaxsharp.student.info --size small --scale 3 --mode sr --frame 3840x2160

FLOPs are XLA's count for the compiled forward on this machine's backend (a multiply-add counts 2), including
the space-to-depth / bicubic residual. --frame is the output frame: in sr mode the input is frame / scale. Nothing runs:
the model is compiled from shapes only.
"""

from __future__ import annotations

import argparse
import math
import sys

import jax
import jax.numpy as jnp
from flax import nnx

from jaxsharp.degrade import MODES
from jaxsharp.student.config import SIZES, StudentConfig
from jaxsharp.student.model import abstract


def compiled_flops(fn, *args) -> float:
    """XLA's FLOP count of `jax.jit(fn)(*args)`; args may be ShapeDtypeStructs."""
    return cost_flops(jax.jit(fn).lower(*args).compile())


def cost_flops(compiled) -> float:
    """XLA's FLOP count of an already compiled (`jit(...).lower(...).compile()`) function; 0 if not reported."""
    analysis = compiled.cost_analysis()
    if isinstance(analysis, (list, tuple)):  # older jax: one dict per device program
        analysis = analysis[0] if analysis else {}
    return float((analysis or {}).get("flops", 0.0))


def frame_cost(config: StudentConfig, hw: tuple[int, int], *, abstract_of=abstract) -> dict:
    """{"params", "flops", "input_hw"} of one forward pass producing an output frame of size `hw`; `abstract_of`
    builds the shapes-only module of another conv-student family's config."""
    h, w = hw
    if h % config.out_block or w % config.out_block:
        raise ValueError(f"frame {h}x{w} is not a multiple of {config.out_block} (the student's block / scale)")
    input_hw = (h, w) if config.mode == "sharpen" else (h // config.scale, w // config.scale)
    graphdef, params = nnx.split(abstract_of(config), nnx.Param)
    x = jax.ShapeDtypeStruct((1, *input_hw, 3), jnp.float32)
    flops = compiled_flops(lambda p, xx: nnx.merge(graphdef, p)(xx), params, x)
    return {"params": sum(math.prod(v.shape) for v in jax.tree.leaves(params)), "flops": flops, "input_hw": input_hw}


def table(sizes: list[str], *, scale: int, mode: str, hw: tuple[int, int]) -> str:
    rows = [f"Student sizes, x{scale} {mode}, {hw[1]}x{hw[0]} (WxH) output frame, backend {jax.default_backend()}",
            "",
            "| size | channels | convs | params | GFLOPs / frame | input (WxH) |",
            "|---|---:|---:|---:|---:|---|"]
    for size in sizes:
        config = StudentConfig.from_size(size, scale=scale, mode=mode)
        cost = frame_cost(config, hw)
        # A backend whose cost analysis does not count its fused kernels reports 0: say so rather than print 0.
        flops = f"{cost['flops'] / 1e9:.3g}" if cost["flops"] > 0 else "n/a"
        rows.append(f"| {size} | {config.channels} | {config.num_convs} | {cost['params']:,} | {flops} | "
                    f"{cost['input_hw'][1]}x{cost['input_hw'][0]} |")
    return "\n".join(rows)


def parse_frame_size(text: str) -> tuple[int, int]:
    """'WxH' (the video convention: 1920x1080) -> (H, W); for argparse `type=`."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WxH such as 1920x1080, got {text!r}") from None
    if w < 1 or h < 1:
        raise argparse.ArgumentTypeError(f"frame size must be positive, got {text!r}")
    return h, w


def main(argv: list[str] | None = None, *, prog: str = "python -m jaxsharp.student.info") -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=list(SIZES), help="one size (default: all registered sizes)")
    parser.add_argument("--scale", type=int, default=2)
    parser.add_argument("--mode", choices=MODES, default="sharpen")
    parser.add_argument("--frame", type=parse_frame_size, default=(1080, 1920), metavar="WxH",
                        help="output frame size (default 1920x1080)")
    args = parser.parse_args(argv)
    sizes = [args.size] if args.size else list(SIZES)
    try:
        print(table(sizes, scale=args.scale, mode=args.mode, hw=args.frame))
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
