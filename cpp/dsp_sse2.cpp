// SSE2 versions of the kernels of dsp.h (x86-64 baseline: no run-time
// detection needed). Each produces exactly what its C reference produces.
#include "dsp.h"

#if defined(__SSE2__)
#include <emmintrin.h>

#include <cstring>

namespace pyvtm {

namespace {
// Clip(p - cur) + Clip(q - cur) of one tap for eight samples (int16: the
// differences of 10-bit samples and their sum fit).
inline __m128i clipped_pair(const Pel *p, const Pel *q, __m128i cur, __m128i c) {
  const __m128i nc = _mm_sub_epi16(_mm_setzero_si128(), c);
  const __m128i vp = _mm_loadu_si128(reinterpret_cast<const __m128i *>(p));
  const __m128i vq = _mm_loadu_si128(reinterpret_cast<const __m128i *>(q));
  const __m128i dp = _mm_min_epi16(_mm_max_epi16(_mm_sub_epi16(vp, cur), nc), c);
  const __m128i dq = _mm_min_epi16(_mm_max_epi16(_mm_sub_epi16(vq, cur), nc), c);
  return _mm_add_epi16(dp, dq);
}
// The int32 tap sums of eight samples (lo, hi halves): rounding, shift, + cur
// and the clamp to 0..maxv (int16 saturation first: the same as clamping in int32).
inline __m128i finish8(__m128i lo, __m128i hi, __m128i cur, int shift, __m128i vmax) {
  const __m128i rnd = _mm_set1_epi32(1 << (shift - 1)), sh = _mm_cvtsi32_si128(shift);
  const __m128i sign = _mm_srai_epi16(cur, 15);
  lo = _mm_add_epi32(_mm_sra_epi32(_mm_add_epi32(lo, rnd), sh), _mm_unpacklo_epi16(cur, sign));
  hi = _mm_add_epi32(_mm_sra_epi32(_mm_add_epi32(hi, rnd), sh), _mm_unpackhi_epi16(cur, sign));
  return _mm_min_epi16(_mm_max_epi16(_mm_packs_epi32(lo, hi), _mm_setzero_si128()), vmax);
}
inline __m128i coef_pair(int16_t a, int16_t b) {
  return _mm_set1_epi32(int32_t(uint32_t(uint16_t(a)) | (uint32_t(uint16_t(b)) << 16)));
}

void alf_chroma_row(const Pel *const rows[5], Pel *out, int w, const int16_t cf[6], const int16_t cl[6],
                    int shift, int maxv) {
  static const int kRowP[6] = {4, 3, 3, 3, 2, 2}, kRowQ[6] = {0, 1, 1, 1, 2, 2}, kOff[6] = {0, 1, 0, -1, 2, 1};
  __m128i clip[6], coef[3];
  for (int j = 0; j < 6; j++) clip[j] = _mm_set1_epi16(cl[j]);
  for (int j = 0; j < 3; j++) coef[j] = coef_pair(cf[2 * j], cf[2 * j + 1]);
  const __m128i vmax = _mm_set1_epi16(int16_t(maxv));
  int x = 0;
  for (; x + 8 <= w; x += 8) {
    const __m128i cur = _mm_loadu_si128(reinterpret_cast<const __m128i *>(rows[2] + x));
    __m128i d[6];
    for (int j = 0; j < 6; j++)
      d[j] = clipped_pair(rows[kRowP[j]] + x + kOff[j], rows[kRowQ[j]] + x - kOff[j], cur, clip[j]);
    __m128i lo = _mm_setzero_si128(), hi = _mm_setzero_si128();
    for (int j = 0; j < 3; j++) {
      lo = _mm_add_epi32(lo, _mm_madd_epi16(_mm_unpacklo_epi16(d[2 * j], d[2 * j + 1]), coef[j]));
      hi = _mm_add_epi32(hi, _mm_madd_epi16(_mm_unpackhi_epi16(d[2 * j], d[2 * j + 1]), coef[j]));
    }
    _mm_storeu_si128(reinterpret_cast<__m128i *>(out + x), finish8(lo, hi, cur, shift, vmax));
  }
  if (x < w) {
    const Pel *r[5];
    for (int j = 0; j < 5; j++) r[j] = rows[j] + x;
    dsp_c().alf_chroma_row(r, out + x, w - x, cf, cl, shift, maxv);
  }
}

// Eight samples (two 4x4 blocks) per step. The clipped differences fit int16
// (|p - cur| <= 1023 for 10-bit samples, the pair sum <= 2046); pmaddwd
// multiplies two taps' sums by their coefficients and adds them in int32.
void alf_luma_strip(const AlfLumaStrip &s) {
  // (tap, row, column offset of p; column offset of q = -offset) per tap j:
  // p from the row below (or r0's right side), q from the row above.
  static const int kRowP[12] = {6, 5, 5, 5, 4, 4, 4, 4, 4, 3, 3, 3};
  static const int kRowQ[12] = {0, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3};
  static const int kOff[12] = {0, 1, 0, -1, 2, 1, 0, -1, -2, 3, 2, 1};
  const __m128i vmax = _mm_set1_epi16(int16_t(s.maxv));
  int x = 0;
  for (; x + 8 <= s.w; x += 8) {
    const int16_t *cfa = s.cf[x >> 2], *cfb = s.cf[(x >> 2) + 1];
    const int16_t *cla = s.cl[x >> 2], *clb = s.cl[(x >> 2) + 1];
    __m128i clip[12], coef_lo[6], coef_hi[6];
    for (int j = 0; j < 12; j++)
      clip[j] = _mm_unpacklo_epi64(_mm_set1_epi16(cla[j]), _mm_set1_epi16(clb[j]));
    for (int j = 0; j < 6; j++) {
      coef_lo[j] = coef_pair(cfa[2 * j], cfa[2 * j + 1]);
      coef_hi[j] = coef_pair(cfb[2 * j], cfb[2 * j + 1]);
    }
    for (int k = 0; k < s.nrows; k++) {
      const Pel *const *r = s.rows[k];
      const __m128i cur = _mm_loadu_si128(reinterpret_cast<const __m128i *>(r[3] + x));
      __m128i d[12];
      for (int j = 0; j < 12; j++)
        d[j] = clipped_pair(r[kRowP[j]] + x + kOff[j], r[kRowQ[j]] + x - kOff[j], cur, clip[j]);
      __m128i lo = _mm_setzero_si128(), hi = _mm_setzero_si128();
      for (int j = 0; j < 6; j++) {
        lo = _mm_add_epi32(lo, _mm_madd_epi16(_mm_unpacklo_epi16(d[2 * j], d[2 * j + 1]), coef_lo[j]));
        hi = _mm_add_epi32(hi, _mm_madd_epi16(_mm_unpackhi_epi16(d[2 * j], d[2 * j + 1]), coef_hi[j]));
      }
      _mm_storeu_si128(reinterpret_cast<__m128i *>(s.out[k] + x), finish8(lo, hi, cur, s.shift[k], vmax));
    }
  }
  if (x < s.w) {  // a last 4-sample block
    AlfLumaStrip t = s;
    for (int k = 0; k < s.nrows; k++) {
      for (int j = 0; j < 7; j++) t.rows[k][j] = s.rows[k][j] + x;
      t.out[k] = s.out[k] + x;
    }
    t.w = s.w - x;
    t.cf = s.cf + (x >> 2);
    t.cl = s.cl + (x >> 2);
    dsp_c().alf_luma_strip(t);
  }
}

// Samples p[0], p[2], .., p[14] / p[1], p[3], .., p[15] as eight int16.
inline __m128i even16(const Pel *p) {
  const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i *>(p));
  const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i *>(p + 8));
  return _mm_packs_epi32(_mm_srai_epi32(_mm_slli_epi32(a, 16), 16), _mm_srai_epi32(_mm_slli_epi32(b, 16), 16));
}
inline __m128i odd16(const Pel *p) {
  const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i *>(p));
  const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i *>(p + 8));
  return _mm_packs_epi32(_mm_srai_epi32(a, 16), _mm_srai_epi32(b, 16));
}

