"""`jaxsharp sharpen`: images, folders of images and videos in, sharpened (or upscaled) files out.

    jaxsharp sharpen photo.jpg                        # -> photo_sharp.png beside it (also: python -m jaxsharp.infer)
    jaxsharp sharpen photos/ -o sharp/                # a folder, recursively; the output keeps the tree
    jaxsharp sharpen clip.mp4 --mode sr --scale 2     # -> clip_x2.mp4: frame rate and audio kept

Models (`--model`): `models.load` names (`student-small` / `student-tiny` / `student-base` are the shipped
`student_<size>_x<scale>`, the one trained for the task's mode if both are shipped; `teacher` the shipped teacher;
any shipped canonical name) or a path. The engine (buckets, padding, tiles, mode adapters): jaxsharp/engine.py.
`--backend onnxruntime` runs a student's exported ONNX graph in onnxruntime instead of XLA (`--precision` float32,
int8 or auto: jaxsharp/onnxruntime_backend.py).

Files: every format image_io reads. Outputs are PNG unless -o names another suffix; 16-bit PNGs stay 16-bit; the
ICC profile is carried over; alpha is kept (not sharpened; resized with MATLAB bicubic in sr mode); grayscale stays
grayscale: the model sees three equal channels and the output is their mean, the nearest grey (in squared error)
to whatever small colour the model adds. Animated files (GIF, WebP) are sharpened as their first frame, with a
warning. Unreadable files are reported one line each and skipped; the exit status
is then 1. Nothing is half-written (jaxsharp.atomic); an existing output or the input itself is replaced only with
--overwrite (otherwise skipped with a message).
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import os
import pathlib
import sys
import time
import warnings
from typing import Callable, Sequence

import numpy as np

from jaxsharp import degrade, image_io, models
from jaxsharp.engine import DEFAULT_BATCH, DEFAULT_BUCKET, DTYPES, MODES, Sharpener
from jaxsharp.onnxruntime_backend import BACKENDS, PRECISIONS

OUTPUT_TAGS = {"sharpen": "_sharp", "sr": "_x{scale}"}



@dataclasses.dataclass(frozen=True)
class Job:
    src: pathlib.Path
    dst: pathlib.Path
    is_video: bool


def _is_hidden(path: pathlib.Path, root: pathlib.Path) -> bool:
    # Dot-files include the temporary files jaxsharp.atomic writes beside an output while it is being written.
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def _looks_like_folder(path: pathlib.Path, raw: str) -> bool:
    return path.is_dir() or raw.endswith(("/", os.sep)) or not path.suffix


def plan_jobs(inputs: Sequence[str], output: str | None, *, tag: str) -> tuple[list[Job], list[str]]:
    """(jobs, errors): what to write where, from the command's inputs and -o.

    A file: beside it as <stem><tag>.png (videos keep their container), or into -o (a file, or a folder when it
    exists, ends with '/' or has no suffix). A folder: recursively into -o, or into <folder><tag> beside it, keeping
    the tree (dot-files and the output folder itself are skipped). Several inputs need -o to be a folder.
    """
    from jaxsharp import video
    from jaxsharp.image_io import IMAGE_SUFFIXES

    def out_name(src: pathlib.Path, stem: str) -> str:
        return stem + (video.output_suffix(src) if video.is_video(src) else ".png")

    out = pathlib.Path(output) if output else None
    out_is_folder = out is not None and (len(inputs) > 1 or _looks_like_folder(out, output))
    if out is not None and not out_is_folder and any(pathlib.Path(raw).is_dir() for raw in inputs):
        return [], [f"{output}: for a folder input, -o must be a folder"]
    if out is not None and len(inputs) > 1 and out.suffix and not out.is_dir():
        return [], [f"{output}: with several inputs, -o must be a folder"]
    jobs, errors, claimed = [], [], {}
    for raw in inputs:
        src = pathlib.Path(raw)
        if src.is_dir():
            root = out / src.name if out is not None and len(inputs) > 1 else out or src.with_name(src.name + tag)
            root_resolved = root.resolve()
            for path in sorted(src.rglob("*")):
                if not path.is_file() or _is_hidden(path, src) or root_resolved in path.resolve().parents:
                    continue
                if path.suffix.lower() in IMAGE_SUFFIXES or video.is_video(path):
                    rel = path.relative_to(src)
                    jobs.append(Job(path, root / rel.parent / out_name(path, rel.stem), video.is_video(path)))
        elif src.exists():
            if out is None:
                dst = src.with_name(out_name(src, src.stem + tag))
            elif out_is_folder:
                dst = out / out_name(src, src.stem)
            else:
                dst = out
            jobs.append(Job(src, dst, video.is_video(src)))
        else:
            errors.append(f"{src}: no such file or directory")
    unique = []
    for job in jobs:
        key = job.dst.resolve()
        if key in claimed:
            errors.append(f"{job.src}: its output {job.dst} would also be written for {claimed[key]}; skipped")
            continue
        claimed[key] = job.src
        unique.append(job)
    return unique, errors


def _crf(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value <= 51:
        raise argparse.ArgumentTypeError(f"must be in [0, 51] (H.264's CRF range), got {text}")
    return value


def _int_at_least(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def build_parser(prog: str = "jaxsharp sharpen") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description="Sharpen (or upscale) images, folders of images and videos.",
                                epilog="Example: jaxsharp sharpen photo.jpg  (writes photo_sharp.png beside it)")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, folders (recursive) or video files")
    p.add_argument("-o", "--output", metavar="PATH",
                   help="output file, or folder (default: beside each input, as NAME_sharp.png / NAME_x2.png)")
    p.add_argument("--mode", choices=MODES, default="sharpen",
                   help="sharpen: same size out (default); sr: --scale times larger out")
    p.add_argument("--scale", type=_int_at_least(1), default=None,
                   help=f"the model's scale (default: {models.DEFAULT_SCALE} for a named model, its own for a path)")
    p.add_argument("--model", default=models.DEFAULT_STUDENT,
                   help=f"{' | '.join(models.ALIASES)} | a shipped name ({', '.join(models.shipped())}) | PATH "
                        f"(default: {models.DEFAULT_STUDENT})")
    p.add_argument("--tile", type=_int_at_least(1), default=None,
                   help="run in tiles of this many input pixels (default: automatic for large inputs)")
    p.add_argument("--overlap", type=_int_at_least(0), default=None,
                   help="tile overlap in input pixels (default: the exact one for a student, 32 for the teacher)")
    p.add_argument("--batch", type=_int_at_least(1), default=DEFAULT_BATCH, help="frames per compiled call")
    p.add_argument("--bucket", type=_int_at_least(1), default=DEFAULT_BUCKET,
                   help="pad inputs up to multiples of this many pixels, so mixed sizes share compiles")
    p.add_argument("--dtype", choices=tuple(DTYPES), default="float32", help="compute dtype (--backend xla)")
    p.add_argument("--backend", choices=BACKENDS, default="xla",
                   help="xla (default), or onnxruntime: the student's ONNX graph in onnxruntime on the CPU, faster "
                        "on some CPUs (needs the export extra)")
    p.add_argument("--precision", choices=PRECISIONS, default="auto",
                   help="--backend onnxruntime: float32, int8 (the model's jaxsharp.quantize graph) or auto: int8 "
                        "where it was measured within 0.05 dB of float32 on Set5 and B100, else float32")
    p.add_argument("--crf", type=_crf, default=None,
                   help="videos: H.264 quality of the output, 0 (lossless) to 51 (default: 18, near-transparent, "
                        "so re-encoding keeps the sharpening; higher saves space and gives some of it back)")
    p.add_argument("--max-pixels", type=_int_at_least(1), default=None,
                   help="refuse images with more pixels than this (default: Pillow's decompression-bomb limit)")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs (and the input itself)")
    p.add_argument("-v", "--verbose", action="store_true", help="report compile and run time per shape")
    return p


class _Run:
    """One command's bookkeeping: messages on stderr, written paths on stdout, failures counted for the exit status."""

    def __init__(self, verbose: bool):
        self.verbose = verbose
        self.written = self.skipped = self.failed = 0

    def fail(self, message: str) -> None:
        self.failed += 1
        print(f"error: {message}", file=sys.stderr)

    def skip(self, message: str) -> None:
        self.skipped += 1
        print(f"skip: {message}", file=sys.stderr)

    def wrote(self, path: pathlib.Path) -> None:
        self.written += 1
        print(path)


