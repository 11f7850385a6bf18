// Intra sub-partitions (ISP):
//   1. sub-partition tiling: NumIntraSubPartitions, the TUs of an ISP CU and
//      where its chroma TBs are (7.3.11.5, 7.3.11.8, 7.3.11.10);
//   2. residual_coding() of narrow TBs (1xN, 2xN, Nx1, Nx2 with their 1x16 /
//      2x8 / 16x1 / 8x2 subblocks): write -> read round trips, with sign
//      hiding after the encoder's parity fix-up;
//   3. the inverse transform of width / height 1 (one-dimensional, bdShift
//      21 - bitDepth) and 2 (2-point DCT-II) against the matrix products of
//      8.7.4 written out here;
//   4. ISP forced by the encoder's test knob: record == parse(write(record)),
//      decoded picture == reconstruction, narrow TBs present.
#include <cstdio>
#include <algorithm>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "cabac.h"
#include "codec_internal.h"
#include "coding_tree.h"
#include "contexts.h"
#include "syntax.h"
#include "tables.h"
#include "test_support.h"
#include "transform.h"

using namespace pyvtm;
using test_support::check;

namespace {

void test_tiling() {
  struct Case { int w, h, split, n, tw, th; };
  const Case cases[] = {
      {4, 8, ISP_HOR_SPLIT, 2, 4, 4},   {4, 8, ISP_VER_SPLIT, 2, 2, 8},   {8, 4, ISP_HOR_SPLIT, 2, 8, 2},
      {8, 4, ISP_VER_SPLIT, 2, 4, 4},   {8, 8, ISP_HOR_SPLIT, 4, 8, 2},   {8, 8, ISP_VER_SPLIT, 4, 2, 8},
      {4, 16, ISP_VER_SPLIT, 4, 1, 16}, {16, 4, ISP_HOR_SPLIT, 4, 16, 1}, {64, 64, ISP_VER_SPLIT, 4, 16, 64},
      {32, 16, ISP_HOR_SPLIT, 4, 32, 4},
  };
  for (const Case &c : cases) {
    CodingUnit cu;
    cu.x = 64;
    cu.y = 32;
    cu.w = c.w;
    cu.h = c.h;
    cu.isp_split = c.split;
    const std::string name = std::to_string(c.w) + "x" + std::to_string(c.h) + " split " + std::to_string(c.split);
    check(num_intra_subpartitions(c.split, c.w, c.h) == c.n, name + ": NumIntraSubPartitions");
    const std::vector<TransformUnit> tus = cu_transform_units(cu, 64);
    check(int(tus.size()) == c.n, name + ": number of TUs");
    for (size_t k = 0; k < tus.size(); k++) {
      const int ex = cu.x + (c.split == ISP_VER_SPLIT ? int(k) * c.tw : 0);
      const int ey = cu.y + (c.split == ISP_HOR_SPLIT ? int(k) * c.th : 0);
      check(tus[k].x == ex && tus[k].y == ey && tus[k].w == c.tw && tus[k].h == c.th, name + ": TU " + std::to_string(k));
      int x, y, w, h;
      tu_chroma_area(cu, tus[k], x, y, w, h);
      check(x == cu.x && y == cu.y && w == c.w && h == c.h, name + ": chroma area is the CU's");
    }
  }
  check(num_intra_subpartitions(ISP_NO_SPLIT, 16, 16) == 1, "no split: one partition");
  check(!isp_allowed(4, 4, 64) && isp_allowed(4, 8, 64) && isp_allowed(64, 64, 64) && !isp_allowed(64, 64, 32) &&
            !isp_allowed(128, 64, 64),
        "isp_allowed: area > 16, sides <= MaxTbSizeY");
}

// Random sparse levels in the coded region of a W x H TB with at least one nonzero.
std::vector<int32_t> random_levels(int log2w, int log2h, std::mt19937 &rng, int density) {
  const int w = 1 << log2w, h = 1 << log2h;
  std::vector<int32_t> lv(size_t(w) * h, 0);
  const int zw = std::min(w, 32), zh = std::min(h, 32);
  for (int y = 0; y < zh; y++)
    for (int x = 0; x < zw; x++)
      if (int(rng() % 100) < density) {
        int a = 1 + int(rng() % 4);
        if (rng() % 16 == 0) a += int(rng() % 300);
        lv[size_t(y) * w + x] = (rng() & 1) ? -a : a;
      }
  if (std::all_of(lv.begin(), lv.end(), [](int32_t v) { return v == 0; })) lv[0] = 3;
  return lv;
}

void test_narrow_residual_round_trip() {
  const int shapes[][2] = {{0, 4}, {0, 5}, {0, 6}, {1, 3}, {1, 4}, {1, 5}, {1, 6}, {4, 0}, {5, 0}, {6, 0},
                           {3, 1}, {4, 1}, {5, 1}, {6, 1}, {2, 2}, {2, 4}, {4, 2}};
  std::mt19937 rng(7);
  for (int sh = 0; sh < 2; sh++) {
    ResidualCodingParams p;
    p.sign_hiding = sh != 0;
    for (const auto &s : shapes)
      for (int c_idx = 0; c_idx < 2; c_idx++)
        for (int density : {5, 40, 100}) {
          if (c_idx && (s[0] < 2 || s[1] < 2)) continue;  // narrow TBs are luma (ISP)
          std::vector<int32_t> lv = random_levels(s[0], s[1], rng, density);
          if (p.sign_hiding) fix_hidden_sign_parity(lv.data(), s[0], s[1], p);
          const std::string name = std::to_string(1 << s[0]) + "x" + std::to_string(1 << s[1]) + " c" +
                                   std::to_string(c_idx) + " density " + std::to_string(density) +
                                   (p.sign_hiding ? " SDH" : "");
          ContextSet cw;
          cw.init(32);
          CabacWriter w(false);
          w.start();
          ResidualCodingInfo wi;
          try {
            write_residual_coding(w, cw, lv.data(), s[0], s[1], c_idx, p, &wi);
          } catch (const std::exception &e) {
            check(false, name + ": writer threw: " + e.what());
            continue;
          }
          w.encode_terminate(1);
          w.rbsp_trailing_bits();
          const std::vector<uint8_t> bytes = w.bytes();
          ContextSet cr;
          cr.init(32);
          CabacReader r;
          r.start(bytes.data(), bytes.size());
          std::vector<int32_t> out(lv.size(), 12345);
          ResidualCodingInfo ri;
          read_residual_coding(r, cr, s[0], s[1], c_idx, out.data(), p, &ri);
          check(out == lv, name + ": levels round trip");
          check(ri.last_x == wi.last_x && ri.last_y == wi.last_y && ri.lfnst_dc_only == wi.lfnst_dc_only &&
                    ri.lfnst_zero_out_sig == wi.lfnst_zero_out_sig && ri.mts_dc_only == wi.mts_dc_only,
                name + ": residual variables");
          check(r.decode_terminate() == 1, name + ": reader in sync after the TB");
        }
  }
}

// 8.7.4: transMatrix of the N-point DCT-II / DST-VII written out from the 64-point DCT-II table.
int dct2(int n, int k, int j) { return g_dct64[k * (64 / n)][j]; }

void test_narrow_transforms() {
  std::mt19937 rng(3);
  const int bd = 10;
  // Width 1 (columns) and height 1 (rows): one 1-D DCT-II, (sum + (1 << (bdShift - 1))) >> bdShift, bdShift = 21 - bd.
  for (int log2n = 2; log2n <= 6; log2n++) {
    const int n = 1 << log2n;
    for (int dir = 0; dir < 2; dir++) {
      std::vector<int32_t> c(static_cast<size_t>(n), 0), res(static_cast<size_t>(n)), ref(static_cast<size_t>(n));
      for (int k = 0; k < std::min(n, 32); k++) c[size_t(k)] = int32_t(rng() % 2001) - 1000;
      inverse_transform(c.data(), dir ? log2n : 0, dir ? 0 : log2n, bd, res.data(), 0, 0);
      for (int i = 0; i < n; i++) {
        int64_t s = 0;
        for (int k = 0; k < std::min(n, 32); k++) s += int64_t(dct2(n, k, i)) * c[size_t(k)];
        ref[size_t(i)] = int32_t((s + (1 << (20 - bd))) >> (21 - bd));
      }
      check(res == ref, "1-D inverse DCT-II, N = " + std::to_string(n) + (dir ? " (row)" : " (column)"));
    }
  }
  // 1 x 16 with DST-VII (implicit MTS of ISP) equals the forward/inverse pair up to rounding.
  {
    std::vector<int32_t> r(16), c(16), back(16);
    for (int i = 0; i < 16; i++) r[size_t(i)] = int32_t(rng() % 201) - 100;
    forward_transform(r.data(), 0, 4, bd, c.data(), 0, 1);
    // Scale as dequantisation at the forward scale would: the forward output is at the 2-D scale of a 1x16 TB.
    inverse_transform(c.data(), 0, 4, bd, back.data(), 0, 1);
    int max_err = 0;
    for (int i = 0; i < 16; i++) max_err = std::max(max_err, std::abs(back[size_t(i)] - r[size_t(i)]));
    check(max_err <= 2, "1x16 DST-VII forward -> inverse round trip (max error " + std::to_string(max_err) + ")");
  }
  // 2 x 8 and 8 x 2: the 2-point DCT-II [64 64; 64 -64] in the 2-D process (intermediate clip, bdShift 20 - bd).
  for (int t = 0; t < 2; t++) {
    const int log2w = t ? 3 : 1, log2h = t ? 1 : 3, w = 1 << log2w, h = 1 << log2h;
    std::vector<int32_t> c(static_cast<size_t>(w * h)), res(static_cast<size_t>(w * h)), ref(static_cast<size_t>(w * h));
    for (auto &v : c) v = int32_t(rng() % 4001) - 2000;
    inverse_transform(c.data(), log2w, log2h, bd, res.data(), 0, 0);
    std::vector<int32_t> g(static_cast<size_t>(w * h));
    for (int x = 0; x < w; x++)
      for (int y = 0; y < h; y++) {
        int64_t s = 0;
        for (int k = 0; k < h; k++) s += int64_t(dct2(h, k, y)) * c[size_t(k * w + x)];
        g[size_t(y * w + x)] = int32_t(std::min<int64_t>(32767, std::max<int64_t>(-32768, (s + 64) >> 7)));
      }
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++) {
        int64_t s = 0;
        for (int k = 0; k < w; k++) s += int64_t(dct2(w, k, x)) * g[size_t(y * w + k)];
        ref[size_t(y * w + x)] = int32_t((s + (1 << (19 - bd))) >> (20 - bd));
      }
    check(res == ref, std::string("2-D inverse DCT-II ") + std::to_string(w) + "x" + std::to_string(h));
  }
}

