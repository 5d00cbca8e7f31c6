"""Tests for jaxsharp.port.torch_pickle: real torch.save fixtures, files written in torch's layouts here,
hostile/broken files."""

from __future__ import annotations

import io
import pathlib
import pickle
import pickletools
import re
import struct
import zipfile
from collections import OrderedDict

import ml_dtypes
import numpy as np
import pytest

from jaxsharp.paths import data_root
from jaxsharp.testing.torch_save import (LEGACY_MAGIC, SYS_INFO, Evil, FakeGlobal, Storage, Tensor, TorchLikePickler,
                                          dumps, tensor, write_legacy, write_zip)
from jaxsharp.port.torch_pickle import CheckpointError, load_torch_file, select_state_dict

SWINIR = data_root() / "reference" / "swinir"
ZIP_FIXTURE = "tiny_classical_x2_official_params.pth"
LEGACY_FIXTURE = "tiny_classical_x2_official_params_ema_legacy.pth"
# file -> (npz stem, top-level keys, tensors per key, dtype of the floating tensors)
FIXTURES = {
    ZIP_FIXTURE: ("tiny_classical_x2", ["params"], 76, np.float32),
    LEGACY_FIXTURE: ("tiny_classical_x2", ["params", "params_ema"], 76, np.float32),
    "tiny_classical_x2_official_params_fp16.pth": ("tiny_classical_x2", ["params"], 76, np.float16),
    "swinirS_lightweight_x2_official_params.pth": ("swinirS_lightweight_x2", ["params"], 366, np.float32),
}


@pytest.fixture(scope="module")
def loaded() -> dict[str, object]:
    """Each fixture file loaded once (the swinirS file is 17 MB)."""
    return {name: load_torch_file(SWINIR / name) for name in FIXTURES}


def assert_one_line_error(path: pathlib.Path, match: str = "") -> str:
    with pytest.raises(CheckpointError) as info:
        load_torch_file(path)
    message = str(info.value)
    assert path.name in message and "\n" not in message, message
    assert re.search(match, message), message
    return message


# ------------------------------------------------------------------------------------------------------- real fixtures


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_matches_npz(name, loaded):
    stem, keys, count, float_dtype = FIXTURES[name]
    obj = loaded[name]
    npz = np.load(SWINIR / f"{stem}_weights.npz")
    assert list(obj) == keys
    for key in keys:
        sd = select_state_dict(obj, key, path=name)
        assert len(sd) == count
        assert [k for k in sd if k in npz.files] == list(npz.files)  # also fixes the order of the parameters
        for k in npz.files:
            assert sd[k].dtype == float_dtype and sd[k].flags.c_contiguous, k
            np.testing.assert_array_equal(sd[k], npz[k].astype(float_dtype), err_msg=k)
        buffers = set(sd) - set(npz.files)
        assert all(k.endswith((".attn.relative_position_index", ".attn_mask")) for k in buffers)
        for k in buffers:
            if k.endswith("relative_position_index"):
                assert sd[k].dtype == np.int64 and sd[k].shape == (64, 64)
                assert sd[k].min() == 0 and sd[k].max() == 224
            else:
                assert int(k.split(".blocks.")[1].split(".")[0]) % 2 == 1  # only the shifted blocks
                assert sd[k].dtype == float_dtype and sd[k].shape[1:] == (64, 64)
                assert set(np.unique(sd[k])) <= {0.0, -100.0}
        assert sum(k.endswith("attn_mask") for k in sd) * 2 == sum(k.endswith("relative_position_index") for k in sd)


def _tensor_names_in_pickle(data: bytes) -> list[str]:
    """The strings directly before each `_rebuild_tensor_v2` call in the pickle: the state dict keys, in file order."""
    names, memo_of_rebuild, last_string, previous = [], None, None, None
    for op, arg, _ in pickletools.genops(data):
        if op.name in ("BINPUT", "LONG_BINPUT"):
            if previous == ("GLOBAL", "torch._utils _rebuild_tensor_v2"):
                memo_of_rebuild = arg
            continue
        if (op.name, arg) in (("GLOBAL", "torch._utils _rebuild_tensor_v2"), ("BINGET", memo_of_rebuild)):
            names.append(last_string)
        last_string = arg if op.name == "BINUNICODE" else None
        previous = (op.name, arg)
    return names


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_key_order_is_file_order(name, loaded):
    raw = (SWINIR / name).read_bytes()
    if name == LEGACY_FIXTURE:
        stream = io.BytesIO(raw)
        for _ in range(3):
            pickle.load(stream)  # magic, protocol version, sys info: no globals
        data = raw[stream.tell() :]
    else:
        with zipfile.ZipFile(SWINIR / name) as archive:
            data = archive.read(next(n for n in archive.namelist() if n.endswith("/data.pkl")))
    in_file = _tensor_names_in_pickle(data)
    assert len(in_file) == sum(len(sd) for sd in loaded[name].values())
    assert [k for sd in loaded[name].values() for k in sd] == in_file


