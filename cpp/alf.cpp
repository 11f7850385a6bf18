#include "alf.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

#include "dsp.h"
#include "api.h"
#include "bitstream.h"
#include "contexts.h"

namespace pyvtm {

// 8.8.5.2 (Table 44): the coefficient index per tap for transposeIdx 0..3.
const uint8_t kAlfTransposeIdx[4][kAlfLumaTaps] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11},
    {9, 4, 10, 8, 1, 5, 11, 7, 3, 0, 2, 6},
    {0, 3, 2, 1, 8, 7, 6, 5, 4, 9, 10, 11},
    {9, 8, 10, 4, 3, 7, 11, 5, 1, 0, 2, 6},
};

// The taps (dx, dy) of the diamonds; each pairs with (-dx, -dy).
const int8_t kAlfLumaTap[kAlfLumaTaps][2] = {{0, 3}, {1, 2}, {0, 2}, {-1, 2}, {2, 1}, {1, 1},
                                          {0, 1}, {-1, 1}, {-2, 1}, {3, 0}, {2, 0}, {1, 0}};
const int8_t kAlfChromaTap[kAlfChromaTaps][2] = {{0, 2}, {1, 1}, {0, 1}, {-1, 1}, {2, 0}, {1, 0}};
// 8.8.5.7: CCALF luma taps relative to (2x, 2y).
const int8_t kCcAlfTap[kCcAlfTaps][2] = {{0, -1}, {-1, 0}, {1, 0}, {-1, 1}, {0, 1}, {1, 1}, {0, 2}};


