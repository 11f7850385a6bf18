// Separable transforms (DCT-II, DST-VII, DCT-VIII): the normative inverse
// (8.7.4) and an encoder forward transform, for W x H blocks with W, H in
// {4, 8, 16, 32, 64} and the zero-out of coefficients beyond 32 in a
// 64-long dimension (beyond 16 in a 32-long DST-VII / DCT-VIII one); the
// low-frequency non-separable transform (LFNST, 8.7.4.2 - 8.7.4.3) both ways.
#pragma once
#include "common.h"

namespace pyvtm {

// Scaled transform coefficients d[y*W + x] (already clipped to 16 bit) ->
// residual r[y*W + x] (8.7.4.1 with trTypeHor = trTypeVer = 0; only the
// nonZeroW x nonZeroH = Min(W, 32) x Min(H, 32) top-left coefficients are
// read; intermediate clipping after the first stage; bdShift for bit_depth).
// trTypeHor / trTypeVer: 0 DCT-II, 1 DST-VII, 2 DCT-VIII (DST-VII / DCT-VIII
// need the length <= 32 and read only the top-left Min(N, 16) inputs).
void inverse_transform(const int32_t *coeff, int log2w, int log2h, int bit_depth, int32_t *residual,
                       int tr_type_hor = 0, int tr_type_ver = 0);
// inverse_transform() of coefficients that are zero outside columns
// 0..last_x and rows 0..last_y (inside nonZeroW x nonZeroH; only those are
// read): the decoder, which knows that region from the scaling.
void inverse_transform_region(const int32_t *coeff, int log2w, int log2h, int bit_depth, int32_t *residual,
                              int tr_type_hor, int tr_type_ver, int last_x, int last_y);

// Encoder forward transform (horizontal then vertical), residual ->
// coefficients at the scale the quantiser of quant.h expects. Coefficients
// outside the top-left Min(W, 32) x Min(H, 32) are zeroed.
// With DST-VII / DCT-VIII the coefficients beyond 16 in that direction are zeroed.
void forward_transform(const int32_t *residual, int log2w, int log2h, int bit_depth, int32_t *coeff,
                       int tr_type_hor = 0, int tr_type_ver = 0);

// lfnstTrSetIdx of 8.7.4.2 for predModeIntra (after the wide-angle mapping,
// -14..80; CCLM modes are replaced by the luma mode before).
int lfnst_tr_set(int pred_mode_intra);

// Inverse LFNST (8.7.4.2 steps 1-4) in place on the scaled coefficients d of
// a W x H TB (W, H >= 4, stride W): the first nonZeroSize coefficients of the
// 4x4 diagonal scan -> the nLfnstOutSize = 16 (4x4) or 48 (8x8 minus its
// bottom-right 4x4) top-left coefficients, transposed when predModeIntra > 34,
// each Clip3(CoeffMin, CoeffMax, (sum + 64) >> 7). Other coefficients are zero.
void inverse_lfnst(int32_t *coeff, int log2w, int log2h, int lfnst_idx, int pred_mode_intra);
// Encoder forward LFNST (the transpose of the kernel): the same region of the
// primary transform coefficients -> nonZeroSize coefficients on the 4x4
// diagonal scan, (sum + 64) >> 7; every other coefficient of the TB is zeroed.
void forward_lfnst(int32_t *coeff, int log2w, int log2h, int lfnst_idx, int pred_mode_intra);

// Sum of absolute Hadamard-transformed differences of a W x H block: 8x8
// tiles when both sides are >= 8, else 4x4 tiles, each normalised so the
// result is about twice the orthonormal-transform SAD at every size.
uint64_t satd(const Pel *org, int org_stride, const Pel *pred, int pred_stride, int log2w, int log2h);

}  // namespace pyvtm
