#include "dsp.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace pyvtm {

namespace {
inline int clipd(int d, int c) { return std::min(std::max(d, -c), c); }

// 8.8.5.2, equations of curr / sum for one sample, taps of the 7x7 diamond
// (a: rows below, b: rows above).
void alf_luma_strip(const AlfLumaStrip &s) {
  for (int k = 0; k < s.nrows; k++) {
    const Pel *r0 = s.rows[k][3], *a1 = s.rows[k][4], *b1 = s.rows[k][2], *a2 = s.rows[k][5], *b2 = s.rows[k][1],
              *a3 = s.rows[k][6], *b3 = s.rows[k][0];
    const int sh = s.shift[k], round = 1 << (sh - 1);
    Pel *o = s.out[k];
    for (int x = 0; x < s.w; x++) {
      const int16_t *cf = s.cf[x >> 2], *cl = s.cl[x >> 2];
      const int cur = r0[x];
      auto t = [&](int j, int p, int q) { return cf[j] * (clipd(p - cur, cl[j]) + clipd(q - cur, cl[j])); };
      const int sum = t(0, a3[x], b3[x]) + t(1, a2[x + 1], b2[x - 1]) + t(2, a2[x], b2[x]) +
                      t(3, a2[x - 1], b2[x + 1]) + t(4, a1[x + 2], b1[x - 2]) + t(5, a1[x + 1], b1[x - 1]) +
                      t(6, a1[x], b1[x]) + t(7, a1[x - 1], b1[x + 1]) + t(8, a1[x - 2], b1[x + 2]) +
                      t(9, r0[x + 3], r0[x - 3]) + t(10, r0[x + 2], r0[x - 2]) + t(11, r0[x + 1], r0[x - 1]);
      o[x] = Pel(clip3(0, s.maxv, cur + ((sum + round) >> sh)));
    }
  }
}

// 8.8.5.4: the chroma taps (a: rows below, b: rows above).
void alf_chroma_row(const Pel *const rows[5], Pel *out, int w, const int16_t cf[6], const int16_t cl[6], int shift,
                      int maxv) {
  const Pel *r0 = rows[2], *a1 = rows[3], *b1 = rows[1], *a2 = rows[4], *b2 = rows[0];
  const int round = 1 << (shift - 1);
  for (int x = 0; x < w; x++) {
    const int cur = r0[x];
    auto t = [&](int j, int p, int q) { return cf[j] * (clipd(p - cur, cl[j]) + clipd(q - cur, cl[j])); };
    const int sum = t(0, a2[x], b2[x]) + t(1, a1[x + 1], b1[x - 1]) + t(2, a1[x], b1[x]) +
                    t(3, a1[x - 1], b1[x + 1]) + t(4, r0[x + 2], r0[x - 2]) + t(5, r0[x + 1], r0[x - 1]);
    out[x] = Pel(clip3(0, maxv, cur + ((sum + round) >> shift)));
  }
}

void alf_grad_row(const Pel *up, const Pel *r, const Pel *dn, int n, int32_t *const acc[4]) {
  for (int i = 0; i < n; i++) {
    const int x = 2 * i, c2 = 2 * r[x];
    acc[0][i] += std::abs(c2 - up[x] - dn[x]);
    acc[1][i] += std::abs(c2 - r[x - 1] - r[x + 1]);
    acc[2][i] += std::abs(c2 - up[x - 1] - dn[x + 1]);
    acc[3][i] += std::abs(c2 - up[x + 1] - dn[x - 1]);
  }
}

// 8.8.5.7: the taps of kCcAlfTap, unrolled.
void ccalf_row(const Pel *const rows[4], Pel *out, int w, const int16_t coeff[7], int bit_depth) {
  const int maxv = (1 << bit_depth) - 1, lo = -(1 << (bit_depth - 1)), hi = (1 << (bit_depth - 1)) - 1;
  for (int x = 0; x < w; x++) {
    const int xl = 2 * x, cur = rows[1][xl];
    int sum = coeff[0] * (rows[0][xl] - cur) + coeff[1] * (rows[1][xl - 1] - cur) + coeff[2] * (rows[1][xl + 1] - cur) +
              coeff[3] * (rows[2][xl - 1] - cur) + coeff[4] * (rows[2][xl] - cur) + coeff[5] * (rows[2][xl + 1] - cur) +
              coeff[6] * (rows[3][xl] - cur);
    sum = clip3(lo, hi, (sum + 64) >> 7);
    out[x] = Pel(clip3(0, maxv, int(out[x]) + sum));
  }
}

// 8.8.4.2: edgeIdx = 2 + Sign(v - a) + Sign(v - b), 0..2 mapped to 1, 2, 0.
void sao_edge_row(const Pel *src, const Pel *a, const Pel *b, Pel *dst, int n, const int8_t off[4], int maxv) {
  const int tab[5] = {off[0], off[1], 0, off[2], off[3]};
  for (int x = 0; x < n; x++) {
    const int v = src[x];
    const int e = 2 + (v > a[x]) - (v < a[x]) + (v > b[x]) - (v < b[x]);
    dst[x] = Pel(clip3(0, maxv, v + tab[e]));
  }
}

void sao_band_row(const Pel *src, Pel *dst, int n, const int8_t band_table[32], int shift, const int8_t off[4],
                  int maxv) {
  for (int x = 0; x < n; x++) {
    const int k = band_table[src[x] >> shift];
    dst[x] = k ? Pel(clip3(0, maxv, src[x] + off[k - 1])) : src[x];
  }
}
}  // namespace

