// Normative matrices of the transform tools (transform_tables.cpp):
// DST-VII / DCT-VIII (8.7.4.5) and the LFNST kernels (8.7.4.3).
#pragma once
#include <cstdint>

namespace pyvtm {

extern const int8_t g_dst7_4[4][4], g_dst7_8[8][8], g_dst7_16[16][16], g_dst7_32[32][32];
extern const int8_t g_dct8_4[4][4], g_dct8_8[8][8], g_dct8_16[16][16], g_dct8_32[32][32];
extern const int8_t g_lfnst_4x4[4][2][16][16];  // [lfnstTrSetIdx][lfnst_idx - 1][k][j]
extern const int8_t g_lfnst_8x8[4][2][16][48];

}  // namespace pyvtm
