"""Image files <-> float32 RGB arrays: the only place uint8/uint16 pixels exist.

Reading normalises every mode Pillow knows (grayscale, palette, alpha, 16-bit) to HWC float32 RGB in [0, 1].
Writing is atomic (temp file + rename) so an interrupted run never leaves a half-written image.
"""

from __future__ import annotations

import os
import pathlib
import tempfile

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")


class ImageReadError(ValueError):
    """A file that is not a readable image; the message names the file and the problem."""


def _to_float_rgb(img: Image.Image) -> np.ndarray:
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit grayscale: keep the full precision instead of Pillow's 8-bit conversion.
        arr = np.asarray(img, dtype=np.float32) / 65535.0
        arr = np.clip(arr, 0.0, 1.0)
        return np.repeat(arr[..., None], 3, axis=-1)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        img = img.convert("RGBA").convert("RGB")
    elif img.mode != "RGB":
        img = img.convert("RGB")
    return np.asarray(img, dtype=np.float32) / 255.0


def read_image_rgb(path: str | os.PathLike) -> np.ndarray:
    """Reads an image file as float32 RGB, shape [H, W, 3], values in [0, 1].

    EXIF orientation is applied. Raises ImageReadError (naming the file) for anything unreadable.
    """
    path = pathlib.Path(path)
    try:
        with Image.open(path) as img:
            img = ImageOps.exif_transpose(img)
            img.load()
            return _to_float_rgb(img)
    except FileNotFoundError:
        raise ImageReadError(f"{path}: no such file") from None
    except UnidentifiedImageError:
        raise ImageReadError(f"{path}: not a recognised image file") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise ImageReadError(f"{path}: cannot decode image ({e})") from None


def to_uint8(image: np.ndarray) -> np.ndarray:
    """float [0, 1] -> uint8 as the SR literature's scripts do it: `np.uint8((x * 255).round())` (half to even)."""
    return np.clip(np.round(np.asarray(image, dtype=np.float64) * 255.0), 0, 255).astype(np.uint8)


def write_image(path: str | os.PathLike, image: np.ndarray, *, bits: int = 8) -> pathlib.Path:
    """Writes float32 HWC (or HW) in [0, 1] to `path` atomically; `bits` 8 or 16 (16 only for PNG)."""
    path = pathlib.Path(path)
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if bits == 8:
        pixels = to_uint8(image)
        pil = Image.fromarray(pixels)
    elif bits == 16:
        if path.suffix.lower() != ".png":
            raise ValueError(f"{path}: 16-bit output needs a .png file")
        pixels = np.clip(np.round(np.asarray(image, dtype=np.float64) * 65535.0), 0, 65535).astype(np.uint16)
        if pixels.ndim == 2:
            pil = Image.fromarray(pixels)
        else:
            # Pillow has no 16-bit RGB mode, so 16-bit colour PNGs are encoded here directly.
            return _write_png16_rgb(path, pixels)
    else:
        raise ValueError(f"bits must be 8 or 16, got {bits}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"{path}: unknown image extension {path.suffix!r}")
    _atomic_save(path, lambda f: pil.save(f, format=fmt))
    return path


def _atomic_save(path: pathlib.Path, save) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            save(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _write_png16_rgb(path: pathlib.Path, pixels: np.ndarray) -> pathlib.Path:
    import struct
    import zlib

    h, w, c = pixels.shape
    color_type = {3: 2, 4: 6}[c]
    raw = pixels.astype(">u2").reshape(h, w * c)
    rows = b"".join(b"\x00" + row.tobytes() for row in raw)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, color_type, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(rows, 6)) + chunk(b"IEND", b""))
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_save(path, lambda f: f.write(png))
    return path
