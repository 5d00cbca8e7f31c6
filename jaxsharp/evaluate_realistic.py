"""The realistic suite: every method on the blur people have, one row per kind of blur (x2 sharpen, same size).

    python -m jaxsharp.evaluate_realistic --sets B100,categories --images-per-set 30 \
        --json experiments/results/realistic_suite.json --plot docs/realistic_families.png
    jaxsharp evaluate-realistic --sets val --models student_small_x2,student_real_x2

For each family (a registered degradation, default FAMILIES) and image, the model input is made once
(`degrade.pair(family, hr, 2, "sharpen", quantize=True, seed=degrade.image_seed(stem))`, exactly as
`jaxsharp evaluate --degradation FAMILY --mode sharpen` makes it) and handed to every method: doing nothing (the
input itself), the project's tuned unsharp mask, OpenCV's usual unsharp mask (when OpenCV is installed) and each
model (default: every shipped x2 sharpen student; `teacher` and paths work too). Scores are evaluate's
(`evaluate.score`: PSNR-Y / SSIM-Y with the scale as border, outputs on 8-bit levels). The table has one row per
family and a column per method (image-weighted mean over the sets), the JSON every set's means and per-image
values, the plot each method's gain over doing nothing per family.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import warnings

import numpy as np

from jaxsharp import atomic, baselines, degrade, evaluate, image_io, paths

# The families a real frame brings (jaxsharp/degrade_realistic/pipelines.py defines each), the training blur
# (bicubic) first as the control.
FAMILIES = ("bicubic", "gaussian_1.0", "gaussian_1.5", "defocus_r2", "motion_5_9", "gaussian_1.0_noise_5",
            "jpeg_q40", "h264_crf28", "h264_crf33", "hevc_crf33")
NOTHING, UNSHARP, OPENCV = "do nothing", "unsharp", "opencv unsharp"
SCALE = 2
MODE = "sharpen"
KEYS = ("psnr_y", "ssim_y", "psnr_rgb", "ssim_rgb")


def _opencv_unsharp(image: np.ndarray) -> np.ndarray:
    return baselines.unsharp_mask_opencv(image_io.to_uint8(image)).astype(np.float32) / 255.0


def opencv_available() -> bool:
    try:
        import cv2  # noqa: F401
    except ImportError:
        return False
    return True


def shipped_students() -> list[str]:
    """Every shipped student for x2 sharpening, by canonical name."""
    from jaxsharp import models

    names = []
    for name, (family, directory) in models.shipped().items():
        if family.role == "student":
            model = models.load_path(directory)
            if model.scale == SCALE and model.mode == MODE:
                names.append(name)
    return names


def make_methods(model_names: list[str], *, opencv: bool | None = None) -> dict[str, evaluate.Method]:
    """Column name -> Method: doing nothing, the unsharp masks, then each model (a name or path, models.load)."""
    from jaxsharp import models

    methods: dict[str, evaluate.Method] = {
        NOTHING: lambda name, inp: inp,
        UNSHARP: lambda name, inp: baselines.unsharp_mask(inp),
    }
    if opencv_available() if opencv is None else opencv:
        methods[OPENCV] = lambda name, inp: _opencv_unsharp(inp)
    for spec in model_names:
        try:
            model = models.load(spec, scale=SCALE, mode=MODE)
        except (OSError, ValueError, KeyError) as e:
            raise evaluate.EvaluationError(f"cannot load model {spec}: {e}") from None
        if model.scale != SCALE or (model.role == "student" and model.mode != MODE):
            raise evaluate.EvaluationError(f"{spec} is a x{model.scale} {model.mode} {model.role}; the suite needs "
                                           f"x{SCALE} {MODE} students (or a teacher)")
        methods[str(spec)] = evaluate.model_method(model, mode=MODE)
    return methods


def run_suite(sets: list[tuple[str, object]], methods: dict[str, evaluate.Method], *,
              families: tuple[str, ...] = FAMILIES, images_per_set: int | None = None,
              progress: bool = True) -> list[dict]:
    """One result dict per (family, set, method), as evaluate.evaluate_set's (with per-image rows); each input is
    made once per (family, image) and shared by the methods."""
    from tqdm import tqdm

    for family in families:
        degrade.get(family)
    files = {name: evaluate.list_images(folder)[:images_per_set] for name, folder in sets}
    results = []
    bar = tqdm(total=len(families) * sum(len(f) for f in files.values()), unit="img", desc="realistic",
               disable=not progress)
    for family in families:
        for set_name, _ in sets:
            rows: dict[str, list[dict]] = {m: [] for m in methods}
            for path in files[set_name]:
                bar.set_postfix_str(f"{family} {set_name}", refresh=False)
                bar.update()
                try:
                    hr = image_io.read_image_rgb(path)
                    h, w = hr.shape[0] - hr.shape[0] % SCALE, hr.shape[1] - hr.shape[1] % SCALE
                    evaluate.check_measurable(f"{path}: the HR image is {w}x{h} mod-cropped", h, w, SCALE)
                except image_io.ImageReadError as e:
                    warnings.warn(f"{e}; skipped", evaluate.UnreadableImageWarning, stacklevel=2)
                    continue
                inp, target = degrade.pair(family, hr, SCALE, MODE, quantize=True,
                                           seed=degrade.image_seed(path.stem))
                for method_name, method in methods.items():
                    output = np.clip(method(path.stem, inp), 0.0, 1.0)
                    rows[method_name].append({"name": path.stem, **evaluate.score(output, target, SCALE)})
            for method_name, images in rows.items():
                results.append({"set": set_name, "method": method_name, "scale": SCALE, "mode": MODE,
                                "degradation": family,
                                **{k: float(np.mean([r[k] for r in images])) if images else float("nan")
                                   for k in KEYS},
                                "n_images": len(images), "images": images})
    bar.close()
    return results


def summary(results: list[dict]) -> list[dict]:
    """Image-weighted means over the sets: one row per (family, method), with the gain over doing nothing."""
    rows = []
    families = list(dict.fromkeys(r["degradation"] for r in results))
    methods = list(dict.fromkeys(r["method"] for r in results))
    for family in families:
        means = {}
        for method in methods:
            mine = [r for r in results if r["degradation"] == family and r["method"] == method]
            n = sum(r["n_images"] for r in mine)
            means[method] = {k: sum(r[k] * r["n_images"] for r in mine if r["n_images"]) / n if n else float("nan")
                             for k in KEYS} | {"n_images": n}
        base = means.get(NOTHING)
        for method, m in means.items():
            row = {"degradation": family, "method": method, **m}
            if base is not None:
                row["gain_psnr_y"] = m["psnr_y"] - base["psnr_y"]
                row["gain_ssim_y"] = m["ssim_y"] - base["ssim_y"]
            rows.append(row)
    return rows


def markdown_table(rows: list[dict]) -> str:
    """Families down, methods across, PSNR-Y / SSIM-Y per cell."""
    families = list(dict.fromkeys(r["degradation"] for r in rows))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    cell = {(r["degradation"], r["method"]): r for r in rows}
    lines = ["| degradation | " + " | ".join(methods) + " |", "|---|" + "---:|" * len(methods)]
    for family in families:
        lines.append(f"| {family} | " + " | ".join(
            f"{cell[family, m]['psnr_y']:.2f} / {cell[family, m]['ssim_y']:.4f}" for m in methods) + " |")
    return "\n".join(lines)


def plot_gains(rows: list[dict], path: str | pathlib.Path) -> None:
    """Grouped bars: each method's PSNR-Y gain over doing nothing, per family (written atomically)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    families = list(dict.fromkeys(r["degradation"] for r in rows))
    methods = [m for m in dict.fromkeys(r["method"] for r in rows) if m != NOTHING]
    gain = {(r["degradation"], r["method"]): r.get("gain_psnr_y", float("nan")) for r in rows}
    width = 0.8 / max(len(methods), 1)
    fig, ax = plt.subplots(figsize=(max(8.0, 1.1 * len(families)), 4.5))
    x = np.arange(len(families))
    for i, method in enumerate(methods):
        ax.bar(x + (i - (len(methods) - 1) / 2) * width, [gain[f, method] for f in families], width, label=method)
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set_xticks(x, families, rotation=30, ha="right")
    ax.set_ylabel("PSNR-Y gain over doing nothing (dB)")
    ax.set_title(f"x{SCALE} sharpen, per kind of blur ({rows[0]['n_images']} images per family)")
    ax.legend(fontsize=8, ncol=2)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    atomic.write_file(path, lambda f: fig.savefig(f, format=pathlib.Path(path).suffix.lstrip(".") or "png", dpi=110))
    plt.close(fig)


