"""The command line: ``python -m pyvtm encode`` / ``info``."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import pyvtm
from pyvtm.data import load_sample, sample_path
from pyvtm.ffmpeg import decode_vvc


def run_cli(args, cwd):
    env = dict(os.environ)
    # the subprocess must import the same pyvtm as this test session
    pkg_parent = str(Path(pyvtm.__file__).resolve().parents[1])
    env["PYTHONPATH"] = pkg_parent + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "pyvtm", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def test_sample_shipped():
    assert sample_path().is_file()
    img = load_sample()
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
    assert sample_path().stat().st_size < 100_000


def test_encode_sample(tmp_path):
    out = tmp_path / "out.266"
    rec = tmp_path / "recon.png"
    p = run_cli(["encode", "-o", str(out), "--qp", "37", "--recon", str(rec)], cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    lines = [l for l in p.stdout.splitlines() if l.strip()]
    assert len(lines) == 1, p.stdout
    assert "bpp" in lines[0] and "PSNR-Y" in lines[0] and "PSNR-RGB" in lines[0]
    assert out.is_file() and out.stat().st_size > 0
    assert rec.is_file()

    # deterministic: the Python API gives the same bytes
    res = pyvtm.encode(load_sample(), qp=37)
    assert out.read_bytes() == res.bitstream
    # and FFmpeg decodes it to exactly the reconstruction
    h, w = res.recon_ycbcr[0].shape
    for d, r in zip(decode_vvc(out.read_bytes(), w, h), res.recon_ycbcr):
        assert np.array_equal(d, r)
    from PIL import Image

    assert np.array_equal(np.asarray(Image.open(rec).convert("RGB")), res.recon_rgb)


@pytest.mark.parametrize("flags,opts", [(["--preset", "fast", "--no-cclm"], dict(preset="fast", cclm=False)),
                                        (["--no-mtt", "--no-dual-tree"], dict(mtt=False, dual_tree=False)),
                                        (["--chroma-qp-table"], dict(chroma_qp_table="vtm")),
                                        (["--no-chroma-qp-table"], dict(chroma_qp_table="identity")),
                                        (["--chroma-qp-table", "identity"], dict(chroma_qp_table=False))])
def test_encode_tool_flags(tmp_path, flags, opts):
    """The CLI's preset/tool flags reach the encoder: same bytes as the API with those options."""
    out = tmp_path / "out.266"
    p = run_cli(["encode", "-o", str(out), "--qp", "32", *flags], cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert out.read_bytes() == pyvtm.encode(load_sample(), qp=32, **opts).bitstream
    assert out.read_bytes() != pyvtm.encode(load_sample(), qp=32).bitstream


def test_encode_default_output_name(tmp_path):
    p = run_cli(["encode", "--qp", "42"], cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "sample.266").is_file()


def test_encode_missing_input(tmp_path):
    p = run_cli(["encode", str(tmp_path / "nope.png")], cwd=tmp_path)
    assert p.returncode == 2
    assert "nope.png" in p.stderr


def test_encode_bad_qp(tmp_path):
    p = run_cli(["encode", "--qp", "99"], cwd=tmp_path)
    assert p.returncode == 2
    assert "qp" in p.stderr


def test_info(tmp_path):
    p = run_cli(["info"], cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert f"pyvtm {pyvtm.__version__}" in p.stdout
    assert "libtorch" in p.stdout and "2.13" in p.stdout


def test_no_command(tmp_path):
    p = run_cli([], cwd=tmp_path)
    assert p.returncode == 2


def test_parse_options_tool_switches():
    """key=0/1 of every tool switch (as `pyvtm allocate --opt` / `pyvtm eval` pass them) becomes a bool that
    encode() accepts; chroma_qp_table keeps its names."""
    from pyvtm.api import TOOL_OPTIONS, _check_options
    from pyvtm.utils.runner import parse_options

    for tool in TOOL_OPTIONS:
        for v in (0, 1):
            opts = parse_options([f"{tool}={v}"])
            assert opts == {tool: bool(v)}, (tool, opts)
            _check_options(opts)
    assert parse_options(["chroma_qp_table=vvenc,mip=0"]) == {"chroma_qp_table": "vvenc", "mip": False}
