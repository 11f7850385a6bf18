// Matrix-based intra prediction (MIP, 8.4.5.2.2 - 8.4.5.2.4): the luma
// prediction of a CU with intra_mip_flag from its unfiltered top / left
// reference samples, and the sizes that follow from the block dimensions.
// Pure functions over plain buffers, shared by the decoder's reconstruction
// and the encoder's search.
#pragma once
#include <cstdint>

#include "common.h"

namespace pyvtm {

// The normative weight matrices (mip_tables.cpp): [modeId][position][input].
extern const uint8_t kMipMatrix0[16][16][4];
extern const uint8_t kMipMatrix1[8][16][8];
extern const uint8_t kMipMatrix2[6][64][7];

// 8.4.5.2.2: mipSizeId of a W x H block: 0 for 4x4, 1 for 4xN, Nx4 and
// 8x8, 2 otherwise.
inline int mip_size_id(int w, int h) {
  if (w == 4 && h == 4) return 0;
  if (w == 4 || h == 4 || (w == 8 && h == 8)) return 1;
  return 2;
}
// Number of MIP modes (intra_mip_mode 0..n-1) of a coding block: the cMax + 1
// of its TB binarisation (9.3.3.x, Table 127): 16, 8 or 6 by mipSizeId of
// cbWidth x cbHeight.
inline int mip_num_modes(int cb_w, int cb_h) {
  static const int kModes[3] = {16, 8, 6};
  return kModes[mip_size_id(cb_w, cb_h)];
}
// boundarySize and predSize (8.4.5.2.2, Table 22) of a mipSizeId.
inline int mip_boundary_size(int size_id) { return size_id == 0 ? 2 : 4; }
inline int mip_pred_size(int size_id) { return size_id == 2 ? 8 : 4; }
// inSize = 2 * boundarySize - (mipSizeId == 2 ? 1 : 0).
inline int mip_in_size(int size_id) { return 2 * mip_boundary_size(size_id) - (size_id == 2 ? 1 : 0); }

// 8.4.5.2.3: boundary downsampling of n reference samples to bdry_size
// averages (a copy when n == bdry_size).
void mip_downsample(const Pel *ref, int n, int bdry_size, int *red);

// The reduced prediction predMip (predSize x predSize, 8.4.5.2.2 steps 1-5:
// input vector with the first-sample offset rule, matrix-vector product,
// clipping; before transposition and upsampling) from the top / left
// reference samples refT[0..W-1], refL[0..H-1].
void mip_reduced_prediction(int mode, bool transposed, int w, int h, const Pel *ref_t, const Pel *ref_l,
                            int bit_depth, int *pred_mip);

// 8.4.5.2.2 in full for a W x H TB (sides 4..64): predSamples (stride W) of
// intra_mip_mode `mode` and intra_mip_transposed_flag `transposed` from
// refT[x] = p[x][-1] (x = 0..W-1) and refL[y] = p[-1][y] (y = 0..H-1), the
// unfiltered references of 8.4.5.2.8 / 8.4.5.2.9.
void predict_mip(int mode, bool transposed, int w, int h, const Pel *ref_t, const Pel *ref_l, int bit_depth,
                 Pel *dst);

}  // namespace pyvtm
