// Sample kernels of the loop filters behind one function table (FFmpeg's
// vvc/dsp, dav1d's style): C references in dsp.cpp and, on x86-64, SSE2
// versions in dsp_sse2.cpp that tests/cpp/test_dsp.cpp checks against the C
// references bit for bit. PYVTM_DSP=c in the environment selects the C
// references (read once).
#pragma once
#include <cstdint>

#include "common.h"

namespace pyvtm {

// --- ALF (8.8.5) ---
// One row of 4x4 luma blocks (up to four sample rows) of the 7x7 diamond
// filter. rows[k][3 + dy]: the input row dy of output row k, already limited
// at the virtual boundary, with 3 readable samples left of column 0 and right
// of column w - 1. cf / cl: per 4x4 block, the 12 coefficients and clipping
// values in tap order (transposeIdx applied). shift[k]: alfShiftY of row k
// (7, or 10 at the virtual boundary). w: a multiple of 4.
struct AlfLumaStrip {
  const Pel *rows[4][7];
  Pel *out[4];
  int nrows = 4;
  int w = 0;
  const int16_t (*cf)[12] = nullptr;
  const int16_t (*cl)[12] = nullptr;
  int shift[4] = {7, 7, 7, 7};
  int maxv = 1023;
};
using AlfLumaStripFn = void (*)(const AlfLumaStrip &s);
// One row of the 5x5 chroma diamond (8.8.5.4): rows[2 + dy] as for luma (2
// readable samples beyond each side), w a multiple of 4, one filter.
using AlfChromaRowFn = void (*)(const Pel *const rows[5], Pel *out, int w, const int16_t cf[6], const int16_t cl[6],
                                int shift, int maxv);

// ALF classification (8.8.5.3): the four Laplacians at n positions x = 2i of
// one row (r; up / dn: the rows above and below, already replaced at the
// virtual boundary; 1 readable sample beyond each side), added to
// acc[0..3][i]: vertical, horizontal, diagonal 135 (up-left / down-right),
// diagonal 45 (up-right / down-left).
using AlfGradRowFn = void (*)(const Pel *up, const Pel *r, const Pel *dn, int n, int32_t *const acc[4]);

// One chroma row of CCALF (8.8.5.7): adds the clipped correction from the
// luma rows -1, 0, +1, +2 (rows[0..3], column 0 = the luma sample at 2 * x = 0,
// already limited at the virtual boundary, 2 readable samples beyond each
// side) to out[0..w-1]; w a multiple of 4.
using CcAlfRowFn = void (*)(const Pel *const rows[4], Pel *out, int w, const int16_t coeff[7], int bit_depth);

// --- SAO (8.8.4.2) ---
// Edge offset over n samples of one row: a / b are the two neighbours of
// each sample (the row pointers already offset by hPos / vPos); off[k]:
// SaoOffsetVal[k + 1] for edgeIdx k + 1.
using SaoEdgeRowFn = void (*)(const Pel *src, const Pel *a, const Pel *b, Pel *dst, int n, const int8_t off[4],
                              int maxv);
// Band offset over n samples: band_table[32] maps the band (sample >> shift)
// to 0 (no offset) or k + 1 (SaoOffsetVal[k + 1]).
using SaoBandRowFn = void (*)(const Pel *src, Pel *dst, int n, const int8_t band_table[32], int shift,
                              const int8_t off[4], int maxv);

struct Dsp {
  AlfLumaStripFn alf_luma_strip;
  AlfChromaRowFn alf_chroma_row;
  CcAlfRowFn ccalf_row;
  AlfGradRowFn alf_grad_row;
  SaoEdgeRowFn sao_edge_row;
  SaoBandRowFn sao_band_row;
};
// The kernels in use: the fastest this CPU runs (or the C references, PYVTM_DSP=c).
const Dsp &dsp();
// Every kernel set this build has, C references first (for the tests).
const Dsp &dsp_c();
#if defined(__SSE2__)
const Dsp &dsp_sse2();
#endif

// ============================================================================
// Encoder kernels (encspeed): distortion and forward transform of the mode
// search. Their own function table, EncDsp, with the same conventions as Dsp
// (C references in dsp.cpp, SSE2 in dsp_sse2.cpp, checked bit for bit in
// tests/cpp/test_dsp.cpp; PYVTM_DSP=c selects the C references).
// ============================================================================

// Sum of absolute Hadamard-transformed differences of a W x H block (W, H >=
// 4, powers of two; samples 0..1023): 8x8 tiles with (sum + 2) >> 2 each when
// both sides are >= 8, else 4x4 tiles with (sum + 1) >> 1 each.
using SatdFn = uint64_t (*)(const Pel *org, int org_stride, const Pel *pred, int pred_stride, int log2w, int log2h);
// Sum of squared differences of a w x h block (samples 0..1023).
using SseFn = uint64_t (*)(const Pel *a, int a_stride, const Pel *b, int b_stride, int w, int h);
// Forward transform of `rows` rows of n samples (n in 4..64; |src| <= 32767):
// dst[k * dst_stride + r] = (sum over j < n of mat[k * n + j] * src[r * src_stride + j]
// + (1 << (shift - 1))) >> shift for k < num_out (a multiple of 4), r < rows;
// mat: num_out rows of n transform coefficients (|c| <= 90).
using FwdRowsFn = void (*)(const int16_t *mat, int n, int num_out, const int16_t *src, int src_stride, int rows,
                           int shift, int32_t *dst, int dst_stride);

struct EncDsp {
  SatdFn satd;
  SseFn sse;
  FwdRowsFn fwd_rows;
};
const EncDsp &enc_dsp();
const EncDsp &enc_dsp_c();
#if defined(__SSE2__)
const EncDsp &enc_dsp_sse2();
#endif

// ===========================================================================
// Decoder-side kernels (reconstruction): their own table, so that they stay
// apart from the loop-filter table above and the encoder's kernels. The same
// rules: C references in dsp.cpp, SSE2 versions in dsp_sse2.cpp checked bit
// for bit by tests/cpp/test_dsp.cpp, PYVTM_DSP=c selects the C references.

// --- Inverse transform (8.7.4.5, 8.7.4.1) ---
// A one-dimensional inverse transform as a product with pairs of matrix rows:
// pairs[p * n + i] holds transMatrix[2p][i] in its low and transMatrix[2p + 1][i]
// in its high 16 bits (i < n; n = 4, 8, 16, 32 or 64). For each of `lines`
// input lines x = src + l * src_stride (2 * num_pairs 16-bit values, an odd
// count of inputs padded with a zero):
//   y[i] = sum over j < 2 * num_pairs of transMatrix[j][i] * x[j]
// in 32 bits (exact: at most 32 products of 16-bit inputs and 8-bit
// coefficients), then
//   first stage (vertical):  dst[i * dst_stride + l] = Clip3(-32768, 32767, (y[i] + 64) >> 7)
//                            (line l is column l; its outputs go down column l of dst)
//   second stage (horizontal): dst[l * dst_stride + i] = (y[i] + ((1 << shift) >> 1)) >> shift
using InvTrFirstFn = void (*)(const int16_t *src, int src_stride, int lines, const int32_t *pairs, int num_pairs,
                              int n, int16_t *dst, int dst_stride);
using InvTrSecondFn = void (*)(const int16_t *src, int src_stride, int lines, const int32_t *pairs, int num_pairs,
                               int n, int shift, int32_t *dst, int dst_stride);

// --- Picture construction (8.7.5) ---
// One row: dst[i] = Clip3(0, maxv, pred[i] + resid[i]), i < n (any n >= 1).
using AddResidualRowFn = void (*)(const Pel *pred, const int32_t *resid, Pel *dst, int n, int maxv);

// --- Intra angular interpolation (8.4.5.2.13) ---
// One row of n samples from the reference ref (ref[x .. x + 3] for sample x):
// luma, fC or fG: dst[x] = Clip3(0, maxv, (f[0] * ref[x] + f[1] * ref[x + 1] +
// f[2] * ref[x + 2] + f[3] * ref[x + 3] + 32) >> 6) (f[i] in -64..64, samples 0..1023);
using IntraInterp4RowFn = void (*)(const Pel *ref, Pel *dst, int n, const int16_t f[4], int maxv);
// chroma: dst[x] = ref[x] + ((fract * (ref[x + 1] - ref[x]) + 16) >> 5), fract 0..31.
using IntraInterp2RowFn = void (*)(const Pel *ref, Pel *dst, int n, int fract);

struct DspDec {
  InvTrFirstFn inv_tr_first;
  InvTrSecondFn inv_tr_second;
  AddResidualRowFn add_residual_row;
  IntraInterp4RowFn intra_interp4_row;
  IntraInterp2RowFn intra_interp2_row;
};
const DspDec &dsp_dec();
const DspDec &dsp_dec_c();
#if defined(__SSE2__)
const DspDec &dsp_dec_sse2();
#endif

}  // namespace pyvtm
