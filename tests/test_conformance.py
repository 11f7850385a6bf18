"""Conformance: FFmpeg's VVC decoder must reproduce recon_ycbcr exactly.

Default run: 2 Kodak images x QP {22, 37} plus synthetic edge cases.
``pytest -m slow``: all 24 Kodak images x QP {22, 27, 32, 37, 42}.
"""
import numpy as np
import pytest

# Sanity lower bounds for PSNR-Y (dB) on natural images, by QP (kodim13, the
# hardest Kodak picture, is ~2 dB above these).
MIN_PSNR_Y = {22: 34.0, 27: 31.0, 32: 28.0, 37: 25.0, 42: 22.0}


def check_natural(res, qp):
    assert res.psnr_y > MIN_PSNR_Y[qp], f"PSNR-Y {res.psnr_y:.2f} dB too low for qp {qp}"
    assert res.psnr_rgb is not None and res.psnr_rgb > MIN_PSNR_Y[qp] - 6
    assert 0 < res.bpp < 12


@pytest.mark.parametrize("qp", [22, 37])
@pytest.mark.parametrize("n", [1, 23])
def test_kodak_fast(conformance, kodak_rgb, n, qp):
    res = conformance(kodak_rgb(n), qp)
    check_natural(res, qp)


@pytest.mark.slow
@pytest.mark.parametrize("qp", [22, 27, 32, 37, 42])
@pytest.mark.parametrize("n", range(1, 25))
def test_kodak_all(conformance, kodak_rgb, n, qp):
    res = conformance(kodak_rgb(n), qp)
    check_natural(res, qp)


def test_bitrate_falls_with_qp(conformance, kodak_rgb):
    img = kodak_rgb(23)[:128, :192]
    lo, hi = conformance(img, 22), conformance(img, 37)
    assert hi.bits < lo.bits
    assert hi.psnr_y < lo.psnr_y


# --- synthetic pictures ------------------------------------------------------

def rng_img(h, w, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), np.uint8)


def smooth_img(h, w):
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 128 + 100 * np.sin(x / 9.0) * np.cos(y / 13.0)
    g = 128 + 90 * np.cos((x + y) / 17.0)
    b = 255.0 * x / max(w - 1, 1)
    return np.clip(np.stack([r, g, b], -1), 0, 255).round().astype(np.uint8)


def checkerboard(h, w, cell):
    y, x = np.mgrid[0:h, 0:w]
    m = ((y // cell + x // cell) % 2).astype(np.uint8) * 255
    return np.stack([m, m, m], -1)


@pytest.mark.parametrize("h,w", [(17, 33), (1, 1), (8, 8), (2, 2), (4096, 16), (16, 4096),
                                 (64, 130), (130, 64), (127, 129), (136, 264)])
def test_sizes(conformance, h, w):
    res = conformance(smooth_img(h, w), 32)
    assert (res.width, res.height) == (w, h)
    assert res.recon_rgb.shape == (h, w, 3)
    assert res.recon_ycbcr[0].shape == (h + (h & 1), w + (w & 1))


@pytest.mark.parametrize("qp", [0, 1, 22, 37, 51, 63])
def test_qp_range(conformance, qp):
    conformance(smooth_img(48, 80), qp)


def test_flat_grey(conformance):
    img = np.full((64, 96, 3), 128, np.uint8)
    res = conformance(img, 32)
    assert res.psnr_y > 45


@pytest.mark.parametrize("value", [0, 255])
def test_flat_extremes(conformance, value):
    conformance(np.full((32, 48, 3), value, np.uint8), 27)


@pytest.mark.parametrize("qp", [22, 42])
def test_uniform_noise(conformance, qp):
    conformance(rng_img(96, 128, seed=qp), qp)


@pytest.mark.parametrize("cell", [1, 4, 7, 32])
def test_checkerboard(conformance, cell):
    conformance(checkerboard(80, 96, cell), 27)


@pytest.mark.parametrize("direction", ["horizontal", "vertical", "diagonal"])
def test_gradients(conformance, direction):
    h, w = 96, 160
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    ramp = {"horizontal": x / (w - 1), "vertical": y / (h - 1),
            "diagonal": (x + y) / (w + h - 2)}[direction]
    img = np.stack([ramp * 255, (1 - ramp) * 255, np.full_like(ramp, 128)], -1).round().astype(np.uint8)
    res = conformance(img, 27)
    assert res.psnr_y > 38


def test_saturated_colours(conformance):
    colours = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0],
                        [0, 255, 255], [255, 0, 255], [255, 255, 255], [0, 0, 0]], np.uint8)
    bars = np.repeat(colours, 16, axis=0)          # 128 x 3
    img = np.broadcast_to(bars[None, :, :], (72, 128, 3)).copy()
    conformance(img, 22)


