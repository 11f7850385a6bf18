// Unit tests of the decoder (cpp/decoder.cpp and the readers): encoder
// reconstruction == decoder output over a matrix of pictures and options,
// parameter-set write/read round trips, refusal of unsupported tools, and
// bad input (truncation, bit flips, garbage, absurd sizes): always a
// pyvtm::DecodeError, never a crash. Plain executable: exit 0 = pass.
#include <cstdio>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "api.h"
#include "bitstream.h"
#include "md5.h"
#include "param_sets.h"
#include "test_support.h"

namespace {

using test_support::check;
using test_support::g_failures;
using test_support::same_picture;
using test_support::test_picture;


// Outcome of decoding arbitrary bytes: 0 decoded, 1 DecodeError, 2 any other exception.
int decode_outcome(const std::vector<uint8_t> &bs, std::string *msg = nullptr) {
  try {
    pyvtm::DecodeOptions opt;
    opt.max_luma_samples = 1 << 22;
    pyvtm::decode_bitstream(bs.data(), bs.size(), opt);
    return 0;
  } catch (const pyvtm::DecodeError &e) {
    if (msg) *msg = e.what();
    return 1;
  } catch (const std::exception &e) {
    if (msg) *msg = e.what();
    return 2;
  }
}

std::vector<uint8_t> nal(pyvtm::NalUnitType t, const std::vector<uint8_t> &rbsp) {
  std::vector<uint8_t> out;
  pyvtm::append_nal_unit(out, t, rbsp);
  return out;
}

// Rebuilds a stream from its NAL units with one RBSP replaced.
std::vector<uint8_t> with_rbsp(const std::vector<pyvtm::NalUnit> &nals, int type, const std::vector<uint8_t> &rbsp) {
  std::vector<uint8_t> out;
  for (const auto &n : nals)
    pyvtm::append_nal_unit(out, pyvtm::NalUnitType(n.type), n.type == type ? rbsp : n.rbsp);
  return out;
}

void test_roundtrip_matrix() {
  struct Case { int w, h, qp, min_cu, cands; bool rdoq, deblock; };
  const Case cases[] = {
      {64, 48, 32, 2, 3, true, true},   {64, 48, 32, 2, 3, true, false}, {17, 33, 37, 2, 3, true, true},
      {1, 1, 22, 2, 3, true, true},     {2, 2, 63, 2, 3, true, true},    {8, 8, 0, 2, 3, true, true},
      {136, 128, 22, 2, 3, true, true}, {200, 136, 42, 2, 1, false, true}, {256, 128, 27, 3, 2, true, true},
      {130, 64, 51, 4, 3, true, false}, {16, 520, 32, 5, 3, false, true}, {264, 16, 12, 2, 5, true, true},
  };
  for (const Case &c : cases) {
    pyvtm::EncoderConfig cfg;
    cfg.qp = c.qp;
    cfg.min_cu_log2 = c.min_cu;
    cfg.intra_rd_candidates = c.cands;
    cfg.rdoq = c.rdoq;
    cfg.deblocking = c.deblock;
    const auto enc = pyvtm::encode_picture(test_picture(c.w, c.h, c.w * 7 + c.qp), cfg);
    const std::string what = std::to_string(c.w) + "x" + std::to_string(c.h) + " qp " + std::to_string(c.qp) +
                             " min_cu " + std::to_string(c.min_cu) + (c.rdoq ? " rdoq" : "") +
                             (c.deblock ? " deblock" : "");
    try {
      const auto dec = pyvtm::decode_bitstream(enc.bitstream.data(), enc.bitstream.size());
      check(same_picture(dec.picture, enc.recon), "decoder output == encoder recon: " + what);
      check(dec.slice_qp == c.qp, "slice QP read back: " + what);
    } catch (const std::exception &e) {
      check(false, "decode " + what + ": " + e.what());
    }
  }
}

void test_param_set_roundtrip() {
  pyvtm::SequenceParams s;
  s.pic_width = 264;
  s.pic_height = 176;
  s.conf_right = 1;
  s.conf_bottom = 3;
  s.level_idc = pyvtm::level_idc_for(264, 176);
  s.colour = pyvtm::ColourDescription{9, 16, 9, false};
  const auto sps_bytes = pyvtm::write_sps(s);
  const pyvtm::SpsInfo back = pyvtm::read_sps(sps_bytes);
  check(pyvtm::write_sps(back.seq) == sps_bytes, "write_sps(read_sps(x)) == x");
  check(back.seq.colour.colour_primaries == 9 && back.seq.colour.matrix_coeffs == 9 && !back.seq.colour.full_range,
        "VUI colour description read back");
  for (bool deblock : {true, false}) {
    pyvtm::SliceParams sl;
    sl.slice_qp = 41;
    sl.deblocking = deblock;
    const auto pps_bytes = pyvtm::write_pps(s, sl);
    const pyvtm::PpsInfo p = pyvtm::read_pps(pps_bytes);
    check(pyvtm::write_pps(s, p.slice) == pps_bytes, "write_pps(read_pps(x)) == x");
    check(p.slice.slice_qp == 41 && p.slice.deblocking == deblock, "PPS fields read back");
  }
  // Identity chroma QP table (7.4.3.4) as the writer intends.
  bool identity = true;
  for (int q = -12; q <= 63; q++) identity &= back.chroma_qp(0, q) == q;
  check(identity, "chroma QP mapping table of the writer is the identity");
}

// Every tool flag of the SPS that the decoder refuses: set it in a real SPS
// (found with the syntax trace) and expect a DecodeError naming the tool.
void test_refusals() {
  pyvtm::EncoderConfig cfg;
  const auto enc = pyvtm::encode_picture(test_picture(32, 32, 1), cfg);
  const auto nals = pyvtm::split_nal_units(enc.bitstream.data(), enc.bitstream.size());
  struct Flag { int nal_type; const char *element; const char *expect; };
  const Flag flags[] = {
      {pyvtm::NAL_SPS, "sps_palette_enabled_flag", "palette"},
      {pyvtm::NAL_SPS, "sps_ibc_enabled_flag", "IBC"},
      {pyvtm::NAL_SPS, "sps_explicit_scaling_list_enabled_flag", "scaling lists"},
      {pyvtm::NAL_SPS, "sps_subpic_info_present_flag", "subpictures"},
      {pyvtm::NAL_SPS, "sps_entropy_coding_sync_enabled_flag", "wavefront"},
      {pyvtm::NAL_SPS, "sps_gdr_enabled_flag", "gradual decoding refresh"},
      {pyvtm::NAL_SPS, "sps_virtual_boundaries_enabled_flag", "virtual boundaries"},
      {pyvtm::NAL_PPS, "pps_cu_qp_delta_enabled_flag", "cu_qp_delta"},
      {pyvtm::NAL_PPS, "pps_mixed_nalu_types_in_pic_flag", "mixed NAL unit types"},
  };
  for (const Flag &f : flags) {
    const pyvtm::NalUnit *target = nullptr;
    for (const auto &n : nals)
      if (n.type == f.nal_type) target = &n;
    std::vector<pyvtm::SyntaxTraceEntry> trace;
    pyvtm::g_syntax_trace = &trace;
    try {
      if (f.nal_type == pyvtm::NAL_SPS) pyvtm::read_sps(target->rbsp);
      else pyvtm::read_pps(target->rbsp);
    } catch (...) {
    }
    pyvtm::g_syntax_trace = nullptr;
    size_t pos = size_t(-1);
    for (const auto &t : trace)
      if (std::string(t.name) == f.element) { pos = t.bit_pos; break; }
    if (pos == size_t(-1)) { check(false, std::string("element not found in trace: ") + f.element); continue; }
    std::vector<uint8_t> rbsp = target->rbsp;
    rbsp[pos / 8] = uint8_t(rbsp[pos / 8] | (0x80 >> (pos % 8)));
    std::string msg;
    const int r = decode_outcome(with_rbsp(nals, f.nal_type, rbsp), &msg);
    check(r == 1 && msg.find(f.element) != std::string::npos && msg.find(f.expect) != std::string::npos &&
              msg.find("not supported") != std::string::npos,
          std::string("refuses ") + f.element + " (message: " + msg + ")");
  }
}

void test_bad_inputs() {
  pyvtm::EncoderConfig cfg;
  cfg.qp = 30;
  const auto enc = pyvtm::encode_picture(test_picture(72, 40, 3), cfg);
  const std::vector<uint8_t> &bs = enc.bitstream;
  std::string msg;
  check(decode_outcome({}, &msg) == 1, "empty input -> DecodeError");
  check(decode_outcome({0, 0, 0, 0}, &msg) == 1, "zero bytes -> DecodeError");
  check(decode_outcome({1, 2, 3, 4, 5}, &msg) == 1 && msg.find("start code") != std::string::npos,
        "no start code -> DecodeError mentioning the start code");
  // Truncation at every length.
  int bad = 0;
  for (size_t n = 0; n < bs.size(); n++) {
    std::vector<uint8_t> t(bs.begin(), bs.begin() + long(n));
    if (decode_outcome(t) != 1) bad++;
  }
  check(bad == 0, "every truncation -> DecodeError (" + std::to_string(bad) + " did not)");
  // Every single-bit flip: decoded or DecodeError, nothing else.
  bad = 0;
  for (size_t i = 0; i < bs.size() * 8; i++) {
    std::vector<uint8_t> t = bs;
    t[i / 8] ^= uint8_t(0x80 >> (i % 8));
    if (decode_outcome(t) == 2) bad++;
  }
  check(bad == 0, "every bit flip -> success or DecodeError (" + std::to_string(bad) + " other)");
  // Random garbage after a start code.
  std::mt19937 rng(5);
  bad = 0;
  for (int k = 0; k < 2000; k++) {
    std::vector<uint8_t> t = {0, 0, 1};
    const int len = 2 + int(rng() % 200);
    for (int i = 0; i < len; i++) t.push_back(uint8_t(rng()));
    if (decode_outcome(t) == 2) bad++;
  }
  check(bad == 0, "random NAL units -> success or DecodeError");

  const auto nals = pyvtm::split_nal_units(bs.data(), bs.size());
  auto only = [&](std::initializer_list<int> types) {
    std::vector<uint8_t> out;
    for (const auto &n : nals)
      for (int t : types)
        if (n.type == t) pyvtm::append_nal_unit(out, pyvtm::NalUnitType(n.type), n.rbsp);
    return out;
  };
  check(decode_outcome(only({pyvtm::NAL_PPS, pyvtm::NAL_IDR_N_LP}), &msg) == 1 && msg.find("SPS") != std::string::npos,
        "missing SPS -> DecodeError naming the SPS (" + msg + ")");
  check(decode_outcome(only({pyvtm::NAL_SPS, pyvtm::NAL_IDR_N_LP}), &msg) == 1 && msg.find("PPS") != std::string::npos,
        "missing PPS -> DecodeError naming the PPS (" + msg + ")");
  check(decode_outcome(only({pyvtm::NAL_SPS, pyvtm::NAL_PPS}), &msg) == 1 && msg.find("no IDR slice") != std::string::npos,
        "no slice -> DecodeError (" + msg + ")");
  // Two pictures.
  std::vector<uint8_t> two = bs;
  two.insert(two.end(), bs.begin(), bs.end());
  check(decode_outcome(two, &msg) == 1 && msg.find("more than one picture") != std::string::npos,
        "two pictures -> DecodeError (" + msg + ")");
  // The slice as a TRAIL / CRA picture.
  for (int t : {int(pyvtm::NAL_TRAIL), int(pyvtm::NAL_CRA)}) {
    std::vector<uint8_t> out;
    for (const auto &n : nals)
      pyvtm::append_nal_unit(out, pyvtm::NalUnitType(n.type == pyvtm::NAL_IDR_N_LP ? t : n.type), n.rbsp);
    check(decode_outcome(out, &msg) == 1 && msg.find("not supported") != std::string::npos,
          std::string("slice in a ") + pyvtm::nal_unit_type_name(t) + " NAL unit -> DecodeError (" + msg + ")");
  }
  // Absurd picture sizes: refused from the SPS, before allocating.
  for (int side : {16384 + 8, 1 << 19}) {
    pyvtm::SequenceParams s;
    s.pic_width = side;
    s.pic_height = side;
    s.level_idc = 255;
    // As the encoder's SPS: the reused slice header depends on these.
    s.joint_cbcr = cfg.joint_cbcr;
    s.sao = cfg.sao;
    s.dep_quant = cfg.dep_quant;
    s.sign_hiding = cfg.sign_hiding;
    s.alf = cfg.alf;
    s.ccalf = cfg.alf && cfg.ccalf;
    s.transform_skip = cfg.transform_skip || cfg.bdpcm;  // sh_ts_residual_coding_disabled_flag
    s.bdpcm = cfg.bdpcm;
    pyvtm::SliceParams sl;
    std::vector<uint8_t> out = nal(pyvtm::NAL_SPS, pyvtm::write_sps(s));
    const auto pps = nal(pyvtm::NAL_PPS, pyvtm::write_pps(s, sl));
    out.insert(out.end(), pps.begin(), pps.end());
    for (const auto &n : nals)
      if (n.type == pyvtm::NAL_IDR_N_LP) pyvtm::append_nal_unit(out, pyvtm::NAL_IDR_N_LP, n.rbsp);
    check(decode_outcome(out, &msg) == 1 && msg.find("exceeds the decoder limit") != std::string::npos,
          std::to_string(side) + "^2 picture -> DecodeError before allocation (" + msg + ")");
  }
}

void test_md5() {
  pyvtm::Md5 m;
  m.update("abc", 3);
  check(m.hex() == "900150983cd24fb0d6963f7d28e17f72", "md5(abc)");
}

}  // namespace

int main() {
  test_md5();
  test_roundtrip_matrix();
  test_param_set_roundtrip();
  test_refusals();
  test_bad_inputs();
  std::printf("%d failure(s)\n", g_failures);
  return g_failures == 0 ? 0 : 1;
}
