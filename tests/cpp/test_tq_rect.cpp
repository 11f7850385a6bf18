// Unit tests of the rectangular transform / quantisation / RDOQ / residual
// coding layer (cpp/transform, quant, rdoq, syntax residual_coding):
//  (1) inverse_transform == direct matrix product of the DCT-II table (8.7.4),
//  (2) forward + quantize + dequantize + inverse recovers the residual,
//  (3) write_residual_coding -> read_residual_coding round trip,
//  (4) square blocks give the same results as before the rectangular rewrite
//      (hashes recorded from the old square-only code).
// Plain executable: exit 0 = pass.
#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "cabac.h"
#include "quant.h"
#include "rdoq.h"
#include "syntax.h"
#include "tables.h"
#include "test_support.h"
#include "transform.h"

namespace {

using test_support::check;
using test_support::g_failures;

constexpr int kBitDepth = 10;

struct Fnv {
  uint64_t h = 1469598103934665603ull;
  void add(uint64_t v) {
    for (int i = 0; i < 8; i++) { h ^= (v >> (8 * i)) & 0xff; h *= 1099511628211ull; }
  }
};

// A residual block: smooth gradient plus noise of the given amplitude.
void make_residual(std::mt19937 &rng, int w, int h, int amp, int32_t *r) {
  const int gx = int(rng() % 41) - 20, gy = int(rng() % 41) - 20;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      r[y * w + x] = (gx * (x - w / 2) + gy * (y - h / 2)) / 4 + int(rng() % uint32_t(2 * amp + 1)) - amp;
}

// transMatrix_N[k][j] of 8.7.4.5 for N = 1 << log2n.
int dct_coef(int log2n, int k, int j) { return pyvtm::g_dct64[k << (6 - log2n)][j]; }

// --- (1) inverse_transform against the matrix products of 8.7.4.1 ---------
// Direct evaluation of 8.7.4.1 / 8.7.4.5 (trType 0) and the bdShift of 8.7.2.
void reference_inverse(const int32_t *d, int log2w, int log2h, int bit_depth, int32_t *r) {
  const int w = 1 << log2w, h = 1 << log2h;
  const int nzw = std::min(w, 32), nzh = std::min(h, 32);
  std::vector<int64_t> g(size_t(w) * h, 0);
  for (int x = 0; x < nzw; x++)
    for (int y = 0; y < h; y++) {
      int64_t e = 0;
      for (int k = 0; k < nzh; k++) e += int64_t(dct_coef(log2h, k, y)) * d[k * w + x];
      g[y * w + x] = std::min<int64_t>(32767, std::max<int64_t>(-32768, (e + 64) >> 7));
    }
  const int bd_shift = std::max(20 - bit_depth, 0);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      int64_t v = 0;
      for (int k = 0; k < nzw; k++) v += int64_t(dct_coef(log2w, k, x)) * g[y * w + k];
      r[y * w + x] = int32_t((v + (int64_t(1) << (bd_shift - 1))) >> bd_shift);
    }
}

// The encoder forward transform as plain matrix products (shifts
// log2W + bitDepth - 9, then log2H + 6; zero-out beyond 32).
void reference_forward(const int32_t *r, int log2w, int log2h, int bit_depth, int32_t *c) {
  const int w = 1 << log2w, h = 1 << log2h;
  const int nzw = std::min(w, 32), nzh = std::min(h, 32);
  const int s1 = log2w + bit_depth - 9, s2 = log2h + 6;
  std::vector<int64_t> t(size_t(w) * h, 0);
  for (int y = 0; y < h; y++)
    for (int k = 0; k < nzw; k++) {
      int64_t v = 0;
      for (int x = 0; x < w; x++) v += int64_t(dct_coef(log2w, k, x)) * r[y * w + x];
      t[y * w + k] = (v + (int64_t(1) << (s1 - 1))) >> s1;
    }
  for (int i = 0; i < w * h; i++) c[i] = 0;
  for (int k = 0; k < nzw; k++)
    for (int j = 0; j < nzh; j++) {
      int64_t v = 0;
      for (int y = 0; y < h; y++) v += int64_t(dct_coef(log2h, j, y)) * t[y * w + k];
      c[j * w + k] = int32_t((v + (int64_t(1) << (s2 - 1))) >> s2);
    }
}

