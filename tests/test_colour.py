"""RGB <-> YCbCr conversion (BT.601 full range, 10-bit, 4:2:0 centred siting)."""
import math

import numpy as np
import pytest

from pyvtm import rgb_to_ycbcr, ycbcr_to_rgb


def px(r, g, b):
    return np.array([r, g, b], np.uint8).reshape(1, 1, 3)


def ycc(rgb):
    return tuple(int(p[0, 0]) for p in rgb_to_ycbcr(rgb))


# Hand-computed from Y = .299R + .587G + .114B, Cb = (B-Y)/1.772 + 512,
# Cr = (R-Y)/1.402 + 512 with R, G, B in 0..1020, rounded half up.
@pytest.mark.parametrize("rgb,expected", [
    ((255, 255, 255), (1020, 512, 512)),
    ((0, 0, 0), (0, 512, 512)),
    ((128, 128, 128), (512, 512, 512)),
    ((255, 0, 0), (305, 340, 1022)),     # Y=304.98, Cb=339.89, Cr=1022.00
    ((0, 255, 0), (599, 174, 85)),       # Y=598.74, Cb=174.11, Cr=84.94
    ((0, 0, 255), (116, 1022, 429)),     # Y=116.28, Cb=1022.00, Cr=429.06
    ((255, 255, 0), (904, 2, 595)),      # Y=903.72, Cb=2.00, Cr=594.94
])
def test_known_values(rgb, expected):
    assert ycc(px(*rgb)) == expected


@pytest.mark.parametrize("rgb", [(255, 255, 255), (0, 0, 0), (128, 128, 128), (255, 0, 0),
                                 (0, 255, 0), (0, 0, 255), (255, 255, 0), (12, 200, 77)])
@pytest.mark.parametrize("upsample", ["bilinear", "nearest"])
def test_flat_colour_round_trip_exact(rgb, upsample):
    img = np.broadcast_to(np.array(rgb, np.uint8), (5, 7, 3)).copy()
    out = ycbcr_to_rgb(*rgb_to_ycbcr(img), upsample=upsample)
    assert np.array_equal(out, img)


def test_inverse_known_values():
    assert ycbcr_to_rgb(np.array([[1020]]), np.array([[512]]), np.array([[512]]))[0, 0].tolist() == [255, 255, 255]
    assert ycbcr_to_rgb(np.array([[0]]), np.array([[512]]), np.array([[512]]))[0, 0].tolist() == [0, 0, 0]
    # out-of-gamut YCbCr clips to 0..255
    hi = ycbcr_to_rgb(np.array([[1023]]), np.array([[1023]]), np.array([[1023]]))[0, 0]
    assert hi[0] == 255 and hi[2] == 255
    lo = ycbcr_to_rgb(np.array([[0]]), np.array([[0]]), np.array([[0]]))[0, 0]
    assert lo[0] == 0 and lo[2] == 0


