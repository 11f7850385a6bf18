#!/usr/bin/env python3
"""Do the CNN models give the same bits on every CPU kernel setting?

Runs each shipped model (float32 and integer) in fresh processes under every
instruction-set level this CPU can force (ATEN_CPU_CAPABILITY for PyTorch's
kernels, DNNL_MAX_CPU_ISA for oneDNN's), with oneDNN on/off, 1/2 threads
and the bf16-allowing float32 matmul precision, on a 256x256 Kodak crop
(CNNIF) / its CTU at (128, 128) (CNNMC), and prints how many distinct
outputs each model gives: raw (the module's output bytes) and rounded (what
the codec uses: the filtered samples, the integer MPM probabilities).

    python benchmarks/bench_cnn_determinism.py [MODEL ...] [--cnnif-crop N]   # default: all shipped
"""
import sys
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pyvtm import zoo  # noqa: E402
from pyvtm.utils.kernel_settings import main as probe_main  # noqa: E402

if __name__ == "__main__":
    args = sys.argv[1:]
    opts = []
    if "--cnnif-crop" in args:
        i = args.index("--cnnif-crop")
        opts, args = args[i:i + 2], args[:i] + args[i + 2:]
    names = args or zoo.available()
    sys.exit(probe_main([str(zoo.path(n)) if n in zoo.REGISTRY else n for n in names] + opts))
