// Unit tests of MTS (DST-VII / DCT-VIII, implicit and explicit mts_idx) and
// LFNST (cpp/transform, transform_tables, transform_tools, the walker):
//  (1) the DST-VII / DCT-VIII matrices are orthogonal within rounding, with
//      the DCT-II row norm, and forward + quantise + dequantise + inverse
//      recovers a residual for every type pair and size;
//  (2) the LFNST kernels: rows orthogonal within rounding, forward(inverse(u))
//      returns u within rounding for every set / index / shape / transposition,
//      the set selection of 8.7.4.2 at its boundaries;
//  (3) lfnst_idx / mts_idx CABAC round trips and their 7.3.11.5 conditions
//      from residual_coding()'s variables;
//  (4) encode -> decode with MTS and LFNST on: records (incl. lfnst_idx and
//      mts_idx) identical, reconstructions identical, every index value used
//      (luma lfnst_idx 1/2, chroma-tree lfnst_idx, mts_idx 1..4).
// Plain executable: exit 0 = pass.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "api.h"
#include "cabac.h"
#include "codec_internal.h"
#include "coding_tree.h"
#include "contexts.h"
#include "quant.h"
#include "syntax.h"
#include "tables.h"
#include "test_support.h"
#include "transform.h"
#include "transform_tables.h"
#include "transform_tools.h"

