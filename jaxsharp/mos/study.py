"""The study directory: what `prepare` writes and `serve` / `simulate` read.

    STUDY_DIR/
      study.json          # the manifest (FORMAT, version 1): settings, images, and one item per (image, method)
      images/<id>.png     # one lossless 8-bit PNG per item; <id> is 16 random hex digits, the only name served

Item ids are opaque (secrets.token_hex) so that nothing a participant's browser sees (URL, file name, page)
tells the method. The manifest, which maps ids to methods, is never served. `load` validates the manifest
and checks that every image is a regular file inside the study directory before anything is served.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import random
import re

from jaxsharp.baselines import METHODS  # no JAX: the MOS CLI lists the methods without it

FORMAT = "jaxsharp-mos-study"
VERSION = 1
MANIFEST = "study.json"
IMAGES = "images"
ITEM_ID = re.compile(r"[0-9a-f]{16}")
STUDY_ID = re.compile(r"[0-9a-f]{16}")
# Every method a study can hold, in the order tables and charts list them (worst expected first; hr: the reference).
METHOD_ORDER = METHODS + ("hr",)
# What `prepare` makes unless told otherwise (here, not in prepare.py, so the CLI can show them without JAX).
# No teacher: the shipped one is weaker than the student (README, Shipped models). The student is the shipped
# demo default.
DEFAULT_METHODS = ("bicubic", "unsharp", "student", "hr")
DEFAULT_SETS = ("categories", "Set14")
DEFAULT_STUDENT = "student_small_x2"
DEFAULT_CROP = 256  # HR pixels
DEFAULT_MARGIN = 32  # HR pixels of context around the crop


class StudyError(ValueError):
    """A study directory that cannot be used; the message names the directory and the problem."""


@dataclasses.dataclass(frozen=True)
class Item:
    """One stimulus: `image` (e.g. "Set14/baboon") as made by `method`, stored at `path`."""

    id: str
    image: str
    category: str
    method: str
    path: pathlib.Path


@dataclasses.dataclass(frozen=True)
class Study:
    """A loaded study: its id, manifest (as written) and items by id, in manifest order."""

    directory: pathlib.Path
    study_id: str
    manifest: dict
    items: dict[str, Item]

    @property
    def methods(self) -> list[str]:
        return list(self.manifest["methods"])


def image_path(directory: pathlib.Path, item_id: str) -> pathlib.Path:
    """Where the PNG of item `item_id` lives in a study directory."""
    return directory / IMAGES / f"{item_id}.png"


def load(directory: str | os.PathLike) -> Study:
    """Reads and validates STUDY_DIR/study.json; raises StudyError (one line) on any problem."""
    directory = pathlib.Path(directory).resolve()
    manifest_path = directory / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text())
    except FileNotFoundError:
        raise StudyError(f"{directory}: not a study (no {MANIFEST}; make one with `python -m jaxsharp.mos prepare`)"
                         ) from None
    except (OSError, ValueError) as e:
        raise StudyError(f"{manifest_path}: unreadable ({e})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise StudyError(f"{manifest_path}: not a {FORMAT} version {VERSION} manifest")
    study_id = manifest.get("study_id")
    if not isinstance(study_id, str) or not STUDY_ID.fullmatch(study_id):
        raise StudyError(f"{manifest_path}: bad study_id {study_id!r}")
    items: dict[str, Item] = {}
    images_dir = (directory / IMAGES).resolve()
    for entry in manifest.get("items", []):
        item_id = entry.get("id") if isinstance(entry, dict) else None
        if not isinstance(item_id, str) or not ITEM_ID.fullmatch(item_id):
            raise StudyError(f"{manifest_path}: bad item id {item_id!r}")
        if item_id in items:
            raise StudyError(f"{manifest_path}: item id {item_id} appears twice")
        fields = {key: entry.get(key) for key in ("image", "category", "method")}
        if not all(isinstance(v, str) and v for v in fields.values()):
            raise StudyError(f"{manifest_path}: item {item_id} lacks image, category or method")
        path = image_path(directory, item_id)
        # A symlink pointing out of the study would make the server read an arbitrary file.
        if path.is_symlink() or not path.is_file() or path.resolve().parent != images_dir:
            raise StudyError(f"{path}: missing, or not a regular file inside the study")
        items[item_id] = Item(id=item_id, path=path, **fields)
    if not items:
        raise StudyError(f"{manifest_path}: the study has no items")
    return Study(directory=directory, study_id=study_id, manifest=manifest, items=items)


def presentation_order(items: list[Item], seed: int) -> list[str]:
    """A participant's order of item ids, random from `seed`, never the same image twice in a row where that can
    be avoided (two versions of one picture back to back invite a comparison, which ACR is not).

    Built one item at a time: the next image is drawn with probability proportional to its items left, among the
    images other than the last one after which the rest can still be ordered without repeats (possible iff no
    image holds more than half of what is left, rounded up, and the last one not more than half).
    """
    rng = random.Random(seed)
    left: dict[str, list[str]] = {}
    for item in items:
        left.setdefault(item.image, []).append(item.id)
    for ids in left.values():
        rng.shuffle(ids)

    def can_finish(last: str) -> bool:
        total = sum(len(ids) for ids in left.values())
        return all(2 * len(ids) <= total + (image != last) for image, ids in left.items())

    order: list[str] = []
    last = None
    while len(order) < len(items):
        candidates = [image for image, ids in left.items() if ids and image != last]
        keeping = []
        for image in candidates:
            taken = left[image].pop()
            if can_finish(image):
                keeping.append(image)
            left[image].append(taken)
        pool = keeping or candidates or [last]
        last = rng.choices(pool, weights=[len(left[image]) for image in pool])[0]
        order.append(left[last].pop())
    return order
