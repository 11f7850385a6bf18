#include "quant.h"

#include <cstdlib>

#include "common.h"

namespace pyvtm {

// Encoder quantisation scales, 2^14 / Qstep for qP % 6; the second row is
// the first divided by sqrt(2) (qP + 3), for rectNonTsFlag = 1.
static const int kQuantScale[2][6] = {{26214, 23302, 20560, 18396, 16384, 14564},
                                      {18396, 16384, 14564, 13107, 11651, 10280}};
// levelScale[rectNonTsFlag][qP % 6] (8.7.3).
static const int kLevelScale[2][6] = {{40, 45, 51, 57, 64, 72}, {57, 64, 72, 80, 90, 102}};

QuantParams quant_params(int log2w, int log2h, int qp, int bit_depth) {
  // forward_transform() leaves coefficients at 2^transformShift times the
  // orthonormal transform, transformShift = 15 - bitDepth - (log2W + log2H) / 2.
  // For an odd log2W + log2H the half step is taken by the sqrt(2) scale
  // row and one bit less of shift.
  const int rect = rect_non_ts_flag(log2w, log2h);
  const int transform_shift = 15 - bit_depth - ((log2w + log2h) >> 1);
  QuantParams p;
  p.scale = kQuantScale[rect][qp % 6];
  p.qbits = 14 + qp / 6 + transform_shift - rect;
  p.transform_shift = transform_shift - 0.5 * rect;
  return p;
}

int quantize(const int32_t *coeff, int log2w, int log2h, int qp, int bit_depth, int32_t *level) {
  const int num = 1 << (log2w + log2h);
  const QuantParams p = quant_params(log2w, log2h, qp, bit_depth);
  const int64_t offset = int64_t(171) << (p.qbits - 9);  // 1/3 rounding offset for intra
  int nz = 0;
  for (int i = 0; i < num; i++) {
    const int64_t a = std::abs(int64_t(coeff[i])) * p.scale;
    int32_t l = int32_t((a + offset) >> p.qbits);
    l = std::min(l, 32767);
    level[i] = coeff[i] < 0 ? -l : l;
    nz += l != 0;
  }
  return nz;
}

void dequantize(const int32_t *level, int log2w, int log2h, int qp, int bit_depth, int32_t *coeff, bool dep_quant) {
  int last_x, last_y;
  dequantize_region(level, log2w, log2h, qp, bit_depth, coeff, dep_quant, 1 << log2w, 1 << log2h, last_x, last_y);
}

void dequantize_region(const int32_t *level, int log2w, int log2h, int qp, int bit_depth, int32_t *coeff,
                       bool dep_quant, int nx, int ny, int &last_x, int &last_y) {
  const int w = 1 << log2w;
  // 8.7.3 with m = 16 (no scaling list):
  // bdShift = BitDepth + rectNonTsFlag + ((log2W + log2H) / 2) - 5 + sh_dep_quant_used_flag,
  // ls = (m * levelScale[rectNonTsFlag][qP' % 6]) << (qP' / 6), qP' = qP + sh_dep_quant_used_flag.
  const int dq = dep_quant ? 1 : 0;
  const int rect = rect_non_ts_flag(log2w, log2h);
  const int bd_shift = bit_depth + rect + ((log2w + log2h) >> 1) - 5 + dq;
  const int64_t bd_offset = (int64_t(1) << bd_shift) >> 1;
  const int64_t ls = int64_t(16 * kLevelScale[rect][(qp + dq) % 6]) << ((qp + dq) / 6);
  last_x = last_y = -1;
  for (int y = 0; y < ny; y++) {
    const int32_t *l = level + size_t(y) * w;
    int32_t *c = coeff + size_t(y) * w;
    int32_t any = 0;  // most rows of a large TB hold no level: one pass to see it
    for (int x = 0; x < nx; x++) any |= l[x];
    if (!any) {
      std::fill(c, c + nx, 0);
      continue;
    }
    // Without a branch per level: a zero level scales to 0 (bd_offset < 1 << bd_shift).
    int row_last = -1;
    for (int x = 0; x < nx; x++) {
      const int64_t d = (int64_t(l[x]) * ls + bd_offset) >> bd_shift;
      c[x] = int32_t(clip3<int64_t>(-32768, 32767, d));
      row_last = l[x] ? x : row_last;
    }
    last_x = std::max(last_x, row_last);
    last_y = y;
  }
}

void dequantize_ts(const int32_t *level, int num, int qp, int32_t *coeff) {
  const int64_t ls = int64_t(16 * kLevelScale[0][qp % 6]) << (qp / 6);
  for (int i = 0; i < num; i++) {
    if (!level[i]) { coeff[i] = 0; continue; }
    const int64_t d = (int64_t(level[i]) * ls + 512) >> 10;
    coeff[i] = int32_t(clip3<int64_t>(-32768, 32767, d));
  }
}

int quantize_ts(const int32_t *resid, int num, int qp, int offset512, int32_t *level) {
  // level ~= resid * 2^6 / (levelScale << qP / 6) = resid * quantScale >> (14 + qP / 6).
  const int scale = kQuantScale[0][qp % 6], qbits = 14 + qp / 6;
  const int64_t offset = int64_t(offset512) << (qbits - 9);
  int nz = 0;
  for (int i = 0; i < num; i++) {
    const int64_t a = std::abs(int64_t(resid[i])) * scale;
    const int32_t l = int32_t(std::min<int64_t>((a + offset) >> qbits, 32767));
    level[i] = resid[i] < 0 ? -l : l;
    nz += l != 0;
  }
  return nz;
}

}  // namespace pyvtm
