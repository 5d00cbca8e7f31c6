"""`jaxsharp stream`: raw frames through a pipe, in order, none dropped unless asked, clean ends.

References: the input bytes themselves (identity), the engine run on each frame alone (`jaxsharp.sharpen`), and
FFmpeg's own yuv420p <-> rgb24 conversion (PyAV) for the planar layout.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time

import numpy as np
import pytest

import jaxsharp
from jaxsharp import stream
from jaxsharp.demo import SAMPLE
from jaxsharp.image_io import read_image_rgb, to_uint8

W, H = 48, 32


def _frames(n: int, w: int = W, h: int = H) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(n)]


def _identity(rgb):
    return lambda: rgb


def test_frames_come_out_whole_and_in_order():
    frames = _frames(12)
    sink = io.BytesIO()
    stats = stream.run_stream(io.BytesIO(b"".join(f.tobytes() for f in frames)), sink, _identity, width=W, height=H,
                              queue_size=2)
    assert sink.getvalue() == b"".join(f.tobytes() for f in frames)
    assert (stats.frames_in, stats.frames_out, stats.dropped, stats.partial_bytes) == (12, 12, 0, 0)
    assert len(stats.latencies_s) == 12 and min(stats.latencies_s) >= 0


def test_a_last_partial_frame_is_reported_and_dropped():
    frames = _frames(3)
    sink = io.BytesIO()
    stats = stream.run_stream(io.BytesIO(b"".join(f.tobytes() for f in frames) + b"abc"), sink, _identity,
                              width=W, height=H)
    assert stats.frames_out == 3 and stats.partial_bytes == 3 and len(sink.getvalue()) == 3 * W * H * 3


def test_yuv420p_round_trips_through_ffmpegs_conversion():
    import av

    rgb = to_uint8(read_image_rgb(SAMPLE)[:64, :96])
    planes = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p").to_ndarray()
    sink = io.BytesIO()
    stream.run_stream(io.BytesIO(planes.tobytes() * 2), sink, _identity, width=96, height=64, pix_fmt="yuv420p")
    out = np.frombuffer(sink.getvalue(), np.uint8).reshape(2, 64 * 3 // 2, 96)
    # Identity in between: yuv -> rgb -> yuv gives the planes back to within rounding.
    assert np.abs(out.astype(int) - planes.astype(int)).max() <= 2
    with pytest.raises(ValueError, match="even width and height"):
        stream.frame_bytes(95, 64, "yuv420p")


class _SlowSource(io.RawIOBase):
    """A live source: frames arrive every `period` seconds, numbered in their first byte."""

    def __init__(self, n: int, period: float):
        self.frames = [np.full((H, W, 3), i, np.uint8).tobytes() for i in range(n)]
        self.period, self.pending = period, b""

    def readable(self):
        return True

    def readinto(self, b):
        if not self.pending:
            if not self.frames:
                return 0
            time.sleep(self.period)
            self.pending = self.frames.pop(0)
        n = min(len(b), len(self.pending))
        b[:n], self.pending = self.pending[:n], self.pending[n:]
        return n


def _slow(rgb):
    time.sleep(0.03)
    return lambda: rgb


@pytest.mark.parametrize("drop_late", [False, True])
def test_a_slow_model_blocks_the_input_or_drops_the_oldest_with_drop_late(drop_late):
    sink = io.BytesIO()
    stats = stream.run_stream(_SlowSource(30, 0.002), sink, _slow, width=W, height=H, queue_size=1,
                              drop_late=drop_late)
    ids = [int(v) for v in np.frombuffer(sink.getvalue(), np.uint8).reshape(-1, H * W * 3)[:, 0]]
    assert ids == sorted(ids)  # never reordered
    assert stats.frames_in == 30 and stats.frames_out == len(ids)
    if drop_late:
        assert stats.dropped > 0 and len(ids) == 30 - stats.dropped and ids[-1] == 29
    else:
        assert stats.dropped == 0 and ids == list(range(30))


class _ClosingSink(io.RawIOBase):
    def __init__(self, after: int):
        self.after, self.writes = after, 0

    def writable(self):
        return True

    def write(self, b):
        if self.writes == self.after:
            raise BrokenPipeError(32, "Broken pipe")
        self.writes += 1
        return len(b)


def test_a_closed_output_ends_the_stream_quietly():
    frames = _frames(20)
    stats = stream.run_stream(io.BytesIO(b"".join(f.tobytes() for f in frames)), _ClosingSink(3), _identity,
                              width=W, height=H)
    assert stats.closed_output and stats.frames_out == 3


def test_an_error_in_a_frame_stops_the_stream_and_is_raised():
    def broken(rgb):
        raise RuntimeError("model exploded")

    with pytest.raises(RuntimeError, match="model exploded"):
        stream.run_stream(io.BytesIO(b"".join(f.tobytes() for f in _frames(5))), io.BytesIO(), broken,
                          width=W, height=H)


def test_the_command_equals_the_engine_frame_by_frame(tmp_path):
    frames = [to_uint8(read_image_rgb(SAMPLE)[i : i + 40, 2 * i : 2 * i + 60]) for i in range(4)]
    proc = subprocess.run([sys.executable, "-m", "jaxsharp", "stream", "--size", "60x40", "--model", "student-tiny",
                           "-v"], input=b"".join(f.tobytes() for f in frames), capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert "stream: 4 frames out of 4 in" in proc.stderr.decode()
    out = np.frombuffer(proc.stdout, np.uint8).reshape(4, 40, 60, 3)
    expected = jaxsharp.sharpen([f.astype(np.float32) / 255 for f in frames], model="student-tiny", batch=1)
    np.testing.assert_array_equal(out, np.stack([to_uint8(e) for e in expected]))


def test_usage_errors_are_one_line(capsys):
    assert stream.main(["--size", "61x40", "--pix-fmt", "yuv420p"]) == 2
    assert capsys.readouterr().err.strip().startswith("error: yuv420p needs an even width")
    assert stream.main(["--size", "60x40", "--model", "no_such_model"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: no_such_model") and len(err.splitlines()) == 1
    with pytest.raises(SystemExit):
        stream.main(["--size", "sixty"])


def test_the_stream_benchmark_measures_through_pipes(tmp_path, capsys):
    from jaxsharp import bench

    out = tmp_path / "stream.json"
    assert bench.main(["stream", "--json", str(out), "--sizes", "64x48", "--models", "student-tiny",
                       "--frames", "6"]) == 0
    (row,) = json.loads(out.read_text())["results"]
    assert row["model"] == "student-tiny" and row["size"] == [64, 48] and row["fps"] > 0
    assert 0 < row["latency_ms_median"] <= row["latency_ms_p95"]
    assert "| student-tiny | 64x48 |" in capsys.readouterr().out


def test_the_video_benchmark_times_file_to_file_beside_the_model(tmp_path, capsys):
    from jaxsharp import bench

    out = tmp_path / "video.json"
    assert bench.main(["video", "--json", str(out), "--sizes", "64x48", "--models", "student-tiny",
                       "--frames", "5"]) == 0
    (row,) = json.loads(out.read_text())["results"]
    assert row["frames"] == 5 and row["end_to_end_fps"] > 0 and row["model_fps"] > 0
