"""Image files <-> float32 arrays: the only place uint8/uint16 pixels exist.

    image = read_image("photo.jpg")        # DecodedImage: rgb [H, W, 3], alpha, bits, grayscale, icc_profile, format
    rgb = read_image_rgb("photo.jpg")      # just the float32 RGB
    write_image("out.png", rgb, bits=16, alpha=image.alpha, icc_profile=image.icc_profile)

Reading normalises every mode Pillow knows (grayscale, palette, alpha, CMYK, 16-bit) to HWC float32 RGB in [0, 1]
and applies the EXIF orientation. 16-bit colour PNGs, which Pillow decodes to 8 bits, are decoded by `png16`.
Animated files (GIF, WebP, APNG) and multi-page TIFFs are read as their first frame, with an AnimatedImageWarning.
Images larger than `PIL.Image.MAX_IMAGE_PIXELS` are refused before any pixel is decoded (decompression bombs).
Writing is atomic (jaxsharp.atomic) so an interrupted run never leaves a half-written image.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import warnings

import numpy as np
from PIL import Image, UnidentifiedImageError

from jaxsharp import atomic, png16

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")

_SIXTEEN_BIT_GRAY_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")
_GRAY_MODES = ("1", "L", "LA", "La", "F") + _SIXTEEN_BIT_GRAY_MODES
_ALPHA_MODES = ("LA", "La", "PA", "RGBA", "RGBa")
_EXIF_ORIENTATION = 0x0112
_RAISE_LIMIT = "if the image is genuine, raise the limit (jaxsharp sharpen --max-pixels, PIL.Image.MAX_IMAGE_PIXELS)"


class ImageReadError(ValueError):
    """A file that is not a readable image; the message names the file and the problem."""


def ignore_decompression_bomb_warning() -> None:
    """Silences Pillow's DecompressionBombWarning for the process: `read_image` refuses those files as an error.

    For command lines, once at start-up: a filter set per call would race with other threads reading images.
    """
    warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


class AnimatedImageWarning(UserWarning):
    """A file with several frames (animated GIF / WebP / PNG, multi-page TIFF): only the first one is read."""


@dataclasses.dataclass(frozen=True)
class DecodedImage:
    """One image file's pixels and what a round trip through a model should keep.

    rgb: float32 [H, W, 3] in [0, 1], EXIF orientation applied (grayscale files: three equal channels).
    alpha: float32 [H, W] in [0, 1], or None if the file has no alpha channel (or transparent colour).
    bits: bits per channel in the file, 8 or 16.
    grayscale: the file stores one colour channel (L, LA, I;16, ...).
    icc_profile: the embedded ICC profile if it describes the colours returned (RGB, or grey for grayscale files);
        a CMYK or Lab profile is dropped, since the pixels here are already converted to RGB.
    format: Pillow's format name ("PNG", "JPEG", "WEBP", ...).
    """

    rgb: np.ndarray
    alpha: np.ndarray | None
    bits: int
    grayscale: bool
    icc_profile: bytes | None
    format: str

    @property
    def size(self) -> tuple[int, int]:
        """(H, W)."""
        return self.rgb.shape[0], self.rgb.shape[1]


def orient(array: np.ndarray, orientation: int) -> np.ndarray:
    """Applies EXIF orientation 1..8 to an [H, W, ...] array (as PIL.ImageOps.exif_transpose does to images)."""
    if orientation in (5, 6, 7, 8):
        array = np.swapaxes(array, 0, 1)  # 5: transpose; 6, 7, 8 are transpose followed by a flip
        flips = {5: (), 6: (1,), 7: (0, 1), 8: (0,)}[orientation]
    else:
        flips = {2: (1,), 3: (0, 1), 4: (0,)}.get(orientation, ())
    return np.flip(array, flips) if flips else array


def _icc_colour_space(profile: bytes) -> bytes:
    return profile[16:20] if len(profile) >= 20 else b""


def _is_png16_colour(path: pathlib.Path) -> bool:
    """A 16-bit PNG that Pillow would decode to 8 bits per channel (colour or grey + alpha; grey alone is I;16)."""
    with open(path, "rb") as f:
        header = png16.read_header(f.read(33))
    return header is not None and header.bit_depth == 16 and header.color_type in (2, 4, 6)


def _decode_png16(data: bytes) -> tuple[np.ndarray, np.ndarray | None, int, bool]:
    pixels = png16.decode(data).astype(np.float32) / np.float32(65535.0)
    grayscale = pixels.shape[-1] <= 2
    colour = np.repeat(pixels[..., :1], 3, axis=-1) if grayscale else pixels[..., :3]
    alpha = pixels[..., -1] if pixels.shape[-1] in (2, 4) else None
    return colour, alpha, 16, grayscale


def _decode_pil(img: Image.Image) -> tuple[np.ndarray, np.ndarray | None, int, bool]:
    img.load()
    mode = img.mode
    if mode in _SIXTEEN_BIT_GRAY_MODES:
        gray = np.clip(np.asarray(img, dtype=np.float32) / np.float32(65535.0), 0.0, 1.0)
        return np.repeat(gray[..., None], 3, axis=-1), None, 16, True
    has_alpha = mode in _ALPHA_MODES or "transparency" in img.info
    grayscale = mode in _GRAY_MODES
    if has_alpha:
        rgba = np.asarray(img.convert("RGBA"), dtype=np.float32) / np.float32(255.0)
        return rgba[..., :3], rgba[..., 3], 8, grayscale
    return np.asarray(img.convert("RGB"), dtype=np.float32) / np.float32(255.0), None, 8, grayscale


def read_image(path: str | os.PathLike) -> DecodedImage:
    """Reads an image file (see `DecodedImage`). Raises ImageReadError, one line naming the file, if unreadable.

    Files with more pixels than `PIL.Image.MAX_IMAGE_PIXELS` (Pillow's decompression-bomb limit; None disables
    it) are refused from their header, before memory is allocated for the pixels.
    """
    path = pathlib.Path(path)
    limit = Image.MAX_IMAGE_PIXELS
    try:
        # Pillow only warns between 1x and 2x its limit, and the limit is enforced below as an error. The warning
        # is not silenced here: warnings.catch_warnings is process-wide state, not safe in grain's reader threads;
        # the command lines filter it once at start-up (`ignore_decompression_bomb_warning`).
        with Image.open(path) as img:
            w, h = img.size
            if limit is not None and w * h > limit:
                raise ImageReadError(f"{path}: {w}x{h} is {w * h:,} pixels, more than the limit of {limit:,} "
                                     f"(a decompression bomb?); {_RAISE_LIMIT}")
            # Each returns (rgb float32 [H, W, 3], alpha float32 [H, W] | None, bits, grayscale), unrotated.
            if img.format == "PNG" and _is_png16_colour(path):
                rgb, alpha, bits, grayscale = _decode_png16(path.read_bytes())
            else:
                rgb, alpha, bits, grayscale = _decode_pil(img)
            orientation = img.getexif().get(_EXIF_ORIENTATION, 1)
            icc = img.info.get("icc_profile") or None
            fmt = img.format or path.suffix.lstrip(".").upper()
            # After decoding: counting a GIF's frames seeks through them (and back to the first).
            frames = getattr(img, "n_frames", 1) if getattr(img, "is_animated", False) else 1
    except FileNotFoundError:
        raise ImageReadError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImageReadError(f"{path}: is a directory") from None
    except UnidentifiedImageError:
        raise ImageReadError(f"{path}: not a recognised image file") from None
    except Image.DecompressionBombError:
        raise ImageReadError(f"{path}: more than twice the limit of {limit:,} pixels (a decompression bomb?); "
                             f"{_RAISE_LIMIT}") from None
    except ImageReadError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise ImageReadError(f"{path}: cannot decode image ({e})") from None
    if frames > 1:
        warnings.warn(f"{path}: {fmt} with {frames} frames; only the first frame is read", AnimatedImageWarning,
                      stacklevel=2)
    wanted = b"GRAY" if grayscale else b"RGB "
    if icc is not None and _icc_colour_space(icc) != wanted:
        icc = None
    if orientation in range(2, 9):
        rgb = np.ascontiguousarray(orient(rgb, orientation))
        alpha = None if alpha is None else np.ascontiguousarray(orient(alpha, orientation))
    return DecodedImage(rgb=rgb, alpha=alpha, bits=bits, grayscale=grayscale, icc_profile=icc, format=fmt)


def read_image_rgb(path: str | os.PathLike) -> np.ndarray:
    """Reads an image file as float32 RGB, shape [H, W, 3], values in [0, 1] (alpha dropped; see `read_image`)."""
    return read_image(path).rgb


_QUANTIZE_CHUNK = 1 << 22  # elements per float64 temporary: 32 MiB, whatever the image size


def _to_levels(image: np.ndarray, top: int, dtype) -> np.ndarray:
    # Rounds in float64 (exact half-to-even at every level) but chunk by chunk: whole-image float64 temporaries
    # were the peak of an 8000x6000 sharpen (two 1.15 GB arrays beside the input and the output).
    x = np.asarray(image)
    flat = x.reshape(-1)
    out = np.empty(flat.shape, dtype)
    for start in range(0, flat.size, _QUANTIZE_CHUNK):
        chunk = flat[start:start + _QUANTIZE_CHUNK].astype(np.float64) * float(top)
        np.round(chunk, out=chunk)
        np.clip(chunk, 0, top, out=chunk)
        out[start:start + _QUANTIZE_CHUNK] = chunk
    return out.reshape(x.shape)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """float [0, 1] -> uint8 as the SR literature's scripts do it: `np.uint8((x * 255).round())` (half to even)."""
    return _to_levels(image, 255, np.uint8)