namespace {

// 7.4.3.18 (eq. 90): AlfFixFiltCoeff[64][12].
const int8_t kAlfFixFiltCoeff[64][kAlfLumaTaps] = {
    {0, 0, 2, -3, 1, -4, 1, 7, -1, 1, -1, 5},        {0, 0, 0, 0, 0, -1, 0, 1, 0, 0, -1, 2},
    {0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0},           {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1, 1},
    {2, 2, -7, -3, 0, -5, 13, 22, 12, -3, -3, 17},   {-1, 0, 6, -8, 1, -5, 1, 23, 0, 2, -5, 10},
    {0, 0, -1, -1, 0, -1, 2, 1, 0, 0, -1, 4},       {0, 0, 3, -11, 1, 0, -1, 35, 5, 2, -9, 9},
    {0, 0, 8, -8, -2, -7, 4, 4, 2, 1, -1, 25},      {0, 0, 1, -1, 0, -3, 1, 3, -1, 1, -1, 3},
    {0, 0, 3, -3, 0, -6, 5, -1, 2, 1, -4, 21},      {-7, 1, 5, 4, -3, 5, 11, 13, 12, -8, 11, 12},
    {-5, -3, 6, -2, -3, 8, 14, 15, 2, -7, 11, 16},  {2, -1, -6, -5, -2, -2, 20, 14, -4, 0, -3, 25},
    {3, 1, -8, -4, 0, -8, 22, 5, -3, 2, -10, 29},   {2, 1, -7, -1, 2, -11, 23, -5, 0, 2, -10, 29},
    {-6, -3, 8, 9, -4, 8, 9, 7, 14, -2, 8, 9},      {2, 1, -4, -7, 0, -8, 17, 22, 1, -1, -4, 23},
    {3, 0, -5, -7, 0, -7, 15, 18, -5, 0, -5, 27},   {2, 0, 0, -7, 1, -10, 13, 13, -4, 2, -7, 24},
    {3, 3, -13, 4, -2, -5, 9, 21, 25, -2, -3, 12},  {-5, -2, 7, -3, -7, 9, 8, 9, 16, -2, 15, 12},
    {0, -1, 0, -7, -5, 4, 11, 11, 8, -6, 12, 21},   {3, -2, -3, -8, -4, -1, 16, 15, -2, -3, 3, 26},
    {2, 1, -5, -4, -1, -8, 16, 4, -2, 1, -7, 33},   {2, 1, -4, -2, 1, -10, 17, -2, 0, 2, -11, 33},
    {1, -2, 7, -15, -16, 10, 8, 8, 20, 11, 14, 11}, {2, 2, 3, -13, -13, 4, 8, 12, 2, -3, 16, 24},
    {1, 4, 0, -7, -8, -4, 9, 9, -2, -2, 8, 29},     {1, 1, 2, -4, -1, -6, 6, 3, -1, -1, -3, 30},
    {-7, 3, 2, 10, -2, 3, 7, 11, 19, -7, 8, 10},    {0, -2, -5, -3, -2, 4, 20, 15, -1, -3, -1, 22},
    {3, -1, -8, -4, -1, -4, 22, 8, -4, 2, -8, 28},  {0, 3, -14, 3, 0, 1, 19, 17, 8, -3, -7, 20},
    {0, 2, -1, -8, 3, -6, 5, 21, 1, 1, -9, 13},     {-4, -2, 8, 20, -2, 2, 3, 5, 21, 4, 6, 1},
    {2, -2, -3, -9, -4, 2, 14, 16, 3, -6, 8, 24},   {2, 1, 5, -16, -7, 2, 3, 11, 15, -3, 11, 22},
    {1, 2, 3, -11, -2, -5, 4, 8, 9, -3, -2, 26},    {0, -1, 10, -9, -1, -8, 2, 3, 4, 0, 0, 29},
    {1, 2, 0, -5, 1, -9, 9, 3, 0, 1, -7, 20},       {-2, 8, -6, -4, 3, -9, -8, 45, 14, 2, -13, 7},
    {1, -1, 16, -19, -8, -4, -3, 2, 19, 0, 4, 30},  {1, 1, -3, 0, 2, -11, 15, -5, 1, 2, -9, 24},
    {0, 1, -2, 0, 1, -4, 4, 0, 0, 1, -4, 7},        {0, 1, 2, -5, 1, -6, 4, 10, -2, 1, -4, 10},
    {3, 0, -3, -6, -2, -6, 14, 8, -1, -1, -3, 31},  {0, 1, 0, -2, 1, -6, 5, 1, 0, 1, -5, 13},
    {3, 1, 9, -19, -21, 9, 7, 6, 13, 5, 15, 21},    {2, 4, 3, -12, -13, 1, 7, 8, 3, 0, 12, 26},
    {3, 1, -8, -2, 0, -6, 18, 2, -2, 3, -10, 23},   {1, 1, -4, -1, 1, -5, 8, 1, -1, 2, -5, 10},
    {0, 1, -1, 0, 0, -2, 2, 0, 0, 1, -2, 3},        {1, 1, -2, -7, 1, -7, 14, 18, 0, 0, -7, 21},
    {0, 1, 0, -2, 0, -7, 8, 1, -2, 0, -3, 24},      {0, 1, 1, -2, 2, -10, 10, 0, -2, 1, -7, 23},
    {0, 2, 2, -11, 2, -4, -3, 39, 7, 1, -10, 9},    {1, 0, 13, -16, -5, -6, -1, 8, 6, 0, 6, 29},
    {1, 3, 1, -6, -4, -7, 9, 6, -3, -2, 3, 33},     {4, 0, -17, -1, -1, 5, 26, 8, -2, 3, -15, 30},
    {0, 1, -2, 0, 2, -8, 12, -6, 1, 1, -6, 16},     {0, 0, 0, -1, 1, -4, 4, 0, 0, 0, -3, 11},
    {0, 1, 2, -8, 2, -6, 5, 15, 0, 2, -7, 9},       {1, -1, 12, -15, -7, -2, 3, 6, 6, -1, 7, 30},
};

// 7.4.3.18 (eq. 91): AlfClassToFiltMap[16][25].
const uint8_t kAlfClassToFiltMap[kAlfNumFixedSets][kAlfNumClasses] = {
    {8, 2, 2, 2, 3, 4, 53, 9, 9, 52, 4, 4, 5, 9, 2, 8, 10, 9, 1, 3, 39, 39, 10, 9, 52},
    {11, 12, 13, 14, 15, 30, 11, 17, 18, 19, 16, 20, 20, 4, 53, 21, 22, 23, 14, 25, 26, 26, 27, 28, 10},
    {16, 12, 31, 32, 14, 16, 30, 33, 53, 34, 35, 16, 20, 4, 7, 16, 21, 36, 18, 19, 21, 26, 37, 38, 39},
    {35, 11, 13, 14, 43, 35, 16, 4, 34, 62, 35, 35, 30, 56, 7, 35, 21, 38, 24, 40, 16, 21, 48, 57, 39},
    {11, 31, 32, 43, 44, 16, 4, 17, 34, 45, 30, 20, 20, 7, 5, 21, 22, 46, 40, 47, 26, 48, 63, 58, 10},
    {12, 13, 50, 51, 52, 11, 17, 53, 45, 9, 30, 4, 53, 19, 0, 22, 23, 25, 43, 44, 37, 27, 28, 10, 55},
    {30, 33, 62, 51, 44, 20, 41, 56, 34, 45, 20, 41, 41, 56, 5, 30, 56, 38, 40, 47, 11, 37, 42, 57, 8},
    {35, 11, 23, 32, 14, 35, 20, 4, 17, 18, 21, 20, 20, 20, 4, 16, 21, 36, 46, 25, 41, 26, 48, 49, 58},
    {12, 31, 59, 59, 3, 33, 33, 59, 59, 52, 4, 33, 17, 59, 55, 22, 36, 59, 59, 60, 22, 36, 59, 25, 55},
    {31, 25, 15, 60, 60, 22, 17, 19, 55, 55, 20, 20, 53, 19, 55, 22, 46, 25, 43, 60, 37, 28, 10, 55, 52},
    {12, 31, 32, 50, 51, 11, 33, 53, 19, 45, 16, 4, 4, 53, 5, 22, 36, 18, 25, 43, 26, 27, 27, 28, 10},
    {5, 2, 44, 52, 3, 4, 53, 45, 9, 3, 4, 56, 5, 0, 2, 5, 10, 47, 52, 3, 63, 39, 10, 9, 52},
    {12, 34, 44, 44, 3, 56, 56, 62, 45, 9, 56, 56, 7, 5, 0, 22, 38, 40, 47, 52, 48, 57, 39, 10, 9},
    {35, 11, 23, 14, 51, 35, 20, 41, 56, 62, 16, 20, 41, 56, 7, 16, 21, 38, 24, 40, 26, 26, 42, 57, 39},
    {33, 34, 51, 51, 52, 41, 41, 34, 62, 0, 41, 41, 56, 7, 5, 56, 38, 38, 40, 44, 37, 42, 57, 39, 10},
    {16, 31, 32, 15, 60, 30, 4, 17, 19, 25, 22, 20, 4, 53, 19, 21, 22, 46, 25, 55, 26, 48, 63, 58, 55},
};

// AlfClip: 1 << (BitDepth - {0, 3, 5, 7}[clipIdx]) (7.4.3.18).
inline int16_t alf_clip_value(int idx, int bit_depth) {
  static const int kShift[4] = {0, 3, 5, 7};
  return int16_t(1 << (bit_depth - kShift[idx & 3]));
}

inline int clip3(int lo, int hi, int v) { return v < lo ? lo : (v > hi ? hi : v); }

int ceil_log2(int n) {
  int k = 0;
  while ((1 << k) < n) k++;
  return k;
}

// Distance of CTB row y from the ALF virtual boundary at row vb (8.8.5.2,
// Tables 45 / 46): the vertical tap offsets are limited to it.
inline int vb_distance(int y, int vb) { return y < vb ? vb - 1 - y : y - vb; }
inline int limit_dy(int dy, int dist) { return dy > 0 ? std::min(dy, dist) : -std::min(-dy, dist); }

// TB (truncated binary) binarisation (9.3.3.4), bypass coded.
void write_tb(CabacWriter &w, int v, int cmax) {
  const int n = cmax + 1, k = floor_log2(uint32_t(n)), u = (1 << (k + 1)) - n;
  if (v < u) w.encode_bypass_bins(uint32_t(v), k);
  else w.encode_bypass_bins(uint32_t(v + u), k + 1);
}
int read_tb(CabacReader &r, int cmax) {
  const int n = cmax + 1, k = floor_log2(uint32_t(n)), u = (1 << (k + 1)) - n;
  int v = int(r.decode_bypass_bins(k));
  if (v >= u) v = ((v << 1) | r.decode_bypass()) - u;
  return v;
}

}  // namespace

