"""The Ray engine on a local Ray instance: eval / allocate / dataset give the same results as the
local engine; a killed worker's task is retried; failures and timeouts are reported.

Skipped when Ray is not installed (``pip install 'pyvtm[ray]'``).
"""
from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ray = pytest.importorskip("ray")

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))
import _engine_tasks as T  # noqa: E402
from test_engine import kill_when_started  # noqa: E402

from pyvtm.utils import engine as E  # noqa: E402


@pytest.fixture(scope="module")
def ray_instance():
    """One local Ray instance (2 CPUs) for the module; workers import pyvtm and tests/."""
    if ray.is_initialized():
        ray.shutdown()
    root = str(TESTS.parent)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join([root, str(TESTS)])}})
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def engines(ray_instance):
    with E.LocalEngine(2, progress=False) as loc, E.RayEngine(2, progress=False) as rem:
        yield loc, rem


@pytest.fixture(scope="module")
def pictures(tmp_path_factory, kodak_dir):
    d = tmp_path_factory.mktemp("ray_imgs")
    for name, n, x, y in (("a", 1, 300, 200), ("b", 23, 400, 250)):
        with Image.open(kodak_dir / f"kodim{n:02d}.png") as im:
            im.convert("RGB").crop((x, y, x + 48, y + 48)).save(d / f"{name}.png")
    return d


def _strip(o, drop=("seconds", "mean_seconds")):
    if isinstance(o, dict):
        return {k: _strip(v, drop) for k, v in o.items() if k not in drop}
    if isinstance(o, list):
        return [_strip(v, drop) for v in o]
    if isinstance(o, float) and math.isnan(o):
        return "nan"
    return o


def test_ray_engine_basics(engines, tmp_path):
    _, rem = engines
    assert dict(rem.map(T.square, list(range(6)))) == {i: i * i for i in range(6)}
    res = dict(rem.map(T.fail_on_3, [1, 3]))
    assert res[0] == 1 and isinstance(res[1], E.TaskFailed) and res[1].kind == "error"
    assert isinstance(res[1].exception, ValueError) and "three" in res[1].message
    # inputs move as object-store references: the bytes arrive, no path needed on the worker
    f = tmp_path / "blob.bin"
    f.write_bytes(b"\x00pyvtm" * 1000)
    h = rem.stage(f)
    assert isinstance(h, E.StagedInput) and rem.stage(f) is h  # put once per file
    assert dict(rem.map(T.read_input, [h, h])) == {0: f.read_bytes(), 1: f.read_bytes()}


def test_ray_killed_worker_task_is_retried(engines, tmp_path):
    _, rem = engines
    marker = tmp_path / "pid"
    th = kill_when_started(marker)
    res = dict(rem.map(T.kill_once, [{"marker": str(marker), "value": 7, "sleep": 120},
                                     {"marker": str(tmp_path / "x"), "value": 8, "kill": False}]))
    th.join(1)
    assert res[0]["value"] == 7 and res[0]["pid"] != int(marker.read_text())
    assert res[1]["value"] == 8
    # a task that kills its worker every time is reported after the retries, not lost
    eng = E.RayEngine(2, retries=1, progress=False)
    res = dict(eng.map(T.always_die, [1]))
    assert isinstance(res[0], E.TaskFailed) and res[0].kind == "crash"


def test_ray_timeout_reported(ray_instance):
    eng = E.RayEngine(2, retries=0, timeout=3, progress=False)
    res = dict(eng.map(T.sleep_for, [0.01, 60]))
    assert res[0] == 0.01
    assert isinstance(res[1], E.TaskFailed) and res[1].kind == "timeout"


def test_eval_identical_on_both_engines(engines, pictures, tmp_path):
    from pyvtm.utils.evaluate import evaluate

    kw = dict(qps=[32, 42], grids={"jpeg": [20, 70]}, anchor="jpeg", progress=False, plot=False,
              log=lambda *a: None)
    out = {}
    for eng in engines:
        o = tmp_path / eng.name
        s = evaluate(pictures, ["pyvtm", "jpeg"], out=o, engine=eng, **kw)
        out[eng.name] = (s, json.loads((o / "points.json").read_text()))
        assert s["failed"] == [] and len(out[eng.name][1]) == 2 * (2 + 2)
    assert _strip(out["local"][1]) == _strip(out["ray"][1])
    assert _strip(out["local"][0]) == _strip(out["ray"][0])
    # resume on Ray from the on-disk cache the driver wrote: no task runs
    rem = engines[1]
    n = len(rem.failures)
    s = evaluate(pictures, ["pyvtm", "jpeg"], out=tmp_path / "ray", engine=rem, resume=True, **kw)
    assert _strip(s) == _strip(out["ray"][0]) and len(rem.failures) == n


def test_allocate_identical_on_both_engines(engines, pictures, tmp_path):
    from pyvtm.utils.allocate import allocate

    reps = {}
    for eng in engines:
        o = tmp_path / eng.name
        res = allocate(pictures, 0.6, method="selection", out=o, engine=eng, progress=False, qps="26-46")
        assert res.total_bits <= res.budget_bits and res.encodes["fresh"] > 0
        reps[eng.name] = json.loads((o / "allocation-selection.json").read_text())
        bits = {p.name: p.read_bytes() for p in sorted((o / "selection").glob("*.266"))}
        reps[eng.name + "-bits"] = bits
    assert _strip(reps["local"]) == _strip(reps["ray"])
    assert reps["local-bits"] == reps["ray-bits"] and len(reps["ray-bits"]) == 2
    # Ray, resumed from its cache: same answer, nothing encoded
    res = allocate(pictures, 0.6, method="selection", out=tmp_path / "ray", engine=engines[1], progress=False,
                   qps="26-46", resume=True)
    assert res.encodes["fresh"] == 0 and res.qps == [r["qp"] for r in reps["ray"]["images"]]


def test_dataset_identical_on_both_engines(engines, pictures, tmp_path):
    from pyvtm.utils import dataset

    imgs = dataset.list_images([pictures])
    got = {}
    for eng in engines:
        p = dataset.build_cnnif_dataset(imgs, tmp_path / f"{eng.name}.npz.xz", qps=(32, 42), crop=32,
                                        crops_per_image=1, qps_per_crop=2, engine=eng, progress=False,
                                        cache=tmp_path / f"{eng.name}.cache")
        got[eng.name] = dataset.load_dataset(p)
    (a_loc, m_loc), (a_ray, m_ray) = got["local"], got["ray"]
    assert m_loc == m_ray and "failed" not in m_ray
    assert sorted(a_loc) == sorted(a_ray)
    for k in a_loc:
        np.testing.assert_array_equal(a_loc[k], a_ray[k], err_msg=k)
    assert a_ray["rec_y"].shape == (4, 32, 32)
    # resume from the per-task cache (no engine work at all), same file contents
    p = dataset.build_cnnif_dataset(imgs, tmp_path / "again.npz.xz", qps=(32, 42), crop=32, crops_per_image=1,
                                    qps_per_crop=2, engine=engines[1], progress=False,
                                    cache=tmp_path / "ray.cache", resume=True)
    a2, m2 = dataset.load_dataset(p)
    assert m2 == m_ray and all(np.array_equal(a2[k], a_ray[k]) for k in a_ray)
