"""`jaxsharp stream`: live video through a pipe, raw frames in on standard input, sharpened raw frames out.

    ffmpeg -i in.mp4 -f rawvideo -pix_fmt rgb24 - | jaxsharp stream --size 1280x720 \\
        | ffplay -f rawvideo -pixel_format rgb24 -video_size 1280x720 -
    ffmpeg -f v4l2 -i /dev/video0 -f rawvideo -pix_fmt yuv420p - | jaxsharp stream --size 640x480 --pix-fmt yuv420p \\
        | ffmpeg -f rawvideo -pix_fmt yuv420p -s 640x480 -i - -f v4l2 /dev/video2     # a v4l2loopback camera

Three threads overlap the work: one reads frames (exactly W*H*3 bytes for rgb24, W*H*3/2 for yuv420p: the Y
plane then the 2x2-subsampled U and V), one converts them and dispatches the model (an accelerator
computes while the next frame is read: `engine.start_bucket`), one waits for each result, converts
and writes it. Frames come out in the order they went in,
none dropped, with the input blocked while the queue (`--queue` frames) is full; with `--drop-late` a frame that
finds the queue full pushes out the oldest waiting one instead, for live sources that must not stall. End of input
ends the stream after the last frame is written (a last partial frame is reported and dropped); a closed output
pipe (the player quit) ends it quietly, status 0. `-v` reports frames, frames per second and latency (ms from a
frame's last byte read to its last byte written) on stderr. yuv420p frames are converted to RGB and back by
FFmpeg's swscale (PyAV, BT.601 limited range both ways, so an unsharpened frame round-trips).

The model runs through the inference engine (jaxsharp/engine.py) at batch 1, compiled once before the first frame
is read (`--backend onnxruntime`: the student's ONNX graph in onnxruntime, jaxsharp/onnxruntime_backend.py); `--mode
sr` writes frames `scale` times larger.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import queue
import sys
import threading
import time
from typing import BinaryIO, Callable, Sequence

import numpy as np

PIX_FMTS = ("rgb24", "yuv420p")
_END = object()  # end of input, through the queues


def frame_bytes(width: int, height: int, pix_fmt: str) -> int:
    if pix_fmt == "rgb24":
        return width * height * 3
    if width % 2 or height % 2:
        raise ValueError(f"yuv420p needs an even width and height, got {width}x{height}")
    return width * height * 3 // 2


def to_rgb(buf: bytes | bytearray, width: int, height: int, pix_fmt: str) -> np.ndarray:
    """One raw frame -> float32 RGB [H, W, 3] in [0, 1]."""
    if pix_fmt == "rgb24":
        pixels = np.frombuffer(buf, np.uint8).reshape(height, width, 3)
    else:
        from jaxsharp.video import yuv420p_to_rgb

        pixels = yuv420p_to_rgb(np.frombuffer(buf, np.uint8).reshape(height * 3 // 2, width))
    return pixels.astype(np.float32) / np.float32(255.0)


def from_rgb(rgb: np.ndarray, pix_fmt: str) -> bytes:
    """float RGB [H, W, 3] in [0, 1] -> one raw frame."""
    from jaxsharp.image_io import to_uint8

    pixels = np.ascontiguousarray(to_uint8(rgb))
    if pix_fmt == "rgb24":
        return pixels.tobytes()
    import av

    return av.VideoFrame.from_ndarray(pixels, format="rgb24").reformat(format="yuv420p").to_ndarray().tobytes()


def read_exactly(stream: BinaryIO, size: int) -> bytes | None:
    """`size` bytes, or what is left at end of input (b"" when nothing), None never; partial reads are retried."""
    buf = bytearray(size)
    view, got = memoryview(buf), 0
    while got < size:
        n = stream.readinto(view[got:])
        if not n:
            break
        got += n
    return bytes(buf[:got]) if got < size else bytes(buf)


@dataclasses.dataclass
class StreamStats:
    frames_in: int = 0
    frames_out: int = 0
    dropped: int = 0
    partial_bytes: int = 0  # bytes of a last, incomplete frame (dropped)
    latencies_s: list = dataclasses.field(default_factory=list)
    first_in: float | None = None
    last_out: float | None = None
    closed_output: bool = False

    def fps(self) -> float:
        if not self.frames_out or self.first_in is None or self.last_out is None or self.last_out <= self.first_in:
            return float("nan")
        return self.frames_out / (self.last_out - self.first_in)

    def to_json(self) -> dict:
        lat = np.asarray(self.latencies_s) * 1e3
        pct = (lambda q: float(np.percentile(lat, q))) if lat.size else (lambda q: None)  # noqa: E731
        return {"frames_in": self.frames_in, "frames_out": self.frames_out, "dropped": self.dropped,
                "fps": None if np.isnan(self.fps()) else self.fps(),
                "latency_ms": {"median": pct(50), "p95": pct(95), "max": pct(100)},
                "closed_output": self.closed_output}

    def summary(self) -> str:
        lat = np.asarray(self.latencies_s) * 1e3
        parts = [f"{self.frames_out} frames out of {self.frames_in} in", f"{self.fps():.2f} fps"]
        if lat.size:
            parts.append(f"latency ms median {np.median(lat):.1f}, p95 {np.percentile(lat, 95):.1f}, "
                         f"max {lat.max():.1f}")
        if self.dropped:
            parts.append(f"{self.dropped} dropped (--drop-late)")
        return "stream: " + "; ".join(parts)


def run_stream(source: BinaryIO, sink: BinaryIO, process: Callable[[np.ndarray], Callable[[], np.ndarray]], *,
               width: int, height: int, pix_fmt: str = "rgb24", queue_size: int = 4, drop_late: bool = False
               ) -> StreamStats:
    """Reads raw frames from `source` until its end, writes processed raw frames to `sink` in order.

    process: float32 RGB [H, W, 3] -> a function returning the output frame (dispatch now, wait when called).
    Raises the first error of any thread (after stopping the others); a closed `sink` ends the stream quietly.
    """
    size = frame_bytes(width, height, pix_fmt)
    stats = StreamStats()
    inbox: queue.Queue = queue.Queue(maxsize=max(queue_size, 1))
    outbox: queue.Queue = queue.Queue(maxsize=max(queue_size, 1))
    stop = threading.Event()
    errors: list[BaseException] = []

    def put(q: queue.Queue, item) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def reader():
        try:
            while not stop.is_set():
                buf = read_exactly(source, size)
                if len(buf) < size:
                    stats.partial_bytes = len(buf)
                    break
                now = time.perf_counter()
                stats.frames_in += 1
                stats.first_in = stats.first_in if stats.first_in is not None else now
                item = (buf, now)
                if drop_late:
                    put_dropping_oldest(item)
                elif not put(inbox, item):
                    return
        except BaseException as e:  # reported by run_stream
            errors.append(e)
            stop.set()
        finally:
            put(inbox, _END)  # waits for room: the end never pushes out the last frame

    def put_dropping_oldest(item) -> None:
        while not stop.is_set():
            try:
                inbox.put_nowait(item)
                return
            except queue.Full:
                try:
                    inbox.get_nowait()
                    stats.dropped += 1
                except queue.Empty:
                    pass

    def writer():
        try:
            while True:
                item = outbox.get()
                if item is _END:
                    return
                fetch, t_in = item
                data = from_rgb(fetch(), pix_fmt)
                try:
                    sink.write(data)
                    sink.flush()
                except BrokenPipeError:
                    stats.closed_output = True
                    stop.set()
                    return
                now = time.perf_counter()
                stats.frames_out += 1
                stats.last_out = now
                stats.latencies_s.append(now - t_in)
        except BaseException as e:
            errors.append(e)
            stop.set()

    threads = [threading.Thread(target=reader, name="stream-reader", daemon=True),
               threading.Thread(target=writer, name="stream-writer", daemon=True)]
    for t in threads:
        t.start()
    try:
        while True:
            try:
                item = inbox.get(timeout=0.1)
            except queue.Empty:
                if stop.is_set():
                    break
                continue
            if item is _END:
                break
            buf, t_in = item
            if not put(outbox, (process(to_rgb(buf, width, height, pix_fmt)), t_in)):
                break
    except BaseException as e:
        errors.append(e)
        stop.set()
    finally:
        while threads[1].is_alive():  # the writer drains what is queued, then stops
            try:
                outbox.put(_END, timeout=0.1)
                break
            except queue.Full:
                continue
        threads[1].join()
        stop.set()
        threads[0].join(timeout=1.0)  # a reader blocked on an open input stays behind (daemon)
    if errors and not isinstance(errors[0], BrokenPipeError):
        raise errors[0]
    return stats


def build_parser(prog: str = "jaxsharp stream") -> argparse.ArgumentParser:
    from jaxsharp import models
    from jaxsharp.engine import DTYPES, MODES
    from jaxsharp.onnxruntime_backend import BACKENDS, PRECISIONS
    from jaxsharp.student.info import parse_frame_size

    p = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0],
                                epilog=__doc__.split("\n\n", 2)[2],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=parse_frame_size, required=True, metavar="WxH", help="input frame width x height")
    p.add_argument("--pix-fmt", choices=PIX_FMTS, default="rgb24", help="raw frame layout, in and out (default rgb24)")
    p.add_argument("--model", default=models.DEFAULT_STUDENT,
                   help=f"{' | '.join(models.ALIASES)} | a shipped name | PATH (default {models.DEFAULT_STUDENT})")
    p.add_argument("--mode", choices=MODES, default="sharpen", help="sharpen: same size out; sr: --scale x larger")
    p.add_argument("--scale", type=int, default=None, help="the model's scale (default 2 for a name)")
    p.add_argument("--dtype", choices=tuple(DTYPES), default="float32", help="compute dtype (--backend xla)")
    p.add_argument("--backend", choices=BACKENDS, default="xla", help="xla (default) or onnxruntime (students)")
    p.add_argument("--precision", choices=PRECISIONS, default="auto",
                   help="--backend onnxruntime: float32, int8 or auto (int8 where it met the quality rule)")
    p.add_argument("--queue", type=int, default=4, metavar="N", help="frames waiting on each side (default 4)")
    p.add_argument("--drop-late", action="store_true",
                   help="when the queue is full, drop the oldest waiting frame instead of blocking the input")
    p.add_argument("-v", "--verbose", action="store_true", help="frames, fps and latency on stderr at the end")
    p.add_argument("--stats", metavar="FILE.json", help="write the same figures as JSON at the end (atomically)")
    return p


def main(argv: Sequence[str] | None = None, *, prog: str = "jaxsharp stream") -> int:
    """Exit status: 0 done (end of input or output closed), 1 a frame failed, 2 bad usage or model."""
    args = build_parser(prog).parse_args(argv)
    height, width = args.size
    try:
        frame_bytes(width, height, args.pix_fmt)
        if args.queue < 1:
            raise ValueError(f"--queue must be >= 1, got {args.queue}")
        from jaxsharp import models
        from jaxsharp.engine import Sharpener

        model = models.load(args.model, scale=args.scale, mode=args.mode)
        engine = Sharpener(model, mode=args.mode, batch=1, dtype=args.dtype, backend=args.backend,
                           precision=args.precision)
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    engine.run_bucket([np.zeros((height, width, 3), np.float32)])  # compile before the first frame arrives

    def process(rgb: np.ndarray) -> Callable[[], np.ndarray]:
        fetch = engine.start_bucket([rgb])
        return lambda: fetch()[0]

    try:
        stats = run_stream(sys.stdin.buffer, sys.stdout.buffer, process, width=width, height=height,
                           pix_fmt=args.pix_fmt, queue_size=args.queue, drop_late=args.drop_late)
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # one line, whatever a frame ran into (the stream is already stopped)
        print(f"error: stream stopped: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    if stats.closed_output:
        # Python would report the closed pipe again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    if stats.partial_bytes:
        size = frame_bytes(width, height, args.pix_fmt)
        print(f"warning: input ended inside a frame ({stats.partial_bytes} of {size} "
              "bytes); dropped", file=sys.stderr)
    if args.verbose:
        print(stats.summary() + (" (output closed)" if stats.closed_output else ""), file=sys.stderr)
    if args.stats:
        from jaxsharp import atomic

        atomic.write_json(args.stats, stats.to_json())
    return 0


if __name__ == "__main__":
    sys.exit(main(prog="python -m jaxsharp.stream"))