@pytest.mark.parametrize("h,w", [(1, 1), (2, 2), (17, 33), (4, 9), (64, 130)])
def test_shapes_and_dtypes(h, w):
    img = np.random.default_rng(h * w).integers(0, 256, (h, w, 3), np.uint8)
    y, cb, cr = rgb_to_ycbcr(img)
    assert y.shape == (h, w)
    assert cb.shape == cr.shape == ((h + 1) // 2, (w + 1) // 2)
    assert y.dtype == cb.dtype == cr.dtype == np.uint16
    assert max(int(y.max()), int(cb.max()), int(cr.max())) <= 1023
    out = ycbcr_to_rgb(y, cb, cr)
    assert out.shape == (h, w, 3) and out.dtype == np.uint8


def test_chroma_is_mean_of_2x2_block():
    img = np.array([[[255, 0, 0], [0, 255, 0]],
                    [[0, 0, 255], [255, 255, 255]]], np.uint8)
    f = img.astype(np.float64) * 4
    yy = 0.299 * f[..., 0] + 0.587 * f[..., 1] + 0.114 * f[..., 2]
    cb = (f[..., 2] - yy) / 1.772 + 512
    cr = (f[..., 0] - yy) / 1.402 + 512
    _, cb_q, cr_q = rgb_to_ycbcr(img)
    assert int(cb_q[0, 0]) == math.floor(cb.mean() + 0.5)
    assert int(cr_q[0, 0]) == math.floor(cr.mean() + 0.5)


def test_odd_edges_replicated():
    # 3x3: the last row/column is padded by replication before averaging, so
    # the bottom-right chroma sample sees only the corner pixel's colour.
    img = np.zeros((3, 3, 3), np.uint8)
    img[2, 2] = (0, 0, 255)
    _, cb, cr = rgb_to_ycbcr(img)
    assert cb.shape == (2, 2)
    assert (int(cb[1, 1]), int(cr[1, 1])) == ycc(px(0, 0, 255))[1:]
    assert (int(cb[0, 0]), int(cr[0, 0])) == (512, 512)


def test_grey_round_trip_exact():
    g = np.random.default_rng(2).integers(0, 256, (33, 47), np.uint8)
    img = np.stack([g, g, g], -1)
    y, cb, cr = rgb_to_ycbcr(img)
    assert np.array_equal(y, g.astype(np.uint16) * 4)
    assert (cb == 512).all() and (cr == 512).all()
    assert np.array_equal(ycbcr_to_rgb(y, cb, cr), img)


@pytest.mark.parametrize("seed", range(3))
def test_random_block_constant_round_trip(seed):
    # Chroma constant over 2x2 blocks loses nothing to subsampling: with
    # sample-replication upsampling the round trip is within 1 code value.
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (40, 60, 3), np.uint8).repeat(2, 0).repeat(2, 1)
    out = ycbcr_to_rgb(*rgb_to_ycbcr(img), upsample="nearest")
    assert np.abs(out.astype(int) - img).max() <= 1


@pytest.mark.parametrize("seed", range(3))
def test_random_round_trip_luma_preserved(seed):
    # Arbitrary noise: chroma subsampling loses detail, but the 10-bit luma
    # computed from the round-tripped RGB stays close to the original luma.
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (32, 48, 3), np.uint8)
    y0 = rgb_to_ycbcr(img)[0].astype(int)
    for upsample in ("bilinear", "nearest"):
        out = ycbcr_to_rgb(*rgb_to_ycbcr(img), upsample=upsample)
        assert out.shape == img.shape
        y1 = rgb_to_ycbcr(out)[0].astype(int)
        # clipping of out-of-gamut reconstructions can move luma; on average it is tiny
        assert np.abs(y1 - y0).mean() < 12


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b) ** 2)
    return 10 * math.log10(255.0 ** 2 / mse)


@pytest.mark.parametrize("n", [1, 7, 13, 23])
def test_kodak_crops_round_trip(kodak_rgb, n):
    img = kodak_rgb(n)[100:357, 200:455]  # odd-sized 257x255 crop
    p = rgb_to_ycbcr(img)
    out_b = ycbcr_to_rgb(*p)
    out_n = ycbcr_to_rgb(*p, upsample="nearest")
    assert psnr(out_b, img) > 38.0
    assert psnr(out_n, img) > 36.0
    assert psnr(out_b, img) >= psnr(out_n, img) - 0.1
    # luma detail survives: the round-tripped picture's luma is within rounding
    y0 = p[0].astype(int)
    y1 = rgb_to_ycbcr(out_b)[0].astype(int)
    assert np.abs(y1 - y0).mean() < 3


def test_bad_inputs():
    with pytest.raises(TypeError):
        rgb_to_ycbcr(np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ValueError):
        rgb_to_ycbcr(np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError):
        rgb_to_ycbcr(np.zeros((0, 4, 3), np.uint8))
    with pytest.raises(ValueError, match="chroma planes"):
        ycbcr_to_rgb(np.zeros((4, 4), np.uint16), np.zeros((4, 4), np.uint16), np.zeros((2, 2), np.uint16))
    with pytest.raises(ValueError, match="upsample"):
        ycbcr_to_rgb(np.zeros((4, 4), np.uint16), np.zeros((2, 2), np.uint16), np.zeros((2, 2), np.uint16),
                     upsample="cubic")
