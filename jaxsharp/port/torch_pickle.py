"""Torch-free, safe reader of PyTorch checkpoints (`torch.save` output, zip and legacy formats) into numpy arrays.

Only a fixed allowlist of pickle globals is honoured, each mapped to a function or marker of this module, so
nothing named by the file is imported or executed. Tensors come back as C-contiguous numpy arrays in their stored dtype
(float32, float16, bfloat16 via ml_dtypes, float64, int64, int32, int16, int8, uint8, bool); OrderedDicts as plain dicts.

    obj = load_torch_file("001_classicalSR_DIV2K_s48w8_SwinIR-M_x2.pth")   # {'params': {name: np.ndarray, ...}}
    sd = select_state_dict(obj, path=...)  # first of 'params_ema', 'params', 'state_dict', else a bare state dict
"""

from __future__ import annotations

import io
import math
import os
import pickle
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable

import ml_dtypes
import numpy as np

__all__ = ["CheckpointError", "load_torch_file", "select_state_dict"]

# torch never compresses storages; a ratio above this can only come from a crafted (zip-bomb style) archive. The same
# bound caps the bytes that storages and strided views may declare, relative to the file's size.
MAX_EXPANSION = 100

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001
_MAX_PICKLE_BYTES = 1 << 30  # data.pkl holds structure only; the tensor bytes live in their own entries
_MAX_MESSAGE_CHARS = 300
_PREFERRED_KEYS = ("params_ema", "params", "state_dict")


class CheckpointError(ValueError):
    """A checkpoint that cannot be read safely; the message is one line naming the file and the problem."""


class _Bad(Exception):
    """Internal: a problem with the file's content; `load_torch_file` prefixes the file name."""


def _one_line(text: object) -> str:
    """`text` as one line of at most _MAX_MESSAGE_CHARS characters (names in a hostile file may hold newlines)."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= _MAX_MESSAGE_CHARS else flat[: _MAX_MESSAGE_CHARS - 3] + "..."


# ------------------------------------------------------------------------------------------------------------- markers


class _Frozen:
    """Base of the objects the unpickler hands out: a pickle BUILD opcode must not be able to rewrite them."""

    __slots__ = ()

    def __setstate__(self, state):
        raise _Bad(f"the pickle tries to set the state of a {type(self).__name__.lstrip('_')}")


class _StorageType(_Frozen):
    """Stand-in for `torch.<Name>Storage`: the element dtype of a storage; it cannot be called."""

    __slots__ = ("name", "dtype")

    def __init__(self, name: str, dtype):
        self.name, self.dtype = name, np.dtype(dtype)

    def __repr__(self):
        return f"torch.{self.name}"


class _StorageRef(_Frozen):
    """A storage named by a persistent id: `numel` elements of `dtype`, found under `key` once the pickle is read."""

    __slots__ = ("key", "dtype", "numel")

    def __init__(self, key: str, dtype: np.dtype, numel: int):
        self.key, self.dtype, self.numel = key, dtype, numel

    @property
    def nbytes(self) -> int:
        return self.numel * self.dtype.itemsize


class _PendingTensor(_Frozen):
    """A strided view of a storage, read once the pickle is done (the legacy format stores the bytes after it)."""

    __slots__ = ("storage", "offset", "shape", "stride")

    def __init__(self, storage: _StorageRef, offset: int, shape: tuple[int, ...], stride: tuple[int, ...]):
        self.storage, self.offset, self.shape, self.stride = storage, offset, shape, stride

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.storage.dtype.itemsize


class _Rebuild(_Frozen):
    """Stand-in for an allowlisted torch function: calls one of this module's functions, nothing else."""

    __slots__ = ("name", "fn")

    def __init__(self, name: str, fn: Callable):
        self.name, self.fn = name, fn

    def __call__(self, *args):
        return self.fn(*args)


class _OrderedDict(dict):
    """Stand-in for `collections.OrderedDict`; drops the `_metadata` state torch attaches to state dicts."""

    def __setstate__(self, state):
        pass  # `_metadata` (module path -> version) is only used by torch's load_state_dict


