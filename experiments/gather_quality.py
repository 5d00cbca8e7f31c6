"""Gathers the evaluate.py JSONs of the shipped models into one file whose rows name each model, for
`jaxsharp bench --quality` (a row's method says which bench entry gets its PSNR).

    python experiments/gather_quality.py     # -> experiments/results/quality_x2_shipped.json

Each source is the JSON its config's evaluate command wrote (x2, PSNR-Y the literature's way: students and unsharp
in sharpen mode; the teacher and bicubic in sr mode, where bicubic is the sharpen students' blurry input); the
baselines and the teacher come from the earlier gathered file. Nothing is re-measured here.
"""

import json
import pathlib

RESULTS = pathlib.Path(__file__).resolve().parent / "results"
OUT = RESULTS / "quality_x2_shipped.json"

# bench row name -> (evaluate JSON in experiments/results, the method written there)
SOURCES = {
    "student_tiny_x2": ("student_reparam_tiny_x2_eval.json", "student"),
    "student_small_x2": ("student_reparam_small_x2_eval.json", "student"),
    "student_tiny_x2_plain": ("student_tiny_x2_eval.json", "student"),  # written before the rename (issue 16)
    "student_small_x2_plain": ("student_small_x2_eval.json", "student"),
    "student_small_x2_plain_kd": ("student_small_x2_kd_eval.json", "student"),
    "teacher": ("quality_x2_set5_set14_b100.json", "teacher"),
    "bicubic": ("quality_x2_set5_set14_b100.json", "bicubic"),
    "unsharp": ("quality_x2_set5_set14_b100.json", "unsharp"),
}
SETS = ("Set5", "Set14", "B100")


def main() -> None:
    rows = []
    for name, (file, method) in SOURCES.items():
        found = [r for r in json.loads((RESULTS / file).read_text())["results"]
                 if r["method"] == method and r["set"] in SETS and r.get("scale") == 2]
        missing = set(SETS) - {r["set"] for r in found}
        if missing:
            raise SystemExit(f"{file}: no {method} rows for {', '.join(sorted(missing))}")
        rows += [dict(r, method=name, source=file) for r in found]
    rows.sort(key=lambda r: (SETS.index(r["set"]), r["method"]))
    OUT.write_text(json.dumps({"note": "gathered by experiments/gather_quality.py from the files named in each "
                                       "row's source", "results": rows}, indent=1) + "\n")
    print(f"wrote {OUT} ({len(rows)} rows)")


if __name__ == "__main__":
    main()
