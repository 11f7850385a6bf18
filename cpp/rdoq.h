// Rate-distortion optimised quantisation (encoder only).
#pragma once
#include <cstdint>

#include "cabac.h"

namespace pyvtm {

// Quantises transform coefficients (forward_transform() scale) of a square
// TB to levels minimising SSE + lambda * bits under the context states cs.
// qp is qP of 8.7.3. Returns the number of nonzero levels.
int rdoq_quantize(const int32_t *coeff, int log2n, int qp, int c_idx, int bit_depth, const ContextSet &cs,
                  double lambda, int32_t *level);

}  // namespace pyvtm
