"""Video files through a frame function, with PyAV: decode, process frames in batches, encode; audio copied as is.

    summary = transcode("clip.mp4", "clip_sharp.mp4", process, batch=4, scale=1)

`process` takes a list of float32 RGB frames [H, W, 3] in [0, 1] (at most `batch`) and returns as many frames,
`scale` times larger, or a function returning them (work dispatched to an accelerator, `engine.start_bucket`).
Encoding runs in its own thread, so it overlaps decoding and the model; frames are kept in order. Video: H.264
(libx264 at `crf`, default DEFAULT_CRF = 18) if PyAV's bundled FFmpeg has it, else MPEG-4 Part 2 (a fixed
quantiser); yuv420p, so an odd output width or height is padded by one repeated edge pixel. Each frame keeps its
presentation time (rounded to the frame rate's grid), so the average frame rate and the sync with the audio are
kept. Audio streams are remuxed packet by packet, never re-encoded; one the output container cannot hold (e.g. PCM
into MP4) is dropped with a warning. Subtitle and data streams, container metadata and rotation side data are not carried over.

PyAV is imported on first use, so images work without it. The output appears complete or not at all
(jaxsharp.atomic).

Damaged files: every failure is a `VideoError`, one line naming the file, and no output is left behind. A video
packet the decoder rejects as invalid data is skipped, as the ffmpeg command does, and counted
(`VideoSummary.damaged_packets`, with a warning); a file with no decodable frame, a stream with no decoder or no
frame size, a frame whose size differs from the stream's, or a container the demuxer cannot read through is an
error. Decoding always ends: a sequential demuxer consumes at least one byte of the file per packet, so more packets
than the file has bytes means a damaged index replaying the same bytes, and is an error too.
tests/test_video_mutations.py checks this on a thousand byte-flipped, truncated and spliced files.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import queue
import threading
import warnings
from fractions import Fraction
from typing import Callable

import numpy as np

from jaxsharp import atomic
from jaxsharp.image_io import to_uint8

VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv", ".avi", ".webm")
_CONTAINER_FORMATS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".avi": "avi"}
_CODECS = ("libx264", "mpeg4")  # first available wins
# CRF 18 is near-transparent for x264: re-encoding a sharpened low-bitrate stream at it keeps the gain
# (experiments/video_realistic.py measures the gain at CRF 0 / 18 / 23 of the output); higher values trade it for size.
DEFAULT_CRF = 18.0
_MPEG4_QSCALE = 3  # MPEG-4 Part 2 has no CRF; a fixed quantiser of 3 is visually near-lossless
_MAX_RATE = 1000  # fps; a larger (or non-positive) rate in a header is damage, and the next guess is used


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
    undecodable_audio: int = 0  # audio streams of a codec FFmpeg does not know (a damaged header), dropped
    damaged_packets: int = 0  # video packets the decoder rejected as invalid data, skipped


# Y'CbCr -> R'G'B' (ITU-R BT.601 / BT.709): R = Y + a Cr, G = Y - b Cb - c Cr, B = Y + d Cb.
_YUV_TO_RGB = {"bt601": (1.402, 0.344136, 0.714136, 1.772), "bt709": (1.5748, 0.187324, 0.468124, 1.8556)}
_AVCOL_SPC_BT709 = 1  # FFmpeg's AVColorSpace for BT.709; anything else (unspecified, 470BG, 170M) is read as BT.601
_AVCOL_RANGE_JPEG = 2  # full range; anything else (unspecified, MPEG) is limited range


def yuv420p_to_rgb(planes: np.ndarray, *, matrix: str = "bt601", full_range: bool = False) -> np.ndarray:
    """8-bit yuv420p planes [H * 3 / 2, W] (Y, then U, then V, as FFmpeg lays them out) -> uint8 RGB [H, W, 3].

    In float64 with rounding, chroma repeated 2x2. Why not FFmpeg's own conversion (VideoFrame.to_ndarray("rgb24")):
    its fast integer path darkens by ~1.2 levels on average (measured on Kodak crops: PSNR-Y of a lossless yuv420p
    round trip 46.7 dB that way, 57.5 dB this way), which every decode and re-encode would add again."""
    planes = np.asarray(planes)
    h, w = planes.shape[0] * 2 // 3, planes.shape[1]
    y = planes[:h].astype(np.float64)
    u = planes[h:h + h // 4].reshape(h // 2, w // 2).astype(np.float64).repeat(2, 0).repeat(2, 1)
    v = planes[h + h // 4:h + h // 2].reshape(h // 2, w // 2).astype(np.float64).repeat(2, 0).repeat(2, 1)
    if full_range:
        cb, cr = u - 128.0, v - 128.0
    else:
        y, cb, cr = (y - 16.0) * (255.0 / 219.0), (u - 128.0) * (255.0 / 224.0), (v - 128.0) * (255.0 / 224.0)
    a, b, c, d = _YUV_TO_RGB[matrix]
    rgb = np.stack([y + a * cr, y - b * cb - c * cr, y + d * cb], axis=-1)
    return np.clip(np.round(rgb), 0, 255).astype(np.uint8)


def frame_to_rgb(frame) -> np.ndarray:
    """A decoded PyAV VideoFrame -> uint8 RGB [H, W, 3]: 8-bit yuv420p by `yuv420p_to_rgb` with the frame's
    matrix and range tags; any other pixel format by FFmpeg."""
    if frame.format.name == "yuv420p" and frame.width % 2 == 0 and frame.height % 2 == 0:
        matrix = "bt709" if getattr(frame, "colorspace", None) == _AVCOL_SPC_BT709 else "bt601"
        full = getattr(frame, "color_range", None) == _AVCOL_RANGE_JPEG
        return yuv420p_to_rgb(frame.to_ndarray(), matrix=matrix, full_range=full)
    return frame.to_ndarray(format="rgb24")


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
              progress: bool = False, crf: float = DEFAULT_CRF) -> VideoSummary:
    """Decodes `src`, runs `process` on batches of frames, encodes to `dst` (atomically) with the audio copied.

    crf: libx264's constant rate factor for the output (0 lossless ... 51; ignored by the MPEG-4 fallback).
    Raises VideoError (one line naming the file) for anything unreadable or unwritable; see the module docstring.
    """
    if not 0 <= float(crf) <= 51:
        raise ValueError(f"crf must be in [0, 51], got {crf}")
    av = _av()
    src, dst = pathlib.Path(src), pathlib.Path(dst)
    fmt = _CONTAINER_FORMATS.get(dst.suffix.lower())
    if fmt is None:
        raise VideoError(f"{dst}: cannot write this container; use one of {', '.join(_CONTAINER_FORMATS)}")
    try:
        # Damaged metadata is still text to show, never a reason to refuse the video.
        source = av.open(str(src), metadata_errors="replace")
    except (av.error.FFmpegError, OSError, ValueError) as e:
        raise VideoError(f"{src}: cannot open video ({_reason(e)})") from None
    with source:
        video_in = _video_stream(source, src)
        summary = {}
        try:
            atomic.write_file(dst, lambda f: summary.update(_transcode(av, source, video_in, f, fmt, process,
                                                                       src=src, batch=batch, scale=scale,
                                                                       progress=progress, crf=crf)))
        except av.error.FFmpegError as e:
            # The last guard: _transcode turns the decoder's errors into VideoError where it can say more; what
            # reaches here is FFmpeg refusing what a damaged stream led to (a demuxer stopping mid-file, an
            # encoder or muxer rejecting the parameters). Python errors are not caught: they are bugs.
            raise VideoError(f"{src}: cannot transcode ({_reason(e)})") from None
        except OSError as e:
            raise VideoError(f"{dst}: cannot write ({_reason(e)})") from None
    if summary["dropped_audio"]:
        warnings.warn(f"{dst}: audio ({', '.join(summary['dropped_audio'])}) cannot go into {dst.suffix}; dropped "
                      "(write .mkv to keep it)", stacklevel=2)
    if summary["undecodable_audio"]:
        warnings.warn(f"{src}: {summary['undecodable_audio']} audio stream(s) with no decoder (damaged or unsupported "
                      "codec) dropped", stacklevel=2)
    if summary["damaged_packets"]:
        warnings.warn(f"{src}: {summary['damaged_packets']} damaged video packet(s) skipped; "
                      f"{summary['frames']} frames written", stacklevel=2)
    return VideoSummary(**summary)


def _reason(e: BaseException) -> str:
    """One line: FFmpeg's description of an error (without the file name and log PyAV appends), else str(e)."""
    text = getattr(e, "strerror", None) or str(e) or type(e).__name__
    return " ".join(text.split())