bool AlfApsData::operator==(const AlfApsData &o) const {
  if (aps_id != o.aps_id || chroma_present != o.chroma_present || luma_signal != o.luma_signal ||
      chroma_signal != o.chroma_signal || cc_signal[0] != o.cc_signal[0] || cc_signal[1] != o.cc_signal[1])
    return false;
  if (luma_signal) {
    if (luma_clip != o.luma_clip || luma_num_filters != o.luma_num_filters) return false;
    if (std::memcmp(luma_coeff_delta_idx, o.luma_coeff_delta_idx, sizeof luma_coeff_delta_idx)) return false;
    for (int f = 0; f < luma_num_filters; f++)
      for (int j = 0; j < kAlfLumaTaps; j++)
        if (luma_coeff[f][j] != o.luma_coeff[f][j] || luma_clip_idx[f][j] != o.luma_clip_idx[f][j]) return false;
  }
  if (chroma_signal) {
    if (chroma_clip != o.chroma_clip || chroma_num_alt != o.chroma_num_alt) return false;
    for (int a = 0; a < chroma_num_alt; a++)
      for (int j = 0; j < kAlfChromaTaps; j++)
        if (chroma_coeff[a][j] != o.chroma_coeff[a][j] || chroma_clip_idx[a][j] != o.chroma_clip_idx[a][j])
          return false;
  }
  for (int c = 0; c < 2; c++)
    if (cc_signal[c]) {
      if (cc_num_filters[c] != o.cc_num_filters[c]) return false;
      for (int k = 0; k < cc_num_filters[c]; k++)
        for (int j = 0; j < kCcAlfTaps; j++)
          if (cc_coeff[c][k][j] != o.cc_coeff[c][k][j]) return false;
    }
  return true;
}

bool AlfCtbParams::operator==(const AlfCtbParams &o) const {
  return std::memcmp(ctb_flag, o.ctb_flag, 3) == 0 && use_aps == o.use_aps &&
         luma_prev_filter_idx == o.luma_prev_filter_idx && luma_fixed_filter_idx == o.luma_fixed_filter_idx &&
         filter_alt_idx[0] == o.filter_alt_idx[0] && filter_alt_idx[1] == o.filter_alt_idx[1] &&
         cc_idc[0] == o.cc_idc[0] && cc_idc[1] == o.cc_idc[1];
}

// ---------------------------------------------------------------------------
// APS syntax (7.3.2.5 adaptation_parameter_set_rbsp, 7.3.2.18 alf_data)

namespace {

// CCALF coefficient <-> (alf_cc_mapped_coeff_abs, sign) (7.4.3.18).
int cc_mapped_abs(int v) {
  const int a = std::abs(v);
  if (a == 0) return 0;
  int m = 1;
  while ((1 << (m - 1)) < a) m++;
  if ((1 << (m - 1)) != a || m > 7) throw std::logic_error("ALF APS writer: CCALF coefficient not 0 or +-2^k (k <= 6)");
  return m;
}

void write_signed_ue(BitWriter &bw, int v) {
  bw.write_ue(uint32_t(std::abs(v)));
  if (v) bw.write(v < 0 ? 1 : 0, 1);
}

}  // namespace

