// Scalar quantisation (encoder) and the normative scaling process (8.7.3)
// without scaling lists, transform skip or dependent quantisation, for
// W x H blocks (W, H in {4, 8, 16, 32, 64}).
#pragma once
#include <cstdint>

namespace pyvtm {

// rectNonTsFlag of 8.7.3 (no transform skip): log2W + log2H odd, i.e. the
// transform gain is not a power of two and a sqrt(2) factor is folded into
// levelScale (and, in the encoder, into the quantisation scale).
inline int rect_non_ts_flag(int log2w, int log2h) { return (log2w + log2h) & 1; }

// qp is qP of 8.7.3 (Qp'Y, Qp'Cb or Qp'Cr, i.e. including QpBdOffset).
// Levels are written for all W x H positions (raster, stride W).
// Returns the number of nonzero levels.
int quantize(const int32_t *coeff, int log2w, int log2h, int qp, int bit_depth, int32_t *level);

// 8.7.3: TransCoeffLevel -> scaled transform coefficients d (clipped to 16 bit).
// dep_quant (sh_dep_quant_used_flag, transform_skip_flag 0): levelScale of
// qP + 1 and bdShift + 1, TransCoeffLevel being 2 * AbsLevel - (QState > 1).
void dequantize(const int32_t *level, int log2w, int log2h, int qp, int bit_depth, int32_t *coeff,
                bool dep_quant = false);
// dequantize() of the top-left nx x ny positions only (the coefficients
// elsewhere are not written), the region an inverse transform reads; last_x /
// last_y: the largest column / row there with a nonzero level (-1: none).
void dequantize_region(const int32_t *level, int log2w, int log2h, int qp, int bit_depth, int32_t *coeff,
                       bool dep_quant, int nx, int ny, int &last_x, int &last_y);

// 8.7.3 for a transform-skip TB: rectNonTsFlag = 0, bdShift = 10 (m = 16),
// qp already limited to >= QpPrimeTsMin by the caller.
void dequantize_ts(const int32_t *level, int num, int qp, int32_t *coeff);
// Encoder: residual samples -> transform-skip levels (the inverse of
// dequantize_ts up to rounding; offset in 1/512 of a step). Returns the
// number of nonzero levels.
int quantize_ts(const int32_t *resid, int num, int qp, int offset512, int32_t *level);

// Encoder quantisation parameters shared with rdoq.cpp: the scale Q and
// right shift qbits with level ~= |coeff| * Q >> qbits, and the (possibly
// half-integer) transform shift as a real number for distortion weighting.
struct QuantParams {
  int scale;               // quantScale[rectNonTsFlag][qP % 6]
  int qbits;               // 14 + qP / 6 + transformShift (- 1 when rectNonTsFlag)
  double transform_shift;  // 15 - bitDepth - (log2W + log2H) / 2
};
QuantParams quant_params(int log2w, int log2h, int qp, int bit_depth);

}  // namespace pyvtm
