"""Readers for files written by other frameworks (e.g. PyTorch checkpoints), with no dependency on those frameworks."""
