"""encode() rejects bad input with the documented exception types and messages."""
import numpy as np
import pytest
from PIL import Image

import pyvtm
from pyvtm import _core

RGB = np.zeros((16, 16, 3), np.uint8)


def planes(h, w, dtype=np.uint16, value=512):
    ch, cw = (h + 1) // 2, (w + 1) // 2
    return (np.full((h, w), value, dtype), np.full((ch, cw), value, dtype),
            np.full((ch, cw), value, dtype))


# --- RGB arrays -----------------------------------------------------------

@pytest.mark.parametrize("shape", [(0, 0, 3), (0, 16, 3), (16, 0, 3)])
def test_empty_array(shape):
    with pytest.raises(ValueError, match="empty"):
        pyvtm.encode(np.zeros(shape, np.uint8))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint16, np.int32, np.int8, bool])
def test_wrong_dtype(dtype):
    with pytest.raises(TypeError, match="uint8"):
        pyvtm.encode(np.zeros((16, 16, 3), dtype))


@pytest.mark.parametrize("shape", [(16, 16), (16, 16, 1), (16, 16, 4), (16, 16, 2), (2, 16, 16, 3)])
def test_wrong_channels_or_shape(shape):
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        pyvtm.encode(np.zeros(shape, np.uint8))


@pytest.mark.parametrize("shape", [(16385, 1, 3), (1, 16385, 3)])
def test_too_large(shape):
    with pytest.raises(ValueError, match="16384x16384"):
        pyvtm.encode(np.zeros(shape, np.uint8))


def test_unsupported_type():
    with pytest.raises(TypeError, match="img must be"):
        pyvtm.encode(42)
    with pytest.raises(TypeError, match="img must be"):
        pyvtm.encode(b"\x89PNG")


# --- QP --------------------------------------------------------------------

@pytest.mark.parametrize("qp", [-1, 64, 70, 1000])
def test_qp_out_of_range(qp):
    with pytest.raises(ValueError, match=r"qp must be in 0\.\.63"):
        pyvtm.encode(RGB, qp=qp)


@pytest.mark.parametrize("qp", [32.0, "32", None, True, np.float64(30)])
def test_qp_wrong_type(qp):
    with pytest.raises(TypeError, match="qp must be an int"):
        pyvtm.encode(RGB, qp=qp)


# --- paths and PIL images --------------------------------------------------

def test_missing_path(tmp_path):
    p = tmp_path / "does_not_exist.png"
    with pytest.raises(ValueError, match="does_not_exist.png"):
        pyvtm.encode(p)
    with pytest.raises(ValueError, match="no such file"):
        pyvtm.encode(str(p))


def test_directory_path(tmp_path):
    with pytest.raises(ValueError, match="cannot read image"):
        pyvtm.encode(tmp_path)


def test_unreadable_path(tmp_path):
    p = tmp_path / "not_an_image.png"
    p.write_text("this is not a PNG file")
    with pytest.raises(ValueError, match="not_an_image.png"):
        pyvtm.encode(p)


def test_truncated_image(tmp_path):
    src = tmp_path / "full.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (64, 64, 3), np.uint8)).save(src)
    p = tmp_path / "truncated.png"
    p.write_bytes(src.read_bytes()[:200])
    with pytest.raises(ValueError, match="truncated.png"):
        pyvtm.encode(p)


def test_empty_pil_image():
    with pytest.raises(ValueError, match="empty"):
        pyvtm.encode(Image.new("RGB", (0, 0)))


# --- planar YCbCr ----------------------------------------------------------

@pytest.mark.parametrize("n", [0, 1, 2, 4])
def test_planes_wrong_count(n):
    y, cb, cr = planes(16, 16)
    with pytest.raises(ValueError, match="3 arrays"):
        pyvtm.encode((y, cb, cr, y)[:n])


def test_planes_wrong_chroma_shape():
    y, cb, cr = planes(16, 16)
    with pytest.raises(ValueError, match=r"Cb plane must have shape \(8, 8\)"):
        pyvtm.encode((y, np.zeros((16, 16), np.uint16), cr))
    y, cb, cr = planes(17, 33)  # odd: chroma is ceil(H/2) x ceil(W/2) = 9 x 17
    with pytest.raises(ValueError, match=r"Cr plane must have shape \(9, 17\)"):
        pyvtm.encode((y, cb, np.zeros((8, 16), np.uint16)))