def _video_stream(source, src: pathlib.Path):
    """The first video stream, checked for what _transcode needs: a decoder and a frame size."""
    if not source.streams.video:
        raise VideoError(f"{src}: no video stream")
    stream = source.streams.video[0]
    context = stream.codec_context  # None when FFmpeg has no decoder for the codec the header names
    if context is None:
        raise VideoError(f"{src}: no decoder for the video stream (damaged header or unsupported codec)")
    if not (context.width > 0 and context.height > 0):
        raise VideoError(f"{src}: the video stream has no frame size ({context.width}x{context.height})")
    return stream


def _frame_rate(stream) -> Fraction:
    """The stream's average rate, else FFmpeg's guess, else 25 fps; a header's rate outside (0, 1000] is damage."""
    for rate in (stream.average_rate, stream.guessed_rate):
        if rate and 0 < rate <= _MAX_RATE:
            return Fraction(rate)
    return Fraction(25)


def _packet_budget(src: pathlib.Path, source) -> int:
    """The most packets demuxing `src` may yield: the hang guard.

    Each packet of a sequential demuxer holds at least one byte of the file, and each stream ends with one empty
    flush packet; more than that is a damaged index (e.g. an MP4 sample table) replaying the same bytes, which
    would otherwise run on for as long as the index claims.
    """
    return os.path.getsize(src) + len(source.streams)


