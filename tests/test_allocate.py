"""pyvtm allocate: knapsack solvers and allocation to a bpp budget on tiny images."""
from __future__ import annotations

import csv
import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pyvtm.utils.allocate import allocate, solve_mckp, solve_mckp_dp, solve_mckp_lagrangian


def _brute(costs, values, budget):
    best, arg = None, None
    for ch in itertools.product(*[range(len(c)) for c in costs]):
        if sum(c[k] for c, k in zip(costs, ch)) <= budget:
            v = sum(vv[k] for vv, k in zip(values, ch))
            if best is None or v > best + 1e-12:
                best, arg = v, list(ch)
    return best, arg


def test_mckp_dp_hand_instance():
    # Two items, budget 10. Greedy-by-slope / Lagrangian relaxation take item 0's
    # cheap 2nd choice and cannot afford item 1's big jump; the optimum is item 0
    # at its cheapest and item 1 at its best: 1 + 10 = 11 with cost 1 + 9 = 10.
    costs = [[1, 3], [1, 9]]
    values = [[1.0, 4.0], [0.0, 10.0]]
    assert solve_mckp_dp(costs, values, 10) == [0, 1]
    assert _brute(costs, values, 10) == (11.0, [0, 1])
    lag = solve_mckp_lagrangian(costs, values, 10)
    assert sum(c[k] for c, k in zip(costs, lag)) <= 10
    assert sum(v[k] for v, k in zip(values, lag)) <= 11.0
    # Budget exactly the sum of the cheapest choices, and infeasible below it.
    assert solve_mckp_dp(costs, values, 2) == [0, 0]
    assert solve_mckp_dp(costs, values, 1) is None
    assert solve_mckp_lagrangian(costs, values, 1) is None
    choice, solver = solve_mckp(costs, values, 10)
    assert (choice, solver) == ([0, 1], "dp")
    choice, solver = solve_mckp(costs, values, 10, dp_limit=0)
    assert solver == "lagrangian+greedy"


def test_mckp_dp_equals_brute_force_on_random_instances():
    rng = np.random.default_rng(5)
    for _ in range(40):
        n = int(rng.integers(1, 5))
        costs = [sorted(rng.integers(0, 30, size=int(rng.integers(1, 5))).tolist()) for _ in range(n)]
        values = [rng.normal(30, 5, size=len(c)).tolist() for c in costs]
        budget = int(rng.integers(0, 80))
        best, _ = _brute(costs, values, budget)
        got = solve_mckp_dp(costs, values, budget)
        if best is None:
            assert got is None
            continue
        assert sum(c[k] for c, k in zip(costs, got)) <= budget
        assert sum(v[k] for v, k in zip(values, got)) == pytest.approx(best, abs=1e-9)
        lag = solve_mckp_lagrangian(costs, values, budget)
        assert sum(c[k] for c, k in zip(costs, lag)) <= budget
        assert sum(v[k] for v, k in zip(values, lag)) <= best + 1e-9


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory, kodak_dir):
    d = tmp_path_factory.mktemp("alloc_imgs")
    # three 64x64 crops of different difficulty (texture, flat sky, detail)
    for name, n, x, y in (("a", 1, 300, 200), ("b", 13, 100, 100), ("c", 23, 400, 250)):
        with Image.open(kodak_dir / f"kodim{n:02d}.png") as im:
            im.convert("RGB").crop((x, y, x + 64, y + 64)).save(d / f"{name}.png")
    return d


def _check(res, budget_bits):
    assert res.budget_bits == budget_bits
    assert res.total_bits <= res.budget_bits
    assert res.total_bits == sum(r["bits"] for r in res.images)
    assert res.uniform["total_bits"] <= res.budget_bits
    # the best uniform QP is the smallest that fits: QP - 1 does not
    fld = "psnr_rgb"
    assert res.mean(fld) >= res.uniform["mean_psnr_rgb"] - 1e-12
    assert len(res.qps) == 3 and all(22 <= q <= 51 for q in res.qps)


def test_allocate_selection_then_resume_uses_cache(tiny_dir, tmp_path):
    out = tmp_path / "out"
    target = 0.5
    budget = int(target * 3 * 64 * 64)
    res = allocate(tiny_dir, target, method="selection", jobs=1, out=out, progress=False)
    _check(res, budget)
    assert res.encodes["fresh"] > 0 and res.encodes["cached"] == 0
    n_fresh = res.encodes["fresh"]
    # selection explores fewer points than the full 30-QP grid
    assert res.encodes["points"] < 3 * 30 / 2
    # outputs: bitstreams equal to the reported sizes, JSON and CSV reports
    for r in res.images:
        bs = out / "selection" / (Path(r["image"]).stem + ".266")
        assert bs.stat().st_size * 8 == r["bits"]
    rep = json.loads((out / "allocation-selection.json").read_text())
    assert rep["total_bits"] == res.total_bits <= rep["budget_bits"]
    assert rep["uniform"]["qp"] == res.uniform["qp"]
    rows = list(csv.DictReader(open(out / "allocation-selection.csv")))
    assert [r["image"] for r in rows] == ["a.png", "b.png", "c.png", "TOTAL", "BUDGET"]
    assert int(rows[3]["bits"]) == res.total_bits
    assert int(rows[4]["bits"]) == budget

    # Resume through the CLI: nothing is encoded again, same answer.
    from pyvtm.cli import main

    rc = main(["allocate", str(tiny_dir), "--target-bpp", str(target), "--out", str(out), "--resume",
               "--jobs", "1"])
    assert rc == 0
    rep2 = json.loads((out / "allocation-selection.json").read_text())
    assert rep2["encodes"]["fresh"] == 0
    assert rep2["encodes"]["cached"] == n_fresh
    assert [r["qp"] for r in rep2["images"]] == res.qps


def test_allocate_unra_budget_holds(tiny_dir, tmp_path):
    target = 0.3
    budget = int(target * 3 * 64 * 64)
    res = allocate(tiny_dir, target, method="unra", jobs=2, out=tmp_path / "out", progress=False,
                   qps="22-51")
    _check(res, budget)
    assert res.report["unra_rounds"] >= 1
    assert len(res.report["models"]) == 3
    assert all(m["b"] > 0 and m["d"] > 0 for m in res.report["models"])
    # the model-based method needs fewer encodes than a full grid
    assert res.encodes["points"] <= 3 * 12


def test_allocate_options_and_errors(tiny_dir, tmp_path):
    # Encoder options pass through to pyvtm.encode (and key the cache).
    res = allocate(tiny_dir, 0.5, method="selection", jobs=1, out=tmp_path / "o", progress=False,
                   options={"rdoq": False}, qps="30-40", write=False)
    assert res.total_bits <= res.budget_bits and all(30 <= q <= 40 for q in res.qps)
    assert res.options == {"rdoq": False}
    with pytest.raises(ValueError, match="too small"):
        allocate(tiny_dir, 0.001, jobs=1, out=tmp_path / "o2", progress=False, qps="45-51", write=False)
    with pytest.raises(TypeError, match="no_such_option"):
        allocate(tiny_dir, 0.5, jobs=1, out=tmp_path / "o3", progress=False, options={"no_such_option": 1},
                 write=False)
    with pytest.raises(ValueError):
        allocate(tiny_dir, 0.5, metric="ssim", progress=False, write=False)
