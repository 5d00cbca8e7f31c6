"""The re-parameterised student's configuration: one frozen dataclass, the registered sizes, and its JSON form.

Sizes (x2 sharpen, RGB; the *collapsed* network, which is what ships and runs; parameters and GFLOPs per 1920x1080
output frame by XLA's count on CPU, a multiply-add counting 2; `python -m jaxsharp.student_reparam.info` prints
them for any scale, mode, block and frame size):

| size | channels | 3x3 blocks | head, tail | params (b 2) | GFLOPs (b 2) | params (b 4) | GFLOPs (b 4) | SESR (Y, x2) |
|---|---:|---:|---:|---:|---:|---:|---:|---|
| m3  | 16 |  3 | 5x5 |  16,588 | 17.2 |  45,424 | 11.7 | M3 8.91K   |
| m5  | 16 |  5 | 5x5 |  21,228 | 22.0 |  50,064 | 12.9 | M5 13.52K  |
| m11 | 16 | 11 | 5x5 |  35,148 | 36.4 |  63,984 | 16.5 | M11 27.34K |
| xl  | 32 | 11 | 5x5 | 120,972 |  125 | 178,608 | 46.1 | XL 105.37K |

(The plain student, for comparison: tiny 8,124 params, 8.41 GFLOPs; small 135,132, 140.) The RGB head and tail
see 3*b*b channels after space-to-depth by b (12 at b = 2, 48 at b = 4) instead of SESR's 1 (Y) and 4, which is
why each size has more parameters than its SESR namesake; at b = 4 the 5x5 head and tail hold most of them
(`head_kernel=3` trims them). Training holds `expand` (SESR's p, 256) channels inside every block: 0.31M (m3) to
1.2M (xl) training parameters at b = 2, all collapsed away at export. A Y-only body (SESR's own setting, chroma by
bicubic) is `color="y"`: the head and tail then see b*b channels instead of 3*b*b (SESR-M5's own 13.5K
parameters, 14.0 GFLOPs at b = 2).
"""

from __future__ import annotations

import dataclasses
import json

from jaxsharp.degrade import MODES

# name -> ReparamConfig fields (everything but size, scale and mode): SESR's f (channels) and m (num_blocks).
SIZES: dict[str, dict] = {
    "m3": dict(channels=16, num_blocks=3),
    "m5": dict(channels=16, num_blocks=5),
    "m11": dict(channels=16, num_blocks=11),
    "xl": dict(channels=32, num_blocks=11),
}

