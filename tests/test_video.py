"""Videos through `jaxsharp sharpen`: frames, frame rate and the audio stream survive; bad files fail cleanly.

The input is made by PyAV at test time: 8 frames of 64x48 at 10 fps (MPEG-4) with an AAC audio track.
"""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

av = pytest.importorskip("av")

from jaxsharp import infer, video  # noqa: E402

FRAMES, HEIGHT, WIDTH, FPS, RATE = 8, 48, 64, 10, 8000


def _frame(i: int) -> np.ndarray:
    y, x = np.mgrid[:HEIGHT, :WIDTH]
    return np.stack([(x * 4 + i * 10) % 256, (y * 5) % 256, np.full_like(x, 128)], -1).astype(np.uint8)


def _make_video(path: pathlib.Path, *, audio_codec: str = "aac") -> pathlib.Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.codec_context.qscale = 2
        sound = out.add_stream(audio_codec, rate=RATE)
        sound.layout = "mono"
        for i in range(FRAMES):
            frame = av.VideoFrame.from_ndarray(_frame(i), format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
        n = RATE * FRAMES // FPS
        tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(n) / RATE)).astype(np.float32)
        sample_format = "fltp" if audio_codec == "aac" else "u8"
        for start in range(0, n, 1024):
            chunk = tone[start:start + 1024][None]
            if sample_format == "u8":
                chunk = np.round(chunk * 127 + 128).astype(np.uint8)
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format=sample_format, layout="mono")
            frame.sample_rate, frame.pts = RATE, start
            for packet in sound.encode(frame):
                out.mux(packet)
        for packet in sound.encode(None):
            out.mux(packet)
    return path


def _probe(path: pathlib.Path) -> dict:
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(v)]
        rate, size, codec = v.average_rate, (v.codec_context.height, v.codec_context.width), v.codec_context.name
    with av.open(str(path)) as c:
        audio = [(s.codec_context.name, s.sample_rate, sum(p.size for p in c.demux(s) if p.dts is not None))
                 for s in c.streams.audio]
    return dict(frames=frames, rate=rate, size=size, codec=codec, audio=audio)


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> pathlib.Path:
    return _make_video(tmp_path_factory.mktemp("video") / "clip.mp4")


def test_identity_transcode_keeps_frames_rate_and_audio(clip, tmp_path):
    summary = video.transcode(clip, tmp_path / "same.mp4", lambda frames: frames, batch=3)
    assert summary.frames == FRAMES and summary.audio_streams == 1
    source, out = _probe(clip), _probe(tmp_path / "same.mp4")
    assert len(out["frames"]) == FRAMES and out["rate"] == FPS and out["size"] == (HEIGHT, WIDTH)
    assert out["audio"] == source["audio"]  # same codec, rate and every byte of the packets
    # The re-encode is near-lossless (CRF 18 / qscale 3): the frames come back within a few grey levels.
    for a, b in zip(source["frames"], out["frames"]):
        mse = np.mean((a.astype(np.float64) - b) ** 2)
        assert 10 * np.log10(255 ** 2 / mse) > 35


def test_dispatched_work_gives_the_same_video_as_waited_work(clip, tmp_path):
    # A process returning a function (the engine's start_bucket) is waited for by the encoder thread: the same
    # frames in the same order as a process that returns them. (Not the same bytes: multithreaded libx264 output
    # varies from run to run, so each frame is compared with the processed source frame it must be.)
    calls = []

    def dimmed(frames):
        return [np.clip(f * 0.9, 0, 1) for f in frames]

    def dispatched(frames):
        calls.append(len(frames))
        return lambda: dimmed(frames)

    video.transcode(clip, tmp_path / "waited.mkv", dimmed, batch=3)
    video.transcode(clip, tmp_path / "dispatched.mkv", dispatched, batch=3)
    assert sum(calls) == FRAMES and max(calls) == 3
    source = _probe(clip)
    expected = [np.clip(np.round(f * 0.9), 0, 255) for f in source["frames"]]
    for name in ("waited.mkv", "dispatched.mkv"):
        out = _probe(tmp_path / name)
        assert len(out["frames"]) == FRAMES and out["audio"] == source["audio"]
        for want, got in zip(expected, out["frames"]):
            mse = np.mean((want - got.astype(np.float64)) ** 2)
            assert 10 * np.log10(255 ** 2 / mse) > 35  # near-lossless, as the identity transcode above


def test_sharpen_command_on_a_video(clip, tiny_student, tmp_path, capsys):
    assert infer.main([str(clip), "--model", str(tiny_student), "-o", str(tmp_path / "out.mp4")]) == 0
    out = _probe(tmp_path / "out.mp4")
    assert len(out["frames"]) == FRAMES and out["rate"] == FPS and out["size"] == (HEIGHT, WIDTH)
    assert out["codec"] == ("h264" if "libx264" in av.codecs_available else "mpeg4")
    assert out["audio"] == _probe(clip)["audio"]


def test_sr_video_is_scale_times_larger_with_mpeg4_fallback(clip, tiny_student, tmp_path, monkeypatch):
    monkeypatch.setattr(video, "_CODECS", ("mpeg4",))  # as if PyAV's FFmpeg had no libx264
    assert infer.main([str(clip), "--model", str(tiny_student), "--mode", "sr", "-o", str(tmp_path)]) == 0
    out = _probe(tmp_path / "clip.mp4")
    assert out["size"] == (2 * HEIGHT, 2 * WIDTH) and out["codec"] == "mpeg4"
    assert len(out["frames"]) == FRAMES and out["rate"] == FPS and len(out["audio"]) == 1


