// Unit tests of transform skip and BDPCM:
//  (1) residual_ts_coding() write -> read round trips for every TB size
//      (4..32 per side), with and without BDPCM, random levels including
//      the extremes of the 16-bit range; the level prediction of 7.4.11.12
//      and its inverse;
//  (2) the transform-skip / BDPCM residual (ts_residual, reconstruct_tb)
//      against a direct transcription of 8.7.3 (bdShift 10, rectNonTsFlag 0,
//      QpPrimeTsMin, BDPCM accumulation with clipping);
//  (3) BDPCM prediction (copy of the unfiltered references) and bS = 0 of
//      edges between two BDPCM blocks in the deblocking filter;
//  (4) encode -> decode round trips with the tools forced on through the
//      encoder's test knob (EncoderConfig::ts_test_bias): equal records,
//      decoded picture == reconstruction, and the tools actually used.
// Plain executable: exit 0 = pass.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "api.h"
#include "cabac.h"
#include "codec_internal.h"
#include "coding_tree.h"
#include "deblocking.h"
#include "derive.h"
#include "recon.h"
#include "syntax.h"
#include "tables.h"
#include "test_support.h"

namespace {

using namespace pyvtm;
using test_support::check;
using test_support::g_failures;

// Random levels of a W x H TB; kind selects the statistics.
std::vector<int32_t> random_levels(std::mt19937 &rng, int lw, int lh, int kind) {
  const int n = 1 << (lw + lh);
  std::vector<int32_t> lv(size_t(n), 0);
  auto sgn = [&]() { return (rng() & 1) ? -1 : 1; };
  switch (kind) {
    case 0:  // sparse small
      for (int i = 0; i < n; i++)
        if (rng() % 5 == 0) lv[size_t(i)] = sgn() * int(1 + rng() % 3);
      break;
    case 1:  // dense, medium (gtx flags and remainders)
      for (int i = 0; i < n; i++) lv[size_t(i)] = sgn() * int(rng() % 20);
      break;
    case 2:  // large, including the 16-bit extremes
      for (int i = 0; i < n; i++) {
        const uint32_t r = rng() % 8;
        lv[size_t(i)] = r == 0 ? 32767 : r == 1 ? -32768 : r < 4 ? 0 : sgn() * int(rng() % 5000);
      }
      break;
    case 3:  // smooth (level prediction active)
      for (int i = 0; i < n; i++) lv[size_t(i)] = 3 + int(rng() % 3) - 1;
      break;
    case 4:  // one level at the last position
      lv[size_t(n - 1)] = sgn() * int(1 + rng() % 40);
      break;
    default:  // one level at the first position
      lv[0] = sgn() * int(1 + rng() % 40);
      break;
  }
  if (std::all_of(lv.begin(), lv.end(), [](int32_t v) { return v == 0; })) lv[size_t(rng() % uint32_t(n))] = 1;
  return lv;
}

void test_level_prediction() {
  bool ok = true;
  for (int pred = 0; pred <= 20; pred++)
    for (int a = 0; a <= 60; a++) {
      const int c = ts_level_to_coded(a, pred);
      ok &= ts_level_from_coded(c, pred) == a;
      ok &= (c == 0) == (a == 0);
    }
  check(ok, "ts_level_from_coded(ts_level_to_coded(a)) == a");
  // 7.4.11.12 literally: a coded 1 takes the predictor, 1..pred shift down.
  check(ts_level_from_coded(1, 7) == 7 && ts_level_from_coded(3, 7) == 2 && ts_level_from_coded(8, 7) == 8 &&
            ts_level_from_coded(5, 0) == 5,
        "level prediction values");
}

void test_ts_round_trip() {
  std::mt19937 rng(7);
  struct Block { int lw, lh; bool bdpcm; std::vector<int32_t> lv; };
  std::vector<Block> blocks;
  for (int rep = 0; rep < 2; rep++)
    for (int lw = 2; lw <= 5; lw++)
      for (int lh = 2; lh <= 5; lh++)
        for (int b = 0; b < 2; b++)
          for (int kind = 0; kind < 6; kind++) blocks.push_back({lw, lh, b == 1, random_levels(rng, lw, lh, kind)});
  for (int slice_qp : {22, 37}) {
    ContextSet wcs, rcs;
    wcs.init(slice_qp);
    rcs.init(slice_qp);
    ContextSet ecs = wcs;
    CabacWriter w(false), e(true);
    w.start();
    e.start();
    for (const Block &b : blocks) {
      write_residual_ts_coding(w, wcs, b.lv.data(), b.lw, b.lh, b.bdpcm);
      write_residual_ts_coding(e, ecs, b.lv.data(), b.lw, b.lh, b.bdpcm);
    }
    w.encode_terminate(1);
    w.rbsp_trailing_bits();
    const std::vector<uint8_t> bytes = w.bytes();
    const double est_bits = double(e.frac_bits()) / (1 << kFracBitsShift);
    check(std::abs(est_bits - 8.0 * bytes.size()) < 0.05 * 8.0 * bytes.size(), "TS rate estimate near real size");
    CabacReader r;
    r.start(bytes.data(), bytes.size());
    int mismatches = 0;
    try {
      for (const Block &b : blocks) {
        std::vector<int32_t> got(b.lv.size(), 99);
        read_residual_ts_coding(r, rcs, b.lw, b.lh, b.bdpcm, got.data());
        if (got != b.lv && mismatches++ < 5)
          std::printf("  mismatch %dx%d bdpcm %d\n", 1 << b.lw, 1 << b.lh, int(b.bdpcm));
      }
      check(r.decode_terminate() == 1, "end_of_slice after the TS residuals");
    } catch (const std::exception &ex) {
      check(false, std::string("read_residual_ts_coding threw: ") + ex.what());
    }
    check(mismatches == 0, "residual_ts_coding round trip (" + std::to_string(mismatches) + " mismatches)");
    bool same_ctx = true;
    for (int i = 0; i < CTX_NUM; i++) same_ctx &= wcs.m[i].state() == rcs.m[i].state();
    check(same_ctx, "TS writer and reader context states agree");
    std::printf("residual_ts_coding round trip: %zu blocks, %zu bytes (slice qp %d)\n", blocks.size(), bytes.size(),
                slice_qp);
  }
}

// 8.7.3 transcribed: levelScale = {40, 45, 51, 57, 64, 72}, m = 16,
// d = Clip3(-32768, 32767, (dz * m * levelScale[qP % 6] << (qP / 6) + (1 << 9)) >> 10)
// with qP = Max(QpPrimeTsMin, qP) and dz the BDPCM-accumulated levels.
void direct_ts_residual(const int32_t *lv, int w, int h, int qp, int qp_ts_min, int bdpcm_dir, int32_t *out) {
  static const int kLs[6] = {40, 45, 51, 57, 64, 72};
  const int q = std::max(qp, qp_ts_min);
  std::vector<int64_t> dz(size_t(w) * h);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      int64_t v = lv[y * w + x];
      if (bdpcm_dir == 1 && x > 0) v += dz[size_t(y * w + x - 1)];
      if (bdpcm_dir == 2 && y > 0) v += dz[size_t((y - 1) * w + x)];
      dz[size_t(y * w + x)] = std::min<int64_t>(32767, std::max<int64_t>(-32768, v));
    }
  for (int i = 0; i < w * h; i++) {
    const int64_t d = (dz[size_t(i)] * 16 * kLs[q % 6] * (int64_t(1) << (q / 6)) + 512) >> 10;
    out[i] = int32_t(std::min<int64_t>(32767, std::max<int64_t>(-32768, d)));
  }
}

