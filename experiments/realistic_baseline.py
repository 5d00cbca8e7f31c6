"""Where the bicubic-trained students stand on the blur people have (issue 18's starting point): per degradation
family, PSNR-Y / SSIM-Y of doing nothing, the tuned unsharp mask and the shipped students, on Set14 and the
content categories (x2 sharpen, same size, inputs from jaxsharp.degrade_realistic, seeded per image).

    python experiments/realistic_baseline.py     # -> experiments/results/realistic_baseline.json, table on stdout

Nothing here is trained; no design is chosen from it (issue 18 chooses on the validation split). 19 min on the
2-core CPU (H.264 is most of it). Result (2026-12-06, Set14 + 30 category images, image-weighted means, PSNR-Y /
SSIM-Y):
| degradation | do nothing | unsharp | student_small_x2 | student_tiny_x2 | student_small_x2_plain |
|---|---:|---:|---:|---:|---:|
| bicubic | 31.27 / 0.8921 | 31.91 / 0.9088 | 33.89 / 0.9280 | 33.67 / 0.9261 | 34.03 / 0.9289 |
| gaussian_1.0 | 30.70 / 0.8849 | 32.57 / 0.9180 | 32.85 / 0.9208 | 32.82 / 0.9216 | 32.77 / 0.9192 |
| gaussian_1.5 | 28.04 / 0.8036 | 28.76 / 0.8257 | 28.61 / 0.8247 | 28.61 / 0.8242 | 28.56 / 0.8237 |
| defocus_r2 | 29.52 / 0.8478 | 30.49 / 0.8694 | 30.76 / 0.8776 | 30.70 / 0.8756 | 30.68 / 0.8764 |
| motion_5_9 | 27.70 / 0.8015 | 27.85 / 0.8116 | 27.41 / 0.7992 | 27.36 / 0.7975 | 27.41 / 0.7991 |
| gaussian_1.0_noise_5 | 29.82 / 0.8308 | 29.98 / 0.7927 | 30.75 / 0.8297 | 30.44 / 0.8146 | 30.94 / 0.8403 |
| jpeg_q40 | 30.44 / 0.8654 | 30.49 / 0.8673 | 31.42 / 0.8770 | 31.19 / 0.8729 | 31.52 / 0.8787 |
| h264_crf33 | 26.86 / 0.7395 | 27.07 / 0.7463 | 27.08 / 0.7454 | 27.09 / 0.7455 | 27.08 / 0.7455 |
As issue 18 found with its own set: on motion blur every student scores below doing nothing (-0.29 dB for the
default), on Gaussian sigma 1.5 below the unsharp mask, and on the stream case (H.264) about +0.2 dB.
"""

import json
import pathlib

from jaxsharp import evaluate, paths

FAMILIES = ("bicubic", "gaussian_1.0", "gaussian_1.5", "defocus_r2", "motion_5_9", "gaussian_1.0_noise_5",
            "jpeg_q40", "h264_crf33")
# (row name, evaluate method, weights): "bicubic" in sharpen mode returns the input unchanged (doing nothing)
METHODS = (("do nothing", "bicubic", None), ("unsharp", "unsharp", None),
           ("student_small_x2", "student", "student_small_x2"), ("student_tiny_x2", "student", "student_tiny_x2"),
           ("student_small_x2_plain", "student", "student_small_x2_plain"))
SETS = ["Set14", "categories"]
OUT = pathlib.Path(__file__).resolve().parent / "results" / "realistic_baseline.json"


def main() -> None:
    sets = evaluate.resolve_sets(SETS, paths.data_root())
    methods = {name: evaluate.make_method(m, scale=2, mode="sharpen", weights=w) for name, m, w in METHODS}
    rows = []
    for family in FAMILIES:
        for name, fn in methods.items():
            for set_name, folder in sets:
                r = evaluate.evaluate_set(set_name, folder, fn, method_name=name, scale=2, mode="sharpen",
                                          progress=False, degradation=family)
                rows.append({k: r[k] for k in ("set", "method", "degradation", "n_images", "psnr_y", "ssim_y")})
    OUT.write_text(json.dumps({"note": __doc__.split("\n\n")[0], "results": rows}, indent=1) + "\n")
    # One line per family and method: the image-weighted mean over the sets
    print("| degradation | " + " | ".join(n for n, _, _ in METHODS) + " |")
    print("|---|" + "---:|" * len(METHODS))
    for family in FAMILIES:
        cells = []
        for name, _, _ in METHODS:
            mine = [r for r in rows if r["degradation"] == family and r["method"] == name]
            n = sum(r["n_images"] for r in mine)
            psnr = sum(r["psnr_y"] * r["n_images"] for r in mine) / n
            ssim = sum(r["ssim_y"] * r["n_images"] for r in mine) / n
            cells.append(f"{psnr:.2f} / {ssim:.4f}")
        print(f"| {family} | " + " | ".join(cells) + " |")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