std::vector<uint8_t> write_alf_aps_rbsp(const AlfApsData &a) {
  if (!a.luma_signal && !a.chroma_signal && !a.cc_signal[0] && !a.cc_signal[1])
    throw std::logic_error("ALF APS writer: an ALF APS must signal at least one filter");
  BitWriter bw;
  bw.write(kAlfApsParamsType, 3);  // aps_params_type
  bw.write(uint32_t(a.aps_id), 5); // aps_adaptation_parameter_set_id
  bw.write(a.chroma_present, 1);   // aps_chroma_present_flag
  bw.write(a.luma_signal, 1);
  if (a.chroma_present) {
    bw.write(a.chroma_signal, 1);
    bw.write(a.cc_signal[0], 1);
    bw.write(a.cc_signal[1], 1);
  }
  if (a.luma_signal) {
    bw.write(a.luma_clip, 1);
    bw.write_ue(uint32_t(a.luma_num_filters - 1));
    if (a.luma_num_filters > 1) {
      const int bits = ceil_log2(a.luma_num_filters);
      for (int k = 0; k < kAlfNumClasses; k++) bw.write(a.luma_coeff_delta_idx[k], bits);
    }
    for (int f = 0; f < a.luma_num_filters; f++)
      for (int j = 0; j < kAlfLumaTaps; j++) write_signed_ue(bw, a.luma_coeff[f][j]);
    if (a.luma_clip)
      for (int f = 0; f < a.luma_num_filters; f++)
        for (int j = 0; j < kAlfLumaTaps; j++) bw.write(a.luma_clip_idx[f][j], 2);
  }
  if (a.chroma_signal) {
    bw.write(a.chroma_clip, 1);
    bw.write_ue(uint32_t(a.chroma_num_alt - 1));
    for (int k = 0; k < a.chroma_num_alt; k++) {
      for (int j = 0; j < kAlfChromaTaps; j++) write_signed_ue(bw, a.chroma_coeff[k][j]);
      if (a.chroma_clip)
        for (int j = 0; j < kAlfChromaTaps; j++) bw.write(a.chroma_clip_idx[k][j], 2);
    }
  }
  for (int c = 0; c < 2; c++)
    if (a.cc_signal[c]) {
      bw.write_ue(uint32_t(a.cc_num_filters[c] - 1));
      for (int k = 0; k < a.cc_num_filters[c]; k++)
        for (int j = 0; j < kCcAlfTaps; j++) {
          const int v = a.cc_coeff[c][k][j];
          bw.write(uint32_t(cc_mapped_abs(v)), 3);
          if (v) bw.write(v < 0 ? 1 : 0, 1);
        }
    }
  bw.write(0, 1);  // aps_extension_flag
  bw.rbsp_trailing_bits();
  return bw.bytes();
}

bool read_alf_aps_rbsp(const std::vector<uint8_t> &rbsp, AlfApsData &a) {
  BitReader br(rbsp.data(), rbsp.size(), "adaptation parameter set");
  const int type = int(br.read(3, "aps_params_type"));
  if (type != kAlfApsParamsType) return false;
  a = AlfApsData();
  a.aps_id = int(br.read(5, "aps_adaptation_parameter_set_id"));
  if (a.aps_id > 7) br.fail("aps_adaptation_parameter_set_id of an ALF APS exceeds 7");
  a.chroma_present = br.read_flag("aps_chroma_present_flag");
  a.luma_signal = br.read_flag("alf_luma_filter_signal_flag");
  if (a.chroma_present) {
    a.chroma_signal = br.read_flag("alf_chroma_filter_signal_flag");
    a.cc_signal[0] = br.read_flag("alf_cc_cb_filter_signal_flag");
    a.cc_signal[1] = br.read_flag("alf_cc_cr_filter_signal_flag");
  }
  if (!a.luma_signal && !a.chroma_signal && !a.cc_signal[0] && !a.cc_signal[1])
    br.fail("an ALF APS signals no filter");
  auto read_coeff = [&](const char *abs_name, const char *sign_name) {
    const int v = int(br.read_ue(abs_name, 128));
    const int s = v ? int(br.read(1, sign_name)) : 0;
    const int c = s ? -v : v;
    if (c > 127) br.fail(std::string(abs_name) + " gives a coefficient above 127");
    return int16_t(c);
  };
  if (a.luma_signal) {
    a.luma_clip = br.read_flag("alf_luma_clip_flag");
    a.luma_num_filters = int(br.read_ue("alf_luma_num_filters_signalled_minus1", kAlfNumClasses - 1)) + 1;
    if (a.luma_num_filters > 1) {
      const int bits = ceil_log2(a.luma_num_filters);
      for (int k = 0; k < kAlfNumClasses; k++) {
        a.luma_coeff_delta_idx[k] = uint8_t(br.read(bits, "alf_luma_coeff_delta_idx"));
        if (a.luma_coeff_delta_idx[k] >= a.luma_num_filters) br.fail("alf_luma_coeff_delta_idx out of range");
      }
    }
    for (int f = 0; f < a.luma_num_filters; f++)
      for (int j = 0; j < kAlfLumaTaps; j++) a.luma_coeff[f][j] = read_coeff("alf_luma_coeff_abs", "alf_luma_coeff_sign");
    if (a.luma_clip)
      for (int f = 0; f < a.luma_num_filters; f++)
        for (int j = 0; j < kAlfLumaTaps; j++) a.luma_clip_idx[f][j] = uint8_t(br.read(2, "alf_luma_clip_idx"));
  }
  if (a.chroma_signal) {
    a.chroma_clip = br.read_flag("alf_chroma_clip_flag");
    a.chroma_num_alt = int(br.read_ue("alf_chroma_num_alt_filters_minus1", 7)) + 1;
    for (int k = 0; k < a.chroma_num_alt; k++) {
      for (int j = 0; j < kAlfChromaTaps; j++)
        a.chroma_coeff[k][j] = read_coeff("alf_chroma_coeff_abs", "alf_chroma_coeff_sign");
      if (a.chroma_clip)
        for (int j = 0; j < kAlfChromaTaps; j++) a.chroma_clip_idx[k][j] = uint8_t(br.read(2, "alf_chroma_clip_idx"));
    }
  }
  for (int c = 0; c < 2; c++)
    if (a.cc_signal[c]) {
      a.cc_num_filters[c] =
          int(br.read_ue(c ? "alf_cc_cr_filters_signalled_minus1" : "alf_cc_cb_filters_signalled_minus1", 3)) + 1;
      for (int k = 0; k < a.cc_num_filters[c]; k++)
        for (int j = 0; j < kCcAlfTaps; j++) {
          const int m = int(br.read(3, c ? "alf_cc_cr_mapped_coeff_abs" : "alf_cc_cb_mapped_coeff_abs"));
          const int s = m ? int(br.read(1, c ? "alf_cc_cr_coeff_sign" : "alf_cc_cb_coeff_sign")) : 0;
          const int v = m ? (1 << (m - 1)) : 0;
          a.cc_coeff[c][k][j] = int16_t(s ? -v : v);
        }
    }
  if (br.read_flag("aps_extension_flag")) {
    while (br.more_rbsp_data()) br.read(1, "aps_extension_data_flag");
  }
  br.rbsp_trailing_bits();
  return true;
}

