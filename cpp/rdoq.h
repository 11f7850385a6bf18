// Rate-distortion optimised quantisation (encoder only).
#pragma once
#include <cstdint>

#include "cabac.h"

namespace pyvtm {

// Quantises transform coefficients (forward_transform() scale) of a W x H
// TB (W = 1 << log2w, H = 1 << log2h, raster, stride W) to levels
// minimising SSE + lambda * bits under the context states cs. Only the
// Min(W, 32) x Min(H, 32) zero-out region gets nonzero levels. qp is qP of
// 8.7.3. Returns the number of nonzero levels.
// Bits of the Rice-Golomb code of abs_remainder / dec_abs_level
// (write_rice_golomb() in syntax.cpp), shared with dep_quant.cpp.
double rice_golomb_bits(uint32_t value, int rice);

int rdoq_quantize(const int32_t *coeff, int log2w, int log2h, int qp, int c_idx, int bit_depth,
                  const ContextSet &cs, double lambda, int32_t *level);

}  // namespace pyvtm