// 8.8.5.3, eight positions per step (int16: |2c - a - b| <= 2046).
void alf_grad_row(const Pel *up, const Pel *r, const Pel *dn, int n, int32_t *const acc[4]) {
  const __m128i zero = _mm_setzero_si128();
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    const int x = 2 * i;
    const __m128i c = even16(r + x), c2 = _mm_add_epi16(c, c);
    const __m128i u0 = even16(up + x), d0 = even16(dn + x);
    const __m128i ul = even16(up + x - 1), ur = even16(up + x + 1), dl = even16(dn + x - 1), dr = even16(dn + x + 1);
    const __m128i rl = even16(r + x - 1), rr = even16(r + x + 1);
    __m128i g[4] = {_mm_sub_epi16(_mm_sub_epi16(c2, u0), d0), _mm_sub_epi16(_mm_sub_epi16(c2, rl), rr),
                    _mm_sub_epi16(_mm_sub_epi16(c2, ul), dr), _mm_sub_epi16(_mm_sub_epi16(c2, ur), dl)};
    for (int k = 0; k < 4; k++) {
      const __m128i a = _mm_max_epi16(g[k], _mm_sub_epi16(zero, g[k]));
      __m128i *p = reinterpret_cast<__m128i *>(acc[k] + i);
      _mm_storeu_si128(p, _mm_add_epi32(_mm_loadu_si128(p), _mm_unpacklo_epi16(a, zero)));
      _mm_storeu_si128(p + 1, _mm_add_epi32(_mm_loadu_si128(p + 1), _mm_unpackhi_epi16(a, zero)));
    }
  }
  if (i < n) {
    int32_t *const rest[4] = {acc[0] + i, acc[1] + i, acc[2] + i, acc[3] + i};
    dsp_c().alf_grad_row(up + 2 * i, r + 2 * i, dn + 2 * i, n - i, rest);
  }
}

