// Unit tests of rectangular intra sample prediction and CCLM
// (cpp/intra_pred.cpp, clause 8.4.5.2): square outputs unchanged against a
// hash recorded from the square-only predictor, rectangular properties,
// the wide-angle mode mapping (8.4.5.2.7) and CCLM (8.4.5.2.14).
// Plain executable: exit 0 = pass.
#include <algorithm>
#include <cmath>
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
          predict_intra(mode, log2n, log2n, luma ? 0 : 1, r, kBitDepth, dst);
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
    build_intra_refs(pl, av, x0, y0, log2n, log2n, kBitDepth, r);
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

// build_intra_refs for W x H (8.4.5.2.8 / 8.4.5.2.9): 2W top and 2H left
// samples; unavailable above-right samples repeat p[W-1][-1], unavailable
// below-left samples take p[-1][H-1] (substitution runs from p[-1][2H-1]
// upwards); nothing available gives 1 << (BitDepth - 1); the last sample
// is repeated to the end of each array.
void test_rect_refs() {
  std::mt19937 rng(31);
  Plane pl;
  pl.allocate(256, 256);
  for (auto &v : pl.data) v = Pel(rng() % 1024);
  std::vector<uint8_t> map(64 * 64);
  const RefAvailability av{map.data(), 64, 2, 256, 256};
  const int x0 = 64, y0 = 64;
  for (int log2w = kLog2Min; log2w <= kLog2Max; log2w++)
    for (int log2h = kLog2Min; log2h <= kLog2Max; log2h++) {
      const int w = 1 << log2w, h = 1 << log2h;
      const std::string what = std::to_string(w) + "x" + std::to_string(h);
      for (int ext = 0; ext < 3; ext++) {
        // ext 0: everything above and left available; 1: no above-right /
        // below-left; 2: nothing.
        std::fill(map.begin(), map.end(), 0);
        if (ext < 2) {
          for (int y = 0; y < y0 / 4; y++)
            for (int x = 0; x < (x0 + (ext == 0 ? 2 * w : w)) / 4; x++) map[size_t(y * 64 + x)] = 1;
          for (int y = y0 / 4; y < (y0 + (ext == 0 ? 2 * h : h)) / 4; y++)
            for (int x = 0; x < x0 / 4; x++) map[size_t(y * 64 + x)] = 1;
        }
        IntraRefs r;
        build_intra_refs(pl, av, x0, y0, log2w, log2h, kBitDepth, r);
        bool ok = true;
        if (ext == 2) {
          for (int i = 0; i <= 2 * w; i++) ok = ok && r.top[i] == 512;
          for (int i = 0; i <= 2 * h; i++) ok = ok && r.left[i] == 512;
        } else {
          ok = ok && r.top[0] == pl.at(x0 - 1, y0 - 1) && r.left[0] == r.top[0];
          for (int x = 0; x < 2 * w; x++)
            ok = ok && r.top[1 + x] == pl.at(x0 + (ext == 1 ? std::min(x, w - 1) : x), y0 - 1);
          for (int y = 0; y < 2 * h; y++)
            ok = ok && r.left[1 + y] == pl.at(x0 - 1, y0 + (ext == 1 ? std::min(y, h - 1) : y));
        }
        for (size_t i = 2 * w + 1; i < sizeof(r.top) / sizeof(Pel); i++) ok = ok && r.top[i] == r.top[2 * w];
        for (size_t i = 2 * h + 1; i < sizeof(r.left) / sizeof(Pel); i++) ok = ok && r.left[i] == r.left[2 * h];
        check(ok, "build_intra_refs " + what + " case " + std::to_string(ext));
      }
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
  // DC of a 32x8 block averages the 32 top samples only (8.4.5.2.12);
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

// ---------------------------------------------------------------------------
// (4) CCLM (8.4.5.2.14).

constexpr int kSceneC = 256;       // chroma plane side of a CCLM scene
constexpr int kXc = 64, kYc = 64;  // chroma block position; luma (128, 128)

struct CclmScene {
  Plane luma, chroma;
  std::vector<uint8_t> map;  // chroma availability, one byte per sample
  CclmScene() {
    luma.allocate(2 * kSceneC, 2 * kSceneC);
    chroma.allocate(kSceneC, kSceneC);
    map.assign(size_t(kSceneC) * kSceneC, 0);
  }
  RefAvailability av() const { return RefAvailability{map.data(), kSceneC, 0, kSceneC, kSceneC}; }
  void mark(int x0, int y0, int x1, int y1) {
    for (int y = y0; y < y1; y++)
      for (int x = x0; x < x1; x++) map[size_t(y) * kSceneC + x] = 1;
  }
  // Luma sample at (x, y) relative to the collocated luma block.
  Pel &l(int x, int y) { return luma.at(2 * kXc + x, 2 * kYc + y); }
};

// The downsampled luma of 8.4.5.2.14 at chroma offset (x, y) from the block,
// written out from the standard's equations: six taps over luma rows 2y and
// 2y + 1 (the top neighbour row uses luma rows -2, -1), three taps over luma
// row -1 alone for the top row at a CTU top boundary; without the left
// neighbour pY[-1][*] = pY[0][*].
int ds_expected(CclmScene &s, int x, int y, bool avail_l, bool ctu_top) {
  auto p = [&](int xx, int yy) { return int(s.l(xx < 0 && !avail_l ? 0 : xx, yy)); };
  if (y < 0 && ctu_top) return (p(2 * x - 1, -1) + 2 * p(2 * x, -1) + p(2 * x + 1, -1) + 2) >> 2;
  const int xx = 2 * x, yy = 2 * y;
  return (p(xx - 1, yy) + p(xx - 1, yy + 1) + 2 * p(xx, yy) + 2 * p(xx, yy + 1) + p(xx + 1, yy) +
          p(xx + 1, yy + 1) + 4) >> 3;
}

struct Affine { double a, b; };

int affine(const Affine &f, int ds) { return int(std::floor(f.a * ds + f.b + 0.5)); }

// Chroma neighbours (top row x = -1..2W-1, left column y = 0..2H-1) set to
// the affine function of the downsampled luma there.
void set_chroma_neighbours(CclmScene &s, int w, int h, const Affine &f, bool avail_l, bool ctu_top) {
  for (int x = -1; x < 2 * w; x++) s.chroma.at(kXc + x, kYc - 1) = Pel(affine(f, ds_expected(s, x, -1, avail_l, ctu_top)));
  for (int y = 0; y < 2 * h; y++) s.chroma.at(kXc - 1, kYc + y) = Pel(affine(f, ds_expected(s, -1, y, avail_l, ctu_top)));
}

// Largest |prediction - affine(ds)| over the block.
double cclm_error(CclmScene &s, int mode, int log2w, int log2h, const Affine &f, bool avail_l, int log2_ctu,
                  std::vector<Pel> *pred_out = nullptr) {
  const int w = 1 << log2w, h = 1 << log2h;
  std::vector<Pel> pred(size_t(w * h));
  predict_cclm(mode, s.luma, s.chroma, s.av(), kXc, kYc, log2w, log2h, log2_ctu, kBitDepth, pred.data());
  double err = 0;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      err = std::max(err, std::abs(pred[size_t(y * w + x)] - (f.a * ds_expected(s, x, y, avail_l, false) + f.b)));
  if (pred_out) *pred_out = pred;
  return err;
}

// Luma of the scene: above the block a ramp along x (identical rows), left
// of it a ramp along y, inside a plane with both slopes (the 6-tap filter
// reproduces linear luma exactly, checked below).
void fill_luma(CclmScene &s, int w, int h) {
  const int cx = 64 / w, by = std::max(2, 128 / h), bx = 4;
  for (int y = -8; y < 4 * h; y++)
    for (int x = -8; x < 4 * w; x++) {
      int v;
      if (y < 0) v = 300 + cx * x;
      else if (x < 0) v = 100 - bx + by * y;
      else v = 100 + bx * x + by * y;
      s.l(x, y) = Pel(v);
    }
}

void test_cclm_affine() {
  const Affine slopes[] = {{1, 0}, {0.5, 100}, {0.75, 50}, {-1, 1000}, {-0.5, 700}, {1.25, -100}, {0, 600}};
  enum { FULL, TOP_ONLY, LEFT_ONLY, NONE };
  const char *avail_names[] = {"full", "top only", "left only", "none"};
  const char *mode_names[] = {"LT_CCLM", "L_CCLM", "T_CCLM"};
  CclmScene s;
  // The test's downsampling reproduces linear luma: inside the block
  // ds(x, y) = 100 + 4 * 2x + by * (2y + 1/2).
  {
    fill_luma(s, 16, 16);
    bool ok = true;
    for (int y = 0; y < 16; y++)
      for (int x = 0; x < 16; x++) ok = ok && ds_expected(s, x, y, true, false) == 100 + 8 * x + 8 * (2 * y) + 4;
    check(ok, "6-tap downsampling of linear luma");
  }
  for (int mode = INTRA_LT_CCLM; mode <= INTRA_T_CCLM; mode++)
    for (int avail = FULL; avail <= NONE; avail++) {
      double worst = 0;
      int default_bad = 0;
      for (int log2w = kLog2Min; log2w <= kLog2Max; log2w++)
        for (int log2h = kLog2Min; log2h <= kLog2Max; log2h++) {
          const int w = 1 << log2w, h = 1 << log2h;
          fill_luma(s, w, h);
          std::fill(s.map.begin(), s.map.end(), 0);
          // Above-right / below-left available only where that keeps the
          // number of samples a power of two (exact slope): T_CCLM uses
          // W + Min(numTopRight, H) samples, L_CCLM H + Min(numLeftBelow, W).
          const int top_ext = w <= h ? 2 * w : w, left_ext = h <= w ? 2 * h : h;
          const bool avail_t = avail == FULL || avail == TOP_ONLY;
          const bool avail_l = avail == FULL || avail == LEFT_ONLY;
          if (avail_t) s.mark(0, 0, kXc + top_ext, kYc);
          if (avail_l) s.mark(0, kYc, kXc, kYc + left_ext);
          const bool none = (mode == INTRA_LT_CCLM && !avail_t && !avail_l) || (mode == INTRA_L_CCLM && !avail_l) ||
                            (mode == INTRA_T_CCLM && !avail_t);
          for (const Affine &f : slopes) {
            set_chroma_neighbours(s, w, h, f, avail_l, false);
            std::vector<Pel> pred;
            const double err = cclm_error(s, mode, log2w, log2h, f, avail_l, 8, &pred);
            if (none) {
              for (Pel v : pred) default_bad += v != 512;
            } else {
              worst = std::max(worst, err);
            }
          }
        }
      const std::string what = std::string(mode_names[mode - INTRA_LT_CCLM]) + ", " + avail_names[avail];
      std::printf("CCLM %-22s max |pred - (a*ds + b)| = %.2f\n", what.c_str(), worst);
      check(worst <= 1.0, "CCLM predicts the affine function: " + what);
      check(default_bad == 0, "CCLM without samples predicts 1 << (BitDepth - 1): " + what);
    }
}

// T_CCLM / L_CCLM take their extra samples above-right / below-left: with
// the first W (H) neighbours at one luma level the model comes only from
// the extension; LT_CCLM on the same scene predicts flat.
void test_cclm_extension() {
  CclmScene s;
  const Affine f{1, 50};
  for (int side = 0; side < 2; side++) {
    const int log2w = 3, log2h = 3, w = 8, h = 8;
    for (int y = -8; y < 4 * h; y++)
      for (int x = -8; x < 4 * w; x++) {
        int v = 200 + 3 * x + 5 * y;  // inside the block
        if (y < 0) v = side == 0 ? (x < 2 * w + 2 ? 400 : 400 + 8 * (x - 2 * w)) : 400;
        else if (x < 0) v = side == 1 ? (y < 2 * h + 2 ? 400 : 400 + 8 * (y - 2 * h)) : 400;
        s.l(x, y) = Pel(v);
      }
    std::fill(s.map.begin(), s.map.end(), 0);
    s.mark(0, 0, kXc + 2 * w, kYc);
    s.mark(0, kYc, kXc, kYc + 2 * h);
    set_chroma_neighbours(s, w, h, f, true, false);
    const int mode = side == 0 ? INTRA_T_CCLM : INTRA_L_CCLM;
    const double err = cclm_error(s, mode, log2w, log2h, f, true, 8);
    check(err <= 1.0, std::string(side == 0 ? "T_CCLM uses above-right" : "L_CCLM uses below-left"));
    std::vector<Pel> pred;
    cclm_error(s, INTRA_LT_CCLM, log2w, log2h, f, true, 8, &pred);
    bool flat = true;
    for (Pel v : pred) flat = flat && v == pred[0];
    check(flat, "LT_CCLM ignores the extension");
  }
}

// bCTUboundary: at a CTU top boundary only luma row -1 feeds the top
// neighbours (three taps). Scenes whose chroma follows the three-tap (or
// the six-tap) downsampling are predicted exactly only with (without) the
// boundary; the other rows are made inconsistent on purpose.
void test_cclm_ctu_boundary() {
  CclmScene s;
  std::mt19937 rng(9);
  const int sizes[][2] = {{3, 3}, {4, 2}, {2, 4}};
  for (const auto &sz : sizes) {
    const int log2w = sz[0], log2h = sz[1], w = 1 << log2w, h = 1 << log2h;
    for (int mode : {int(INTRA_LT_CCLM), int(INTRA_T_CCLM)}) {
      std::fill(s.map.begin(), s.map.end(), 0);
      s.mark(0, 0, kXc + 2 * w, kYc);
      s.mark(0, kYc, kXc, kYc + 2 * h);
      const Affine f{1, 40};
      const std::string what = std::to_string(w) + "x" + std::to_string(h) + (mode == INTRA_T_CCLM ? " T" : " LT");
      // (a) Row -1 a ramp, rows above random: chroma from the three taps.
      fill_luma(s, w, h);
      for (int y = -8; y <= -2; y++)
        for (int x = -8; x < 4 * w; x++) s.l(x, y) = Pel(rng() % 1024);
      set_chroma_neighbours(s, w, h, f, true, true);
      // yc = 64 (luma 128): a CTU top for CtbSizeY 128, not for 256.
      check(cclm_error(s, mode, log2w, log2h, f, true, 7) <= 1.0, "CTU boundary uses one luma row " + what);
      check(cclm_error(s, mode, log2w, log2h, f, true, 8) > 1.0, "inside a CTU both rows are used " + what);
      // (b) Row -2 = row -1 + 64: chroma from the six taps.
      fill_luma(s, w, h);
      for (int x = -8; x < 4 * w; x++) s.l(x, -2) = Pel(s.l(x, -1) + 64);
      set_chroma_neighbours(s, w, h, f, true, false);
      check(cclm_error(s, mode, log2w, log2h, f, true, 8) <= 1.0, "inside a CTU: six taps over two rows " + what);
      check(cclm_error(s, mode, log2w, log2h, f, true, 7) > 1.0, "CTU boundary ignores row -2 " + what);
    }
  }
}

// The neighbour positions CCLM reads: chroma neighbours are random except
// at the positions 8.4.5.2.14 picks (transcribed below), which hold 600;
// luma is random. Reading only the picked positions gives a = 0, b = 600.
void test_cclm_pick_positions() {
  CclmScene s;
  std::mt19937 rng(21);
  int bad_blocks = 0, blocks = 0;
  for (int mode = INTRA_LT_CCLM; mode <= INTRA_T_CCLM; mode++)
    for (int log2w = kLog2Min; log2w <= kLog2Max; log2w++)
      for (int log2h = kLog2Min; log2h <= kLog2Max; log2h++)
        for (int avail = 0; avail < 4; avail++) {
          const int w = 1 << log2w, h = 1 << log2h;
          const bool avail_t = avail != 2, avail_l = avail != 1;
          // Partly available above-right / below-left extensions.
          const int num_top_right = avail == 3 ? w : int(rng() % (w + 1));
          const int num_left_below = avail == 3 ? h : int(rng() % (h + 1));
          std::fill(s.map.begin(), s.map.end(), 0);
          if (avail_t) s.mark(0, 0, kXc + w + num_top_right, kYc);
          if (avail_l) s.mark(0, kYc, kXc, kYc + h + num_left_below);
          for (int y = -8; y < 4 * h; y++)
            for (int x = -8; x < 4 * w; x++) s.l(x, y) = Pel(rng() % 1024);
          for (int x = -1; x < 2 * w; x++) s.chroma.at(kXc + x, kYc - 1) = Pel(rng() % 1024);
          for (int y = 0; y < 2 * h; y++) s.chroma.at(kXc - 1, kYc + y) = Pel(rng() % 1024);
          // numSampT / numSampL, then startPosN, pickStepN, cntN.
          int num_samp_t, num_samp_l;
          if (mode == INTRA_LT_CCLM) {
            num_samp_t = avail_t ? w : 0;
            num_samp_l = avail_l ? h : 0;
          } else {
            num_samp_t = avail_t && mode == INTRA_T_CCLM ? w + std::min(num_top_right, h) : 0;
            num_samp_l = avail_l && mode == INTRA_L_CCLM ? h + std::min(num_left_below, w) : 0;
          }
          const int num_is_4n = avail_t && avail_l && mode == INTRA_LT_CCLM ? 0 : 1;
          for (int side = 0; side < 2; side++) {
            const int n = side == 0 ? num_samp_t : num_samp_l;
            if (n == 0) continue;
            const int start = n >> (2 + num_is_4n), step = std::max(1, n >> (1 + num_is_4n));
            const int cnt = std::min(n, (1 + num_is_4n) << 1);
            for (int i = 0; i < cnt; i++) {
              const int pos = start + i * step;
              if (side == 0) s.chroma.at(kXc + pos, kYc - 1) = 600;
              else s.chroma.at(kXc - 1, kYc + pos) = 600;
            }
          }
          const int want = num_samp_t == 0 && num_samp_l == 0 ? 512 : 600;
          std::vector<Pel> pred(size_t(w * h));
          predict_cclm(mode, s.luma, s.chroma, s.av(), kXc, kYc, log2w, log2h, 8, kBitDepth, pred.data());
          bool ok = true;
          for (Pel v : pred) ok = ok && v == want;
          bad_blocks += !ok;
          blocks++;
        }
  check(bad_blocks == 0, "CCLM reads exactly the picked neighbours (" + std::to_string(bad_blocks) + " of " +
                             std::to_string(blocks) + " blocks wrong)");
}

}  // namespace

int main() {
  test_square_unchanged();
  test_rect_refs();
  test_rect_constant();
  test_rect_transpose();
  test_rect_hand_cases();
  test_wide_angle_mapping();
  test_cclm_affine();
  test_cclm_extension();
  test_cclm_ctu_boundary();
  test_cclm_pick_positions();
  if (g_failures) {
    std::printf("%d failure(s)\n", g_failures);
    return 1;
  }
  std::printf("all intra rect tests passed\n");
  return 0;
}