void test_ts_reconstruction() {
  std::mt19937 rng(11);
  int bad = 0, cases = 0;
  for (int lw = 2; lw <= 5; lw++)
    for (int lh = 2; lh <= 5; lh++)
      for (int dir = 0; dir <= 2; dir++)
        for (int qp : {4, 10, 28, 34, 43, 49, 69})
          for (int kind = 0; kind < 4; kind++) {
            const int w = 1 << lw, h = 1 << lh;
            const std::vector<int32_t> lv = random_levels(rng, lw, lh, kind);
            TbResidualMode m;
            m.transform_skip = true;
            m.bdpcm_dir = dir;
            m.qp_prime_ts_min = (kind & 1) ? 16 : 4;
            std::vector<int32_t> got(size_t(w) * h), want(size_t(w) * h);
            ts_residual(lv.data(), lw, lh, qp, m, got.data());
            direct_ts_residual(lv.data(), w, h, qp, m.qp_prime_ts_min, dir, want.data());
            bad += got != want;
            cases++;
          }
  check(bad == 0, "ts_residual == 8.7.3 transcription (" + std::to_string(bad) + " of " + std::to_string(cases) + ")");

  // reconstruct_tb with transform skip: prediction + residual, clipped.
  ReconPicture pic;
  pic.init(64, 64, 10, 7);
  const int lw = 3, lh = 2, w = 8, h = 4;
  std::vector<Pel> pred(size_t(w * h));
  for (int i = 0; i < w * h; i++) pred[size_t(i)] = Pel(500 + 13 * i);
  std::vector<int32_t> lv = random_levels(rng, lw, lh, 1);
  TbResidualMode m;
  m.transform_skip = true;
  m.bdpcm_dir = 2;
  reconstruct_tb(pic, 0, 8, 4, lw, lh, pred.data(), lv.data(), 37, m);
  std::vector<int32_t> res(size_t(w * h));
  direct_ts_residual(lv.data(), w, h, 37, 4, 2, res.data());
  bool ok = true;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      ok &= pic.plane[0].at(8 + x, 4 + y) == Pel(std::min(1023, std::max(0, pred[size_t(y * w + x)] + res[size_t(y * w + x)])));
  check(ok, "reconstruct_tb with transform skip and vertical BDPCM");
}