// 8.8.5.7, eight chroma samples per step: the luma differences fit int16,
// pmaddwd sums two taps (the seventh with a zero partner).
void ccalf_row(const Pel *const rows[4], Pel *out, int w, const int16_t coeff[7], int bit_depth) {
  const __m128i c01 = coef_pair(coeff[0], coeff[1]), c23 = coef_pair(coeff[2], coeff[3]),
                c45 = coef_pair(coeff[4], coeff[5]), c6 = coef_pair(coeff[6], 0);
  const __m128i rnd = _mm_set1_epi32(64), zero = _mm_setzero_si128();
  const __m128i lo = _mm_set1_epi16(int16_t(-(1 << (bit_depth - 1)))), hi = _mm_set1_epi16(int16_t((1 << (bit_depth - 1)) - 1));
  const __m128i vmax = _mm_set1_epi16(int16_t((1 << bit_depth) - 1));
  int x = 0;
  for (; x + 8 <= w; x += 8) {
    const int xl = 2 * x;
    const __m128i cur = even16(rows[1] + xl);
    const __m128i d0 = _mm_sub_epi16(even16(rows[0] + xl), cur), d1 = _mm_sub_epi16(odd16(rows[1] + xl - 2), cur);
    const __m128i d2 = _mm_sub_epi16(odd16(rows[1] + xl), cur), d3 = _mm_sub_epi16(odd16(rows[2] + xl - 2), cur);
    const __m128i d4 = _mm_sub_epi16(even16(rows[2] + xl), cur), d5 = _mm_sub_epi16(odd16(rows[2] + xl), cur);
    const __m128i d6 = _mm_sub_epi16(even16(rows[3] + xl), cur);
    __m128i sl = _mm_add_epi32(_mm_madd_epi16(_mm_unpacklo_epi16(d0, d1), c01), _mm_madd_epi16(_mm_unpacklo_epi16(d2, d3), c23));
    sl = _mm_add_epi32(sl, _mm_add_epi32(_mm_madd_epi16(_mm_unpacklo_epi16(d4, d5), c45), _mm_madd_epi16(_mm_unpacklo_epi16(d6, zero), c6)));
    __m128i sh = _mm_add_epi32(_mm_madd_epi16(_mm_unpackhi_epi16(d0, d1), c01), _mm_madd_epi16(_mm_unpackhi_epi16(d2, d3), c23));
    sh = _mm_add_epi32(sh, _mm_add_epi32(_mm_madd_epi16(_mm_unpackhi_epi16(d4, d5), c45), _mm_madd_epi16(_mm_unpackhi_epi16(d6, zero), c6)));
    // Clip3(lo, hi, (sum + 64) >> 7) after int16 saturation (lo, hi are inside int16).
    const __m128i corr = _mm_min_epi16(_mm_max_epi16(_mm_packs_epi32(_mm_srai_epi32(_mm_add_epi32(sl, rnd), 7),
                                                                     _mm_srai_epi32(_mm_add_epi32(sh, rnd), 7)), lo), hi);
    const __m128i o = _mm_loadu_si128(reinterpret_cast<const __m128i *>(out + x));
    _mm_storeu_si128(reinterpret_cast<__m128i *>(out + x), _mm_min_epi16(_mm_max_epi16(_mm_add_epi16(o, corr), zero), vmax));
  }
  if (x < w) {
    const Pel *r[4];
    for (int j = 0; j < 4; j++) r[j] = rows[j] + 2 * x;
    dsp_c().ccalf_row(r, out + x, w - x, coeff, bit_depth);
  }
}

// 8.8.4.2 edge offset, eight samples per step: Sign(v - a) + Sign(v - b) in
// -2..2 selects SaoOffsetVal (edgeIdx 1, 2, 0, 3, 4).
void sao_edge_row(const Pel *src, const Pel *a, const Pel *b, Pel *dst, int n, const int8_t off[4], int maxv) {
  const __m128i o0 = _mm_set1_epi16(off[0]), o1 = _mm_set1_epi16(off[1]), o2 = _mm_set1_epi16(off[2]),
                o3 = _mm_set1_epi16(off[3]);
  const __m128i m2 = _mm_set1_epi16(-2), m1 = _mm_set1_epi16(-1), p1 = _mm_set1_epi16(1), p2 = _mm_set1_epi16(2);
  const __m128i vmax = _mm_set1_epi16(int16_t(maxv)), zero = _mm_setzero_si128();
  int x = 0;
  for (; x + 8 <= n; x += 8) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i *>(src + x));
    const __m128i va = _mm_loadu_si128(reinterpret_cast<const __m128i *>(a + x));
    const __m128i vb = _mm_loadu_si128(reinterpret_cast<const __m128i *>(b + x));
    // Sign(v - a) = (v > a) - (v < a): the compares give -1 for true.
    const __m128i sa = _mm_sub_epi16(_mm_cmplt_epi16(v, va), _mm_cmpgt_epi16(v, va));
    const __m128i sb = _mm_sub_epi16(_mm_cmplt_epi16(v, vb), _mm_cmpgt_epi16(v, vb));
    const __m128i e = _mm_add_epi16(sa, sb);
    const __m128i o = _mm_or_si128(_mm_or_si128(_mm_and_si128(_mm_cmpeq_epi16(e, m2), o0),
                                                _mm_and_si128(_mm_cmpeq_epi16(e, m1), o1)),
                                   _mm_or_si128(_mm_and_si128(_mm_cmpeq_epi16(e, p1), o2),
                                                _mm_and_si128(_mm_cmpeq_epi16(e, p2), o3)));
    const __m128i r = _mm_min_epi16(_mm_max_epi16(_mm_add_epi16(v, o), zero), vmax);
    _mm_storeu_si128(reinterpret_cast<__m128i *>(dst + x), r);
  }
  if (x < n) dsp_c().sao_edge_row(src + x, a + x, b + x, dst + x, n - x, off, maxv);
}

