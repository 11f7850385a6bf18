// Unit tests of rectangular intra sample prediction and CCLM
// (cpp/intra_pred.cpp, clause 8.4.5.2): square outputs unchanged against a
// hash recorded from the square-only predictor, rectangular properties,
// the wide-angle mode mapping (8.4.5.2.7) and CCLM (8.4.5.2.13).
// Plain executable: exit 0 = pass.
#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "intra_pred.h"
#include "tables.h"
#include "test_support.h"

namespace {

using namespace pyvtm;
using test_support::check;
using test_support::g_failures;

constexpr int kBitDepth = 10;

uint64_t fnv(uint64_t h, int v) {
  h ^= uint64_t(uint16_t(v));
  return h * 1099511628211ull;
}

// Hashes recorded from the square-only predictor (commit f881655) with the
// generators below; the rectangular code must reproduce them exactly.
constexpr uint64_t kSquarePredHash = 0x807a0a3d8156da8aull;
constexpr uint64_t kSquareRefsHash = 0x3209ce0aa02f9f54ull;

// (1a) All 67 modes, sides 4..64, luma and chroma, on pseudo-random
// references (0..2N valid, replicated past the end as build_intra_refs does).
uint64_t square_pred_hash() {
  uint64_t h = 1469598103934665603ull;
  std::mt19937 rng(1234);
  for (int log2n = 2; log2n <= 6; log2n++) {
    const int n = 1 << log2n;
    for (int rep = 0; rep < 4; rep++) {
      IntraRefs r;
      for (int i = 0; i <= 2 * n; i++) {
        r.top[i] = Pel(rng() % 1024);
        r.left[i] = Pel(rng() % 1024);
      }
      r.left[0] = r.top[0];
      r.top[2 * n + 1] = r.top[2 * n + 2] = r.top[2 * n];
      r.left[2 * n + 1] = r.left[2 * n + 2] = r.left[2 * n];
      for (int luma = 0; luma < 2; luma++)
        for (int mode = 0; mode < 67; mode++) {
          Pel dst[64 * 64];
          predict_intra(mode, log2n, luma != 0, r, kBitDepth, dst);
          for (int i = 0; i < n * n; i++) h = fnv(h, dst[i]);
        }
    }
  }
  return h;
}

// (1b) build_intra_refs for square blocks on a random plane with random
// availability maps (continues the generator of (1a)).
uint64_t square_refs_hash() {
  std::mt19937 rng(1234);
  // Advance the generator exactly as square_pred_hash() does.
  for (int log2n = 2; log2n <= 6; log2n++)
    for (int rep = 0; rep < 4; rep++)
      for (int i = 0; i <= 2 * (1 << log2n); i++) { rng(); rng(); }
  uint64_t hb = 1469598103934665603ull;
  Plane pl;
  pl.allocate(256, 256);
  for (auto &v : pl.data) v = Pel(rng() % 1024);
  std::vector<uint8_t> map(64 * 64);
  for (int rep = 0; rep < 200; rep++) {
    for (auto &m : map) m = uint8_t(rng() % 4 != 0);
    if (rep % 10 == 0)
      for (auto &m : map) m = 0;
    const int pw = 256 - 4 * int(rng() % 8);
    const int ph = 256 - 4 * int(rng() % 8);
    RefAvailability av{map.data(), 64, 2, pw, ph};
    const int log2n = 2 + int(rng() % 5);
    const int x0 = 4 * int(rng() % 64);
    const int y0 = 4 * int(rng() % 64);
    IntraRefs r;
    build_intra_refs(pl, av, x0, y0, log2n, kBitDepth, r);
    const int n = 1 << log2n;
    for (int i = 0; i <= 2 * n; i++) {
      hb = fnv(hb, r.top[i]);
      hb = fnv(hb, r.left[i]);
    }
  }
  return hb;
}

void test_square_unchanged() {
  const uint64_t hp = square_pred_hash(), hr = square_refs_hash();
  std::printf("square hashes: pred %016llx refs %016llx\n", (unsigned long long)hp, (unsigned long long)hr);
  check(hp == kSquarePredHash, "square prediction hash unchanged");
  check(hr == kSquareRefsHash, "square reference hash unchanged");
}


// ---------------------------------------------------------------------------
// (2) Rectangular blocks.

constexpr int kLog2Min = 2, kLog2Max = 6;

// Constant references give a constant prediction for every mode, every
// size (4..64 each side) and both channel types.
void test_rect_constant() {
  for (int c_idx = 0; c_idx < 2; c_idx++)
    for (int log2w = kLog2Min; log2w <= kLog2Max; log2w++)
      for (int log2h = kLog2Min; log2h <= kLog2Max; log2h++) {
        const int w = 1 << log2w, h = 1 << log2h;
        IntraRefs r;
        for (Pel &v : r.top) v = 517;
        for (Pel &v : r.left) v = 517;
        int bad = 0;
        for (int mode = 0; mode < 67; mode++) {
          std::vector<Pel> dst(size_t(w * h), -1);
          predict_intra(mode, log2w, log2h, c_idx, r, kBitDepth, dst.data());
          for (Pel v : dst) bad += v != 517;
        }
        check(bad == 0, "constant refs -> constant prediction " + std::to_string(w) + "x" + std::to_string(h) +
                            " c" + std::to_string(c_idx));
      }
}

// Random references (as build_intra_refs leaves them: replicated past
// 2W / 2H) for a W x H block.
IntraRefs random_refs(std::mt19937 &rng, int w, int h) {
  IntraRefs r;
  for (int i = 0; i <= 2 * w; i++) r.top[i] = Pel(rng() % 1024);
  for (int i = 1; i <= 2 * h; i++) r.left[i] = Pel(rng() % 1024);
  r.left[0] = r.top[0];
  for (size_t i = 2 * w + 1; i < sizeof(r.top) / sizeof(Pel); i++) r.top[i] = r.top[2 * w];
  for (size_t i = 2 * h + 1; i < sizeof(r.left) / sizeof(Pel); i++) r.left[i] = r.left[2 * h];
  return r;
}

// Transposition symmetry: predicting W x H with mode m from (top, left)
// equals the transpose of predicting H x W with the mirrored mode
// (68 - m for angular modes) from (left, top). Exercises the vertical and
// horizontal paths, the wide-angle mapping on both sides and the
// size-dependent filter decisions. Also: outputs stay within the sample range.
void test_rect_transpose() {
  std::mt19937 rng(77);
  for (int c_idx = 0; c_idx < 2; c_idx++)
    for (int log2w = kLog2Min; log2w <= kLog2Max; log2w++)
      for (int log2h = kLog2Min; log2h <= kLog2Max; log2h++) {
        const int w = 1 << log2w, h = 1 << log2h;
        const IntraRefs r = random_refs(rng, w, h);
        IntraRefs rt;
        for (size_t i = 0; i < sizeof(r.top) / sizeof(Pel); i++) { rt.top[i] = r.left[i]; rt.left[i] = r.top[i]; }
        int mismatches = 0, out_of_range = 0;
        for (int mode = 0; mode < 67; mode++) {
          const int mirrored = mode < 2 ? mode : 68 - mode;
          std::vector<Pel> a(size_t(w * h)), b(size_t(w * h));
          predict_intra(mode, log2w, log2h, c_idx, r, kBitDepth, a.data());
          predict_intra(mirrored, log2h, log2w, c_idx, rt, kBitDepth, b.data());
          for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
              mismatches += a[size_t(y * w + x)] != b[size_t(x * h + y)];
              out_of_range += a[size_t(y * w + x)] < 0 || a[size_t(y * w + x)] > 1023;
            }
        }
        const std::string what = std::to_string(w) + "x" + std::to_string(h) + " c" + std::to_string(c_idx);
        check(mismatches == 0, "transpose symmetry " + what);
        check(out_of_range == 0, "prediction within sample range " + what);
      }
}