const Dsp &dsp_c() {
  static const Dsp d{alf_luma_strip, alf_chroma_row, ccalf_row, alf_grad_row, sao_edge_row, sao_band_row};
  return d;
}

const Dsp &dsp() {
  static const Dsp &d = [] () -> const Dsp & {
    const char *env = std::getenv("PYVTM_DSP");
    if (env && std::strcmp(env, "c") == 0) return dsp_c();
#if defined(__SSE2__)
    return dsp_sse2();
#else
    return dsp_c();
#endif
  }();
  return d;
}

// ===========================================================================
// Decoder-side kernels (dsp.h, DspDec).

namespace {
inline int32_t inv_tr_sum(const int16_t *x, const int32_t *pairs, int num_pairs, int n, int i) {
  int32_t y = 0;
  for (int p = 0; p < num_pairs; p++) {
    const int32_t t = pairs[p * n + i];
    y += int32_t(int16_t(t & 0xffff)) * x[2 * p] + (t >> 16) * x[2 * p + 1];
  }
  return y;
}

void inv_tr_first(const int16_t *src, int src_stride, int lines, const int32_t *pairs, int num_pairs, int n,
                  int16_t *dst, int dst_stride) {
  for (int l = 0; l < lines; l++)
    for (int i = 0; i < n; i++)
      dst[i * dst_stride + l] =
          int16_t(clip3(-32768, 32767, (inv_tr_sum(src + l * src_stride, pairs, num_pairs, n, i) + 64) >> 7));
}

void inv_tr_second(const int16_t *src, int src_stride, int lines, const int32_t *pairs, int num_pairs, int n,
                   int shift, int32_t *dst, int dst_stride) {
  const int32_t rnd = (int32_t(1) << shift) >> 1;
  for (int l = 0; l < lines; l++)
    for (int i = 0; i < n; i++)
      dst[l * dst_stride + i] = (inv_tr_sum(src + l * src_stride, pairs, num_pairs, n, i) + rnd) >> shift;
}
void add_residual_row(const Pel *pred, const int32_t *resid, Pel *dst, int n, int maxv) {
  for (int i = 0; i < n; i++) dst[i] = Pel(clip3(0, maxv, pred[i] + resid[i]));
}
void intra_interp4_row(const Pel *ref, Pel *dst, int n, const int16_t f[4], int maxv) {
  for (int x = 0; x < n; x++) {
    const Pel *p = ref + x;
    dst[x] = Pel(clip3(0, maxv, (f[0] * p[0] + f[1] * p[1] + f[2] * p[2] + f[3] * p[3] + 32) >> 6));
  }
}

void intra_interp2_row(const Pel *ref, Pel *dst, int n, int fract) {
  for (int x = 0; x < n; x++) {
    const int a = ref[x], b = ref[x + 1];
    dst[x] = Pel(a + ((fract * (b - a) + 16) >> 5));
  }
}
}  // namespace

const DspDec &dsp_dec_c() {
  static const DspDec d{inv_tr_first, inv_tr_second, add_residual_row, intra_interp4_row, intra_interp2_row};
  return d;
}

const DspDec &dsp_dec() {
  static const DspDec &d = [] () -> const DspDec & {
    const char *env = std::getenv("PYVTM_DSP");
    if (env && std::strcmp(env, "c") == 0) return dsp_dec_c();
#if defined(__SSE2__)
    return dsp_dec_sse2();
#else
    return dsp_dec_c();
#endif
  }();
  return d;
}

}  // namespace pyvtm