// 8.8.4.2 band offset: the four consecutive bands from sao_band_position.
void sao_band_row(const Pel *src, Pel *dst, int n, const int8_t band_table[32], int shift, const int8_t off[4],
                  int maxv) {
  __m128i band[4], offs[4];
  for (int k = 0; k < 4; k++) offs[k] = _mm_set1_epi16(off[k]), band[k] = _mm_set1_epi16(-1);
  for (int i = 0; i < 32; i++)
    if (band_table[i]) band[band_table[i] - 1] = _mm_set1_epi16(int16_t(i));
  const __m128i vmax = _mm_set1_epi16(int16_t(maxv)), zero = _mm_setzero_si128(), sh = _mm_cvtsi32_si128(shift);
  int x = 0;
  for (; x + 8 <= n; x += 8) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i *>(src + x));
    const __m128i bi = _mm_sra_epi16(v, sh);
    __m128i o = zero;
    for (int k = 0; k < 4; k++) o = _mm_or_si128(o, _mm_and_si128(_mm_cmpeq_epi16(bi, band[k]), offs[k]));
    _mm_storeu_si128(reinterpret_cast<__m128i *>(dst + x), _mm_min_epi16(_mm_max_epi16(_mm_add_epi16(v, o), zero), vmax));
  }
  if (x < n) dsp_c().sao_band_row(src + x, dst + x, n - x, band_table, shift, off, maxv);
}
}  // namespace

const Dsp &dsp_sse2() {
  static const Dsp d{alf_luma_strip, alf_chroma_row, ccalf_row, alf_grad_row, sao_edge_row, sao_band_row};
  return d;
}

// ===========================================================================
// Decoder-side kernels (dsp.h, DspDec).