void test_transform_vs_reference() {
  std::mt19937 rng(777);
  int checked = 0;
  for (int lw = 2; lw <= 6; lw++)
    for (int lh = 2; lh <= 6; lh++) {
      const int w = 1 << lw, h = 1 << lh;
      for (int rep = 0; rep < 8; rep++) {
        const int bit_depth = rep & 1 ? 8 : 10;
        std::vector<int32_t> d(w * h), r(w * h), ref(w * h);
        // Coefficients: full 16-bit range (exercises the intermediate
        // clipping), small, or sparse; junk outside the zero-out region,
        // which the transform must not read.
        for (int y = 0; y < h; y++)
          for (int x = 0; x < w; x++) {
            int32_t v;
            if (rep < 2) v = int32_t(rng() % 65536) - 32768;
            else if (rep < 5) v = int32_t(rng() % 201) - 100;
            else v = rng() % 16 == 0 ? int32_t(rng() % 4001) - 2000 : 0;
            d[y * w + x] = (x >= 32 || y >= 32) ? 12345 : v;
          }
        pyvtm::inverse_transform(d.data(), lw, lh, bit_depth, r.data());
        reference_inverse(d.data(), lw, lh, bit_depth, ref.data());
        check(r == ref, "inverse_transform == matrix reference " + std::to_string(w) + "x" + std::to_string(h) +
                            " rep " + std::to_string(rep));
        // Forward transform of a residual against its matrix form.
        std::vector<int32_t> res(w * h), c(w * h), cref(w * h);
        for (int i = 0; i < w * h; i++) res[i] = int32_t(rng() % 2047) - 1023;
        pyvtm::forward_transform(res.data(), lw, lh, bit_depth, c.data());
        reference_forward(res.data(), lw, lh, bit_depth, cref.data());
        check(c == cref, "forward_transform == matrix reference " + std::to_string(w) + "x" + std::to_string(h));
        checked++;
      }
      // All-zero input gives a zero residual.
      std::vector<int32_t> z(w * h, 0), r(w * h, 7);
      pyvtm::inverse_transform(z.data(), lw, lh, 10, r.data());
      check(std::all_of(r.begin(), r.end(), [](int32_t v) { return v == 0; }), "zero coefficients -> zero residual");
    }
  std::printf("transform vs reference: %d blocks\n", checked);
}

// --- (2) forward + quantize + dequantize + inverse recovers the residual ---
double psnr10(const std::vector<int32_t> &a, const std::vector<int32_t> &b) {
  double sse = 0;
  for (size_t i = 0; i < a.size(); i++) sse += double(a[i] - b[i]) * double(a[i] - b[i]);
  if (sse == 0) return 999.0;
  return 10.0 * std::log10(1023.0 * 1023.0 * double(a.size()) / sse);
}

// A residual with no energy beyond the zero-out region: the inverse
// transform of random low-frequency coefficients, plus white noise when no
// side is 64 (then nothing is zeroed out).
std::vector<int32_t> test_residual(std::mt19937 &rng, int lw, int lh) {
  const int w = 1 << lw, h = 1 << lh;
  std::vector<int32_t> c(w * h, 0), r(w * h);
  for (int y = 0; y < std::min(h, 8); y++)
    for (int x = 0; x < std::min(w, 8); x++) c[y * w + x] = int32_t(rng() % 2001) - 1000;
  c[0] = int32_t(rng() % 8001) - 4000;
  pyvtm::inverse_transform(c.data(), lw, lh, 10, r.data());
  if (lw < 6 && lh < 6)
    for (int &v : r) v += int32_t(rng() % 61) - 30;
  for (int &v : r) v = std::max(-1023, std::min(1023, v));
  return r;
}