// Hand-derived samples of the rectangular processes.
void test_rect_hand_cases() {
  // DC of a 32x8 block averages the 32 top samples only (8.4.5.2.11);
  // PDPC leaves x >= 6, y >= 6 untouched (nScale = 1).
  {
    IntraRefs r;
    for (Pel &v : r.top) v = 100;
    for (Pel &v : r.left) v = 900;
    r.top[0] = r.left[0] = 500;
    std::vector<Pel> dst(32 * 8);
    predict_intra(INTRA_DC, 5, 3, 0, r, kBitDepth, dst.data());
    check(dst[7 * 32 + 20] == 100, "DC 32x8 uses the top side only");
    predict_intra(INTRA_DC, 3, 5, 0, r, kBitDepth, dst.data());  // 8x32: left only
    check(dst[20 * 8 + 7] == 900, "DC 8x32 uses the left side only");
  }
  // Planar of a 16x4 chroma block (no [1 2 1]) with top = T, left = L:
  // predV = ((3 - y) T + (y + 1) L) << 4, predH = ((15 - x) L + (x + 1) T) << 2,
  // (predV + predH + 64) >> 7, then PDPC with nScale = (4 + 2 - 2) >> 2 = 1.
  {
    IntraRefs r;
    const int t = 200, l = 600;
    for (Pel &v : r.top) v = t;
    for (Pel &v : r.left) v = l;
    std::vector<Pel> dst(16 * 4);
    predict_intra(INTRA_PLANAR, 4, 2, 1, r, kBitDepth, dst.data());  // chroma: no [1 2 1]
    int bad = 0;
    for (int y = 0; y < 4; y++)
      for (int x = 0; x < 16; x++) {
        int v = ((((3 - y) * t + (y + 1) * l) << 4) + (((15 - x) * l + (x + 1) * t) << 2) + 64) >> 7;
        const int sx = (2 * x) >> 1, sy = (2 * y) >> 1;
        const int wl = sx > 5 ? 0 : 32 >> sx, wt = sy > 5 ? 0 : 32 >> sy;
        v = v + ((wl * (l - v) + wt * (t - v) + 32) >> 6);
        bad += dst[size_t(y * 16 + x)] != v;
      }
    check(bad == 0, "planar 16x4 with PDPC");
  }
  // Interpolation filter choice with nTbS = (Log2(W) + Log2(H)) >> 1: mode 60
  // (minDistVerHor 10, intraPredAngle 16), row 0 has iIdx 0, iFact 16:
  // fC for 16x4 (nTbS 3, threshold 14), fG = {8, 24, 24, 8} for 32x8 and
  // 16x16 (nTbS 4, threshold 2). Columns x >= 6 are beyond PDPC's reach.
  {
    std::mt19937 rng(4);
    const int sizes[3][2] = {{4, 2}, {5, 3}, {4, 4}};
    for (const auto &sz : sizes) {
      const int w = 1 << sz[0], h = 1 << sz[1];
      const IntraRefs r = random_refs(rng, w, h);
      std::vector<Pel> dst(size_t(w * h));
      predict_intra(60, sz[0], sz[1], 0, r, kBitDepth, dst.data());
      const bool gauss = sz[0] + sz[1] >= 8;
      int bad = 0;
      for (int x = 6; x < w; x++) {
        int v = 0;
        for (int i = 0; i < 4; i++) {
          const int f = gauss ? (i == 0 || i == 3 ? 8 : 24) : g_intra_cubic_filter[16][i];
          v += f * r.top[x + i];
        }
        v = std::min(1023, std::max(0, (v + 32) >> 6));
        bad += dst[size_t(x)] != v;
      }
      check(bad == 0, std::string("interpolation filter ") + (gauss ? "fG " : "fC ") + std::to_string(w) + "x" +
                          std::to_string(h));
    }
  }
  // Wide angle, integer slope: 8x4, coded mode 7 -> 72 (intraPredAngle 64):
  // pred[x][y] = p[x + 2y + 2][-1] where PDPC does not reach (x >= 6;
  // nScale = 1), no [1 2 1] filtering (8x4 = 32 samples). Mirror for 4x8,
  // coded mode 61 -> -6: pred[x][y] = p[-1][y + 2x + 2] for y >= 6.
  {
    std::mt19937 rng(5);
    for (int c_idx = 0; c_idx < 2; c_idx++) {
      const IntraRefs r = random_refs(rng, 8, 8);
      std::vector<Pel> dst(32);
      int bad = 0;
      predict_intra(7, 3, 2, c_idx, r, kBitDepth, dst.data());
      for (int y = 0; y < 4; y++)
        for (int x = 6; x < 8; x++) bad += dst[size_t(y * 8 + x)] != r.top[1 + x + 2 * y + 2];
      predict_intra(61, 2, 3, c_idx, r, kBitDepth, dst.data());
      for (int y = 6; y < 8; y++)
        for (int x = 0; x < 4; x++) bad += dst[size_t(y * 4 + x)] != r.left[1 + y + 2 * x + 2];
      check(bad == 0, "wide angle 72 / -6 direction c" + std::to_string(c_idx));
    }
  }
  // Wide angle 80 (intraPredAngle 512) on 64x4: coded mode 15, luma; p filtered
  // with [1 2 1] (256 samples): pred[x][y] = pF[x + 16(y + 1)][-1] for x >= 12
  // (nScale = 2).
  {
    std::mt19937 rng(6);
    const IntraRefs r = random_refs(rng, 64, 4);
    std::vector<Pel> dst(64 * 4);
    predict_intra(15, 6, 2, 0, r, kBitDepth, dst.data());
    int bad = 0;
    for (int y = 0; y < 4; y++)
      for (int x = 12; x < 64; x++) {
        const int i = 1 + x + 16 * (y + 1);  // pF[x + 16(y + 1)][-1] in the IntraRefs layout
        const int pf = i == 128 ? r.top[128] : (r.top[i - 1] + 2 * r.top[i] + r.top[i + 1] + 2) >> 2;
        bad += dst[size_t(y * 64 + x)] != pf;
      }
    check(bad == 0, "wide angle 80 on 64x4 with [1 2 1] references");
  }
}

