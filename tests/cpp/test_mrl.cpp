// Unit tests of multiple reference line intra prediction (MRL):
//  - build_intra_refs on reference lines 1 and 2 (8.4.5.2.8 / 8.4.5.2.9):
//    the layout and the substitution of unavailable samples;
//  - predict_intra with refIdx 1, 2 on a hand-made plane against values
//    computed by hand (DC, vertical, horizontal, diagonal with the reference
//    extension) and against a direct transcription of 8.4.5.2.13 (cubic
//    interpolation where line 0 would smooth, no reference filtering, no
//    PDPC), wide angles included;
//  - intra_luma_ref_idx / intra_luma_mpm_idx CABAC round trip (7.3.11.5)
//    and sps_mrl_enabled_flag read back;
//  - encode / decode round trips with MRL forced (EncoderTestKnobs):
//    decoder output == encoder reconstruction, records equal, both lines
//    counted; with mrl off the SPS flag stays 0 and no CU uses MRL.
// Plain executable: exit 0 = pass.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "api.h"
#include "cabac.h"
#include "codec_internal.h"
#include "coding_tree.h"
#include "intra_pred.h"
#include "param_sets.h"
#include "syntax.h"
#include "tables.h"
#include "test_support.h"

namespace {

using namespace pyvtm;
using test_support::check;
using test_support::g_failures;
using test_support::same_picture;
using test_support::test_picture;

constexpr int kBitDepth = 10;

// A plane with p(X, Y) = X + 10 * Y (small values: hand-computable), every
// 4x4 unit reconstructed except those at or right / below of (bx, by) in
// the block's rows and the rows below it.
struct HandPlane {
  Plane pl;
  std::vector<uint8_t> map;
  int stride = 0;
  HandPlane(int w, int h, int bx, int by) {
    pl.allocate(w, h);
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++) pl.at(x, y) = Pel((x + 10 * y) % 1024);
    stride = w / 4;
    map.assign(size_t(stride) * (h / 4), 1);
    for (int y = by; y < h; y++)
      for (int x = bx; x < w; x++) map[size_t(y / 4) * stride + size_t(x / 4)] = 0;
  }
  RefAvailability av() const { return RefAvailability{map.data(), stride, 2, pl.width, pl.height}; }
};

void test_refs() {
  // 4x4 at (8, 8), line 1: top[i] = p(8 - 2 + i, 6), left[i] = p(6, 6 + i).
  HandPlane hp(32, 32, 8, 8);
  for (int r = 0; r <= 2; r++) {
    IntraRefs refs;
    build_intra_refs(hp.pl, hp.av(), 8, 8, 2, 2, kBitDepth, refs, r);
    bool ok = refs.ref_idx == r;
    const int yy = 8 - 1 - r, xx = 8 - 1 - r;
    for (int i = 0; i <= 8 + r; i++) {
      ok &= refs.top[i] == hp.pl.at(xx + i, yy);
      // left: rows 8.. of column xx are not reconstructed at x >= 8 only: xx < 8, so available up to y = 15.
      ok &= refs.left[i] == hp.pl.at(xx, yy + i);
    }
    ok &= refs.top[9 + r] == refs.top[8 + r] && refs.left[20] == refs.left[8 + r];  // replicated
    check(ok, "build_intra_refs line " + std::to_string(r) + " at (8, 8)");
  }
  // Block at (0, 8): the left column and the corner are outside the picture;
  // 8.4.5.2.9 substitutes them with the first available sample p(0, 8 - 1 - r).
  for (int r = 1; r <= 2; r++) {
    IntraRefs refs;
    build_intra_refs(hp.pl, hp.av(), 0, 8, 2, 2, kBitDepth, refs, r);
    const int yy = 8 - 1 - r;
    bool ok = true;
    for (int i = 0; i <= 8 + r; i++) ok &= refs.left[i] == hp.pl.at(0, yy);
    for (int i = 0; i <= r; i++) ok &= refs.top[i] == hp.pl.at(0, yy);  // x = -1 - r .. -1: substituted
    for (int i = r + 1; i <= 8 + r; i++) ok &= refs.top[i] == hp.pl.at(i - 1 - r, yy);
    check(ok, "build_intra_refs line " + std::to_string(r) + ": substitution of the left column and corner");
  }
  // Bottom-left not reconstructed: left samples below the block repeat p(-1-r, 11).
  {
    HandPlane h2(32, 32, 4, 12);  // units at x >= 4, y >= 12 missing: (6, 12..15) unavailable
    IntraRefs refs;
    build_intra_refs(h2.pl, h2.av(), 8, 8, 2, 2, kBitDepth, refs, 2);
    bool ok = true;
    for (int i = 0; i <= 10; i++) ok &= refs.left[i] == h2.pl.at(5, 5 + std::min(i, 6));
    check(ok, "build_intra_refs line 2: bottom-left substitution");
  }
}