// ============================================================================
// Encoder kernels (encspeed): C references.
// ============================================================================
namespace pyvtm {

namespace {
int hadamard4x4(const int *d) {
  int m[16], t[16];
  for (int i = 0; i < 4; i++) {
    const int *r = d + 4 * i;
    int a0 = r[0] + r[3], a1 = r[1] + r[2], a2 = r[1] - r[2], a3 = r[0] - r[3];
    // Hadamard order is irrelevant for a sum of magnitudes.
    t[4 * i + 0] = a0 + a1; t[4 * i + 1] = a0 - a1; t[4 * i + 2] = a3 + a2; t[4 * i + 3] = a3 - a2;
  }
  for (int i = 0; i < 4; i++) {
    int a0 = t[i] + t[12 + i], a1 = t[4 + i] + t[8 + i], a2 = t[4 + i] - t[8 + i], a3 = t[i] - t[12 + i];
    m[i] = a0 + a1; m[4 + i] = a0 - a1; m[8 + i] = a3 + a2; m[12 + i] = a3 - a2;
  }
  int s = 0;
  for (int i = 0; i < 16; i++) s += std::abs(m[i]);
  return s;
}

int hadamard8x8(const int *d) {
  int t[64], m[64];
  for (int i = 0; i < 8; i++) {
    const int *r = d + 8 * i;
    int a[8], b[8];
    for (int j = 0; j < 4; j++) { a[j] = r[j] + r[j + 4]; a[j + 4] = r[j] - r[j + 4]; }
    for (int j = 0; j < 2; j++) {
      b[j] = a[j] + a[j + 2]; b[j + 2] = a[j] - a[j + 2];
      b[j + 4] = a[j + 4] + a[j + 6]; b[j + 6] = a[j + 4] - a[j + 6];
    }
    for (int j = 0; j < 4; j++) { t[8 * i + 2 * j] = b[2 * j] + b[2 * j + 1]; t[8 * i + 2 * j + 1] = b[2 * j] - b[2 * j + 1]; }
  }
  for (int i = 0; i < 8; i++) {
    int a[8], b[8];
    for (int j = 0; j < 4; j++) { a[j] = t[8 * j + i] + t[8 * (j + 4) + i]; a[j + 4] = t[8 * j + i] - t[8 * (j + 4) + i]; }
    for (int j = 0; j < 2; j++) {
      b[j] = a[j] + a[j + 2]; b[j + 2] = a[j] - a[j + 2];
      b[j + 4] = a[j + 4] + a[j + 6]; b[j + 6] = a[j + 4] - a[j + 6];
    }
    for (int j = 0; j < 4; j++) { m[8 * (2 * j) + i] = b[2 * j] + b[2 * j + 1]; m[8 * (2 * j + 1) + i] = b[2 * j] - b[2 * j + 1]; }
  }
  int s = 0;
  for (int i = 0; i < 64; i++) s += std::abs(m[i]);
  return s;
}

uint64_t satd(const Pel *org, int org_stride, const Pel *pred, int pred_stride, int log2w, int log2h) {
  const int w = 1 << log2w, h = 1 << log2h;
  uint64_t total = 0;
  if (w < 8 || h < 8) {
    int d[16];
    for (int by = 0; by < h; by += 4)
      for (int bx = 0; bx < w; bx += 4) {
        for (int y = 0; y < 4; y++)
          for (int x = 0; x < 4; x++)
            d[y * 4 + x] = org[(by + y) * org_stride + bx + x] - pred[(by + y) * pred_stride + bx + x];
        total += (uint64_t(hadamard4x4(d)) + 1) >> 1;
      }
    return total;
  }
  int d[64];
  for (int by = 0; by < h; by += 8)
    for (int bx = 0; bx < w; bx += 8) {
      for (int y = 0; y < 8; y++)
        for (int x = 0; x < 8; x++)
          d[y * 8 + x] = org[(by + y) * org_stride + bx + x] - pred[(by + y) * pred_stride + bx + x];
      total += (uint64_t(hadamard8x8(d)) + 2) >> 2;
    }
  return total;
}

uint64_t sse(const Pel *a, int a_stride, const Pel *b, int b_stride, int w, int h) {
  uint64_t s = 0;
  for (int j = 0; j < h; j++) {
    const Pel *p = a + size_t(j) * a_stride, *q = b + size_t(j) * b_stride;
    for (int i = 0; i < w; i++) {
      const int d = p[i] - q[i];
      s += uint64_t(d * d);
    }
  }
  return s;
}

void fwd_rows(const int16_t *mat, int n, int num_out, const int16_t *src, int src_stride, int rows, int shift,
              int32_t *dst, int dst_stride) {
  const int64_t rnd = int64_t(1) << (shift - 1);
  for (int r = 0; r < rows; r++) {
    const int16_t *x = src + size_t(r) * src_stride;
    for (int k = 0; k < num_out; k++) {
      const int16_t *m = mat + size_t(k) * n;
      int64_t s = 0;
      for (int j = 0; j < n; j++) s += int64_t(m[j]) * x[j];
      dst[size_t(k) * dst_stride + r] = int32_t((s + rnd) >> shift);
    }
  }
}
}  // namespace

const EncDsp &enc_dsp_c() {
  static const EncDsp d{satd, sse, fwd_rows};
  return d;
}

const EncDsp &enc_dsp() {
  static const EncDsp &d = []() -> const EncDsp & {
    const char *env = std::getenv("PYVTM_DSP");
    if (env && std::strcmp(env, "c") == 0) return enc_dsp_c();
#if defined(__SSE2__)
    return enc_dsp_sse2();
#else
    return enc_dsp_c();
#endif
  }();
  return d;
}

}  // namespace pyvtm