// ---------------------------------------------------------------------------
// CTB syntax (7.3.11.2) with the contexts of 9.3.4.2.

namespace {

int alf_ctb_flag_ctx(const AlfCtbParams *left, const AlfCtbParams *up, int c) {
  return CTX_ALF_CTB_FLAG + 3 * c + (left ? left->ctb_flag[c] : 0) + (up ? up->ctb_flag[c] : 0);
}
int cc_idc_ctx(const AlfCtbParams *left, const AlfCtbParams *up, int c) {
  return CTX_ALF_CTB_CC_IDC + 3 * c + (left ? left->cc_idc[c] != 0 : 0) + (up ? up->cc_idc[c] != 0 : 0);
}

}  // namespace

void write_alf_ctb(CabacWriter &w, ContextSet &cs, const AlfCtbParams &p, const AlfCtbParams *left,
                   const AlfCtbParams *up, const AlfCtuSyntax &s) {
  if (s.sh.enabled) {
    w.encode_bin(cs.m[alf_ctb_flag_ctx(left, up, 0)], p.ctb_flag[0]);
    if (p.ctb_flag[0]) {
      if (s.sh.num_aps_luma > 0) w.encode_bin(cs.m[CTX_ALF_USE_APS_FLAG], p.use_aps);
      else if (p.use_aps) throw std::logic_error("ALF CTB writer: alf_use_aps_flag without luma APS");
      if (p.use_aps) {
        if (p.luma_prev_filter_idx >= s.sh.num_aps_luma) throw std::logic_error("ALF CTB writer: bad prev filter idx");
        if (s.sh.num_aps_luma > 1) write_tb(w, p.luma_prev_filter_idx, s.sh.num_aps_luma - 1);
      } else {
        if (p.luma_fixed_filter_idx > 15) throw std::logic_error("ALF CTB writer: bad fixed filter idx");
        write_tb(w, p.luma_fixed_filter_idx, 15);
      }
    }
    for (int c = 1; c <= 2; c++) {
      if (!(c == 1 ? s.sh.cb : s.sh.cr)) continue;
      w.encode_bin(cs.m[alf_ctb_flag_ctx(left, up, c)], p.ctb_flag[c]);
      if (p.ctb_flag[c] && s.chroma_num_alt > 1) {
        const int v = p.filter_alt_idx[c - 1];
        if (v >= s.chroma_num_alt) throw std::logic_error("ALF CTB writer: bad alt idx");
        for (int i = 0; i < s.chroma_num_alt - 1; i++) {  // TR, cMax = num_alt - 1
          w.encode_bin(cs.m[CTX_ALF_CTB_FILTER_ALT_IDX + c - 1], i < v);
          if (i >= v) break;
        }
      }
    }
  }
  for (int c = 0; c < 2; c++) {
    if (!s.sh.cc[c]) continue;
    const int v = p.cc_idc[c];
    if (v > s.cc_num_filters[c]) throw std::logic_error("ALF CTB writer: bad CCALF idc");
    w.encode_bin(cs.m[cc_idc_ctx(left, up, c)], v > 0);
    for (int i = 1; v > 0 && i < s.cc_num_filters[c]; i++) {  // TR, cMax = num filters, later bins bypass
      w.encode_bypass(i < v);
      if (i >= v) break;
    }
  }
}

