"""Every bad input x every entry point that reads user files: what happens (the measurement behind docs/robustness.md).

    .venv/bin/python experiments/bad_input_probe.py            # prints one markdown row per (input, entry point)

Entry points: `jaxsharp sharpen FILE` (in-process `sharpen_cli.main` through `infer.main`, the shipped student-small), `jaxsharp sharpen FOLDER`
(every input plus two good pictures), `python -m jaxsharp.evaluate --method predictions` (each input as the
prediction for a good HR image) and `--method bicubic --hr-dir` (each input as an HR image), the data pipeline
(`ImageFolderSource` + `make_train_loader` over the corpus plus good pictures, 3 epochs), and `python -m
jaxsharp.port.swinir_torch` on each bad checkpoint (a subprocess: a bomb must not take this process down).
Outcomes: `ok` (exit 0 / result), `error: <first line>` (a one-line refusal), `TRACEBACK <exception>`, `HANG`.
The corpus is jaxsharp/testing/bad_inputs.py, built in a temporary folder at run time.
"""

from __future__ import annotations

import contextlib
import io
import pathlib
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import warnings

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from jaxsharp import paths  # noqa: E402
from jaxsharp.testing import bad_inputs  # noqa: E402

TIMEOUT_S = 120
REFERENCE_NPZ = paths.data_root() / "reference" / "swinir" / "tiny_classical_x2_weights.npz"


class _Hang(Exception):
    pass


@contextlib.contextmanager
def _deadline(seconds: int):
    def fire(*_):
        raise _Hang()

    previous = signal.signal(signal.SIGALRM, fire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _call(fn, *args) -> tuple[str, str, object]:
    """(outcome, stderr, value) of fn(*args): exceptions become 'TRACEBACK', SystemExit its code."""
    err = io.StringIO()
    value = None
    try:
        with _deadline(TIMEOUT_S), contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()), \
                warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            value = fn(*args)
        outcome = "ok"
        for w in caught:
            err.write(f"warning: {w.message}\n")
    except _Hang:
        outcome = "HANG"
    except SystemExit as e:
        value, outcome = e.code, "exit"
    except BaseException as e:  # noqa: BLE001  (what a user would see as a traceback)
        outcome = f"TRACEBACK {type(e).__name__}: {' '.join(str(e).split())[:120]}"
        err.write(traceback.format_exc())
    return outcome, err.getvalue(), value


def _summary(outcome: str, stderr: str, code) -> str:
    if outcome.startswith(("TRACEBACK", "HANG")):
        return outcome
    lines = [ln for ln in stderr.splitlines() if ln.startswith(("error:", "warning:", "note:", "skip:"))
             or "error:" in ln]
    first = " ".join(lines[0].split())[:140] if lines else ""
    return f"exit {code}" + (f"; {first}" if first else "")


def probe_sharpen(corpus: dict[str, pathlib.Path], out: pathlib.Path) -> dict[str, str]:
    from jaxsharp import infer

    rows = {}
    for name, path in corpus.items():
        outcome, err, code = _call(infer.main, [str(path), "-o", str(out / f"{name}.png")])
        rows[name] = _summary(outcome, err, code)
    return rows


def probe_sharpen_folder(folder: pathlib.Path, out: pathlib.Path) -> str:
    from jaxsharp import infer

    outcome, err, code = _call(infer.main, [str(folder), "-o", str(out)])
    written = sorted(p.name for p in out.rglob("*") if p.is_file()) if out.exists() else []
    errors = [ln for ln in err.splitlines() if ln.startswith("error:")]
    return f"{_summary(outcome, err, code)} | {len(written)} written ({', '.join(written)}), {len(errors)} errors"


