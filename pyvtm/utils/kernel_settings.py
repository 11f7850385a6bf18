"""Run the CNN models under forced CPU kernel settings (reproducibility checks).

A *setting* is a set of environment variables fixed before torch starts
(``ATEN_CPU_CAPABILITY``: the instruction set of PyTorch's own CPU kernels;
``DNNL_MAX_CPU_ISA`` / ``ONEDNN_MAX_CPU_ISA``: that of oneDNN, which runs
float32 convolutions) plus in-process switches (oneDNN on/off through
``torch.backends.mkldnn``, the float32 matmul precision, which lets oneDNN
use bf16 on CPUs that have it, and the thread count). :func:`settings` lists
those this CPU supports; :func:`run_probe` runs a model file in a fresh
Python process under each and returns the SHA-256 of its outputs.

    python -m pyvtm.utils.kernel_settings MODEL.pt [MODEL.pt ...] [--cnnif-crop N]
"""
import hashlib
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

__all__ = ["cpu_flags", "env_settings", "inproc_settings", "run_probe", "PROBE"]


def cpu_flags() -> set:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags") or line.startswith("Features"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def env_settings() -> Dict[str, Dict[str, str]]:
    """name -> environment for the instruction-set levels this CPU runs."""
    out = {"native": {}}
    if platform.machine() not in ("x86_64", "AMD64"):
        out["aten-default"] = {"ATEN_CPU_CAPABILITY": "default"}
        return out
    f = cpu_flags()
    out["aten-default"] = {"ATEN_CPU_CAPABILITY": "default"}
    if "avx2" in f:
        out["aten-avx2"] = {"ATEN_CPU_CAPABILITY": "avx2"}
    if "avx512f" in f and "avx512bw" in f:
        out["aten-avx512"] = {"ATEN_CPU_CAPABILITY": "avx512"}
    isas = [("SSE41", "sse4_1"), ("AVX", "avx"), ("AVX2", "avx2"), ("AVX512_CORE", "avx512bw"),
            ("AVX512_CORE_VNNI", "avx512_vnni"), ("AVX512_CORE_BF16", "avx512_bf16"), ("AVX512_CORE_AMX", "amx_tile")]
    for isa, flag in isas:
        if flag in f:
            out[f"dnnl-{isa.lower()}"] = {"DNNL_MAX_CPU_ISA": isa, "ONEDNN_MAX_CPU_ISA": isa}
    out["scalar-all"] = {"ATEN_CPU_CAPABILITY": "default", "DNNL_MAX_CPU_ISA": "SSE41", "ONEDNN_MAX_CPU_ISA": "SSE41"}
    return out


#: in-process variants: (threads, mkldnn enabled, float32 matmul precision)
INPROC = [(1, True, "highest"), (2, True, "highest"), (1, False, "highest"), (2, False, "highest"),
          (1, True, "medium")]


def inproc_settings() -> List[str]:
    return [f"t{t}-{'dnnl' if m else 'nodnnl'}-{p}" for t, m, p in INPROC]


