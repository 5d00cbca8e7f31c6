"""Compression round trips of one HWC float32 RGB image in [0, 1]: JPEG (Pillow) and H.264 / HEVC (PyAV).

uint8 exists only here, at the codec's edge: the image is rounded to 8-bit levels, encoded, decoded and returned as
float32 in [0, 1] (on the 255 levels), the same shape.

JPEG: Pillow's libjpeg at `quality` (1-95; above 95 libjpeg's tables go lossless-ish and Pillow advises against
it) with 4:2:0 chroma subsampling, what cameras, browsers and OpenCV's default write.

Video: a still is not what a stream codec sees, so `video_roundtrip` encodes a short clip made from the image with
a small synthetic camera pan (`pan` pixels per frame, the earlier frames cut from a reflect-padded canvas) and
returns the last frame decoded: with x264's/x265's default GOP (B-frames at `preset` medium) the last frame is a
P-frame predicted through motion compensation, so its artefacts are those of a real stream (blocking, smeared
texture from skipped blocks) rather than of an intra-only frame. CRF is the codecs' constant-quality knob
(23 / 28 are x264's / x265's defaults; higher is worse). Frames are coded yuv420p, as streams are; frames smaller
than 64 px a side or of odd size are reflect-padded up (x265 crashed the process on ~32x48 frames in this PyAV
build, and 4:2:0 needs even sides) and cropped back. One thread per codec, and x265 without its thread pool: the
same image gives the same bytes every time.
"""

from __future__ import annotations

import fractions
import io

import numpy as np
from PIL import Image

from jaxsharp.image_io import to_uint8

# Codec name -> (libav encoder, libav decoder).
VIDEO_CODECS = {"h264": ("libx264", "h264"), "hevc": ("libx265", "hevc")}
_MIN_SIDE = 64
_RATE = 25


def _check_rgb(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be HWC RGB, got shape {image.shape}")
    return image


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """JPEG round trip at `quality` (integer 1-95), 4:2:0; float32 HWC RGB in [0, 1] in and out."""
    image = _check_rgb(image)
    if int(quality) != quality or not 1 <= quality <= 95:
        raise ValueError(f"quality must be an integer in [1, 95], got {quality}")
    buffer = io.BytesIO()
    Image.fromarray(to_uint8(image)).save(buffer, format="JPEG", quality=int(quality), subsampling=2)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return np.asarray(decoded.convert("RGB"), dtype=np.float32) / np.float32(255.0)


def video_codec_available(codec: str) -> bool:
    """Whether this PyAV build can encode `codec` ("h264" through libx264, "hevc" through libx265)."""
    import av

    if codec not in VIDEO_CODECS:
        raise ValueError(f"unknown codec {codec!r}; valid codecs: {', '.join(VIDEO_CODECS)}")
    encoder, decoder = VIDEO_CODECS[codec]
    return encoder in av.codecs_available and decoder in av.codecs_available


def require_video_codec(codec: str) -> None:
    """RuntimeError (one line) unless this PyAV build has `codec`'s encoder and decoder."""
    if not video_codec_available(codec):
        encoder = VIDEO_CODECS[codec][0]
        raise RuntimeError(f"{codec} needs the {encoder} encoder, which this PyAV build lacks (not in "
                           f"av.codecs_available); install a PyAV wheel whose FFmpeg has {encoder}")


def _clip_frames(pixels: np.ndarray, frames: int, pan: int) -> list[np.ndarray]:
    """`frames` views of a camera panning right `pan` px per frame, ending on `pixels` itself."""
    travel = pan * (frames - 1)
    canvas = np.pad(pixels, ((0, 0), (travel, 0), (0, 0)), mode="reflect") if travel else pixels
    w = pixels.shape[1]
    return [np.ascontiguousarray(canvas[:, i * pan: i * pan + w]) for i in range(frames)]


def video_roundtrip(image: np.ndarray, codec: str, crf: float, *, frames: int = 4, pan: int = 2,
                    preset: str = "medium") -> np.ndarray:
    """The last frame of a `frames`-frame clip of `image` panning `pan` px per frame, encoded by `codec` ("h264",
    "hevc") at `crf` and decoded; float32 HWC RGB in [0, 1], the image's shape. RuntimeError if this PyAV build
    lacks the codec."""
    import av

    image = _check_rgb(image)
    if codec not in VIDEO_CODECS:
        raise ValueError(f"unknown codec {codec!r}; valid codecs: {', '.join(VIDEO_CODECS)}")
    crf = float(crf)
    if not 0 <= crf <= 51:
        raise ValueError(f"crf must be in [0, 51], got {crf}")
    if int(frames) != frames or frames < 1:
        raise ValueError(f"frames must be a positive integer, got {frames}")
    if int(pan) != pan or pan < 0:
        raise ValueError(f"pan must be a non-negative integer, got {pan}")
    require_video_codec(codec)
    encoder_name, decoder_name = VIDEO_CODECS[codec]
    h, w = image.shape[:2]
    enc_h, enc_w = max(_MIN_SIDE, h + h % 2), max(_MIN_SIDE, w + w % 2)
    pixels = np.pad(to_uint8(image), ((0, enc_h - h), (0, enc_w - w), (0, 0)), mode="reflect")

    encoder = av.CodecContext.create(encoder_name, "w")
    encoder.width, encoder.height, encoder.pix_fmt = enc_w, enc_h, "yuv420p"
    encoder.time_base = fractions.Fraction(1, _RATE)
    encoder.framerate = fractions.Fraction(_RATE, 1)
    encoder.thread_count = 1
    options = {"crf": f"{crf:g}", "preset": preset}
    if encoder_name == "libx265":
        # Numeric log level (0 = errors only): x265 otherwise prints a banner per encoder to stderr.
        options["x265-params"] = "log-level=0:pools=none:frame-threads=1"
    encoder.options = options
    packets = []
    for index, frame_pixels in enumerate(_clip_frames(pixels, int(frames), int(pan))):
        frame = av.VideoFrame.from_ndarray(frame_pixels, format="rgb24")
        frame.pts = index
        packets.extend(encoder.encode(frame))
    packets.extend(encoder.encode(None))

    decoder = av.CodecContext.create(decoder_name, "r")
    decoder.thread_count = 1
    decoded = []
    for packet in packets:
        decoded.extend(decoder.decode(packet))
    decoded.extend(decoder.decode(None))
    if len(decoded) != frames:
        raise RuntimeError(f"{codec} round trip decoded {len(decoded)} frames of {frames}")
    # FFmpeg's own rgb24 conversion, as a player built on it shows the frame (it darkens ~1 level on average; the
    # sharpen command reads frames with video.frame_to_rgb instead). Kept: student_real_x2 was trained on it.
    last = max(decoded, key=lambda f: f.pts).to_ndarray(format="rgb24")
    return last[:h, :w].astype(np.float32) / np.float32(255.0)