namespace {

using test_support::check;
using test_support::g_failures;

const int8_t *mts_matrix(int type, int log2n) {
  static const int8_t *kDst[4] = {&pyvtm::g_dst7_4[0][0], &pyvtm::g_dst7_8[0][0], &pyvtm::g_dst7_16[0][0],
                                  &pyvtm::g_dst7_32[0][0]};
  static const int8_t *kDct[4] = {&pyvtm::g_dct8_4[0][0], &pyvtm::g_dct8_8[0][0], &pyvtm::g_dct8_16[0][0],
                                  &pyvtm::g_dct8_32[0][0]};
  return (type == 1 ? kDst : kDct)[log2n - 2];
}

// --- (1) DST-VII / DCT-VIII ------------------------------------------------
void test_mts_matrices() {
  for (int type = 1; type <= 2; type++)
    for (int log2n = 2; log2n <= 5; log2n++) {
      const int n = 1 << log2n;
      const int8_t *m = mts_matrix(type, log2n);
      // Rows scaled like DCT-II: |row|^2 = 64^2 * N within rounding.
      const double norm = 4096.0 * n;
      double worst_norm = 0, worst_dot = 0;
      for (int i = 0; i < n; i++)
        for (int j = i; j < n; j++) {
          double dot = 0;
          for (int k = 0; k < n; k++) dot += double(m[i * n + k]) * m[j * n + k];
          if (i == j) worst_norm = std::max(worst_norm, std::abs(dot - norm) / norm);
          else worst_dot = std::max(worst_dot, std::abs(dot) / norm);
        }
      const std::string what = std::string(type == 1 ? "DST-VII" : "DCT-VIII") + " N=" + std::to_string(n);
      check(worst_norm < 0.01, what + " row norm off by " + std::to_string(worst_norm));
      check(worst_dot < 0.01, what + " rows not orthogonal: " + std::to_string(worst_dot));
    }
  // Spot values of the standard's matrices (8.7.4.5).
  check(pyvtm::g_dst7_4[0][0] == 29 && pyvtm::g_dst7_4[1][2] == 0 && pyvtm::g_dst7_4[3][1] == -84, "DST-VII 4x4 entries");
  check(pyvtm::g_dct8_4[0][0] == 84 && pyvtm::g_dct8_4[0][1] == 74 && pyvtm::g_dct8_4[0][2] == 55 &&
            pyvtm::g_dct8_4[0][3] == 29,
        "DCT-VIII 4x4 first row");
  check(pyvtm::g_dst7_32[0][0] == 4 && pyvtm::g_dst7_32[0][31] == 90 && pyvtm::g_dct8_32[0][0] == 90,
        "32-point entries");
}

double psnr10(const std::vector<int32_t> &a, const std::vector<int32_t> &b) {
  double sse = 0;
  for (size_t i = 0; i < a.size(); i++) sse += double(a[i] - b[i]) * double(a[i] - b[i]);
  if (sse == 0) return 999.0;
  return 10.0 * std::log10(1023.0 * 1023.0 * double(a.size()) / sse);
}

void test_mts_roundtrip() {
  std::mt19937 rng(77);
  for (int lw = 2; lw <= 5; lw++)
    for (int lh = 2; lh <= 5; lh++)
      for (int th = 0; th <= 2; th++)
        for (int tv = 0; tv <= 2; tv++) {
          const int w = 1 << lw, h = 1 << lh;
          // Energy only where the 16-coefficient zero-out of a 32-long
          // DST-VII / DCT-VIII keeps it: the inverse of random low coefficients.
          std::vector<int32_t> c(w * h, 0), res(w * h), coeff(w * h), lv(w * h), dq(w * h), rec(w * h);
          for (int y = 0; y < std::min(h, 8); y++)
            for (int x = 0; x < std::min(w, 8); x++) c[y * w + x] = int32_t(rng() % 2001) - 1000;
          pyvtm::inverse_transform(c.data(), lw, lh, 10, res.data(), th, tv);
          for (int &v : res) v = std::max(-1023, std::min(1023, v));
          pyvtm::forward_transform(res.data(), lw, lh, 10, coeff.data(), th, tv);
          bool outside = false;
          for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
              if ((x >= (th ? 16 : 32) || y >= (tv ? 16 : 32)) && coeff[y * w + x]) outside = true;
          check(!outside, "forward_transform zero-out " + std::to_string(w) + "x" + std::to_string(h));
          // qP 4: Qstep 1.
          pyvtm::quantize(coeff.data(), lw, lh, 4, 10, lv.data());
          pyvtm::dequantize(lv.data(), lw, lh, 4, 10, dq.data());
          pyvtm::inverse_transform(dq.data(), lw, lh, 10, rec.data(), th, tv);
          const double p = psnr10(res, rec);
          check(p > 52.0, "MTS round trip " + std::to_string(w) + "x" + std::to_string(h) + " types " +
                              std::to_string(th) + "/" + std::to_string(tv) + ": PSNR " + std::to_string(p));
        }
}

// --- (2) LFNST ---------------------------------------------------------------
void test_lfnst_kernels() {
  double worst_norm = 0, worst_dot = 0;
  for (int set = 0; set < 4; set++)
    for (int idx = 0; idx < 2; idx++)
      for (int big = 0; big < 2; big++) {
        const int n = big ? 48 : 16;
        const int8_t *m = big ? &pyvtm::g_lfnst_8x8[set][idx][0][0] : &pyvtm::g_lfnst_4x4[set][idx][0][0];
        for (int i = 0; i < 16; i++)
          for (int j = i; j < 16; j++) {
            double dot = 0;
            for (int k = 0; k < n; k++) dot += double(m[i * n + k]) * m[j * n + k];
            if (i == j) worst_norm = std::max(worst_norm, std::abs(dot - 16384.0) / 16384.0);
            else worst_dot = std::max(worst_dot, std::abs(dot) / 16384.0);
          }
      }
  check(worst_norm < 0.02, "LFNST kernel row norms (128^2) off by " + std::to_string(worst_norm));
  check(worst_dot < 0.02, "LFNST kernel rows not orthogonal: " + std::to_string(worst_dot));
  check(pyvtm::g_lfnst_8x8[0][0][0][0] == -117 && pyvtm::g_lfnst_8x8[0][0][0][1] == 28, "LFNST 8x8 first entries");

  // lfnstTrSetIdx (8.7.4.2).
  const int modes[] = {-14, -1, 0, 1, 2, 12, 13, 23, 24, 44, 45, 55, 56, 80};
  const int sets[] = {1, 1, 0, 0, 1, 1, 2, 2, 3, 3, 2, 2, 1, 1};
  for (int i = 0; i < 14; i++)
    check(pyvtm::lfnst_tr_set(modes[i]) == sets[i], "lfnstTrSetIdx of mode " + std::to_string(modes[i]));

  // forward(inverse(u)) == u within rounding; only the nonZeroSize scan positions come back.
  std::mt19937 rng(5);
  const pyvtm::ScanPos *scan = pyvtm::diag_scan(2, 2);
  const int shapes[][2] = {{2, 2}, {2, 3}, {3, 2}, {3, 3}, {4, 4}, {2, 4}, {5, 3}, {4, 5}, {6, 6}};
  int worst = 0;
  for (const auto &sh : shapes)
    for (int mode : {0, 1, 18, 30, 34, 35, 50, 66, -5, 72})
      for (int idx = 1; idx <= 2; idx++) {
        const int w = 1 << sh[0], nz = (sh[0] == sh[1] && sh[0] <= 3) ? 8 : 16;
        std::vector<int32_t> c(size_t(w) << sh[1], 0);
        int32_t u[16];
        for (int i = 0; i < nz; i++) c[scan[i].y * w + scan[i].x] = u[i] = int32_t(rng() % 4001) - 2000;
        pyvtm::inverse_lfnst(c.data(), sh[0], sh[1], idx, mode);
        // The inverse writes only the top-left 4x4 or 8x8 (minus its bottom-right 4x4).
        const int n = (sh[0] >= 3 && sh[1] >= 3) ? 8 : 4;
        bool stray = false;
        for (int y = 0; y < (1 << sh[1]); y++)
          for (int x = 0; x < w; x++)
            if (c[y * w + x] && (x >= n || y >= n || (x >= 4 && y >= 4))) stray = true;
        check(!stray, "inverse_lfnst writes outside its region");
        pyvtm::forward_lfnst(c.data(), sh[0], sh[1], idx, mode);
        for (int i = 0; i < 16; i++) {
          const int got = c[scan[i].y * w + scan[i].x];
          worst = std::max(worst, std::abs(got - (i < nz ? u[i] : 0)));
        }
      }
  // Kernels are orthogonal to ~2 %: a wrong layout or transposition gives errors of the order of u.
  check(worst <= 80, "forward_lfnst(inverse_lfnst(u)) differs from u (|u| <= 2000) by " + std::to_string(worst));
}

// --- (3) syntax ----------------------------------------------------------------
void test_index_syntax() {
  pyvtm::ContextSet wcs, rcs;
  wcs.init(27);
  rcs.init(27);
  pyvtm::CabacWriter w(false);
  w.start();
  const pyvtm::TreeType trees[3] = {pyvtm::SINGLE_TREE, pyvtm::DUAL_TREE_LUMA, pyvtm::DUAL_TREE_CHROMA};
  std::vector<int> vals;
  for (int rep = 0; rep < 40; rep++) {
    const int l = rep % 3, m = (rep * 7) % 5;
    pyvtm::write_lfnst_idx(w, wcs, l, trees[rep % 3]);
    pyvtm::write_mts_idx(w, wcs, m);
    vals.push_back(l);
    vals.push_back(m);
  }
  w.encode_terminate(1);
  w.rbsp_trailing_bits();
  const std::vector<uint8_t> bytes = w.bytes();
  pyvtm::CabacReader r;
  r.start(bytes.data(), bytes.size());
  bool ok = true;
  for (int rep = 0; rep < 40; rep++) {
    ok &= pyvtm::read_lfnst_idx(r, rcs, trees[rep % 3]) == vals[size_t(2 * rep)];
    ok &= pyvtm::read_mts_idx(r, rcs) == vals[size_t(2 * rep + 1)];
  }
  check(ok && r.decode_terminate() == 1, "lfnst_idx / mts_idx CABAC round trip");

  // residual_coding() variables -> the 7.3.11.5 conditions.
  pyvtm::TransformTools t;
  t.mts = t.explicit_mts_intra = t.lfnst = true;
  pyvtm::CodingUnit cu;
  cu.w = cu.h = 16;
  cu.tree = pyvtm::SINGLE_TREE;
  auto state_of = [](const std::vector<int32_t> &lv, int lw, int lh, int c_idx) {
    pyvtm::ContextSet cs;
    cs.init(27);
    pyvtm::CabacWriter e(true);
    e.start();
    pyvtm::ResidualCodingInfo info;
    pyvtm::write_residual_coding(e, cs, lv.data(), lw, lh, c_idx, {}, &info);
    pyvtm::CuResidualState s;
    s.add(info);
    return s;
  };
  std::vector<int32_t> lv(256, 0);
  lv[0] = 5;
  pyvtm::CuResidualState s = state_of(lv, 4, 4, 0);  // DC only: neither index coded
  check(!pyvtm::lfnst_idx_coded(t, cu, s, 64) && !pyvtm::mts_idx_coded(t, cu, s), "DC-only TB codes no index");
  lv[1] = -2;  // inside the first subblock: both coded
  s = state_of(lv, 4, 4, 0);
  check(pyvtm::lfnst_idx_coded(t, cu, s, 64) && pyvtm::mts_idx_coded(t, cu, s), "first-subblock TB codes both");
  lv[4] = 1;  // second subblock: LFNST not allowed, MTS still
  s = state_of(lv, 4, 4, 0);
  check(!pyvtm::lfnst_idx_coded(t, cu, s, 64) && pyvtm::mts_idx_coded(t, cu, s), "second subblock: mts_idx only");
  cu.lfnst_idx = 1;
  check(!pyvtm::mts_idx_coded(t, cu, s), "mts_idx not coded with lfnst_idx");
  // 32x32 with a coefficient beyond 16: MtsZeroOutSigCoeffFlag cleared.
  std::vector<int32_t> big(1024, 0);
  big[0] = 3;
  big[20] = 1;
  cu.w = cu.h = 32;
  cu.lfnst_idx = 0;
  s = state_of(big, 5, 5, 0);
  check(!pyvtm::mts_idx_coded(t, cu, s), "32x32 coefficient beyond 16: no mts_idx");
  // 8x8 with scan position 8 coded: LFNST zero-out violated.
  std::vector<int32_t> e8(64, 0);
  const pyvtm::ScanPos *scan = pyvtm::diag_scan(2, 2);
  e8[scan[8].y * 8 + scan[8].x] = 1;
  cu.w = cu.h = 8;
  s = state_of(e8, 3, 3, 0);
  check(!pyvtm::lfnst_idx_coded(t, cu, s, 64) && pyvtm::mts_idx_coded(t, cu, s), "8x8 scan position 8: no lfnst_idx");
  // Chroma TBs do not make mts_idx coded.
  cu.tree = pyvtm::SINGLE_TREE;
  s = state_of(e8, 3, 3, 1);
  check(!pyvtm::mts_idx_coded(t, cu, s), "chroma residual alone codes no mts_idx");
  // Transform skip (7.3.11.5): a coded TS TB of any component stops lfnst_idx
  // (lfnstNotTsFlag); only the luma one (transform_skip_flag[x0][y0][0]) mts_idx.
  std::vector<int32_t> f8(64, 0);
  f8[0] = 3;
  f8[1] = 1;
  s = state_of(f8, 3, 3, 0);
  check(pyvtm::lfnst_idx_coded(t, cu, s, 64) && pyvtm::mts_idx_coded(t, cu, s), "8x8 first subblock codes both");
  pyvtm::CuResidualState sc = s;
  sc.set_transform_skip(2);
  check(!pyvtm::lfnst_idx_coded(t, cu, sc, 64) && pyvtm::mts_idx_coded(t, cu, sc),
        "chroma transform skip: mts_idx only");
  pyvtm::CuResidualState sy = s;
  sy.set_transform_skip(0);
  check(!pyvtm::lfnst_idx_coded(t, cu, sy, 64) && !pyvtm::mts_idx_coded(t, cu, sy), "luma transform skip: no index");
}

// --- (4) encode -> decode ------------------------------------------------------
// Oriented textures (a different direction and frequency per 32x32 area),
// edges and mild noise: intra residuals that MTS and LFNST pay on.
pyvtm::Picture textured_picture(int w, int h, int seed) {
  pyvtm::Picture pic;
  pic.allocate(w, h);
  std::mt19937 rng{uint32_t(seed)};
  std::vector<double> ang(64), freq(64);
  for (int i = 0; i < 64; i++) {
    ang[size_t(i)] = double(rng() % 360) * 3.14159265 / 180.0;
    freq[size_t(i)] = 0.05 + double(rng() % 100) / 250.0;
  }
  for (int c = 0; c < 3; c++) {
    const int pw = c ? pic.chroma_width() : w, s = c ? 2 : 1;
    for (size_t i = 0; i < pic.plane[c].size(); i++) {
      const int x = int(i % size_t(pw)) * s, y = int(i / size_t(pw)) * s;
      const size_t r = size_t((y / 32) * 8 + (x / 32)) % 64;
      const double u = std::cos(ang[r]) * x + std::sin(ang[r]) * y;
      double v = 512 + (c ? 60 : 180) * std::sin(freq[r] * u + c) + ((x + 2 * y) % 97 < 40 ? 90 : -90);
      v += double(rng() % 9) - 4;
      // Right half: ramps with strong noise, and a grid of thin lines (residual
      // near the block's reference side favours DCT-VIII).
      if (x >= w / 2) v = double((x * (3 + c) + y * (5 - c) + int(rng() % 96) + 200 * c) % 1024);
      if (x >= w / 2 && (x % 16 == 1 || y % 16 == 1)) v = 1023 - v;
      pic.plane[c][i] = uint16_t(std::max(0.0, std::min(1023.0, v)));
    }
  }
  return pic;
}

// Returns the number of CUs per mts_idx 1..4 (in mts_out).
void test_codec(bool explicit_mts, bool dual_tree, int qp, int mts_out[4]) {
  pyvtm::EncoderConfig cfg;
  cfg.qp = qp;
  cfg.mts = true;
  cfg.lfnst = true;
  cfg.mts_explicit = explicit_mts ? 1 : 0;
  cfg.preset = explicit_mts ? 2 : 1;  // slow: every mts_idx and lfnst_idx tried (no fast rejection)
  cfg.dual_tree = dual_tree;
  // (The picture was made for the search without the deblocking-aware split
  // decisions and the CU reuse: with either, slow's dual tree at QP 22 codes
  // no mts_idx 2 / 3 on it; the test is about the syntax paths.)
  cfg.deblock_aware = 0;
  pyvtm::g_encoder_test_knobs.cu_reuse = 0;
  const pyvtm::Picture src = textured_picture(256, 128, 11);
  std::vector<pyvtm::CtuRecord> er, dr;
  pyvtm::Hooks hooks;
  const pyvtm::EncodeResult e = pyvtm::encode_picture_records(src, cfg, hooks, &er);
  const pyvtm::DecodeResult d =
      pyvtm::decode_bitstream_records(e.bitstream.data(), e.bitstream.size(), pyvtm::DecodeOptions(), hooks, &dr);
  const std::string what = std::string(explicit_mts ? "explicit" : "implicit") + " MTS, dual_tree " +
                           std::to_string(dual_tree) + ", QP " + std::to_string(qp);
  check(test_support::same_picture(e.recon, d.picture), "decoder == encoder recon (" + what + ")");
  check(er.size() == dr.size(), "record count (" + what + ")");
  for (size_t i = 0; i < er.size() && i < dr.size(); i++) {
    const std::string diff = pyvtm::compare_records(er[i], dr[i]);
    check(diff.empty(), "CTU " + std::to_string(i) + " record: " + diff + " (" + what + ")");
    if (!diff.empty()) break;
  }
  int lfnst[3] = {0, 0, 0}, lfnst_chroma = 0, mts[5] = {0, 0, 0, 0, 0};
  for (const pyvtm::CtuRecord &r : dr)
    for (const pyvtm::CodingUnit &cu : r.cus) {
      lfnst[cu.lfnst_idx]++;
      mts[cu.mts_idx]++;
      if (cu.lfnst_idx && cu.tree == pyvtm::DUAL_TREE_CHROMA) lfnst_chroma++;
    }
  std::printf("  %s: lfnst_idx 1/2 %d/%d (chroma tree %d), mts_idx 1..4 %d/%d/%d/%d, %zu bytes\n", what.c_str(),
              lfnst[1], lfnst[2], lfnst_chroma, mts[1], mts[2], mts[3], mts[4], e.bitstream.size());
  check(lfnst[1] > 0 && lfnst[2] > 0, "lfnst_idx 1 and 2 used (" + what + ")");
  if (dual_tree) check(lfnst_chroma > 0, "chroma-tree lfnst_idx used (" + what + ")");
  if (explicit_mts) check(mts[1] > 0 && mts[2] > 0 && mts[3] > 0, "mts_idx 1..3 used (" + what + ")");
  else check(mts[1] + mts[2] + mts[3] + mts[4] == 0, "no mts_idx with implicit MTS (" + what + ")");
  for (int i = 0; i < 4; i++) mts_out[i] = mts[i + 1];
}

}  // namespace

int main() {
  pyvtm::init_tables();
  test_mts_matrices();
  test_mts_roundtrip();
  test_lfnst_kernels();
  test_index_syntax();
  int mts_a[4], mts_b[4], mts_c[4], mts_d[4];
  test_codec(true, true, 22, mts_a);
  test_codec(false, true, 27, mts_b);
  test_codec(true, false, 22, mts_c);
  // mts_idx 4 (DCT-VIII both ways) seldom wins on its own: a rate bonus for
  // it makes the encoder choose it, and the stream must still decode.
  pyvtm::g_encoder_test_knobs.mts4_test_bias = 8;
  test_codec(true, true, 22, mts_d);
  pyvtm::g_encoder_test_knobs = pyvtm::EncoderTestKnobs();
  check(mts_d[3] > 0, "mts_idx 4 used (explicit MTS, its rate lowered)");
  if (g_failures) {
    std::printf("%d check(s) failed\n", g_failures);
    return 1;
  }
  std::printf("all transform tool checks passed\n");
  return 0;
}