def to_uint16(image: np.ndarray) -> np.ndarray:
    """float [0, 1] -> uint16 levels, rounded to nearest."""
    return _to_levels(image, 65535, np.uint16)


def write_image(path: str | os.PathLike, image: np.ndarray, *, bits: int = 8, alpha: np.ndarray | None = None,
                icc_profile: bytes | None = None) -> pathlib.Path:
    """Writes float HWC RGB (or HW / HW1 grey) in [0, 1] to `path` atomically, format from the suffix.

    bits: 8 or 16 (16 only for PNG). alpha: optional float [H, W] in [0, 1] (refused for formats without alpha).
    icc_profile: embedded where the format can hold one (PNG, JPEG, WebP, TIFF).
    """
    path = pathlib.Path(path)
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[-1] != 3):
        raise ValueError(f"{path}: write_image expects HWC RGB or HW grey, got shape {image.shape}")
    if alpha is not None:
        alpha = np.asarray(alpha)
        if alpha.shape != image.shape[:2]:
            raise ValueError(f"{path}: alpha shape {alpha.shape} does not match the image's {image.shape[:2]}")
        image = np.concatenate([image.reshape(*image.shape[:2], -1), alpha[..., None]], axis=-1)
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"{path}: unknown image extension {path.suffix!r}")
    if alpha is not None and fmt in ("JPEG", "MPO"):
        raise ValueError(f"{path}: {fmt} cannot store an alpha channel")
    if bits == 16:
        if fmt != "PNG":
            raise ValueError(f"{path}: 16-bit output needs a .png file")
        data = png16.encode(to_uint16(image), icc_profile=icc_profile)
        return atomic.write_file(path, lambda f: f.write(data))
    if bits != 8:
        raise ValueError(f"bits must be 8 or 16, got {bits}")
    pil = Image.fromarray(to_uint8(image))
    options = {"icc_profile": icc_profile} if icc_profile and fmt in ("PNG", "JPEG", "WEBP", "TIFF") else {}
    if fmt in ("JPEG", "WEBP"):
        options["quality"] = 95  # an output users keep: Pillow's default 75 would undo the sharpening
    return atomic.write_file(path, lambda f: pil.save(f, format=fmt, **options))
