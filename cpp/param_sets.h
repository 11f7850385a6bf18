// Parameter sets and headers (7.3.2.x, 7.3.7): the values pyvtm signals and
// their writers. Tools the core does not implement are signalled off.
#pragma once
#include <string>
#include <vector>

#include "alf.h"
#include "api.h"
#include "bitstream.h"

namespace pyvtm {

// Chroma QP mapping tables as signalled (7.3.2.4): per table
// sps_qp_table_start_minus26 and the pivot deltas (sps_delta_qp_in_val_minus1,
// sps_delta_qp_diff_val; one entry per point). Default: the identity (one
// pivot 26 -> 26, slope 1).
struct ChromaQpMapping {
  bool same_table = true;  // sps_same_qp_table_for_chroma_flag
  int start_minus26[3] = {0, 0, 0};
  std::vector<int> delta_qp_in_minus1[3] = {{0}, {0}, {0}};
  std::vector<int> delta_qp_diff_val[3] = {{1}, {1}, {1}};
  bool operator==(const ChromaQpMapping &o) const;
};

// The mapping through the pivots (qp_in[k], qp_out[k]), k = 0..n-1, n >= 2,
// qp_in increasing, qp_in[0] == qp_out[0], qp_out non-decreasing (as the
// reference encoder's QpInValCb / QpOutValCb), for every table.
ChromaQpMapping chroma_qp_mapping_from_pivots(const int *qp_in, const int *qp_out, int n);
// The reference encoder's all-intra table for SDR content
// (cfg/encoder_intra_vtm.cfg: QpInValCb 17 27 32 44, QpOutValCb 17 29 34 41,
// SameCQPTablesForAllChroma 1).
ChromaQpMapping vtm_sdr_chroma_qp_mapping();
// VVenC's table (vvencCfg.cpp, its default at every preset: qpInValCb
// 17 22 34 42, qpOutValCb 17 23 35 39, the same for Cr and joint CbCr).
ChromaQpMapping vvenc_chroma_qp_mapping();
// 7.4.3.4: ChromaQpTable[i][qPi + QpBdOffset] for qPi = -QpBdOffset..63 into
// table (64 + QpBdOffset entries). Returns false when the pivots leave the QP
// range (qpInVal / qpOutVal above 63, start below -QpBdOffset).
bool derive_chroma_qp_table(const ChromaQpMapping &m, int i, int qp_bd_offset, int *table);
// 8.7.1: Qp'Cb / Qp'Cr / Qp'CbCr from QpY and the sum of the PPS, slice and
// CU offsets of that component: the table maps Clip3(-QpBdOffset, 63, QpY),
// the offsets apply after the mapping. table as derive_chroma_qp_table's.
int chroma_qp_prime(const int *table, int qp_y, int offsets, int qp_bd_offset);

struct SequenceParams {
  int pic_width = 0, pic_height = 0;     // coded size (multiple of 8)
  int conf_right = 0, conf_bottom = 0;   // conformance window offsets in chroma units
  int log2_ctu_size = 7;
  int log2_min_cb_size = 2;
  // Partition constraints of I slices (7.4.3.4), log2 in luma samples;
  // index 0: luma (or single) tree, 1: chroma tree of the dual tree.
  int log2_min_qt[2] = {2, 2};
  int max_mtt_depth[2] = {0, 0};
  int log2_max_bt[2] = {2, 2}, log2_max_tt[2] = {2, 2};  // only when max_mtt_depth > 0
  bool dual_tree = false;  // sps_qtbtt_dual_tree_intra_flag
  bool mrl = false;        // sps_mrl_enabled_flag
  bool cclm = false;       // sps_cclm_enabled_flag
  bool mip = false;        // sps_mip_enabled_flag
  bool isp = false;        // sps_isp_enabled_flag
  bool transform_skip = false;  // sps_transform_skip_enabled_flag
  int log2_max_ts = 2;          // sps_log2_transform_skip_max_size_minus2 + 2
  bool bdpcm = false;           // sps_bdpcm_enabled_flag (only with transform skip)
  int min_qp_prime_ts = 0;      // sps_min_qp_prime_ts: QpPrimeTsMin = 4 + 6 * it
  bool sao = false;        // sps_sao_enabled_flag
  bool joint_cbcr = false; // sps_joint_cbcr_enabled_flag
  ChromaQpMapping chroma_qp;
  bool dep_quant = false;    // sps_dep_quant_enabled_flag
  bool sign_hiding = false;  // sps_sign_data_hiding_enabled_flag
  bool mts = false;                 // sps_mts_enabled_flag
  bool explicit_mts_intra = false;  // sps_explicit_mts_intra_enabled_flag (when mts)
  bool lfnst = false;               // sps_lfnst_enabled_flag
  bool alf = false, ccalf = false;  // sps_alf_enabled_flag, sps_ccalf_enabled_flag
  bool lmcs = false;                // sps_lmcs_enabled_flag
  int bit_depth = 10;
  int level_idc = 0;
  ColourDescription colour;
  std::string cnnmc_model_id;  // non-empty: CNNMC stream (sei.h)
};

struct SliceParams {
  int slice_qp = 32;
  bool deblocking = true;  // deblocking filter on
  // pps_{luma,cb,cr}_{beta,tc}_offset_div2 (by component Y, Cb, Cr).
  int deblock_beta_offset_div2[3] = {0, 0, 0}, deblock_tc_offset_div2[3] = {0, 0, 0};
  int chroma_qp_offset = 0;  // pps_cb_qp_offset = pps_cr_qp_offset
  bool ts_residual_coding_disabled = false;  // sh_ts_residual_coding_disabled_flag
  bool sao_luma = false, sao_chroma = false;  // sh_sao_luma_used_flag / sh_sao_chroma_used_flag
  // pps_joint_cbcr_qp_offset_value (pps_joint_cbcr_qp_offset_present_flag when
  // nonzero; only with sps_joint_cbcr_enabled_flag).
  int joint_cbcr_qp_offset = 0;
  bool joint_cbcr_sign = false;  // ph_joint_cbcr_sign_flag (picture header)
  bool dep_quant = false;    // sh_dep_quant_used_flag (needs sps_dep_quant_enabled_flag)
  bool sign_hiding = false;  // sh_sign_data_hiding_used_flag (needs the SPS flag, !dep_quant)
  AlfSliceParams alf;                          // sh_alf_* (7.3.7.1)
  // Picture header LMCS switches (7.3.2.8; sh_lmcs_used_flag is inferred
  // from ph_lmcs_enabled_flag with the picture header in the slice header).
  bool lmcs = false;                   // ph_lmcs_enabled_flag
  int lmcs_aps_id = 0;                 // ph_lmcs_aps_id
  bool chroma_residual_scale = false;  // ph_chroma_residual_scale_flag
};

int level_idc_for(int width, int height);  // smallest general_level_idc (A.4)

std::vector<uint8_t> write_sps(const SequenceParams &sps);
std::vector<uint8_t> write_pps(const SequenceParams &sps, const SliceParams &slice);
// slice_header() with the picture header inside it; leaves the writer
// byte-aligned, ready for slice_data().
void write_slice_header(BitWriter &bw, const SequenceParams &sps, const SliceParams &slice);

// --- Reading (decoder side) --------------------------------------------------
// The readers parse the full syntax of each structure (7.3.2.4 SPS, 7.3.2.5
// PPS, 7.3.2.8 picture header, 7.3.7.1 slice header), check value ranges,
// and REFUSE (DecodeError naming the syntax element and the tool) any stream
// that enables a coding tool or format the decoder does not implement.
// Tools that only affect inter slices are parsed and ignored.

// Parsed SPS: `seq` holds the fields write_sps() takes, so that
// write_sps(read_sps(x).seq) reproduces x for pyvtm's own streams.
struct SpsInfo {
  SequenceParams seq;
  int sps_id = 0;
  int chroma_format_idc = 1;
  int profile_idc = 0, tier_flag = 0;
  int conf_left = 0, conf_top = 0;  // chroma units (seq has right/bottom)
  int log2_max_poc_lsb = 8;
  bool poc_msb_cycle_flag = false;
  int poc_msb_cycle_len = 0;
  int num_extra_ph_bits = 0, num_extra_sh_bits = 0;
  bool partition_constraints_override_enabled = false;
  int log2_min_qt_intra = 2;   // MinQtLog2SizeIntraY
  int log2_max_tb = 6;         // MaxTbLog2SizeY
  // ChromaQpTable[i][qPi + QpBdOffset], qPi = -QpBdOffset..63 (7.4.3.4).
  int chroma_qp_table[3][64 + 48] = {};
  bool long_term_ref_pics = false, inter_layer_prediction = false, idr_rpl_present = false;
  bool weighted_pred = false, weighted_bipred = false;
  bool vui_present = false;
  int qp_bd_offset() const { return 6 * (seq.bit_depth - 8); }
  int chroma_qp(int table, int qpi) const { return chroma_qp_table[table][qpi + qp_bd_offset()]; }
};

struct PpsInfo {
  SliceParams slice;  // slice_qp = 26 + pps_init_qp_minus26, deblocking on/off
  int pps_id = 0, sps_id = 0;
  int pic_width = 0, pic_height = 0;
  bool conf_window_flag = false;
  int conf_left = 0, conf_right = 0, conf_top = 0, conf_bottom = 0;  // chroma units
  bool output_flag_present = false;
  int num_ref_idx_default[2] = {1, 1};
  bool rpl1_idx_present = false, weighted_pred = false, weighted_bipred = false;
  bool chroma_tool_offsets_present = false;
  int cb_qp_offset = 0, cr_qp_offset = 0;
  int joint_cbcr_qp_offset = 0;  // pps_joint_cbcr_qp_offset_value (0 when absent)
  bool slice_chroma_qp_offsets_present = false;
  bool deblocking_override_enabled = false, deblocking_disabled = false;
  int beta_offset_div2[3] = {0, 0, 0}, tc_offset_div2[3] = {0, 0, 0};  // Y, Cb, Cr
  bool picture_header_extension_present = false, slice_header_extension_present = false;
};

struct PictureHeaderInfo {
  bool gdr_or_irap = true, non_ref_pic = false, gdr = false;
  int pps_id = 0;
  int poc_lsb = 0;
  bool pic_output_flag = true;
  bool joint_cbcr_sign = false;  // ph_joint_cbcr_sign_flag
  bool lmcs = false;                   // ph_lmcs_enabled_flag
  int lmcs_aps_id = 0;                 // ph_lmcs_aps_id
  bool chroma_residual_scale = false;  // ph_chroma_residual_scale_flag
  bool deblocking_disabled = false;  // after PPS / PH override
  int beta_offset_div2[3] = {0, 0, 0}, tc_offset_div2[3] = {0, 0, 0};
};

struct SliceHeaderInfo {
  bool picture_header_in_slice_header = true;
  PictureHeaderInfo ph;   // when picture_header_in_slice_header
  int slice_qp = 32;      // SliceQpY
  int cb_qp_offset = 0, cr_qp_offset = 0;  // sh_cb_qp_offset, sh_cr_qp_offset
  int joint_cbcr_qp_offset = 0;            // sh_joint_cbcr_qp_offset
  bool deblocking_disabled = false;
  int beta_offset_div2[3] = {0, 0, 0}, tc_offset_div2[3] = {0, 0, 0};
  bool ts_residual_coding_disabled = false;  // sh_ts_residual_coding_disabled_flag
  bool sao_luma = false, sao_chroma = false;  // sh_sao_luma_used_flag / sh_sao_chroma_used_flag
  bool dep_quant = false;    // sh_dep_quant_used_flag
  bool sign_hiding = false;  // sh_sign_data_hiding_used_flag
  AlfSliceParams alf;                          // sh_alf_* (7.3.7.1)
  bool lmcs_used = false;  // sh_lmcs_used_flag
  size_t data_offset = 0;  // byte offset of slice_data() in the RBSP
};

SpsInfo read_sps(const std::vector<uint8_t> &rbsp);
PpsInfo read_pps(const std::vector<uint8_t> &rbsp);
// picture_header_structure() of a PH NAL unit (sps/pps looked up by the caller
// through the callbacks after ph_pic_parameter_set_id is known).
struct ParamSetLookup {
  const PpsInfo *(*pps)(void *ctx, int id) = nullptr;
  const SpsInfo *(*sps)(void *ctx, int id) = nullptr;
  void *ctx = nullptr;
};
PictureHeaderInfo read_picture_header(const std::vector<uint8_t> &rbsp, const ParamSetLookup &lookup);
// slice_header() of a VCL NAL unit of type nal_type. `ph` is the picture
// header received in a PH NAL unit (nullptr when none); returns the header
// with data_offset at slice_data().
SliceHeaderInfo read_slice_header(const std::vector<uint8_t> &rbsp, int nal_type, const PictureHeaderInfo *ph,
                                  const ParamSetLookup &lookup);

}  // namespace pyvtm