def test_legacy_keys_are_equal_but_not_shared(loaded):
    obj = loaded[LEGACY_FIXTURE]
    for k, a in obj["params"].items():
        b = obj["params_ema"][k]
        assert a.dtype == b.dtype and np.array_equal(a, b) and not np.shares_memory(a, b), k


def test_renamed_zip_file_loads(tmp_path, loaded):
    # The archive's folder keeps the name the file was saved under.
    path = tmp_path / "renamed.pth"
    path.write_bytes((SWINIR / ZIP_FIXTURE).read_bytes())
    obj = load_torch_file(path)
    assert all(np.array_equal(v, loaded[ZIP_FIXTURE]["params"][k]) for k, v in obj["params"].items())


# ----------------------------------------------------------------------------------------------- synthetic round trips


def _synthetic() -> tuple[dict, dict[str, np.ndarray]]:
    """A state dict covering every storage dtype, strides, offsets, 0-d and shared storages; and the expected arrays."""
    rng = np.random.default_rng(0)
    grid = np.arange(12, dtype=np.float32) * 1.5
    shared = Storage("grid", grid)
    doubles = Storage("doubles", rng.standard_normal(10))
    expected = {
        "bf16": rng.standard_normal((2, 3)).astype(ml_dtypes.bfloat16),
        "half": rng.standard_normal((3,)).astype(np.float16),
        "i32": np.array([-(2**31), -1, 0, 2**31 - 1], np.int32),
        "i16": np.array([-7, 300], np.int16),
        "i8": np.array([-128, 127], np.int8),
        "u8": np.array([[0, 255], [1, 2]], np.uint8),
        "mask": np.array([True, False, True, True, False]),
        "scalar": np.array(7, np.int64),
        "empty": np.zeros((0, 4), np.float32),
    }
    sd = OrderedDict((k, tensor(k, v)) for k, v in expected.items())
    sd["grid"] = Tensor(shared, 0, (3, 4), (4, 1))
    sd["transposed"] = Tensor(shared, 0, (4, 3), (1, 4))  # same storage, column-major view
    sd["offset"] = Tensor(doubles, 3, (2, 2), (3, 1))
    sd["broadcast"] = Tensor(doubles, 9, (2, 3), (0, 0))
    sd["legacy_rebuild"] = Tensor(shared, 2, (5,), (2,), rebuild="_rebuild_tensor")
    sd._metadata = OrderedDict([("", {"version": 1}), ("conv", {"version": 1})])  # as in torch state dicts
    expected |= {
        "grid": grid.reshape(3, 4),
        "transposed": grid.reshape(3, 4).T,
        "offset": np.lib.stride_tricks.as_strided(doubles.array[3:], (2, 2), (24, 8)),
        "broadcast": np.full((2, 3), doubles.array[9]),
        "legacy_rebuild": grid[2::2],
    }
    return {"model": sd, "epoch": 3, "names": ["a", ("b", 1.5)]}, expected


@pytest.mark.parametrize("writer", [write_zip, write_legacy])
def test_synthetic_round_trip(tmp_path, writer):
    obj, expected = _synthetic()
    loaded = load_torch_file(writer(tmp_path / "synthetic.pth", obj))
    assert loaded["epoch"] == 3 and loaded["names"] == ["a", ("b", 1.5)]
    sd = select_state_dict(loaded, "model")
    assert type(loaded["model"]) is dict and list(sd) == list(expected)
    for k, want in expected.items():
        got = sd[k]
        assert got.dtype == want.dtype and got.shape == want.shape and got.flags.c_contiguous, k
        assert got.tobytes() == np.ascontiguousarray(want).tobytes(), k
    assert not np.shares_memory(sd["grid"], sd["transposed"])


