"""Every model by name or path, and the registry of model families: the one place that knows what a model is.

    model = models.load("student-small")            # alias: the shipped student_small_x2 (its mode first)
    model = models.load("student_tiny_x2")          # canonical shipped name ("student-tiny-x2" is an alias)
    model = models.load("teacher")                  # the shipped SwinIR teacher (swinir_s_x2)
    model = models.load("runs/my_run/export")       # any saved directory: its config.json names the family
    model = models.load("001_classicalSR_DIV2K_s48w8_SwinIR-M_x2.pth")   # official weights, converted on load
    spec = models.training_spec(config)             # what the trainer builds for config.model.kind

Whatever `load` returns meets `jaxsharp.loaded_model.LoadedModel` (scale, mode, block, receptive radius,
parameter count, pure `apply`, one padding rule), so train, evaluate, infer, bench, export, mos and the demo never
ask which family a model belongs to.

A family is one module plus one registration here (`FAMILIES`): the module defines its LoadedModel subclass, a
`load` for a saved directory and a `training_spec(config)`; the registration names the `config.model.kind` it
trains as, the "model" key its saved config.json carries, and where its shipped models live. BasicSR's arch
registry is the pattern: the re-parameterised students (jaxsharp/student_reparam/, trained expanded, saved
collapsed) are one package and the one `register` line below.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import re
from typing import Callable

from jaxsharp import student, student_reparam, teacher
from jaxsharp.loaded_model import LoadedModel, TrainingSpec

ASSETS = pathlib.Path(__file__).resolve().parent / "assets"
SHIPPED_STUDENTS = ASSETS / "students"
SHIPPED_TEACHERS = ASSETS / "teachers"
DEFAULT_SCALE = 2
DEFAULT_STUDENT = "student-real"  # student_real_x2: chosen on the realistic suite (README, "Real blur")
DEFAULT_TEACHER = "teacher"
STUDENT_ALIASES = ("student-tiny", "student-small", "student-base", "student-real")  # student-real: real-world blur
TEACHER_ALIAS = "teacher"
ALIASES = STUDENT_ALIASES + (TEACHER_ALIAS,)
CONFIG_FILE = "config.json"
PORTABLE_SUFFIXES = (".pth", ".pt", ".npz")  # official SwinIR weights, converted on load


@dataclasses.dataclass(frozen=True)
class Family:
    """A registered model family."""

    name: str  # config.model.kind in a training config
    role: str  # "student" or "teacher"
    saved_format: str  # the "model" value in a saved directory's config.json
    load_dir: Callable[[pathlib.Path], LoadedModel]  # a saved directory -> the model
    training_spec: Callable[..., TrainingSpec]  # (config) -> what the trainer builds, runs and exports
    shipped_dir: pathlib.Path  # where shipped models of the family live, one directory each


FAMILIES: dict[str, Family] = {}


def register(family: Family) -> Family:
    for other in FAMILIES.values():
        if other.saved_format == family.saved_format and other.name != family.name:
            raise ValueError(f"family {family.name!r}: saved format {family.saved_format!r} is {other.name!r}'s")
    FAMILIES[family.name] = family
    return family


register(Family("student", "student", "jaxsharp-student", student.load, student.training_spec, SHIPPED_STUDENTS))
register(Family("reparam", "student", "jaxsharp-reparam-student", student_reparam.load, student_reparam.training_spec,
                SHIPPED_STUDENTS))
register(Family("swinir", "teacher", "swinir", teacher.load, teacher.training_spec, SHIPPED_TEACHERS))


def training_spec(config) -> TrainingSpec:
    """The family of config.model.kind builds the trainer's model."""
    kind = config.model.kind
    if kind not in FAMILIES:
        raise ValueError(f"unknown model.kind {kind!r}; registered: {', '.join(FAMILIES)}")
    return FAMILIES[kind].training_spec(config)


# ----------------------------------------------------------------------------------------------------------------
# Names


def canonical(name: str) -> str:
    """The canonical spelling of a shipped model's name: lower case, underscores ('student-small-x2' ->
    'student_small_x2')."""
    return name.lower().replace("-", "_")


def shipped() -> dict[str, tuple[Family, pathlib.Path]]:
    """Canonical name -> (family, directory) of every model shipped in jaxsharp/assets."""
    found = {}
    for family in FAMILIES.values():
        if family.shipped_dir.is_dir():
            for d in sorted(family.shipped_dir.iterdir()):
                if (d / CONFIG_FILE).is_file() and _saved_format(d) == family.saved_format:
                    found[canonical(d.name)] = (family, d)
    return found


def _saved_format(directory: pathlib.Path) -> str | None:
    config_file = directory / CONFIG_FILE
    try:
        data = json.loads(config_file.read_text())
    except (OSError, ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"{config_file}: unreadable model config ({e})") from None
    return data.get("model") if isinstance(data, dict) else None