def test_planes_not_2d():
    y, cb, cr = planes(16, 16)
    with pytest.raises(ValueError, match="2-D"):
        pyvtm.encode((y[..., None], cb, cr))


@pytest.mark.parametrize("dtype", [np.float32, np.int16, np.uint32, np.int64])
def test_planes_wrong_dtype(dtype):
    y, cb, cr = planes(16, 16, dtype=dtype)
    with pytest.raises(TypeError, match="uint8.*uint16"):
        pyvtm.encode((y, cb, cr))


def test_planes_mixed_dtype():
    y, cb, cr = planes(16, 16)
    with pytest.raises(TypeError, match="share one dtype"):
        pyvtm.encode((y, cb.astype(np.uint8), cr))


def test_planes_not_arrays():
    y, cb, cr = planes(4, 4)
    with pytest.raises(TypeError, match="numpy array"):
        pyvtm.encode((y.tolist(), cb, cr))


def test_planes_empty():
    with pytest.raises(ValueError, match="empty"):
        pyvtm.encode(planes(0, 0))


def test_planes_too_large():
    with pytest.raises(ValueError, match="16384x16384"):
        pyvtm.encode(planes(2, 16386, dtype=np.uint8, value=128))


def test_planes_over_10_bit():
    y, cb, cr = planes(16, 16)
    cr[3, 3] = 1024
    with pytest.raises(ValueError, match="1023"):
        pyvtm.encode((y, cb, cr))


# --- tools and options -----------------------------------------------------

def test_cnn_model_errors(tmp_path):
    # Missing, corrupt and mismatched model files: a clear ValueError.
    with pytest.raises(ValueError, match="neither a model file nor a registered model name"):
        pyvtm.encode(RGB, cnnif=True, models={"cnnif": str(tmp_path / "missing.pt")})
    bad = tmp_path / "corrupt.pt"
    bad.write_bytes(b"not a torchscript archive")
    with pytest.raises(ValueError, match="corrupt.pt"):
        pyvtm.encode(RGB, cnnif=True, models={"cnnif": str(bad)})
    with pytest.raises(ValueError, match="unknown CNN tool"):
        pyvtm.encode(RGB, cnnif=True, models={"cnnxx": "cnnif_s"})
    with pytest.raises(TypeError, match="models must be a dict"):
        pyvtm.encode(RGB, cnnif=True, models="cnnif_s")
    from pyvtm import zoo
    if "cnnmc" in zoo.available():  # a CNNMC model where a CNNIF one is expected
        with pytest.raises(ValueError):
            pyvtm.encode(RGB, cnnif=True, models={"cnnif": str(zoo.path("cnnmc"))})


def test_unknown_option():
    with pytest.raises(TypeError, match="unknown encode option.*ctu_size"):
        pyvtm.encode(RGB, ctu_size=64)


@pytest.mark.parametrize("opt,val", [("max_cu_log2", 6.5), ("rdo_split", 1), ("min_cu_log2", "2"),
                                     ("chroma_qp_table", 2), ("chroma_qp_table", None)])
def test_option_wrong_type(opt, val):
    with pytest.raises(TypeError, match=opt):
        pyvtm.encode(RGB, **{opt: val})


@pytest.mark.parametrize("val", ["VVenC", "hevc", ""])
def test_chroma_qp_table_unknown_name(val):
    with pytest.raises(ValueError, match=r"chroma_qp_table must be a bool or one of \['identity', 'vtm', 'vvenc'\]"):
        pyvtm.encode(RGB, chroma_qp_table=val)


# --- the binding itself ----------------------------------------------------

def test_binding_rejects_bad_plane_shape():
    y, cb, cr = planes(16, 16)
    with pytest.raises(ValueError, match="Cb plane must have shape"):
        _core.encode_picture(y, cb[:4], cr, 16, 16)


def test_binding_maps_invalid_argument_to_value_error():
    # qp is checked by the C++ core (std::invalid_argument -> ValueError).
    y, cb, cr = planes(16, 16)
    with pytest.raises(ValueError):
        _core.encode_picture(y, cb, cr, 16, 16, qp=70)
    with pytest.raises(ValueError):
        _core.encode_picture(y[:0, :0], cb[:0, :0], cr[:0, :0], 0, 0)
