// Normative tables of the standard in one place: DCT-II matrix (8.7.4.5),
// intra interpolation filters and angles (8.4.5.2.13), scans (6.5.3/6.5.4),
// last-position groups (9.3.4.2.4).
#pragma once
#include <cstdint>

namespace pyvtm {

// transMatrix of the 64-point DCT-II; the N-point matrix is
// dct64[k * (64 / N)][n] for k, n < N.
extern int8_t g_dct64[64][64];
// fC: 4-tap cubic interpolation filter for luma intra, 32 phases.
extern const int8_t g_intra_cubic_filter[32][4];
// intraPredAngle as a function of |mode - 50| or |mode - 18| (0..16).
extern const int g_intra_pred_angle[17];
extern const int g_inv_angle[17];
// intraHorVerDistThres[nTbS] (8.4.5.2.13), index log2 of the block side.
extern const int g_intra_hor_ver_dist_thres[7];

// Up-right diagonal scan: position i of a (1<<log2w)x(1<<log2h) block as
// (x, y) packed into uint8 pairs. Sizes 1..32 in each direction (log2 0..5).
struct ScanPos { uint8_t x, y; };
const ScanPos *diag_scan(int log2w, int log2h);

extern const uint8_t g_last_group_idx[64];
extern const uint8_t g_last_min_in_group[14];

void init_tables();  // fills the generated tables; idempotent

}  // namespace pyvtm