def _save_image(job: Job, decoded, rgb: np.ndarray, engine: Sharpener, run: _Run) -> None:
    from PIL import Image

    from jaxsharp.image_io import write_image

    alpha = decoded.alpha
    if alpha is not None and engine.out_scale != 1:
        # MATLAB bicubic, as the colour of the sr baseline; the alpha is resized, never sharpened.
        alpha = np.clip(degrade.imresize_np(alpha, float(engine.out_scale)), 0.0, 1.0)
    fmt = Image.registered_extensions().get(job.dst.suffix.lower())
    if alpha is not None and fmt in ("JPEG", "MPO"):
        print(f"note: {job.dst}: JPEG has no alpha channel; the alpha of {job.src} is dropped", file=sys.stderr)
        alpha = None
    bits = 16 if decoded.bits == 16 and fmt == "PNG" else 8
    out = rgb.mean(axis=-1) if decoded.grayscale else rgb
    try:
        write_image(job.dst, out, bits=bits, alpha=alpha, icc_profile=decoded.icc_profile)
    except (OSError, ValueError) as e:
        run.fail(f"{job.dst}: cannot write ({e})")
        return
    run.wrote(job.dst)


def _sharpen_images(jobs: list[Job], engine: Sharpener, run: _Run) -> None:
    """Reads images one at a time and runs them in full batches per bucket; memory stays at a few batches."""
    from jaxsharp.image_io import AnimatedImageWarning, ImageReadError, read_image

    pending: dict[tuple[int, int], list] = collections.defaultdict(list)

    def flush(bucket):
        items = pending.pop(bucket)
        for (job, decoded), rgb in zip(items, engine.run_bucket([d.rgb for _, d in items])):
            _save_image(job, decoded, rgb, engine, run)

    for job in jobs:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", AnimatedImageWarning)
                decoded = read_image(job.src)
        except ImageReadError as e:
            run.fail(str(e))
            continue
        for warning in caught:  # one line each (the default display adds the source line of the warn call)
            print(f"warning: {warning.message}", file=sys.stderr)
        bucket = engine.bucket_shape(*decoded.size)
        pending[bucket].append((job, decoded))
        if len(pending[bucket]) == engine.batch:
            flush(bucket)
        elif sum(map(len, pending.values())) > 4 * engine.batch:  # many sizes: run the fullest bucket part-full
            flush(max(pending, key=lambda b: len(pending[b])))
    for bucket in list(pending):
        flush(bucket)


