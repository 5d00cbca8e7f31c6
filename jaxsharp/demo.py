"""`make demo`: the bundled student sharpens the bundled sample image, next to the classic alternatives.

    python -m jaxsharp.demo [--image PATH] [--model student_real_x2] [--degradation gaussian_1.5] [--out outputs/demo]

The sample (a sharp photo) is blurred as a soft lens or a missed focus blurs it (`gaussian_1.5`: a Gaussian of
sigma 1.5 px, a blur the default model, `student_real_x2`, was trained around; the README's realistic table has
every other kind, motion blur included, where the gain is smaller); `--degradation NAME` picks another registered
`jaxsharp.degrade` degradation (`bicubic`: the literature's x2 down and back up, the bicubic students' blur).
The student, the classic unsharp mask and the blurry input itself are then scored against the sharp original
(PSNR / SSIM on Y, the super-resolution literature's way), and a side-by-side crop is written as a PNG.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

ASSETS = pathlib.Path(__file__).resolve().parent / "assets"
SAMPLE = ASSETS / "sample_chelsea.png"
DEFAULT_MODEL = "student_real_x2"  # the model `jaxsharp sharpen` uses by default (models.DEFAULT_STUDENT)
DEFAULT_DEGRADATION = "gaussian_1.5"


def main(argv: list[str] | None = None, *, prog: str = "python -m jaxsharp.demo") -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    parser.add_argument("--image", default=str(SAMPLE), help="a sharp image to blur and restore (default: the sample)")
    parser.add_argument("--model", default=DEFAULT_MODEL,
                        help="a sharpen-mode model: a name or path as `jaxsharp sharpen --model` takes")
    parser.add_argument("--out", default="outputs/demo", help="output folder")
    parser.add_argument("--degradation", default=DEFAULT_DEGRADATION, metavar="NAME",
                        help="how the sharp image is degraded, a jaxsharp.degrade registered name "
                             "(default %(default)s)")
    args = parser.parse_args(argv)

    from jaxsharp import degrade, image_io, metrics, models
    from jaxsharp.baselines import unsharp_mask
    from jaxsharp.engine import Sharpener
    from jaxsharp.figures import detail_crop_box, save_side_by_side

    try:
        degrade.get(args.degradation)
        model = models.load(args.model)
        sharp = image_io.read_image_rgb(args.image)
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if model.mode != "sharpen":
        print(f"error: {args.model} is an {model.mode} model; the demo needs a sharpen-mode model", file=sys.stderr)
        return 2
    scale = model.scale
    hr = degrade.mod_crop(sharp, scale)
    blurry, _ = degrade.pair(args.degradation, hr, scale, "sharpen",
                             seed=degrade.image_seed(pathlib.Path(args.image).name))

    start = time.perf_counter()
    restored = Sharpener(model, batch=1)([blurry])[0]  # as `jaxsharp sharpen` runs it
    seconds = time.perf_counter() - start  # includes compilation on first use
    unsharp = unsharp_mask(blurry)

    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, image in [("blurry input", blurry), ("unsharp mask", unsharp), (f"{args.model}", restored)]:
        rows.append((name, metrics.psnr_y(image, hr, crop_border=scale),
                     metrics.ssim_y(image, hr, crop_border=scale)))
    for file_name, image in [("blurry.png", blurry), ("unsharp.png", unsharp), ("sharpened.png", restored),
                             ("original.png", hr)]:
        image_io.write_image(out / file_name, image)
    box = detail_crop_box(hr, min(96, *hr.shape[:2]))
    save_side_by_side(out / "comparison.png", [("blurry input", blurry), ("unsharp mask", unsharp),
                                           ("jaxsharp student", restored), ("original", hr)], box)

    print(f"{pathlib.Path(args.image).name} {hr.shape[1]}x{hr.shape[0]}, blurred by {args.degradation} (x{scale}); "
          f"student ran in {seconds:.2f} s (first call, compilation included)")
    print("\n| method | PSNR-Y (dB) | SSIM-Y |\n|---|---|---|")
    for name, psnr, ssim in rows:
        print(f"| {name} | {psnr:.2f} | {ssim:.4f} |")
    print(f"\nwrote {out}/: blurry.png, unsharp.png, sharpened.png, original.png, comparison.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