def test_planar_uint16_full_range(conformance):
    # 10-bit planar input with samples over the whole 0..1023 range.
    rng = np.random.default_rng(7)
    y = rng.integers(0, 1024, (40, 56), dtype=np.uint16)
    cb = rng.integers(0, 1024, (20, 28), dtype=np.uint16)
    cr = rng.integers(0, 1024, (20, 28), dtype=np.uint16)
    res = conformance((y, cb, cr), 22)
    assert res.psnr_rgb is None


def test_planar_uint8_odd(conformance):
    rng = np.random.default_rng(8)
    planes = (rng.integers(0, 256, (21, 35), dtype=np.uint8),
              np.full((11, 18), 128, np.uint8), np.full((11, 18), 100, np.uint8))
    res = conformance(planes, 32)
    assert res.recon_ycbcr[0].shape == (22, 36)


def test_deterministic(kodak_rgb):
    import pyvtm

    img = kodak_rgb(1)[:96, :160]
    a, b = pyvtm.encode(img, qp=32), pyvtm.encode(img, qp=32)
    assert len(a.bitstream) > 0
    assert a.bitstream == b.bitstream
    for pa, pb in zip(a.recon_ycbcr, b.recon_ycbcr):
        assert np.array_equal(pa, pb)


@pytest.mark.parametrize("opts", [dict(rdo_split=False), dict(rdoq=False), dict(deblocking=False),
                                  dict(min_cu_log2=3), dict(intra_rd_candidates=1),
                                  dict(rdo_split=False, rdoq=False, deblocking=False)])
def test_coding_options(conformance, opts):
    conformance(smooth_img(72, 104), 32, **opts)


# Tool matrix of the coding-tree layer (uvg266-style): every combination of
# the multi-type tree, the dual tree and CCLM, at each preset, through FFmpeg.
TOOL_MATRIX = ([("medium", m, d, c) for m in (True, False) for d in (True, False) for c in (True, False)]
               + [("fast", True, True, True), ("slow", True, True, True)])


@pytest.mark.parametrize("preset,mtt,dual_tree,cclm", TOOL_MATRIX)
def test_tool_matrix(conformance, kodak_rgb, preset, mtt, dual_tree, cclm):
    img = kodak_rgb(23)[200:328, 300:492]  # 192x128: two CTUs, textured
    conformance(img, 32, preset=preset, mtt=mtt, dual_tree=dual_tree, cclm=cclm)


def test_bad_preset():
    import pyvtm

    with pytest.raises(ValueError, match="preset"):
        pyvtm.encode(smooth_img(16, 16), 32, preset="fastest")


def test_unsupported_option_value_is_value_error():
    import pyvtm

    with pytest.raises(ValueError):
        pyvtm.encode(smooth_img(16, 16), 32, max_cu_log2=5)


