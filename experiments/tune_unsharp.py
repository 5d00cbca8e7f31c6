"""Tunes the `unsharp` baseline of jaxsharp.evaluate once: a grid search on T91 at x2, mean Y-PSNR.

    .venv/bin/python experiments/tune_unsharp.py            # ~4 min on 2 busy CPU cores

Each T91 image is degraded as in evaluation (`bicubic_pair(hr, 2, "sharpen", quantize=True)`: MATLAB bicubic
down and up on uint8), sharpened with `baselines.unsharp_mask(blurry, sigma, amount, threshold)` and measured with
`metrics.psnr_y(..., crop_border=2)`. The x2 "sr" bicubic image is the same image, so one tuning serves both modes.
`--degradation NAME` tunes for another registered degradation (`degrade.pair`, seeded per image by its file stem as
evaluate does); the table below is bicubic's.
T91 is training data only: no benchmark image is looked at.

Result (T91, 91 images, x2; PSNR-Y of the blurry input itself: 32.237 dB):
Mean PSNR-Y (dB), best threshold (t, grey levels) per cell; grid sigma x amount x threshold {0, 1, 2, 4}/255:

| sigma | amount 0.25 | amount 0.5 | amount 0.75 | amount 1.0 | amount 1.5 | amount 2.0 | amount 3.0 | amount 4.0 |  (best threshold per cell)
| 0.5 | 32.321 (t=0/255) | 32.431 (t=0/255) | 32.523 (t=0/255) | 32.603 (t=0/255) | 32.723 (t=0/255) | 32.791 (t=0/255) | 32.774 (t=0/255) | 32.624 (t=1/255) |
| 0.75 | 32.471 (t=0/255) | 32.661 (t=1/255) | 32.780 (t=0/255) | 32.827 (t=1/255) | 32.722 (t=2/255) | 32.460 (t=4/255) | 31.714 (t=4/255) | 30.746 (t=4/255) |
| 1.0 | 32.587 (t=0/255) | 32.795 (t=1/255) | 32.833 (t=1/255) | 32.711 (t=2/255) | 32.189 (t=4/255) | 31.393 (t=4/255) | 29.563 (t=4/255) | 27.873 (t=4/255) |
| 1.5 | 32.709 (t=0/255) | 32.708 (t=2/255) | 32.301 (t=4/255) | 31.619 (t=4/255) | 29.946 (t=4/255) | 28.313 (t=4/255) | 25.667 (t=4/255) | 23.743 (t=4/255) |
| 2.0 | 32.665 (t=0/255) | 32.245 (t=4/255) | 31.273 (t=4/255) | 30.105 (t=4/255) | 27.860 (t=4/255) | 26.004 (t=4/255) | 23.307 (t=4/255) | 21.469 (t=4/255) |

Chosen defaults (jaxsharp/baselines.py UNSHARP_*): sigma = 1.0, amount = 0.75, threshold = 1/255 -> 32.833 dB
(+0.597 dB over the blurry input). The optimum is inside the grid on every axis (sigma 0.5 peaks at amount 2.0 with
32.791; larger amounts at larger sigma fall off fast).
"""

from __future__ import annotations

import argparse
import itertools
import pathlib
import sys

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from jaxsharp import degrade, metrics, paths  # noqa: E402
from jaxsharp.baselines import unsharp_mask  # noqa: E402
from jaxsharp.evaluate import list_images  # noqa: E402
from jaxsharp.image_io import read_image_rgb  # noqa: E402

SIGMAS = (0.5, 0.75, 1.0, 1.5, 2.0)
AMOUNTS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0)
THRESHOLDS = (0.0, 1 / 255, 2 / 255, 4 / 255)
SCALE = 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train-dir", default=str(paths.data_root() / "train" / "T91"))
    parser.add_argument("--degradation", default=degrade.DEFAULT, choices=sorted(degrade.DEGRADATIONS))
    args = parser.parse_args(argv)

    pairs = [degrade.pair(args.degradation, read_image_rgb(p), SCALE, "sharpen", quantize=True,
                          seed=degrade.image_seed(p.stem))
             for p in list_images(pathlib.Path(args.train_dir))]
    baseline = np.mean([metrics.psnr_y(blurry, hr, crop_border=SCALE) for blurry, hr in pairs])
    print(f"{len(pairs)} images; blurry input PSNR-Y {baseline:.3f} dB")
    scores = {}
    for sigma, amount, threshold in itertools.product(SIGMAS, AMOUNTS, THRESHOLDS):
        scores[(sigma, amount, threshold)] = float(np.mean([
            metrics.psnr_y(unsharp_mask(blurry, sigma, amount, threshold), hr, crop_border=SCALE)
            for blurry, hr in pairs]))
    print("| sigma | " + " | ".join(f"amount {a}" for a in AMOUNTS) + " |  (best threshold per cell)")
    for sigma in SIGMAS:
        cells = []
        for amount in AMOUNTS:
            best_t = max(THRESHOLDS, key=lambda t: scores[(sigma, amount, t)])
            cells.append(f"{scores[(sigma, amount, best_t)]:.3f} (t={best_t * 255:.0f}/255)")
        print(f"| {sigma} | " + " | ".join(cells) + " |")
    best = max(scores, key=scores.get)
    print(f"best: sigma={best[0]} amount={best[1]} threshold={best[2] * 255:.0f}/255 -> {scores[best]:.3f} dB "
          f"(+{scores[best] - baseline:.3f} dB over the blurry input)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
