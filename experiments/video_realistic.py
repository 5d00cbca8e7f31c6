"""`jaxsharp sharpen` on low-bitrate H.264 clips, measured frame by frame against the clean frames (issue 18).

    python experiments/video_realistic.py     # -> experiments/results/video_realistic.json, table on stdout

The clips are made here from stills with PyAV: a camera panning across each of three pictures (a face, a
terminal's text, a game scene from the category set; 384x256 windows, 24 frames each, 3 px right and 1 px down per
frame), encoded by libx264 (preset medium, yuv420p) at CRF 28 and 33, two ways:
- "native": the clip at its own size (a call or stream that kept its resolution); `jaxsharp sharpen` in sharpen
  mode; doing nothing = the decoded clip.
- "half": the frames area-shrunk to 192x128 first (a stream that dropped its resolution), then played at 2x:
  `jaxsharp sharpen --mode sr --scale 2` (a sharpen model gets the frame enlarged by MATLAB bicubic first);
  doing nothing = the decoded clip enlarged by that same bicubic.
Each clip goes through the `jaxsharp sharpen` command (sharpen_cli.main, as a user runs it) with each model and
output CRF, and through the same video writer with no model at all ("writer only", video.transcode of the identity
or of the bicubic enlargement): what the decode / RGB / re-encode round trip costs by itself. Every decoded frame is
scored against its clean frame (PSNR-Y / SSIM-Y, border 2, evaluate.score).
"""

import json
import pathlib
import sys
import tempfile

import numpy as np

from jaxsharp import bicubic, evaluate, image_io, paths, sharpen_cli, video
from jaxsharp.degrade_realistic.resize import resize

STILLS = ("categories/people/kodak_kodim04.png", "categories/text/rich_markdown.png",
          "categories/games/godot_3d_truck_town_tow.png")
WINDOW = (256, 384)  # H, W
FRAMES_PER_STILL = 24
PAN = (1, 3)  # px per frame, down and right
INPUT_CRFS = (28, 33)
OUTPUT_CRFS = (0, 18, 23, 28)
MODELS = ("student_real_x2", "student_small_x2", "student_tiny_x2")
RATE = 24
OUT = pathlib.Path(__file__).resolve().parent / "results" / "video_realistic.json"


def clean_frames() -> list[np.ndarray]:
    frames = []
    for still in STILLS:
        image = image_io.read_image_rgb(paths.data_root() / still)
        for i in range(FRAMES_PER_STILL):
            top, left = i * PAN[0], i * PAN[1]
            frames.append(image[top:top + WINDOW[0], left:left + WINDOW[1]])
    assert all(f.shape == WINDOW + (3,) for f in frames), "a still is smaller than the pan"
    return frames


def encode(frames: list[np.ndarray], path: pathlib.Path, crf: float) -> None:
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=RATE)
        stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        stream.options = {"crf": f"{crf:g}", "preset": "medium"}
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(image_io.to_uint8(frame), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def decode(path: pathlib.Path) -> list[np.ndarray]:
    import av

    with av.open(str(path)) as container:
        # video.frame_to_rgb, as `jaxsharp sharpen` reads frames (FFmpeg's own rgb24 conversion darkens ~1 level)
        return [video.frame_to_rgb(f).astype(np.float32) / 255.0 for f in container.decode(video=0)]


def scores(frames: list[np.ndarray], clean: list[np.ndarray]) -> dict:
    assert len(frames) == len(clean), (len(frames), len(clean))
    rows = [evaluate.score(f, c, 2) for f, c in zip(frames, clean)]
    return {"psnr_y": float(np.mean([r["psnr_y"] for r in rows])),
            "ssim_y": float(np.mean([r["ssim_y"] for r in rows])),
            "psnr_y_per_frame": [round(r["psnr_y"], 3) for r in rows]}


def _kbps(path: pathlib.Path, frames: int) -> float:
    return round(path.stat().st_size * 8 / 1000 / (frames / RATE), 1)


def main() -> None:
    clean = clean_frames()
    half = [np.clip(resize(f, (WINDOW[0] // 2, WINDOW[1] // 2), "area"), 0.0, 1.0) for f in clean]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        for case, frames, extra, player in (("native", clean, [], lambda fs: fs),
                                            ("half", half, ["--mode", "sr", "--scale", "2"],
                                             lambda fs: [bicubic.sharpen_input(f, 2, quantize=True) for f in fs])):
            for in_crf in INPUT_CRFS:
                clip = tmp / f"{case}_crf{in_crf}.mp4"
                encode(frames, clip, in_crf)
                base = scores(player(decode(clip)), clean)
                results.append({"case": case, "input_crf": in_crf, "method": "do nothing", "output_crf": None,
                                "kbps": _kbps(clip, len(clean)), **base})
                for out_crf in OUTPUT_CRFS:
                    out = tmp / f"{case}_writer_{in_crf}_{out_crf}.mp4"
                    video.transcode(clip, out, player, batch=4, scale=2 if extra else 1, crf=out_crf)
                    s = scores(decode(out), clean)
                    results.append({"case": case, "input_crf": in_crf, "method": "writer only",
                                    "output_crf": out_crf, "kbps": _kbps(out, len(clean)), **s,
                                    "gain_psnr_y": s["psnr_y"] - base["psnr_y"]})
                for model in MODELS:
                    for out_crf in OUTPUT_CRFS:
                        out = tmp / f"{case}_{model}_{in_crf}_{out_crf}.mp4"
                        code = sharpen_cli.main([str(clip), "--model", model, "--crf", str(out_crf), "-o", str(out)]
                                                + extra)
                        if code != 0:
                            sys.exit(f"jaxsharp sharpen failed on {clip} with {model}")
                        s = scores(decode(out), clean)
                        results.append({"case": case, "input_crf": in_crf, "method": model, "output_crf": out_crf,
                                        "kbps": _kbps(out, len(clean)), **s,
                                        "gain_psnr_y": s["psnr_y"] - base["psnr_y"]})
    OUT.write_text(json.dumps({"note": __doc__.split("\n\n")[0], "stills": STILLS, "frames": len(clean),
                               "results": results}, indent=1) + "\n")
    print("| clip | input CRF | method | output CRF | PSNR-Y | SSIM-Y | gain (dB) | kbit/s |")
    print("|---|---|---|---|---:|---:|---:|---:|")
    for r in results:
        gain = f"{r['gain_psnr_y']:+.2f}" if "gain_psnr_y" in r else ""
        print(f"| {r['case']} | {r['input_crf']} | {r['method']} | "
              f"{'' if r['output_crf'] is None else r['output_crf']} | {r['psnr_y']:.2f} | {r['ssim_y']:.4f} | "
              f"{gain} | {r['kbps']} |")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
