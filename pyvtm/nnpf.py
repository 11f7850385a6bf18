"""Neural-network post-filter SEI messages of H.274 (VSEI), written into and
read from pyvtm's Annex-B streams, in Python.

A post-filtered stream carries one prefix SEI NAL unit (nal_unit_type 23,
placed right before the slice NAL unit) holding two ``sei_message()``\\ s:

* NNPFC, neural-network post-filter characteristics (payloadType 210): the
  filter ``nnpfc_id``, purpose 0x0003 (visual quality improvement 0x0001 +
  chroma up-sampling 0x0002: the output is 4:4:4 RGB), ``nnpfc_mode_idc`` 1:
  the network is named by URI (``nnpfc_tag_uri`` = :data:`TAG_URI`, the
  format: a pyvtm TorchScript post-filter; ``nnpfc_uri`` = :data:`URI_PREFIX`
  + the model id, e.g. ``tag:pyvtm,2025:msgdn_s-v1-0123456789ab``), and the
  properties: one input picture; input tensor float (``inp_format_idc`` 0),
  the slice QP as auxiliary input (``auxiliary_inp_idc`` 1), 4:2:0 order
  (``inp_order_idc`` 3: Y packed 2x2 + Cb + Cr); output integer 8-bit
  (``out_format_idc`` 1), three 4:4:4 channels (``out_order_idc`` 2) with a
  separate colour description (``matrix_coeffs`` 0: G, B, R; full range);
  ``nnpfc_overlap`` and the constant patch size of pyvtm's tiling;
  replication padding; no complexity information; no metadata extension.
* NNPFA, neural-network post-filter activation (payloadType 211): the same
  id, not cancelled, not persistent (this picture only).

Syntax: ``nn_post_filter_characteristics()`` / ``nn_post_filter_activation()``
of H.274 V3 (as written by the reference software VTM's SEI writer), with
``sei_message()`` (payloadType / payloadSize bytes), the payload's
``payload_bit_equal_to_one`` + zero bits when it does not end byte-aligned,
``rbsp_trailing_bits()``, and emulation prevention (H.266 7.4.2) when the
NAL unit is assembled. A standard decoder (FFmpeg's ``vvc``) skips these
messages and outputs the picture bit-exactly as without them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Tuple

__all__ = ["TAG_URI", "URI_PREFIX", "Nnpfc", "Nnpfa", "write_nnpf_sei_rbsp", "parse_sei_rbsp", "insert_prefix_sei",
           "add_postfilter_sei", "read_postfilter_sei", "split_nal_units", "nal_payload_to_rbsp",
           "rbsp_to_nal_payload", "strip_postfilter_sei", "NNPFC_PAYLOAD_TYPE", "NNPFA_PAYLOAD_TYPE"]

NNPFC_PAYLOAD_TYPE = 210
NNPFA_PAYLOAD_TYPE = 211
NAL_PREFIX_SEI = 23
#: nnpfc_tag_uri of pyvtm's post-filters: "the network is a pyvtm TorchScript post-filter, interface 1".
TAG_URI = "tag:pyvtm,2025:pf1"
#: nnpfc_uri = URI_PREFIX + pyvtm model id.
URI_PREFIX = "tag:pyvtm,2025:"
_VCL_TYPES = range(0, 12)  # nal_unit_type 0..11 are VCL (H.266 Table 5)


# ---------------------------------------------------------------------------
# bits

class _BitWriter:
    def __init__(self):
        self.bits: List[int] = []

    def u(self, v: int, n: int) -> None:
        if v < 0 or v >= (1 << n):
            raise ValueError(f"value {v} does not fit in {n} bits")
        self.bits += [(v >> (n - 1 - i)) & 1 for i in range(n)]

    def ue(self, v: int) -> None:  # ue(v), 9.2
        if v < 0:
            raise ValueError("ue(v) of a negative value")
        x = v + 1
        n = x.bit_length()
        self.bits += [0] * (n - 1)
        self.u(x, n)

    def flag(self, b) -> None:
        self.bits.append(1 if b else 0)

    def byte_aligned(self) -> bool:
        return len(self.bits) % 8 == 0

    def align_zero(self) -> None:
        while not self.byte_aligned():
            self.bits.append(0)

    def st(self, s: str) -> None:  # st(v): null-terminated UTF-8 string
        for b in s.encode("utf-8") + b"\0":
            self.u(b, 8)

    def payload_end(self) -> None:
        """sei_payload(): payload_bit_equal_to_one + payload_bit_equal_to_zero
        up to the byte boundary when the payload does not end aligned."""
        if not self.byte_aligned():
            self.bits.append(1)
            self.align_zero()

    def bytes(self) -> bytes:
        if not self.byte_aligned():
            raise ValueError("not byte aligned")
        out = bytearray()
        for i in range(0, len(self.bits), 8):
            v = 0
            for b in self.bits[i:i + 8]:
                v = (v << 1) | b
            out.append(v)
        return bytes(out)


class _BitReader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def _bit(self) -> int:
        if self.pos >= 8 * len(self.data):
            raise ValueError("SEI payload truncated")
        b = (self.data[self.pos >> 3] >> (7 - (self.pos & 7))) & 1
        self.pos += 1
        return b

    def u(self, n: int) -> int:
        v = 0
        for _ in range(n):
            v = (v << 1) | self._bit()
        return v

    def flag(self) -> bool:
        return bool(self._bit())

    def ue(self) -> int:
        zeros = 0
        while self._bit() == 0:
            zeros += 1
            if zeros > 31:
                raise ValueError("ue(v) longer than 32 bits")
        return (1 << zeros) - 1 + self.u(zeros)

    def align(self) -> None:
        while self.pos & 7:
            if self._bit():
                raise ValueError("non-zero alignment bit")

    def st(self) -> str:
        out = bytearray()
        while True:
            b = self.u(8)
            if b == 0:
                return out.decode("utf-8", "replace")
            out.append(b)


# ---------------------------------------------------------------------------
# messages

@dataclass
class Nnpfc:
    """The fields of an NNPFC message that pyvtm writes (others take the
    values listed in the module docstring)."""

    id: int = 1
    uri: str = ""
    tag_uri: str = TAG_URI
    purpose: int = 0x0003
    base_flag: bool = True
    mode_idc: int = 1
    property_present: bool = True
    inp_format_idc: int = 0
    auxiliary_inp_idc: int = 1
    inp_order_idc: int = 3
    out_format_idc: int = 1
    out_order_idc: int = 2
    out_tensor_bitdepth_minus8: int = 0
    sep_col_desc: bool = True
    col_primaries: int = 2
    trans_characteristics: int = 2
    matrix_coeffs: int = 0
    full_range: bool = True
    overlap: int = 32
    patch_size: int = 512
    padding_type: int = 1
    out_sub_c_flag: bool = True
    extra: dict = field(default_factory=dict)


@dataclass
class Nnpfa:
    target_id: int = 1
    cancel: bool = False
    persistence: bool = False
    target_base_flag: bool = True
    no_prev_clvs: bool = False
    no_foll_clvs: bool = False
    output_flags: Tuple[bool, ...] = ()


def _write_nnpfc(c: Nnpfc) -> bytes:
    w = _BitWriter()
    w.u(c.purpose, 16)                 # nnpfc_purpose
    w.ue(c.id)                         # nnpfc_id
    w.flag(c.base_flag)                # nnpfc_base_flag
    w.ue(c.mode_idc)                   # nnpfc_mode_idc
    if c.mode_idc == 1:
        w.align_zero()                 # nnpfc_alignment_zero_bit_a
        w.st(c.tag_uri)                # nnpfc_tag_uri
        w.st(c.uri)                    # nnpfc_uri
    w.flag(c.property_present)         # nnpfc_property_present_flag
    if c.property_present:
        w.ue(0)                        # nnpfc_num_input_pics_minus1
        if c.purpose & 0x02:
            w.flag(c.out_sub_c_flag)   # nnpfc_out_sub_c_flag (chroma up-sampling)
        w.flag(False)                  # nnpfc_component_last_flag
        w.ue(c.inp_format_idc)         # nnpfc_inp_format_idc
        w.ue(c.auxiliary_inp_idc)      # nnpfc_auxiliary_inp_idc
        w.ue(c.inp_order_idc)          # nnpfc_inp_order_idc
        if c.inp_format_idc == 1:
            if c.inp_order_idc != 1:
                w.ue(2)                # nnpfc_inp_tensor_luma_bitdepth_minus8
            if c.inp_order_idc != 0:
                w.ue(2)                # nnpfc_inp_tensor_chroma_bitdepth_minus8
        w.ue(c.out_format_idc)         # nnpfc_out_format_idc
        w.ue(c.out_order_idc)          # nnpfc_out_order_idc
        if c.out_format_idc == 1:
            if c.out_order_idc != 1:
                w.ue(c.out_tensor_bitdepth_minus8)  # nnpfc_out_tensor_luma_bitdepth_minus8
            if c.out_order_idc != 0:
                w.ue(c.out_tensor_bitdepth_minus8)  # nnpfc_out_tensor_chroma_bitdepth_minus8
        w.flag(c.sep_col_desc)         # nnpfc_sep_col_desc_flag
        if c.sep_col_desc:
            w.u(c.col_primaries, 8)    # nnpfc_col_primaries
            w.u(c.trans_characteristics, 8)  # nnpfc_trans_characteristics
            if c.out_format_idc == 1:
                w.u(c.matrix_coeffs, 8)  # nnpfc_matrix_coeffs
                w.flag(c.full_range)     # nnpfc_full_range_flag
        if c.out_order_idc != 0:
            w.flag(False)              # nnpfc_chroma_loc_info_present_flag
        w.ue(c.overlap)                # nnpfc_overlap
        w.flag(True)                   # nnpfc_constant_patch_size_flag
        w.ue(c.patch_size - 1)         # nnpfc_patch_width_minus1
        w.ue(c.patch_size - 1)         # nnpfc_patch_height_minus1
        w.ue(c.padding_type)           # nnpfc_padding_type (1: replication)
        w.flag(False)                  # nnpfc_complexity_info_present_flag
        w.ue(0)                        # nnpfc_metadata_extension_num_bits
    w.payload_end()
    return w.bytes()


def _read_nnpfc(data: bytes) -> Nnpfc:
    r = _BitReader(data)
    c = Nnpfc()
    c.purpose = r.u(16)
    c.id = r.ue()
    c.base_flag = r.flag()
    c.mode_idc = r.ue()
    if c.mode_idc == 1:
        r.align()
        c.tag_uri = r.st()
        c.uri = r.st()
    c.property_present = r.flag()
    if c.property_present:
        n_in = r.ue() + 1
        if n_in > 1:
            c.extra["input_pic_filtering_flags"] = [r.flag() for _ in range(n_in)]
            c.extra["absent_input_pic_zero_flag"] = r.flag()
        if c.purpose & 0x02:
            c.out_sub_c_flag = r.flag()
        if c.purpose & 0x20:
            c.extra["out_colour_format_idc"] = r.u(2)
        if c.purpose & 0x04:
            c.extra["resampling"] = [r.ue() for _ in range(4)]
        if c.purpose & 0x08:
            c.extra["interpolated_pics"] = [r.ue() for _ in range(n_in - 1)]
        c.extra["component_last_flag"] = r.flag()
        c.inp_format_idc = r.ue()
        c.auxiliary_inp_idc = r.ue()
        c.inp_order_idc = r.ue()
        if c.inp_format_idc == 1:
            if c.inp_order_idc != 1:
                c.extra["inp_tensor_luma_bitdepth_minus8"] = r.ue()
            if c.inp_order_idc != 0:
                c.extra["inp_tensor_chroma_bitdepth_minus8"] = r.ue()
        c.out_format_idc = r.ue()
        c.out_order_idc = r.ue()
        if c.out_format_idc == 1:
            if c.out_order_idc != 1:
                c.out_tensor_bitdepth_minus8 = r.ue()
            if c.out_order_idc != 0:
                c.extra["out_tensor_chroma_bitdepth_minus8"] = r.ue()
        c.sep_col_desc = r.flag()
        if c.sep_col_desc:
            c.col_primaries = r.u(8)
            c.trans_characteristics = r.u(8)
            if c.out_format_idc == 1:
                c.matrix_coeffs = r.u(8)
                c.full_range = r.flag()
        chroma_loc = r.flag() if c.out_order_idc != 0 else False
        if chroma_loc:
            c.extra["chroma_sample_loc_type_frame"] = r.ue()
        c.overlap = r.ue()
        if r.flag():
            c.patch_size = r.ue() + 1
            c.extra["patch_height"] = r.ue() + 1
        else:
            c.extra["extended_patch_cd_delta_minus1"] = (r.ue(), r.ue())
        c.padding_type = r.ue()
        if c.padding_type == 4:
            c.extra["padding_vals"] = [r.ue() for _ in range((c.inp_order_idc != 1) + 2 * (c.inp_order_idc != 0))]
        if r.flag():
            ptype = r.u(2)
            c.extra["complexity"] = {"parameter_type_idc": ptype,
                                     "log2_parameter_bit_length_minus3": r.u(2) if ptype != 2 else None,
                                     "num_parameters_idc": r.u(6), "num_kmac_operations_idc": r.ue(),
                                     "total_kilobyte_size": r.ue()}
        c.extra["metadata_extension_num_bits"] = r.ue()
    return c


def _write_nnpfa(a: Nnpfa) -> bytes:
    w = _BitWriter()
    w.ue(a.target_id)                  # nnpfa_target_id
    w.flag(a.cancel)                   # nnpfa_cancel_flag
    if not a.cancel:
        w.flag(a.persistence)          # nnpfa_persistence_flag
        w.flag(a.target_base_flag)     # nnpfa_target_base_flag
        w.flag(a.no_prev_clvs)         # nnpfa_no_prev_clvs_flag
        if a.persistence:
            w.flag(a.no_foll_clvs)     # nnpfa_no_foll_clvs_flag
        w.ue(len(a.output_flags))      # nnpfa_num_output_entries
        for f in a.output_flags:
            w.flag(f)                  # nnpfa_output_flag[i]
    w.payload_end()
    return w.bytes()


def _read_nnpfa(data: bytes) -> Nnpfa:
    r = _BitReader(data)
    a = Nnpfa()
    a.target_id = r.ue()
    a.cancel = r.flag()
    if not a.cancel:
        a.persistence = r.flag()
        a.target_base_flag = r.flag()
        a.no_prev_clvs = r.flag()
        if a.persistence:
            a.no_foll_clvs = r.flag()
        a.output_flags = tuple(r.flag() for _ in range(r.ue()))
    return a


def _sei_message(ptype: int, payload: bytes) -> bytes:
    out = bytearray()
    for v in (ptype, len(payload)):  # payloadType / payloadSize: 0xFF bytes then the rest
        while v >= 255:
            out.append(255)
            v -= 255
        out.append(v)
    return bytes(out) + payload


def write_nnpf_sei_rbsp(nnpfc: Nnpfc, nnpfa: Optional[Nnpfa] = None) -> bytes:
    """sei_rbsp() with the NNPFC message and (default) its NNPFA."""
    if nnpfa is None:
        nnpfa = Nnpfa(target_id=nnpfc.id)
    body = _sei_message(NNPFC_PAYLOAD_TYPE, _write_nnpfc(nnpfc)) + _sei_message(NNPFA_PAYLOAD_TYPE, _write_nnpfa(nnpfa))
    return body + b"\x80"  # rbsp_trailing_bits()


def parse_sei_rbsp(rbsp: bytes) -> List[Tuple[int, bytes]]:
    """The (payloadType, payload bytes) of every sei_message() of an SEI RBSP."""
    out = []
    pos = 0
    n = len(rbsp)
    while pos < n and not (pos == n - 1 and rbsp[pos] == 0x80):
        vals = []
        for _ in range(2):
            v = 0
            while True:
                if pos >= n:
                    raise ValueError("SEI message header truncated")
                b = rbsp[pos]
                pos += 1
                v += b
                if b != 255:
                    break
            vals.append(v)
        ptype, size = vals
        if pos + size > n:
            raise ValueError("SEI payload size exceeds the NAL unit")
        out.append((ptype, rbsp[pos:pos + size]))
        pos += size
    return out


# ---------------------------------------------------------------------------
# NAL units (Annex B)

def rbsp_to_nal_payload(rbsp: bytes) -> bytes:
    """Insert emulation_prevention_three_byte (7.4.2): no 0x000000..0x000003."""
    out = bytearray()
    zeros = 0
    for b in rbsp:
        if zeros >= 2 and b <= 3:
            out.append(3)
            zeros = 0
        out.append(b)
        zeros = zeros + 1 if b == 0 else 0
    return bytes(out)


def nal_payload_to_rbsp(payload: bytes) -> bytes:
    """Remove emulation_prevention_three_bytes."""
    out = bytearray()
    zeros = 0
    for b in payload:
        if zeros >= 2 and b == 3:
            zeros = 0
            continue
        out.append(b)
        zeros = zeros + 1 if b == 0 else 0
    return bytes(out)


def split_nal_units(stream: bytes) -> List[Tuple[int, int, int]]:
    """(start of the start code, start of the NAL unit header, end) of every
    NAL unit of an Annex-B byte stream."""
    data = bytes(stream)
    starts = []
    i = 0
    n = len(data)
    while True:
        j = data.find(b"\x00\x00\x01", i)
        if j < 0:
            break
        sc = j - 1 if j > 0 and data[j - 1] == 0 else j
        starts.append((sc, j + 3))
        i = j + 3
    out = []
    for k, (sc, hs) in enumerate(starts):
        end = starts[k + 1][0] if k + 1 < len(starts) else n
        while end > hs and data[end - 1] == 0:  # trailing_zero_8bits
            end -= 1
        out.append((sc, hs, end))
    return out


def _nal_type(data: bytes, hs: int) -> int:
    return (data[hs + 1] >> 3) & 0x1F


def insert_prefix_sei(stream: bytes, sei_rbsp: bytes) -> bytes:
    """The stream with a prefix SEI NAL unit (layer 0, TemporalId 0) holding
    ``sei_rbsp`` inserted right before its first VCL NAL unit."""
    data = bytes(stream)
    for sc, hs, _ in split_nal_units(data):
        if _nal_type(data, hs) in _VCL_TYPES:
            nal = b"\x00\x00\x00\x01" + bytes([0, (NAL_PREFIX_SEI << 3) | 1]) + rbsp_to_nal_payload(sei_rbsp)
            return data[:sc] + nal + data[sc:]
    raise ValueError("the stream has no VCL NAL unit (slice) to put the SEI before")


def _prefix_sei_units(data: bytes):
    for sc, hs, end in split_nal_units(data):
        if _nal_type(data, hs) == NAL_PREFIX_SEI and (data[hs] & 0x3F) == 0 and end > hs + 2:
            yield sc, end, nal_payload_to_rbsp(data[hs + 2:end])


def read_postfilter_sei(stream: bytes) -> List[dict]:
    """The post-filters a stream describes: for each NNPFC message, a dict
    ``{"nnpfc": Nnpfc, "active": bool, "model_id": str or None}``;
    ``active``: an NNPFA of the same id, not cancelled, is present;
    ``model_id``: the pyvtm model id when ``nnpfc_tag_uri`` is pyvtm's."""
    data = bytes(stream)
    chars, acts = [], []
    for _, _, rbsp in _prefix_sei_units(data):
        try:
            msgs = parse_sei_rbsp(rbsp)
        except ValueError:
            continue  # not ours to judge: a malformed SEI is ignored like any other
        for ptype, payload in msgs:
            if ptype == NNPFC_PAYLOAD_TYPE:
                chars.append(_read_nnpfc(payload))
            elif ptype == NNPFA_PAYLOAD_TYPE:
                acts.append(_read_nnpfa(payload))
    out = []
    for c in chars:
        active = any(a.target_id == c.id and not a.cancel for a in acts)
        mid = None
        if c.mode_idc == 1 and c.tag_uri == TAG_URI and c.uri.startswith(URI_PREFIX):
            mid = c.uri[len(URI_PREFIX):]
        out.append({"nnpfc": c, "active": active, "model_id": mid})
    return out


def strip_postfilter_sei(stream: bytes) -> bytes:
    """The stream without the prefix SEI NAL units that hold NNPFC / NNPFA messages."""
    data = bytes(stream)
    out = bytearray()
    last = 0
    for sc, end, rbsp in _prefix_sei_units(data):
        try:
            types = {t for t, _ in parse_sei_rbsp(rbsp)}
        except ValueError:
            continue
        if types & {NNPFC_PAYLOAD_TYPE, NNPFA_PAYLOAD_TYPE}:
            out += data[last:sc]
            last = end
    out += data[last:]
    return bytes(out)


def add_postfilter_sei(stream: bytes, model_id: str, *, nnpfc_id: int = 1, overlap: int = 32,
                       patch_size: int = 512) -> bytes:
    """The stream with the NNPFC + NNPFA messages naming pyvtm post-filter ``model_id``."""
    c = Nnpfc(id=nnpfc_id, uri=URI_PREFIX + model_id, overlap=overlap, patch_size=patch_size)
    return insert_prefix_sei(stream, write_nnpf_sei_rbsp(c))
