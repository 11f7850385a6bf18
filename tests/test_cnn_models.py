"""CNN tool networks: presets, DRU structure, shapes (pyvtm.models)."""
import numpy as np
import pytest
import torch

from pyvtm.models.cnnif import PRESETS, CNNIFilter, DenseResidualUnit, dru_parameter_count
from pyvtm.models.cnnmc import (CNNMCExport, CNNMCNet, cnn_ranking, hybrid_mpm_list, mpm_list_from_quantised,
                                neighbourhood, standard_mpm_list, transpose_modes)


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def test_presets():
    assert PRESETS["cnnif"] == {"num_units": 8, "channels": 64}
    assert PRESETS["cnnif_s"] == {"num_units": 2, "channels": 32}


def test_parameter_count_cnnif_by_hand():
    # N=8 units, M=64 maps, K=2 3x3 convs per unit; input Y/Cb/Cr (or R/G/B) + QP plane = 4
    # channels, output 3 corrections.
    head = 9 * 4 * 64 + 64                                  # 3x3, 4 -> 64
    reduce_ = sum(i * 64 * 64 + 64 for i in range(1, 9))    # 1x1, i*64 -> 64 (i = 1..8)
    convs = 8 * 2 * (9 * 64 * 64 + 64)                      # 16 3x3, 64 -> 64
    tail = 9 * (9 * 64) * 3 + 3                             # 3x3, 9*64 -> 3
    assert head + reduce_ + convs + tail == 756739
    for layout in ("yuv444", "rgb"):
        assert n_params(CNNIFilter("cnnif", layout=layout)) == 756739
    assert dru_parameter_count(4, 3, 8, 64) == 756739


def test_parameter_count_cnnif_s_by_hand():
    head = 9 * 4 * 32 + 32                                  # 1184
    reduce_ = (1 * 32 * 32 + 32) + (2 * 32 * 32 + 32)       # 3136
    convs = 2 * 2 * (9 * 32 * 32 + 32)                      # 36992
    tail = 9 * (3 * 32) * 3 + 3                             # 2595
    assert head + reduce_ + convs + tail == 43907
    assert n_params(CNNIFilter("cnnif_s", layout="rgb")) == 43907
    # without the QP plane: 9 * 32 weights fewer in the head
    assert n_params(CNNIFilter("cnnif_s", layout="rgb", qp_input=False)) == 43907 - 9 * 32
    # packed 4:2:0 layout: 6 planes (+QP) in, 6 out
    assert n_params(CNNIFilter("cnnif_s", layout="yuv420")) == dru_parameter_count(7, 6, 2, 32)


def test_dru_structure():
    m = CNNIFilter("cnnif", layout="rgb")
    net = m.net
    assert len(net.units) == 8
    for i, u in enumerate(net.units):
        assert isinstance(u, DenseResidualUnit)
        assert u.reduce.kernel_size == (1, 1) and u.reduce.in_channels == (i + 1) * 64 and u.reduce.out_channels == 64
        assert [c.kernel_size for c in u.convs] == [(3, 3), (3, 3)]
    assert net.head.in_channels == 4 and net.head.out_channels == 64
    assert net.tail.in_channels == 9 * 64 and net.tail.out_channels == 3
    assert not any(isinstance(x, torch.nn.modules.batchnorm._BatchNorm) for x in m.modules())
    # a unit: output = cat(input, reduce(x) + relu(conv(relu(conv(reduce(x))))))
    u = DenseResidualUnit(8, 4)
    x = torch.randn(1, 8, 5, 6)
    r = u.reduce(x)
    ref = torch.cat([x, r + torch.relu(u.convs[1](torch.relu(u.convs[0](r))))], 1)
    assert torch.allclose(u(x), ref)


@pytest.mark.parametrize("layout", ["yuv420", "yuv444", "rgb"])
def test_cnnif_shapes_identity_and_tiling(layout):
    torch.manual_seed(0)
    m = CNNIFilter("cnnif_s", layout=layout, tile=32).eval()
    y = torch.rand(2, 1, 16, 24) * 1023
    cb, cr = torch.rand(2, 1, 8, 12) * 1023, torch.rand(2, 1, 8, 12) * 1023
    qp = torch.tensor([27.0, 42.0])
    with torch.no_grad():
        out = m(y, cb, cr, qp)
        # the last conv starts at zero: the filter starts as the identity
        for o, i in zip(out, (y, cb, cr)):
            assert o.shape == i.shape and torch.allclose(o, i)
        for p in m.net.tail.parameters():
            torch.nn.init.normal_(p, std=0.05)
        # tiled (picture larger than tile + 2 * margin) == untiled
        Y = torch.rand(1, 1, 96, 112) * 1023
        CB, CR = torch.rand(1, 1, 48, 56) * 1023, torch.rand(1, 1, 48, 56) * 1023
        tiled = m(Y, CB, CR, qp[:1])
        d = m.correction(Y, CB, CR, qp[:1])
        for t, i, c in zip(tiled, (Y, CB, CR), d):
            assert torch.allclose(t, i + c, atol=1e-3)


