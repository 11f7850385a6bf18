// Scalar quantisation (encoder) and the normative scaling process (8.7.3)
// without scaling lists or dependent quantisation, square blocks.
#pragma once
#include <cstdint>

namespace pyvtm {

// qp is qP of 8.7.3 (Qp'Y, Qp'Cb or Qp'Cr, i.e. including QpBdOffset).
// Returns the number of nonzero levels.
int quantize(const int32_t *coeff, int log2n, int qp, int bit_depth, int32_t *level);

// 8.7.3: TransCoeffLevel -> scaled transform coefficients d (clipped).
void dequantize(const int32_t *level, int log2n, int qp, int bit_depth, int32_t *coeff);

}  // namespace pyvtm
