// LMCS (7.3.2.19, 7.4.3.19, 8.7.5.2, 8.7.5.3, 8.8.2.2 / 8.8.2.3):
//  (1) lmcs_data() APS write -> read round trips for random models, and the
//      APS type dispatch against the ALF APS reader;
//  (2) the derivation against hand-computed pivots, scale coefficients and
//      mapped values; the codeword-sum and range checks;
//  (3) mapping properties: monotonic maps, inverse(forward(x)) == x where
//      every bin widens, within one step where bins narrow;
//  (4) chroma residual scaling and varScale (VPDU neighbours, picture edges,
//      the default without neighbours) against hand values;
//  (5) the encoder's models keep the decoder-agreement constraints of
//      lmcs.cpp, and refuse pictures using the outer bins;
//  (6) encode -> decode with LMCS (forced model, with and without chroma
//      scaling, the encoder's own model): decoded picture == encoder
//      reconstruction, the lmcs syntax count set, and the mapping changes
//      the coding.
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "alf.h"
#include "bitstream.h"
#include "codec_internal.h"
#include "lmcs.h"
#include "test_support.h"

using namespace pyvtm;
using test_support::check;

namespace {

LmcsApsData random_aps(std::mt19937 &rng) {
  LmcsApsData a;
  a.aps_id = int(rng() % 4);
  a.chroma_present = rng() % 3 != 0;
  a.min_bin_idx = int(rng() % 8);
  a.delta_max_bin_idx = int(rng() % (16 - a.min_bin_idx));
  a.delta_cw_prec_minus1 = int(rng() % 9);
  const int lim = 1 << (a.delta_cw_prec_minus1 + 1);
  for (int i = a.min_bin_idx; i <= a.max_bin_idx(); i++) a.delta_cw[i] = int(rng() % (2 * lim - 1)) - (lim - 1);
  if (a.chroma_present) a.delta_crs = int(rng() % 15) - 7;
  return a;
}

void test_aps_round_trip() {
  std::mt19937 rng(7);
  for (int t = 0; t < 300; t++) {
    const LmcsApsData a = random_aps(rng);
    const std::vector<uint8_t> rbsp = write_lmcs_aps_rbsp(a);
    LmcsApsData b;
    check(read_lmcs_aps_rbsp(rbsp, b), "LMCS APS read");
    check(a == b, "LMCS APS round trip " + std::to_string(t));
    AlfApsData alf;
    check(!read_alf_aps_rbsp(rbsp, alf), "the ALF reader leaves an LMCS APS");
  }
  AlfApsData alf;
  alf.luma_signal = true;
  LmcsApsData l;
  check(!read_lmcs_aps_rbsp(write_alf_aps_rbsp(alf), l), "the LMCS reader leaves an ALF APS");
}

// Bins 1..7 widened to 72 codewords, 8..14 narrowed to 56 (sum 896).
LmcsApsData hand_model() {
  LmcsApsData a;
  a.min_bin_idx = 1;
  a.delta_max_bin_idx = 1;
  a.delta_cw_prec_minus1 = 3;
  for (int i = 1; i <= 14; i++) a.delta_cw[i] = i <= 7 ? 8 : -8;
  return a;
}

void test_derivation() {
  const LmcsModel m = lmcs_derive(hand_model(), 10);
  check(m.org_cw == 64 && m.min_bin == 1 && m.max_bin == 14, "OrgCW, bin range");
  check(m.cw[0] == 0 && m.cw[1] == 72 && m.cw[8] == 56 && m.cw[15] == 0, "lmcsCW");
  check(m.pivot[0] == 0 && m.pivot[1] == 0 && m.pivot[2] == 72 && m.pivot[8] == 504 && m.pivot[9] == 560 &&
            m.pivot[15] == 896 && m.pivot[16] == 896,
        "LmcsPivot");
  check(m.scale_coeff[1] == 2304 && m.scale_coeff[8] == 1792 && m.scale_coeff[0] == 0, "ScaleCoeff");
  check(m.inv_scale_coeff[1] == 1820 && m.inv_scale_coeff[8] == 2340 && m.inv_scale_coeff[15] == 0, "InvScaleCoeff");
  check(m.chroma_scale_coeff[1] == 1820 && m.chroma_scale_coeff[0] == 2048, "ChromaScaleCoeff");
  // FwdMap(100) = 0 + ((2304 * 36 + 1024) >> 11) = 41; InvMap(41) = 64 + ((1820 * 41 + 1024) >> 11) = 100.
  check(m.forward(100) == 41 && m.inverse(41) == 100, "hand-mapped sample");
  check(m.forward(10) == 0 && m.forward(1023) == 896, "samples of the empty bins");
  // 8.8.2.3: below LmcsPivot[min + 1] -> min; from LmcsPivot[max] on -> max.
  check(m.pwl_idx_inv(0) == 1 && m.pwl_idx_inv(71) == 1 && m.pwl_idx_inv(72) == 2 && m.pwl_idx_inv(1000) == 14 &&
            m.pwl_idx_inv(840) == 14 && m.pwl_idx_inv(839) == 13,
        "idxYInv");
  // InvMap of the top value extrapolates bin 14: 896 + ... clipped.
  check(m.inverse(1023) == std::min(1023, 896 + ((2340 * (1023 - 840) + 1024) >> 11)), "InvMap past the last pivot");
  // Semantics checks.
  LmcsApsData bad;
  bad.min_bin_idx = 0;
  bad.delta_max_bin_idx = 0;  // 16 x 64 = 1024 codewords: too many
  bool threw = false;
  try { lmcs_derive(bad, 10); } catch (const DecodeError &) { threw = true; }
  check(threw, "codeword sum above 1023 refused");
  bad.delta_cw[3] = -60;  // lmcsCW = 4 < OrgCW >> 3
  bad.delta_cw[15] = -1;
  threw = false;
  try { lmcs_derive(bad, 10); } catch (const DecodeError &) { threw = true; }
  check(threw, "lmcsCW below OrgCW / 8 refused");
  // Identity up to the top bin: 15 x 64 + 63.
  LmcsApsData id;
  id.delta_cw_prec_minus1 = 0;
  id.delta_cw[15] = -1;
  const LmcsModel mi = lmcs_derive(id, 10);
  bool ident = true;
  for (int v = 0; v < 960; v++) ident &= mi.forward(v) == v && mi.inverse(v) == v;
  check(ident, "identity model maps x to x");
}

void test_map_properties() {
  std::mt19937 rng(11);
  int models = 0;
  for (int t = 0; t < 400 && models < 60; t++) {
    LmcsApsData a;
    a.min_bin_idx = 1 + int(rng() % 3);
    a.delta_max_bin_idx = a.min_bin_idx;
    a.delta_cw_prec_minus1 = 5;
    const bool widen = t % 2 == 0;
    int sum = 0;
    for (int i = a.min_bin_idx; i <= a.max_bin_idx(); i++) {
      a.delta_cw[i] = widen ? int(rng() % 20) : int(rng() % 40) - 24;
      sum += 64 + a.delta_cw[i];
    }
    if (sum > 1023) continue;
    models++;
    const LmcsModel m = lmcs_derive(a, 10);
    bool mono = true, round = true;
    for (int v = 1; v < 1024; v++) mono &= m.forward(v) >= m.forward(v - 1) && m.inverse(v) >= m.inverse(v - 1);
    for (int v = a.min_bin_idx * 64; v < (a.max_bin_idx() + 1) * 64; v++) {
      const int back = m.inverse(m.forward(v)), bin = v >> 6;
      const int tol = m.cw[bin] >= 64 ? 0 : (64 + m.cw[bin] - 1) / m.cw[bin];
      round &= std::abs(back - v) <= tol;
    }
    check(mono, "maps are monotonic (model " + std::to_string(t) + ")");
    check(round, "inverse(forward(x)) ~ x (model " + std::to_string(t) + ")");
  }
  check(models >= 30, "enough random models");
}

void test_chroma_scaling() {
  int32_t r[6] = {100, -100, 0, 5000, -5000, 1};
  lmcs_scale_chroma_residual(r, 6, 1820, 10);
  // (100 * 1820 + 1024) >> 11 = 89; 5000 clips to 1023: (1023 * 1820 + 1024) >> 11 = 909; -5000 to -1024: -910.
  check(r[0] == 89 && r[1] == -89 && r[2] == 0 && r[3] == 909 && r[4] == -910 && r[5] == 1, "residual scaling");
  int32_t u[3] = {89, -89, 7};
  lmcs_unscale_chroma_residual(u, 3, 1820);
  check(u[0] == 100 && u[1] == -100 && u[2] == 8, "encoder unscaling");

  const LmcsModel m = lmcs_derive(hand_model(), 10);
  Plane luma;
  luma.allocate(136, 72);
  for (int y = 0; y < 72; y++)
    for (int x = 0; x < 136; x++) luma.at(x, y) = Pel(x < 64 ? 300 : (y < 64 ? 100 : 700));
  // No neighbours: 512 -> bin 7 (pivot 432..504) ... 512 >= pivot[8] = 504: bin 8.
  check(lmcs_chroma_var_scale(m, luma, 8, 8, 136, 72, 7) == m.chroma_scale_coeff[8], "varScale without neighbours");
  // VPDU (64, 0): left column x = 63 (300), no top: bin 5 (288..360).
  check(lmcs_chroma_var_scale(m, luma, 96, 32, 136, 72, 7) == m.chroma_scale_coeff[5], "varScale, left only");
  // VPDU (64, 64): left 64 samples of column 63 rows 64..127, clamped to row 71 (300);
  // top row 63 from x = 64 .. 127 (100): average 200 -> bin 3 (144..216).
  check(lmcs_chroma_var_scale(m, luma, 70, 66, 136, 72, 7) == m.chroma_scale_coeff[3], "varScale, left and top");
  // VPDU (128, 64): top row x = 128..191 clamped to 135 (100), left column 127 rows 64.. (700): 400 -> bin 6.
  check(lmcs_chroma_var_scale(m, luma, 130, 64, 136, 72, 7) == m.chroma_scale_coeff[6], "varScale at the right edge");
}

// The constraints of lmcs.cpp's encoder models, and 7.4.3.19's pivot rule.
bool portable_model(const LmcsApsData &a, std::string &why) {
  const LmcsModel m = lmcs_derive(a, 10);
  int sum = 0;
  for (int i = 0; i < 16; i++) sum += m.cw[i];
  if (a.delta_max_bin_idx != a.min_bin_idx) { why = "bins not symmetric"; return false; }
  if (sum != 1023) { why = "codewords sum to " + std::to_string(sum); return false; }
  if (m.max_bin < 15 && m.chroma_scale_coeff[m.max_bin] != 2048) { why = "top bin chroma scale"; return false; }
  for (int i = m.min_bin; i <= m.max_bin; i++)
    if (m.pivot[i] % 32 && (m.pivot[i] >> 5) == (m.pivot[i + 1] >> 5)) { why = "pivot rule"; return false; }
  return true;
}

void test_encoder_models() {
  std::string why;
  for (int d : {8, 20, -12}) {
    for (int crs : {0, 3, -5}) {
      const LmcsApsData a = lmcs_test_model(d, crs);
      check(a.min_bin_idx >= 1, "test model: bins 1..14");
      check(portable_model(a, why), "test model " + std::to_string(d) + "/" + std::to_string(crs) + ": " + why);
    }
  }
  Plane p;
  p.allocate(64, 48);
  std::mt19937 rng(3);
  for (int y = 0; y < 48; y++)
    for (int x = 0; x < 64; x++) p.at(x, y) = Pel(100 + (x * 9 + y * 5) % 700 + int(rng() % (x < 32 ? 40 : 4)));
  LmcsApsData a;
  check(lmcs_choose_model(p, 64, 48, 10, a), "model for a mid-range picture");
  check(a.min_bin_idx == 1, "video-level range for a mid-range picture");
  check(portable_model(a, why), "mid-range model: " + why);
  // Full range in use (more than 0.5 % of the samples in bins 0 and 15): all bins.
  for (int x = 0; x < 64; x++) p.at(x, 0) = 0, p.at(x, 47) = 1023;
  check(lmcs_choose_model(p, 64, 48, 10, a), "model for a full-range picture");
  check(a.min_bin_idx == 0 && a.max_bin_idx() == 15, "all bins for a full-range picture");
  check(portable_model(a, why), "full-range model: " + why);
}

void test_encode_decode() {
  const Picture src = test_support::test_picture(72, 56, 5);
  for (int variant = 0; variant < 4; variant++) {
    EncoderConfig cfg;
    cfg.qp = 30;
    cfg.lmcs = 1;
    cfg.preset = variant == 3 ? 0 : 1;
    g_encoder_test_knobs = EncoderTestKnobs();
    if (variant < 3) {
      g_encoder_test_knobs.force_lmcs_model = variant == 2 ? -16 : 24;
      g_encoder_test_knobs.lmcs_test_crs = variant == 1 ? 4 : 0;
      g_encoder_test_knobs.lmcs_chroma_scaling = variant == 1 ? 0 : 1;
    }
    Picture mid = src;
    for (int c = 0; c < 3; c++)
      for (auto &v : mid.plane[c]) v = uint16_t(100 + v * 3 / 4);  // inside bins 1..14
    const EncodeResult r = encode_picture(variant == 3 ? mid : src, cfg);
    g_encoder_test_knobs = EncoderTestKnobs();
    const DecodeResult d = decode_bitstream(r.bitstream.data(), r.bitstream.size());
    const std::string v = " (variant " + std::to_string(variant) + ")";
    check(test_support::same_picture(d.picture, r.recon), "decoded == encoder reconstruction" + v);
    check(d.syntax.lmcs == 1, "lmcs syntax count" + v);
    check(d.syntax.lmcs_chroma_scaling == (variant == 1 ? 0 : 1), "chroma scaling count" + v);
    EncoderConfig off = cfg;
    off.lmcs = 0;
    const EncodeResult r0 = encode_picture(variant == 3 ? mid : src, off);
    check(r0.bitstream != r.bitstream, "LMCS changes the stream" + v);
    const DecodeResult d0 = decode_bitstream(r0.bitstream.data(), r0.bitstream.size());
    check(d0.syntax.lmcs == 0, "no lmcs count with lmcs off" + v);
  }
}

// An LMCS stream without its APS is refused; bit flips of an LMCS stream
// decode or raise DecodeError, nothing else.
void test_robustness() {
  g_encoder_test_knobs = EncoderTestKnobs();
  g_encoder_test_knobs.force_lmcs_model = 20;
  EncoderConfig cfg;
  cfg.qp = 32;
  cfg.lmcs = 1;
  cfg.preset = 0;
  const EncodeResult r = encode_picture(test_support::test_picture(40, 24, 9), cfg);
  g_encoder_test_knobs = EncoderTestKnobs();
  const auto nals = split_nal_units(r.bitstream.data(), r.bitstream.size());
  std::vector<uint8_t> no_aps;
  for (const auto &n : nals)
    if (n.type != NAL_PREFIX_APS) append_nal_unit(no_aps, NalUnitType(n.type), n.rbsp);
  std::string msg;
  try {
    decode_bitstream(no_aps.data(), no_aps.size());
  } catch (const DecodeError &e) {
    msg = e.what();
  }
  check(msg.find("ph_lmcs_aps_id") != std::string::npos, "missing LMCS APS refused (" + msg + ")");
  int bad = 0;
  for (size_t i = 0; i < r.bitstream.size() * 8; i++) {
    std::vector<uint8_t> t = r.bitstream;
    t[i / 8] ^= uint8_t(0x80 >> (i % 8));
    try {
      decode_bitstream(t.data(), t.size());
    } catch (const DecodeError &) {
    } catch (...) {
      bad++;
    }
  }
  check(bad == 0, "every bit flip of an LMCS stream -> success or DecodeError (" + std::to_string(bad) + " other)");
}

}  // namespace

int main() {
  test_aps_round_trip();
  test_derivation();
  test_map_properties();
  test_chroma_scaling();
  test_encoder_models();
  test_encode_decode();
  test_robustness();
  if (test_support::g_failures) {
    std::printf("%d failure(s)\n", test_support::g_failures);
    return 1;
  }
  std::printf("test_lmcs: all passed\n");
  return 0;
}