void test_quant_roundtrip() {
  std::mt19937 rng(4242);
  for (int lw = 2; lw <= 6; lw++)
    for (int lh = 2; lh <= 6; lh++) {
      const int w = 1 << lw, h = 1 << lh;
      const std::string sz = std::to_string(w) + "x" + std::to_string(h);
      // qP (with QpBdOffset 12): 4 -> Qstep 1, 16 -> Qstep 4, 34 -> Qstep 16.
      static const struct { int qp; double min_psnr; } kCases[] = {{4, 55.0}, {16, 45.0}, {34, 33.0}};
      for (const auto &cs : kCases) {
        double worst = 999.0, worst_rdoq = 999.0;
        for (int rep = 0; rep < 3; rep++) {
          const std::vector<int32_t> res = test_residual(rng, lw, lh);
          std::vector<int32_t> coeff(w * h), lv(w * h), dq(w * h), rec(w * h);
          pyvtm::forward_transform(res.data(), lw, lh, kBitDepth, coeff.data());
          pyvtm::quantize(coeff.data(), lw, lh, cs.qp, kBitDepth, lv.data());
          pyvtm::dequantize(lv.data(), lw, lh, cs.qp, kBitDepth, dq.data());
          pyvtm::inverse_transform(dq.data(), lw, lh, kBitDepth, rec.data());
          worst = std::min(worst, psnr10(res, rec));
          // RDOQ at a small lambda reconstructs about as well, and only
          // inside the zero-out region.
          pyvtm::ContextSet ctx;
          ctx.init(std::max(cs.qp - 12, 0));
          const double lambda = 0.57 * std::pow(2.0, (cs.qp - 12 - 12) / 3.0);
          const int nz = pyvtm::rdoq_quantize(coeff.data(), lw, lh, cs.qp, rep % 3, kBitDepth, ctx, lambda, lv.data());
          int nz_count = 0;
          bool outside = false;
          for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
              nz_count += lv[y * w + x] != 0;
              if ((x >= 32 || y >= 32) && lv[y * w + x]) outside = true;
            }
          check(nz == nz_count && !outside, "rdoq_quantize count / zero-out " + sz);
          pyvtm::dequantize(lv.data(), lw, lh, cs.qp, kBitDepth, dq.data());
          pyvtm::inverse_transform(dq.data(), lw, lh, kBitDepth, rec.data());
          worst_rdoq = std::min(worst_rdoq, psnr10(res, rec));
        }
        check(worst >= cs.min_psnr, "quantize round trip " + sz + " qP " + std::to_string(cs.qp) + ": PSNR " +
                                        std::to_string(worst) + " < " + std::to_string(cs.min_psnr));
        check(worst_rdoq >= cs.min_psnr - 3.0, "rdoq round trip " + sz + " qP " + std::to_string(cs.qp) +
                                                   ": PSNR " + std::to_string(worst_rdoq));
        if (cs.qp == 4 && (lw == 2 || lw == lh + 1 || lw == 6))
          std::printf("  %-5s qP %2d: PSNR quant %.1f dB, rdoq %.1f dB\n", sz.c_str(), cs.qp, worst, worst_rdoq);
      }
    }
}

// --- (3) residual_coding write -> read round trip ---------------------------
// Random levels inside the zero-out region; kind 0 dense (large values
// too), 1 sparse, 2 a single level, 3 single level at the region's far
// corner, 4 DC only, 5 dense small levels.
std::vector<int32_t> random_levels(std::mt19937 &rng, int lw, int lh, int kind) {
  const int w = 1 << lw, h = 1 << lh;
  const int nzw = std::min(w, 32), nzh = std::min(h, 32);
  std::vector<int32_t> lv(w * h, 0);
  auto rnd_level = [&](int maxmag) {
    int m = 1 + int(rng() % uint32_t(maxmag));
    if (rng() % 50 == 0) m = 32767 - int(rng() % 3);
    return rng() & 1 ? -m : m;
  };
  switch (kind) {
    case 0:
      for (int y = 0; y < nzh; y++)
        for (int x = 0; x < nzw; x++)
          if (rng() % 4) lv[y * w + x] = rnd_level(rng() % 8 == 0 ? 500 : 12);
      break;
    case 1:
      for (int y = 0; y < nzh; y++)
        for (int x = 0; x < nzw; x++)
          if (rng() % 23 == 0) lv[y * w + x] = rnd_level(rng() % 4 == 0 ? 60 : 3);
      break;
    case 2: lv[int(rng() % uint32_t(nzh)) * w + int(rng() % uint32_t(nzw))] = rnd_level(40); break;
    case 3: lv[(nzh - 1) * w + nzw - 1] = rnd_level(5); break;
    case 4: lv[0] = rnd_level(100); break;
    default:
      for (int y = 0; y < nzh; y++)
        for (int x = 0; x < nzw; x++) lv[y * w + x] = int32_t(rng() % 5) - 2;
  }
  bool any = false;
  for (int v : lv) any |= v != 0;
  if (!any) lv[0] = 1;
  return lv;
}