def test_cnnif_scriptable():
    s = torch.jit.script(CNNIFilter("cnnif_s", layout="rgb").eval())
    y = torch.full((1, 1, 16, 16), 512.0)
    c = torch.full((1, 1, 8, 8), 512.0)
    out = s(y, c, c, torch.tensor([32.0]))
    assert [o.shape for o in out] == [y.shape, c.shape, c.shape]


def test_cnnif_cost():
    assert CNNIFilter("cnnif", layout="rgb").macs_per_luma_sample() == pytest.approx(755136)
    assert CNNIFilter("cnnif_s", layout="rgb").macs_per_luma_sample() == pytest.approx(43680)


def test_cnnmc_shapes_and_quantisation():
    torch.manual_seed(0)
    net = CNNMCNet().eval()
    recon = torch.rand(2, 3, 128, 128) * 1023
    modes = torch.randint(0, 67, (2, 3, 32, 32))
    modes[1, 2] = 255
    av = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    logits = net(recon, modes, av)
    assert logits.shape == (2, 67, 32, 32)
    q = torch.jit.script(CNNMCExport(net).eval())(recon, modes, av)
    assert q.dtype == torch.int32 and q.shape == (2, 67, 32, 32)
    s = q.sum(1)
    assert int(s.min()) >= 65536 - 40 and int(s.max()) <= 65536 + 40
    # unavailable neighbours do not influence the output
    modes2, recon2 = modes.clone(), recon.clone()
    modes2[1, 1:] = torch.randint(0, 67, (2, 32, 32))
    recon2[1, 1:] = 0
    assert torch.equal(net(recon2, modes2, av)[1], logits[1])
    assert net.macs_per_ctu() / (128 * 128) < 6000  # kMAC per luma sample < 6


def test_mpm_lists():
    q = np.zeros((67, 32, 32), np.int64)
    q[50, 0:2, 0:2] = 10
    q[18, 0:2, 0:2] = 10   # tie with 50 -> lower mode first
    q[2, 1, 1] = 30
    q[0, :, :] = 1000      # planar has the highest score but is entry 0 anyway
    # 8x8 CU = units (0..1, 0..1): 18 and 50 score 40 (tie: lower mode first), 2 scores 30
    assert mpm_list_from_quantised(q, 0, 0, 3, 3) == [0, 18, 50, 2, 1, 3]
    assert mpm_list_from_quantised(q, 0, 0, 2, 2) == [0, 18, 50, 1, 2, 3]
    assert cnn_ranking(q, 0, 0, 3, 3)[:3] == [18, 50, 2]
    assert hybrid_mpm_list(q, 0, 0, 3, 3, [0, 50, 49, 51, 48, 52], 1) == [0, 50, 18, 2, 1, 3]
    # standard list (8.4.2), cpp/derive.h
    assert standard_mpm_list(0, 0) == [0, 1, 50, 18, 46, 54]
    assert standard_mpm_list(30, 30) == [0, 30, 29, 31, 28, 32]
    assert standard_mpm_list(2, 66) == [0, 2, 66, 3, 65, 4]
    assert transpose_modes(np.array([0, 1, 2, 18, 34, 50, 66, 255])).tolist() == [0, 1, 66, 50, 34, 18, 2, 255]


def test_neighbourhood():
    rec = np.arange(256 * 384, dtype=np.uint16).reshape(256, 384) % 1024
    modes = (np.arange(64 * 96).reshape(64, 96) % 67).astype(np.uint8)
    r, m, a = neighbourhood(rec, modes, 128, 128)
    assert a.tolist() == [True, True, True]
    assert np.array_equal(r[0], rec[0:128, 128:256]) and np.array_equal(r[1], rec[128:256, 0:128])
    assert np.array_equal(m[2], modes[0:32, 0:32])
    r, m, a = neighbourhood(rec, modes, 0, 0)
    assert a.tolist() == [False, False, False] and (r == 512).all() and (m == 255).all()