def _transcode(av, source, video_in, file, fmt: str, process, *, src: pathlib.Path, batch: int, scale: int,
               crf: float, progress: bool) -> dict:
    from tqdm import tqdm

    video_in.thread_type = "AUTO"
    rate = _frame_rate(video_in)
    in_size = (video_in.codec_context.height, video_in.codec_context.width)
    height, width = in_size[0] * scale, in_size[1] * scale
    enc_h, enc_w = height + height % 2, width + width % 2  # yuv420p subsamples chroma 2x2
    packet_budget = _packet_budget(src, source)
    codec = video_codec()
    with av.open(file, mode="w", format=fmt) as sink:
        video_out = sink.add_stream(codec, rate=rate)
        video_out.width, video_out.height, video_out.pix_fmt = enc_w, enc_h, "yuv420p"
        if codec == "libx264":
            video_out.options = {"crf": f"{float(crf):g}"}
        if codec == "mpeg4":
            video_out.codec_context.qscale = _MPEG4_QSCALE
        audio, dropped, undecodable = {}, [], 0
        for stream in source.streams.audio:
            if stream.codec_context is None:  # no codec FFmpeg knows (a damaged header): nothing to remux by
                undecodable += 1
            elif stream.codec_context.name in sink.supported_codecs:
                audio[stream.index] = sink.add_stream_from_template(stream)
            else:
                dropped.append(stream.codec_context.name)
        time_base = 1 / rate
        pending: list[tuple[np.ndarray, float | None]] = []
        state = {"frames": 0, "pts": -1}
        bar = tqdm(total=video_in.frames if video_in.frames > 0 else None, unit="frame", disable=not progress,
                   leave=False)
        # Decoding (this thread), the model (the device, dispatched without waiting when `process` returns a
        # function) and encoding (the writer thread, which also muxes the audio: one thread touches the sink)
        # overlap; the queue keeps the order and holds at most two batches in flight.
        jobs: queue.Queue = queue.Queue(maxsize=2)
        failed: list[BaseException] = []

        def encode(outputs, times):
            for seconds, out in zip(times, outputs):
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
            state["frames"] += len(times)
            bar.update(len(times))

        def writer():
            try:
                while (job := jobs.get()) is not None:
                    kind, payload = job
                    if kind == "audio":
                        sink.mux(payload)
                    else:
                        result, times = payload
                        encode(result() if callable(result) else result, times)
            except BaseException as e:  # raised by the decoding thread
                failed.append(e)
                while jobs.get() is not None:  # let the decoder finish its puts
                    pass

        def send(job) -> None:
            if failed:
                raise failed[0]
            jobs.put(job)

        def flush():
            send(("video", (process([frame for frame, _ in pending]), [t for _, t in pending])))
            pending.clear()

        thread = threading.Thread(target=writer, name="video-writer", daemon=True)
        thread.start()
        packets, damaged, first_damage = 0, 0, ""
        try:
            with bar:
                for packet in source.demux(video_in, *[s for s in source.streams.audio if s.index in audio]):
                    packets += 1
                    if packets > packet_budget:
                        raise VideoError(f"{src}: damaged index (more than {packet_budget} packets from a file of "
                                         f"{os.path.getsize(src)} bytes)")
                    if packet.stream.type == "audio":
                        if packet.dts is not None:  # the demuxer's final flush packet carries no data
                            packet.stream = audio[packet.stream.index]
                            send(("audio", packet))
                        continue
                    try:
                        frames = packet.decode()
                    except av.error.InvalidDataError as e:  # a corrupt packet: skip it, as the ffmpeg command does
                        damaged += 1
                        first_damage = first_damage or _reason(e)
                        continue
                    for decoded in frames:
                        if (decoded.height, decoded.width) != in_size:
                            raise VideoError(f"{src}: a frame of {decoded.width}x{decoded.height} in a "
                                             f"{in_size[1]}x{in_size[0]} stream (damaged, or a size change this "
                                             "cannot re-encode)")
                        rgb = frame_to_rgb(decoded).astype(np.float32) / np.float32(255.0)
                        pending.append((rgb, decoded.time))
                        if len(pending) == batch:
                            flush()
                if pending:
                    flush()
        finally:
            jobs.put(None)
            thread.join()
        if failed:
            raise failed[0]
        if not state["frames"]:
            damage = f"; {damaged} damaged packet(s): {first_damage}" if damaged else ""
            raise VideoError(f"{src}: no video frame could be decoded{damage}")
        for packet in video_out.encode(None):
            sink.mux(packet)
    return dict(frames=state["frames"], rate=rate, size=(enc_h, enc_w), codec=codec, audio_streams=len(audio),
                dropped_audio=tuple(dropped), undecodable_audio=undecodable, damaged_packets=damaged)