namespace {
// y[i0 .. i0 + 4 * NV - 1] of one line: per input pair, the pair broadcast
// and multiplied with NV vectors of coefficient pairs (pmaddwd adds the two
// products of each output in 32 bits).
template <int NV>
inline void inv_tr_chunk(const int16_t *x, const int32_t *pairs, int num_pairs, int n, int i0, __m128i acc[NV]) {
  for (int v = 0; v < NV; v++) acc[v] = _mm_setzero_si128();
  const int32_t *t = pairs + i0;
  for (int p = 0; p < num_pairs; p++, t += n) {
    int32_t xp;
    std::memcpy(&xp, x + 2 * p, sizeof xp);
    const __m128i vx = _mm_set1_epi32(xp);
    for (int v = 0; v < NV; v++)
      acc[v] = _mm_add_epi32(acc[v], _mm_madd_epi16(vx, _mm_loadu_si128(reinterpret_cast<const __m128i *>(t + 4 * v))));
  }
}

template <int NV>
void inv_tr_first_n(const int16_t *src, int src_stride, int lines, const int32_t *pairs, int num_pairs, int n,
                    int16_t *dst, int dst_stride) {
  const __m128i rnd = _mm_set1_epi32(64);
  for (int l = 0; l < lines; l++) {
    const int16_t *x = src + l * src_stride;
    for (int i0 = 0; i0 < n; i0 += 4 * NV) {
      __m128i acc[NV];
      inv_tr_chunk<NV>(x, pairs, num_pairs, n, i0, acc);
      int16_t out[4 * NV];
      for (int v = 0; v < NV; v += 2) {
        const __m128i a = _mm_srai_epi32(_mm_add_epi32(acc[v], rnd), 7);
        const __m128i b = NV > 1 ? _mm_srai_epi32(_mm_add_epi32(acc[v + 1], rnd), 7) : a;
        const __m128i packed = _mm_packs_epi32(a, b);  // Clip3(-32768, 32767)
        if (NV > 1) _mm_storeu_si128(reinterpret_cast<__m128i *>(out + 4 * v), packed);
        else _mm_storel_epi64(reinterpret_cast<__m128i *>(out), packed);
      }
      int16_t *d = dst + i0 * dst_stride + l;
      for (int k = 0; k < 4 * NV; k++) d[k * dst_stride] = out[k];
    }
  }
}

template <int NV>
void inv_tr_second_n(const int16_t *src, int src_stride, int lines, const int32_t *pairs, int num_pairs, int n,
                     int shift, int32_t *dst, int dst_stride) {
  const __m128i rnd = _mm_set1_epi32((int32_t(1) << shift) >> 1), sh = _mm_cvtsi32_si128(shift);
  for (int l = 0; l < lines; l++) {
    const int16_t *x = src + l * src_stride;
    int32_t *d = dst + l * dst_stride;
    for (int i0 = 0; i0 < n; i0 += 4 * NV) {
      __m128i acc[NV];
      inv_tr_chunk<NV>(x, pairs, num_pairs, n, i0, acc);
      for (int v = 0; v < NV; v++)
        _mm_storeu_si128(reinterpret_cast<__m128i *>(d + i0 + 4 * v), _mm_sra_epi32(_mm_add_epi32(acc[v], rnd), sh));
    }
  }
}

void inv_tr_first(const int16_t *src, int src_stride, int lines, const int32_t *pairs, int num_pairs, int n,
                  int16_t *dst, int dst_stride) {
  if (n == 4) inv_tr_first_n<1>(src, src_stride, lines, pairs, num_pairs, n, dst, dst_stride);
  else if (n == 8) inv_tr_first_n<2>(src, src_stride, lines, pairs, num_pairs, n, dst, dst_stride);
  else if (n % 16 == 0) inv_tr_first_n<4>(src, src_stride, lines, pairs, num_pairs, n, dst, dst_stride);
  else dsp_dec_c().inv_tr_first(src, src_stride, lines, pairs, num_pairs, n, dst, dst_stride);
}

void inv_tr_second(const int16_t *src, int src_stride, int lines, const int32_t *pairs, int num_pairs, int n,
                   int shift, int32_t *dst, int dst_stride) {
  if (n == 4) inv_tr_second_n<1>(src, src_stride, lines, pairs, num_pairs, n, shift, dst, dst_stride);
  else if (n == 8) inv_tr_second_n<2>(src, src_stride, lines, pairs, num_pairs, n, shift, dst, dst_stride);
  else if (n % 16 == 0) inv_tr_second_n<4>(src, src_stride, lines, pairs, num_pairs, n, shift, dst, dst_stride);
  else dsp_dec_c().inv_tr_second(src, src_stride, lines, pairs, num_pairs, n, shift, dst, dst_stride);
}
// Eight samples at a time: pred sign-extended to 32 bits, the sum saturated
// to 16 bits (then clamped to 0..maxv: the same as clamping in 32 bits).
void add_residual_row(const Pel *pred, const int32_t *resid, Pel *dst, int n, int maxv) {
  const __m128i vmax = _mm_set1_epi16(int16_t(maxv)), zero = _mm_setzero_si128();
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i p = _mm_loadu_si128(reinterpret_cast<const __m128i *>(pred + i));
    const __m128i sign = _mm_srai_epi16(p, 15);
    const __m128i lo = _mm_add_epi32(_mm_unpacklo_epi16(p, sign), _mm_loadu_si128(reinterpret_cast<const __m128i *>(resid + i)));
    const __m128i hi =
        _mm_add_epi32(_mm_unpackhi_epi16(p, sign), _mm_loadu_si128(reinterpret_cast<const __m128i *>(resid + i + 4)));
    _mm_storeu_si128(reinterpret_cast<__m128i *>(dst + i), _mm_min_epi16(_mm_max_epi16(_mm_packs_epi32(lo, hi), zero), vmax));
  }
  if (i + 4 <= n) {  // four more (4-wide blocks)
    const __m128i p = _mm_loadl_epi64(reinterpret_cast<const __m128i *>(pred + i));
    const __m128i lo = _mm_add_epi32(_mm_unpacklo_epi16(p, _mm_srai_epi16(p, 15)),
                                     _mm_loadu_si128(reinterpret_cast<const __m128i *>(resid + i)));
    _mm_storel_epi64(reinterpret_cast<__m128i *>(dst + i), _mm_min_epi16(_mm_max_epi16(_mm_packs_epi32(lo, lo), zero), vmax));
    i += 4;
  }
  if (i < n) dsp_dec_c().add_residual_row(pred + i, resid + i, dst + i, n - i, maxv);
}
// Pairs (ref[x + 2j], ref[x + 2j + 1]) against (f[2j], f[2j + 1]) with pmaddwd:
// the products of 10-bit samples and 7-bit taps need 32 bits.
void intra_interp4_row(const Pel *ref, Pel *dst, int n, const int16_t f[4], int maxv) {
  const __m128i f01 = coef_pair(f[0], f[1]), f23 = coef_pair(f[2], f[3]);
  const __m128i rnd = _mm_set1_epi32(32), vmax = _mm_set1_epi16(int16_t(maxv)), zero = _mm_setzero_si128();
  int x = 0;
  for (; x + 8 <= n; x += 8) {
    const __m128i r0 = _mm_loadu_si128(reinterpret_cast<const __m128i *>(ref + x));
    const __m128i r1 = _mm_loadu_si128(reinterpret_cast<const __m128i *>(ref + x + 1));
    const __m128i r2 = _mm_loadu_si128(reinterpret_cast<const __m128i *>(ref + x + 2));
    const __m128i r3 = _mm_loadu_si128(reinterpret_cast<const __m128i *>(ref + x + 3));
    __m128i lo = _mm_add_epi32(_mm_madd_epi16(_mm_unpacklo_epi16(r0, r1), f01), _mm_madd_epi16(_mm_unpacklo_epi16(r2, r3), f23));
    __m128i hi = _mm_add_epi32(_mm_madd_epi16(_mm_unpackhi_epi16(r0, r1), f01), _mm_madd_epi16(_mm_unpackhi_epi16(r2, r3), f23));
    lo = _mm_srai_epi32(_mm_add_epi32(lo, rnd), 6);
    hi = _mm_srai_epi32(_mm_add_epi32(hi, rnd), 6);
    _mm_storeu_si128(reinterpret_cast<__m128i *>(dst + x), _mm_min_epi16(_mm_max_epi16(_mm_packs_epi32(lo, hi), zero), vmax));
  }
  if (x + 4 <= n) {  // four more (4-wide blocks)
    const __m128i r0 = _mm_loadl_epi64(reinterpret_cast<const __m128i *>(ref + x));
    const __m128i r1 = _mm_loadl_epi64(reinterpret_cast<const __m128i *>(ref + x + 1));
    const __m128i r2 = _mm_loadl_epi64(reinterpret_cast<const __m128i *>(ref + x + 2));
    const __m128i r3 = _mm_loadl_epi64(reinterpret_cast<const __m128i *>(ref + x + 3));
    __m128i lo = _mm_add_epi32(_mm_madd_epi16(_mm_unpacklo_epi16(r0, r1), f01), _mm_madd_epi16(_mm_unpacklo_epi16(r2, r3), f23));
    lo = _mm_srai_epi32(_mm_add_epi32(lo, rnd), 6);
    _mm_storel_epi64(reinterpret_cast<__m128i *>(dst + x), _mm_min_epi16(_mm_max_epi16(_mm_packs_epi32(lo, lo), zero), vmax));
    x += 4;
  }
  if (x < n) dsp_dec_c().intra_interp4_row(ref + x, dst + x, n - x, f, maxv);
}