void test_hand_predictions() {
  HandPlane hp(32, 32, 8, 8);
  Pel dst[64 * 64];
  IntraRefs r1, r2;
  build_intra_refs(hp.pl, hp.av(), 8, 8, 2, 2, kBitDepth, r1, 1);
  build_intra_refs(hp.pl, hp.av(), 8, 8, 2, 2, kBitDepth, r2, 2);
  // DC (8.4.5.2.12) from p[x][-1-r], p[-1-r][y], x, y = 0..3; no PDPC:
  // line 1: top 68..71 (278), left 86, 96, 106, 116 (404): (682 + 4) >> 3 = 85;
  // line 2: top 58..61 (238), left 85, 95, 105, 115 (400): (638 + 4) >> 3 = 80.
  predict_intra(INTRA_DC, 2, 2, 0, r1, kBitDepth, dst);
  check(std::all_of(dst, dst + 16, [](Pel v) { return v == 85; }), "DC on line 1");
  predict_intra(INTRA_DC, 2, 2, 0, r2, kBitDepth, dst);
  check(std::all_of(dst, dst + 16, [](Pel v) { return v == 80; }), "DC on line 2");
  // Vertical (50) on line 2: p(8 + x, 5) = 58 + x, no PDPC.
  predict_intra(INTRA_ANGULAR50, 2, 2, 0, r2, kBitDepth, dst);
  bool ok = true;
  for (int y = 0; y < 4; y++)
    for (int x = 0; x < 4; x++) ok &= dst[y * 4 + x] == 58 + x;
  check(ok, "vertical on line 2");
  // Horizontal (18) on line 1: p(6, 8 + y) = 86 + 10 y.
  predict_intra(INTRA_ANGULAR18, 2, 2, 0, r1, kBitDepth, dst);
  ok = true;
  for (int y = 0; y < 4; y++)
    for (int x = 0; x < 4; x++) ok &= dst[y * 4 + x] == 86 + 10 * y;
  check(ok, "horizontal on line 1");
  // Diagonal (66, intraPredAngle 32) on line 1: iIdx = y + 3,
  // ref[x + y + 4] = p(6 + x + y + 4 - 0, 6) up to ref[refW + refIdx] = p(15, 6),
  // then the extension p(15, 6): 68 + Min(x + y + 2, 7) (p(16, 6) = 76 is
  // reconstructed but lies beyond refW).
  predict_intra(INTRA_ANGULAR66, 2, 2, 0, r1, kBitDepth, dst);
  ok = true;
  for (int y = 0; y < 4; y++)
    for (int x = 0; x < 4; x++) ok &= dst[y * 4 + x] == 68 + std::min(x + y + 2, 7);
  check(ok, "diagonal on line 1 with the reference extension");
}