// Blocky noise (4x4 blocks of random levels over a ramp): small CUs, so narrow sub-partitions.
Picture blocky_picture(int w, int h, int seed, int b = 4) {
  Picture pic = test_support::test_picture(w, h, seed);
  std::mt19937 rng{uint32_t(seed)};
  std::vector<int> blk(size_t((w / b + 1) * (h / b + 1)));
  for (int &v : blk) v = int(rng() % 400);
  for (size_t i = 0; i < pic.plane[0].size(); i++) {
    const int x = int(i % size_t(w)), y = int(i / size_t(w));
    pic.plane[0][i] = uint16_t((x * 4 + blk[size_t((y / b) * (w / b + 1) + x / b)] + 100) % 1024);
  }
  return pic;
}

void test_forced_isp_round_trip() {
  struct Case { const char *name; int w, h, qp, preset; bool dual, dep_quant, sign_hiding; int blk = 4; };
  const Case cases[] = {
      {"dual tree medium", 128, 64, 27, 1, true, false, true},
      {"single tree medium", 96, 64, 32, 1, false, false, true},
      {"fast 51x77", 77, 51, 22, 0, true, false, true},
      {"slow (LFNST, MTS)", 64, 64, 27, 2, true, false, true, 16},
      {"dependent quantisation", 96, 64, 27, 1, false, true, false, 16},
      {"no sign hiding", 64, 48, 37, 1, true, false, false},
  };
  for (const Case &c : cases) {
    EncoderConfig cfg;
    cfg.qp = c.qp;
    cfg.preset = c.preset;
    cfg.dual_tree = c.dual;
    cfg.dep_quant = c.dep_quant;
    cfg.sign_hiding = c.sign_hiding;
    cfg.isp = true;
    const Picture pic = blocky_picture(c.w, c.h, 11, c.blk);
    std::vector<CtuRecord> enc_recs, dec_recs;
    EncodeResult er;
    DecodeResult dr;
    g_encoder_test_knobs.force_isp = 1;
    try {
      er = encode_picture_records(pic, cfg, Hooks{}, &enc_recs);
      dr = decode_bitstream_records(er.bitstream.data(), er.bitstream.size(), DecodeOptions{}, Hooks{}, &dec_recs);
    } catch (const std::exception &e) {
      g_encoder_test_knobs.force_isp = 0;
      check(false, std::string(c.name) + ": threw: " + e.what());
      continue;
    }
    g_encoder_test_knobs.force_isp = 0;
    check(enc_recs.size() == dec_recs.size(), std::string(c.name) + ": number of CTU records");
    for (size_t i = 0; i < enc_recs.size() && i < dec_recs.size(); i++) {
      const std::string d = compare_records(enc_recs[i], dec_recs[i]);
      if (!d.empty()) {
        check(false, std::string(c.name) + ": CTU " + std::to_string(i) + ": " + d);
        break;
      }
    }
    check(test_support::same_picture(er.recon, dr.picture), std::string(c.name) + ": decoded == reconstruction");
    int isp[3] = {0, 0, 0}, narrow = 0;
    for (const CtuRecord &r : enc_recs)
      for (const CodingUnit &cu : r.cus) {
        isp[cu.isp_split]++;
        if (cu.isp_split)
          for (int t = cu.first_tu; t < cu.first_tu + cu.num_tu; t++)
            narrow += r.tus[size_t(t)].w < 4 || r.tus[size_t(t)].h < 4;
      }
    check(isp[1] > 0 && isp[2] > 0, std::string(c.name) + ": both ISP splits used (" + std::to_string(isp[1]) + " hor, " + std::to_string(isp[2]) + " ver)");
    check(dr.syntax.isp[0] == isp[1] && dr.syntax.isp[1] == isp[2], std::string(c.name) + ": decoder's ISP counts");
    if (!c.dep_quant) check(narrow > 0, std::string(c.name) + ": narrow sub-partitions coded");
    std::printf("%-24s %6zu bytes  ISP hor %3d ver %3d  narrow TBs %3d\n", c.name, er.bitstream.size(), isp[1], isp[2],
                narrow);
  }
}

