"""Single-image and mixed-size latency of `jaxsharp sharpen` and `jaxsharp.sharpen`, for a before/after of batch sizing.

    python experiments/batch_latency.py                      # this checkout
    python experiments/batch_latency.py --repo ../old-clone  # another checkout, same measurements (PYTHONPATH)

Measures, after a warm-up call (compiles excluded): the Python API on one 450x300 image at batch 8 and batch 1, and on
four mixed-size images at batch 8 (median of 5 calls each); the command `jaxsharp sharpen photo.jpg -v` (default
--batch 4) and with --batch 1, whose -v report gives the ms per compiled call (median of 3 runs); and
`jaxsharp sharpen FOLDER -v` on five images of four sizes, its "s in all" (compiles included; median of 3 runs).

Result (2026-12-06, 2-core CPU, student_small_x2, 450x300 sample; before = commit 18398d7 via --repo; two runs of
each, the second shown, the first in parentheses):
| call | before | now |
|---|---:|---:|
| jaxsharp.sharpen([img], batch=8) | 734 ms (629) | 73 ms (71) |
| jaxsharp.sharpen([img], batch=1) | 122 ms (63) | 68 ms (67) |
| jaxsharp.sharpen(4 mixed sizes, batch=8) | 2,036 ms (1,746) | 218 ms (201) |
| jaxsharp sharpen photo.jpg (default --batch 4), ms per compiled call | 389 ms (355) | 122 ms (98) |
| jaxsharp sharpen photo.jpg --batch 1, ms per compiled call | 109 ms (100) | 114 ms (107) |
| jaxsharp sharpen FOLDER of 5 images, 4 sizes (compiles included) | 1.64 s | 1.06 s |
A short call now runs at the next power of two (engine.Sharpener.compiled_batch), so one image costs one image.
"""

import argparse
import json
import os
import pathlib
import re
import statistics
import subprocess
import sys
import tempfile

REPO = pathlib.Path(__file__).resolve().parents[1]


def measure_api(repo: pathlib.Path) -> dict:
    code = r'''
import json, statistics, time, numpy as np, jaxsharp
from jaxsharp.image_io import read_image_rgb
img = read_image_rgb(REPO + "/jaxsharp/assets/sample_chelsea.png")
mixed = [img, img[:200, :333], img[:123, :400], img[:300, :250]]
def median_call(images, batch):
    jaxsharp.sharpen(images, model="student-small", batch=batch)  # compiles
    times = []
    for _ in range(5):
        t = time.perf_counter(); jaxsharp.sharpen(images, model="student-small", batch=batch)
        times.append(time.perf_counter() - t)
    return statistics.median(times)
print(json.dumps({"one_image_batch8_s": median_call([img], 8), "one_image_batch1_s": median_call([img], 1),
                  "four_mixed_batch8_s": median_call(mixed, 8)}))
'''.replace("REPO", repr(str(repo)))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(repo)}, cwd=repo)
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure_cli(repo: pathlib.Path, batch: int | None) -> float:
    from PIL import Image

    per_call = []
    with tempfile.TemporaryDirectory() as tmp:
        photo = pathlib.Path(tmp) / "photo.jpg"
        Image.open(REPO / "jaxsharp" / "assets" / "sample_chelsea.png").convert("RGB").save(photo, quality=95)
        for i in range(3):
            extra = ["--batch", str(batch)] if batch else []
            out = subprocess.run([sys.executable, "-m", "jaxsharp.infer", str(photo), "-o", f"{tmp}/o{i}.png", "-v",
                                  *extra], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(repo)},
                                 cwd=repo, check=True)
            per_call.append(float(re.search(r"([\d.]+) ms per call", out.stderr).group(1)))
    return statistics.median(per_call)


def measure_folder(repo: pathlib.Path) -> float:
    """`jaxsharp sharpen FOLDER -v` on 5 crops of mixed sizes (default --batch 4): the run's own "s in all"."""
    from PIL import Image

    sample = Image.open(REPO / "jaxsharp" / "assets" / "sample_chelsea.png").convert("RGB")
    seconds = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = pathlib.Path(tmp) / "photos"
        folder.mkdir()
        for i, (w, h) in enumerate([(450, 300), (333, 200), (400, 123), (250, 300), (450, 300)]):
            sample.crop((0, 0, w, h)).save(folder / f"p{i}.png")
        for i in range(3):
            out = subprocess.run([sys.executable, "-m", "jaxsharp.infer", str(folder), "-o", f"{tmp}/out{i}", "-v"],
                                 capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(repo)},
                                 cwd=repo, check=True)
            seconds.append(float(re.search(r"([\d.]+) s in all", out.stderr).group(1)))
    return statistics.median(seconds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", default=str(REPO), help="checkout to measure (default: this one)")
    args = parser.parse_args()
    repo = pathlib.Path(args.repo).resolve()
    result = {"repo": str(repo), **measure_api(repo), "cli_default_batch_ms": measure_cli(repo, None),
              "cli_batch1_ms": measure_cli(repo, 1), "cli_folder_of_5_mixed_s": measure_folder(repo)}
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
