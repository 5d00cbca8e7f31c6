"""Peak memory of sharpening one 8000x6000 photo with the shipped default student, through the real command.

    .venv/bin/python experiments/memory_8000x6000.py [--keep DIR] [-- extra `jaxsharp sharpen` arguments]

Writes a synthetic 8000x6000 RGB PNG (smooth gradients, edges and noise), then runs
`python -m jaxsharp.infer IMAGE -o OUT.png` (what `jaxsharp sharpen` runs; default model student-small, x2 sharpen,
float32, automatic tiles) in a child process and reports that process's peak resident set size
(`resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`: the child is the only process this script waits for) and the
wall time. The input image is made in this process, so its memory is not counted.

Result (2026-11-26, the shared 2-core CPU; jax 0.10.2, CPU backend): peak RSS 2.82 GiB, under the 4 GiB limit,
88 s wall for the whole command (automatic 1024-px tiles, overlap 72, in batches of 4: 16 calls, one compile).
Before commit "image_io.to_uint8/16: round in float64 chunk by chunk" it was 3.50 GiB (3,753,517,056 bytes; 135-214 s
depending on load): an RSS sampler thread in the command put the peak in `image_io.to_uint8` while writing the
output, which rounded the whole image in float64 (two 1.15 GB temporaries) beside the decoded input and the float32
output (576 MB each). Tiling keeps the model's own working set to one batch of four 1024x1024 tiles.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]
WIDTH, HEIGHT = 8000, 6000
LIMIT_BYTES = 4 * 1024**3


def synthetic_photo(width: int = WIDTH, height: int = HEIGHT, seed: int = 0) -> np.ndarray:
    """uint8 [height, width, 3]: gradients, hard-edged rectangles and mild noise, so every tile has structure."""
    rng = np.random.default_rng(seed)
    yy = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    xx = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    image = np.empty((height, width, 3), np.uint8)
    for c, (fy, fx) in enumerate(((3.0, 5.0), (7.0, 2.0), (11.0, 13.0))):
        channel = 0.5 + 0.25 * np.sin(2 * np.pi * fy * yy) * np.cos(2 * np.pi * fx * xx)
        image[..., c] = np.clip(channel * 255, 0, 255).astype(np.uint8)
    for _ in range(200):
        y0, x0 = rng.integers(0, height - 200), rng.integers(0, width - 200)
        image[y0:y0 + rng.integers(20, 200), x0:x0 + rng.integers(20, 200)] = rng.integers(0, 256, 3, np.uint8)
    image += rng.integers(0, 8, image.shape, np.uint8)  # wraps at 255 rarely; content does not change memory use
    return image


def measure(workdir: pathlib.Path, extra_args: list[str] = ()) -> dict:
    """Writes the input into `workdir`, runs the sharpen command on it; returns peak RSS, wall time and the output."""
    from PIL import Image

    src, dst = workdir / f"photo_{WIDTH}x{HEIGHT}.png", workdir / "photo_sharp.png"
    if not src.exists():
        Image.fromarray(synthetic_photo()).save(src, compress_level=1)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    cmd = [sys.executable, "-m", "jaxsharp.infer", str(src), "-o", str(dst), "--overwrite", "-v", *extra_args]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=env)
    wall = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # Linux: KiB, max over waited-for children
    if proc.returncode != 0:
        raise RuntimeError(f"sharpen failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    with Image.open(dst) as out:
        size = out.size
    return {"command": " ".join(cmd[1:]), "peak_rss_bytes": peak_kib * 1024, "peak_rss_gib": peak_kib / 1024**2,
            "wall_s": wall, "output_size": size, "log": proc.stderr.strip()}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--keep", type=pathlib.Path, help="work in this folder (the input is reused if present)")
    p.add_argument("extra", nargs="*", help="extra `jaxsharp sharpen` arguments (after --)")
    args = p.parse_args(argv)
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        result = measure(args.keep, args.extra)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            result = measure(pathlib.Path(tmp), args.extra)
    print(result.pop("log"), file=sys.stderr)
    print(json.dumps(result, indent=2))
    verdict = "under" if result["peak_rss_bytes"] < LIMIT_BYTES else "OVER"
    print(f"peak RSS {result['peak_rss_gib']:.2f} GiB ({verdict} the 4 GiB limit), {result['wall_s']:.0f} s wall")
    return 0 if result["peak_rss_bytes"] < LIMIT_BYTES else 1


if __name__ == "__main__":
    sys.exit(main())