void read_alf_ctb(CabacReader &r, ContextSet &cs, AlfCtbParams &p, const AlfCtbParams *left, const AlfCtbParams *up,
                  const AlfCtuSyntax &s) {
  p = AlfCtbParams();
  if (s.sh.enabled) {
    p.ctb_flag[0] = uint8_t(r.decode_bin(cs.m[alf_ctb_flag_ctx(left, up, 0)]));
    if (p.ctb_flag[0]) {
      if (s.sh.num_aps_luma > 0) p.use_aps = uint8_t(r.decode_bin(cs.m[CTX_ALF_USE_APS_FLAG]));
      if (p.use_aps) {
        if (s.sh.num_aps_luma > 1) p.luma_prev_filter_idx = uint8_t(read_tb(r, s.sh.num_aps_luma - 1));
      } else {
        p.luma_fixed_filter_idx = uint8_t(read_tb(r, 15));
      }
    }
    for (int c = 1; c <= 2; c++) {
      if (!(c == 1 ? s.sh.cb : s.sh.cr)) continue;
      p.ctb_flag[c] = uint8_t(r.decode_bin(cs.m[alf_ctb_flag_ctx(left, up, c)]));
      if (p.ctb_flag[c] && s.chroma_num_alt > 1) {
        int v = 0;
        while (v < s.chroma_num_alt - 1 && r.decode_bin(cs.m[CTX_ALF_CTB_FILTER_ALT_IDX + c - 1])) v++;
        p.filter_alt_idx[c - 1] = uint8_t(v);
      }
    }
  }
  for (int c = 0; c < 2; c++) {
    if (!s.sh.cc[c]) continue;
    int v = r.decode_bin(cs.m[cc_idc_ctx(left, up, c)]);
    if (v)
      while (v < s.cc_num_filters[c] && r.decode_bypass()) v++;
    p.cc_idc[c] = uint8_t(v);
  }
}

// ---------------------------------------------------------------------------
// Filter derivation (7.4.3.18)

AlfFilterSet alf_fixed_filter_set(int set_idx, int bit_depth) {
  AlfFilterSet s;
  for (int k = 0; k < kAlfNumClasses; k++)
    for (int j = 0; j < kAlfLumaTaps; j++) {
      s.coeff[k][j] = kAlfFixFiltCoeff[kAlfClassToFiltMap[set_idx][k]][j];
      s.clip[k][j] = alf_clip_value(0, bit_depth);
    }
  return s;
}

AlfFilters alf_derive_filters(const AlfSliceParams &sh, const AlfApsData *const aps[8], int bit_depth) {
  AlfFilters f;
  for (int s = 0; s < kAlfNumFixedSets; s++) f.luma.push_back(alf_fixed_filter_set(s, bit_depth));
  if (!sh.enabled) return f;
  auto get = [&](int id, const char *what) -> const AlfApsData & {
    if (id < 0 || id > 7 || !aps[id])
      throw DecodeError(std::string("the slice refers to ALF APS ") + std::to_string(id) + " (" + what +
                        "), which the stream does not hold");
    return *aps[id];
  };
  for (int i = 0; i < sh.num_aps_luma; i++) {
    const AlfApsData &a = get(sh.aps_id_luma[i], "luma");
    if (!a.luma_signal) throw DecodeError("the slice's luma ALF APS carries no luma filters");
    AlfFilterSet s;
    for (int k = 0; k < kAlfNumClasses; k++)
      for (int j = 0; j < kAlfLumaTaps; j++) {
        const int fi = a.luma_num_filters > 1 ? a.luma_coeff_delta_idx[k] : 0;
        s.coeff[k][j] = a.luma_coeff[fi][j];
        s.clip[k][j] = alf_clip_value(a.luma_clip_idx[fi][j], bit_depth);
      }
    f.luma.push_back(s);
  }
  if (sh.cb || sh.cr) {
    const AlfApsData &a = get(sh.aps_id_chroma, "chroma");
    if (!a.chroma_signal) throw DecodeError("the slice's chroma ALF APS carries no chroma filters");
    f.chroma_num_alt = a.chroma_num_alt;
    for (int k = 0; k < a.chroma_num_alt; k++)
      for (int j = 0; j < kAlfChromaTaps; j++) {
        f.chroma_coeff[k][j] = a.chroma_coeff[k][j];
        f.chroma_clip[k][j] = alf_clip_value(a.chroma_clip_idx[k][j], bit_depth);
      }
  }
  for (int c = 0; c < 2; c++)
    if (sh.cc[c]) {
      const AlfApsData &a = get(sh.cc_aps_id[c], "CCALF");
      if (!a.cc_signal[c]) throw DecodeError("the slice's CCALF APS carries no filter for this component");
      f.cc_num_filters[c] = a.cc_num_filters[c];
      std::memcpy(f.cc_coeff[c], a.cc_coeff[c], sizeof f.cc_coeff[c]);
    }
  return f;
}

// ---------------------------------------------------------------------------
// Filtering (8.8.5)

namespace {

// A CTB with a margin of kWinMargin samples on each side, copied from the
// picture with its edges replicated (the Clip3 of the sample positions in
// 8.8.5.2-8.8.5.7): the filters then index it directly.
constexpr int kWinMargin = 4;
struct Window {
  std::vector<Pel> buf;
  int stride = 0;
  Window(const Plane &p, int x0, int y0, int w, int h) {
    const int m = kWinMargin;
    stride = w + 2 * m;
    buf.resize(size_t(stride) * size_t(h + 2 * m));
    // Columns x0 - m .. x0 + w + m - 1, those outside the picture padded:
    // [i0, i1) is the part inside, copied as a block.
    const int i0 = std::max(-m, -x0), i1 = std::min(w + m, p.width - x0);
    for (int j = -m; j < h + m; j++) {
      const Pel *src = p.row(clip3(0, p.height - 1, y0 + j));
      Pel *dst = buf.data() + size_t(j + m) * stride + m;
      for (int i = -m; i < i0; i++) dst[i] = src[0];
      std::copy(src + x0 + i0, src + x0 + i1, dst + i0);
      for (int i = i1; i < w + m; i++) dst[i] = src[p.width - 1];
    }
  }
  // Row y (relative to the CTB, -4..h+3), column 0 at the CTB's left edge.
  const Pel *row(int y) const { return buf.data() + size_t(y + kWinMargin) * stride + kWinMargin; }
};

inline int clipd(int d, int c) { return std::min(std::max(d, -c), c); }

}  // namespace