def test_every_coding_tree_syntax_path_through_ffmpeg(conformance, kodak_rgb):
    """Each syntax path of the coding-tree layer occurs in streams FFmpeg decodes bit-exactly.

    The counts come from pyvtm's decoder (DecodedPicture.syntax) on the very
    streams the conformance fixture checked against FFmpeg, so the test fails
    if a path (a split mode, a CCLM mode, the dual or the local dual tree)
    stops being exercised or stops being decoded identically.
    """
    import pyvtm

    total = {"non_square_cus": 0, "chroma_tree_cus": 0, "local_dual_tree_cus": 0}
    splits = dict.fromkeys(("qt", "bt_hor", "bt_ver", "tt_hor", "tt_ver"), 0)
    cclm = [0, 0, 0]
    for n, qp, opts in [(23, 27, {}), (5, 32, {"preset": "slow"}), (15, 37, {}), (1, 32, {"dual_tree": False})]:
        img = kodak_rgb(n)[128:256, 192:448]
        res = conformance(img, qp, **opts)
        syn = pyvtm.decode_picture(res.bitstream).syntax
        for k in total:
            total[k] += syn[k]
        for k in splits:
            splits[k] += syn["splits"][k]
        cclm = [a + b for a, b in zip(cclm, syn["cclm"])]
    assert all(v > 0 for v in total.values()), total
    assert all(v > 0 for v in splits.values()), splits
    assert all(v > 0 for v in cclm), cclm


# Transform skip / BDPCM (issue 9): the residual tools on textured Kodak
# crops at each preset and tree configuration, through FFmpeg.
TS_TOOL_MATRIX = [
    ("medium", dict(transform_skip=True)),
    ("medium", dict(transform_skip=True, bdpcm=True)),
    ("medium", dict(transform_skip=True, bdpcm=True, dual_tree=False)),
    ("medium", dict(transform_skip=True, bdpcm=True, mtt=False)),
    ("fast", dict(transform_skip=True, bdpcm=True)),
    ("slow", dict(transform_skip=True, bdpcm=True)),
]


@pytest.mark.parametrize("preset,opts", TS_TOOL_MATRIX)
@pytest.mark.parametrize("qp", [22, 37])
def test_transform_skip_tool_matrix(conformance, kodak_rgb, preset, opts, qp):
    img = kodak_rgb(23)[200:328, 300:492]  # 192x128: two CTUs, textured
    conformance(img, qp, preset=preset, **opts)


def graphics_img(h, w, seed=0):
    """Screen-content-like RGB picture: flat background, thin sharp strokes (text-like glyphs) and flat boxes."""
    rng = np.random.default_rng(seed)
    img = np.full((h, w, 3), 245, np.uint8)
    for _ in range(6):  # flat coloured boxes
        y, x = rng.integers(0, h - 16), rng.integers(0, w - 16)
        img[y:y + rng.integers(8, 40), x:x + rng.integers(8, 60)] = rng.integers(0, 256, 3)
    for row in range(4, h - 12, 14):  # lines of "glyphs": 1-2 px strokes
        x = 4
        while x < w - 10:
            gw = int(rng.integers(4, 9))
            g = rng.random((9, gw)) < 0.35
            g[:, 0] |= rng.random() < 0.5
            img[row:row + 9, x:x + gw][g] = (20, 20, 20)
            x += gw + int(rng.integers(1, 4))
    return img


@pytest.mark.parametrize("qp", [22, 32, 37])
@pytest.mark.parametrize("dual_tree", [True, False])
def test_transform_skip_and_bdpcm_used_on_graphics(conformance, qp, dual_tree):
    """On text/graphics content the encoder picks transform skip and BDPCM (luma and chroma)
    in streams FFmpeg decodes bit-exactly, and the stream is smaller than without the tools."""
    import pyvtm

    img = graphics_img(128, 192)
    res = conformance(img, qp, transform_skip=True, bdpcm=True, dual_tree=dual_tree)
    syn = pyvtm.decode_picture(res.bitstream).syntax
    assert syn["transform_skip"][0] > 0, syn
    assert syn["bdpcm"][0] > 0, syn
    plain = conformance(img, qp, dual_tree=dual_tree)
    assert pyvtm.decode_picture(plain.bitstream).syntax["transform_skip"] == (0, 0, 0)
    assert res.bits < plain.bits


def test_transform_skip_odd_sizes(conformance):
    for h, w in [(51, 77), (24, 40), (16, 1024)]:
        img = graphics_img(max(h, 40), max(w, 40), seed=h)[:h, :w]
        conformance(img, 27, transform_skip=True, bdpcm=True)
