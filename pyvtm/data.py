"""Data shipped with the package.

``data/sample.png`` is kodim23 of the Kodak Lossless True Color Image Suite
(Eastman Kodak Company, released for unrestricted use), downscaled from
768x512 to 264x176 with Pillow's LANCZOS filter.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np

__all__ = ["sample_path", "load_sample"]


def sample_path() -> Path:
    """Path of the shipped sample picture (PNG, 264x176 RGB)."""
    return Path(str(resources.files("pyvtm") / "data" / "sample.png"))


def load_sample() -> np.ndarray:
    """The shipped sample picture as an (H, W, 3) uint8 RGB array."""
    from PIL import Image

    with Image.open(sample_path()) as img:
        return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()