def test_bare_storage_and_parameter(tmp_path):
    storage = Storage("0", np.arange(4, dtype=np.int64))
    rebuild_parameter = FakeGlobal("torch._utils", "_rebuild_parameter")
    param = Evil(rebuild_parameter, tensor("1", np.ones(2, np.float32)), True, OrderedDict())
    loaded = load_torch_file(write_zip(tmp_path / "bare.pth", {"storage": storage, "param": param}))
    assert loaded["storage"].tolist() == [0, 1, 2, 3] and loaded["param"].tolist() == [1.0, 1.0]


# ------------------------------------------------------------------------------------------------------- hostile files


def _payloads(sentinel: pathlib.Path) -> dict[str, tuple[str, Evil]]:
    """name -> (global the message must name, object whose unpickling would create `sentinel`)."""
    return {
        "os.system": ("os.system", Evil(FakeGlobal("os", "system"), f"touch {sentinel}")),
        "posix.system": ("posix.system", Evil(__import__("os").system, f"touch {sentinel}")),  # the real function
        "builtins.open": ("builtins.open", Evil(FakeGlobal("builtins", "open"), str(sentinel), "w")),
        "builtins.eval": ("builtins.eval", Evil(FakeGlobal("builtins", "eval"), f"open({str(sentinel)!r}, 'w')")),
        "builtins.exec": ("builtins.exec", Evil(FakeGlobal("builtins", "exec"), f"open({str(sentinel)!r}, 'w')")),
        "subprocess": ("subprocess.check_call", Evil(FakeGlobal("subprocess", "check_call"), ["touch", str(sentinel)])),
    }


def test_payload_would_run_under_plain_pickle(tmp_path):
    # Guards the tests below: the sentinel check only means something if the payload is live.
    sentinel = tmp_path / "SENTINEL"
    _, evil = _payloads(sentinel)["builtins.open"]
    pickle.loads(dumps(evil)[0]).close()
    assert sentinel.exists()


@pytest.mark.parametrize("layout", ["bare", "zip", "legacy", "zip_in_storage_type"])
@pytest.mark.parametrize(
    "payload", ["os.system", "posix.system", "builtins.open", "builtins.eval", "builtins.exec", "subprocess"]
)
def test_hostile_global_is_refused(tmp_path, payload, layout):
    sentinel = tmp_path / "SENTINEL"
    global_name, evil = _payloads(sentinel)[payload]
    path = tmp_path / f"evil_{layout}.pth"
    if layout == "bare":
        path.write_bytes(dumps(evil)[0])
    elif layout == "zip":
        write_zip(path, {"params": OrderedDict(w=tensor("0", np.ones(3, np.float32)), x=evil)})
    elif layout == "legacy":
        write_legacy(path, {"params": OrderedDict(w=tensor("0", np.ones(3, np.float32)), x=evil)})
    else:  # the hostile call where a storage class belongs
        data, _ = dumps({"w": tensor("0", np.ones(3, np.float32))})
        data = data.replace(b"ctorch\nFloatStorage\n", dumps(evil)[0][2:-1])
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("archive/data.pkl", data)
            archive.writestr("archive/data/0", np.ones(3, np.float32).tobytes())
    message = assert_one_line_error(path, match="refuses to load global")
    assert f"'{global_name}'" in message and "nothing from the file was executed" in message
    assert not sentinel.exists()


def test_unknown_persistent_id_is_refused(tmp_path):
    class OddPickler(TorchLikePickler):
        def persistent_id(self, obj):
            return ("module", "x") if isinstance(obj, Storage) else None

    buf = io.BytesIO()
    OddPickler(buf, legacy=False).dump({"w": tensor("0", np.ones(1, np.float32))})
    path = tmp_path / "odd.pth"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", buf.getvalue())
    assert_one_line_error(path, match="unknown persistent id")


def test_state_build_on_a_rebuild_function_is_refused(tmp_path):
    data, _ = dumps({"w": tensor("0", np.ones(1, np.float32))})
    # GLOBAL _rebuild_tensor_v2, then BUILD {'fn': 1} on it, as an attacker could prepend: must not rewire the stand-in.
    hostile = data[:2] + b"ctorch._utils\n_rebuild_tensor_v2\n}X\x02\x00\x00\x00fnK\x01sb0" + data[2:]
    path = tmp_path / "build.pth"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", hostile)
        archive.writestr("archive/data/0", np.ones(1, np.float32).tobytes())
    assert_one_line_error(path, match="set the state")


