// Adaptive loop filter (ALF) with cross-component ALF (CCALF): the ALF APS
// syntax alf_data() (7.3.2.18) with its semantics (7.4.3.18), the slice
// switches (7.3.7.1), the CTB syntax of coding_tree_unit() (7.3.11.2), the
// filtering processes of 8.8.5 and the encoder's filter derivation and
// per-CTB decisions.
#pragma once
#include <cstdint>
#include <vector>

#include "cabac.h"
#include "common.h"

namespace pyvtm {

constexpr int kAlfNumClasses = 25;    // NumAlfFilters
constexpr int kAlfLumaTaps = 12;      // 7x7 diamond, unique coefficients
constexpr int kAlfChromaTaps = 6;     // 5x5 diamond
constexpr int kCcAlfTaps = 7;
constexpr int kAlfNumFixedSets = 16;
constexpr int kAlfApsParamsType = 0;  // ALF_APS

// 8.8.5.2 (Table 44): the coefficient index of each tap for transposeIdx 0..3.
extern const uint8_t kAlfTransposeIdx[4][kAlfLumaTaps];
// The taps (dx, dy) of the 7x7 / 5x5 diamonds, each paired with (-dx, -dy)
// (8.8.5.2, 8.8.5.4), and the CCALF taps around luma (2x, 2y) (8.8.5.7).
extern const int8_t kAlfLumaTap[kAlfLumaTaps][2];
extern const int8_t kAlfChromaTap[kAlfChromaTaps][2];
extern const int8_t kCcAlfTap[kCcAlfTaps][2];

// alf_data() of one ALF APS, as values (the signs folded into the coefficients).
struct AlfApsData {
  int aps_id = 0;                    // aps_adaptation_parameter_set_id (0..7)
  bool chroma_present = true;        // aps_chroma_present_flag
  bool luma_signal = false;          // alf_luma_filter_signal_flag
  bool chroma_signal = false;        // alf_chroma_filter_signal_flag
  bool cc_signal[2] = {false, false};  // alf_cc_cb / cr_filter_signal_flag
  bool luma_clip = false;            // alf_luma_clip_flag
  int luma_num_filters = 1;          // alf_luma_num_filters_signalled_minus1 + 1
  uint8_t luma_coeff_delta_idx[kAlfNumClasses] = {};  // alf_luma_coeff_delta_idx
  int16_t luma_coeff[kAlfNumClasses][kAlfLumaTaps] = {};  // per signalled filter
  uint8_t luma_clip_idx[kAlfNumClasses][kAlfLumaTaps] = {};
  bool chroma_clip = false;          // alf_chroma_clip_flag
  int chroma_num_alt = 1;            // alf_chroma_num_alt_filters_minus1 + 1
  int16_t chroma_coeff[8][kAlfChromaTaps] = {};
  uint8_t chroma_clip_idx[8][kAlfChromaTaps] = {};
  int cc_num_filters[2] = {1, 1};    // alf_cc_cb / cr_filters_signalled_minus1 + 1
  int16_t cc_coeff[2][4][kCcAlfTaps] = {};  // CcAlfApsCoeffCb / Cr (0 or +-2^k, k = 0..6)
  bool operator==(const AlfApsData &o) const;
};

// The APS RBSP (adaptation_parameter_set_rbsp() with aps_params_type = ALF_APS).
std::vector<uint8_t> write_alf_aps_rbsp(const AlfApsData &a);
// Parses an APS RBSP. Returns false for an APS of another type (LMCS,
// scaling list), which is left unread; throws DecodeError on bad syntax.
bool read_alf_aps_rbsp(const std::vector<uint8_t> &rbsp, AlfApsData &a);

// Slice-level ALF switches (pps_alf_info_in_ph_flag = 0: in the slice header).
struct AlfSliceParams {
  bool enabled = false;              // sh_alf_enabled_flag
  int num_aps_luma = 0;              // sh_num_alf_aps_ids_luma
  int aps_id_luma[8] = {};           // sh_alf_aps_id_luma[]
  bool cb = false, cr = false;       // sh_alf_cb / cr_enabled_flag
  int aps_id_chroma = 0;             // sh_alf_aps_id_chroma
  bool cc[2] = {false, false};       // sh_alf_cc_cb / cr_enabled_flag
  int cc_aps_id[2] = {0, 0};         // sh_alf_cc_cb / cr_aps_id
};

// The ALF syntax of one CTB (7.3.11.2).
struct AlfCtbParams {
  uint8_t ctb_flag[3] = {0, 0, 0};   // alf_ctb_flag[cIdx]
  uint8_t use_aps = 0;               // alf_use_aps_flag
  uint8_t luma_prev_filter_idx = 0;  // alf_luma_prev_filter_idx
  uint8_t luma_fixed_filter_idx = 0; // alf_luma_fixed_filter_idx
  uint8_t filter_alt_idx[2] = {0, 0};  // alf_ctb_filter_alt_idx[chromaIdx]
  uint8_t cc_idc[2] = {0, 0};        // alf_ctb_cc_cb_idc / alf_ctb_cc_cr_idc
  // AlfCtbFiltSetIdxY: 0..15 fixed sets, 16 + i the i-th luma APS of the slice.
  int filt_set_idx() const { return use_aps ? 16 + luma_prev_filter_idx : luma_fixed_filter_idx; }
  bool operator==(const AlfCtbParams &o) const;
};

// What the CTB syntax needs to know: the slice switches and the APS sizes.
struct AlfCtuSyntax {
  AlfSliceParams sh;
  int chroma_num_alt = 1;            // of the chroma APS
  int cc_num_filters[2] = {1, 1};    // of the CCALF APSs
  bool any() const { return sh.enabled || sh.cc[0] || sh.cc[1]; }
};

// The CTB syntax. left / up: the left / above CTB's parameters when available.
void write_alf_ctb(CabacWriter &w, ContextSet &cs, const AlfCtbParams &p, const AlfCtbParams *left,
                   const AlfCtbParams *up, const AlfCtuSyntax &s);
void read_alf_ctb(CabacReader &r, ContextSet &cs, AlfCtbParams &p, const AlfCtbParams *left, const AlfCtbParams *up,
                  const AlfCtuSyntax &s);

// The filters in force for a slice (7.4.3.18 derivations): luma sets per
// AlfCtbFiltSetIdxY (coefficients and clipping values per class), chroma
// alternatives, CCALF filters.
struct AlfFilterSet {
  int16_t coeff[kAlfNumClasses][kAlfLumaTaps];
  int16_t clip[kAlfNumClasses][kAlfLumaTaps];
};
struct AlfFilters {
  std::vector<AlfFilterSet> luma;    // 16 fixed sets, then one per sh_alf_aps_id_luma[]
  int chroma_num_alt = 1;
  int16_t chroma_coeff[8][kAlfChromaTaps] = {};
  int16_t chroma_clip[8][kAlfChromaTaps] = {};
  int cc_num_filters[2] = {1, 1};
  int16_t cc_coeff[2][4][kCcAlfTaps] = {};
};
// aps[id]: the ALF APSs received (nullptr where none). Throws DecodeError
// when the slice refers to a missing APS or one lacking the needed filters.
AlfFilters alf_derive_filters(const AlfSliceParams &sh, const AlfApsData *const aps[8], int bit_depth);
AlfFilterSet alf_fixed_filter_set(int set_idx, int bit_depth);

// 8.8.5.3: classification of the 4x4 blocks of one luma CTB of the
// (pre-ALF) picture `rec`. Outputs per 4x4 block (raster, (w+3)/4 per row):
// filtIdx and transposeIdx.
void alf_classify_ctb(const Plane &rec, int x0, int y0, int log2_ctb, int bit_depth, uint8_t *filt_idx,
                      uint8_t *transpose_idx);
// 8.8.5.2: luma CTB filtering from `rec` into `out` with the given set.
void alf_filter_luma_ctb(const Plane &rec, Plane &out, int x0, int y0, int log2_ctb, int bit_depth,
                         const AlfFilterSet &f, const uint8_t *filt_idx, const uint8_t *transpose_idx);
// 8.8.5.4: chroma CTB filtering (x0, y0 and the CTB size in chroma samples).
void alf_filter_chroma_ctb(const Plane &rec, Plane &out, int x0, int y0, int log2_ctb_c, int bit_depth,
                           const int16_t coeff[kAlfChromaTaps], const int16_t clip[kAlfChromaTaps]);
// 8.8.5.7: CCALF of one chroma CTB: adds the correction from the pre-ALF
// luma `luma` to `out` (the ALF chroma output). log2_ctb: luma CTB size.
void ccalf_ctb(const Plane &luma, Plane &out, int x0c, int y0c, int log2_ctb, int bit_depth,
               const int16_t coeff[kCcAlfTaps]);

// 8.8.5.1: ALF of the whole picture: `pic` holds the SAO output and receives
// the ALF output. params: one per CTB, raster order.
void alf_apply_picture(Plane pic[3], const AlfCtbParams *params, int ctus_x, int ctus_y, int log2_ctb, int bit_depth,
                       const AlfSliceParams &sh, const AlfFilters &f);

// Encoder: derives the APS filters and the CTB parameters from the original
// and the SAO output, writing the slice switches and the APS. lambda[c]: the
// Lagrangian per component (squared samples per bit). use_cc: CCALF allowed.
// Returns whether the slice uses ALF or CCALF at all.
bool alf_decide(const Plane org[3], const Plane rec[3], int ctus_x, int ctus_y, int log2_ctb, int bit_depth,
                const double lambda[3], bool use_cc, AlfApsData &aps, AlfSliceParams &sh, AlfCtbParams *params);

}  // namespace pyvtm
