#include "transform.h"

#include <cstdlib>
#include <vector>

#include "dsp.h"
#include "tables.h"
#include "transform_tables.h"

namespace pyvtm {

static constexpr int kCoeffMin = -(1 << 15), kCoeffMax = (1 << 15) - 1;

// Row k of transMatrix for the N-point DCT-II, N = 1 << log2n (8.7.4.5):
// the 64-point matrix subsampled, transMatrix_N[k][j] = g_dct64[k * 64 / N][j].
static inline const int8_t *dct_row(int log2n, int k) { return g_dct64[k << (6 - log2n)]; }

// One-dimensional inverse DCT-II (8.7.4.5, trType 0):
// y[i] = sum over j < num_in of transMatrix_N[j][i] * x[j], i = 0..N-1.
// Computed by the even/odd split of the DCT-II matrix (rows 2j of the
// N-point matrix are the N/2-point matrix; rows are symmetric / antisymmetric
// for even / odd j), in exact integer arithmetic: the result equals the
// matrix product of the standard bit for bit.
template <typename T>
static void inv_dct_1d(const T *x, int log2n, int num_in, T *y) {
  const int n = 1 << log2n;
  if (n == 1) { y[0] = num_in > 0 ? T(64) * x[0] : T(0); return; }
  const int h = n >> 1;
  T xe[32], e[32], o[32];
  const int num_even = (num_in + 1) >> 1;
  for (int k = 0; k < num_even; k++) xe[k] = x[2 * k];
  inv_dct_1d(xe, log2n - 1, num_even, e);
  for (int m = 0; m < h; m++) o[m] = 0;
  for (int k = 1; k < num_in; k += 2) {
    if (!x[k]) continue;
    const int8_t *row = dct_row(log2n, k);
    for (int m = 0; m < h; m++) o[m] += T(row[m]) * x[k];
  }
  for (int m = 0; m < h; m++) { y[m] = e[m] + o[m]; y[n - 1 - m] = e[m] - o[m]; }
}

// One-dimensional forward DCT-II (encoder): y[k] = sum over j < N of
// transMatrix_N[k][j] * x[j] for k < num_out, by the same even/odd split
// (exact, so equal to the matrix product).
static void fwd_dct_1d(const int64_t *x, int log2n, int num_out, int64_t *y) {
  const int n = 1 << log2n;
  if (n == 1) { y[0] = 64 * x[0]; return; }
  const int h = n >> 1;
  int64_t e[32], o[32], ye[32];
  for (int m = 0; m < h; m++) { e[m] = x[m] + x[n - 1 - m]; o[m] = x[m] - x[n - 1 - m]; }
  const int num_even = (num_out + 1) >> 1;
  fwd_dct_1d(e, log2n - 1, num_even, ye);
  for (int k = 0; k < num_even; k++) y[2 * k] = ye[k];
  for (int k = 1; k < num_out; k += 2) {
    const int8_t *row = dct_row(log2n, k);
    int64_t s = 0;
    for (int m = 0; m < h; m++) s += int64_t(row[m]) * o[m];
    y[k] = s;
  }
}

// transMatrix of DST-VII (tr_type 1) or DCT-VIII (tr_type 2), N = 1 << log2n
// in 4..32, row-major (row k: basis function k).
static const int8_t *mts_matrix(int tr_type, int log2n) {
  switch (log2n) {
    case 2: return tr_type == 1 ? &g_dst7_4[0][0] : &g_dct8_4[0][0];
    case 3: return tr_type == 1 ? &g_dst7_8[0][0] : &g_dct8_8[0][0];
    case 4: return tr_type == 1 ? &g_dst7_16[0][0] : &g_dct8_16[0][0];
    default: return tr_type == 1 ? &g_dst7_32[0][0] : &g_dct8_32[0][0];
  }
}

// One-dimensional inverse transform of type tr_type (8.7.4.5):
// y[i] = sum over j < num_in of transMatrix[j][i] * x[j].
template <typename T>
static void inv_1d(const T *x, int tr_type, int log2n, int num_in, T *y) {
  if (tr_type == 0) { inv_dct_1d(x, log2n, num_in, y); return; }
  const int n = 1 << log2n;
  const int8_t *m = mts_matrix(tr_type, log2n);
  for (int i = 0; i < n; i++) y[i] = 0;
  for (int j = 0; j < num_in; j++) {
    if (!x[j]) continue;
    const int8_t *row = m + j * n;
    for (int i = 0; i < n; i++) y[i] += T(row[i]) * x[j];
  }
}

// Forward counterpart (encoder): y[k] = sum over j < N of transMatrix[k][j] * x[j], k < num_out.
static void fwd_1d(const int64_t *x, int tr_type, int log2n, int num_out, int64_t *y) {
  if (tr_type == 0) { fwd_dct_1d(x, log2n, num_out, y); return; }
  const int n = 1 << log2n;
  const int8_t *m = mts_matrix(tr_type, log2n);
  for (int k = 0; k < num_out; k++) {
    int64_t s = 0;
    for (int j = 0; j < n; j++) s += int64_t(m[k * n + j]) * x[j];
    y[k] = s;
  }
}

// The matrices of the inverse transforms as pairs of rows for the dsp
// kernels (dsp.h, DspDec): per trType and log2(N), rows 0..nonZeroSize - 1
// (32 for DCT-II, 16 for DST-VII / DCT-VIII), row 2p in the low and row
// 2p + 1 in the high 16 bits of entry [p * N + i].
namespace {
struct InvTrPairs {
  std::vector<int32_t> t[3][7];  // [trType][log2 N], N = 4..64 (DCT-II) or 4..32
  InvTrPairs() {
    for (int tr = 0; tr < 3; tr++)
      for (int log2n = 2; log2n <= (tr ? 5 : 6); log2n++) {
        const int n = 1 << log2n, num_pairs = std::min(n, tr ? 16 : 32) / 2;
        std::vector<int32_t> &v = t[tr][log2n];
        v.resize(size_t(num_pairs) * n);
        for (int p = 0; p < num_pairs; p++)
          for (int i = 0; i < n; i++) {
            const int a = tr ? mts_matrix(tr, log2n)[2 * p * n + i] : dct_row(log2n, 2 * p)[i];
            const int b = tr ? mts_matrix(tr, log2n)[(2 * p + 1) * n + i] : dct_row(log2n, 2 * p + 1)[i];
            v[size_t(p) * n + i] = int32_t(uint32_t(uint16_t(a)) | (uint32_t(uint16_t(b)) << 16));
          }
      }
  }
};
const int32_t *inv_tr_pairs(int tr_type, int log2n) {
  static const InvTrPairs tables;
  return tables.t[tr_type][log2n].data();
}
}  // namespace

// nonZeroW / nonZeroH of 8.7.4.1 for one direction.
static int non_zero_size(int n, int tr_type) { return std::min(n, tr_type ? 16 : 32); }

void inverse_transform(const int32_t *coeff, int log2w, int log2h, int bit_depth, int32_t *residual,
                       int tr_type_hor, int tr_type_ver) {
  const int w = 1 << log2w, h = 1 << log2h;
  if (w == 1 || h == 1) {
    // 8.7.4.1 for a TB of width or height 1 (ISP): the one-dimensional
    // transform along the other side only, then (x + (1 << (bdShift - 1)))
    // >> bdShift with bdShift = 21 - bitDepth (no intermediate stage).
    const bool col = w == 1;
    const int n = col ? h : w, log2n = col ? log2h : log2w, tr = col ? tr_type_ver : tr_type_hor;
    const int nz = non_zero_size(n, tr);
    int last = -1;
    for (int k = 0; k < nz; k++)
      if (coeff[k]) last = k;
    if (last < 0 && (n > 1 || !coeff[0])) {
      std::fill(residual, residual + w * h, 0);
      return;
    }
    int32_t e[64];
    inv_1d(coeff, tr, log2n, last + 1, e);
    const int shift = 21 - bit_depth;
    for (int k = 0; k < n; k++) residual[k] = (e[k] + (int32_t(1) << (shift - 1))) >> shift;
    return;
  }
  const int nz_w = non_zero_size(w, tr_type_hor), nz_h = non_zero_size(h, tr_type_ver);
  // Columns / rows beyond the last nonzero coefficient contribute nothing
  // (their products are zero), so the 1-D transforms stop there.
  int last_x = -1, last_y = -1;
  for (int y = 0; y < nz_h; y++)
    for (int x = 0; x < nz_w; x++)
      if (coeff[y * w + x]) { last_x = std::max(last_x, x); last_y = y; }
  if (last_x < 0) {
    std::fill(residual, residual + w * h, 0);
    return;
  }
  inverse_transform_region(coeff, log2w, log2h, bit_depth, residual, tr_type_hor, tr_type_ver, last_x, last_y);
}

void inverse_transform_region(const int32_t *coeff, int log2w, int log2h, int bit_depth, int32_t *residual,
                              int tr_type_hor, int tr_type_ver, int last_x, int last_y) {
  const int w = 1 << log2w, h = 1 << log2h;
  if (w == 1 || h == 1) {
    inverse_transform(coeff, log2w, log2h, bit_depth, residual, tr_type_hor, tr_type_ver);
    return;
  }
  // Inputs are 16-bit and each output sums at most 32 products of
  // magnitude <= 90 * 2^15 in either stage, so 32-bit sums cannot overflow.
  const int bd_shift = std::max(20 - bit_depth, 0);
  if (w >= 4 && h >= 4) {
    // The dsp kernels: columns 0..last_x of the coefficients (rows
    // 0..last_y, padded to an even count) as 16-bit lines, the vertical
    // stage into the rows of g (columns 0..last_x, padded likewise), then
    // the horizontal stage of every row.
    const DspDec &d = dsp_dec();
    const int pairs_v = (last_y + 2) >> 1, pairs_h = (last_x + 2) >> 1;
    int16_t cols[32 * 32];
    for (int x = 0; x <= last_x; x++) {
      int16_t *c = cols + x * 32;
      for (int k = 0; k <= last_y; k++) c[k] = int16_t(coeff[k * w + x]);
      if (last_y + 1 < 2 * pairs_v) c[last_y + 1] = 0;
    }
    int16_t g[64 * 32];
    d.inv_tr_first(cols, 32, last_x + 1, inv_tr_pairs(tr_type_ver, log2h), pairs_v, h, g, 32);
    if (last_x + 1 < 2 * pairs_h)
      for (int y = 0; y < h; y++) g[y * 32 + last_x + 1] = 0;
    d.inv_tr_second(g, 32, h, inv_tr_pairs(tr_type_hor, log2w), pairs_h, w, bd_shift, residual, w);
    return;
  }
  int32_t g[64 * 64];
  int32_t col[64], e[64];
  // Stage 1: vertical transform of columns 0..last_x (8.7.4.1 step 2),
  // then g = Clip3(coeffMin, coeffMax, (e + 64) >> 7).
  for (int x = 0; x <= last_x; x++) {
    for (int k = 0; k <= last_y; k++) col[k] = coeff[k * w + x];
    inv_1d(col, tr_type_ver, log2h, last_y + 1, e);
    for (int y = 0; y < h; y++) g[y * w + x] = clip3<int32_t>(kCoeffMin, kCoeffMax, (e[y] + 64) >> 7);
  }
  // Stage 2: horizontal transform of each row, then bdShift = Max(20 - bitDepth, 0) (8.7.2).
  const int32_t rnd = bd_shift ? int32_t(1) << (bd_shift - 1) : 0;
  for (int y = 0; y < h; y++) {
    inv_1d(g + y * w, tr_type_hor, log2w, last_x + 1, e);
    for (int x = 0; x < w; x++) residual[y * w + x] = (e[x] + rnd) >> bd_shift;
  }
}

// The forward transform in int64 arithmetic, for any input range and for
// the 1- and 2-sample sides of narrow ISP TBs.
static void forward_transform_wide(const int32_t *residual, int log2w, int log2h, int bit_depth, int32_t *coeff,
                                   int tr_type_hor, int tr_type_ver) {

  const int w = 1 << log2w, h = 1 << log2h;
  const int nz_w = non_zero_size(w, tr_type_hor), nz_h = non_zero_size(h, tr_type_ver);
  // Shifts as in the reference encoder: (log2W + bitDepth - 9) after the
  // horizontal stage, (log2H + 6) after the vertical one.
  const int shift1 = log2w + bit_depth - 9;
  const int shift2 = log2h + 6;
  const int64_t rnd1 = int64_t(1) << (shift1 - 1), rnd2 = int64_t(1) << (shift2 - 1);
  int64_t tmp[64 * 32];  // h rows of nz_w coefficients
  int64_t in[64] = {}, out[64];
  for (int y = 0; y < h; y++) {
    for (int x = 0; x < w; x++) in[x] = residual[y * w + x];
    fwd_1d(in, tr_type_hor, log2w, nz_w, out);
    for (int k = 0; k < nz_w; k++) tmp[y * nz_w + k] = int32_t((out[k] + rnd1) >> shift1);
  }
  std::fill(coeff, coeff + w * h, 0);
  for (int k = 0; k < nz_w; k++) {
    for (int y = 0; y < h; y++) in[y] = tmp[y * nz_w + k];
    fwd_1d(in, tr_type_ver, log2h, nz_h, out);
    for (int j = 0; j < nz_h; j++) coeff[j * w + k] = int32_t((out[j] + rnd2) >> shift2);
  }
}

// Transform matrices for the encoder kernels (EncDsp::fwd_rows): int16 rows
// k < Min(N, 32) (DCT-II) / Min(N, 16) (DST-VII, DCT-VIII) of the N-point
// matrix, N = 1 << log2n, 4 <= N <= 64 (32 for DST-VII / DCT-VIII).
static const int16_t *fwd_matrix(int tr_type, int log2n) {
  static const std::vector<int16_t> *tables = [] {
    auto *t = new std::vector<int16_t>[3 * 7];
    for (int tr = 0; tr < 3; tr++)
      for (int l = 2; l <= (tr ? 5 : 6); l++) {
        const int n = 1 << l, rows = non_zero_size(n, tr);
        std::vector<int16_t> &m = t[tr * 7 + l];
        m.resize(size_t(rows) * n);
        for (int k = 0; k < rows; k++)
          for (int j = 0; j < n; j++) m[size_t(k) * n + j] = tr ? mts_matrix(tr, l)[k * n + j] : dct_row(l, k)[j];
      }
    return t;
  }();
  return tables[tr_type * 7 + log2n].data();
}

void forward_transform(const int32_t *residual, int log2w, int log2h, int bit_depth, int32_t *coeff,
                       int tr_type_hor, int tr_type_ver) {
  if (log2w < 2 || log2h < 2) {
    forward_transform_wide(residual, log2w, log2h, bit_depth, coeff, tr_type_hor, tr_type_ver);
    return;
  }
  const int w = 1 << log2w, h = 1 << log2h;
  const int nz_w = non_zero_size(w, tr_type_hor), nz_h = non_zero_size(h, tr_type_ver);
  const int shift1 = log2w + bit_depth - 9, shift2 = log2h + 6;
  // Both stages as int16 x int16 products (the kernels' range): the residual
  // and the intermediate values (about 2^15 at most for any 16-bit input,
  // but not guaranteed) are checked, else the int64 version.
  int16_t r16[64 * 64], t16[32 * 64];
  int32_t tmp[32 * 64];  // transposed: nz_w rows of h intermediate values
  bool fits = true;
  for (int i = 0; i < w * h; i++) {
    r16[i] = int16_t(residual[i]);
    fits &= r16[i] == residual[i];
  }
  const EncDsp &d = enc_dsp();
  if (fits) {
    d.fwd_rows(fwd_matrix(tr_type_hor, log2w), w, nz_w, r16, w, h, shift1, tmp, h);
    for (int i = 0; i < nz_w * h; i++) {
      t16[i] = int16_t(tmp[i]);
      fits &= t16[i] == tmp[i];
    }
  }
  if (!fits) {
    forward_transform_wide(residual, log2w, log2h, bit_depth, coeff, tr_type_hor, tr_type_ver);
    return;
  }
  std::fill(coeff, coeff + w * h, 0);
  d.fwd_rows(fwd_matrix(tr_type_ver, log2h), h, nz_h, t16, h, nz_w, shift2, coeff, w);
}

// --- LFNST (8.7.4.2 / 8.7.4.3) -------------------------------------------------

int lfnst_tr_set(int m) {
  if (m < 0) return 1;
  if (m <= 1) return 0;
  if (m <= 12) return 1;
  if (m <= 23) return 2;
  if (m <= 44) return 3;
  if (m <= 55) return 2;
  return 1;
}

namespace {
// Geometry of the LFNST of a W x H TB: nLfnstOutSize, nonZeroSize, the
// kernel, and the raster position (stride W) of each of the nLfnstOutSize
// coefficients (8.7.4.2 step 4: rows of nLfnstSize (4 in rows >= 4 of the
// 8x8 case), transposed when predModeIntra > 34).
struct LfnstShape {
  int out_size, non_zero_size;
  const int8_t *kernel;  // [16][out_size]
  int pos[48];
  LfnstShape(int log2w, int log2h, int lfnst_idx, int pred_mode) {
    const bool big = log2w >= 3 && log2h >= 3;
    out_size = big ? 48 : 16;
    non_zero_size = (log2w == log2h && log2w <= 3) ? 8 : 16;
    const int set = lfnst_tr_set(pred_mode);
    kernel = big ? &g_lfnst_8x8[set][lfnst_idx - 1][0][0] : &g_lfnst_4x4[set][lfnst_idx - 1][0][0];
    const int n = big ? 8 : 4, w = 1 << log2w;
    const bool transpose = pred_mode > 34;
    for (int j = 0; j < out_size; j++) {
      int x, y;
      if (j < 4 * n) { y = j / n; x = j % n; }
      else { y = 4 + (j - 32) / 4; x = (j - 32) % 4; }
      if (transpose) std::swap(x, y);
      pos[j] = y * w + x;
    }
  }
};
}  // namespace

void inverse_lfnst(int32_t *coeff, int log2w, int log2h, int lfnst_idx, int pred_mode_intra) {
  const LfnstShape s(log2w, log2h, lfnst_idx, pred_mode_intra);
  const ScanPos *scan = diag_scan(2, 2);
  const int w = 1 << log2w;
  int32_t u[16];
  for (int i = 0; i < s.non_zero_size; i++) u[i] = coeff[scan[i].y * w + scan[i].x];
  std::fill(coeff, coeff + (size_t(1) << (log2w + log2h)), 0);
  for (int j = 0; j < s.out_size; j++) {
    int64_t sum = 0;
    for (int i = 0; i < s.non_zero_size; i++) sum += int64_t(s.kernel[i * s.out_size + j]) * u[i];
    coeff[s.pos[j]] = int32_t(clip3<int64_t>(kCoeffMin, kCoeffMax, (sum + 64) >> 7));
  }
}

void forward_lfnst(int32_t *coeff, int log2w, int log2h, int lfnst_idx, int pred_mode_intra) {
  const LfnstShape s(log2w, log2h, lfnst_idx, pred_mode_intra);
  const ScanPos *scan = diag_scan(2, 2);
  const int w = 1 << log2w;
  int64_t v[48];
  for (int j = 0; j < s.out_size; j++) v[j] = coeff[s.pos[j]];
  std::fill(coeff, coeff + (size_t(1) << (log2w + log2h)), 0);
  for (int i = 0; i < s.non_zero_size; i++) {
    int64_t sum = 0;
    for (int j = 0; j < s.out_size; j++) sum += int64_t(s.kernel[i * s.out_size + j]) * v[j];
    coeff[scan[i].y * w + scan[i].x] = int32_t((sum + 64) >> 7);
  }
}

uint64_t satd(const Pel *org, int org_stride, const Pel *pred, int pred_stride, int log2w, int log2h) {
  return enc_dsp().satd(org, org_stride, pred, pred_stride, log2w, log2h);
}

}  // namespace pyvtm