// fract * (b - a) + 16 stays within 16 bits (|b - a| <= 1023, fract <= 31).
void intra_interp2_row(const Pel *ref, Pel *dst, int n, int fract) {
  const __m128i vf = _mm_set1_epi16(int16_t(fract)), rnd = _mm_set1_epi16(16);
  int x = 0;
  for (; x + 8 <= n; x += 8) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i *>(ref + x));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i *>(ref + x + 1));
    const __m128i d = _mm_srai_epi16(_mm_add_epi16(_mm_mullo_epi16(_mm_sub_epi16(b, a), vf), rnd), 5);
    _mm_storeu_si128(reinterpret_cast<__m128i *>(dst + x), _mm_add_epi16(a, d));
  }
  if (x + 4 <= n) {
    const __m128i a = _mm_loadl_epi64(reinterpret_cast<const __m128i *>(ref + x));
    const __m128i b = _mm_loadl_epi64(reinterpret_cast<const __m128i *>(ref + x + 1));
    const __m128i d = _mm_srai_epi16(_mm_add_epi16(_mm_mullo_epi16(_mm_sub_epi16(b, a), vf), rnd), 5);
    _mm_storel_epi64(reinterpret_cast<__m128i *>(dst + x), _mm_add_epi16(a, d));
    x += 4;
  }
  if (x < n) dsp_dec_c().intra_interp2_row(ref + x, dst + x, n - x, fract);
}
}  // namespace

const DspDec &dsp_dec_sse2() {
  static const DspDec d{inv_tr_first, inv_tr_second, add_residual_row, intra_interp4_row, intra_interp2_row};
  return d;
}

}  // namespace pyvtm
#endif

