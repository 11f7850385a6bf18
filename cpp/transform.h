// DCT-II transforms: the normative inverse (8.7.4) and an encoder forward
// transform, for W x H blocks with W, H in {4, 8, 16, 32, 64} and the
// zero-out of coefficients beyond 32 in a 64-long dimension.
#pragma once
#include "common.h"

namespace pyvtm {

// Scaled transform coefficients d[y*W + x] (already clipped to 16 bit) ->
// residual r[y*W + x] (8.7.4.1 with trTypeHor = trTypeVer = 0; only the
// nonZeroW x nonZeroH = Min(W, 32) x Min(H, 32) top-left coefficients are
// read; intermediate clipping after the first stage; bdShift for bit_depth).
void inverse_transform(const int32_t *coeff, int log2w, int log2h, int bit_depth, int32_t *residual);

// Encoder forward transform (horizontal then vertical), residual ->
// coefficients at the scale the quantiser of quant.h expects. Coefficients
// outside the top-left Min(W, 32) x Min(H, 32) are zeroed.
void forward_transform(const int32_t *residual, int log2w, int log2h, int bit_depth, int32_t *coeff);

// Sum of absolute Hadamard-transformed differences of a W x H block: 8x8
// tiles when both sides are >= 8, else 4x4 tiles, each normalised so the
// result is about twice the orthonormal-transform SAD at every size.
uint64_t satd(const Pel *org, int org_stride, const Pel *pred, int pred_stride, int log2w, int log2h);

}  // namespace pyvtm
