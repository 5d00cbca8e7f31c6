"""The student's configuration: one frozen dataclass, the registered sizes, and its JSON form.

Sizes (x2 sharpen; `python -m jaxsharp.student.info` prints these for any scale, mode and frame size):
  tiny   16 channels, 4 convs    8,124 params,   8.4 GFLOP per 1080p frame: the speed end.
  small  48 channels, 8 convs  135,132 params, 140 GFLOP per 1080p frame: the quality end (a 32-channel, 6-conv
         student reaches ~37.2 dB Set5 x2 after 15 min on T91; `small` has ~3x its parameters, for the
         >= 37.3 dB Set5 / 32.9 dB Set14 x2 target).
  base   64 channels, 12 convs 383,180 params, 397 GFLOP per 1080p frame: for longer training on larger data.
"""

from __future__ import annotations

import dataclasses
import json

from jaxsharp.degrade import MODES

# name -> StudentConfig fields (everything but size, scale and mode).
SIZES: dict[str, dict] = {
    "tiny": dict(channels=16, num_convs=4),
    "small": dict(channels=48, num_convs=8),
    "base": dict(channels=64, num_convs=12),
}

_FORMAT = "jaxsharp-student"


@dataclasses.dataclass(frozen=True)
class StudentConfig:
    """A residual CNN working at low resolution.

    size: the registered name the fields came from ("custom" for hand-set fields; informative only).
    scale: integer factor between the network's working resolution and the output (2, 3, 4, ...).
    mode: "sharpen" (blurry full-size in, same size out) or "sr" (low-res in, scale x larger out).
    channels: feature width of every hidden conv. num_convs: all 3x3 convs, head and tail included (>= 2).
    space_to_depth: sharpen mode: the side of the blocks the input is folded into channels (0 = scale). A larger
      block runs the same convs on fewer pixels: block 4 costs ~1/4 of block 2 per conv and sees twice as far, the
      way to a real-time CPU student (a 2-core CPU runs 3x3 convs at ~100 GFLOP/s). sr mode works on the lr input
      as it is and takes 0 only.


    Activations are ReLU: it fuses into the conv epilogue on every backend (XLA, cuDNN) with no parameters and no
    extra memory traffic. PReLU (FSRCNN's choice) adds a per-channel slope and a select per activation for a gain
    of a few hundredths of a dB at these sizes, which the real-time budget is better spent on as width or depth.
    """

    size: str = "custom"
    scale: int = 2
    mode: str = "sharpen"
    channels: int = 16
    num_convs: int = 4
    space_to_depth: int = 0

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"unknown mode {self.mode!r}; valid modes: {', '.join(MODES)}")
        if not isinstance(self.scale, int) or isinstance(self.scale, bool) or self.scale < 1:
            raise ValueError(f"scale must be an integer >= 1, got {self.scale!r}")
        if not isinstance(self.channels, int) or self.channels < 1:
            raise ValueError(f"channels must be an integer >= 1, got {self.channels!r}")
        if not isinstance(self.num_convs, int) or self.num_convs < 2:
            raise ValueError(f"num_convs must be an integer >= 2 (head and tail), got {self.num_convs!r}")
        s2d = self.space_to_depth
        if not isinstance(s2d, int) or isinstance(s2d, bool) or s2d < 0:
            raise ValueError(f"space_to_depth must be an integer >= 0 (0: the scale), got {s2d!r}")
        if s2d and self.mode != "sharpen":
            raise ValueError("space_to_depth applies to sharpen mode only (sr students work on the lr input)")

    @classmethod
    def from_size(cls, size: str, *, scale: int = 2, mode: str = "sharpen", **overrides) -> StudentConfig:
        """The registered size `size` at this scale and mode; `overrides` replace fields (size becomes 'custom')."""
        if size not in SIZES:
            raise ValueError(f"unknown student size {size!r}; registered sizes: {', '.join(SIZES)}")
        fields = {**SIZES[size], **overrides}
        name = size if fields == SIZES[size] else "custom"
        return cls(size=name, scale=scale, mode=mode, **fields)

    @property
    def block(self) -> int:
        """Side of the space-to-depth block in input pixels: space_to_depth or the scale (sharpen), 1 (sr).

        Sharpen inputs are padded to, tiled on and exported for multiples of it.
        """
        return (self.space_to_depth or self.scale) if self.mode == "sharpen" else 1

    @property
    def out_block(self) -> int:
        """The pixel-shuffle factor of the tail: the block (sharpen) or the scale (sr); so also the number every
        output frame's height and width are multiples of."""
        return self.block if self.mode == "sharpen" else self.scale

    @property
    def in_channels(self) -> int:
        """Channels the head conv sees: 3*b*b after space-to-depth (block b) in sharpen mode, 3 in sr mode."""
        return 3 * self.block * self.block if self.mode == "sharpen" else 3

    @property
    def receptive_radius(self) -> int:
        """How far (in input pixels) an output pixel sees, at most.

        Each 3x3 conv adds one low-resolution pixel. sharpen: plus the pixel's own space-to-depth block, in
        full-size pixels. sr: the residual's bicubic taps reach 2 input pixels.
        """
        if self.mode == "sharpen":
            return (self.num_convs + 1) * self.block
        return max(self.num_convs, 2)

    def to_dict(self) -> dict:
        return {"model": _FORMAT, "config": dataclasses.asdict(self)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict) -> StudentConfig:
        if data.get("model") != _FORMAT:
            raise ValueError(f"not a student config (model {data.get('model')!r}, expected {_FORMAT!r})")
        fields = data.get("config")
        if not isinstance(fields, dict):
            raise ValueError("student config has no 'config' object")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(fields) - known)
        if unknown:
            raise ValueError(f"unknown student config fields {unknown}")
        return cls(**fields)

    @classmethod
    def from_json(cls, text: str) -> StudentConfig:
        return cls.from_dict(json.loads(text))
