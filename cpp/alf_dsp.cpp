#include "alf_dsp.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace pyvtm {

namespace {
inline int clipd(int d, int c) { return std::min(std::max(d, -c), c); }
}  // namespace

// 8.8.5.2, equations of curr / sum for one sample, taps of the 7x7 diamond
// (a: rows below, b: rows above).
void alf_luma_strip_c(const AlfLumaStrip &s) {
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
void alf_chroma_row_c(const Pel *const rows[5], Pel *out, int w, const int16_t cf[6], const int16_t cl[6], int shift,
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

#if defined(__SSE2__)
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
}  // namespace

void alf_chroma_row_sse2(const Pel *const rows[5], Pel *out, int w, const int16_t cf[6], const int16_t cl[6],
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
    alf_chroma_row_c(r, out + x, w - x, cf, cl, shift, maxv);
  }
}

// Eight samples (two 4x4 blocks) per step. The clipped differences fit int16
// (|p - cur| <= 1023 for 10-bit samples, the pair sum <= 2046); pmaddwd
// multiplies two taps' sums by their coefficients and adds them in int32.
void alf_luma_strip_sse2(const AlfLumaStrip &s) {
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
    alf_luma_strip_c(t);
  }
}
#endif

const AlfDsp &alf_dsp() {
  static const AlfDsp dsp = [] {
    AlfDsp d{alf_luma_strip_c, alf_chroma_row_c};
    const char *env = std::getenv("PYVTM_DSP");
    if (env && std::strcmp(env, "c") == 0) return d;
#if defined(__SSE2__)
    d.luma_strip = alf_luma_strip_sse2;
    d.chroma_row = alf_chroma_row_sse2;
#endif
    return d;
  }();
  return dsp;
}

}  // namespace pyvtm