def build_parser(prog: str = "python -m jaxsharp.evaluate_realistic") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    p.add_argument("--sets", default="Set14,categories",
                   help="comma-separated sets, as evaluate's (Set5,Set14,B100,Urban100,Manga109,categories,val)")
    p.add_argument("--images-per-set", type=int, default=None, metavar="N",
                   help="the first N images of each set, by name (default: all)")
    p.add_argument("--families", default=",".join(FAMILIES),
                   help="comma-separated registered degradations (default: %(default)s)")
    p.add_argument("--models", default=None,
                   help="comma-separated model names or paths (default: every shipped x2 sharpen student)")
    p.add_argument("--no-opencv", action="store_true", help="leave out OpenCV's unsharp mask")
    p.add_argument("--data-root", default=None, help="folder holding benchmarks/ and categories/")
    p.add_argument("--json", metavar="FILE", help="write the summary and every result as JSON (atomically)")
    p.add_argument("--plot", metavar="FILE", help="bar chart of each method's gain over doing nothing")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None, *, prog: str = "python -m jaxsharp.evaluate_realistic") -> int:
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    image_io.ignore_decompression_bomb_warning()
    try:
        families = tuple(f.strip() for f in args.families.split(",") if f.strip())
        for family in families:
            try:
                degrade.get(family)
            except ValueError as e:
                raise evaluate.EvaluationError(str(e)) from None
        if args.images_per_set is not None and args.images_per_set < 1:
            raise evaluate.EvaluationError(f"--images-per-set must be positive, got {args.images_per_set}")
        names = [n.strip() for n in args.sets.split(",") if n.strip()]
        sets = evaluate.resolve_sets(names, pathlib.Path(args.data_root) if args.data_root else paths.data_root())
        models = ([m.strip() for m in args.models.split(",") if m.strip()] if args.models is not None
                  else shipped_students())
        methods = make_methods(models, opencv=False if args.no_opencv else None)
    except evaluate.EvaluationError as e:
        parser.exit(2, f"{parser.prog}: error: {e}\n")
    if OPENCV not in methods and not args.no_opencv:
        print("note: OpenCV is not installed (pip install 'jaxsharp[bench]'): no OpenCV unsharp column",
              file=sys.stderr)
    results = run_suite(sets, methods, families=families, images_per_set=args.images_per_set,
                        progress=not args.no_progress)
    rows = summary(results)
    print(markdown_table(rows))
    if args.json:
        atomic.write_json(args.json, evaluate.json_safe({"sets": names, "images_per_set": args.images_per_set,
                                                         "families": list(families), "summary": rows,
                                                         "results": results}), indent=1, allow_nan=False)
    if args.plot:
        plot_gains(rows, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
