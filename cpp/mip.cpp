#include "mip.h"

#include <algorithm>

namespace pyvtm {

namespace {

const uint8_t *mip_matrix(int size_id, int mode) {
  if (size_id == 0) return &kMipMatrix0[mode][0][0];
  if (size_id == 1) return &kMipMatrix1[mode][0][0];
  return &kMipMatrix2[mode][0][0];
}

// 8.4.5.2.4 one direction: n_lines lines of `len` = n * factor samples each;
// line l starts at dst + l * line_step and walks with sample_step. The known
// samples sit at positions (m + 1) * factor - 1 (m = 0..n-1); the samples in
// between are linearly interpolated from the previous known one (bdry[l *
// bdry_step] before the first) and the next.
void mip_upsample_1d(Pel *dst, int sample_step, int line_step, int n_lines, int factor, int n, const Pel *bdry,
                     int bdry_step) {
  const int log2f = floor_log2(uint32_t(factor)), round = factor >> 1;
  for (int l = 0; l < n_lines; l++) {
    Pel *line = dst + l * line_step;
    int before = bdry[l * bdry_step];
    for (int m = 0; m < n; m++) {
      const int after = line[((m + 1) * factor - 1) * sample_step];
      for (int k = 1; k < factor; k++)
        line[(m * factor + k - 1) * sample_step] = Pel(((factor - k) * before + k * after + round) >> log2f);
      before = after;
    }
  }
}

}  // namespace

void mip_downsample(const Pel *ref, int n, int bdry_size, int *red) {
  const int down = n / bdry_size;
  if (down == 1) {
    for (int i = 0; i < bdry_size; i++) red[i] = ref[i];
    return;
  }
  const int log2d = floor_log2(uint32_t(down));
  for (int i = 0; i < bdry_size; i++) {
    int s = 0;
    for (int j = 0; j < down; j++) s += ref[i * down + j];
    red[i] = (s + (1 << (log2d - 1))) >> log2d;
  }
}

void mip_reduced_prediction(int mode, bool transposed, int w, int h, const Pel *ref_t, const Pel *ref_l,
                            int bit_depth, int *pred_mip) {
  const int size_id = mip_size_id(w, h);
  const int bdry = mip_boundary_size(size_id), pred_size = mip_pred_size(size_id), in_size = mip_in_size(size_id);
  // pTemp: the reduced top boundary then the reduced left one (swapped when transposed).
  int p_temp[8];
  mip_downsample(ref_t, w, bdry, p_temp + (transposed ? bdry : 0));
  mip_downsample(ref_l, h, bdry, p_temp + (transposed ? 0 : bdry));
  // The input vector p: offsets to pTemp[0]; for mipSizeId 0 and 1 the
  // first entry is (1 << (BitDepth - 1)) - pTemp[0], for mipSizeId 2 pTemp[0]
  // itself is dropped.
  int p[8];
  if (size_id == 2) {
    for (int i = 0; i < in_size; i++) p[i] = p_temp[i + 1] - p_temp[0];
  } else {
    p[0] = (1 << (bit_depth - 1)) - p_temp[0];
    for (int i = 1; i < in_size; i++) p[i] = p_temp[i] - p_temp[0];
  }
  int sum_p = 0;
  for (int i = 0; i < in_size; i++) sum_p += p[i];
  // Weights are stored with +32 (fO): oW = (1 << (sW - 1)) - fO * sum(p), sW = 6.
  const int o_w = 32 - 32 * sum_p;
  const uint8_t *m = mip_matrix(size_id, mode);
  const int max_val = (1 << bit_depth) - 1;
  for (int pos = 0; pos < pred_size * pred_size; pos++) {
    int acc = 0;
    for (int i = 0; i < in_size; i++) acc += int(m[pos * in_size + i]) * p[i];
    pred_mip[pos] = clip3(0, max_val, ((acc + o_w) >> 6) + p_temp[0]);
  }
}

void predict_mip(int mode, bool transposed, int w, int h, const Pel *ref_t, const Pel *ref_l, int bit_depth,
                 Pel *dst) {
  const int size_id = mip_size_id(w, h), pred_size = mip_pred_size(size_id);
  int pred_mip[64];
  mip_reduced_prediction(mode, transposed, w, h, ref_t, ref_l, bit_depth, pred_mip);
  // Transposition (isTransposed) and placement at the subsampled positions
  // ((x + 1) * upHor - 1, (y + 1) * upVer - 1) of predSamples.
  const int up_hor = w / pred_size, up_ver = h / pred_size;
  for (int y = 0; y < pred_size; y++)
    for (int x = 0; x < pred_size; x++) {
      const int v = transposed ? pred_mip[x * pred_size + y] : pred_mip[y * pred_size + x];
      dst[((y + 1) * up_ver - 1) * w + (x + 1) * up_hor - 1] = Pel(v);
    }
  // 8.4.5.2.4: horizontal upsampling of the predSize rows (left boundary
  // refL), then vertical upsampling of all columns (top boundary refT).
  if (up_hor > 1) mip_upsample_1d(dst + (up_ver - 1) * w, 1, up_ver * w, pred_size, up_hor, pred_size,
                                  ref_l + up_ver - 1, up_ver);
  if (up_ver > 1) mip_upsample_1d(dst, w, 1, w, up_ver, pred_size, ref_t, 1);
}

}  // namespace pyvtm
