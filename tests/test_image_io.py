"""image_io and png16: every mode Pillow reads, 16 bits kept, EXIF orientation, ICC profiles, bad files.

References: Pillow's own decoders and ImageOps.exif_transpose, FFmpeg's PNG encoder (through PyAV) for filtered
16-bit PNGs, and a per-pixel transliteration of the PNG specification's unfiltering for png16.unfilter.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageOps

from jaxsharp import png16
from jaxsharp.image_io import ImageReadError, read_image, read_image_rgb, write_image


def _levels16(shape, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 65536, shape, dtype=np.uint16)


def _smooth16(h: int, w: int, c: int) -> np.ndarray:
    # Smooth ramps: the encoders' filter heuristics then pick Sub / Up / Average / Paeth, not just None.
    y, x = np.mgrid[:h, :w].astype(np.float64)
    channels = [(x * 97 + y * 31 + k * 5000) % 65536 for k in range(c)]
    return np.stack(channels, axis=-1).astype(np.uint16)


def _srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _filter_types(data: bytes) -> set[int]:
    header = png16.read_header(data)
    idat = b"".join(body for tag, body in png16._chunks(data) if tag == b"IDAT")
    rows = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(header.height, -1)
    return set(rows[:, 0].tolist())


def _unfilter_reference(filtered: np.ndarray, types: np.ndarray) -> np.ndarray:
    """The PNG specification's reconstruction, byte by byte (section 9.2 / 9.4)."""
    h, w, bpp = filtered.shape
    out = np.zeros((h, w, bpp), np.int64)
    for y in range(h):
        for x in range(w):
            for k in range(bpp):
                a = out[y, x - 1, k] if x > 0 else 0
                b = out[y - 1, x, k] if y > 0 else 0
                c = out[y - 1, x - 1, k] if x > 0 and y > 0 else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                paeth = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                pred = (0, a, b, (a + b) // 2, paeth)[int(types[y])]
                out[y, x, k] = (int(filtered[y, x, k]) + pred) % 256
    return out.astype(np.uint8)


# --- png16 ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("band", [2, 256])
def test_unfilter_matches_the_specification_for_every_filter(monkeypatch, band):
    monkeypatch.setattr(png16, "_WAVEFRONT_BAND", band)  # band 2: the sweeps restart every two rows
    rng = np.random.default_rng(0)
    filtered = rng.integers(0, 256, (19, 13, 6), dtype=np.uint8)
    types = np.array([4, 3, 3, 0, 1, 2, 4, 4, 4, 1, 3, 2, 0, 4, 3, 1, 1, 2, 4], np.uint8)
    np.testing.assert_array_equal(png16.unfilter(filtered, types), _unfilter_reference(filtered, types))


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_png16_encoder_round_trip_is_exact_and_uses_filters(channels):
    pixels = _smooth16(37, 29, channels)
    data = png16.encode(pixels)
    assert len(_filter_types(data)) >= 2  # the adaptive choice is exercised, not only filter 0
    np.testing.assert_array_equal(png16.decode(data), pixels)


@pytest.mark.parametrize("pred", ["sub", "up", "avg", "paeth", "mixed"])
def test_png16_reads_ffmpeg_filtered_rgb48_exactly(pred):
    av = pytest.importorskip("av")
    pixels = _smooth16(24, 40, 3)
    pixels[5:9, 7:30] = _levels16((4, 23, 3), seed=1)  # some noise so 'mixed' has choices to make
    context = av.CodecContext.create("png", "w")
    context.width, context.height, context.pix_fmt = 40, 24, "rgb48be"
    context.options = {"pred": pred}
    frame = av.VideoFrame.from_ndarray(pixels.astype("<u2"), format="rgb48le")
    data = b"".join(bytes(p) for p in context.encode(frame.reformat(format="rgb48be")))
    expected = {"sub": {1}, "up": {2}, "avg": {3}, "paeth": {4}}.get(pred)
    if expected is not None:
        assert expected <= _filter_types(data)  # FFmpeg filters the first row with Sub whatever it is asked
    np.testing.assert_array_equal(png16.decode(data), pixels)


def _adam7_png16(pixels: np.ndarray) -> bytes:
    """An interlaced 16-bit RGB PNG, unfiltered: the seven passes' scanlines in order (specification 8.2)."""
    h, w, _ = pixels.shape
    passes = ((0, 0, 8, 8), (0, 4, 8, 8), (4, 0, 8, 4), (0, 2, 4, 4), (2, 0, 4, 2), (0, 1, 2, 2), (1, 0, 2, 1))
    raw = b""
    for y0, x0, dy, dx in passes:
        sub = pixels[y0::dy, x0::dx]
        if sub.size:
            raw += b"".join(b"\x00" + row.astype(">u2").tobytes() for row in sub)

    def chunk(tag, body):
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))

    header = struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 1)
    return png16.SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def test_png16_reads_adam7_interlaced():
    pixels = _levels16((11, 6, 3), seed=3)  # small: some passes are empty
    np.testing.assert_array_equal(png16.decode(_adam7_png16(pixels)), pixels)


