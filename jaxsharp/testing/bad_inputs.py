"""The bad-input corpus: every awkward image file and `.pth` a user can hand us, built at run time (nothing committed).

    files = build_image_corpus(tmp_path)          # name -> path; IMAGE_CASES says what each one is
    files = build_checkpoint_corpus(tmp_path)     # name -> path; CHECKPOINT_CASES likewise

Images are made with Pillow and numpy (16-bit PNGs with the project's own writer); the decompression bomb is a
hand-made PNG whose IHDR claims 100000 x 100000 pixels over a few hundred bytes, with valid CRCs. Checkpoints are
written in torch's zip layout by the torch-free look-alike of `torch.save` (jaxsharp/testing/torch_save.py).
Used by tests/test_bad_inputs.py and experiments/bad_input_probe.py (the measurement behind docs/robustness.md).
"""

from __future__ import annotations

import io
import pathlib
import struct
import zipfile
import zlib
from collections import OrderedDict

import numpy as np
from PIL import Image

from jaxsharp import png16
from jaxsharp.testing.torch_save import Evil, FakeGlobal, Storage, Tensor, dumps, tensor, write_zip

# name -> (file name, what it is, valid: a correct image that must come out right, not be refused)
IMAGE_CASES: dict[str, tuple[str, str, bool]] = {
    "empty": ("empty.png", "empty file (0 bytes)", False),
    "text_png": ("notes.png", "text file named .png", False),
    "truncated_png": ("truncated.png", "PNG cut in its pixel data", False),
    "truncated_jpeg": ("cut.jpg", "JPEG cut in its scan data", False),
    "truncated_png16": ("cut16.png", "16-bit PNG cut in its pixel data", False),
    "jpeg_named_png": ("photo_jpeg.png", "JPEG with a .png name (wrong extension)", True),
    "one_by_one": ("one.png", "1x1 image", True),
    "one_by_seven": ("row.png", "1x7 image (one row)", True),
    "seven_by_one": ("column.png", "7x1 image (one column)", True),
    "png16_rgb": ("deep.png", "16-bit RGB PNG", True),
    "palette": ("palette.png", "palette (P) PNG", True),
    "cmyk_jpeg": ("cmyk.jpg", "CMYK JPEG", True),
    "gray_alpha": ("gray_alpha.png", "grayscale + alpha (LA) PNG", True),
    "bomb": ("bomb.png", "PNG whose header claims 100000x100000 (decompression bomb)", False),
    "exif6": ("exif6.jpg", "JPEG with EXIF orientation 6 (rotate 90 CW)", True),
    "exif8": ("exif8.jpg", "JPEG with EXIF orientation 8 (rotate 90 CCW)", True),
    "animated_gif": ("animated.gif", "animated GIF, 3 frames", True),
    "animated_webp": ("animated.webp", "animated WebP, 3 frames", True),
}

SIZE = (24, 32)  # (H, W) of the ordinary test pictures: not square, so a rotation shows


def picture(h: int = SIZE[0], w: int = SIZE[1], seed: int = 0) -> np.ndarray:
    """uint8 [h, w, 3]: smooth ramps plus a little noise (compresses like a photo, survives JPEG recognisably)."""
    y, x = np.mgrid[:h, :w].astype(np.float64)
    base = np.stack([x * 255 / max(w - 1, 1), y * 255 / max(h - 1, 1), (x + y) * 127 / max(h + w - 2, 1)], -1)
    noise = np.random.default_rng(seed).normal(0, 8, (h, w, 3))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def _encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt, **options)
    return buf.getvalue()


