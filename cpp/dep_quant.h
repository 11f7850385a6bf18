// Encoder-side quantisation for dependent quantisation (DQ, 7.3.11.11 /
// 8.7.3 with sh_dep_quant_used_flag) and sign data hiding (SDH,
// sh_sign_data_hiding_used_flag), beside rdoq.h.
#pragma once
#include <cstdint>

#include "cabac.h"

namespace pyvtm {

// Trellis (Viterbi over the four QStates along the reverse diagonal scan)
// choosing TransCoeffLevel values of a W x H TB (raster, stride W; at least
// 16 samples: 4x4 subblocks, or the 1x16 / 2x8 / 16x1 / 8x2 ones of
// narrow TBs such as ISP sub-partitions) for
// dependent quantisation: each state allows the levels of its quantiser
// (QState 0/1: even TransCoeffLevel, 2/3: odd or zero), the AbsLevel parity
// moves the state (QStateTransTable). Cost D + lambda * R with rates from the
// CABAC states cs (state-dependent sig_coeff_flag contexts with the
// templates of each path, gtx / par / remainder bins, last position,
// sb_coded_flag). Candidates per position and quantiser: 0 and the two
// nearest levels of its parity, rounding down preferred (below 1.5 lattice
// steps Delta / 2 the smallest nonzero level, also for tiny coefficients:
// it can steer the state machine); a path
// starts at any position up to the last |coeff| >= Delta / 2. Only the
// Min(W, 32) x Min(H, 32) zero-out region gets
// nonzero levels. qp is qP of 8.7.3 (without the + 1 of DQ, which this
// applies). Returns the number of nonzero levels; rate_bits (optional):
// the trellis's own estimate of the residual_coding() bits of those levels
// (contexts as in cs, not adapted along the TB; no coded flag).
int dep_quant_quantize(const int32_t *coeff, int log2w, int log2h, int qp, int c_idx, int bit_depth,
                       const ContextSet &cs, double lambda, int32_t *level, double *rate_bits = nullptr);

// Sign data hiding, encoder side: in every 4x4 subblock whose sign is
// hidden (lastSigScanPosSb - firstSigScanPosSb > 3) and whose parity of
// sumAbsLevel does not give the sign of the level at firstSigScanPosSb,
// changes one level by +-1 where that costs least (distortion of the change
// plus a rough rate term), keeping the first and last significant positions
// of the subblock. level holds scalar levels (quantize / rdoq_quantize) of
// coeff (forward_transform() scale). Returns the number of nonzero levels.
int sign_hiding_adjust(const int32_t *coeff, int log2w, int log2h, int qp, int bit_depth, double lambda,
                       int32_t *level);

}  // namespace pyvtm