# --------------------------------------------------------------------------------------------------- tensor rebuilding


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _int_tuple(x, what: str) -> tuple[int, ...]:
    """`x` (torch.Size pickles as a tuple) as a tuple of non-negative ints."""
    if not isinstance(x, tuple | list) or not all(_is_int(v) and v >= 0 for v in x):
        raise _Bad(f"tensor {what} is not a tuple of non-negative ints: {x!r}")
    return tuple(x)


def _rebuild_tensor(storage, storage_offset, size, stride) -> _PendingTensor:
    """`torch._utils._rebuild_tensor` (legacy, 4 arguments): `size`-shaped view of `storage` at the element offset."""
    if not isinstance(storage, _StorageRef):
        raise _Bad(f"tensor rebuilt from {type(storage).__name__}, not from a storage")
    if not _is_int(storage_offset) or storage_offset < 0:
        raise _Bad(f"tensor storage offset is not a non-negative int: {storage_offset!r}")
    shape, strides = _int_tuple(size, "size"), _int_tuple(stride, "stride")
    if len(shape) != len(strides):
        raise _Bad(f"tensor size {shape} and stride {strides} differ in length")
    _check_extent(storage, storage_offset, shape, strides)
    return _PendingTensor(storage, storage_offset, shape, strides)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None, *metadata):
    """`torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, backward_hooks[, metadata])`.

    requires_grad, hooks and metadata do not change the values, so they are dropped.
    """
    if len(metadata) > 1:
        raise _Bad(f"_rebuild_tensor_v2 called with {6 + len(metadata)} arguments (at most 7)")
    return _rebuild_tensor(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None):
    """`torch._utils._rebuild_parameter`: a Parameter is read as the tensor it wraps."""
    if not isinstance(data, _PendingTensor):
        raise _Bad(f"parameter rebuilt from {type(data).__name__}, not from a tensor")
    return data


def _check_extent(storage: _StorageRef, offset: int, shape: tuple[int, ...], strides: tuple[int, ...]) -> None:
    """Refuse views reaching outside their storage, before any bytes are read (Python ints: no overflow)."""
    if 0 in shape:
        last = offset - 1  # an empty tensor reads nothing; torch allows offset == numel here
    else:
        last = offset + sum((n - 1) * s for n, s in zip(shape, strides))
    if last >= storage.numel:
        raise _Bad(
            f"tensor (offset {offset}, size {list(shape)}, stride {list(strides)}) reaches element {last} of storage "
            f"'{storage.key}' which holds {storage.numel}"
        )


# ------------------------------------------------------------------------------------------------------- the unpickler

_STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "HalfStorage": np.float16,
    "BFloat16Storage": ml_dtypes.bfloat16,
    "DoubleStorage": np.float64,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
    "UntypedStorage": np.uint8,  # torch >= 2 writes it only for a bare storage; its elements are bytes
}

_ALLOWED_GLOBALS: dict[tuple[str, str], object] = {
    ("collections", "OrderedDict"): _OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _Rebuild("_rebuild_tensor_v2", _rebuild_tensor_v2),
    ("torch._utils", "_rebuild_tensor"): _Rebuild("_rebuild_tensor", _rebuild_tensor),
    ("torch._utils", "_rebuild_parameter"): _Rebuild("_rebuild_parameter", _rebuild_parameter),
    **{("torch", name): _StorageType(name, dtype) for name, dtype in _STORAGE_DTYPES.items()},
    ("torch.storage", "UntypedStorage"): _StorageType("UntypedStorage", np.uint8),
}


