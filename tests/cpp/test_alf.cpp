// ALF and CCALF (7.3.2.18, 7.3.11.2, 8.8.5):
//  (1) alf_data() APS write -> read round trips for random filters (several
//      luma filters with delta indices, clipping, chroma alternatives,
//      several CCALF filters), and the CTB syntax write -> read round trip;
//  (2) classification and luma / chroma / CCALF filtering against a direct
//      per-sample transcription of 8.8.5.2-8.8.5.7 (the equations with
//      Clip3 picture positions and the virtual-boundary tables), on pictures
//      whose last CTB row and column are cut by the picture edge;
//  (3) encode -> decode with ALF / CCALF: records (incl. the ALF CTB syntax)
//      equal, decoded picture == encoder reconstruction, luma (fixed and APS
//      filters), chroma and CCALF used; alf = false codes no ALF.
#include <cstdio>
#include <cmath>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "alf.h"
#include "bitstream.h"
#include "codec_internal.h"
#include "coding_tree.h"
#include "test_support.h"

using namespace pyvtm;
using test_support::check;

namespace {

AlfApsData random_aps(std::mt19937 &rng) {
  AlfApsData a;
  a.aps_id = int(rng() % 8);
  a.chroma_present = rng() % 4 != 0;
  do {
    a.luma_signal = rng() % 2;
    a.chroma_signal = a.chroma_present && rng() % 2;
    a.cc_signal[0] = a.chroma_present && rng() % 2;
    a.cc_signal[1] = a.chroma_present && rng() % 2;
  } while (!a.luma_signal && !a.chroma_signal && !a.cc_signal[0] && !a.cc_signal[1]);
  auto coeff = [&]() { return int16_t(rng() % 5 == 0 ? int(rng() % 256) - 128 : int(rng() % 21) - 10); };
  if (a.luma_signal) {
    a.luma_clip = rng() % 2;
    a.luma_num_filters = 1 + int(rng() % 25);
    for (int k = 0; k < kAlfNumClasses; k++)
      a.luma_coeff_delta_idx[k] = a.luma_num_filters > 1 ? uint8_t(rng() % a.luma_num_filters) : 0;
    for (int f = 0; f < a.luma_num_filters; f++)
      for (int j = 0; j < kAlfLumaTaps; j++) {
        a.luma_coeff[f][j] = coeff();
        a.luma_clip_idx[f][j] = a.luma_clip ? uint8_t(rng() % 4) : 0;
      }
  }
  if (a.chroma_signal) {
    a.chroma_clip = rng() % 2;
    a.chroma_num_alt = 1 + int(rng() % 8);
    for (int k = 0; k < a.chroma_num_alt; k++)
      for (int j = 0; j < kAlfChromaTaps; j++) {
        a.chroma_coeff[k][j] = coeff();
        a.chroma_clip_idx[k][j] = a.chroma_clip ? uint8_t(rng() % 4) : 0;
      }
  }
  for (int c = 0; c < 2; c++)
    if (a.cc_signal[c]) {
      a.cc_num_filters[c] = 1 + int(rng() % 4);
      for (int k = 0; k < a.cc_num_filters[c]; k++)
        for (int j = 0; j < kCcAlfTaps; j++) {
          const int m = int(rng() % 8);
          a.cc_coeff[c][k][j] = int16_t(m ? (rng() % 2 ? -1 : 1) * (1 << (m - 1)) : 0);
        }
    }
  return a;
}

void aps_round_trip() {
  std::mt19937 rng(3);
  int multi = 0, clips = 0, alts = 0, ccs = 0;
  for (int trial = 0; trial < 500; trial++) {
    const AlfApsData a = random_aps(rng);
    AlfApsData b;
    const bool is_alf = read_alf_aps_rbsp(write_alf_aps_rbsp(a), b);
    check(is_alf && a == b, "ALF APS round trip, trial " + std::to_string(trial));
    multi += a.luma_signal && a.luma_num_filters > 1;
    clips += a.luma_signal && a.luma_clip;
    alts += a.chroma_signal && a.chroma_num_alt > 1;
    ccs += (a.cc_signal[0] && a.cc_num_filters[0] > 1) || (a.cc_signal[1] && a.cc_num_filters[1] > 1);
  }
  check(multi > 50 && clips > 50 && alts > 50 && ccs > 50, "random APSs cover the syntax variants");
  // An APS of another type (LMCS: aps_params_type 1) is not read as ALF.
  BitWriter bw;
  bw.write(1, 3);
  bw.write(0, 5);
  bw.write(1, 1);
  bw.rbsp_trailing_bits();
  AlfApsData x;
  check(!read_alf_aps_rbsp(bw.bytes(), x), "an LMCS APS is not an ALF APS");
}

void ctb_syntax_round_trip() {
  std::mt19937 rng(5);
  int luma_aps = 0, alt = 0, cc2 = 0;
  for (int trial = 0; trial < 300; trial++) {
    AlfCtuSyntax s;
    s.sh.enabled = true;
    s.sh.num_aps_luma = int(rng() % 4);
    s.sh.cb = rng() % 2;
    s.sh.cr = rng() % 2;
    s.sh.cc[0] = rng() % 2;
    s.sh.cc[1] = rng() % 2;
    s.chroma_num_alt = 1 + int(rng() % 8);
    s.cc_num_filters[0] = 1 + int(rng() % 4);
    s.cc_num_filters[1] = 1 + int(rng() % 4);
    const int cx = 1 + int(rng() % 5), cy = 1 + int(rng() % 4);
    std::vector<AlfCtbParams> grid(size_t(cx * cy));
    for (auto &p : grid) {
      p.ctb_flag[0] = rng() % 2;
      if (p.ctb_flag[0]) {
        p.use_aps = s.sh.num_aps_luma > 0 && rng() % 2;
        if (p.use_aps) p.luma_prev_filter_idx = uint8_t(rng() % s.sh.num_aps_luma);
        else p.luma_fixed_filter_idx = uint8_t(rng() % 16);
        luma_aps += p.use_aps && p.luma_prev_filter_idx > 0;
      }
      for (int c = 0; c < 2; c++) {
        if (c ? s.sh.cr : s.sh.cb) {
          p.ctb_flag[c + 1] = rng() % 2;
          if (p.ctb_flag[c + 1]) p.filter_alt_idx[c] = uint8_t(rng() % s.chroma_num_alt);
          alt += p.filter_alt_idx[c] > 0;
        }
        if (s.sh.cc[c]) p.cc_idc[c] = uint8_t(rng() % (s.cc_num_filters[c] + 1));
        cc2 += p.cc_idc[c] > 1;
      }
    }
    CabacWriter w(false);
    w.start();
    ContextSet wc;
    wc.init(27);
    for (int i = 0; i < cx * cy; i++) {
      const int rx = i % cx, ry = i / cx;
      write_alf_ctb(w, wc, grid[size_t(i)], rx ? &grid[size_t(i - 1)] : nullptr, ry ? &grid[size_t(i - cx)] : nullptr,
                    s);
    }
    w.encode_terminate(1);
    w.rbsp_trailing_bits();
    CabacReader r;
    r.start(w.bytes().data(), w.bytes().size());
    ContextSet rc;
    rc.init(27);
    std::vector<AlfCtbParams> got(grid.size());
    bool ok = true;
    for (int i = 0; i < cx * cy; i++) {
      const int rx = i % cx, ry = i / cx;
      read_alf_ctb(r, rc, got[size_t(i)], rx ? &got[size_t(i - 1)] : nullptr, ry ? &got[size_t(i - cx)] : nullptr, s);
      ok = ok && got[size_t(i)] == grid[size_t(i)];
    }
    ok = ok && r.decode_terminate() == 1;
    check(ok, "ALF CTB syntax round trip, trial " + std::to_string(trial));
  }
  check(luma_aps > 20 && alt > 20 && cc2 > 20, "random CTB syntax covers prev filter idx, alternatives, CCALF idc > 1");
}

// ---------------------------------------------------------------------------
// Direct transcription of 8.8.5 (one sample at a time).

int c3(int lo, int hi, int v) { return v < lo ? lo : v > hi ? hi : v; }

// 8.8.5.3: filtIdx and transposeIdx of the 4x4 block holding (x, y) of the
// CTB at (xCtb, yCtb) (CtbSizeY = ctb).
void ref_classify(const Plane &rec, int xCtb, int yCtb, int ctb, int x, int y, int &filtIdx, int &transposeIdx) {
  const int W = rec.width, H = rec.height;
  const int x4 = x & ~3, y4 = y & ~3;  // block position in the CTB
  auto R = [&](int hx, int vy) { return int(rec.at(c3(0, W - 1, hx), c3(0, H - 1, vy))); };
  const int vb = yCtb + ctb - 4;
  int minY = -2, maxY = 5, ac = 64;
  if (y4 == ctb - 8) { maxY = 3; ac = 96; }
  else if (y4 == ctb - 4) { minY = 0; ac = 96; }
  long sumH = 0, sumV = 0, sumD0 = 0, sumD1 = 0;
  for (int j = minY; j <= maxY; j++)
    for (int i = -2; i <= 5; i++) {
      if (!((i % 2 == 0 && j % 2 == 0) || (i % 2 != 0 && j % 2 != 0))) continue;
      const int row = yCtb + y4 + j;
      // Rows on the other side of the virtual boundary are replaced by the
      // nearest row on this side.
      int up = row - 1, dn = row + 1;
      if (row < vb && dn >= vb) dn = vb - 1;
      if (row >= vb && up < vb) up = vb;
      const int xa = xCtb + x4 + i;
      const int cur = R(xa, row) << 1;
      sumV += std::abs(cur - R(xa, up) - R(xa, dn));
      sumH += std::abs(cur - R(xa - 1, row) - R(xa + 1, row));
      sumD0 += std::abs(cur - R(xa - 1, up) - R(xa + 1, dn));
      sumD1 += std::abs(cur - R(xa + 1, up) - R(xa - 1, dn));
    }
  int dirHV, dirD;
  long hv1, hv0, d1, d0;
  if (sumV > sumH) { hv1 = sumV; hv0 = sumH; dirHV = 1; } else { hv1 = sumH; hv0 = sumV; dirHV = 3; }
  if (sumD0 > sumD1) { d1 = sumD0; d0 = sumD1; dirD = 0; } else { d1 = sumD1; d0 = sumD0; dirD = 2; }
  const bool diag = d1 * hv0 > hv1 * d0;
  const long hvd1 = diag ? d1 : hv1, hvd0 = diag ? d0 : hv0;
  const int dir1 = diag ? dirD : dirHV, dir2 = diag ? dirHV : dirD;
  const int dirS = hvd1 * 2 > 9 * hvd0 ? 2 : (hvd1 > 2 * hvd0 ? 1 : 0);
  static const int varTab[16] = {0, 1, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 4};
  const int avgVar = varTab[c3(0, 15, int(((sumH + sumV) * ac) >> (4 + 10)))];
  static const int transposeTable[8] = {0, 1, 0, 2, 2, 3, 1, 3};
  transposeIdx = transposeTable[dir1 * 2 + (dir2 >> 1)];
  filtIdx = avgVar;
  if (dirS != 0) filtIdx += (((dir1 & 1) << 1) + dirS) * 5;
}

int ref_alf_luma(const Plane &rec, int xCtb, int yCtb, int ctb, int x, int y, const AlfFilterSet &fs) {
  int filtIdx, transposeIdx;
  ref_classify(rec, xCtb, yCtb, ctb, x, y, filtIdx, transposeIdx);
  static const int idxT[4][12] = {{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11},
                                  {9, 4, 10, 8, 1, 5, 11, 7, 3, 0, 2, 6},
                                  {0, 3, 2, 1, 8, 7, 6, 5, 4, 9, 10, 11},
                                  {9, 8, 10, 4, 3, 7, 11, 5, 1, 0, 2, 6}};
  int f[12], c[12];
  for (int j = 0; j < 12; j++) {
    f[j] = fs.coeff[filtIdx][idxT[transposeIdx][j]];
    c[j] = fs.clip[filtIdx][idxT[transposeIdx][j]];
  }
  const int W = rec.width, H = rec.height;
  auto hx = [&](int i) { return c3(0, W - 1, xCtb + x + i); };
  auto vy = [&](int j) { return c3(0, H - 1, yCtb + y + j); };
  // Table 45.
  int y1 = 1, y2 = 2, y3 = 3, shift = 7;
  if (y == ctb - 5 || y == ctb - 4) { y1 = y2 = y3 = 0; shift = 10; }
  else if (y == ctb - 6 || y == ctb - 3) { y1 = y2 = y3 = 1; }
  else if (y == ctb - 7 || y == ctb - 2) { y1 = 1; y2 = y3 = 2; }
  const int curr = rec.at(hx(0), vy(0));
  auto t = [&](int k, int i0, int j0, int i1, int j1) {
    return f[k] * (c3(-c[k], c[k], rec.at(hx(i0), vy(j0)) - curr) + c3(-c[k], c[k], rec.at(hx(i1), vy(j1)) - curr));
  };
  int sum = t(0, 0, y3, 0, -y3) + t(1, 1, y2, -1, -y2) + t(2, 0, y2, 0, -y2) + t(3, -1, y2, 1, -y2) +
            t(4, 2, y1, -2, -y1) + t(5, 1, y1, -1, -y1) + t(6, 0, y1, 0, -y1) + t(7, -1, y1, 1, -y1) +
            t(8, -2, y1, 2, -y1) + t(9, 3, 0, -3, 0) + t(10, 2, 0, -2, 0) + t(11, 1, 0, -1, 0);
  sum = curr + ((sum + (1 << (shift - 1))) >> shift);
  return c3(0, 1023, sum);
}

int ref_alf_chroma(const Plane &rec, int xCtb, int yCtb, int ctbC, int x, int y, const int16_t *f, const int16_t *c) {
  const int W = rec.width, H = rec.height;
  auto hx = [&](int i) { return c3(0, W - 1, xCtb + x + i); };
  auto vy = [&](int j) { return c3(0, H - 1, yCtb + y + j); };
  // Table 46.
  int y1 = 1, y2 = 2, shift = 7;
  if (y == ctbC - 3 || y == ctbC - 2) { y1 = y2 = 0; shift = 10; }
  else if (y == ctbC - 4 || y == ctbC - 1) { y1 = y2 = 1; }
  const int curr = rec.at(hx(0), vy(0));
  auto t = [&](int k, int i0, int j0, int i1, int j1) {
    return f[k] * (c3(-c[k], c[k], rec.at(hx(i0), vy(j0)) - curr) + c3(-c[k], c[k], rec.at(hx(i1), vy(j1)) - curr));
  };
  int sum = t(0, 0, y2, 0, -y2) + t(1, 1, y1, -1, -y1) + t(2, 0, y1, 0, -y1) + t(3, -1, y1, 1, -y1) +
            t(4, 2, 0, -2, 0) + t(5, 1, 0, -1, 0);
  sum = curr + ((sum + (1 << (shift - 1))) >> shift);
  return c3(0, 1023, sum);
}

// 8.8.5.7: the correction added to chroma sample (xCtbC + x, yCtbC + y).
int ref_ccalf_delta(const Plane &luma, int xCtbC, int yCtbC, int ctb, int x, int y, const int16_t *f) {
  const int W = luma.width, H = luma.height;
  const int xL = 2 * (xCtbC + x), yL = 2 * (yCtbC + y), yC = 2 * y;  // yC: luma row in the CTB
  auto hx = [&](int i) { return c3(0, W - 1, xL + i); };
  auto vy = [&](int j) { return c3(0, H - 1, yL + j); };
  int yM1 = -1, yP1 = 1, yP2 = 2;
  if (yC == ctb - 4) { yM1 = 0; yP1 = 0; yP2 = 0; }      // on the virtual boundary row
  else if (yC == ctb - 5) { yP1 = 0; yP2 = 0; }
  else if (yC == ctb - 6) { yP2 = 1; }
  else if (yC == ctb - 3) { yM1 = 0; }
  const int curr = luma.at(hx(0), vy(0));
  int sum = f[0] * (luma.at(hx(0), vy(yM1)) - curr) + f[1] * (luma.at(hx(-1), vy(0)) - curr) +
            f[2] * (luma.at(hx(1), vy(0)) - curr) + f[3] * (luma.at(hx(-1), vy(yP1)) - curr) +
            f[4] * (luma.at(hx(0), vy(yP1)) - curr) + f[5] * (luma.at(hx(1), vy(yP1)) - curr) +
            f[6] * (luma.at(hx(0), vy(yP2)) - curr);
  return c3(-512, 511, (sum + 64) >> 7);
}

void filters_match_reference() {
  std::mt19937 rng(17);
  for (int trial = 0; trial < 24; trial++) {
    const int log2_ctb = 4 + int(rng() % 4), ctb = 1 << log2_ctb;
    // Sizes multiple of 8 with the last CTB row / column cut (or not).
    const int w = 8 * (1 + int(rng() % (3 * ctb / 8))), h = 8 * (1 + int(rng() % (3 * ctb / 8)));
    Plane pic[3];
    pic[0].allocate(w, h);
    pic[1].allocate(w / 2, h / 2);
    pic[2].allocate(w / 2, h / 2);
    for (int c = 0; c < 3; c++)
      for (int y = 0; y < pic[c].height; y++)
        for (int x = 0; x < pic[c].width; x++)
          pic[c].at(x, y) = Pel(trial % 3 == 0 ? int(rng() % 1024)
                                               : c3(0, 1023, 400 + 3 * x - 2 * y + (x * y) % 37 + int(rng() % 60)));
    const int cx = (w + ctb - 1) / ctb, cy = (h + ctb - 1) / ctb;
    // APS with random filters (luma: 3 filters with clipping; chroma: 2 alternatives; CCALF: 2 filters).
    AlfApsData a;
    a.luma_signal = a.chroma_signal = a.cc_signal[0] = a.cc_signal[1] = true;
    a.luma_clip = a.chroma_clip = true;
    a.luma_num_filters = 3;
    for (int k = 0; k < kAlfNumClasses; k++) a.luma_coeff_delta_idx[k] = uint8_t(rng() % 3);
    for (int f = 0; f < 3; f++)
      for (int j = 0; j < 12; j++) {
        a.luma_coeff[f][j] = int16_t(int(rng() % 41) - 20);
        a.luma_clip_idx[f][j] = uint8_t(rng() % 4);
      }
    a.chroma_num_alt = 2;
    for (int k = 0; k < 2; k++)
      for (int j = 0; j < 6; j++) {
        a.chroma_coeff[k][j] = int16_t(int(rng() % 41) - 20);
        a.chroma_clip_idx[k][j] = uint8_t(rng() % 4);
      }
    for (int c = 0; c < 2; c++) {
      a.cc_num_filters[c] = 2;
      for (int k = 0; k < 2; k++)
        for (int j = 0; j < 7; j++) {
          const int m = int(rng() % 8);
          a.cc_coeff[c][k][j] = int16_t(m ? (rng() % 2 ? -1 : 1) * (1 << (m - 1)) : 0);
        }
    }
    AlfSliceParams sh;
    sh.enabled = sh.cb = sh.cr = sh.cc[0] = sh.cc[1] = true;
    sh.num_aps_luma = 1;
    const AlfApsData *list[8] = {&a};
    const AlfFilters filt = alf_derive_filters(sh, list, 10);
    std::vector<AlfCtbParams> ps(size_t(cx * cy));
    for (auto &p : ps) {
      p.ctb_flag[0] = rng() % 4 != 0;
      p.use_aps = rng() % 2;
      p.luma_fixed_filter_idx = uint8_t(rng() % 16);
      for (int c = 0; c < 2; c++) {
        p.ctb_flag[c + 1] = rng() % 3 != 0;
        p.filter_alt_idx[c] = uint8_t(rng() % 2);
        p.cc_idc[c] = uint8_t(rng() % 3);
      }
    }
    Plane out[3] = {pic[0], pic[1], pic[2]};
    alf_apply_picture(out, ps.data(), cx, cy, log2_ctb, 10, sh, filt);
    bool ok = true;
    for (int y = 0; y < h && ok; y++)
      for (int x = 0; x < w && ok; x++) {
        const AlfCtbParams &p = ps[size_t((y / ctb) * cx + x / ctb)];
        const int xc = (x / ctb) * ctb, yc = (y / ctb) * ctb;
        const int want = p.ctb_flag[0]
                             ? ref_alf_luma(pic[0], xc, yc, ctb, x - xc, y - yc, filt.luma[size_t(p.filt_set_idx())])
                             : pic[0].at(x, y);
        ok = out[0].at(x, y) == want;
        if (!ok)
          std::printf("luma mismatch at %d,%d (ctb %d, %dx%d): %d != %d\n", x, y, ctb, w, h, out[0].at(x, y), want);
      }
    for (int c = 1; c <= 2 && ok; c++)
      for (int y = 0; y < h / 2 && ok; y++)
        for (int x = 0; x < w / 2 && ok; x++) {
          const int ctbC = ctb / 2;
          const AlfCtbParams &p = ps[size_t((y / ctbC) * cx + x / ctbC)];
          const int xc = (x / ctbC) * ctbC, yc = (y / ctbC) * ctbC;
          const int k = p.filter_alt_idx[c - 1];
          int want = p.ctb_flag[c] ? ref_alf_chroma(pic[c], xc, yc, ctbC, x - xc, y - yc, filt.chroma_coeff[k],
                                                    filt.chroma_clip[k])
                                   : pic[c].at(x, y);
          if (p.cc_idc[c - 1])
            want = c3(0, 1023, want + ref_ccalf_delta(pic[0], xc, yc, ctb, x - xc, y - yc,
                                                     filt.cc_coeff[c - 1][p.cc_idc[c - 1] - 1]));
          ok = out[c].at(x, y) == want;
          if (!ok)
            std::printf("chroma %d mismatch at %d,%d (ctb %d, %dx%d): %d != %d\n", c, x, y, ctb, w, h,
                        out[c].at(x, y), want);
        }
    check(ok, "ALF / CCALF filtering == 8.8.5 transcription, trial " + std::to_string(trial));
  }
}

// ---------------------------------------------------------------------------

Picture textured(int w, int h, int seed) {
  Picture pic = test_support::test_picture(w, h, seed);
  std::mt19937 gen{unsigned(seed)};
  // Oriented texture plus noise: what a Wiener filter recovers after coarse quantisation.
  for (int c = 0; c < 3; c++) {
    const int pw = c ? pic.chroma_width() : w;
    for (size_t i = 0; i < pic.plane[c].size(); i++) {
      const int x = int(i % size_t(pw)), y = int(i / size_t(pw));
      const double v = 512 + 180 * std::sin(0.21 * x + 0.07 * y + c) * std::cos(0.05 * x - 0.17 * y) +
                       0.3 * (int(pic.plane[c][i]) - 512) + int(gen() % 40);
      pic.plane[c][i] = uint16_t(c3(0, 1023, int(v)));
    }
  }
  // Chroma carrying the luma detail (what CCALF restores).
  const int cw = pic.chroma_width();
  for (int c = 1; c < 3; c++)
    for (size_t i = 0; i < pic.plane[c].size(); i++) {
      const int x = int(i % size_t(cw)), y = int(i / size_t(cw));
      const int l = pic.plane[0][size_t(std::min(2 * y, h - 1)) * w + size_t(std::min(2 * x, w - 1))];
      pic.plane[c][i] = uint16_t(c3(0, 1023, 512 + (c == 1 ? 1 : -1) * (l - 512) / 2));
    }
  return pic;
}

void codec_round_trips() {
  int fixed = 0, aps = 0, chroma = 0, cc = 0;
  struct Case { int w, h, qp, preset; bool dual; };
  const Case cases[] = {{384, 256, 32, 1, true}, {256, 192, 37, 0, false}, {264, 136, 27, 0, true},
                        {77, 51, 32, 1, true},   {1024, 16, 37, 0, true},  {40, 24, 27, 0, false}};
  for (const Case &k : cases) {
    const std::string name = std::to_string(k.w) + "x" + std::to_string(k.h) + " qp" + std::to_string(k.qp);
    const Picture pic = textured(k.w, k.h, k.w + k.qp);
    EncoderConfig cfg;
    cfg.qp = k.qp;
    cfg.preset = k.preset;
    cfg.dual_tree = k.dual;
    cfg.alf = cfg.ccalf = true;
    std::vector<CtuRecord> er, dr;
    const EncodeResult e = encode_picture_records(pic, cfg, Hooks{}, &er);
    const DecodeResult d = decode_bitstream_records(e.bitstream.data(), e.bitstream.size(), DecodeOptions(), Hooks{}, &dr);
    check(test_support::same_picture(e.recon, d.picture), name + ": decoded picture == encoder reconstruction");
    check(er.size() == dr.size(), name + ": CTU count");
    for (size_t i = 0; i < er.size() && i < dr.size(); i++) {
      const std::string diff = compare_records(er[i], dr[i]);
      check(diff.empty(), name + ": CTU " + std::to_string(i) + ": " + diff);
      if (!diff.empty()) break;
    }
    fixed += d.syntax.alf_luma[0];
    aps += d.syntax.alf_luma[1];
    chroma += d.syntax.alf_chroma[0] + d.syntax.alf_chroma[1];
    cc += d.syntax.ccalf[0] + d.syntax.ccalf[1];
    cfg.alf = false;
    const EncodeResult e0 = encode_picture(pic, cfg);
    const DecodeResult d0 = decode_bitstream(e0.bitstream.data(), e0.bitstream.size());
    check(d0.syntax.alf_luma[0] + d0.syntax.alf_luma[1] + d0.syntax.alf_chroma[0] + d0.syntax.alf_chroma[1] +
                  d0.syntax.ccalf[0] + d0.syntax.ccalf[1] == 0,
          name + ": alf = false codes no ALF");
    check(test_support::same_picture(e0.recon, d0.picture), name + ": ALF off round trip");
  }
  std::printf("ALF CTBs: luma fixed %d, luma APS %d, chroma %d, CCALF %d\n", fixed, aps, chroma, cc);
  check(fixed + aps > 0 && aps > 0 && chroma > 0 && cc > 0, "the encoder uses luma (APS), chroma ALF and CCALF");
}

}  // namespace

int main() {
  aps_round_trip();
  ctb_syntax_round_trip();
  filters_match_reference();
  codec_round_trips();
  if (test_support::g_failures) {
    std::printf("%d failure(s)\n", test_support::g_failures);
    return 1;
  }
  std::printf("test_alf: all passed\n");
  return 0;
}