// The RD search (no knob) on a textured picture: ISP chosen somewhere, also
// with LFNST on some; the records round-trip.
void test_isp_search() {
  for (int preset : {0, 1}) {
    EncoderConfig cfg;
    cfg.qp = 27;
    cfg.preset = preset;
    // Medium: the earlier (depth-1) split search, whose larger CUs take ISP
    // on this small picture (the default medium search: test_conformance.py
    // test_isp_search).
    cfg.split_search = 0;
    cfg.isp = true;
    const Picture pic = blocky_picture(96, 64, 5, 8);
    std::vector<CtuRecord> enc_recs, dec_recs;
    EncodeResult er;
    DecodeResult dr;
    const std::string name = "RD search, preset " + std::to_string(preset);
    try {
      er = encode_picture_records(pic, cfg, Hooks{}, &enc_recs);
      dr = decode_bitstream_records(er.bitstream.data(), er.bitstream.size(), DecodeOptions{}, Hooks{}, &dec_recs);
    } catch (const std::exception &e) {
      check(false, name + ": threw: " + e.what());
      continue;
    }
    for (size_t i = 0; i < enc_recs.size() && i < dec_recs.size(); i++) {
      const std::string d = compare_records(enc_recs[i], dec_recs[i]);
      if (!d.empty()) {
        check(false, name + ": CTU " + std::to_string(i) + ": " + d);
        break;
      }
    }
    check(test_support::same_picture(er.recon, dr.picture), name + ": decoded == reconstruction");
    int isp = 0, isp_lfnst = 0;
    for (const CtuRecord &r : enc_recs)
      for (const CodingUnit &cu : r.cus) {
        isp += cu.isp_split != 0;
        isp_lfnst += cu.isp_split != 0 && cu.lfnst_idx != 0;
      }
    check(isp > 0, name + ": ISP chosen");
    std::printf("%-24s %6zu bytes  ISP CUs %3d (with LFNST %d)\n", name.c_str(), er.bitstream.size(), isp, isp_lfnst);
  }
}

}  // namespace

int main() {
  init_tables();
  test_tiling();
  test_narrow_residual_round_trip();
  test_narrow_transforms();
  test_forced_isp_round_trip();
  test_isp_search();
  if (test_support::g_failures) {
    std::printf("%d failure(s)\n", test_support::g_failures);
    return 1;
  }
  std::printf("all ISP tests passed\n");
  return 0;
}