// Direct transcription of 8.4.5.2.13 for refIdx > 0 (luma: fC, no PDPC, no
// reference filtering) reading the plane p(x0 + x, y0 + y) through the
// substituted references (top[]/left[] as 8.4.5.2.9 leaves them).
void direct_angular(const IntraRefs &refs, int mode, int log2w, int log2h, int r, Pel *out) {
  const int w = 1 << log2w, h = 1 << log2h, ref_w = 2 * w, ref_h = 2 * h;
  const int pm = wide_angle_mode(mode, log2w, log2h);
  static const int kAngles[] = {0, 1, 2, 3, 4, 6, 8, 10, 12, 14, 16, 18, 20, 23, 26, 29, 32, 35, 39, 45, 51, 57, 64,
                                73, 86, 102, 128, 171, 256, 341, 512};
  int d = pm >= 34 ? pm - 50 : (pm >= 2 ? 18 - pm : 16 - pm);
  const int angle = d < 0 ? -kAngles[-d] : kAngles[d];
  // p[x][-1-r] = top[x + 1 + r], p[-1-r][y] = left[y + 1 + r] for x, y >= -1 - r.
  auto P = [&](int x, int y) -> int {
    if (y == -1 - r) return refs.top[std::min(x + 1 + r, ref_w + r)];
    return refs.left[std::min(y + 1 + r, ref_h + r)];
  };
  std::vector<int> ref_store(1024, 0);
  int *ref = ref_store.data() + 300;
  const bool ver = pm >= 34;
  const int n_main = ver ? w : h, n_side = ver ? h : w, ref_main = ver ? ref_w : ref_h;
  auto main_p = [&](int k) { return ver ? P(-1 - r + k, -1 - r) : P(-1 - r, -1 - r + k); };
  auto side_p = [&](int k) { return ver ? P(-1 - r, -1 - r + k) : P(-1 - r + k, -1 - r); };
  for (int k = 0; k <= n_main + r + 1; k++) ref[k] = main_p(k);
  if (angle < 0) {
    const int inv = (2 * 512 * 32 / -angle + 1) / 2;  // Round(512 * 32 / |angle|)
    for (int k = -n_side; k <= -1; k++) ref[k] = side_p(std::min((-k * inv + 256) >> 9, n_side));
  } else {
    for (int k = n_main + 2 + r; k <= ref_main + r; k++) ref[k] = main_p(k);
    for (int k = 1; k <= std::max(1, n_main / n_side) * r + 2; k++) ref[ref_main + r + k] = main_p(ref_main + r);  // p[refW - 1][-1 - refIdx]
  }
  for (int y = 0; y < n_side; y++) {  // y: row along the side direction
    const int i_idx = (((y + 1 + r) * angle) >> 5) + r, i_fact = ((y + 1 + r) * angle) & 31;
    for (int x = 0; x < n_main; x++) {
      int s = 0;
      for (int i = 0; i < 4; i++) s += g_intra_cubic_filter[i_fact][i] * ref[x + i_idx + i];
      const Pel v = Pel(std::min(1023, std::max(0, (s + 32) >> 6)));
      if (ver) out[y * w + x] = v;
      else out[x * w + y] = v;
    }
  }
}

void test_angular_against_transcription() {
  HandPlane hp(160, 160, 64, 64);
  // A textured plane so the interpolation matters.
  for (int y = 0; y < 160; y++)
    for (int x = 0; x < 160; x++) hp.pl.at(x, y) = Pel((x * 37 + y * 91 + ((x * y) % 29) * 11) % 1024);
  const int sizes[][2] = {{2, 2}, {4, 4}, {3, 2}, {2, 4}, {5, 3}, {6, 2}, {2, 6}, {6, 6}};
  int bad = 0, total = 0;
  for (const auto &sz : sizes)
    for (int r = 1; r <= 2; r++) {
      IntraRefs refs;
      build_intra_refs(hp.pl, hp.av(), 64, 64, sz[0], sz[1], kBitDepth, refs, r);
      for (int mode = 2; mode <= 66; mode++) {
        Pel a[64 * 64], b[64 * 64];
        predict_intra(mode, sz[0], sz[1], 0, refs, kBitDepth, a);
        direct_angular(refs, mode, sz[0], sz[1], r, b);
        total++;
        if (!std::equal(a, a + (1 << (sz[0] + sz[1])), b)) {
          if (bad++ < 5)
            std::printf("  mismatch: %dx%d line %d mode %d\n", 1 << sz[0], 1 << sz[1], r, mode);
        }
      }
    }
  check(bad == 0, "angular modes on lines 1, 2 match 8.4.5.2.13 (" + std::to_string(bad) + " of " +
                      std::to_string(total) + " differ)");
}

void test_syntax_roundtrip() {
  ContextSet wcs, rcs;
  wcs.init(32);
  rcs.init(32);
  CabacWriter w(false);
  w.start();
  const int mpm[6] = {INTRA_PLANAR, 50, 18, 46, 54, 2};
  std::vector<std::pair<int, int>> vals;
  for (int rep = 0; rep < 60; rep++) {
    const int r = rep % 3;
    const int mode = r ? mpm[1 + (rep / 3) % 5] : (rep * 11) % 67;
    write_intra_luma_ref_idx(w, wcs, r);
    write_intra_luma_mode(w, wcs, mode, mpm, r);
    vals.push_back({r, mode});
  }
  w.encode_terminate(1);
  w.rbsp_trailing_bits();
  const std::vector<uint8_t> bytes = w.bytes();
  CabacReader rd;
  rd.start(bytes.data(), bytes.size());
  bool ok = true;
  for (const auto &v : vals) {
    const int r = read_intra_luma_ref_idx(rd, rcs);
    ok &= r == v.first;
    ok &= read_intra_luma_mode(rd, rcs, mpm, r) == v.second;
  }
  check(ok && rd.decode_terminate() == 1, "intra_luma_ref_idx / intra luma mode CABAC round trip");
  // With intra_luma_ref_idx > 0 only intra_luma_mpm_idx is coded: planar or a
  // non-MPM mode cannot be written.
  bool threw = false;
  try {
    CabacWriter e(true);
    e.start();
    write_intra_luma_mode(e, wcs, INTRA_PLANAR, mpm, 1);
  } catch (const std::logic_error &) {
    threw = true;
  }
  check(threw, "planar with intra_luma_ref_idx 1 is refused by the writer");
}