def test_png16_refuses_corrupt_data():
    data = bytearray(png16.encode(_levels16((8, 8, 3))))
    with pytest.raises(png16.PngError, match="CRC"):
        png16.decode(bytes(data[:40]) + b"\xff" + bytes(data[41:]))
    with pytest.raises(png16.PngError, match="truncated"):
        png16.decode(bytes(data[:-20]))


# --- 16-bit files through image_io -----------------------------------------------------------------------------


def test_sixteen_bit_grey_written_by_pillow_reads_exactly(tmp_path):
    levels = _levels16((9, 14))
    Image.fromarray(levels).save(tmp_path / "g.png")  # mode I;16
    image = read_image(tmp_path / "g.png")
    assert image.bits == 16 and image.grayscale and image.alpha is None
    for c in range(3):
        np.testing.assert_array_equal(image.rgb[..., c], levels / np.float32(65535))
    write_image(tmp_path / "back.png", image.rgb[..., 0], bits=16)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "back.png")), levels)


@pytest.mark.parametrize("channels", [3, 4])
def test_sixteen_bit_colour_round_trip_is_exact(tmp_path, channels):
    levels = _levels16((10, 12, channels), seed=channels)
    floats = levels / np.float32(65535)
    write_image(tmp_path / "c.png", floats[..., :3], bits=16, alpha=floats[..., 3] if channels == 4 else None)
    image = read_image(tmp_path / "c.png")
    assert image.bits == 16 and not image.grayscale and image.format == "PNG"
    np.testing.assert_array_equal(image.rgb, floats[..., :3])
    if channels == 4:
        np.testing.assert_array_equal(image.alpha, floats[..., 3])
    assert (Image.open(tmp_path / "c.png").size) == (12, 10)  # Pillow accepts the file too


def test_sixteen_bit_grey_with_alpha(tmp_path):
    levels = _levels16((6, 5, 2), seed=4)
    (tmp_path / "la.png").write_bytes(png16.encode(levels))
    image = read_image(tmp_path / "la.png")
    assert image.grayscale and image.bits == 16
    np.testing.assert_array_equal(image.rgb[..., 1], levels[..., 0] / np.float32(65535))
    np.testing.assert_array_equal(image.alpha, levels[..., 1] / np.float32(65535))


# --- 8-bit modes -----------------------------------------------------------------------------------------------