PROBE = r'''
import hashlib, json, sys, numpy as np, torch
from pyvtm.utils.export import load_model
from pyvtm.models.cnnmc import neighbourhood
INPROC = %r
res = {}
rgb = np.load(sys.argv[1])
crop = int(sys.argv[2])  # the CNNIF input: the top-left crop x crop (0: all)
import pyvtm
y, cb, cr = pyvtm.rgb_to_ycbcr(rgb)
for path in sys.argv[3:]:
    m, meta = load_model(path)
    for t, dnnl, prec in INPROC:
        torch.set_num_threads(t)
        torch.backends.mkldnn.enabled = dnnl
        torch.set_float32_matmul_precision(prec)
        with torch.inference_mode():
            if meta["kind"] == "cnnif":
                f = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))[None, None]
                c = crop or max(y.shape)
                out = m(f(y[:c, :c]), f(cb[:c // 2, :c // 2]), f(cr[:c // 2, :c // 2]), torch.tensor([37.0]))
                raw = b"".join(o.contiguous().numpy().tobytes() for o in out)
                rnd = b"".join(torch.clamp(torch.floor(o + 0.5), 0, 1023).to(torch.int16).numpy().tobytes() for o in out)
            else:
                H, W = y.shape
                modes = np.where((np.arange(H // 4)[:, None] + np.arange(W // 4)[None]) %% 7 == 0, 50, 18).astype(np.uint8)
                r, mo, av = neighbourhood(np.asarray(y, np.uint16), modes, 128, 128)
                q = m(torch.from_numpy(r.astype(np.float32))[None], torch.from_numpy(mo.astype(np.int64))[None],
                      torch.from_numpy(av.astype(np.float32))[None])
                raw = rnd = q.contiguous().numpy().tobytes()
        key = f"{path}|t{t}-{'dnnl' if dnnl else 'nodnnl'}-{prec}"
        res[key] = [hashlib.sha256(raw).hexdigest()[:16], hashlib.sha256(rnd).hexdigest()[:16]]
print(json.dumps(res))
''' % (INPROC,)


def run_probe(models: List[str], rgb_npy: str, envs: Dict[str, Dict[str, str]] = None, cnnif_crop: int = 0,
              timeout: float = 900) -> Dict[str, Dict[str, List[str]]]:
    """{env name: {"model|inproc": [sha of raw output, sha of rounded output]}}.
    ``rgb_npy``: an RGB picture (.npy) of at least 256x256 (CNNMC runs on
    the CTU at (128, 128)); CNNIF runs on its top-left ``cnnif_crop`` square
    (0: the whole picture)."""
    envs = env_settings() if envs is None else envs
    root = str(Path(__file__).resolve().parents[2])
    out = {}
    for name, env in envs.items():
        e = {k: v for k, v in os.environ.items() if k not in ("ATEN_CPU_CAPABILITY", "DNNL_MAX_CPU_ISA",
                                                            "ONEDNN_MAX_CPU_ISA")}
        e.update(env)
        e["PYTHONPATH"] = root + os.pathsep + e.get("PYTHONPATH", "")
        p = subprocess.run([sys.executable, "-c", PROBE, rgb_npy, str(cnnif_crop), *models], env=e, capture_output=True,
                           text=True, timeout=timeout)
        if p.returncode:
            raise RuntimeError(f"probe under {name} failed:\n{p.stderr[-2000:]}")
        out[name] = json.loads(p.stdout.strip().splitlines()[-1])
    return out


def main(argv=None) -> int:
    import numpy as np
    from PIL import Image

    argv = list(sys.argv[1:] if argv is None else argv)
    crop = 0
    if "--cnnif-crop" in argv:  # CNNIF on the top-left square of this size only (quicker)
        i = argv.index("--cnnif-crop")
        crop = int(argv[i + 1])
        del argv[i:i + 2]
    env = os.environ.get("PYVTM_DATA")
    kodak = Path(env) if env else Path(__file__).resolve().parents[3] / "shared" / "data"
    kodak = kodak / "kodak" if (kodak / "kodak").is_dir() else kodak
    rgb = np.asarray(Image.open(kodak / "kodim23.png").convert("RGB"))[100:356, 200:456]
    tmp = Path("/tmp") / f"pyvtm_probe_{os.getpid()}.npy"
    np.save(tmp, np.ascontiguousarray(rgb))
    res = run_probe(argv, str(tmp), cnnif_crop=crop)
    tmp.unlink()
    for model in argv:
        print(model)
        for which, col in (("raw output", 0), ("rounded output", 1)):
            seen = {}
            for env, r in res.items():
                for k, v in r.items():
                    if k.startswith(model + "|"):
                        seen.setdefault(v[col], []).append(f"{env}/{k.split('|')[1]}")
            print(f"  {which}: {len(seen)} distinct result(s)")
            for h, where in seen.items():
                print(f"    {h}: {len(where)} settings, e.g. {', '.join(where[:4])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
