"""Side-by-side crops of the hard families (motion blur, a low-bitrate stream): what the numbers of
experiments/results/realistic_suite.json look like (issue 18).

    python experiments/realistic_crops.py     # -> docs/realistic_crops_motion.png, docs/realistic_crops_stream.png

Three category pictures per family (text, a face, a game), inputs made as the suite makes them (degrade.pair with
the per-image seed); each row: the degraded input, the tuned unsharp mask, OpenCV's unsharp mask, the bicubic
student, the real-world student, the clean picture, all cropped to the 96-px square with the most detail. Titles
carry each method's PSNR-Y on the whole picture.
"""

import pathlib

import numpy as np

from jaxsharp import degrade, evaluate, evaluate_realistic, figures, image_io, paths

IMAGES = ("categories/text/rich_syntax.png", "categories/people/kodak_kodim04.png",
          "categories/games/wesnoth_1.12_start-2.png")
FAMILIES = {"motion": "motion_5_9", "stream": "h264_crf33"}
MODELS = ("student_small_x2", "student_real_x2")
CROP = 96
DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs"


def main() -> None:
    methods = evaluate_realistic.make_methods(list(MODELS), opencv=True)
    methods.pop(evaluate_realistic.NOTHING)
    for tag, family in FAMILIES.items():
        rows = []
        for rel in IMAGES:
            path = paths.data_root() / rel
            hr = image_io.read_image_rgb(path)
            inp, target = degrade.pair(family, hr, 2, "sharpen", quantize=True, seed=degrade.image_seed(path.stem))
            top, left, size = figures.detail_crop_box(target, CROP)
            box = (slice(top, top + size), slice(left, left + size))
            psnr = evaluate.score(inp, target, 2)["psnr_y"]
            panels = [(f"{path.stem[:18]}: {family} {psnr:.2f} dB", inp[box])]
            for name, method in methods.items():
                out = np.clip(method(path.stem, inp), 0.0, 1.0)
                panels.append((f"{name} {evaluate.score(out, target, 2)['psnr_y']:.2f} dB", out[box]))
            panels.append(("clean", target[box]))
            rows.append(panels)
        out_path = DOCS / f"realistic_crops_{tag}.png"
        figures.save_panel_rows(out_path, f"x2 sharpen, {family}: input, unsharp masks, students, clean "
                                          "(PSNR-Y of the whole picture)", rows)
        print(f"wrote {out_path}")


if __name__ == "__main__":
    main()
