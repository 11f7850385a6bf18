#!/usr/bin/env python3
"""Write seed streams for the fuzzer into a folder (default build/fuzz/seeds).

Real pyvtm streams of several sizes, QPs and options (small, so that the
fuzzer mutates them quickly), plus the golden streams of tests/golden/.
"""
import shutil
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> int:
    import pyvtm

    out = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "build" / "fuzz" / "seeds"
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:64, 0:64].astype(np.float64)
    smooth = np.clip(np.stack([128 + 100 * np.sin(x / 5), 128 + 90 * np.cos((x + y) / 9), 4 * x], -1), 0, 255)
    smooth = smooth.round().astype(np.uint8)
    cases = [
        ("smooth16_qp32", smooth[:16, :16], 32, {}),
        ("smooth8x24_qp22", smooth[:8, :24], 22, {}),
        ("noise16x8_qp12", rng.integers(0, 256, (8, 16, 3), np.uint8), 12, {}),
        ("noise24_qp37_nodbk", rng.integers(0, 256, (24, 24, 3), np.uint8), 37, {"deblocking": False}),
        ("odd_7x5_qp27", smooth[:5, :7], 27, {}),
        ("smooth64_qp42_mincu4", smooth, 42, {"min_cu_log2": 4}),
        ("tall_8x136_qp47", np.repeat(smooth[:17, :8], 8, axis=0), 47, {}),
        ("noise32_qp0", rng.integers(0, 256, (32, 32, 3), np.uint8), 0, {"rdoq": False}),
        # Streams of the CNN tools (SEI, SPS extension, reserved IRAP type).
        ("smooth64_qp32_cnnif", smooth, 32, {"cnnif": True, "models": {"cnnif": "cnnif_s"}}),
        ("smooth64_qp32_cnnmc", smooth, 32, {"cnnmc": True, "models": {"cnnmc": "cnnmc"}}),
    ]
    for name, img, qp, opts in cases:
        res = pyvtm.encode(np.ascontiguousarray(img), qp=qp, **opts)
        (out / f"{name}.266").write_bytes(res.bitstream)
    for p in (REPO / "tests" / "golden").glob("*.266"):
        shutil.copy(p, out / p.name)
    for p in (REPO / "tests" / "fuzz_corpus").glob("*"):
        if p.is_file() and p.name != "README.md":
            shutil.copy(p, out / p.name)
    print(f"{len(list(out.iterdir()))} seeds in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