void test_residual_roundtrip() {
  std::mt19937 rng(99);
  struct Block { int lw, lh, c_idx; std::vector<int32_t> lv; };
  std::vector<Block> blocks;
  for (int rep = 0; rep < 2; rep++)
    for (int lw = 2; lw <= 6; lw++)
      for (int lh = 2; lh <= 6; lh++)
        for (int c_idx = 0; c_idx < 3; c_idx++)
          for (int kind = 0; kind < 6; kind++) blocks.push_back({lw, lh, c_idx, random_levels(rng, lw, lh, kind)});
  for (int slice_qp : {22, 37}) {
    pyvtm::ContextSet wcs, rcs;
    wcs.init(slice_qp);
    rcs.init(slice_qp);
    pyvtm::ContextSet ecs = wcs;
    pyvtm::CabacWriter w(false), e(true);
    w.start();
    e.start();
    for (const Block &b : blocks) {
      pyvtm::write_residual_coding(w, wcs, b.lv.data(), b.lw, b.lh, b.c_idx);
      pyvtm::write_residual_coding(e, ecs, b.lv.data(), b.lw, b.lh, b.c_idx);
    }
    w.encode_terminate(1);
    w.rbsp_trailing_bits();
    const std::vector<uint8_t> bytes = w.bytes();
    // The estimator's rate is within a few percent of the real size.
    const double est_bits = double(e.frac_bits()) / (1 << pyvtm::kFracBitsShift);
    check(std::abs(est_bits - 8.0 * bytes.size()) < 0.05 * 8.0 * bytes.size(), "rate estimate near real size");
    pyvtm::CabacReader r;
    r.start(bytes.data(), bytes.size());
    int mismatches = 0;
    try {
      for (const Block &b : blocks) {
        std::vector<int32_t> got(size_t(1) << (b.lw + b.lh), 99);
        pyvtm::read_residual_coding(r, rcs, b.lw, b.lh, b.c_idx, got.data());
        if (got != b.lv) {
          if (mismatches++ < 5)
            std::printf("  mismatch %dx%d c_idx %d\n", 1 << b.lw, 1 << b.lh, b.c_idx);
        }
      }
      check(r.decode_terminate() == 1, "end_of_slice after the residuals");
    } catch (const std::exception &ex) {
      check(false, std::string("read_residual_coding threw: ") + ex.what());
    }
    check(mismatches == 0, "residual_coding round trip (" + std::to_string(mismatches) + " mismatches)");
    bool same_ctx = true;
    for (int i = 0; i < pyvtm::CTX_NUM; i++) same_ctx &= wcs.m[i].state() == rcs.m[i].state();
    check(same_ctx, "writer and reader context states agree");
    std::printf("residual round trip: %zu blocks, %zu bytes (slice qp %d)\n", blocks.size(), bytes.size(), slice_qp);
  }
  // Zero-out: levels outside the Min(W,32) x Min(H,32) region are never coded
  // (the stream equals that of the same levels with the outside cleared).
  for (int lw = 2; lw <= 6; lw++)
    for (int lh = 2; lh <= 6; lh++) {
      if (lw < 6 && lh < 6) continue;
      std::vector<int32_t> lv = random_levels(rng, lw, lh, 1), junk = lv;
      const int w = 1 << lw, h = 1 << lh;
      for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
          if (x >= 32 || y >= 32) junk[y * w + x] = 5;
      pyvtm::ContextSet c1, c2;
      c1.init(30);
      c2.init(30);
      pyvtm::CabacWriter w1(false), w2(false);
      w1.start();
      w2.start();
      pyvtm::write_residual_coding(w1, c1, lv.data(), lw, lh, 0);
      pyvtm::write_residual_coding(w2, c2, junk.data(), lw, lh, 0);
      w1.encode_terminate(1);
      w2.encode_terminate(1);
      check(w1.bytes() == w2.bytes(), "levels beyond the zero-out region are not coded");
    }
}

