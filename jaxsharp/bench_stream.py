"""The video paths timed end to end: `jaxsharp stream` through real pipes, `jaxsharp sharpen clip.mp4` file to file.

    python -m jaxsharp.bench stream --json stream.json --sizes 1280x720,1920x1080 --models student-tiny,student-small
    python -m jaxsharp.bench video --json video.json --sizes 1920x1080 --models student-tiny,student-small

For each (model, size) the command runs twice as a subprocess, fed raw rgb24 frames (the bundled sample image
tiled to the size, shifted a pixel per frame) by a writer thread and drained by a reader thread:
- throughput: `--frames` frames written as fast as the pipe takes them; FPS = frames out / (last frame out - first
  frame in), as the stream itself measures it (`--stats`), so the compile before the first frame is not counted;
- latency: frames written at `--load` (default 0.7) times that throughput, so queues stay short as with a live
  camera; median and 95th percentile of ms from a frame's last byte read to its last byte written.

`video` makes an H.264 clip of `--frames` frames (the same content) in a temporary folder and times
`video.transcode` with the engine `jaxsharp sharpen` builds (compiled first): decode, model, encode, frames per
second end to end, beside the model's own time per frame on the same frames (`engine.run_batch` alone).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

from jaxsharp import atomic
from jaxsharp.stream import frame_bytes
from jaxsharp.student.info import parse_frame_size


def _content(width: int, height: int) -> np.ndarray:
    from jaxsharp.demo import SAMPLE
    from jaxsharp.image_io import read_image_rgb, to_uint8

    tile = to_uint8(read_image_rgb(SAMPLE))
    reps = (-(-height // tile.shape[0]), -(-width // tile.shape[1]), 1)
    return np.ascontiguousarray(np.tile(tile, reps)[:height, :width])


def run_once(model: str, width: int, height: int, *, frames: int, rate: float | None, extra=()) -> dict:
    """One `jaxsharp stream` run fed `frames` frames (at `rate` per second, or as fast as possible); its --stats."""
    base = _content(width, height)
    with tempfile.TemporaryDirectory() as tmp:
        stats_file = pathlib.Path(tmp) / "stats.json"
        cmd = [sys.executable, "-m", "jaxsharp.stream", "--size", f"{width}x{height}", "--model", model,
               "--stats", str(stats_file), *extra]
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        received = [0]

        def drain():
            while chunk := proc.stdout.read(1 << 20):
                received[0] += len(chunk)

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        start = None
        try:
            for i in range(frames):
                if rate and start is not None:
                    delay = start + i / rate - time.perf_counter()
                    if delay > 0:
                        time.sleep(delay)
                proc.stdin.write(np.roll(base, i, axis=1).tobytes())
                proc.stdin.flush()
                start = time.perf_counter() if start is None else start  # after the first frame: compiled by then
            proc.stdin.close()
        except BrokenPipeError:
            pass
        err = proc.stderr.read().decode(errors="replace")
        proc.wait(timeout=600)
        reader.join(timeout=60)
        if proc.returncode != 0 or not stats_file.is_file():
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {err.strip()[-500:]}")
        stats = json.loads(stats_file.read_text())
    stats["bytes_out"] = received[0]
    if received[0] != stats["frames_out"] * frame_bytes(width, height, "rgb24"):
        raise RuntimeError(f"{model} {width}x{height}: {received[0]} bytes out for {stats['frames_out']} frames")
    return stats


def build_parser(prog: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 2)[2],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", required=True, metavar="FILE")
    p.add_argument("--sizes", default="1280x720,1920x1080", help="comma-separated WxH (default %(default)s)")
    p.add_argument("--models", default="student-tiny,student-small", help="comma-separated --model values")
    p.add_argument("--frames", type=int, default=40, help="frames per run (default %(default)s)")
    p.add_argument("--load", type=float, default=0.7, help="latency runs feed this fraction of the throughput")
    return p


def main(argv: list[str] | None = None, *, prog: str = "python -m jaxsharp.bench stream") -> int:
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    try:
        sizes = [parse_frame_size(s)[::-1] for s in args.sizes.split(",") if s]  # (W, H)
    except argparse.ArgumentTypeError as e:
        parser.error(str(e))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"jaxsharp stream through pipes, rgb24, {args.frames} frames per run; {os.cpu_count()} CPUs; load average "
          f"at start {load:.2f}", flush=True)
    rows = []
    for model in [m for m in args.models.split(",") if m]:
        for width, height in sizes:
            full = run_once(model, width, height, frames=args.frames, rate=None)
            rate = args.load * full["fps"]
            paced = run_once(model, width, height, frames=max(args.frames // 2, 10), rate=rate)
            rows.append({"model": model, "size": [width, height], "fps": full["fps"], "paced_fps": rate,
                         "latency_ms_median": paced["latency_ms"]["median"],
                         "latency_ms_p95": paced["latency_ms"]["p95"],
                         "saturated_latency_ms_median": full["latency_ms"]["median"]})
            print(f"  {model} {width}x{height}: {full['fps']:.2f} fps; at {rate:.2f} fps in, latency median "
                  f"{rows[-1]['latency_ms_median']:.0f} ms, p95 {rows[-1]['latency_ms_p95']:.0f} ms", flush=True)
    print("\n| model | size | FPS (pipe full) | latency ms, median / p95 (fed at 70% of that) |\n|---|---|---:|---:|")
    for r in rows:
        print(f"| {r['model']} | {r['size'][0]}x{r['size'][1]} | {r['fps']:.2f} | "
              f"{r['latency_ms_median']:.0f} / {r['latency_ms_p95']:.0f} |")
    atomic.write_json(args.json, {"cpus": os.cpu_count(), "load_average": load, "results": rows}, allow_nan=False)
    return 0


def make_clip(path: pathlib.Path, width: int, height: int, frames: int, rate: int = 25) -> pathlib.Path:
    """An H.264 (or MPEG-4) clip of the sample image panning a pixel per frame."""
    import av

    from jaxsharp.video import video_codec

    base = _content(width, height)
    with av.open(str(path), "w") as out:
        stream = out.add_stream(video_codec(), rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(np.roll(base, i, axis=1), format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def time_video(model: str, width: int, height: int, *, frames: int, batch: int = 4) -> dict:
    """File-to-file FPS of `jaxsharp sharpen clip.mp4` (its engine, compiled first) and the model's own FPS."""
    from jaxsharp import models, video
    from jaxsharp.engine import Sharpener

    engine = Sharpener(models.load(model), batch=batch)
    x = _content(width, height).astype(np.float32)[None] / np.float32(255.0)
    engine.run_bucket([x[0]] * batch)  # compile the full batch
    engine.run_bucket([x[0]] * (frames % batch or batch))  # and the last, shorter one
    start = time.perf_counter()
    for _ in range(2):
        engine.run_bucket([x[0]] * batch)
    model_fps = 2 * batch / (time.perf_counter() - start)
    with tempfile.TemporaryDirectory() as tmp:
        clip = make_clip(pathlib.Path(tmp) / "clip.mp4", width, height, frames)
        start = time.perf_counter()
        summary = video.transcode(clip, pathlib.Path(tmp) / "out.mp4", engine.start_bucket, batch=batch)
        seconds = time.perf_counter() - start
    return {"model": model, "size": [width, height], "frames": summary.frames, "batch": batch,
            "end_to_end_fps": summary.frames / seconds, "model_fps": model_fps}


def video_main(argv: list[str] | None = None, *, prog: str = "python -m jaxsharp.bench video") -> int:
    parser = build_parser(prog)
    parser.set_defaults(sizes="1920x1080", frames=24)
    args = parser.parse_args(argv)
    sizes = [parse_frame_size(s)[::-1] for s in args.sizes.split(",") if s]  # (W, H)
    rows = [time_video(m, w, h, frames=args.frames) for m in args.models.split(",") if m for w, h in sizes]
    print("| model | size | frames | file to file FPS (decode, model, encode) | model alone FPS |\n"
          "|---|---|---:|---:|---:|")
    for r in rows:
        print(f"| {r['model']} | {r['size'][0]}x{r['size'][1]} | {r['frames']} | {r['end_to_end_fps']:.2f} | "
              f"{r['model_fps']:.2f} |")
    atomic.write_json(args.json, {"cpus": os.cpu_count(), "results": rows}, allow_nan=False)
    return 0
