"""Issue 18's targets, read off a realistic-suite JSON (nothing is measured here).

    python experiments/realistic_targets.py [experiments/results/realistic_suite.json] [--model student_real_x2]

For the model: its gain over doing nothing per family (targets: >= +1.0 dB on gaussian_1.5, defocus_r2,
motion_5_9 and gaussian_1.0_noise_5, >= +0.5 dB on the H.264 stream at CRF 28-33, never below doing nothing), its
margin over OpenCV's unsharp mask (target: > 0 on every family), its SSIM-Y against the input's (not worse), and on
the bicubic control its distance to student_small_x2 (target: within 0.5 dB).
"""

import argparse
import json
import pathlib

DEFAULT = pathlib.Path(__file__).resolve().parent / "results" / "realistic_suite.json"
PLUS_ONE = ("gaussian_1.5", "defocus_r2", "motion_5_9", "gaussian_1.0_noise_5")
PLUS_HALF = ("h264_crf28", "h264_crf33")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("json", nargs="?", default=str(DEFAULT))
    p.add_argument("--model", default="student_real_x2")
    p.add_argument("--control", default="student_small_x2")
    args = p.parse_args()
    rows = json.loads(pathlib.Path(args.json).read_text())["summary"]
    cell = {(r["degradation"], r["method"]): r for r in rows}
    families = list(dict.fromkeys(r["degradation"] for r in rows))
    print(f"| family | {args.model} PSNR-Y | gain over nothing | target | vs OpenCV unsharp | SSIM-Y vs input |")
    print("|---|---:|---:|---|---:|---:|")
    for family in families:
        me, nothing = cell[family, args.model], cell[family, "do nothing"]
        opencv = cell.get((family, "opencv unsharp"))
        gain = me["psnr_y"] - nothing["psnr_y"]
        want = 1.0 if family in PLUS_ONE else 0.5 if family in PLUS_HALF else 0.0
        ok = "met" if gain >= want else "MISSED"
        target = f">= +{want:.1f}: {ok}" if want else f">= 0: {ok}"
        vs_cv = f"{me['psnr_y'] - opencv['psnr_y']:+.2f}" if opencv else "n/a"
        print(f"| {family} | {me['psnr_y']:.2f} | {gain:+.2f} | {target} | {vs_cv} | "
              f"{me['ssim_y'] - nothing['ssim_y']:+.4f} |")
    if ("bicubic", args.control) in cell:
        d = cell["bicubic", args.model]["psnr_y"] - cell["bicubic", args.control]["psnr_y"]
        print(f"\nbicubic control: {args.model} - {args.control} = {d:+.2f} dB (target >= -0.5: "
              f"{'met' if d >= -0.5 else 'MISSED'})")


if __name__ == "__main__":
    main()
