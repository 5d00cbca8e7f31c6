"""A torch-free look-alike of `torch.save`: files in torch's zip and legacy layouts, for tests and the bad-input probe.

    write_zip(path, {"params": OrderedDict(w=tensor("0", array))})     # what torch.save writes (zip layout)
    write_legacy(path, obj)                                           # the pre-1.6 layout
    Evil(FakeGlobal("os", "system"), "true")                          # a hostile pickle payload

The stand-ins below make the standard pickler emit the opcodes torch does (GLOBAL torch._utils _rebuild_tensor_v2,
GLOBAL torch FloatStorage, BINPERSID tuples), without torch. ports.torch_pickle is the reader these files test.
"""

from __future__ import annotations

import io
import pathlib
import pickle
import struct
import zipfile
from collections import OrderedDict

import ml_dtypes
import numpy as np

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
SYS_INFO = {"protocol_version": 1001, "little_endian": True, "type_sizes": {"short": 2, "int": 4, "long": 4}}


class FakeGlobal:
    """Pickles as GLOBAL '<module> <name>' without that module existing here."""

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name

    def __call__(self, *args):  # save_reduce insists on a callable
        raise AssertionError("never called")


class Storage:
    """A torch storage: the 1-D array of its elements, saved under `key`."""

    def __init__(self, key: str, array: np.ndarray):
        self.key, self.array = key, np.array(array, order="C").reshape(-1)


class Tensor:
    """A strided view of a Storage, pickled as torch pickles tensors."""

    def __init__(self, storage: Storage, offset: int, shape: tuple, stride: tuple, rebuild: str = "_rebuild_tensor_v2"):
        self.storage, self.offset, self.shape, self.stride, self.rebuild = storage, offset, shape, stride, rebuild

    def __reduce__(self):
        args = (self.storage, self.offset, tuple(self.shape), tuple(self.stride))
        if self.rebuild == "_rebuild_tensor_v2":
            args += (False, OrderedDict())
        return FakeGlobal("torch._utils", self.rebuild), args


class Evil:
    """Unpickling calls `func(*args)`: what a hostile checkpoint does."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


STORAGE_NAMES = {
    np.dtype(np.float32): "FloatStorage", np.dtype(np.float16): "HalfStorage",
    np.dtype(ml_dtypes.bfloat16): "BFloat16Storage", np.dtype(np.float64): "DoubleStorage",
    np.dtype(np.int64): "LongStorage", np.dtype(np.int32): "IntStorage", np.dtype(np.int16): "ShortStorage",
    np.dtype(np.int8): "CharStorage", np.dtype(np.uint8): "ByteStorage", np.dtype(np.bool_): "BoolStorage",
}  # fmt: skip


class TorchLikePickler(pickle._Pickler):
    """Protocol-2 pickler writing torch's persistent ids for Storage objects; `storages` lists them by first use."""

    dispatch = dict(pickle._Pickler.dispatch)

    def __init__(self, file, legacy: bool):
        super().__init__(file, protocol=2)
        self.legacy, self.storages = legacy, {}

    def save_fake_global(self, obj: FakeGlobal):
        self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())
        self.memoize(obj)

    dispatch[FakeGlobal] = save_fake_global

    def persistent_id(self, obj):
        if not isinstance(obj, Storage):
            return None
        self.storages.setdefault(obj.key, obj)
        pid = ("storage", FakeGlobal("torch", STORAGE_NAMES[obj.array.dtype]), obj.key, "cpu", obj.array.size)
        return pid + (None,) if self.legacy else pid


def dumps(obj, legacy: bool = False) -> tuple[bytes, list[Storage]]:
    buf = io.BytesIO()
    pickler = TorchLikePickler(buf, legacy)
    pickler.dump(obj)
    return buf.getvalue(), list(pickler.storages.values())


def write_zip(path: pathlib.Path, obj, folder: str = "archive", byteorder: str = "little") -> pathlib.Path:
    """`obj` in torch's zip layout: <folder>/data.pkl, byteorder, data/<key> (stored, uncompressed), version."""
    data, storages = dumps(obj)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(f"{folder}/data.pkl", data)
        archive.writestr(f"{folder}/byteorder", byteorder)
        for storage in storages:
            archive.writestr(f"{folder}/data/{storage.key}", storage.array.tobytes())
        archive.writestr(f"{folder}/version", "3\n")
    return path


def write_legacy(path: pathlib.Path, obj, sys_info=SYS_INFO, magic: int = LEGACY_MAGIC) -> pathlib.Path:
    """`obj` in torch's legacy layout: magic, version, sys info, object, sorted key list pickles; then the storages."""
    head = b"".join(pickle.dumps(x, protocol=2) for x in (magic, 1001, sys_info))
    data, storages = dumps(obj, legacy=True)
    by_key = {s.key: s for s in storages}
    keys = sorted(by_key)
    raw = b"".join(struct.pack("<q", by_key[k].array.size) + by_key[k].array.tobytes() for k in keys)
    path.write_bytes(head + data + pickle.dumps(keys, protocol=2) + raw)
    return path


def tensor(key: str, array: np.ndarray) -> Tensor:
    """A contiguous tensor owning its storage."""
    array = np.array(array, order="C")  # (np.ascontiguousarray would make a 0-d array 1-d)
    stride = tuple(s // array.itemsize for s in array.strides)
    return Tensor(Storage(key, array), 0, array.shape, stride)