def _png_chunk(tag: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body) & 0xFFFFFFFF)


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A valid-looking 8-bit RGB PNG header claiming width x height pixels, over a tiny zlib stream of zero rows."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 4096, 9)
    return png16.SIGNATURE + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def _exif_jpeg(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return _encoded(Image.fromarray(picture(seed=orientation)), "JPEG", exif=exif, quality=95)


def _animated(fmt: str) -> bytes:
    frames = [Image.fromarray(picture(seed=k)) for k in range(3)]
    options = {"lossless": True} if fmt == "WEBP" else {}
    return _encoded(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0, **options)


def image_bytes(name: str) -> bytes:
    """The file content of IMAGE_CASES[name]."""
    if name == "empty":
        return b""
    if name == "text_png":
        return b"These are my holiday notes, not a picture.\n"
    if name == "truncated_png":
        whole = _encoded(Image.fromarray(picture(64, 64)), "PNG")
        return whole[: len(whole) // 2]
    if name == "truncated_jpeg":
        whole = _encoded(Image.fromarray(picture(64, 64)), "JPEG", quality=95)
        return whole[: len(whole) // 2]
    if name == "truncated_png16":
        whole = png16.encode(picture(16, 16).astype(np.uint16) * 257)
        return whole[: len(whole) // 2]
    if name == "jpeg_named_png":
        return _encoded(Image.fromarray(picture()), "JPEG", quality=95)
    if name == "one_by_one":
        return _encoded(Image.fromarray(np.array([[[200, 100, 50]]], np.uint8)), "PNG")
    if name == "one_by_seven":
        return _encoded(Image.fromarray(picture(1, 7)), "PNG")
    if name == "seven_by_one":
        return _encoded(Image.fromarray(picture(7, 1)), "PNG")
    if name == "png16_rgb":
        return png16.encode(picture().astype(np.uint16) * 257 + 100)
    if name == "palette":
        return _encoded(Image.fromarray(picture()).quantize(32), "PNG")
    if name == "cmyk_jpeg":
        return _encoded(Image.fromarray(picture()).convert("CMYK"), "JPEG", quality=95)
    if name == "gray_alpha":
        rgb = picture()
        la = np.stack([rgb[..., 0], np.linspace(0, 255, SIZE[1]).astype(np.uint8)[None].repeat(SIZE[0], 0)], -1)
        return _encoded(Image.fromarray(la, mode="LA"), "PNG")
    if name == "bomb":
        return bomb_png()
    if name in ("exif6", "exif8"):
        return _exif_jpeg(int(name[-1]))
    if name == "animated_gif":
        return _animated("GIF")
    if name == "animated_webp":
        return _animated("WEBP")
    raise KeyError(name)


def build_image_corpus(folder: pathlib.Path, names=None) -> dict[str, pathlib.Path]:
    """Writes the corpus (or the named subset) into `folder`; returns name -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name in names or IMAGE_CASES:
        path = folder / IMAGE_CASES[name][0]
        path.write_bytes(image_bytes(name))
        paths[name] = path
    return paths


def write_good_picture(path: pathlib.Path, h: int = SIZE[0], w: int = SIZE[1], seed: int = 7) -> pathlib.Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(picture(h, w, seed)).save(path)
    return path


# --- checkpoints ---------------------------------------------------------------------------------------------------

# name -> (file name, what it is, valid: ports correctly). Wrong-dtype cases are complete state dicts (the reference
# tiny SwinIR) with one tensor changed, so the dtype is what the port must notice.
CHECKPOINT_CASES: dict[str, tuple[str, str, bool]] = {
    "global_os_system": ("evil_system.pth", "pickle calling os.system (disallowed global)", False),
    "global_builtins_exec": ("evil_exec.pth", "pickle calling builtins.exec (disallowed global)", False),
    "global_torch_load": ("evil_torch_load.pth", "pickle naming torch.load (torch, but not on the allowlist)", False),
    "zip_bomb_deflate": ("bomb_deflate.pth", "zip whose storage entry deflates 1000:1 to 64 MB", False),
    "zip_bomb_declared": ("bomb_declared.pth", "storage declaring 2**31 elements over 12 stored bytes", False),
    "int64_weight": ("int64.pth", "conv_first.weight stored as int64 (LongStorage)", False),
    "bool_weight": ("bool.pth", "conv_first.weight stored as bool (BoolStorage)", False),
    "complex_weight": ("complex.pth", "a weight stored as complex64 (ComplexFloatStorage)", False),
    "float64_weights": ("float64.pth", "every tensor stored as float64 (DoubleStorage)", True),
    "incomplete": ("incomplete.pth", "state dict holding only conv_first.weight", False),
    "truncated": ("truncated.pth", "zip checkpoint cut in half", False),
    "npz_bomb": ("bomb.npz", ".npz whose array header claims 10**12 float32 over 64 bytes", False),
    "npz_deflate_bomb": ("bomb_deflate.npz", ".npz whose member deflates 1000:1 to 64 MB", False),
    "npz_object": ("object.npz", ".npz holding a pickled object array", False),
    "npz_complex": ("complex.npz", ".npz with conv_first.weight as complex64", False),
}


def _npy(array_header: dict, payload: bytes) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, array_header)
    return buf.getvalue() + payload


def build_checkpoint_corpus(folder: pathlib.Path, reference_npz: pathlib.Path) -> dict[str, pathlib.Path]:
    """Writes every CHECKPOINT_CASES file into `folder`; returns name -> path.

    reference_npz: a SwinIR state dict keyed by PyTorch names (../shared/data/reference/swinir/*_weights.npz).
    """
    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: folder / case[0] for name, case in CHECKPOINT_CASES.items()}
    with np.load(reference_npz) as npz:
        reference = {k: npz[k] for k in npz.files}

    def state_dict(**changed) -> OrderedDict:
        arrays = dict(reference, **changed)
        return OrderedDict((k, tensor(str(i), v)) for i, (k, v) in enumerate(arrays.items()))

    first = reference["conv_first.weight"]
    ones = tensor("0", np.ones((4, 3, 3, 3), np.float32))
    write_zip(paths["global_os_system"], {"params": OrderedDict(w=ones, x=Evil(FakeGlobal("os", "system"), "true"))})
    write_zip(paths["global_builtins_exec"], {"params": Evil(FakeGlobal("builtins", "exec"), "1")})
    write_zip(paths["global_torch_load"], {"params": Evil(FakeGlobal("torch", "load"), "x.pth")})
    zeros = np.zeros(1 << 24, np.float32)  # 64 MB of zeros deflate to ~64 KB
    with zipfile.ZipFile(paths["zip_bomb_deflate"], "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("archive/data.pkl", dumps({"params": OrderedDict(w=tensor("0", zeros))})[0])
        archive.writestr("archive/data/0", zeros.tobytes())
    data = dumps({"params": OrderedDict(w=Tensor(Storage("0", np.ones(1, np.float32)), 0, (1,), (1,)))})[0]
    data = data.replace(b"K\x01t", b"J" + struct.pack("<i", 2**31 - 1) + b"t")  # numel 1 -> 2**31 - 1
    with zipfile.ZipFile(paths["zip_bomb_declared"], "w") as archive:
        archive.writestr("archive/data.pkl", data)
        archive.writestr("archive/data/0", np.ones(3, np.float32).tobytes())
    write_zip(paths["int64_weight"], {"params": state_dict(**{"conv_first.weight": first.astype(np.int64)})})
    write_zip(paths["bool_weight"], {"params": state_dict(**{"conv_first.weight": first > 0})})
    data = dumps({"params": OrderedDict([("conv_first.weight", ones)])})[0]
    with zipfile.ZipFile(paths["complex_weight"], "w") as archive:
        archive.writestr("archive/data.pkl", data.replace(b"ctorch\nFloatStorage\n", b"ctorch\nComplexFloatStorage\n"))
        archive.writestr("archive/data/0", np.ones((4, 3, 3, 3), np.complex64).tobytes())
    float64 = {k: v.astype(np.float64) if v.dtype == np.float32 else v for k, v in reference.items()}
    write_zip(paths["float64_weights"], {"params": state_dict(**float64)})
    write_zip(paths["incomplete"], {"params": OrderedDict([("conv_first.weight", tensor("0", first))])})
    whole = write_zip(folder / "whole.pth", {"params": state_dict()}).read_bytes()
    paths["truncated"].write_bytes(whole[: len(whole) // 2])
    (folder / "whole.pth").unlink()
    header = {"descr": "<f4", "fortran_order": False, "shape": (10**12,)}
    with zipfile.ZipFile(paths["npz_bomb"], "w") as archive:
        archive.writestr("conv_first.weight.npy", _npy(header, b"\x00" * 64))
    with zipfile.ZipFile(paths["npz_deflate_bomb"], "w", zipfile.ZIP_DEFLATED) as archive:
        header = {"descr": "<f4", "fortran_order": False, "shape": (zeros.size,)}
        archive.writestr("conv_first.weight.npy", _npy(header, zeros.tobytes()))
    np.savez(paths["npz_object"], **{"conv_first.weight": np.array([{"a": 1}, None], dtype=object)})
    np.savez(paths["npz_complex"], **dict(reference, **{"conv_first.weight": first.astype(np.complex64)}))
    return paths