// SATD of W x H: the sum of its square tiles (8x8 when both sides >= 8,
// else 4x4), and about the same per-sample value for noise at every size.
void test_satd_rect() {
  std::mt19937 rng(5);
  std::vector<pyvtm::Pel> org(64 * 64), pred(64 * 64);
  for (auto &v : org) v = pyvtm::Pel(rng() % 1024);
  for (auto &v : pred) v = pyvtm::Pel(rng() % 1024);
  double lo = 1e9, hi = 0;
  for (int lw = 2; lw <= 6; lw++)
    for (int lh = 2; lh <= 6; lh++) {
      const int w = 1 << lw, h = 1 << lh;
      const int t = (lw >= 3 && lh >= 3) ? 3 : 2;
      uint64_t tiles = 0;
      for (int y = 0; y < h; y += 1 << t)
        for (int x = 0; x < w; x += 1 << t) tiles += pyvtm::satd(&org[y * 64 + x], 64, &pred[y * 64 + x], 64, t, t);
      const uint64_t s = pyvtm::satd(org.data(), 64, pred.data(), 64, lw, lh);
      check(s == tiles, "satd " + std::to_string(w) + "x" + std::to_string(h) + " == sum of its tiles");
      const double per = double(s) / (w * h);
      lo = std::min(lo, per);
      hi = std::max(hi, per);
    }
  check(hi < 1.25 * lo, "satd per sample comparable across sizes");
}

// --- (4) square results unchanged from the square-only code ----------------
struct SquareHashes {
  uint64_t fwd, quant, rdoq, recon, satd, bytes, est;
};