class _Refused(_Bad):
    """A global outside the allowlist: the reason a file is refused, reported as is."""


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only allowlisted globals and torch's storage persistent ids.

    Storages met in the pickle are recorded in `storages` (key -> _StorageRef) in order of first use.
    """

    def __init__(self, file, *, legacy: bool):
        super().__init__(file)
        self._legacy = legacy
        self.storages: dict[str, _StorageRef] = {}

    def find_class(self, module: str, name: str):
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except (KeyError, TypeError):
            raise _Refused(
                f"refuses to load global '{_one_line(module)}.{_one_line(name)}' (not on the allowlist); "
                "nothing from the file was executed"
            ) from None

    def persistent_load(self, pid):
        """('storage', storage_type, key, location, numel) in zip files; legacy files add view_metadata (None)."""
        if not isinstance(pid, tuple) or not pid or pid[0] != "storage":
            raise _Bad(f"unknown persistent id {_one_line(repr(pid))}")
        if len(pid) != (6 if self._legacy else 5):
            raise _Bad(f"storage persistent id has {len(pid)} items: {_one_line(repr(pid))}")
        _, storage_type, key, _location, numel, *view = pid
        if view and view[0] is not None:
            raise _Bad(f"storage '{_one_line(key)}' is a view of another storage (pre-1.0 torch); not supported")
        if not isinstance(storage_type, _StorageType) or not isinstance(key, str) or not _is_int(numel) or numel < 0:
            raise _Bad(f"malformed storage persistent id {_one_line(repr(pid))}")
        return self._record(_StorageRef(key, storage_type.dtype, numel))

    def _record(self, ref: _StorageRef) -> _StorageRef:
        """The one _StorageRef of `ref.key`; a key reused with another dtype or size is refused."""
        seen = self.storages.setdefault(ref.key, ref)
        if (seen.dtype, seen.numel) != (ref.dtype, ref.numel):
            raise _Bad(f"storage '{_one_line(ref.key)}' declared twice with different dtype or size")
        return seen


def _unpickle(file, *, legacy: bool) -> tuple[object, dict[str, _StorageRef]]:
    """One pickle from `file` -> (object with _PendingTensor leaves, storages it names by key)."""
    unpickler = _RestrictedUnpickler(file, legacy=legacy)
    return unpickler.load(), unpickler.storages


# ----------------------------------------------------------------------------------------------------- materialization


def _tensor_array(tensor: _PendingTensor, storage: np.ndarray) -> np.ndarray:
    """The view `tensor` of the 1-D `storage` as a fresh C-contiguous array of shape `tensor.shape`."""
    itemsize = storage.dtype.itemsize
    view = np.lib.stride_tricks.as_strided(
        storage[tensor.offset :],
        shape=tensor.shape,
        strides=tuple(s * itemsize for s in tensor.stride),
        writeable=False,
    )
    return np.array(view, order="C", copy=True)  # own memory: no tensor aliases another or the file buffer


class _Materializer:
    """Replaces _PendingTensor / _StorageRef leaves by arrays and _OrderedDicts by dicts; shared objects stay shared."""

    def __init__(self, storage_arrays: dict[str, np.ndarray]):
        self._storages = storage_arrays
        self._done: dict[int, object] = {}
        self._keep_alive: list[object] = []  # ids stay unique only while the originals live

    def __call__(self, obj):
        if type(obj) in (str, int, float, bool, bytes, bytearray, complex) or obj is None:
            return obj
        if id(obj) in self._done:
            return self._done[id(obj)]
        self._keep_alive.append(obj)
        if isinstance(obj, _PendingTensor):
            return self._finish(obj, _tensor_array(obj, self._storages[obj.storage.key]))
        if isinstance(obj, _StorageRef):
            return self._finish(obj, self._storages[obj.key].copy())
        if isinstance(obj, dict):
            out = self._finish(obj, {})  # registered before filling: a dict may (via the memo) contain itself
            out.update((self._key(k), self(v)) for k, v in obj.items())
            return out
        if isinstance(obj, list):
            out = self._finish(obj, [])
            out.extend(self(v) for v in obj)
            return out
        if isinstance(obj, tuple):
            return self._finish(obj, tuple(self(v) for v in obj))
        if isinstance(obj, set | frozenset):
            return self._finish(obj, type(obj)(self._key(v) for v in obj))
        raise _Bad(f"unexpected {type(obj).__name__} object in the pickle")

    def _finish(self, obj, result):
        self._done[id(obj)] = result
        return result

    def _key(self, key):
        """Dict keys and set members stay as they are, but a tensor there could not become an (unhashable) array."""
        if not _is_plain(key):
            raise _Bad("a tensor or storage is used as a dict key or set member")
        return key


def _is_plain(obj) -> bool:
    """True if the hashable `obj` holds no tensor or storage."""
    if isinstance(obj, tuple | frozenset):
        return all(_is_plain(v) for v in obj)
    return not isinstance(obj, _PendingTensor | _StorageRef)


def _materialize(obj, storage_arrays: dict[str, np.ndarray]):
    """`obj` with every pending tensor read from `storage_arrays` (key -> 1-D array of the storage's dtype)."""
    try:
        return _Materializer(storage_arrays)(obj)
    except RecursionError:
        raise _Bad("the pickled object is nested too deeply") from None


def _walk_tensors(obj, seen: set[int] | None = None) -> Iterable[_PendingTensor]:
    """Every distinct _PendingTensor in `obj` (containers only; the unpickler makes nothing else)."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, _PendingTensor):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _walk_tensors(v, seen)
    elif isinstance(obj, list | tuple):
        for v in obj:
            yield from _walk_tensors(v, seen)


def _check_expansion(obj, storages: dict[str, _StorageRef], file_size: int) -> None:
    """Refuse files whose storages or strided views declare far more bytes than the file could hold (before reading)."""
    declared = sum(ref.nbytes for ref in storages.values())
    try:
        expanded = sum(t.nbytes for t in _walk_tensors(obj))
    except RecursionError:
        raise _Bad("the pickled object is nested too deeply") from None
    limit = MAX_EXPANSION * max(file_size, 1)
    for what, nbytes in (("storages", declared), ("tensors", expanded)):
        if nbytes > limit:
            raise _Bad(f"{what} declare {nbytes} bytes, over {MAX_EXPANSION}x the file's {file_size} bytes")


def _storage_array(ref: _StorageRef, data: bytes) -> np.ndarray:
    """The 1-D array of `ref.numel` elements of `ref.dtype` in `data` (torch writes storages little-endian)."""
    dtype = ref.dtype.newbyteorder("<") if ref.dtype.kind in "fiu" and ref.dtype.itemsize > 1 else ref.dtype
    return np.frombuffer(data, dtype=dtype, count=ref.numel)


# ------------------------------------------------------------------------------------------------------------- formats


def _read_zip(file, file_size: int):
    """The object in a zip-format checkpoint (torch >= 1.6 default): `<folder>/data.pkl` plus `<folder>/data/<key>`."""
    with zipfile.ZipFile(file) as archive:
        folder = _zip_folder(archive)
        _check_byteorder(archive, folder)
        data_pkl = _read_entry(archive, f"{folder}/data.pkl", _MAX_PICKLE_BYTES)
        obj, storages = _unpickle(io.BytesIO(data_pkl), legacy=False)
        _check_expansion(obj, storages, file_size)
        _check_no_overlap(archive, folder, storages, file_size)
        arrays = {key: _zip_storage(archive, folder, ref) for key, ref in storages.items()}
    return _materialize(obj, arrays)


def _zip_folder(archive: zipfile.ZipFile) -> str:
    """The archive's top-level folder, found from its data.pkl (the file may have been renamed since it was saved)."""
    folders = [n[: -len("/data.pkl")] for n in archive.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
    if len(folders) != 1:
        found = "no" if not folders else f"{len(folders)}"
        raise _Bad(f"zip archive has {found} '<folder>/data.pkl' entries (expected one): not a torch.save file")
    return folders[0]


def _check_byteorder(archive: zipfile.ZipFile, folder: str) -> None:
    """Refuse big-endian files; older torch wrote no byteorder entry and was little-endian only."""
    name = f"{folder}/byteorder"
    if name in archive.namelist():
        order = _read_entry(archive, name, 64).decode("ascii", "replace").strip()
        if order != "little":
            raise _Bad(f"storages are stored {order!r}-endian; only little-endian files are supported")


def _entry_info(archive: zipfile.ZipFile, name: str) -> zipfile.ZipInfo:
    """The entry `name`, refused if compressed beyond MAX_EXPANSION:1 (torch stores every entry uncompressed)."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise _Bad(f"zip archive lacks the entry '{_one_line(name)}'") from None
    if info.compress_type != zipfile.ZIP_STORED and info.file_size > MAX_EXPANSION * max(info.compress_size, 1):
        raise _Bad(f"entry '{_one_line(name)}' is compressed more than {MAX_EXPANSION}:1 (zip bomb?)")
    return info


def _read_entry(archive: zipfile.ZipFile, name: str, max_bytes: int, nbytes: int | None = None) -> bytes:
    """The first `nbytes` bytes of entry `name` (all of it if None), at most `max_bytes`, refused if shorter."""
    info = _entry_info(archive, name)
    want = info.file_size if nbytes is None else nbytes
    if want > max_bytes:
        raise _Bad(f"entry '{_one_line(name)}' declares {want} bytes, more than the {max_bytes} allowed")
    if info.file_size < want:
        raise _Bad(f"entry '{_one_line(name)}' holds {info.file_size} bytes, needs {want}")
    with archive.open(info) as entry:
        data = entry.read(want)
    if len(data) != want:
        raise _Bad(f"entry '{_one_line(name)}' ends after {len(data)} of {want} bytes (truncated file)")
    return data


def _check_no_overlap(archive: zipfile.ZipFile, folder: str, storages: dict[str, _StorageRef], file_size: int) -> None:
    """Refuse archives whose storage entries together claim more bytes than the file (entries sharing the same data)."""
    stored = sum(_entry_info(archive, f"{folder}/data/{key}").compress_size for key in storages)
    if stored > file_size:
        raise _Bad(f"storage entries claim {stored} bytes in a {file_size}-byte file (overlapping entries)")


def _zip_storage(archive: zipfile.ZipFile, folder: str, ref: _StorageRef) -> np.ndarray:
    """Storage `ref` from entry `<folder>/data/<key>`: 1-D array of ref.numel elements of ref.dtype."""
    data = _read_entry(archive, f"{folder}/data/{ref.key}", max_bytes=ref.nbytes, nbytes=ref.nbytes)
    return _storage_array(ref, data)


def _read_legacy(file, file_size: int):
    """The object in a legacy (pre-1.6, non-zip) checkpoint: five pickles, then the raw storages."""
    magic, _ = _unpickle(file, legacy=True)
    if magic != _LEGACY_MAGIC:
        raise _Bad("a pickle but not a torch.save file (wrong magic number)")
    version, _ = _unpickle(file, legacy=True)
    if version != _LEGACY_PROTOCOL:
        raise _Bad(f"unsupported legacy protocol version {_one_line(repr(version))} (expected {_LEGACY_PROTOCOL})")
    sys_info, _ = _unpickle(file, legacy=True)
    _check_sys_info(sys_info)
    obj, storages = _unpickle(file, legacy=True)
    keys, _ = _unpickle(file, legacy=True)
    _check_legacy_keys(keys, storages)
    _check_expansion(obj, storages, file_size)
    remaining = file_size - file.tell()
    needed = sum(8 + ref.nbytes for ref in storages.values())
    if needed > remaining:
        raise _Bad(f"storages need {needed} bytes after the pickles, the file has {remaining} (truncated file)")
    arrays = {key: _legacy_storage(file, storages[key]) for key in keys}
    return _materialize(obj, arrays)


def _check_sys_info(sys_info) -> None:
    """Refuse big-endian files: their storages' bytes would be read wrongly."""
    if not isinstance(sys_info, dict) or "little_endian" not in sys_info:
        raise _Bad(f"legacy sys info is not a dict with 'little_endian': {_one_line(repr(sys_info))}")
    if sys_info["little_endian"] is not True:
        raise _Bad("was saved on a big-endian machine; only little-endian files are supported")


def _check_legacy_keys(keys, storages: dict[str, _StorageRef]) -> None:
    """The storage key list must name exactly the storages the main pickle uses, each once."""
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise _Bad("legacy storage key list is not a list of strings")
    if len(set(keys)) != len(keys) or set(keys) != set(storages):
        raise _Bad(
            f"legacy storage key list ({len(keys)} keys) does not match the {len(storages)} storages the pickle uses"
        )


def _legacy_storage(file, ref: _StorageRef) -> np.ndarray:
    """Storage `ref` at the file position: int64 little-endian element count, then count * itemsize bytes."""
    header = file.read(8)
    if len(header) != 8:
        raise _Bad(f"storage '{_one_line(ref.key)}' header is cut off (truncated file)")
    (count,) = struct.unpack("<q", header)
    if count != ref.numel:
        raise _Bad(f"storage '{_one_line(ref.key)}' holds {count} elements, the pickle declares {ref.numel}")
    data = file.read(ref.nbytes)
    if len(data) != ref.nbytes:
        raise _Bad(f"storage '{_one_line(ref.key)}' ends after {len(data)} of {ref.nbytes} bytes (truncated file)")
    return _storage_array(ref, data)


# ---------------------------------------------------------------------------------------------------------- public API

# Errors a corrupt or crafted file can raise from pickle, zipfile, struct, numpy; all become CheckpointError.
_CORRUPT = (
    pickle.UnpicklingError, EOFError, zipfile.BadZipFile, zlib.error, struct.error, KeyError, IndexError, TypeError,
    ValueError, AttributeError, OverflowError, UnicodeDecodeError, NotImplementedError, MemoryError, OSError,
)  # fmt: skip


def load_torch_file(path: str | os.PathLike) -> object:
    """The object saved by `torch.save` at `path`, with every tensor as a numpy array and OrderedDicts as dicts.

    Tensors are C-contiguous arrays of the tensor's shape and stored dtype (e.g. float32 [C_out, C_in, kh, kw] conv
    weights, int64 buffers); each owns its memory. Raises CheckpointError (one line naming the file) for anything that
    is not a readable, allowlisted checkpoint; opening the file itself may raise OSError (e.g. FileNotFoundError).
    """
    with open(path, "rb") as file:
        try:
            return _load(file, os.fstat(file.fileno()).st_size)
        except _Refused as exc:
            raise CheckpointError(f"{path}: {exc}") from None
        except _Bad as exc:
            raise CheckpointError(f"{path}: {_one_line(exc)}") from None
        except RecursionError:
            raise CheckpointError(f"{path}: the pickled object is nested too deeply") from None
        except _CORRUPT as exc:
            raise CheckpointError(f"{path}: corrupt or truncated checkpoint ({_one_line(exc) or 'no detail'})") from exc


def _load(file, file_size: int):
    """Dispatch on the first bytes: zip local-file header, or a protocol >= 2 pickle (legacy format)."""
    head = file.read(4)
    file.seek(0)
    if not head:
        raise _Bad("file is empty")
    if head.startswith(b"PK\x03\x04"):
        return _read_zip(file, file_size)
    if head.startswith(b"\x80"):
        return _read_legacy(file, file_size)
    raise _Bad(f"neither a zip archive nor a pickle (starts with {head!r}); not a torch.save file")


def _is_state_dict(value) -> bool:
    """True for a dict of str -> np.ndarray (vacuously for an empty dict)."""
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, np.ndarray) for k, v in value.items())