# -------------------------------------------------------------------------------------------------------- broken files


@pytest.fixture(scope="module")
def fixture_bytes() -> dict[str, bytes]:
    return {name: (SWINIR / name).read_bytes() for name in (ZIP_FIXTURE, LEGACY_FIXTURE)}


@pytest.mark.parametrize("name", [ZIP_FIXTURE, LEGACY_FIXTURE])
@pytest.mark.parametrize("keep", [1, 2, 11, 200, 5000, "half", -8, -1])
def test_truncated_fixture(tmp_path, fixture_bytes, name, keep):
    raw = fixture_bytes[name]
    cut = len(raw) // 2 if keep == "half" else keep % len(raw)  # negative: that many bytes cut off the end
    path = tmp_path / f"cut_{cut}.pth"
    path.write_bytes(raw[:cut])
    assert_one_line_error(path)


def _zip_with(path: pathlib.Path, entries: dict[str, bytes], compression=zipfile.ZIP_STORED) -> pathlib.Path:
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def _one_tensor_pickle(numel: int = 3, shape=(3,), stride=(1,), offset=0) -> bytes:
    return dumps({"w": Tensor(Storage("0", np.ones(numel, np.float32)), offset, shape, stride)})[0]


@pytest.mark.parametrize(
    "case, match",
    [
        ("empty", "empty"),
        ("text", "neither a zip archive nor a pickle"),
        ("plain_pickle", "magic number"),
        ("bad_magic", "magic number"),
        ("bad_protocol", "protocol version"),
        ("big_endian_legacy", "big-endian"),
        ("big_endian_zip", "little-endian"),
        ("zip_without_data_pkl", "data.pkl"),
        ("zip_missing_storage", "lacks the entry"),
        ("zip_short_storage", "holds 8 bytes, needs 12"),
        ("legacy_count_mismatch", "holds 2 elements"),
        ("stride_out_of_storage", "reaches element 3"),
        ("offset_out_of_storage", "reaches element"),
        ("zip_bomb_numel", "over 100x"),
        ("zip_bomb_broadcast", "over 100x"),
        ("zip_bomb_deflate_storage", "over 100x"),
        ("zip_bomb_deflate_pickle", "compressed more than 100:1"),
        ("overlapping_entries", "overlapping"),
        ("deep_nesting", "nested too deeply"),
        ("not_a_zip_after_header", "corrupt or truncated"),
    ],
)
def test_broken_file(tmp_path, case, match):
    path = tmp_path / f"{case}.pth"
    ones = np.ones(3, np.float32).tobytes()
    if case == "empty":
        path.write_bytes(b"")
    elif case == "text":
        path.write_text("this is a text file, not a checkpoint\n")
    elif case == "plain_pickle":
        path.write_bytes(pickle.dumps({"a": 1}, protocol=2))
    elif case == "bad_magic":
        write_legacy(path, {"w": tensor("0", np.ones(3, np.float32))}, magic=LEGACY_MAGIC + 1)
    elif case == "bad_protocol":
        path.write_bytes(pickle.dumps(LEGACY_MAGIC, protocol=2) + pickle.dumps(1000, protocol=2))
    elif case == "big_endian_legacy":
        write_legacy(path, {"w": tensor("0", np.ones(3, np.float32))}, sys_info=SYS_INFO | {"little_endian": False})
    elif case == "big_endian_zip":
        write_zip(path, {"w": tensor("0", np.ones(3, np.float32))}, byteorder="big")
    elif case == "zip_without_data_pkl":
        _zip_with(path, {"archive/version": b"3\n", "archive/data/0": ones})
    elif case == "zip_missing_storage":
        _zip_with(path, {"archive/data.pkl": _one_tensor_pickle()})
    elif case == "zip_short_storage":
        _zip_with(path, {"archive/data.pkl": _one_tensor_pickle(), "archive/data/0": ones[:8]})
    elif case == "legacy_count_mismatch":
        write_legacy(path, {"w": tensor("0", np.ones(3, np.float32))})
        raw = path.read_bytes()
        at = len(raw) - 12 - 8  # the int64 element count before the 12 data bytes
        path.write_bytes(raw[:at] + struct.pack("<q", 2) + raw[at + 8 :])
    elif case == "stride_out_of_storage":
        _zip_with(path, {"archive/data.pkl": _one_tensor_pickle(shape=(2, 2), stride=(2, 1)), "archive/data/0": ones})
    elif case == "offset_out_of_storage":
        _zip_with(path, {"archive/data.pkl": _one_tensor_pickle(offset=1), "archive/data/0": ones})
    elif case == "zip_bomb_numel":
        data = dumps({"w": Tensor(Storage("0", np.ones(1, np.float32)), 0, (1,), (1,))})[0]
        data = data.replace(b"K\x01t", b"J" + struct.pack("<i", 2**31 - 1) + b"t")  # numel 1 -> 2**31 - 1 in the id
        _zip_with(path, {"archive/data.pkl": data, "archive/data/0": ones})
    elif case == "zip_bomb_broadcast":
        big = (1 << 20, 1 << 20)
        _zip_with(path, {"archive/data.pkl": _one_tensor_pickle(shape=big, stride=(0, 0)), "archive/data/0": ones})
    elif case == "zip_bomb_deflate_storage":
        zeros = np.zeros(1 << 20, np.float32)
        data = dumps({"w": tensor("0", zeros)})[0]
        _zip_with(path, {"archive/data.pkl": data, "archive/data/0": zeros.tobytes()}, zipfile.ZIP_DEFLATED)
    elif case == "zip_bomb_deflate_pickle":
        _zip_with(path, {"archive/data.pkl": pickle.dumps("a" * (1 << 20), protocol=2)}, zipfile.ZIP_DEFLATED)
    elif case == "overlapping_entries":
        _overlapping_zip(path)
    elif case == "deep_nesting":
        _zip_with(path, {"archive/data.pkl": b"\x80\x02" + b"]" * 5000 + b"a" * 4999 + b"."})
    elif case == "not_a_zip_after_header":
        path.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    assert_one_line_error(path, match)