SquareHashes square_hashes() {
  // bin_cost() reads a table that CabacWriter::start() fills: start one
  // first so that RDOQ's rates do not depend on what ran before.
  {
    pyvtm::CabacWriter warm(true);
    warm.start();
  }
  std::mt19937 rng(12345);
  Fnv hf, hq, hr, hrec, hs, hb, he;
  static const int kQps[4] = {16, 34, 44, 49};
  for (int log2n = 2; log2n <= 6; log2n++) {
    const int n = 1 << log2n;
    for (int rep = 0; rep < 6; rep++) {
      const int qp = kQps[rep % 4];
      const int amp = 1 + int(rng() % 200);
      std::vector<int32_t> resid(n * n), coeff(n * n), lv(n * n), lv2(n * n), dq(n * n), rec(n * n);
      make_residual(rng, n, n, amp, resid.data());
      pyvtm::forward_transform(resid.data(), log2n, log2n, kBitDepth, coeff.data());
      for (int v : coeff) hf.add(uint32_t(v));
      const int nzq = pyvtm::quantize(coeff.data(), log2n, log2n, qp, kBitDepth, lv.data());
      hq.add(uint32_t(nzq));
      for (int v : lv) hq.add(uint32_t(v));
      pyvtm::dequantize(lv.data(), log2n, log2n, qp, kBitDepth, dq.data());
      pyvtm::inverse_transform(dq.data(), log2n, log2n, kBitDepth, rec.data());
      for (int v : dq) hrec.add(uint32_t(v));
      for (int v : rec) hrec.add(uint32_t(v));
      // SATD of org = 512 + resid against a flat prediction.
      std::vector<pyvtm::Pel> org(n * n), pred(n * n, 512);
      for (int i = 0; i < n * n; i++) org[i] = pyvtm::Pel(512 + resid[i]);
      hs.add(pyvtm::satd(org.data(), n, pred.data(), n, log2n, log2n));
      for (int c_idx = 0; c_idx < 3; c_idx++) {
        if (c_idx && log2n > 5) continue;
        pyvtm::ContextSet cs;
        cs.init(qp - 12);
        const double lambda = 0.57 * std::pow(2.0, (qp - 12 - 12) / 3.0) * (c_idx ? 0.8 : 1.0);
        const int nzr = pyvtm::rdoq_quantize(coeff.data(), log2n, log2n, qp, c_idx, kBitDepth, cs, lambda, lv2.data());
        hr.add(uint32_t(nzr));
        for (int v : lv2) hr.add(uint32_t(v));
        for (const int32_t *l : {lv.data(), lv2.data()}) {
          bool any = false;
          for (int i = 0; i < n * n; i++) any |= l[i] != 0;
          if (!any) continue;
          pyvtm::ContextSet c1 = cs, c2 = cs;
          pyvtm::CabacWriter w(false), e(true);
          w.start();
          e.start();
          pyvtm::write_residual_coding(w, c1, l, log2n, log2n, c_idx);
          pyvtm::write_residual_coding(e, c2, l, log2n, log2n, c_idx);
          w.encode_terminate(1);
          w.rbsp_trailing_bits();
          for (uint8_t b : w.bytes()) hb.add(b);
          he.add(e.frac_bits());
          // In the context order of the hash's origin: sig_coeff_flag luma
          // then chroma of the QState 0/1 set; the sets of dependent
          // quantisation's QState 2/3 (unused here) are left out.
          for (int i = 0; i < pyvtm::CTX_MTT_SPLIT_CU_VERTICAL_FLAG; i++) {
            const int k = i - pyvtm::CTX_SIG_COEFF_FLAG;
            if (k >= 12 && k < 60) continue;
            he.add(c2.m[i].state());
            if (k == 11)
              for (int j = 36; j < 44; j++) he.add(c2.m[pyvtm::CTX_SIG_COEFF_FLAG + j].state());
          }
        }
      }
    }
  }
  return {hf.h, hq.h, hr.h, hrec.h, hs.h, hb.h, he.h};
}

void test_square_unchanged() {
  const SquareHashes s = square_hashes();
  std::printf("square hashes: fwd %016" PRIx64 " quant %016" PRIx64 " rdoq %016" PRIx64 " recon %016" PRIx64
              " satd %016" PRIx64 " bytes %016" PRIx64 " est %016" PRIx64 "\n",
              s.fwd, s.quant, s.rdoq, s.recon, s.satd, s.bytes, s.est);
  // Recorded by this function built against the square-only code of commit
  // f881655 (before the rectangular rewrite), square entry points only.
  check(s.fwd == 0xfc9e749f513e19faull, "square forward_transform unchanged");
  check(s.quant == 0x9c08d747abbd9419ull, "square quantize unchanged");
  check(s.rdoq == 0x259eaa5416cd3de6ull, "square rdoq_quantize unchanged");
  check(s.recon == 0x07d918fc94e18e0dull, "square dequantize + inverse_transform unchanged");
  check(s.satd == 0x881d548b6319c359ull, "square satd unchanged");
  check(s.bytes == 0xc997f83388be380full, "square residual_coding bytes unchanged");
  check(s.est == 0x2f29165d44f1496aull, "square residual_coding rate estimate / contexts unchanged");
}

}  // namespace

int main() {
  pyvtm::init_tables();
  test_transform_vs_reference();
  test_quant_roundtrip();
  test_residual_roundtrip();
  test_satd_rect();
  test_square_unchanged();
  if (g_failures) {
    std::printf("%d FAILURE(S)\n", g_failures);
    return 1;
  }
  std::printf("test_tq_rect: all passed\n");
  return 0;
}
