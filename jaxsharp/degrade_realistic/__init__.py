"""Realistic degradations (issue 18): the blur people really have, sensor noise, resizes and codecs, and the
named pipelines built from them, registered in jaxsharp.degrade by name.

One job per module, read top to bottom:
- `kernels`: blur kernels (Gaussian, anisotropic, generalised Gaussian, plateau, defocus disk, motion line, sinc)
  and `filter2d`, the reflect-padded convolution of an HWC image;
- `noise`: Gaussian (grey or colour, or channel-correlated) and Poisson noise;
- `resize`: resizes by a named kernel (area, bilinear, bicubic, Lanczos);
- `compression`: JPEG, and H.264 / HEVC of a still through a short panning clip;
- `pipelines`: the `Degradation` functions by name (`pipelines.DEGRADATIONS`): the per-family evaluation names
  (gaussian_1.0, defocus_r2, motion_5_9, jpeg_q40, h264_crf33, ...) and the random chains for training
  (realesrgan, bsrgan).

Images are HWC float32 in [0, 1], NumPy, as in jaxsharp.degrade; uint8 exists only at the codecs' edges.
"""
