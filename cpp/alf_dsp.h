// ALF sample kernels (8.8.5.2) behind a function table: a C reference and,
// on x86-64, an SSE2 version that the tests check against it bit for bit.
#pragma once
#include <cstdint>

#include "common.h"

namespace pyvtm {

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

void alf_luma_strip_c(const AlfLumaStrip &s);
void alf_chroma_row_c(const Pel *const rows[5], Pel *out, int w, const int16_t cf[6], const int16_t cl[6], int shift,
                      int maxv);
#if defined(__SSE2__)
void alf_luma_strip_sse2(const AlfLumaStrip &s);
void alf_chroma_row_sse2(const Pel *const rows[5], Pel *out, int w, const int16_t cf[6], const int16_t cl[6],
                         int shift, int maxv);
#endif

struct AlfDsp {
  AlfLumaStripFn luma_strip;
  AlfChromaRowFn chroma_row;
};
// The kernels in use: the fastest this CPU runs, or the C references when
// the environment variable PYVTM_DSP is "c" (read once).
const AlfDsp &alf_dsp();

}  // namespace pyvtm
