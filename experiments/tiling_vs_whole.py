"""How close tiled teacher inference is to whole-image inference (README, "Tiling").

    .venv/bin/python experiments/tiling_vs_whole.py

SwinIR with the seeded reference weights (../shared/data/reference/swinir), on a 120x136 crop of the Set5 `baby`
x2 LR image, 64-px tiles. Result (CPU, 2026-11-26):

| weights | overlap | max abs diff | mean abs diff | PSNR tiled vs whole (dB) |
|---|---|---|---|---|
| tiny_classical_x2 | 8 | 0.0216 | 3.9e-4 | 57.6 |
| tiny_classical_x2 | 16 | 0.0023 | 7.0e-5 | 75.7 |
| tiny_classical_x2 | 32 | 0.00021 | 7.3e-6 | 96.1 |
| swinirS_lightweight_x2 | 8 | 0.201 | 4.4e-3 | 40.5 |
| swinirS_lightweight_x2 | 16 | 0.077 | 2.3e-3 | 46.4 |
| swinirS_lightweight_x2 | 32 | 0.0081 | 4.2e-4 | 62.7 |
"""


import numpy as np

from jaxsharp import paths
from jaxsharp.image_io import read_image_rgb
from jaxsharp.port.swinir_torch import load_teacher

DATA = paths.data_root()


def main():
    ref = DATA / "reference" / "swinir"
    x = read_image_rgb(DATA / "benchmarks/Set5/LR_bicubic/X2/babyx2.png")[None, :120, :136]
    print("| weights | overlap | max abs diff | mean abs diff | PSNR tiled vs whole (dB) |\n|---|---|---|---|---|")
    for name in ("tiny_classical_x2", "swinirS_lightweight_x2"):
        model = load_teacher(ref / f"{name}_weights.npz")
        whole = np.asarray(model(x))
        for overlap in (8, 16, 32):
            tiled = np.asarray(model(x, tile=64, overlap=overlap))
            diff = np.abs(tiled - whole)
            mse = np.mean((np.clip(tiled, 0, 1) - np.clip(whole, 0, 1)) ** 2)
            print(f"| {name} | {overlap} | {diff.max():.3g} | {diff.mean():.2g} | {10 * np.log10(1 / mse):.1f} |")


if __name__ == "__main__":
    main()
