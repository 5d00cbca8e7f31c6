"""The validation split: training images held out to choose designs on, so no benchmark set ever picks one.

Designs (width, depth, activation, colour, block, kernels, recipe) are compared on these images; Set5 / Set14 /
B100 / Urban100 and the category images are only reported. The split is every 20th file of the sorted
`train/BSDS500_test` folder (10 of its 200 images, none in B100 or T91), fixed here by name so it never moves.

    config.data.holdout_validation = True    # train without them
    config.eval.sets = ("val",)              # evaluate on them during training
    python -m jaxsharp.evaluate --sets val ...
"""

from __future__ import annotations

import pathlib

NAME = "val"

# Relative to the data root's train/ folder.
VALIDATION_FILES = tuple(f"BSDS500_test/{name}.jpg" for name in (
    "100007", "108069", "141012", "163096", "196088", "226043", "259060", "317043", "388006", "69000"))


def validation_files(data_root: pathlib.Path) -> tuple[pathlib.Path, ...]:
    """The validation images under `data_root` (absolute paths); an error names the first one missing."""
    files = tuple(pathlib.Path(data_root) / "train" / name for name in VALIDATION_FILES)
    for path in files:
        if not path.is_file():
            raise FileNotFoundError(f"validation image not found: {path} (jaxsharp.splits.VALIDATION_FILES)")
    return files
