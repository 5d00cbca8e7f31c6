"""16-bit PNG in NumPy: Pillow decodes 48- and 64-bit colour PNGs to 8 bits per channel, so they are read here.

    pixels = decode(data)            # uint16 [H, W, C]: C = 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA
    data = encode(pixels, icc_profile=profile)

The decoder follows the PNG specification for bit depth 16 (colour types 0, 2, 4, 6): every chunk's CRC is
checked, the five row filters are undone, Adam7 interlacing is supported. None / Sub / Up rows are undone one row
at a time with whole-row NumPy operations. Average and Paeth depend on the reconstructed pixel to the left as well
as the row above, so no row can be vectorised; those rows are undone along anti-diagonals instead (every pixel on
x + y = d depends only on diagonals d - 1 and d - 2), in bands of rows so the skewed copy stays small: H + W steps
per band rather than one step per pixel.

The encoder chooses per row among None, Sub and Up (libpng's minimum-sum-of-absolute-differences heuristic).
Average and Paeth would compress photographs a few percent better, but every file this project writes is read back
by the decoder above, and those three decode with whole-row operations (the teacher cache is read every epoch).
"""

from __future__ import annotations

import dataclasses
import struct
import zlib

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}  # colour type -> samples per pixel (16-bit PNGs have no palette)
_COLOR_TYPE = {c: t for t, c in CHANNELS.items()}
# Adam7 passes: (first row, first column, row step, column step).
_ADAM7 = ((0, 0, 8, 8), (0, 4, 8, 8), (4, 0, 8, 4), (0, 2, 4, 4), (2, 0, 4, 2), (0, 1, 2, 2), (1, 0, 2, 1))
_WAVEFRONT_BAND = 256  # rows per anti-diagonal sweep: the skewed copy is (band + W) x band pixels


_ABS_SIGNED = np.abs(np.arange(256, dtype=np.uint8).view(np.int8).astype(np.int16)).astype(np.uint8)


class PngError(ValueError):
    """A PNG that is corrupt, truncated or not 16-bit; the message says which."""


@dataclasses.dataclass(frozen=True)
class Header:
    width: int
    height: int
    bit_depth: int
    color_type: int
    interlace: int


def read_header(data: bytes) -> Header | None:
    """The IHDR of a PNG byte string; None if `data` does not start with the PNG signature."""
    if data[:8] != SIGNATURE:
        return None
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise PngError("PNG without an IHDR chunk")
    width, height, depth, color_type, _, _, interlace = struct.unpack(">IIBBBBB", data[16:29])
    return Header(width, height, depth, color_type, interlace)


def _chunks(data: bytes):
    pos = 8
    while pos + 8 <= len(data):
        length, tag = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        crc = data[pos + 8 + length:pos + 12 + length]
        if len(body) != length or len(crc) != 4:
            raise PngError(f"truncated PNG chunk {tag.decode('latin-1')!r}")
        if struct.unpack(">I", crc)[0] != zlib.crc32(tag + body) & 0xFFFFFFFF:
            raise PngError(f"PNG chunk {tag.decode('latin-1')!r} fails its CRC check (corrupt file)")
        yield tag, body
        if tag == b"IEND":
            return
        pos += 12 + length
    raise PngError("truncated PNG (no IEND chunk)")


