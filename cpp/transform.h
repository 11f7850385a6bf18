// DCT-II transforms: the normative inverse (8.7.4) and an encoder forward
// transform, for square blocks of side 4..64 with the 64-point zero-out.
#pragma once
#include "common.h"

namespace pyvtm {

// Scaled transform coefficients d[y*N + x] (already clipped to 16 bit) ->
// residual r[y*N + x] (8.7.4.1 with trType 0, bdShift for bit_depth).
void inverse_transform(const int32_t *coeff, int log2n, int bit_depth, int32_t *residual);

// Encoder forward transform, residual -> coefficients at the scale the
// quantiser of quant.h expects. Coefficients outside the top-left 32x32 are
// zeroed for N = 64.
void forward_transform(const int32_t *residual, int log2n, int bit_depth, int32_t *coeff);

// Sum of absolute Hadamard-transformed differences of an N x N block.
uint64_t satd(const Pel *org, int org_stride, const Pel *pred, int pred_stride, int log2n);

}  // namespace pyvtm