def _sharpen_video(job: Job, engine: Sharpener, run: _Run, crf: float | None = None) -> None:
    from jaxsharp import video

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            # start_bucket dispatches without waiting: decoding, the model and encoding overlap.
            summary = video.transcode(job.src, job.dst, engine.start_bucket, batch=engine.batch,
                                      scale=engine.out_scale, progress=sys.stderr.isatty(),
                                      crf=video.DEFAULT_CRF if crf is None else crf)
    except video.VideoError as e:
        run.fail(str(e))
        return
    for warning in caught:  # dropped audio, skipped damaged packets: one line each, as for images
        print(f"warning: {warning.message}", file=sys.stderr)
    if run.verbose:
        print(f"{job.src}: {summary.frames} frames at {float(summary.rate):.3f} fps, {summary.codec} "
              f"{summary.size[1]}x{summary.size[0]}, {summary.audio_streams} audio stream(s) copied", file=sys.stderr)
    run.wrote(job.dst)


def main(argv: Sequence[str] | None = None, *, prog: str = "jaxsharp sharpen") -> int:
    """The `jaxsharp sharpen` command. Exit status: 0 done, 1 some files failed, 2 bad usage or model."""
    args = build_parser(prog).parse_args(argv)
    image_io.ignore_decompression_bomb_warning()
    if args.max_pixels is not None:
        from PIL import Image

        Image.MAX_IMAGE_PIXELS = args.max_pixels  # image_io enforces Pillow's limit as an error
    try:
        model = models.load(args.model, scale=args.scale, mode=args.mode)
        tag = OUTPUT_TAGS[args.mode].format(scale=model.scale)
        engine = Sharpener(model, mode=args.mode, batch=args.batch, tile=args.tile, overlap=args.overlap,
                           dtype=args.dtype, bucket=args.bucket, backend=args.backend, precision=args.precision)
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    run = _Run(args.verbose)
    jobs, errors = plan_jobs(args.inputs, args.output, tag=tag)
    for message in errors:
        run.fail(message)
    todo = []
    for job in jobs:
        if job.dst.resolve() == job.src.resolve() and not args.overwrite:
            run.skip(f"{job.dst} is the input itself (pass --overwrite to replace it, or -o)")
        elif job.dst.exists() and not args.overwrite:
            run.skip(f"{job.dst} exists (pass --overwrite to replace it)")
        else:
            todo.append(job)
    start = time.perf_counter()
    _sharpen_images([j for j in todo if not j.is_video], engine, run)
    for job in todo:
        if job.is_video:
            _sharpen_video(job, engine, run, args.crf)
    if args.verbose:
        print(f"{args.model}: x{engine.scale} {engine.model_mode} model, {args.mode} task, {engine.backend} "
              f"{engine.precision}, "
              f"batch {engine.batch}, bucket {engine.bucket}, overlap {engine.overlap}; "
              f"{time.perf_counter() - start:.2f} s in all", file=sys.stderr)
        for line in engine.report():
            print(f"  {line}", file=sys.stderr)
    if run.failed or run.skipped or args.verbose:
        print(f"{run.written} written, {run.skipped} skipped, {run.failed} failed", file=sys.stderr)
    return 1 if run.failed else 0


if __name__ == "__main__":
    sys.exit(main())
