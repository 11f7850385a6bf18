#include "transform.h"

#include <cstdlib>

#include "tables.h"

namespace pyvtm {

static constexpr int kCoeffMin = -(1 << 15), kCoeffMax = (1 << 15) - 1;

void inverse_transform(const int32_t *coeff, int log2n, int bit_depth, int32_t *residual) {
  const int n = 1 << log2n;
  const int nz = std::min(n, 32);  // nonZeroW/H for DCT-II (8.7.4.1)
  const int step = 64 >> log2n;
  // Only the columns / rows up to the last nonzero coefficient contribute
  // (the skipped products are all zero, so the result is unchanged).
  int last_x = -1, last_y = -1;
  for (int y = 0; y < nz; y++)
    for (int x = 0; x < nz; x++)
      if (coeff[y * n + x]) { last_x = std::max(last_x, x); last_y = y; }
  int32_t g[64 * 64];
  // First stage: vertical 1-D transform of each column (8.7.4.1 step 2).
  for (int x = 0; x <= last_x; x++) {
    for (int y = 0; y < n; y++) {
      int64_t e = 0;
      for (int k = 0; k <= last_y; k++) e += int64_t(g_dct64[k * step][y]) * coeff[k * n + x];
      g[y * n + x] = clip3<int32_t>(kCoeffMin, kCoeffMax, int32_t((e + 64) >> 7));
    }
  }
  // Second stage: horizontal, then bdShift = max(20 - bitDepth, 0).
  const int bd_shift = std::max(20 - bit_depth, 0);
  const int64_t rnd = int64_t(1) << (bd_shift - 1);
  for (int y = 0; y < n; y++) {
    for (int x = 0; x < n; x++) {
      int64_t r = 0;
      for (int k = 0; k <= last_x; k++) r += int64_t(g_dct64[k * step][x]) * g[y * n + k];
      residual[y * n + x] = int32_t((r + rnd) >> bd_shift);
    }
  }
}

void forward_transform(const int32_t *residual, int log2n, int bit_depth, int32_t *coeff) {
  const int n = 1 << log2n;
  const int nz = std::min(n, 32);
  const int step = 64 >> log2n;
  // Shifts as in the reference encoder: (log2N + bitDepth - 9), (log2N + 6).
  const int shift1 = log2n + bit_depth - 9;
  const int shift2 = log2n + 6;
  int32_t tmp[64 * 64];
  for (int y = 0; y < n; y++)
    for (int k = 0; k < nz; k++) {
      int64_t s = 0;
      for (int x = 0; x < n; x++) s += int64_t(g_dct64[k * step][x]) * residual[y * n + x];
      tmp[y * n + k] = int32_t((s + (int64_t(1) << (shift1 - 1))) >> shift1);
    }
  for (int i = 0; i < n * n; i++) coeff[i] = 0;
  for (int x = 0; x < nz; x++)
    for (int k = 0; k < nz; k++) {
      int64_t s = 0;
      for (int y = 0; y < n; y++) s += int64_t(g_dct64[k * step][y]) * tmp[y * n + x];
      coeff[k * n + x] = int32_t((s + (int64_t(1) << (shift2 - 1))) >> shift2);
    }
}

static int hadamard4x4(const int *d) {
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

static int hadamard8x8(const int *d) {
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

uint64_t satd(const Pel *org, int org_stride, const Pel *pred, int pred_stride, int log2n) {
  const int n = 1 << log2n;
  uint64_t total = 0;
  if (n == 4) {
    int d[16];
    for (int y = 0; y < 4; y++)
      for (int x = 0; x < 4; x++) d[y * 4 + x] = org[y * org_stride + x] - pred[y * pred_stride + x];
    return (uint64_t(hadamard4x4(d)) + 1) >> 1;
  }
  int d[64];
  for (int by = 0; by < n; by += 8)
    for (int bx = 0; bx < n; bx += 8) {
      for (int y = 0; y < 8; y++)
        for (int x = 0; x < 8; x++)
          d[y * 8 + x] = org[(by + y) * org_stride + bx + x] - pred[(by + y) * pred_stride + bx + x];
      total += (uint64_t(hadamard8x8(d)) + 2) >> 2;
    }
  return total;
}

}  // namespace pyvtm
