// Unit tests of the rectangular transform / quantisation / RDOQ / residual
// coding layer (cpp/transform, quant, rdoq, syntax residual_coding):
//  (1) inverse_transform == direct matrix product of the DCT-II table (8.7.4),
//  (2) forward + quantize + dequantize + inverse recovers the residual,
//  (3) write_residual_coding -> read_residual_coding round trip,
//  (4) square blocks give the same results as before the rectangular rewrite
//      (hashes recorded from the old square-only code).
// Plain executable: exit 0 = pass.
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

// --- (4) square results of the square entry points -------------------------
struct SquareHashes {
  uint64_t fwd, quant, rdoq, recon, satd, bytes, est;
};

SquareHashes square_hashes() {
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
      pyvtm::forward_transform(resid.data(), log2n, kBitDepth, coeff.data());
      for (int v : coeff) hf.add(uint32_t(v));
      const int nzq = pyvtm::quantize(coeff.data(), log2n, qp, kBitDepth, lv.data());
      hq.add(uint32_t(nzq));
      for (int v : lv) hq.add(uint32_t(v));
      pyvtm::dequantize(lv.data(), log2n, qp, kBitDepth, dq.data());
      pyvtm::inverse_transform(dq.data(), log2n, kBitDepth, rec.data());
      for (int v : dq) hrec.add(uint32_t(v));
      for (int v : rec) hrec.add(uint32_t(v));
      // SATD of org = 512 + resid against a flat prediction.
      std::vector<pyvtm::Pel> org(n * n), pred(n * n, 512);
      for (int i = 0; i < n * n; i++) org[i] = pyvtm::Pel(512 + resid[i]);
      hs.add(pyvtm::satd(org.data(), n, pred.data(), n, log2n));
      for (int c_idx = 0; c_idx < 3; c_idx++) {
        if (c_idx && log2n > 5) continue;
        pyvtm::ContextSet cs;
        cs.init(qp - 12);
        const double lambda = 0.57 * std::pow(2.0, (qp - 12 - 12) / 3.0) * (c_idx ? 0.8 : 1.0);
        const int nzr = pyvtm::rdoq_quantize(coeff.data(), log2n, qp, c_idx, kBitDepth, cs, lambda, lv2.data());
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
          pyvtm::write_residual_coding(w, c1, l, log2n, c_idx);
          pyvtm::write_residual_coding(e, c2, l, log2n, c_idx);
          w.encode_terminate(1);
          w.rbsp_trailing_bits();
          for (uint8_t b : w.bytes()) hb.add(b);
          he.add(e.frac_bits());
          for (int i = 0; i < pyvtm::CTX_NUM; i++) he.add(c2.m[i].state());
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
  // Recorded with the square-only code of commit f881655 (before this rewrite).
  check(s.fwd == 0xfc9e749f513e19faull, "square forward_transform unchanged");
  check(s.quant == 0x9c08d747abbd9419ull, "square quantize unchanged");
  check(s.rdoq == 0x602ee56511db6733ull, "square rdoq_quantize unchanged");
  check(s.recon == 0x07d918fc94e18e0dull, "square dequantize + inverse_transform unchanged");
  check(s.satd == 0x881d548b6319c359ull, "square satd unchanged");
  check(s.bytes == 0x58d77c700b353ee7ull, "square residual_coding bytes unchanged");
  check(s.est == 0x2f29165d44f1496aull, "square residual_coding rate estimate / contexts unchanged");
}

}  // namespace

int main() {
  pyvtm::init_tables();
  test_square_unchanged();
  if (g_failures) {
    std::printf("%d FAILURE(S)\n", g_failures);
    return 1;
  }
  std::printf("test_tq_rect: all passed\n");
  return 0;
}
