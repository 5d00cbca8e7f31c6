"""Figures of images: the detail crop every comparison shows, and side-by-side panels of it.

    box = figures.detail_crop_box(target, 96)                    # the square with the most gradient energy
    figures.save_crop_rows(path, title, rows)                    # evaluate's input / output / target rows
    figures.save_panel_rows(path, title, [[("a", crop), ...], ...])  # any grid of crops
    figures.save_side_by_side(path, [("blurry", x), ...], box)   # the demo's panels
"""

from __future__ import annotations

import pathlib

import numpy as np

from jaxsharp import atomic


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def detail_crop_box(target: np.ndarray, size: int) -> tuple[int, int, int]:
    """Top-left corner and side of the square crop of `target` with the most gradient energy (for the figure)."""
    h, w = target.shape[:2]
    size = min(size, h, w)
    y = target.mean(axis=-1)
    energy = np.abs(np.diff(y, axis=0))[:, :-1] + np.abs(np.diff(y, axis=1))[:-1, :]
    best, corner = -1.0, (0, 0)
    step = max(1, size // 4)
    for top in range(0, h - size + 1, step):
        for left in range(0, w - size + 1, step):
            e = float(energy[top : top + size - 1, left : left + size - 1].sum())
            if e > best:
                best, corner = e, (top, left)
    return corner[0], corner[1], size


def save_crop_rows(path: pathlib.Path, title: str, crops: list[dict]) -> None:
    """One row per crop dict (name, input, input_label, output, psnr_y, target): input | output | HR."""
    save_panel_rows(path, title, [[(f"{c['name']}: {c['input_label']}", c["input"]),
                                   (f"{c['name']}: output {c['psnr_y']:.2f} dB", c["output"]),
                                   (f"{c['name']}: HR", c["target"])] for c in crops])


def save_panel_rows(path: pathlib.Path, title: str, rows: list[list[tuple[str, np.ndarray]]]) -> None:
    """A grid of already-cropped HWC images, one list of (title, image) per row; written atomically."""
    plt = _pyplot()

    cols = max(len(r) for r in rows)
    fig, axes = plt.subplots(len(rows), cols, figsize=(3 * cols, 3 * len(rows)), squeeze=False)
    for row, panels in enumerate(rows):
        for col in range(cols):
            ax = axes[row, col]
            ax.set_xticks([])
            ax.set_yticks([])
            if col >= len(panels):
                ax.axis("off")
                continue
            label, image = panels[col]
            ax.imshow(np.clip(image, 0, 1), interpolation="nearest")
            ax.set_title(label, fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    atomic.write_file(path, lambda f: fig.savefig(f, format=pathlib.Path(path).suffix.lstrip(".") or "png", dpi=100))
    plt.close(fig)


def save_side_by_side(path: pathlib.Path, panels: list[tuple[str, np.ndarray]], box: tuple[int, int, int]) -> None:
    """Panels (title, HWC image) in a row, each cropped to box = (top, left, side); written atomically."""
    plt = _pyplot()

    y, x, size = box
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.6))
    for ax, (title, image) in zip(axes, panels):
        ax.imshow(np.clip(image[y:y + size, x:x + size], 0, 1), interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    atomic.write_file(path, lambda f: fig.savefig(f, format="png", dpi=120))
    plt.close(fig)