def probe_evaluate_predictions(corpus: dict[str, pathlib.Path], root: pathlib.Path) -> dict[str, str]:
    from jaxsharp import evaluate

    rows = {}
    for name, path in corpus.items():
        hr, pred = root / f"hr_{name}", root / f"pred_{name}"
        bad_inputs.write_good_picture(hr / "image.png", 64, 64)
        pred.mkdir(parents=True)
        (pred / ("image" + path.suffix)).write_bytes(path.read_bytes())
        outcome, err, code = _call(evaluate.main, ["--method", "predictions", "--predictions", str(pred),
                                                   "--hr-dir", str(hr), "--no-progress"])
        rows[name] = _summary(outcome, err, code if outcome != "ok" else code)
    return rows


def probe_evaluate_hr(corpus: dict[str, pathlib.Path], root: pathlib.Path) -> dict[str, str]:
    from jaxsharp import evaluate

    rows = {}
    for name, path in corpus.items():
        hr = root / f"hrdir_{name}"
        hr.mkdir(parents=True)
        (hr / path.name).write_bytes(path.read_bytes())
        bad_inputs.write_good_picture(hr / "good.png", 48, 48)
        outcome, err, code = _call(evaluate.main, ["--method", "bicubic", "--hr-dir", str(hr), "--no-progress"])
        rows[name] = _summary(outcome, err, code)
    return rows


def probe_data(folder: pathlib.Path) -> str:
    from jaxsharp import data

    def run():
        source = data.ImageFolderSource(folder)
        loader = data.make_train_loader(source, crop_size=16, scale=2, mode="sr", batch_size=2, seed=0,
                                        num_epochs=3)
        batches = sum(1 for _ in loader)
        return f"{len(source)} records, {batches} batches"

    outcome, err, value = _call(run)
    warned = [ln for ln in err.splitlines() if ln.startswith("warning:")]
    return f"{outcome}: {value}; " + " / ".join(" ".join(w.split())[:300] for w in warned)


def probe_port(paths: dict[str, pathlib.Path], out: pathlib.Path) -> dict[str, str]:
    rows = {}
    for name, path in paths.items():
        start = time.perf_counter()
        try:
            result = subprocess.run([sys.executable, "-m", "jaxsharp.port.swinir_torch", str(path), "--out",
                                     str(out / name)], cwd=REPO, capture_output=True, text=True, timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            rows[name] = "HANG"
            continue
        lines = result.stderr.strip().splitlines()
        kind = "TRACEBACK " + lines[-1][:120] if "Traceback" in result.stderr else (lines[0][:160] if lines else "")
        rows[name] = f"exit {result.returncode}; {kind} ({time.perf_counter() - start:.1f} s)"
    return rows


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        corpus = bad_inputs.build_image_corpus(root / "corpus")
        for name, (_, what, _) in bad_inputs.IMAGE_CASES.items():
            print(f"{name}: {what}")
        print("\n## jaxsharp sharpen FILE")
        for name, row in probe_sharpen(corpus, root / "sharpen_out").items():
            print(f"| {name} | {row} |")
        folder = root / "folder"
        bad_inputs.build_image_corpus(folder)
        bad_inputs.write_good_picture(folder / "good_a.png")
        bad_inputs.write_good_picture(folder / "good_b.jpg", 40, 30, seed=3)
        print("\n## jaxsharp sharpen FOLDER\n" + probe_sharpen_folder(folder, root / "folder_out"))
        print("\n## evaluate --method predictions")
        for name, row in probe_evaluate_predictions(corpus, root / "eval_pred").items():
            print(f"| {name} | {row} |")
        print("\n## evaluate --method bicubic --hr-dir")
        for name, row in probe_evaluate_hr(corpus, root / "eval_hr").items():
            print(f"| {name} | {row} |")
        print("\n## data pipeline\n" + probe_data(folder))
        print("\n## python -m jaxsharp.port.swinir_torch")
        checkpoints = bad_inputs.build_checkpoint_corpus(root / "pth", REFERENCE_NPZ)
        for name, row in probe_port(checkpoints, root / "port_out").items():
            print(f"| {name} | {row} |")


if __name__ == "__main__":
    main()