FORMAT = "jaxsharp-reparam-student"
ACTIVATIONS = ("relu", "prelu")
COLORS = ("rgb", "y")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclasses.dataclass(frozen=True)
class ReparamConfig:
    """A SESR-style student whose every conv is a collapsible linear block (jaxsharp.student_reparam.model).

    size: the registered name the fields came from ("custom" for hand-set fields; informative only).
    scale, mode, space_to_depth: as the plain student's (jaxsharp.student.StudentConfig): sharpen folds the input
      into blocks of `space_to_depth` (0 = the scale) pixels, sr works on the lr input.
    channels: feature width (SESR's f). num_blocks: body blocks (SESR's m), each `body_kernel` wide, identity inside.
    expand: channels inside every linear block while training (SESR's p; 0 = no SESR branch, edge branches only).
    head_kernel: kernel of the head and tail blocks (SESR: 5), odd. body_kernel: kernel of the body blocks, odd.
    activation: after every body block: "relu" (fuses into the conv) or "prelu" (SESR's; one slope per channel).
    edge_branches: add ECBSR's branches to every block (conv kxk, 1x1->kxk, 1x1->Sobel-x, 1x1->Sobel-y,
      1x1->Laplacian); edge_multiplier: the 1x1->kxk branch's inner width as a multiple of the block's output
      width (ECBSR's depth multiplier, 2).
    feature_residual: SESR's long skip, the head's output added to the body's.
    input_residual: add the input (sharpen) or its MATLAB bicubic upsampling (sr) to the output, so the tail
      learns the difference; False: the network makes the whole image.
    color: what the body sees and makes. "rgb": the three channels. "y" (SESR's choice): the BT.601 luma of the
      input, and one correction per pixel added to R, G and B alike, which leaves Cb and Cr exactly as the
      residual has them (colour comes from the input, or its bicubic upsampling in sr); needs input_residual.
    """

    size: str = "custom"
    scale: int = 2
    mode: str = "sharpen"
    channels: int = 16
    num_blocks: int = 5
    expand: int = 256
    head_kernel: int = 5
    body_kernel: int = 3
    activation: str = "relu"
    edge_branches: bool = False
    edge_multiplier: int = 2
    feature_residual: bool = True
    input_residual: bool = True
    space_to_depth: int = 0
    color: str = "rgb"

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"unknown mode {self.mode!r}; valid modes: {', '.join(MODES)}")
        if not _is_int(self.scale) or self.scale < 1:
            raise ValueError(f"scale must be an integer >= 1, got {self.scale!r}")
        for name, low in (("channels", 1), ("num_blocks", 0), ("expand", 0), ("edge_multiplier", 1),
                          ("space_to_depth", 0)):
            value = getattr(self, name)
            if not _is_int(value) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        for name in ("head_kernel", "body_kernel"):
            value = getattr(self, name)
            if not _is_int(value) or value < 1 or value % 2 == 0:
                raise ValueError(f"{name} must be an odd integer >= 1 (a centred kernel), got {value!r}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}; choose one of {', '.join(ACTIVATIONS)}")
        if self.color not in COLORS:
            raise ValueError(f"unknown color {self.color!r}; choose one of {', '.join(COLORS)}")
        if self.color == "y" and not self.input_residual:
            raise ValueError("color 'y' takes its colour from the input: it needs input_residual=True")
        for name in ("edge_branches", "feature_residual", "input_residual"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, got {getattr(self, name)!r}")
        if self.edge_branches and min(self.head_kernel, self.body_kernel) < 3:
            raise ValueError("edge_branches need kernels >= 3 (the Sobel and Laplacian masks are 3x3); "
                             f"got head_kernel {self.head_kernel}, body_kernel {self.body_kernel}")
        if self.expand == 0 and not self.edge_branches:
            raise ValueError("expand 0 removes the SESR branch: it needs edge_branches=True, or the head and tail "
                             "would have no weights")
        if self.space_to_depth and self.mode != "sharpen":
            raise ValueError("space_to_depth applies to sharpen mode only (sr students work on the lr input)")

    @classmethod
    def from_size(cls, size: str, *, scale: int = 2, mode: str = "sharpen", **overrides) -> ReparamConfig:
        """The registered size `size` at this scale and mode; `overrides` replace fields (size becomes 'custom'
        when they change the network's shape: channels or num_blocks)."""
        if size not in SIZES:
            raise ValueError(f"unknown reparam student size {size!r}; registered sizes: {', '.join(SIZES)}")
        shaped = {**SIZES[size], **{k: v for k, v in overrides.items() if k in SIZES[size]}}
        name = size if shaped == SIZES[size] else "custom"
        return cls(size=name, scale=scale, mode=mode, **{**SIZES[size], **overrides})

    @property
    def block(self) -> int:
        """Side of the space-to-depth block in input pixels: space_to_depth or the scale (sharpen), 1 (sr)."""
        return (self.space_to_depth or self.scale) if self.mode == "sharpen" else 1

    @property
    def out_block(self) -> int:
        """The tail's pixel-shuffle factor: the block (sharpen) or the scale (sr)."""
        return self.block if self.mode == "sharpen" else self.scale

    @property
    def body_colors(self) -> int:
        """Channels per pixel the network sees and makes: 3 (rgb) or 1 (y)."""
        return 3 if self.color == "rgb" else 1

    @property
    def in_channels(self) -> int:
        """Channels the head sees: c*b*b after space-to-depth (block b) in sharpen mode, c in sr mode (c: 3 or 1)."""
        return self.body_colors * self.block * self.block if self.mode == "sharpen" else self.body_colors

    @property
    def out_channels(self) -> int:
        return self.body_colors * self.out_block * self.out_block

    @property
    def kernels(self) -> tuple[int, ...]:
        """Kernel of every conv of the collapsed network in order: head, body..., tail."""
        return (self.head_kernel,) + (self.body_kernel,) * self.num_blocks + (self.head_kernel,)

    @property
    def receptive_radius(self) -> int:
        """How far (in input pixels) an output pixel sees, at most.

        The collapsed convs reach sum(k // 2) low-resolution pixels (the residual paths reach less). sharpen: plus
        the pixel's own space-to-depth block, in full-size pixels. sr: the bicubic residual's taps reach 2.
        """
        reach = sum(k // 2 for k in self.kernels)
        if self.mode == "sharpen":
            return (reach + 1) * self.block
        return max(reach, 2)

    def to_dict(self) -> dict:
        return {"model": FORMAT, "config": dataclasses.asdict(self)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict) -> ReparamConfig:
        if data.get("model") != FORMAT:
            raise ValueError(f"not a reparam student config (model {data.get('model')!r}, expected {FORMAT!r})")
        fields = data.get("config")
        if not isinstance(fields, dict):
            raise ValueError("reparam student config has no 'config' object")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(fields) - known)
        if unknown:
            raise ValueError(f"unknown reparam student config fields {unknown}")
        return cls(**fields)

    @classmethod
    def from_json(cls, text: str) -> ReparamConfig:
        return cls.from_dict(json.loads(text))