def select_state_dict(obj, key: str | None = None, *, path=None) -> dict[str, np.ndarray]:
    """The state dict (parameter name -> array, in file order) inside a loaded checkpoint `obj`.

    key None: the first of 'params_ema', 'params', 'state_dict' present in `obj`, else `obj` itself if it is a bare
    state dict. key given: `obj[key]`. CheckpointError (naming `path` when given, and the keys present) otherwise.
    """
    where = f"{path}: " if path is not None else "checkpoint: "
    if not isinstance(obj, dict):
        raise CheckpointError(f"{where}top-level object is a {type(obj).__name__}, not a dict")
    if key is None:
        key = next((k for k in _PREFERRED_KEYS if k in obj), None)
        if key is None:
            if obj and _is_state_dict(obj):
                return dict(obj)
            raise CheckpointError(
                f"{where}no state dict found: none of {list(_PREFERRED_KEYS)} in keys {_keys_text(obj)}, "
                "and the object is not a dict of arrays"
            )
    if key not in obj:
        raise CheckpointError(f"{where}no key {key!r}; keys present: {_keys_text(obj)}")
    if not _is_state_dict(obj[key]):
        raise CheckpointError(f"{where}{key!r} is not a dict of parameter name -> array")
    return dict(obj[key])


def _keys_text(obj: dict) -> str:
    """The dict's keys for a one-line message, shortened when there are many (a bare state dict has hundreds)."""
    keys = list(obj)
    text = repr(keys[:10])[:-1] + (f", ... ({len(keys)} keys)]" if len(keys) > 10 else "]")
    return _one_line(text)
