"""A tensorflow-datasets builder for a local DIV2K download, and its records as a source for `data.make_train_loader`.

The built-in `div2k` builder needs TensorFlow and the internet; this one reads the official layout from a folder the
user downloaded (tfds `manual_dir`) and writes array_record files, with no TensorFlow anywhere: tfds' numpy path
encodes from file bytes or PIL images, and `tfds.data_source` decodes with PIL.

    builder = prepare_div2k_local(manual_dir="~/datasets/DIV2K", data_dir="~/tensorflow_datasets")
    source = div2k_local_source(data_dir="~/tensorflow_datasets", split="train")   # float32 RGB records
    loader = data.make_train_loader(source, crop_size=96, scale=2, mode="sr", batch_size=16, seed=0)

Only the HR images are stored: the training pairs are made on the fly by `degrade.pair` (the configured
degradation). Training selects this source with `config.data.source = "div2k"` (`train_lib.train_source`, which
imports this module only then: the default folder source never loads tensorflow-datasets).
"""

from __future__ import annotations

import os
import pathlib

import numpy as np
import tensorflow_datasets as tfds
from etils import epath
from PIL import Image

from jaxsharp.image_io import read_image_rgb, to_uint8

DATASET_NAME = "div2k_local"
SPLIT_FOLDERS = {"train": "DIV2K_train_HR", "validation": "DIV2K_valid_HR"}


def _png_example(path: pathlib.Path):
    """What tfds' Image feature stores for one file: its own bytes if already 8-bit RGB PNG, else RGB via image_io."""
    with Image.open(path) as img:
        if img.format == "PNG" and img.mode == "RGB":
            return path  # stored byte for byte: no re-encoding, files stay as small as the download
    # Grayscale / alpha / 16-bit: normalise as everywhere else. A PIL image, not an ndarray, because tfds encodes
    # ndarrays with TensorFlow but PIL images with PIL.
    return Image.fromarray(to_uint8(read_image_rgb(path)), mode="RGB")


class Div2kLocal(tfds.core.GeneratorBasedBuilder):
    """DIV2K HR images (800 train, 100 validation) from a local copy of the official download."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "HR images only, as PNG bytes, with file names."}
    MANUAL_DOWNLOAD_INSTRUCTIONS = """\
    Download DIV2K_train_HR.zip and DIV2K_valid_HR.zip from https://data.vision.ee.ethz.ch/cvl/DIV2K/ and unzip both
    into one folder (the manual_dir), giving:
        <manual_dir>/DIV2K_train_HR/0001.png ... 0800.png
        <manual_dir>/DIV2K_valid_HR/0801.png ... 0900.png
    LR folders (DIV2K_train_LR_bicubic/X2 ...) may be present and are ignored: low-resolution inputs are made on the
    fly.
    """

    @tfds.core.utils.classproperty
    @classmethod
    def code_path(cls) -> epath.Path:
        # tfds 4.9.10 finds a package builder's code through `importlib_resources`, a package it declares only for
        # Python < 3.9 (tensorflow/datasets#11212); naming the file directly avoids that import.
        return epath.Path(__file__)

    def _info(self) -> tfds.core.DatasetInfo:
        # DatasetInfo directly: dataset_info_from_configs would look for metadata files beside this module.
        return tfds.core.DatasetInfo(
            builder=self,
            description="DIV2K high-resolution images (NTIRE 2017), read from a local download.",
            features=tfds.features.FeaturesDict({
                "image": tfds.features.Image(shape=(None, None, 3), dtype=np.uint8, encoding_format="png"),
                "file_name": tfds.features.Text(),
            }),
            homepage="https://data.vision.ee.ethz.ch/cvl/DIV2K/",
            citation=("Agustsson and Timofte, NTIRE 2017 Challenge on Single Image Super-Resolution: "
                      "Dataset and Study, CVPRW 2017."),
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        manual_dir = pathlib.Path(dl_manager.manual_dir)
        generators = {}
        for split, folder in SPLIT_FOLDERS.items():
            files = sorted((manual_dir / folder).glob("*.png"))
            if not files:
                raise FileNotFoundError(
                    f"{manual_dir / folder}: no PNG files. Expected the official DIV2K layout:\n"
                    f"{self.MANUAL_DOWNLOAD_INSTRUCTIONS}"
                )
            generators[split] = self._generate_examples(files)
        return generators

    def _generate_examples(self, files: list[pathlib.Path]):
        for path in files:
            yield path.name, {"image": _png_example(path), "file_name": path.name}


def prepare_div2k_local(*, manual_dir: str | os.PathLike, data_dir: str | os.PathLike) -> Div2kLocal:
    """Builds div2k_local's array_record files in `data_dir` from the download in `manual_dir` (once, then reused)."""
    builder = Div2kLocal(data_dir=os.fspath(pathlib.Path(data_dir).expanduser()), file_format="array_record")
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=os.fspath(pathlib.Path(manual_dir).expanduser()))
    )
    return builder


class TfdsImageSource:
    """A tfds data source of {"image": uint8 [H, W, 3], ...} records, seen as float32 RGB [H, W, 3] in [0, 1]."""

    def __init__(self, records, image_key: str = "image"):
        self.records = records
        self.image_key = image_key

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> np.ndarray:
        image = np.asarray(self.records[index][self.image_key])
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[-1] != 3:
            raise ValueError(f"{self!r}[{index}]: expected uint8 [H, W, 3], got {image.dtype} {image.shape}")
        return image.astype(np.float32) / 255.0

    def __repr__(self) -> str:
        # grain compares repr(source) when restoring iterator state: tfds' own repr names dataset and split.
        return f"TfdsImageSource({self.records!r}, image_key={self.image_key!r})"


def div2k_local_source(*, data_dir: str | os.PathLike, split: str = "train") -> TfdsImageSource:
    """The prepared div2k_local split (see prepare_div2k_local) as a float32 RGB random-access source."""
    records = tfds.data_source(DATASET_NAME, split=split, data_dir=os.fspath(pathlib.Path(data_dir).expanduser()),
                               download=False)
    return TfdsImageSource(records)