def test_audio_the_container_cannot_hold_is_dropped_with_a_warning(tmp_path):
    source = _make_video(tmp_path / "pcm.mkv", audio_codec="pcm_u8")  # Matroska takes 8-bit PCM, MP4 does not
    with pytest.warns(UserWarning, match="pcm_u8"):
        summary = video.transcode(source, tmp_path / "out.mp4", lambda frames: frames, batch=4)
    assert summary.audio_streams == 0 and summary.dropped_audio == ("pcm_u8",)
    assert len(_probe(tmp_path / "out.mp4")["frames"]) == FRAMES


def test_corrupt_video_is_one_error_line_and_no_output(tiny_student, tmp_path, capsys):
    (tmp_path / "bad.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 50)
    assert infer.main([str(tmp_path / "bad.mp4"), "--model", str(tiny_student)]) == 1
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "bad.mp4" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.mp4"]  # nothing half-written, no temp file left


@pytest.mark.skipif("libx264" not in av.codecs_available, reason="PyAV lacks libx264")
def test_output_crf_sets_the_quality_written(clip, tmp_path):
    # CRF 0 is lossless in x264 (up to the yuv420p conversion); a high CRF gives a smaller, lossier file.
    source = _probe(clip)["frames"]
    sizes, psnrs = {}, {}
    for crf in (0, 40):
        out = tmp_path / f"crf{crf}.mp4"
        video.transcode(clip, out, lambda frames: frames, batch=4, crf=crf)
        sizes[crf] = out.stat().st_size
        got = _probe(out)["frames"]
        mse = np.mean([np.mean((a.astype(np.float64) - b) ** 2) for a, b in zip(source, got)])
        psnrs[crf] = 10 * np.log10(255 ** 2 / mse)
    assert sizes[40] < sizes[0] and psnrs[40] < psnrs[0] - 3
    with pytest.raises(ValueError, match="crf"):
        video.transcode(clip, tmp_path / "bad.mp4", lambda frames: frames, batch=4, crf=52)


def test_sharpen_rejects_a_crf_out_of_range_in_one_line(clip, tiny_student, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        infer.main([str(clip), "--model", str(tiny_student), "--crf", "60", "-o", str(tmp_path / "o.mp4")])
    assert e.value.code == 2 and "--crf" in capsys.readouterr().err
    assert infer.main([str(clip), "--model", str(tiny_student), "--crf", "30", "-o", str(tmp_path / "o.mp4")]) == 0


def _planes(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.concatenate([y, u.reshape(-1, y.shape[1]), v.reshape(-1, y.shape[1])]).astype(np.uint8)


def test_yuv420p_to_rgb_matches_the_standard_formulas():
    h, w = 4, 8
    # Greys: limited range maps 16..235 onto 0..255; full range is the identity.
    y = np.tile(np.array([16, 50, 128, 235], np.uint8)[:, None], (1, w))
    grey = _planes(y, np.full((h // 2, w // 2), 128), np.full((h // 2, w // 2), 128))
    want = np.round((y.astype(float) - 16) * 255 / 219).astype(np.uint8)
    np.testing.assert_array_equal(video.yuv420p_to_rgb(grey), np.repeat(want[..., None], 3, -1))
    np.testing.assert_array_equal(video.yuv420p_to_rgb(grey, full_range=True), np.repeat(y[..., None], 3, -1))
    # Saturated red as each standard codes it (full range): Y = Kr * 255, Cb, Cr by its Kr, Kb; decodes to red.
    for matrix, kr, kb in (("bt601", 0.299, 0.114), ("bt709", 0.2126, 0.0722)):
        luma = kr * 255
        cb, cr = 128 + (0 - luma) / (2 * (1 - kb)), 128 + (255 - luma) / (2 * (1 - kr))
        red = _planes(np.full((h, w), round(luma)), np.full((h // 2, w // 2), round(cb)),
                      np.full((h // 2, w // 2), min(255, round(cr))))  # Cr 255.5 does not fit a byte
        got = video.yuv420p_to_rgb(red, matrix=matrix, full_range=True)[0, 0].astype(int)
        assert abs(got[0] - 255) <= 2 and got[1] <= 2 and got[2] <= 2, (matrix, got)


def test_decoding_yuv420p_keeps_the_brightness_ffmpeg_rgb_conversion_loses():
    # A lossless yuv420p round trip of a natural picture: FFmpeg's own rgb24 conversion darkens it by ~1 level.
    from jaxsharp import image_io, metrics, paths

    rgb = image_io.to_uint8(image_io.read_image_rgb(paths.data_root() / "benchmarks/Set5/HR/baby.png")[:128, :192])
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
    ours, ffmpeg = video.frame_to_rgb(frame), frame.to_ndarray(format="rgb24")
    assert abs(ours.astype(float).mean() - rgb.mean()) < 0.3
    assert metrics.psnr_y(ours / 255, rgb / 255, crop_border=2) > metrics.psnr_y(ffmpeg / 255, rgb / 255,
                                                                                 crop_border=2) + 3