def _names_hint() -> str:
    return f"aliases: {', '.join(ALIASES)}; shipped: {', '.join(shipped()) or 'none'}"


def _teacher_hint() -> str:
    return ("convert the official SwinIR weights with `jaxsharp port 001_classicalSR_DIV2K_s48w8_SwinIR-M_x2.pth "
            "--out weights/swinir_m_x2` and pass weights/swinir_m_x2")


def _shipped_for(role: str, pattern: str, mode: str) -> tuple[pathlib.Path, LoadedModel | None] | None:
    """The shipped model of `role` whose canonical name fully matches `pattern`: the one trained for `mode` first,
    then the shortest name (the plain one before its variants, e.g. student_small_x2 before student_small_x2_plain).
    (directory, the model when choosing had to load it: `load` reuses it), or None."""
    regex = re.compile(pattern)
    hits = [(n, d) for n, (f, d) in shipped().items() if f.role == role and regex.fullmatch(n)]
    if not hits:
        return None
    if len(hits) == 1:
        return hits[0][1], None
    loaded = [(n, d, load_path(d)) for n, d in hits]
    _, directory, model = min(loaded, key=lambda h: (h[2].mode != mode, len(h[0]), h[0]))
    return directory, model


def _find(name_or_path, scale: int | None, mode: str) -> tuple[pathlib.Path, LoadedModel | None]:
    spec = str(name_or_path)
    want = scale or DEFAULT_SCALE
    if spec in STUDENT_ALIASES:
        size = spec.split("-", 1)[1]
        found = _shipped_for("student", rf"student_{size}_x{want}(_[a-z0-9_]+)?", mode)
        if found is None:
            raise FileNotFoundError(f"no shipped {spec} at x{want} ({_names_hint()}); pass --model PATH to a saved "
                                    "student directory")
        return found
    if spec == TEACHER_ALIAS:
        found = _shipped_for("teacher", rf"[a-z0-9_]+_x{want}", "sr")
        if found is None:
            raise FileNotFoundError(f"no teacher is shipped with jaxsharp at x{want}; {_teacher_hint()}")
        return found
    path = pathlib.Path(spec).expanduser()
    if path.exists():
        return path, None
    hit = shipped().get(canonical(spec))
    if hit is not None:
        return hit[1], None
    raise FileNotFoundError(f"{spec}: no such model file or directory ({_names_hint()})")


def resolve(name_or_path: str | os.PathLike, *, scale: int | None = None, mode: str = "sharpen") -> pathlib.Path:
    """The directory or file a `--model` value names: an alias (scale and mode pick among the shipped models), a
    shipped model's canonical name (any spelling), or a path. FileNotFoundError names what exists."""
    return _find(name_or_path, scale, mode)[0]


def load_path(path: str | os.PathLike) -> LoadedModel:
    """A saved model directory (its config.json's "model" key picks the family) or official SwinIR weights."""
    path = pathlib.Path(path)
    if path.is_dir():
        if not (path / CONFIG_FILE).is_file():
            raise FileNotFoundError(f"{path}: not a saved model directory (no {CONFIG_FILE})")
        fmt = _saved_format(path)
        family = next((f for f in FAMILIES.values() if f.saved_format == fmt), None)
        if family is None:
            known = ", ".join(f"{f.saved_format!r} ({f.name})" for f in FAMILIES.values())
            raise ValueError(f"{path / CONFIG_FILE}: unknown model {fmt!r}; known: {known}")
        return family.load_dir(path)
    if path.suffix.lower() in PORTABLE_SUFFIXES:
        from jaxsharp.port.swinir_torch import load_teacher

        return load_teacher(path)
    raise ValueError(f"{path}: not a model (a saved directory, or SwinIR weights {', '.join(PORTABLE_SUFFIXES)})")


def load(name_or_path: str | os.PathLike, *, scale: int | None = None, mode: str = "sharpen") -> LoadedModel:
    """Any model: an alias in ALIASES, a shipped canonical name, a saved directory or SwinIR weights.

    scale: which shipped model an alias picks (default 2); otherwise checked against the model's own.
    mode: the task the model is for; an alias prefers the shipped model trained for it.
    Raises FileNotFoundError / ValueError with one line saying what is missing or wrong.
    """
    from jaxsharp.degrade import MODES

    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; valid modes: {', '.join(MODES)}")
    path, model = _find(name_or_path, scale, mode)
    model = model if model is not None else load_path(path)
    if scale is not None and model.scale != scale:
        raise ValueError(f"{name_or_path} is a x{model.scale} model; --scale {scale} asks for x{scale}")
    return model


def name_of(model: LoadedModel) -> str:
    """A model's display name: its shipped canonical name, or its source path."""
    for name, (_, directory) in shipped().items():
        if model.source and pathlib.Path(model.source).resolve() == directory.resolve():
            return name
    return model.source or model.family