def _overlapping_zip(path: pathlib.Path) -> None:
    """Forty central-directory entries all pointing at the same stored bytes (a zip bomb without compression)."""
    count, data = 40, np.ones(1000, np.float32).tobytes()
    obj = {str(i): Tensor(Storage(str(i), np.ones(1000, np.float32)), 0, (1000,), (1,)) for i in range(count)}
    pkl = dumps(obj)[0]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("archive/data.pkl", pkl)
        archive.writestr("archive/data/0", data)
        template = archive.getinfo("archive/data/0")
        for i in range(1, count):
            info = zipfile.ZipInfo(f"archive/data/{i}")
            info.header_offset, info.CRC = template.header_offset, template.CRC
            info.file_size = info.compress_size = template.file_size
            archive.filelist.append(info)  # central directory only: no local data of its own
    path.write_bytes(buf.getvalue())


# --------------------------------------------------------------------------------------------------- select_state_dict


def test_select_state_dict_preference_and_errors():
    a, b = np.zeros(2, np.float32), np.ones(2, np.float32)
    assert select_state_dict({"params": {"w": a}, "params_ema": {"w": b}})["w"] is b
    assert select_state_dict({"params": {"w": a}, "state_dict": {"w": b}})["w"] is a
    assert select_state_dict({"state_dict": {"w": b}, "epoch": 3})["w"] is b
    assert list(select_state_dict({"w": a, "v": b})) == ["w", "v"]
    with pytest.raises(CheckpointError, match=r"^ckpt\.pth: no key 'model'; keys present: \['params', 'epoch'\]$"):
        select_state_dict({"params": {"w": a}, "epoch": 1}, "model", path="ckpt.pth")
    with pytest.raises(CheckpointError, match="none of .* in keys \\['epoch', 'opt'\\]"):
        select_state_dict({"epoch": 1, "opt": {}})
    with pytest.raises(CheckpointError, match="'params' is not a dict"):
        select_state_dict({"params": {"w": [1, 2]}})
    with pytest.raises(CheckpointError, match="not a dict"):
        select_state_dict([a])


def test_select_state_dict_unknown_key_on_fixture(loaded):
    with pytest.raises(CheckpointError, match=r"keys present: \['params', 'params_ema'\]") as info:
        select_state_dict(loaded[LEGACY_FIXTURE], "state_dict", path=LEGACY_FIXTURE)
    assert LEGACY_FIXTURE in str(info.value)
    picked = select_state_dict(loaded[LEGACY_FIXTURE])  # params_ema before params
    assert all(picked[k] is v for k, v in loaded[LEGACY_FIXTURE]["params_ema"].items())