void test_sps() {
  for (bool mrl : {false, true}) {
    SequenceParams s;
    s.pic_width = 64;
    s.pic_height = 48;
    s.level_idc = level_idc_for(64, 48);
    s.mrl = mrl;
    const auto bytes = write_sps(s);
    const SpsInfo back = read_sps(bytes);
    check(back.seq.mrl == mrl && write_sps(back.seq) == bytes,
          std::string("sps_mrl_enabled_flag ") + (mrl ? "1" : "0") + " read back");
  }
}

void test_roundtrips() {
  struct Case { int w, h, qp, preset, force; bool dual; };
  const Case cases[] = {{96, 72, 32, 1, 1, true}, {77, 51, 27, 0, 1, true}, {64, 48, 22, 2, 1, false},
                        {136, 136, 37, 1, 1, true}, {96, 72, 27, 1, 0, true}};
  for (const Case &c : cases) {
    EncoderConfig cfg;
    cfg.qp = c.qp;
    cfg.preset = c.preset;
    cfg.dual_tree = c.dual;
    cfg.mrl = true;
    g_encoder_test_knobs.force_mrl = c.force;
    std::vector<CtuRecord> er, dr;
    const EncodeResult e = encode_picture_records(test_picture(c.w, c.h, c.qp + 7), cfg, Hooks{}, &er);
    g_encoder_test_knobs = EncoderTestKnobs();
    const DecodeResult d = decode_bitstream_records(e.bitstream.data(), e.bitstream.size(), DecodeOptions(), Hooks{}, &dr);
    const std::string name = std::to_string(c.w) + "x" + std::to_string(c.h) + " qp " + std::to_string(c.qp) +
                             " preset " + std::to_string(c.preset) + " force " + std::to_string(c.force);
    check(same_picture(e.recon, d.picture), name + ": decoder output == encoder reconstruction");
    bool rec_ok = er.size() == dr.size();
    for (size_t i = 0; rec_ok && i < er.size(); i++) {
      const std::string diff = compare_records(er[i], dr[i]);
      if (!diff.empty()) std::printf("  CTU %zu: %s\n", i, diff.c_str());
      rec_ok = diff.empty();
    }
    check(rec_ok, name + ": records equal");
    int used[2] = {0, 0}, coded = 0;
    for (const CtuRecord &r : er)
      for (const CodingUnit &cu : r.cus) {
        if (cu.tree == DUAL_TREE_CHROMA) continue;
        if (cu.intra_luma_ref_idx) used[cu.intra_luma_ref_idx - 1]++;
        coded += (cu.y & 127) != 0 && !cu.bdpcm_flag[0];
      }
    check(d.syntax.mrl[0] == used[0] && d.syntax.mrl[1] == used[1], name + ": decoder counts the MRL CUs");
    if (c.force)
      check(used[0] > 0 && used[1] > 0 && used[0] + used[1] == coded,
            name + ": every CU below the CTU's first row uses line 1 or 2");
  }
  // Without the tool: no MRL CU.
  {
    EncoderConfig cfg;
    cfg.mrl = false;
    g_encoder_test_knobs.force_mrl = 1;  // no effect without sps_mrl_enabled_flag
    const EncodeResult e = encode_picture(test_picture(64, 48, 3), cfg);
    g_encoder_test_knobs = EncoderTestKnobs();
    const DecodeResult d = decode_bitstream(e.bitstream.data(), e.bitstream.size());
    check(d.syntax.mrl[0] + d.syntax.mrl[1] == 0, "no MRL without the tool");
  }
}

}  // namespace

int main() {
  test_refs();
  test_hand_predictions();
  test_angular_against_transcription();
  test_syntax_roundtrip();
  test_sps();
  test_roundtrips();
  std::printf("%d failure(s)\n", g_failures);
  return g_failures == 0 ? 0 : 1;
}
