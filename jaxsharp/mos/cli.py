"""The `python -m jaxsharp.mos` (= `jaxsharp mos`) command: prepare, serve, report, simulate.

    python -m jaxsharp.mos prepare --out STUDY_DIR [--sets categories,Set14] [--methods bicubic,unsharp,student,hr]
    python -m jaxsharp.mos serve --study STUDY_DIR --db mos.sqlite [--host 127.0.0.1] [--port 8000]
    python -m jaxsharp.mos report --db mos.sqlite [--json FILE] [--plot FILE.png]
    python -m jaxsharp.mos simulate --study STUDY_DIR --db NEW.sqlite [--participants 20] [--seed 0]

Each subcommand imports only what it needs (prepare: JAX and the models; the others: the standard library,
and matplotlib for --plot). Errors are one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence


def _csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def build_parser(prog: str = "python -m jaxsharp.mos") -> argparse.ArgumentParser:
    from jaxsharp.mos import study as d

    parser = argparse.ArgumentParser(prog=prog, description="Mean-opinion-score study: prepare, serve, report.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("prepare", help="build a study: one crop per image, every method, lossless PNGs")
    p.add_argument("--out", required=True, metavar="STUDY_DIR", help="the study directory to write (must be new)")
    p.add_argument("--sets", default=",".join(d.DEFAULT_SETS),
                   help="comma-separated evaluate sets: Set5, Set14, B100, Urban100, Manga109, categories, "
                        "categories/<name> (default: %(default)s)")
    p.add_argument("--methods", default=",".join(d.DEFAULT_METHODS),
                   help=f"comma-separated, from {', '.join(d.METHOD_ORDER)}; hr is the hidden reference; "
                        "teacher needs --teacher-weights (default: %(default)s)")
    p.add_argument("--scale", type=int, default=2, choices=(2, 3, 4))
    p.add_argument("--mode", default="sharpen", choices=("sharpen", "sr"),
                   help="sharpen: every version is the HR size, from the bicubic-blurred image (default); "
                        "sr: from the low-resolution image")
    p.add_argument("--degradation", default="bicubic", metavar="NAME",
                   help="how inputs are made from the HR images, a jaxsharp.degrade registered name (default "
                        "%(default)s); an unknown name is refused with the list")
    p.add_argument("--crop", type=int, default=d.DEFAULT_CROP, help="crop side in HR pixels (default %(default)s)")
    p.add_argument("--margin", type=int, default=d.DEFAULT_MARGIN,
                   help="context around the crop that the methods see, HR pixels (default %(default)s)")
    p.add_argument("--student-weights", default=d.DEFAULT_STUDENT,
                   help="a shipped student name or a student directory (default %(default)s)")
    p.add_argument("--teacher-weights", help="a ported SwinIR directory or official .pth (needed for teacher)")
    p.add_argument("--data-root", default=None, help="folder holding benchmarks/ and categories/ (default: "
                                                     "$JAXSHARP_DATA, else ../shared/data beside the repository)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing STUDY_DIR")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")

    p = sub.add_parser("serve", help="serve the rating page; ratings go to an SQLite file")
    p.add_argument("--study", required=True, metavar="STUDY_DIR")
    p.add_argument("--db", required=True, metavar="FILE", help="SQLite file (created if missing)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default %(default)s: this machine only)")
    p.add_argument("--port", type=int, default=8000)

    p = sub.add_parser("report", help="MOS per method and category with 95%% confidence intervals")
    p.add_argument("--db", required=True, metavar="FILE")
    p.add_argument("--json", metavar="FILE", help="write the summary as JSON (atomically)")
    p.add_argument("--plot", metavar="FILE.png", help="write a bar chart with 95%% CI error bars")

    p = sub.add_parser("simulate", help="dry run: simulated participants rate the study over HTTP")
    p.add_argument("--study", required=True, metavar="STUDY_DIR")
    p.add_argument("--db", required=True, metavar="FILE", help="a new SQLite file for the simulated ratings")
    p.add_argument("--participants", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    return parser


def _prepare(args) -> int:
    from jaxsharp.mos import prepare

    kwargs = {} if args.data_root is None else {"data_root": args.data_root}
    manifest = prepare.prepare_study(args.out, _csv(args.sets), _csv(args.methods), scale=args.scale,
                                     mode=args.mode, crop=args.crop, margin=args.margin,
                                     student_weights=args.student_weights, teacher_weights=args.teacher_weights,
                                     overwrite=args.overwrite, progress=not args.no_progress,
                                     degradation=args.degradation, **kwargs)
    print(f"{args.out}: {len(manifest['images'])} images x {len(manifest['methods'])} methods "
          f"({', '.join(manifest['methods'])}) = {len(manifest['items'])} items")
    return 0


def _report(args) -> int:
    from jaxsharp.mos import report, store

    summary = report.summarize(store.read_ratings(args.db))
    if not summary["n_ratings"]:
        print(f"{args.db}: no ratings yet", file=sys.stderr)
        return 1
    print(report.markdown(summary))
    if args.json:
        report.write_json(args.json, summary)
    if args.plot:
        report.write_plot(args.plot, summary)
    return 0


def main(argv: Sequence[str] | None = None, prog: str = "python -m jaxsharp.mos") -> int:
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    from jaxsharp.mos import store, study

    errors = (study.StudyError, store.StoreError, FileExistsError)
    try:
        if args.command == "prepare":
            from jaxsharp import image_io
            from jaxsharp.mos.prepare import PrepareError

            image_io.ignore_decompression_bomb_warning()

            try:
                return _prepare(args)
            except PrepareError as e:
                parser.exit(2, f"{parser.prog} prepare: error: {e}\n")
        if args.command == "serve":
            from jaxsharp.mos import server

            return server.serve(args.study, args.db, args.host, args.port)
        if args.command == "report":
            return _report(args)
        from jaxsharp.mos import simulate

        stored = simulate.simulate(args.study, args.db, args.participants, args.seed)
        print(f"{args.participants} simulated participants stored {stored} ratings in {args.db}")
        return 0
    except errors as e:
        parser.exit(2, f"{parser.prog} {args.command}: error: {e}\n")


if __name__ == "__main__":
    sys.exit(main())