void alf_classify_ctb(const Plane &rec, int x0, int y0, int log2_ctb, int bit_depth, uint8_t *filt_idx,
                      uint8_t *transpose_idx) {
  static const int kVarTab[16] = {0, 1, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 4};
  const int ctb = 1 << log2_ctb, vb = ctb - 4;
  const int w = std::min(ctb, rec.width - x0), h = std::min(ctb, rec.height - y0);
  const Window win(rec, x0, y0, w, h);
  const int bw = (w + 3) / 4;
  // Gradients at the subsampled positions (both coordinates even or both
  // odd), accumulated per 2x2 cell: cell (cx, cy) holds the positions
  // (2cx - 2 + t, 2cy - 2 + t), t = 0, 1, of rows -2..h+1 and columns -2..w+1.
  const int gw = ((w + 3) / 4) * 2 + 2, gh = ((h + 3) / 4) * 2 + 2;
  const size_t plane = size_t(gw) * gh;
  std::vector<int32_t> grad(plane * 4, 0);  // vertical, horizontal, 135, 45 degrees: one plane each
  const AlfGradRowFn grad_row = dsp().alf_grad_row;
  for (int cy = 0; cy < gh; cy++)
    for (int t = 0; t < 2; t++) {
      const int y = 2 * cy - 2 + t;
      // Vertical neighbours across the virtual boundary are replaced by this row.
      const Pel *r = win.row(y);
      const Pel *up = (y >= vb && y - 1 < vb) ? r : win.row(y - 1);
      const Pel *dn = (y < vb && y + 1 >= vb) ? r : win.row(y + 1);
      const size_t o = size_t(cy) * gw;
      int32_t *const acc[4] = {grad.data() + o, grad.data() + plane + o, grad.data() + 2 * plane + o,
                               grad.data() + 3 * plane + o};
      // Positions x = 2cx - 2 + t, cx = 0..gw-1.
      grad_row(up - 2 + t, r - 2 + t, dn - 2 + t, gw, acc);
    }
  for (int by = 0; by < h; by += 4) {
    int c0 = 0, c1 = 4, ac = 2;  // cell rows of the window; ac: 64 (96) >> 5 with the shift BitDepth - 1
    if (by + 4 == vb) { c1 = 3; ac = 3; }       // rows -2..3
    else if (by == vb) { c0 = 1; ac = 3; }      // rows 0..5
    for (int bx = 0; bx < w; bx += 4) {
      int s[4] = {0, 0, 0, 0};
      for (int cy = by / 2 + c0; cy < by / 2 + c1; cy++) {
        const int32_t *g = grad.data() + size_t(cy) * gw + size_t(bx / 2);
        for (int k = 0; k < 4; k++)
          for (int i = 0; i < 4; i++) s[k] += g[k * plane + i];
      }
      const int sum_v = s[0], sum_h = s[1], sum_d0 = s[2], sum_d1 = s[3];
      const int dir_hv = sum_v <= sum_h;
      const int64_t hv1 = std::max(sum_v, sum_h), hv0 = std::min(sum_v, sum_h);
      const int dir_d = sum_d0 <= sum_d1;
      const int64_t d1 = std::max(sum_d0, sum_d1), d0 = std::min(sum_d0, sum_d1);
      const int dir1 = d1 * hv0 <= hv1 * d0;  // 1: horizontal / vertical dominates
      const int64_t hvd1 = dir1 ? hv1 : d1, hvd0 = dir1 ? hv0 : d0;
      int cls = kVarTab[clip3(0, 15, ((sum_v + sum_h) * ac) >> (bit_depth - 1))];
      if (hvd1 * 2 > 9 * hvd0) cls += ((dir1 << 1) + 2) * 5;
      else if (hvd1 > 2 * hvd0) cls += ((dir1 << 1) + 1) * 5;
      filt_idx[(by / 4) * bw + bx / 4] = uint8_t(cls);
      transpose_idx[(by / 4) * bw + bx / 4] = uint8_t(dir_d * 2 + dir_hv);
    }
  }
}