// ---------------------------------------------------------------------------
// (3) Wide-angle mode mapping (8.4.5.2.7), checked against the replaced
// ranges listed per aspect ratio: W = 2^r H replaces modes 2..(r > 1 ?
// 7 + 2r : 7) by +65; H = 2^r W replaces (r > 1 ? 61 - 2r : 61)..66 by -67.
void test_wide_angle_mapping() {
  struct Case { int log2w, log2h, first, last, delta; };
  const Case cases[] = {
      {3, 2, 2, 7, 65},   {4, 3, 2, 7, 65},   {2, 3, 61, 66, -67}, {4, 5, 61, 66, -67},
      {4, 2, 2, 11, 65},  {2, 4, 57, 66, -67}, {5, 2, 2, 13, 65},  {2, 5, 55, 66, -67},
      {6, 2, 2, 15, 65},  {2, 6, 53, 66, -67}, {6, 3, 2, 13, 65},  {3, 6, 55, 66, -67},
  };
  for (const Case &c : cases) {
    for (int mode = 0; mode <= 66; mode++) {
      const bool replaced = mode >= c.first && mode <= c.last;
      const int want = replaced ? mode + c.delta : mode;
      check(wide_angle_mode(mode, c.log2w, c.log2h) == want,
            "wide angle " + std::to_string(1 << c.log2w) + "x" + std::to_string(1 << c.log2h) + " mode " +
                std::to_string(mode));
    }
  }
  // Square blocks: identity. Extremes: 67..80 and -1..-14 reached.
  for (int log2n = 2; log2n <= 6; log2n++)
    for (int mode = 0; mode <= 66; mode++) check(wide_angle_mode(mode, log2n, log2n) == mode, "square identity");
  check(wide_angle_mode(15, 6, 2) == 80 && wide_angle_mode(16, 6, 2) == 16, "64x4 top of the range");
  check(wide_angle_mode(53, 2, 6) == -14 && wide_angle_mode(52, 2, 6) == 52, "4x64 bottom of the range");
}

}  // namespace

int main() {
  test_square_unchanged();
  test_rect_constant();
  test_rect_transpose();
  test_rect_hand_cases();
  test_wide_angle_mapping();
  if (g_failures) {
    std::printf("%d failure(s)\n", g_failures);
    return 1;
  }
  std::printf("all intra rect tests passed\n");
  return 0;
}
