// Unit tests of the chroma QP mapping table (7.4.3.4, 8.7.1) and of joint
// Cb-Cr residual coding (7.3.11.10, 7.4.12.12 TuCResMode, 8.7.2):
//  - ChromaQpTable of the reference encoder's SDR table and of other pivot
//    sets against values computed by hand from the 7.4.3.4 equations;
//  - Qp'C with the offsets after the table (8.7.1);
//  - SPS / PPS / slice header write-read round trips with the new syntax;
//  - the joint residual reconstruction for all three TuCResModes and both
//    signs against a direct transcription of the 8.7.2 equations;
//  - encode / decode round trips with the tool forced on (EncoderTestKnobs):
//    decoder output == encoder reconstruction, records equal, and the
//    decoder counts the forced TuCResModes.
// Plain executable: exit 0 = pass.
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "api.h"
#include "bitstream.h"
#include "codec_internal.h"
#include "coding_tree.h"
#include "param_sets.h"
#include "recon.h"
#include "tables.h"
#include "test_support.h"

namespace {

using test_support::check;
using test_support::g_failures;
using test_support::same_picture;
using test_support::test_picture;

constexpr int kQpBd = 12;  // 10-bit

std::vector<int> table_of(const pyvtm::ChromaQpMapping &m, int i, bool *ok = nullptr) {
  std::vector<int> t(64 + kQpBd, -99);
  const bool r = pyvtm::derive_chroma_qp_table(m, i, kQpBd, t.data());
  if (ok) *ok = r;
  return t;
}
int at(const std::vector<int> &t, int qpi) { return t[size_t(qpi + kQpBd)]; }

// Every entry of a derived table against the hand-computed one.
void check_table(const std::vector<int> &t, const std::vector<int> &expect, const std::string &name) {
  for (int q = -kQpBd; q <= 63; q++)
    check(at(t, q) == expect[size_t(q + kQpBd)], name + " ChromaQpTable[" + std::to_string(q) + "] = " +
                                                    std::to_string(at(t, q)) + ", expected " +
                                                    std::to_string(expect[size_t(q + kQpBd)]));
}

void test_chroma_qp_tables() {
  // Identity (the default mapping).
  {
    const std::vector<int> t = table_of(pyvtm::ChromaQpMapping(), 0);
    bool id = true;
    for (int q = -kQpBd; q <= 63; q++) id &= at(t, q) == q;
    check(id, "default mapping is the identity");
  }
  // The reference encoder's SDR table: pivots (17,17) (27,29) (32,34) (44,41).
  // By hand (7.4.3.4): below 17 slope 1 down to -12; 17..27: 17 + (12m + 5) / 10;
  // 27..32: 29 + (5m + 2) / 5; 32..44: 34 + (7m + 6) / 12; above 44 slope 1.
  {
    const pyvtm::ChromaQpMapping m = pyvtm::vtm_sdr_chroma_qp_mapping();
    check(m.same_table && m.start_minus26[0] == -9 && m.delta_qp_in_minus1[0] == std::vector<int>({9, 4, 11}) &&
              m.delta_qp_diff_val[0] == std::vector<int>({9 ^ 12, 4 ^ 5, 11 ^ 7}),
          "SDR mapping syntax values");
    bool ok = false;
    const std::vector<int> t = table_of(m, 0, &ok);
    check(ok, "SDR table derives");
    std::vector<int> expect(64 + kQpBd);
    for (int q = -kQpBd; q <= 17; q++) expect[size_t(q + kQpBd)] = q;
    const int seg0[10] = {18, 19, 21, 22, 23, 24, 25, 27, 28, 29};
    const int seg1[5] = {30, 31, 32, 33, 34};
    const int seg2[12] = {35, 35, 36, 36, 37, 38, 38, 39, 39, 40, 40, 41};
    for (int i = 0; i < 10; i++) expect[size_t(18 + i + kQpBd)] = seg0[i];
    for (int i = 0; i < 5; i++) expect[size_t(28 + i + kQpBd)] = seg1[i];
    for (int i = 0; i < 12; i++) expect[size_t(33 + i + kQpBd)] = seg2[i];
    for (int q = 45; q <= 63; q++) expect[size_t(q + kQpBd)] = 41 + (q - 44);
    check_table(t, expect, "SDR");
    // 8.7.1: the offsets apply after the table, then the clip.
    check(pyvtm::chroma_qp_prime(t.data(), 30, 0, kQpBd) == 32 + kQpBd, "Qp'C at QpY 30");
    check(pyvtm::chroma_qp_prime(t.data(), 30, 3, kQpBd) == 35 + kQpBd, "Qp'C = table[QpY] + offset (not table[QpY + offset])");
    check(pyvtm::chroma_qp_prime(t.data(), 60, 12, kQpBd) == 63 + kQpBd, "Qp'C clipped to 63");
    check(pyvtm::chroma_qp_prime(t.data(), -12, -12, kQpBd) == 0, "Qp'C clipped to -QpBdOffset");
    check(pyvtm::chroma_qp_prime(t.data(), 70, 0, kQpBd) == 60 + kQpBd, "QpY clipped to 63 before the table");
  }
  // VVenC's table: pivots (17,17) (22,23) (34,35) (42,39). By hand
  // (7.4.3.4): 17..22: 17 + (6m + 2) / 5; 22..34: 23 + m; 34..42:
  // 35 + (4m + 4) / 8; above 42 slope 1.
  {
    const pyvtm::ChromaQpMapping m = pyvtm::vvenc_chroma_qp_mapping();
    check(m.same_table && m.start_minus26[0] == -9 && m.delta_qp_in_minus1[0] == std::vector<int>({4, 11, 7}) &&
              m.delta_qp_diff_val[0] == std::vector<int>({4 ^ 6, 11 ^ 12, 7 ^ 4}),
          "VVenC mapping syntax values");
    bool ok = false;
    const std::vector<int> t = table_of(m, 0, &ok);
    check(ok, "VVenC table derives");
    std::vector<int> expect(64 + kQpBd);
    for (int q = -kQpBd; q <= 17; q++) expect[size_t(q + kQpBd)] = q;
    const int seg0[5] = {18, 19, 21, 22, 23};
    const int seg2[8] = {36, 36, 37, 37, 38, 38, 39, 39};
    for (int i = 0; i < 5; i++) expect[size_t(18 + i + kQpBd)] = seg0[i];
    for (int q = 23; q <= 34; q++) expect[size_t(q + kQpBd)] = q + 1;
    for (int i = 0; i < 8; i++) expect[size_t(35 + i + kQpBd)] = seg2[i];
    for (int q = 43; q <= 63; q++) expect[size_t(q + kQpBd)] = 39 + (q - 42);
    check_table(t, expect, "VVenC");
    check(pyvtm::chroma_qp_prime(t.data(), 27, 0, kQpBd) == 28 + kQpBd, "VVenC Qp'C at QpY 27");
    check(pyvtm::chroma_qp_prime(t.data(), 37, 0, kQpBd) == 37 + kQpBd, "VVenC Qp'C at QpY 37");
  }
  // A table starting below zero with a flat and a steep segment:
  // pivots (-5,-5) (3,-3) (6,10): -5 + (2m + 4) / 8 then -3 + (13m + 1) / 3.
  {
    const int in[3] = {-5, 3, 6}, out[3] = {-5, -3, 10};
    const std::vector<int> t = table_of(pyvtm::chroma_qp_mapping_from_pivots(in, out, 3), 1);
    const int seg0[8] = {-5, -4, -4, -4, -4, -3, -3, -3};  // m = 1..8: (2m + 4) / 8 = 0, 1, 1, 1, 1, 2, 2, 2
    const int seg1[3] = {1, 6, 10};                        // (13m + 1) / 3 = 4, 9, 13
    bool ok = at(t, -12) == -12 && at(t, -6) == -6 && at(t, -5) == -5;
    for (int m = 1; m <= 8; m++) ok &= at(t, -5 + m) == seg0[m - 1];
    for (int m = 1; m <= 3; m++) ok &= at(t, 3 + m) == seg1[m - 1];
    for (int q = 7; q <= 63; q++) ok &= at(t, q) == std::min(63, 10 + q - 6);
    check(ok, "table with a negative start, a flat and a steep segment");
  }
  // Pivots beyond 63 are refused.
  {
    const int in[2] = {40, 70}, out[2] = {40, 50};
    bool ok = true;
    table_of(pyvtm::chroma_qp_mapping_from_pivots(in, out, 2), 0, &ok);
    check(!ok, "qpInVal above 63 is refused");
  }
}

void test_param_sets() {
  pyvtm::SequenceParams s;
  s.pic_width = 64;
  s.pic_height = 48;
  s.level_idc = pyvtm::level_idc_for(64, 48);
  s.joint_cbcr = true;
  s.chroma_qp = pyvtm::vtm_sdr_chroma_qp_mapping();
  const std::vector<uint8_t> sps = pyvtm::write_sps(s);
  const pyvtm::SpsInfo back = pyvtm::read_sps(sps);
  check(back.seq.joint_cbcr && back.seq.chroma_qp == s.chroma_qp, "SPS joint flag and mapping read back");
  check(pyvtm::write_sps(back.seq) == sps, "write_sps(read_sps(x)) == x with the SDR table and joint Cb-Cr");
  check(back.chroma_qp(2, 22) == 23 && back.chroma_qp(1, 44) == 41, "same table for Cr and CbCr");
  // Three separate tables (sps_same_qp_table_for_chroma_flag = 0 with joint Cb-Cr).
  {
    pyvtm::SequenceParams s3 = s;
    const int in[2] = {20, 40}, out[2] = {20, 35};
    const pyvtm::ChromaQpMapping other = pyvtm::chroma_qp_mapping_from_pivots(in, out, 2);
    s3.chroma_qp.same_table = false;
    s3.chroma_qp.start_minus26[2] = other.start_minus26[2];
    s3.chroma_qp.delta_qp_in_minus1[2] = other.delta_qp_in_minus1[2];
    s3.chroma_qp.delta_qp_diff_val[2] = other.delta_qp_diff_val[2];
    const std::vector<uint8_t> b3 = pyvtm::write_sps(s3);
    const pyvtm::SpsInfo r3 = pyvtm::read_sps(b3);
    check(pyvtm::write_sps(r3.seq) == b3, "SPS round trip with three chroma QP tables");
    check(r3.chroma_qp(0, 30) == 32 && r3.chroma_qp(2, 40) == 35 && r3.chroma_qp(2, 30) == 20 + (15 * 10 + 10) / 20,
          "the third table is the joint Cb-Cr one");
  }
  pyvtm::SliceParams sl;
  sl.slice_qp = 37;
  sl.joint_cbcr_qp_offset = -1;
  sl.joint_cbcr_sign = true;
  const std::vector<uint8_t> pps = pyvtm::write_pps(s, sl);
  const pyvtm::PpsInfo pp = pyvtm::read_pps(pps);
  check(pp.joint_cbcr_qp_offset == -1 && pp.cb_qp_offset == 0, "pps_joint_cbcr_qp_offset_value read back");
  check(pyvtm::write_pps(s, pp.slice) == pps, "write_pps(read_pps(x)) == x with a joint Cb-Cr offset");
  // The slice header carries ph_joint_cbcr_sign_flag.
  for (int sign = 0; sign < 2; sign++) {
    sl.joint_cbcr_sign = sign != 0;
    pyvtm::BitWriter bw;
    pyvtm::write_slice_header(bw, s, sl);
    struct Ctx { pyvtm::SpsInfo sps; pyvtm::PpsInfo pps; } ctx{back, pp};
    pyvtm::ParamSetLookup lk;
    lk.ctx = &ctx;
    lk.pps = [](void *c, int) -> const pyvtm::PpsInfo * { return &static_cast<Ctx *>(c)->pps; };
    lk.sps = [](void *c, int) -> const pyvtm::SpsInfo * { return &static_cast<Ctx *>(c)->sps; };
    const pyvtm::SliceHeaderInfo sh = pyvtm::read_slice_header(bw.bytes(), pyvtm::NAL_IDR_N_LP, nullptr, lk);
    check(sh.ph.joint_cbcr_sign == (sign != 0) && sh.slice_qp == 37, "ph_joint_cbcr_sign_flag = " + std::to_string(sign));
  }
}

// 8.7.2 transcribed: the other component is CSign * res, halved (rounding
// towards minus infinity) for TuCResMode 1 and 3.
void direct_joint(int r, int mode, int c_sign, int &cb, int &cr) {
  const int other = mode == 2 ? c_sign * r : int(std::floor(c_sign * r / 2.0));
  if (mode == 3) { cr = r; cb = other; }
  else { cb = r; cr = other; }
}

void test_joint_residuals() {
  std::mt19937 rng{11};
  for (int mode = 1; mode <= 3; mode++)
    for (int c_sign = -1; c_sign <= 1; c_sign += 2) {
      const int n = 64;
      std::vector<int32_t> res(n), cb(n), cr(n);
      for (int i = 0; i < n; i++) res[size_t(i)] = int(rng() % 2047) - 1023;
      res[0] = -1; res[1] = 1; res[2] = -3; res[3] = 0;
      pyvtm::joint_cbcr_residuals(res.data(), n, mode, c_sign, cb.data(), cr.data());
      bool ok = true;
      for (int i = 0; i < n; i++) {
        int ecb, ecr;
        direct_joint(res[size_t(i)], mode, c_sign, ecb, ecr);
        ok &= cb[size_t(i)] == ecb && cr[size_t(i)] == ecr;
      }
      check(ok, "joint residuals, TuCResMode " + std::to_string(mode) + ", CSign " + std::to_string(c_sign));
    }
  // reconstruct_joint_cbcr == the coded TB reconstructed alone + the derived
  // residual added to the other prediction (clipped).
  pyvtm::init_tables();
  for (int mode = 1; mode <= 3; mode++)
    for (int sign = 0; sign < 2; sign++) {
      const int log2w = 3, log2h = 2, w = 8, h = 4, n = w * h, qp = 30;
      std::vector<int32_t> levels(n, 0);
      for (int i = 0; i < 6; i++) levels[size_t(rng() % n)] = int(rng() % 41) - 20;
      levels[0] = 25;
      std::vector<pyvtm::Pel> pred_cb(n), pred_cr(n);
      for (int i = 0; i < n; i++) {
        pred_cb[size_t(i)] = pyvtm::Pel(rng() % 1024);
        pred_cr[size_t(i)] = pyvtm::Pel(i % 3 ? 1020 : 3);  // near the range ends: clipping
      }
      pyvtm::ReconPicture a, b;
      a.init(32, 32, 10, 7);
      b.init(32, 32, 10, 7);
      pyvtm::TbResidualMode rm;
      rm.joint_cbcr = mode;
      rm.joint_cbcr_sign = sign;
      pyvtm::reconstruct_joint_cbcr(a, 4, 8, log2w, log2h, pred_cb.data(), pred_cr.data(), levels.data(), qp, rm);
      std::vector<int32_t> res(n);
      pyvtm::tb_residual(levels.data(), log2w, log2h, qp, 10, pyvtm::TbResidualMode(), res.data());
      const int coded = mode == 3 ? 2 : 1;
      pyvtm::reconstruct_tb(b, coded, 4, 8, log2w, log2h, coded == 1 ? pred_cb.data() : pred_cr.data(), levels.data(), qp);
      bool ok = true, any_clip = false;
      for (int j = 0; j < h; j++)
        for (int i = 0; i < w; i++) {
          int ecb, ecr;
          direct_joint(res[size_t(j * w + i)], mode, 1 - 2 * sign, ecb, ecr);
          const int other = coded == 1 ? ecr : ecb;
          const int p = coded == 1 ? pred_cr[size_t(j * w + i)] : pred_cb[size_t(j * w + i)];
          const int v = std::min(1023, std::max(0, p + other));
          any_clip |= v != p + other;
          ok &= a.plane[3 - coded].at(4 + i, 8 + j) == v;
          ok &= a.plane[coded].at(4 + i, 8 + j) == b.plane[coded].at(4 + i, 8 + j);
        }
      check(ok, "reconstruct_joint_cbcr, TuCResMode " + std::to_string(mode) + ", sign " + std::to_string(sign));
      if (mode == 2) check(any_clip || coded != 1, "the mode-2 case exercises clipping");
    }
}

int count_joint(const pyvtm::DecodeResult &d, int mode) { return d.syntax.joint_cbcr[mode - 1]; }

void test_roundtrips() {
  // table: EncoderConfig::chroma_qp_table (0 identity, 1 VTM's, 2 VVenC's, -1 the preset's).
  struct Case { int w, h, qp, force, sign, table; bool dual; int offset; int preset; };
  const Case cases[] = {
      {96, 64, 32, 1, 0, 1, true, 0, 1},   {96, 64, 27, 2, 1, 1, true, 0, 1},
      {96, 64, 27, 3, 0, 0, true, 0, 1},   {96, 64, 27, 4, 1, 1, false, 0, 1},
      {77, 51, 22, 4, 0, 1, true, -4, 0},  {64, 48, 22, 4, 1, 1, false, 5, 2}, {48, 40, 22, 4, 0, 1, true, -2, 2},
      {96, 64, 27, 4, 0, 2, true, 0, 1},   {96, 64, 22, 4, 1, 2, false, 3, 0},
      {136, 72, 32, 0, -1, 1, true, 0, 1},   // the encoder's own decisions
      {136, 72, 32, 0, -1, -1, true, 0, 1},  // ... with the medium preset's table (VVenC's)
  };
  for (const Case &c : cases) {
    pyvtm::EncoderConfig cfg;
    test_support::without_intra_tools_and_dq(cfg);
    cfg.qp = c.qp;
    cfg.joint_cbcr = true;
    cfg.chroma_qp_table = c.table;
    cfg.dual_tree = c.dual;
    cfg.chroma_qp_offset = c.offset;
    cfg.preset = c.preset;
    pyvtm::g_encoder_test_knobs.force_joint_cbcr = c.force;
    pyvtm::g_encoder_test_knobs.joint_cbcr_sign = c.sign;
    const pyvtm::Picture src = test_picture(c.w, c.h, c.qp + c.force);
    std::vector<pyvtm::CtuRecord> er, dr;
    const pyvtm::EncodeResult e = pyvtm::encode_picture_records(src, cfg, pyvtm::Hooks{}, &er);
    pyvtm::g_encoder_test_knobs = pyvtm::EncoderTestKnobs();
    const pyvtm::DecodeResult d =
        pyvtm::decode_bitstream_records(e.bitstream.data(), e.bitstream.size(), pyvtm::DecodeOptions(), pyvtm::Hooks{}, &dr);
    const std::string name = std::to_string(c.w) + "x" + std::to_string(c.h) + " qp " + std::to_string(c.qp) +
                             " force " + std::to_string(c.force) + " sign " + std::to_string(c.sign);
    check(same_picture(e.recon, d.picture), name + ": decoder output == encoder reconstruction");
    bool rec_ok = er.size() == dr.size();
    for (size_t i = 0; rec_ok && i < er.size(); i++) rec_ok = pyvtm::compare_records(er[i], dr[i]).empty();
    check(rec_ok, name + ": records equal");
    int joint_tus = 0;
    for (const pyvtm::CtuRecord &r : er)
      for (const pyvtm::TransformUnit &tu : r.tus) joint_tus += tu.joint_cbcr;
    const int counted = count_joint(d, 1) + count_joint(d, 2) + count_joint(d, 3);
    check(counted == joint_tus, name + ": decoder counts the encoder's joint TUs");
    if (c.force >= 1 && c.force <= 3) check(count_joint(d, c.force) > 0 && counted == count_joint(d, c.force), name + ": forced mode used");
    if (c.force == 4)
      check(count_joint(d, 1) > 0 && count_joint(d, 2) > 0 && count_joint(d, 3) > 0,
            name + ": all modes used (" + std::to_string(count_joint(d, 1)) + ", " + std::to_string(count_joint(d, 2)) +
                ", " + std::to_string(count_joint(d, 3)) + ")");
  }
  // Without the tool: no joint TU and the SPS flag off.
  {
    pyvtm::EncoderConfig cfg;
    const pyvtm::EncodeResult e = pyvtm::encode_picture(test_picture(64, 32, 5), cfg);
    const pyvtm::DecodeResult d = pyvtm::decode_bitstream(e.bitstream.data(), e.bitstream.size());
    check(count_joint(d, 1) + count_joint(d, 2) + count_joint(d, 3) == 0, "no joint TUs without the tool");
  }
}

}  // namespace

int main() {
  test_chroma_qp_tables();
  test_param_sets();
  test_joint_residuals();
  test_roundtrips();
  std::printf("%d failure(s)\n", g_failures);
  return g_failures == 0 ? 0 : 1;
}