def decode(data: bytes) -> np.ndarray:
    """uint16 [H, W, C] pixels of a 16-bit PNG (C = 1, 2, 3 or 4 as `CHANNELS`). Raises PngError.

    A tRNS chunk (one fully transparent colour) is not applied: the pixels are returned as stored.
    """
    header = read_header(data)
    if header is None:
        raise PngError("not a PNG file")
    if header.bit_depth != 16 or header.color_type not in CHANNELS:
        raise PngError(f"not a 16-bit grey/RGB PNG (bit depth {header.bit_depth}, colour type {header.color_type})")
    if header.interlace not in (0, 1) or header.width == 0 or header.height == 0:
        raise PngError(f"invalid PNG header {header}")
    channels = CHANNELS[header.color_type]
    bpp = 2 * channels
    passes = _ADAM7 if header.interlace else ((0, 0, 1, 1),)
    shapes = [(-(-(header.height - y0) // dy), -(-(header.width - x0) // dx)) for y0, x0, dy, dx in passes]
    expected = sum(h * (1 + w * bpp) for h, w in shapes if h > 0 and w > 0)
    idat = b"".join(body for tag, body in _chunks(data) if tag == b"IDAT")
    inflater = zlib.decompressobj()
    try:
        # Bounded by what the header promises: a stream that inflates to more is refused, not buffered.
        raw = inflater.decompress(idat, expected + 1)
    except zlib.error as e:
        raise PngError(f"corrupt PNG image data ({e})") from None
    if len(raw) != expected:
        raise PngError(f"PNG image data has {len(raw)}{'+' if len(raw) > expected else ''} bytes, "
                       f"the header promises {expected}")
    out = np.empty((header.height, header.width, bpp), np.uint8)
    pos = 0
    for (y0, x0, dy, dx), (h, w) in zip(passes, shapes):
        if h <= 0 or w <= 0:
            continue  # an empty Adam7 pass has no bytes at all, not even filter-type bytes
        rows = np.frombuffer(raw, np.uint8, h * (1 + w * bpp), pos).reshape(h, 1 + w * bpp)
        pos += rows.size
        out[y0::dy, x0::dx] = unfilter(rows[:, 1:].reshape(h, w, bpp), rows[:, 0])
    return out.view(">u2").reshape(header.height, header.width, channels).astype(np.uint16)


def unfilter(filtered: np.ndarray, filter_types: np.ndarray) -> np.ndarray:
    """Undoes PNG row filters: filtered [H, W, bpp] uint8 (scanlines without their type byte), types [H] -> [H, W, bpp].

    The row above the first is zeros, as the specification says. Bytes are filtered per pixel lane: "left" is the
    same byte of the previous pixel, bpp bytes back.
    """
    filter_types = np.asarray(filter_types, np.uint8)
    if filter_types.size and filter_types.max() > 4:
        raise PngError(f"unknown PNG filter type {int(filter_types.max())}")
    h, w, bpp = filtered.shape
    out = np.empty_like(filtered)
    above = np.zeros((w, bpp), np.uint8)
    y = 0
    while y < h:
        if filter_types[y] <= 2:
            row, kind = filtered[y], filter_types[y]
            if kind == 1:
                row = np.cumsum(row, axis=0, dtype=np.uint8)  # uint8 accumulation wraps mod 256, as the filter does
            elif kind == 2:
                row = row + above
            out[y] = row
            y += 1
        else:
            end = y + 1
            while end < h and end - y < _WAVEFRONT_BAND and filter_types[end] > 2:
                end += 1
            out[y:end] = _unfilter_wavefront(filtered[y:end], filter_types[y:end], above)
            y = end
        above = out[y - 1]
    return out


def _unfilter_wavefront(filtered: np.ndarray, filter_types: np.ndarray, above: np.ndarray) -> np.ndarray:
    """Any filter types, k rows below the reconstructed row `above`, one anti-diagonal x + y = d at a time.

    Skewed layout: pixel (y, x) lives at row d + 2 = x + y + 2, column y + 1 of `recon`. Its left neighbour (y, x-1)
    and upper neighbour (y-1, x) are on diagonal d - 1, the upper-left one on d - 2, so each step reads three
    contiguous slices. Column 0 holds the row above (pixel (-1, x) at diagonal x - 1); cells with x = -1 are never
    written and stay zero, as the filters' left edge requires.
    """
    k, w, bpp = filtered.shape
    ys, xs = np.arange(k)[:, None], np.arange(w)[None, :]
    skewed = np.zeros((k + w - 1, k, bpp), np.int16)
    skewed[ys + xs, ys] = filtered
    recon = np.zeros((k + w + 1, k + 1, bpp), np.int16)
    recon[1:w + 1, 0] = above
    kinds = filter_types.astype(np.int16)[:, None]
    for d in range(k + w - 1):
        y0, y1 = max(0, d - w + 1), min(k - 1, d) + 1
        a = recon[d + 1, y0 + 1:y1 + 1]  # left
        b = recon[d + 1, y0:y1]  # up
        c = recon[d, y0:y1]  # up-left
        kind = kinds[y0:y1]
        pa, pb, pc = np.abs(b - c), np.abs(a - c), np.abs(a + b - 2 * c)
        paeth = np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))
        pred = np.where(kind == 4, paeth, np.where(kind == 3, (a + b) >> 1,
                                                   np.where(kind == 2, b, np.where(kind == 1, a, 0))))
        recon[d + 2, y0 + 1:y1 + 1] = (skewed[d, y0:y1] + pred) & 0xFF
    return recon[ys + xs + 2, ys + 1].astype(np.uint8)


def filter_rows(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Filters raw [H, W, bpp] uint8 rows with the best of None / Sub / Up per row; returns (filtered, types [H])."""
    left = np.zeros_like(raw)
    left[:, 1:] = raw[:, :-1]
    up = np.zeros_like(raw)
    up[1:] = raw[:-1]
    candidates = np.stack([raw, raw - left, raw - up])  # uint8 arithmetic wraps mod 256, as the filters do
    # libpng's heuristic: the smallest sum of |byte| with bytes read as signed compresses best.
    cost = np.stack([_ABS_SIGNED[cand].sum(axis=(1, 2), dtype=np.int64) for cand in candidates])
    types = cost.argmin(axis=0).astype(np.uint8)
    return candidates[types, np.arange(raw.shape[0])], types


def _chunk(tag: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body) & 0xFFFFFFFF)


def encode(pixels: np.ndarray, *, icc_profile: bytes | None = None, compress_level: int = 6) -> bytes:
    """A 16-bit PNG of uint16 [H, W, C] (C = 1, 2, 3, 4) or [H, W] pixels; non-interlaced, optional ICC profile."""
    pixels = np.asarray(pixels)
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    if pixels.dtype != np.uint16 or pixels.ndim != 3 or pixels.shape[-1] not in _COLOR_TYPE:
        raise ValueError(f"encode expects uint16 [H, W, 1|2|3|4] pixels, got {pixels.dtype} {pixels.shape}")
    h, w, c = pixels.shape
    raw = np.ascontiguousarray(pixels.astype(">u2")).view(np.uint8).reshape(h, w, 2 * c)
    filtered, types = filter_rows(raw)
    scanlines = np.concatenate([types[:, None], filtered.reshape(h, -1)], axis=1)
    header = struct.pack(">IIBBBBB", w, h, 16, _COLOR_TYPE[c], 0, 0, 0)
    parts = [SIGNATURE, _chunk(b"IHDR", header)]
    if icc_profile:
        parts.append(_chunk(b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(icc_profile)))
    parts += [_chunk(b"IDAT", zlib.compress(scanlines.tobytes(), compress_level)), _chunk(b"IEND", b"")]
    return b"".join(parts)