void alf_filter_luma_ctb(const Plane &rec, Plane &out, int x0, int y0, int log2_ctb, int bit_depth,
                         const AlfFilterSet &f, const uint8_t *filt_idx, const uint8_t *transpose_idx) {
  const int ctb = 1 << log2_ctb, vb = ctb - 4;
  const int w = std::min(ctb, rec.width - x0), h = std::min(ctb, rec.height - y0), bw = (w + 3) / 4;
  const Window win(rec, x0, y0, w, h);
  const AlfLumaStripFn strip = dsp().alf_luma_strip;
  int16_t cf[128 / 4][kAlfLumaTaps], cl[128 / 4][kAlfLumaTaps];  // CtbSizeY <= 128
  AlfLumaStrip s;
  s.w = bw * 4;
  s.cf = cf;
  s.cl = cl;
  s.maxv = (1 << bit_depth) - 1;
  for (int by = 0; by < h; by += 4) {
    // Tap rows of the block row's sample rows, limited at the virtual boundary.
    s.nrows = std::min(4, h - by);
    for (int k = 0; k < s.nrows; k++) {
      const int dist = vb_distance(by + k, vb);
      for (int dy = -3; dy <= 3; dy++) s.rows[k][dy + 3] = win.row(by + k + limit_dy(dy, dist));
      s.shift[k] = dist == 0 ? 10 : 7;
      s.out[k] = out.row(y0 + by + k) + x0;
    }
    // Each block's coefficients and clipping values with its transposeIdx.
    for (int bx = 0; bx < bw; bx++) {
      const int b = (by / 4) * bw + bx;
      const uint8_t *ti = kAlfTransposeIdx[transpose_idx[b]];
      for (int j = 0; j < kAlfLumaTaps; j++) {
        cf[bx][j] = f.coeff[filt_idx[b]][ti[j]];
        cl[bx][j] = f.clip[filt_idx[b]][ti[j]];
      }
    }
    strip(s);
  }
}

void alf_filter_chroma_ctb(const Plane &rec, Plane &out, int x0, int y0, int log2_ctb_c, int bit_depth,
                           const int16_t coeff[kAlfChromaTaps], const int16_t clip[kAlfChromaTaps]) {
  const int ctb = 1 << log2_ctb_c, vb = ctb - 2, maxv = (1 << bit_depth) - 1;
  const int w = std::min(ctb, rec.width - x0), h = std::min(ctb, rec.height - y0);
  const Window win(rec, x0, y0, w, h);
  const AlfChromaRowFn row = dsp().alf_chroma_row;
  for (int y = 0; y < h; y++) {
    const int dist = vb_distance(y, vb);
    const Pel *rows[5];
    for (int dy = -2; dy <= 2; dy++) rows[dy + 2] = win.row(y + limit_dy(dy, dist));
    row(rows, out.row(y0 + y) + x0, w, coeff, clip, dist == 0 ? 10 : 7, maxv);
  }
}

void ccalf_ctb(const Plane &luma, Plane &out, int x0c, int y0c, int log2_ctb, int bit_depth,
               const int16_t coeff[kCcAlfTaps]) {
  const int ctb = 1 << log2_ctb, ctb_c = ctb / 2, vb = ctb - 4;
  const int w = std::min(ctb_c, out.width - x0c), h = std::min(ctb_c, out.height - y0c);
  const Window win(luma, 2 * x0c, 2 * y0c, std::min(ctb, luma.width - 2 * x0c), std::min(ctb, luma.height - 2 * y0c));
  const CcAlfRowFn row = dsp().ccalf_row;
  for (int y = 0; y < h; y++) {
    const int yl = 2 * y, dist = vb_distance(yl, vb);
    const Pel *rows[4];  // luma rows -1, 0, +1, +2 of (2x, 2y) with the virtual boundary
    for (int dy = -1; dy <= 2; dy++) rows[dy + 1] = win.row(yl + limit_dy(dy, dist));
    row(rows, out.row(y0c + y) + x0c, w, coeff, bit_depth);
  }
}

void alf_apply_picture(Plane pic[3], const AlfCtbParams *params, int ctus_x, int ctus_y, int log2_ctb, int bit_depth,
                       const AlfSliceParams &sh, const AlfFilters &f) {
  if (!sh.enabled) return;
  const Plane rec[3] = {pic[0], pic[1], pic[2]};  // the SAO output, read by all filters
  const int ctb = 1 << log2_ctb;
  std::vector<uint8_t> cls(size_t(ctb / 4) * (ctb / 4)), tr(cls.size());
  for (int ry = 0; ry < ctus_y; ry++)
    for (int rx = 0; rx < ctus_x; rx++) {
      const AlfCtbParams &p = params[size_t(ry) * ctus_x + rx];
      const int x0 = rx * ctb, y0 = ry * ctb;
      if (p.ctb_flag[0]) {
        const int si = p.filt_set_idx();
        if (si >= int(f.luma.size())) throw DecodeError("AlfCtbFiltSetIdxY refers to a missing luma filter set");
        alf_classify_ctb(rec[0], x0, y0, log2_ctb, bit_depth, cls.data(), tr.data());
        alf_filter_luma_ctb(rec[0], pic[0], x0, y0, log2_ctb, bit_depth, f.luma[size_t(si)], cls.data(), tr.data());
      }
      for (int c = 1; c <= 2; c++) {
        if (p.ctb_flag[c]) {
          const int a = p.filter_alt_idx[c - 1];
          alf_filter_chroma_ctb(rec[c], pic[c], x0 / 2, y0 / 2, log2_ctb - 1, bit_depth, f.chroma_coeff[a],
                                f.chroma_clip[a]);
        }
        if (p.cc_idc[c - 1])
          ccalf_ctb(rec[0], pic[c], x0 / 2, y0 / 2, log2_ctb, bit_depth, f.cc_coeff[c - 1][p.cc_idc[c - 1] - 1]);
      }
    }
}

}  // namespace pyvtm