void test_bdpcm_prediction_and_deblocking() {
  IntraRefs refs;
  for (int i = 0; i < int(sizeof(refs.top) / sizeof(Pel)); i++) {
    refs.top[i] = Pel(100 + i);
    refs.left[i] = Pel(600 - i);
  }
  Pel p[8 * 16];
  predict_bdpcm(1, 3, 4, refs, p);
  bool ok = true;
  for (int y = 0; y < 16; y++)
    for (int x = 0; x < 8; x++) ok &= p[y * 8 + x] == refs.left[1 + y];
  predict_bdpcm(2, 3, 4, refs, p);
  for (int y = 0; y < 16; y++)
    for (int x = 0; x < 8; x++) ok &= p[y * 8 + x] == refs.top[1 + x];
  check(ok, "BDPCM prediction copies the left column / top row");

  // A vertical step edge at x = 16 between two 16x16 luma TBs.
  auto run = [](bool bdpcm_p, bool bdpcm_q) {
    Plane planes[3];
    planes[0].allocate(32, 16);
    planes[1].allocate(16, 8);
    planes[2].allocate(16, 8);
    for (int y = 0; y < 16; y++)
      for (int x = 0; x < 32; x++) planes[0].at(x, y) = Pel(x < 16 ? 500 : 520);
    TbEdgeMaps e;
    e.init(32, 16, 37);
    e.mark(0, 0, 0, 16, 16, 4, 4);
    e.mark(0, 16, 0, 16, 16, 4, 4);
    e.mark(1, 0, 0, 32, 16, 4, 3);
    for (int y = 0; y < 4; y++)
      for (int x = 0; x < 8; x++) e.bdpcm[0][size_t(y * e.stride + x)] = uint8_t(x < 4 ? bdpcm_p : bdpcm_q);
    DeblockParams dp;
    dp.width = 32;
    dp.height = 16;
    attach_edge_maps(e, dp);
    deblock_picture(planes, dp);
    return planes[0].at(15, 5) != 500 || planes[0].at(16, 5) != 520;
  };
  check(run(false, false), "deblocking filters an intra edge (bS 2)");
  check(run(true, false), "deblocking filters an edge with BDPCM on one side only");
  check(!run(true, true), "no deblocking between two BDPCM blocks (bS 0)");
}

// Screen-content-like picture: flat areas, sharp text-like strokes, noise.
Picture graphics_picture(int w, int h, int seed) {
  Picture pic = test_support::test_picture(w, h, seed);
  std::mt19937 rng{uint32_t(seed)};
  for (int c = 0; c < 3; c++) {
    const int pw = c ? pic.chroma_width() : w, ph = c ? pic.chroma_height() : h;
    for (int y = 0; y < ph; y++)
      for (int x = 0; x < pw; x++) {
        const int cell = ((x / (c ? 3 : 6)) + (y / (c ? 2 : 5))) % 7;
        if ((x + 2 * y) % 40 < 20) pic.plane[c][size_t(y) * pw + x] = uint16_t(cell == 0 ? 900 - 100 * c : 120 + 60 * c);
      }
  }
  (void)rng;
  return pic;
}

struct Usage { int ts[3] = {0, 0, 0}, bdpcm[2] = {0, 0}, lfnst = 0, mts = 0; };

