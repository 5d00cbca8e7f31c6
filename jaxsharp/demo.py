"""`make demo`: the bundled student sharpens the bundled sample image, next to the classic alternatives.

    python -m jaxsharp.demo [--image PATH] [--model student-small-x2] [--out outputs/demo]

The sample (a sharp photo) is blurred the way the model was trained for: MATLAB bicubic x2 down and back up
(`--degradation NAME` picks another registered `jaxsharp.degrade` degradation).
The student, the classic unsharp mask and the blurry input itself are then scored against the sharp original
(PSNR / SSIM on Y, the super-resolution literature's way), and a side-by-side crop is written as a PNG.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

import numpy as np

from jaxsharp import atomic

ASSETS = pathlib.Path(__file__).resolve().parent / "assets"
SAMPLE = ASSETS / "sample_chelsea.png"
DEFAULT_MODEL = "student-small-x2"


def _side_by_side(path: pathlib.Path, panels: list[tuple[str, np.ndarray]], box: tuple[int, int, int]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    y, x, size = box
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.6))
    for ax, (title, image) in zip(axes, panels):
        ax.imshow(np.clip(image[y:y + size, x:x + size], 0, 1), interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    atomic.write_file(path, lambda f: fig.savefig(f, format="png", dpi=120))
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jaxsharp.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--image", default=str(SAMPLE), help="a sharp image to blur and restore (default: the sample)")
    parser.add_argument("--model", default=DEFAULT_MODEL, help="a shipped student name or a student directory")
    parser.add_argument("--out", default="outputs/demo", help="output folder")
    parser.add_argument("--degradation", default="bicubic", metavar="NAME",
                        help="how the sharp image is degraded, a jaxsharp.degrade registered name "
                             "(default %(default)s)")
    args = parser.parse_args(argv)

    from jaxsharp import degrade, image_io, metrics, student
    from jaxsharp.evaluate import detail_crop_box, unsharp_mask

    try:
        degrade.get(args.degradation)
        model = student.load(args.model)
        sharp = image_io.read_image_rgb(args.image)
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    cfg = model.config
    if cfg.mode != "sharpen":
        print(f"error: {args.model} is an {cfg.mode} model; the demo needs a sharpen-mode student", file=sys.stderr)
        return 2
    hr = degrade.mod_crop(sharp, cfg.scale)
    blurry, _ = degrade.pair(args.degradation, hr, cfg.scale, "sharpen",
                             seed=degrade.image_seed(pathlib.Path(args.image).name))

    start = time.perf_counter()
    restored = np.clip(np.asarray(model(blurry[None]))[0], 0, 1)
    seconds = time.perf_counter() - start  # includes compilation on first use
    unsharp = unsharp_mask(blurry)

    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, image in [("blurry input", blurry), ("unsharp mask", unsharp), (f"{args.model}", restored)]:
        rows.append((name, metrics.psnr_y(image, hr, crop_border=cfg.scale),
                     metrics.ssim_y(image, hr, crop_border=cfg.scale)))
    for file_name, image in [("blurry.png", blurry), ("unsharp.png", unsharp), ("sharpened.png", restored),
                             ("original.png", hr)]:
        image_io.write_image(out / file_name, image)
    box = detail_crop_box(hr, min(96, *hr.shape[:2]))
    _side_by_side(out / "comparison.png", [("blurry input", blurry), ("unsharp mask", unsharp),
                                           ("jaxsharp student", restored), ("original", hr)], box)

    print(f"{pathlib.Path(args.image).name} {hr.shape[1]}x{hr.shape[0]}, blurred by {args.degradation} "
          f"x{cfg.scale} down/up; "
          f"student ran in {seconds:.2f} s (first call, compilation included)")
    print("\n| method | PSNR-Y (dB) | SSIM-Y |\n|---|---|---|")
    for name, psnr, ssim in rows:
        print(f"| {name} | {psnr:.2f} | {ssim:.4f} |")
    print(f"\nwrote {out}/: blurry.png, unsharp.png, sharpened.png, original.png, comparison.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
