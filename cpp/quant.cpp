#include "quant.h"

#include <cstdlib>

#include "common.h"

namespace pyvtm {

static const int kQuantScale[6] = {26214, 23302, 20560, 18396, 16384, 14564};
static const int kLevelScale[6] = {40, 45, 51, 57, 64, 72};

int quantize(const int32_t *coeff, int log2n, int qp, int bit_depth, int32_t *level) {
  const int n = 1 << log2n;
  const int transform_shift = 15 - bit_depth - log2n;
  const int qbits = 14 + qp / 6 + transform_shift;
  const int64_t offset = int64_t(171) << (qbits - 9);  // 1/3 rounding offset for intra
  const int scale = kQuantScale[qp % 6];
  int nz = 0;
  for (int i = 0; i < n * n; i++) {
    const int64_t a = std::abs(int64_t(coeff[i])) * scale;
    int32_t l = int32_t((a + offset) >> qbits);
    l = std::min(l, 32767);
    level[i] = coeff[i] < 0 ? -l : l;
    nz += l != 0;
  }
  return nz;
}

void dequantize(const int32_t *level, int log2n, int qp, int bit_depth, int32_t *coeff) {
  const int n = 1 << log2n;
  const int bd_shift = bit_depth + log2n - 5;  // rectNonTsFlag = 0, no dep. quant
  const int64_t bd_offset = (int64_t(1) << bd_shift) >> 1;
  const int64_t ls = int64_t(16 * kLevelScale[qp % 6]) << (qp / 6);
  for (int i = 0; i < n * n; i++) {
    if (!level[i]) { coeff[i] = 0; continue; }
    const int64_t d = (int64_t(level[i]) * ls + bd_offset) >> bd_shift;
    coeff[i] = int32_t(clip3<int64_t>(-32768, 32767, d));
  }
}

}  // namespace pyvtm