Usage round_trip(const Picture &pic, const EncoderConfig &cfg, const std::string &name) {
  Usage u;
  std::vector<CtuRecord> enc_recs, dec_recs;
  EncodeResult er;
  DecodeResult dr;
  try {
    er = encode_picture_records(pic, cfg, Hooks{}, &enc_recs);
    dr = decode_bitstream_records(er.bitstream.data(), er.bitstream.size(), DecodeOptions{}, Hooks{}, &dec_recs);
  } catch (const std::exception &e) {
    check(false, name + ": threw: " + e.what());
    return u;
  }
  check(enc_recs.size() == dec_recs.size(), name + ": number of CTU records");
  for (size_t i = 0; i < enc_recs.size() && i < dec_recs.size(); i++) {
    const std::string d = compare_records(enc_recs[i], dec_recs[i]);
    if (!d.empty()) {
      check(false, name + ": CTU " + std::to_string(i) + ": " + d);
      break;
    }
  }
  check(test_support::same_picture(er.recon, dr.picture), name + ": decoded picture == encoder reconstruction");
  for (const CtuRecord &r : enc_recs) {
    for (const CodingUnit &cu : r.cus)
      for (int ch = 0; ch < 2; ch++) u.bdpcm[ch] += cu.bdpcm_flag[ch];
    for (const TransformUnit &tu : r.tus)
      for (int c = 0; c < 3; c++) u.ts[c] += tu.cbf[c] && tu.transform_skip_flag[c];
  }
  for (int c = 0; c < 3; c++) check(dr.syntax.transform_skip[c] == u.ts[c], name + ": decoder's transform skip count");
  for (int ch = 0; ch < 2; ch++) check(dr.syntax.bdpcm[ch] == u.bdpcm[ch], name + ": decoder's BDPCM count");
  const auto &sy = dr.syntax;
  u.lfnst = sy.lfnst[0] + sy.lfnst[1];
  u.mts = sy.mts[0] + sy.mts[1] + sy.mts[2] + sy.mts[3];
  std::printf("%-34s %6zu bytes  TS Y/Cb/Cr %4d %4d %4d  BDPCM Y/C %4d %4d  LFNST %d MTS %d joint %d\n", name.c_str(),
              er.bitstream.size(), u.ts[0], u.ts[1], u.ts[2], u.bdpcm[0], u.bdpcm[1], u.lfnst, u.mts,
              sy.joint_cbcr[0] + sy.joint_cbcr[1] + sy.joint_cbcr[2]);
  return u;
}

void test_encode_decode() {
  struct Case { const char *name; int w, h, qp, preset; bool ts, bdpcm, dual; int bias; bool graphics; };
  const Case cases[] = {
      {"ts forced", 96, 64, 22, 1, true, false, true, 1000, false},
      {"ts+bdpcm forced", 96, 64, 27, 1, true, true, true, 1000, false},
      {"ts+bdpcm mixed", 136, 72, 22, 1, true, true, true, 40, false},
      {"ts+bdpcm mixed single tree", 77, 51, 27, 0, true, true, false, 40, false},
      {"bdpcm only (slow)", 40, 24, 32, 2, false, true, true, 40, false},
      {"ts+bdpcm mixed slow (MTS, LFNST)", 96, 64, 27, 2, true, true, true, 20, false},
      {"ts+bdpcm mixed slow single tree", 96, 64, 22, 2, true, true, false, 20, false},
      {"ts+bdpcm graphics", 128, 96, 27, 1, true, true, true, 0, true},
  };
  for (const Case &c : cases) {
    EncoderConfig cfg;
    test_support::without_intra_tools_and_dq(cfg);
    cfg.qp = c.qp;
    cfg.preset = c.preset;
    cfg.transform_skip = c.ts;
    cfg.bdpcm = c.bdpcm;
    cfg.dual_tree = c.dual;
    cfg.ts_test_bias = c.bias;
    const Picture pic = c.graphics ? graphics_picture(c.w, c.h, 3) : test_support::test_picture(c.w, c.h, 5);
    const Usage u = round_trip(pic, cfg, c.name);
    if (c.ts) check(u.ts[0] > 0 && u.ts[1] + u.ts[2] > 0, std::string(c.name) + ": transform skip used (Y and C)");
    if (c.bdpcm && c.bias) check(u.bdpcm[0] > 0 && u.bdpcm[1] > 0, std::string(c.name) + ": BDPCM used (Y and C)");
    // Slow: explicit MTS and LFNST in the same streams as transform skip.
    if (c.ts && c.preset == 2) check(u.lfnst + u.mts > 0, std::string(c.name) + ": LFNST / MTS used beside transform skip");
  }
}

}  // namespace

int main() {
  init_tables();
  test_level_prediction();
  test_ts_round_trip();
  test_ts_reconstruction();
  test_bdpcm_prediction_and_deblocking();
  test_encode_decode();
  if (g_failures) {
    std::printf("%d failure(s)\n", g_failures);
    return 1;
  }
  std::printf("all transform skip tests passed\n");
  return 0;
}
