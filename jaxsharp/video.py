"""Video files through a frame function, with PyAV: decode, process frames in batches, encode; audio copied as is.

    summary = transcode("clip.mp4", "clip_sharp.mp4", process, batch=4, scale=1)

`process` takes a list of float32 RGB frames [H, W, 3] in [0, 1] (at most `batch`) and returns as many frames,
`scale` times larger. Video: H.264 (libx264, CRF 18) if PyAV's bundled FFmpeg has it, else MPEG-4 Part 2; yuv420p,
so an odd output width or height is padded by one repeated edge pixel. Each frame keeps its presentation time
(rounded to the frame rate's grid), so the average frame rate and the sync with the audio are kept. Audio streams are
remuxed packet by packet, never re-encoded; one the output container cannot hold (e.g. PCM into MP4) is dropped
with a warning. Subtitle and data streams, container metadata and rotation side data are not carried over.

PyAV is imported on first use, so images work without it. The output appears complete or not at all
(jaxsharp.atomic).
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import warnings
from fractions import Fraction
from typing import Callable

import numpy as np

from jaxsharp import atomic
from jaxsharp.image_io import to_uint8

VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv", ".avi", ".webm")
_CONTAINER_FORMATS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".avi": "avi"}
_CODECS = ("libx264", "mpeg4")  # first available wins
_CODEC_OPTIONS = {"libx264": {"crf": "18"}}
_MPEG4_QSCALE = 3  # MPEG-4 Part 2 has no CRF; a fixed quantiser of 3 is visually near-lossless


class VideoError(RuntimeError):
    """A video that cannot be read or written; one line naming the file."""


@dataclasses.dataclass(frozen=True)
class VideoSummary:
    frames: int
    rate: Fraction
    size: tuple[int, int]  # encoded (H, W)
    codec: str
    audio_streams: int
    dropped_audio: tuple[str, ...]


def is_video(path: str | os.PathLike) -> bool:
    return pathlib.Path(path).suffix.lower() in VIDEO_SUFFIXES


def output_suffix(src: str | os.PathLike) -> str:
    """The output container for a source: the same, except WebM (which cannot hold H.264 or MPEG-4) -> .mkv."""
    suffix = pathlib.Path(src).suffix.lower()
    return suffix if suffix in _CONTAINER_FORMATS else ".mkv"


def _av():
    try:
        import av
    except ImportError:
        raise VideoError("video needs PyAV: pip install 'av>=18.1,<19'") from None
    return av


def video_codec() -> str:
    """libx264 if PyAV's FFmpeg was built with it, else mpeg4."""
    av = _av()
    return next(c for c in _CODECS if c in av.codecs_available)


def transcode(src: str | os.PathLike, dst: str | os.PathLike,
              process: Callable[[list[np.ndarray]], list[np.ndarray]], *, batch: int, scale: int = 1,
              progress: bool = False) -> VideoSummary:
    """Decodes `src`, runs `process` on batches of frames, encodes to `dst` (atomically) with the audio copied."""
    av = _av()
    src, dst = pathlib.Path(src), pathlib.Path(dst)
    fmt = _CONTAINER_FORMATS.get(dst.suffix.lower())
    if fmt is None:
        raise VideoError(f"{dst}: cannot write this container; use one of {', '.join(_CONTAINER_FORMATS)}")
    try:
        source = av.open(str(src))
    except (av.error.FFmpegError, OSError, ValueError) as e:
        raise VideoError(f"{src}: cannot open video ({e})") from None
    try:
        with source:
            if not source.streams.video:
                raise VideoError(f"{src}: no video stream")
            summary = {}
            atomic.write_file(dst, lambda f: summary.update(_transcode(av, source, f, fmt, process, batch=batch,
                                                                       scale=scale, progress=progress)))
    except VideoError:
        raise
    except (av.error.FFmpegError, OSError, ValueError) as e:
        raise VideoError(f"{src}: {e}") from None
    if summary["dropped_audio"]:
        warnings.warn(f"{dst}: audio ({', '.join(summary['dropped_audio'])}) cannot go into {dst.suffix}; dropped "
                      "(write .mkv to keep it)", stacklevel=2)
    return VideoSummary(**summary)


def _transcode(av, source, file, fmt: str, process, *, batch: int, scale: int, progress: bool) -> dict:
    from tqdm import tqdm

    video_in = source.streams.video[0]
    video_in.thread_type = "AUTO"
    rate = Fraction(video_in.average_rate or video_in.guessed_rate or 25)
    height, width = video_in.codec_context.height * scale, video_in.codec_context.width * scale
    enc_h, enc_w = height + height % 2, width + width % 2  # yuv420p subsamples chroma 2x2
    codec = video_codec()
    with av.open(file, mode="w", format=fmt) as sink:
        video_out = sink.add_stream(codec, rate=rate)
        video_out.width, video_out.height, video_out.pix_fmt = enc_w, enc_h, "yuv420p"
        video_out.options = dict(_CODEC_OPTIONS.get(codec, {}))
        if codec == "mpeg4":
            video_out.codec_context.qscale = _MPEG4_QSCALE
        audio, dropped = {}, []
        for stream in source.streams.audio:
            if stream.codec_context.name in sink.supported_codecs:
                audio[stream.index] = sink.add_stream_from_template(stream)
            else:
                dropped.append(stream.codec_context.name)
        time_base = 1 / rate
        pending: list[tuple[np.ndarray, float | None]] = []
        state = {"frames": 0, "pts": -1}
        bar = tqdm(total=video_in.frames or None, unit="frame", disable=not progress, leave=False)

        def flush():
            outputs = process([frame for frame, _ in pending])
            for (_, seconds), out in zip(pending, outputs):
                pixels = to_uint8(out)
                if pixels.shape[:2] != (enc_h, enc_w):
                    pixels = np.pad(pixels, ((0, enc_h - pixels.shape[0]), (0, enc_w - pixels.shape[1]), (0, 0)),
                                    mode="edge")
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="rgb24")
                # The decoded time on the output's frame-rate grid; never repeated (encoders need rising pts).
                pts = round(seconds * rate) if seconds is not None else state["pts"] + 1
                state["pts"] = max(pts, state["pts"] + 1)
                frame.pts, frame.time_base = state["pts"], time_base
                for packet in video_out.encode(frame):
                    sink.mux(packet)
            state["frames"] += len(pending)
            bar.update(len(pending))
            pending.clear()

        with bar:
            for packet in source.demux(video_in, *[s for s in source.streams.audio if s.index in audio]):
                if packet.stream.type == "audio":
                    if packet.dts is not None:  # the demuxer's final flush packet carries no data
                        packet.stream = audio[packet.stream.index]
                        sink.mux(packet)
                    continue
                for decoded in packet.decode():
                    rgb = decoded.to_ndarray(format="rgb24").astype(np.float32) / np.float32(255.0)
                    pending.append((rgb, decoded.time))
                    if len(pending) == batch:
                        flush()
            if pending:
                flush()
        for packet in video_out.encode(None):
            sink.mux(packet)
    return dict(frames=state["frames"], rate=rate, size=(enc_h, enc_w), codec=codec, audio_streams=len(audio),
                dropped_audio=tuple(dropped))