def _rgb8(h, w, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_palette_and_palette_with_transparency(tmp_path):
    pil = Image.fromarray(_rgb8(8, 9)).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    pil.save(tmp_path / "p.png")
    image = read_image(tmp_path / "p.png")
    assert image.alpha is None and not image.grayscale and image.bits == 8
    np.testing.assert_array_equal(image.rgb, np.asarray(pil.convert("RGB")) / np.float32(255))
    pil.save(tmp_path / "pt.png", transparency=3)
    image = read_image(tmp_path / "pt.png")
    np.testing.assert_array_equal(image.alpha, (np.asarray(pil) != 3).astype(np.float32))


@pytest.mark.parametrize("mode", ["L", "LA", "RGBA"])
def test_grey_and_alpha_modes(tmp_path, mode):
    rng = np.random.default_rng(5)
    pixels = rng.integers(0, 256, (7, 6, len(mode)), dtype=np.uint8)
    Image.fromarray(pixels[..., 0] if mode == "L" else pixels, mode=mode).save(tmp_path / "x.png")
    image = read_image(tmp_path / "x.png")
    assert image.grayscale == (mode != "RGBA")
    colour = pixels[..., :1] if image.grayscale else pixels[..., :3]
    np.testing.assert_array_equal(image.rgb, np.broadcast_to(colour, (7, 6, 3)) / np.float32(255))
    if mode == "L":
        assert image.alpha is None
    else:
        np.testing.assert_array_equal(image.alpha, pixels[..., -1] / np.float32(255))


def test_cmyk_jpeg_converts_to_rgb_and_drops_its_cmyk_profile(tmp_path):
    cmyk = Image.fromarray(_rgb8(16, 16)).convert("CMYK")
    profile = bytearray(_srgb_profile())
    profile[16:20] = b"CMYK"  # a CMYK profile's colour-space field: it no longer describes the RGB we return
    cmyk.save(tmp_path / "c.jpg", icc_profile=bytes(profile))
    image = read_image(tmp_path / "c.jpg")
    with Image.open(tmp_path / "c.jpg") as pil:
        assert pil.mode == "CMYK"
        np.testing.assert_array_equal(image.rgb, np.asarray(pil.convert("RGB")) / np.float32(255))
    assert image.icc_profile is None and image.format == "JPEG"


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_as_pillow_applies_it(tmp_path, orientation):
    pil = Image.fromarray(_rgb8(12, 20))  # not square: a rotation changes the shape
    exif = Image.Exif()
    exif[0x0112] = orientation
    pil.save(tmp_path / "o.jpg", exif=exif, quality=95)
    with Image.open(tmp_path / "o.jpg") as opened:
        expected = np.asarray(ImageOps.exif_transpose(opened).convert("RGB")) / np.float32(255)
    np.testing.assert_array_equal(read_image_rgb(tmp_path / "o.jpg"), expected)


@pytest.mark.parametrize("suffix,bits", [(".png", 8), (".png", 16), (".jpg", 8), (".webp", 8), (".tif", 8)])
def test_icc_profile_is_carried_through_read_and_write(tmp_path, suffix, bits):
    profile = _srgb_profile()
    Image.fromarray(_rgb8(8, 8)).save(tmp_path / f"in{suffix}", icc_profile=profile)
    image = read_image(tmp_path / f"in{suffix}")
    assert image.icc_profile == profile
    write_image(tmp_path / f"out{suffix}", image.rgb, bits=bits, icc_profile=image.icc_profile)
    with Image.open(tmp_path / f"out{suffix}") as out:
        assert out.info.get("icc_profile") == profile


def test_bmp_and_webp_and_tiff_read(tmp_path):
    pixels = _rgb8(5, 7)
    for suffix in (".bmp", ".tif", ".webp"):
        Image.fromarray(pixels).save(tmp_path / f"a{suffix}", **({"lossless": True} if suffix == ".webp" else {}))
        np.testing.assert_array_equal(read_image_rgb(tmp_path / f"a{suffix}"), pixels / np.float32(255))


def test_write_refuses_alpha_in_jpeg(tmp_path):
    with pytest.raises(ValueError, match="alpha"):
        write_image(tmp_path / "a.jpg", np.zeros((4, 4, 3)), alpha=np.ones((4, 4)))
    assert not list(tmp_path.iterdir())


# --- bad files -------------------------------------------------------------------------------------------------


def test_unreadable_files_raise_one_line_naming_the_file(tmp_path):
    (tmp_path / "text.png").write_text("not an image")
    good = io.BytesIO()
    Image.fromarray(_rgb8(32, 32)).save(good, format="PNG")
    (tmp_path / "cut.png").write_bytes(good.getvalue()[:200])
    (tmp_path / "cut16.png").write_bytes(png16.encode(_levels16((8, 8, 3)))[:-30])
    for name in ("text.png", "cut.png", "cut16.png", "missing.png"):
        with pytest.raises(ImageReadError) as info:
            read_image(tmp_path / name)
        message = str(info.value)
        assert str(tmp_path / name) in message and "\n" not in message


def test_decompression_bomb_is_refused_before_decoding(tmp_path, monkeypatch):
    # A header claiming 60000 x 60000 pixels (3.6 billion; ~43 GB as float32 RGB) over a few bytes of data.
    def chunk(tag, body):
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))

    header = struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1000)
    bomb = png16.SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    (tmp_path / "bomb.png").write_bytes(bomb)
    with pytest.raises(ImageReadError, match="decompression bomb"):
        read_image(tmp_path / "bomb.png")
    # Our own limit applies from 1x (Pillow only warns between 1x and 2x its limit).
    Image.fromarray(_rgb8(40, 40)).save(tmp_path / "small.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(ImageReadError, match="1,600 pixels, more than the limit of 1,000"):
        read_image(tmp_path / "small.png")