// ============================================================================
// Encoder kernels (encspeed): SSE2 versions of the EncDsp C references.
// ============================================================================
#if defined(__SSE2__)
namespace pyvtm {

namespace {
inline __m128i ld8(const Pel *p) { return _mm_loadu_si128(reinterpret_cast<const __m128i *>(p)); }
inline __m128i ld4(const Pel *p) { return _mm_loadl_epi64(reinterpret_cast<const __m128i *>(p)); }
inline __m128i abs16(__m128i x) { return _mm_max_epi16(x, _mm_sub_epi16(_mm_setzero_si128(), x)); }
inline __m128i swap_pairs16(__m128i x) {  // lanes (0 1)(2 3)... exchanged
  return _mm_shufflehi_epi16(_mm_shufflelo_epi16(x, _MM_SHUFFLE(2, 3, 0, 1)), _MM_SHUFFLE(2, 3, 0, 1));
}
inline __m128i swap_dpairs16(__m128i x) {  // lanes (0 1)<->(2 3) in each half
  return _mm_shufflehi_epi16(_mm_shufflelo_epi16(x, _MM_SHUFFLE(1, 0, 3, 2)), _MM_SHUFFLE(1, 0, 3, 2));
}
inline uint32_t hsum32(__m128i v) {
  v = _mm_add_epi32(v, _mm_shuffle_epi32(v, _MM_SHUFFLE(1, 0, 3, 2)));
  v = _mm_add_epi32(v, _mm_shuffle_epi32(v, _MM_SHUFFLE(2, 3, 0, 1)));
  return uint32_t(_mm_cvtsi128_si32(v));
}

// The last butterfly stage is not computed: |a + b| + |a - b| = 2 Max(|a|, |b|),
// and both lanes of a pair hold that maximum. Differences of 10-bit samples
// stay within int16 through the remaining stages (8x8: 8 * 4 * 1023 < 32768).
uint32_t hadamard8x8_sse2(const Pel *org, int os, const Pel *pred, int ps) {
  __m128i d[8], a[8];
  for (int y = 0; y < 8; y++) d[y] = _mm_sub_epi16(ld8(org + y * os), ld8(pred + y * ps));
  for (int j = 0; j < 4; j++) { a[j] = _mm_add_epi16(d[j], d[j + 4]); a[j + 4] = _mm_sub_epi16(d[j], d[j + 4]); }
  for (int j = 0; j < 2; j++) {
    d[j] = _mm_add_epi16(a[j], a[j + 2]); d[j + 2] = _mm_sub_epi16(a[j], a[j + 2]);
    d[j + 4] = _mm_add_epi16(a[j + 4], a[j + 6]); d[j + 6] = _mm_sub_epi16(a[j + 4], a[j + 6]);
  }
  for (int j = 0; j < 4; j++) { a[2 * j] = _mm_add_epi16(d[2 * j], d[2 * j + 1]); a[2 * j + 1] = _mm_sub_epi16(d[2 * j], d[2 * j + 1]); }
  const __m128i sgn1 = _mm_setr_epi16(1, 1, 1, 1, -1, -1, -1, -1), sgn2 = _mm_setr_epi16(1, 1, -1, -1, 1, 1, -1, -1);
  const __m128i ones = _mm_set1_epi16(1);
  __m128i acc = _mm_setzero_si128();
  for (int y = 0; y < 8; y++) {
    __m128i x = a[y];
    x = _mm_add_epi16(_mm_shuffle_epi32(x, _MM_SHUFFLE(1, 0, 3, 2)), _mm_mullo_epi16(x, sgn1));  // (i, i + 4)
    x = _mm_add_epi16(swap_dpairs16(x), _mm_mullo_epi16(x, sgn2));                            // (i, i + 2)
    x = abs16(x);
    x = _mm_max_epi16(x, swap_pairs16(x));  // (i, i + 1)
    acc = _mm_add_epi32(acc, _mm_madd_epi16(x, ones));
  }
  return hsum32(acc);
}

// Two 4x4 tiles side by side (lanes 0-3: the left one, 4-7: the right one;
// with w4 only the left one, the right lanes zero). Returns the two sums.
void hadamard4x4x2_sse2(const Pel *org, int os, const Pel *pred, int ps, bool w4, uint32_t s[2]) {
  __m128i d[4];
  for (int y = 0; y < 4; y++)
    d[y] = w4 ? _mm_sub_epi16(ld4(org + y * os), ld4(pred + y * ps)) : _mm_sub_epi16(ld8(org + y * os), ld8(pred + y * ps));
  const __m128i a0 = _mm_add_epi16(d[0], d[2]), a1 = _mm_add_epi16(d[1], d[3]);
  const __m128i a2 = _mm_sub_epi16(d[0], d[2]), a3 = _mm_sub_epi16(d[1], d[3]);
  const __m128i v[4] = {_mm_add_epi16(a0, a1), _mm_sub_epi16(a0, a1), _mm_add_epi16(a2, a3), _mm_sub_epi16(a2, a3)};
  const __m128i sgn2 = _mm_setr_epi16(1, 1, -1, -1, 1, 1, -1, -1), ones = _mm_set1_epi16(1);
  __m128i acc = _mm_setzero_si128();
  for (int y = 0; y < 4; y++) {
    __m128i x = _mm_add_epi16(swap_dpairs16(v[y]), _mm_mullo_epi16(v[y], sgn2));  // (i, i + 2)
    x = abs16(x);
    x = _mm_max_epi16(x, swap_pairs16(x));  // (i, i + 1)
    acc = _mm_add_epi32(acc, _mm_madd_epi16(x, ones));
  }
  alignas(16) uint32_t t[4];
  _mm_store_si128(reinterpret_cast<__m128i *>(t), acc);
  s[0] = t[0] + t[1];
  s[1] = t[2] + t[3];
}

uint64_t satd(const Pel *org, int org_stride, const Pel *pred, int pred_stride, int log2w, int log2h) {
  const int w = 1 << log2w, h = 1 << log2h;
  uint64_t total = 0;
  if (w < 8 || h < 8) {
    for (int by = 0; by < h; by += 4)
      for (int bx = 0; bx < w; bx += 8) {
        uint32_t s[2];
        hadamard4x4x2_sse2(org + by * org_stride + bx, org_stride, pred + by * pred_stride + bx, pred_stride, w == 4, s);
        total += (uint64_t(s[0]) + 1) >> 1;
        if (w > 4) total += (uint64_t(s[1]) + 1) >> 1;
      }
    return total;
  }
  for (int by = 0; by < h; by += 8)
    for (int bx = 0; bx < w; bx += 8)
      total += (uint64_t(hadamard8x8_sse2(org + by * org_stride + bx, org_stride, pred + by * pred_stride + bx,
                                          pred_stride)) + 2) >> 2;
  return total;
}

uint64_t sse(const Pel *a, int a_stride, const Pel *b, int b_stride, int w, int h) {
  if (w < 4) return enc_dsp_c().sse(a, a_stride, b, b_stride, w, h);
  const __m128i zero = _mm_setzero_si128();
  __m128i acc64 = zero;
  uint64_t tail = 0;
  for (int j = 0; j < h; j++) {
    const Pel *p = a + size_t(j) * a_stride, *q = b + size_t(j) * b_stride;
    __m128i acc = zero;
    int i = 0;
    for (; i + 8 <= w; i += 8) {
      const __m128i d = _mm_sub_epi16(ld8(p + i), ld8(q + i));
      acc = _mm_add_epi32(acc, _mm_madd_epi16(d, d));
    }
    if (i + 4 <= w) {
      const __m128i d = _mm_sub_epi16(ld4(p + i), ld4(q + i));
      acc = _mm_add_epi32(acc, _mm_madd_epi16(d, d));
      i += 4;
    }
    for (; i < w; i++) tail += uint64_t((p[i] - q[i]) * (p[i] - q[i]));
    acc64 = _mm_add_epi64(acc64, _mm_add_epi64(_mm_unpacklo_epi32(acc, zero), _mm_unpackhi_epi32(acc, zero)));
  }
  acc64 = _mm_add_epi64(acc64, _mm_unpackhi_epi64(acc64, acc64));
  uint64_t s;
  _mm_storel_epi64(reinterpret_cast<__m128i *>(&s), acc64);
  return s + tail;
}

// [sum of a0, sum of a1, sum of a2, sum of a3] (int32 lanes).
inline __m128i reduce4(__m128i a0, __m128i a1, __m128i a2, __m128i a3) {
  const __m128i s01 = _mm_add_epi32(_mm_unpacklo_epi32(a0, a1), _mm_unpackhi_epi32(a0, a1));
  const __m128i s23 = _mm_add_epi32(_mm_unpacklo_epi32(a2, a3), _mm_unpackhi_epi32(a2, a3));
  return _mm_add_epi32(_mm_unpacklo_epi64(s01, s23), _mm_unpackhi_epi64(s01, s23));
}

// int16 products summed in pairs (pmaddwd): |sum| <= 64 * 90 * 32767 < 2^31.
void fwd_rows(const int16_t *mat, int n, int num_out, const int16_t *src, int src_stride, int rows, int shift,
              int32_t *dst, int dst_stride) {
  const __m128i rnd = _mm_set1_epi32(1 << (shift - 1)), sh = _mm_cvtsi32_si128(shift);
  const int nv = n >> 3;
  alignas(16) int32_t t[4];
  for (int r = 0; r < rows; r++) {
    const int16_t *x = src + size_t(r) * src_stride;
    __m128i xv[8];
    if (n == 4) xv[0] = ld4(x);
    for (int c = 0; c < nv; c++) xv[c] = ld8(x + 8 * c);
    for (int k = 0; k < num_out; k += 4) {
      __m128i acc[4];
      for (int i = 0; i < 4; i++) {
        const int16_t *m = mat + size_t(k + i) * n;
        if (n == 4) {
          acc[i] = _mm_madd_epi16(ld4(m), xv[0]);
        } else {
          acc[i] = _mm_madd_epi16(ld8(m), xv[0]);
          for (int c = 1; c < nv; c++) acc[i] = _mm_add_epi32(acc[i], _mm_madd_epi16(ld8(m + 8 * c), xv[c]));
        }
      }
      const __m128i res = _mm_sra_epi32(_mm_add_epi32(reduce4(acc[0], acc[1], acc[2], acc[3]), rnd), sh);
      _mm_store_si128(reinterpret_cast<__m128i *>(t), res);
      for (int i = 0; i < 4; i++) dst[size_t(k + i) * dst_stride + r] = t[i];
    }
  }
}
}  // namespace

const EncDsp &enc_dsp_sse2() {
  static const EncDsp d{satd, sse, fwd_rows};
  return d;
}

}  // namespace pyvtm
#endif
