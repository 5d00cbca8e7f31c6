"""Training curves of a run: loss, PSNR and learning rate from WORKDIR/metrics.csv, drawn to a PNG.

    python -m jaxsharp.plot_training runs/student_small_x2            # writes runs/student_small_x2/training.png
    python -m jaxsharp.plot_training runs/student_small_x2 --out curves.png

Panels: training losses (every *loss metric, log scale); Y-PSNR of the training batches and of each evaluated set;
the learning rate. The CSV is the long format train_lib writes (step, time, split, name, value).
"""

from __future__ import annotations

import argparse
import collections
import csv
import math
import pathlib
import sys


def read_metrics(path: str | pathlib.Path) -> dict[tuple[str, str], tuple[list[int], list[float]]]:
    """{(split, name): (steps, values)} in file order; non-finite values are kept (they plot as gaps)."""
    series: dict[tuple[str, str], tuple[list[int], list[float]]] = collections.defaultdict(lambda: ([], []))
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            steps, values = series[(row["split"], row["name"])]
            steps.append(int(row["step"]))
            values.append(float(row["value"]))
    return dict(series)


def plot(metrics_csv: str | pathlib.Path, out: str | pathlib.Path) -> pathlib.Path:
    """Draws the three panels of `metrics_csv` into the PNG `out`; returns its path."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    series = read_metrics(metrics_csv)
    if not series:
        raise ValueError(f"{metrics_csv}: no metrics rows")
    fig, (ax_loss, ax_psnr, ax_lr) = plt.subplots(1, 3, figsize=(15, 4))
    for (split, name), (steps, values) in sorted(series.items()):
        if split == "train" and name.endswith("loss"):
            ax_loss.plot(steps, values, label=name)
        elif name.endswith("psnr_y"):
            ax_psnr.plot(steps, values, label=f"{split} {name}", marker="o" if split == "eval" else None)
        elif split == "train" and name == "lr":
            ax_lr.plot(steps, values)
    if any(v > 0 and math.isfinite(v) for line in ax_loss.get_lines() for v in line.get_ydata()):
        ax_loss.set_yscale("log")
    for ax, title, ylabel in ((ax_loss, "training loss", "loss"), (ax_psnr, "Y-PSNR", "dB"),
                              (ax_lr, "learning rate", "lr")):
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    fig.suptitle(str(pathlib.Path(metrics_csv).parent.name))
    fig.tight_layout()
    out = pathlib.Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def main(argv: list[str] | None = None, *, prog: str = "python -m jaxsharp.plot_training") -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    parser.add_argument("workdir", help="run directory holding metrics.csv")
    parser.add_argument("--out", help="PNG to write (default: WORKDIR/training.png)")
    args = parser.parse_args(argv)
    workdir = pathlib.Path(args.workdir)
    metrics_csv = workdir / "metrics.csv"
    if not metrics_csv.is_file():
        parser.exit(2, f"{parser.prog}: error: {metrics_csv} not found\n")
    try:
        out = plot(metrics_csv, args.out or workdir / "training.png")
    except ValueError as e:
        parser.exit(2, f"{parser.prog}: error: {e}\n")
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
