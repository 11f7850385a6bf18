"""Cost of the CNN tools: kMAC per luma sample and CPU inference time.

  python benchmarks/bench_cnn.py [--size 768x512] [--threads 1] [--repeat 3] [--layouts] [--no-shipped]

For every CNNIF preset (in the shipped layout, plus the other layouts with
--layouts) and for CNNMC it prints:
  kMAC/px     multiply-accumulates of the network per luma sample
              (analytic; checked against a count of the conv layers)
  eff kMAC/px the same including the tile margins for a picture of --size
  s/Mpx       wall time per megapixel (luma samples) of the scripted module
              on --threads threads (the codec hooks use 1), float32, no grad
CNNMC runs once per 128x128 CTU; its per-pixel figures are per CTU / 16384.
Then the shipped models (pyvtm/weights), float32 and integer
(pyvtm.models.intnet: exact float64 convolutions), timed as the hooks run
them (one thread).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from pyvtm.models.cnnif import PRESETS, CNNIFilter  # noqa: E402
from pyvtm.models.cnnmc import CNNMCExport, CNNMCNet  # noqa: E402


def count_conv_macs(module, *inputs) -> int:
    """MACs of all Conv2d layers for one forward pass (forward hooks)."""
    total = [0]

    def hook(m, inp, out):
        k = m.kernel_size[0] * m.kernel_size[1] * (m.in_channels // m.groups)
        total[0] += out.numel() * k

    hs = [m.register_forward_hook(hook) for m in module.modules() if isinstance(m, torch.nn.Conv2d)]
    with torch.no_grad():
        module(*inputs)
    for h in hs:
        h.remove()
    return total[0]


def timed(fn, repeat):
    fn()
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="768x512")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--layouts", action="store_true", help="also the layouts not shipped")
    ap.add_argument("--no-shipped", dest="shipped", action="store_false",
                    help="skip the timing of the shipped float and integer models")
    a = ap.parse_args(argv)
    W, H = (int(v) for v in a.size.split("x"))
    torch.set_num_threads(a.threads)
    layout = "rgb"
    try:
        from pyvtm import zoo

        layout = zoo.info("cnnif_s").get("layout", "rgb")
    except Exception:
        pass
    layouts = [layout] + ([l for l in ("yuv420", "yuv444", "rgb") if l != layout] if a.layouts else [])
    print(f"picture {W}x{H}, {a.threads} thread(s), torch {torch.__version__}")
    print(f"{'model':<10} {'layout':<7} {'params':>8} {'kMAC/px':>9} {'eff kMAC/px':>12} {'s/Mpx':>8}")
    y = torch.rand(1, 1, H, W) * 1023
    c = torch.rand(1, 1, H // 2, W // 2) * 1023
    qp = torch.tensor([37.0])
    for preset in PRESETS:
        for lay in layouts:
            m = CNNIFilter(preset, layout=lay).eval()
            for p in m.net.tail.parameters():
                torch.nn.init.normal_(p, std=0.01)
            small = count_conv_macs(m, y[..., :64, :64], c[..., :32, :32], c[..., :32, :32], qp) / (64 * 64)
            assert abs(small - m.macs_per_luma_sample()) < 1e-6 * small
            eff = count_conv_macs(m, y, c, c, qp) / (W * H)
            s = torch.jit.script(m)
            with torch.inference_mode():
                t = timed(lambda: s(y, c, c, qp), a.repeat)
            n = sum(p.numel() for p in m.parameters())
            print(f"{preset:<10} {lay:<7} {n:>8} {small / 1e3:>9.2f} {eff / 1e3:>12.2f} {t / (W * H / 1e6):>8.2f}")
    net = CNNMCNet().eval()
    x = (torch.rand(1, 3, 128, 128) * 1023, torch.randint(0, 67, (1, 3, 32, 32)), torch.ones(1, 3))
    macs = count_conv_macs(net, *x)
    assert macs == net.macs_per_ctu()
    s = torch.jit.script(CNNMCExport(net).eval())
    with torch.inference_mode():
        t = timed(lambda: s(*x), a.repeat * 3)
    n = sum(p.numel() for p in net.parameters())
    print(f"{'cnnmc':<10} {'luma':<7} {n:>8} {macs / 16384 / 1e3:>9.2f} {macs / 16384 / 1e3:>12.2f} "
          f"{t / (16384 / 1e6):>8.2f}   ({t * 1e3:.1f} ms per CTU)")
    if a.shipped:
        shipped(y.round(), c.round(), qp, x, a.repeat)
    return 0


def shipped(y, c, qp, x, repeat):
    """Float vs integer (pyvtm.models.intnet) shipped models, as the hooks run them."""
    from pyvtm import zoo

    print(f"\nshipped models ({y.shape[3]}x{y.shape[2]}, 1 thread): float32 vs integer")
    print(f"{'model':<13} {'arithmetic':<10} {'s/Mpx':>8} {'ms/CTU':>8}")
    torch.set_num_threads(1)
    for name in zoo.available():
        mod, meta = zoo.load(name)
        with torch.inference_mode():
            if meta["kind"] == "cnnif":
                t = timed(lambda: mod(y, c, c, qp), repeat)
                print(f"{name:<13} {meta.get('arithmetic', 'float32'):<10} {t / (y.numel() / 1e6):>8.2f}")
            else:
                t = timed(lambda: mod(*x), repeat * 3)
                print(f"{name:<13} {meta.get('arithmetic', 'float32'):<10} {t / (16384 / 1e6):>8.2f} {t * 1e3:>8.1f}")


if __name__ == "__main__":
    sys.exit(main())
