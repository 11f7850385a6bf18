// Luma mapping with chroma scaling (LMCS): the LMCS APS syntax lmcs_data()
// (7.3.2.19) with its semantics (7.4.3.19), the mapping functions (forward:
// 8.7.5.2's FwdMap; inverse: 8.8.2.2 with the index of 8.8.2.3), the chroma
// residual scaling of 8.7.5.3, and the encoder's model (codeword allocation
// from source statistics). One derivation (LmcsModel) serves the writer,
// the reader, the decoder and the encoder.
#pragma once
#include <cstdint>
#include <vector>

#include "common.h"

namespace pyvtm {

constexpr int kLmcsApsParamsType = 1;  // LMCS_APS
constexpr int kLmcsBins = 16;          // PIC_CODE_CW_BINS

// lmcs_data() of one LMCS APS, as values (signs folded in).
struct LmcsApsData {
  int aps_id = 0;                  // aps_adaptation_parameter_set_id (0..3)
  bool chroma_present = true;      // aps_chroma_present_flag
  int min_bin_idx = 0;             // lmcs_min_bin_idx
  int delta_max_bin_idx = 0;       // lmcs_delta_max_bin_idx (LmcsMaxBinIdx = 15 - this)
  int delta_cw_prec_minus1 = 0;    // lmcs_delta_cw_prec_minus1
  int delta_cw[kLmcsBins] = {};    // lmcsDeltaCW[i] (0 outside min..max)
  int delta_crs = 0;               // lmcsDeltaCrs
  int max_bin_idx() const { return 15 - delta_max_bin_idx; }
  bool operator==(const LmcsApsData &o) const;
};

// adaptation_parameter_set_rbsp() with aps_params_type = LMCS_APS. The
// writer picks lmcs_delta_cw_prec_minus1 from the values when it is 0.
std::vector<uint8_t> write_lmcs_aps_rbsp(const LmcsApsData &a);
// Parses an APS RBSP. Returns false for an APS of another type (left
// unread); throws DecodeError on bad syntax or values out of range.
bool read_lmcs_aps_rbsp(const std::vector<uint8_t> &rbsp, LmcsApsData &a);

// The variables of 7.4.3.19 and the two lookup tables.
struct LmcsModel {
  int bit_depth = 10;
  int org_cw = 64;                   // OrgCW
  int min_bin = 0, max_bin = 15;     // lmcs_min_bin_idx, LmcsMaxBinIdx
  int cw[kLmcsBins] = {};            // lmcsCW[i]
  int pivot[kLmcsBins + 1] = {};     // LmcsPivot[i]
  int input_pivot[kLmcsBins + 1] = {};  // InputPivot[i]
  int scale_coeff[kLmcsBins] = {};   // ScaleCoeff[i]
  int inv_scale_coeff[kLmcsBins] = {};  // InvScaleCoeff[i]
  int chroma_scale_coeff[kLmcsBins] = {};  // ChromaScaleCoeff[i]
  std::vector<uint16_t> fwd, inv;    // FwdMap / InvMap of every sample value
  // 8.8.2.3: idxYInv of a mapped-domain luma value.
  int pwl_idx_inv(int v) const;
  int forward(int v) const { return fwd[size_t(v)]; }
  int inverse(int v) const { return inv[size_t(v)]; }
};
// 7.4.3.19: the model of an APS. Throws DecodeError for values the
// semantics forbid (codeword sums and ranges).
LmcsModel lmcs_derive(const LmcsApsData &a, int bit_depth);

// 8.7.5.3: varScale of the chroma TBs of the CU whose top-left luma sample
// is (x_cu, y_cu): ChromaScaleCoeff at the average of the mapped-domain luma
// samples left of and above its VPDU (Min(CtbSizeY, 64)), edges replicated
// at the picture boundary (pic_w x pic_h luma samples).
int lmcs_chroma_var_scale(const LmcsModel &m, const Plane &luma, int x_cu, int y_cu, int pic_w, int pic_h,
                          int log2_ctu);
// 8.7.5.3: resSamples scaled by varScale (n samples), after clipping to
// the BitDepth range: Sign(r) * ((Abs(r) * varScale + 2^10) >> 11).
void lmcs_scale_chroma_residual(int32_t *res, int n, int var_scale, int bit_depth);
// Encoder: the inverse of the above up to rounding (residual / varScale).
void lmcs_unscale_chroma_residual(int32_t *res, int n, int var_scale);
// Maps a luma plane (w x h samples) through a table (fwd or inv).
void lmcs_map_plane(Plane &p, int w, int h, const std::vector<uint16_t> &lut);

// Encoder: the LMCS APS for a luma source (10-bit, w x h) after the
// reference encoders' SDR analysis, within the constraints that keep
// FFmpeg's decoder in agreement (lmcs.cpp); false for pictures too small to
// analyse.
bool lmcs_choose_model(const Plane &org_luma, int w, int h, int bit_depth, LmcsApsData &out);
// A fixed, strongly non-identity model (test knob): bins 1..14, odd bins
// widened by `delta` codewords, even ones narrowed by delta / 2, lmcsDeltaCrs
// `crs` (then made to sum to 1023 codewords).
LmcsApsData lmcs_test_model(int delta, int crs);

}  // namespace pyvtm
