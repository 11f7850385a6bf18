#include "param_sets.h"

#include "sei.h"

#include <algorithm>
#include <string>

#include "common.h"

namespace pyvtm {

int level_idc_for(int width, int height) {
  // Table A.8: MaxLumaPs per level; width and height <= sqrt(MaxLumaPs * 8).
  struct L { int idc; long max_luma_ps; };
  static const L levels[] = {{16, 36864},    {32, 122880},   {35, 245760},   {48, 552960},
                             {51, 983040},   {64, 2228224},  {67, 2228224},  {80, 8912896},
                             {83, 8912896},  {86, 8912896},  {96, 35651584}, {99, 35651584},
                             {102, 35651584}, {105, 80216064}};
  const long ps = long(width) * height;
  for (const L &l : levels) {
    const long lim = long(8) * l.max_luma_ps;
    if (ps <= l.max_luma_ps && long(width) * width <= lim && long(height) * height <= lim) return l.idc;
  }
  return 255;  // level 15.5: no limits
}

// 7.3.3.1 profile_tier_level(1, 0)
static void write_profile_tier_level(BitWriter &bw, int level_idc) {
  bw.write(1, 7);          // general_profile_idc: Main 10
  bw.write(0, 1);          // general_tier_flag
  bw.write(uint32_t(level_idc), 8);  // general_level_idc
  bw.write(1, 1);          // ptl_frame_only_constraint_flag
  bw.write(0, 1);          // ptl_multilayer_enabled_flag
  // general_constraints_info()
  bw.write(0, 1);          // gci_present_flag
  bw.align_zero();         // gci_alignment_zero_bit
  // no sublayers; ptl_reserved_zero_bit alignment already satisfied
  bw.write(0, 8);          // ptl_num_sub_profiles
}

// E.2.1 vui_parameters() followed by the vui_payload() trailing bits.
static std::vector<uint8_t> write_vui_payload(const ColourDescription &c) {
  BitWriter v;
  v.write(1, 1);  // vui_progressive_source_flag
  v.write(0, 1);  // vui_interlaced_source_flag
  v.write(0, 1);  // vui_non_packed_constraint_flag
  v.write(0, 1);  // vui_non_projected_constraint_flag
  v.write(0, 1);  // vui_aspect_ratio_info_present_flag
  v.write(0, 1);  // vui_overscan_info_present_flag
  v.write(1, 1);  // vui_colour_description_present_flag
  v.write(uint32_t(c.colour_primaries), 8);
  v.write(uint32_t(c.transfer_characteristics), 8);
  v.write(uint32_t(c.matrix_coeffs), 8);
  v.write(c.full_range ? 1 : 0, 1);  // vui_full_range_flag
  v.write(1, 1);  // vui_chroma_loc_info_present_flag
  v.write_ue(1);  // vui_chroma_sample_loc_type_frame: 1 (centred between rows and columns)
  if (!v.byte_aligned()) {
    v.write(1, 1);  // vui_payload_bit_equal_to_one
    v.align_zero();  // vui_payload_bit_equal_to_zero
  }
  return v.bytes();
}

bool ChromaQpMapping::operator==(const ChromaQpMapping &o) const {
  for (int i = 0; i < 3; i++)
    if (start_minus26[i] != o.start_minus26[i] || delta_qp_in_minus1[i] != o.delta_qp_in_minus1[i] ||
        delta_qp_diff_val[i] != o.delta_qp_diff_val[i])
      return false;
  return same_table == o.same_table;
}

ChromaQpMapping chroma_qp_mapping_from_pivots(const int *qp_in, const int *qp_out, int n) {
  ChromaQpMapping m;
  for (int i = 0; i < 3; i++) {
    m.start_minus26[i] = qp_in[0] - 26;
    m.delta_qp_in_minus1[i].clear();
    m.delta_qp_diff_val[i].clear();
    for (int k = 0; k + 1 < n; k++) {
      const int din_minus1 = qp_in[k + 1] - qp_in[k] - 1, dout = qp_out[k + 1] - qp_out[k];
      m.delta_qp_in_minus1[i].push_back(din_minus1);
      m.delta_qp_diff_val[i].push_back(din_minus1 ^ dout);  // 7.4.3.4: deltaQpOutVal = in_minus1 ^ diff
    }
  }
  return m;
}

ChromaQpMapping vtm_sdr_chroma_qp_mapping() {
  static const int qp_in[4] = {17, 27, 32, 44}, qp_out[4] = {17, 29, 34, 41};
  return chroma_qp_mapping_from_pivots(qp_in, qp_out, 4);
}

ChromaQpMapping vvenc_chroma_qp_mapping() {
  static const int qp_in[4] = {17, 22, 34, 42}, qp_out[4] = {17, 23, 35, 39};
  return chroma_qp_mapping_from_pivots(qp_in, qp_out, 4);
}

// 7.4.3.4, equations of ChromaQpTable (sh as the reference decoders compute
// it: (sps_delta_qp_in_val_minus1 + 1) >> 1).
bool derive_chroma_qp_table(const ChromaQpMapping &m, int i, int qp_bd_offset, int *table) {
  const std::vector<int> &din = m.delta_qp_in_minus1[i], &diff = m.delta_qp_diff_val[i];
  const int n = int(din.size());
  if (n < 1 || diff.size() != din.size()) return false;
  std::vector<int> qp_in(size_t(n) + 1), qp_out(size_t(n) + 1);
  qp_in[0] = qp_out[0] = m.start_minus26[i] + 26;
  if (qp_in[0] < -qp_bd_offset || qp_in[0] > 63) return false;
  for (int j = 0; j < n; j++) {
    if (din[size_t(j)] < 0 || diff[size_t(j)] < 0) return false;
    qp_in[size_t(j) + 1] = qp_in[size_t(j)] + din[size_t(j)] + 1;
    qp_out[size_t(j) + 1] = qp_out[size_t(j)] + (din[size_t(j)] ^ diff[size_t(j)]);
    if (qp_in[size_t(j) + 1] > 63 || qp_out[size_t(j) + 1] > 63) return false;
  }
  auto at = [&](int qpi) -> int & { return table[qpi + qp_bd_offset]; };
  at(qp_in[0]) = qp_out[0];
  for (int k = qp_in[0] - 1; k >= -qp_bd_offset; k--) at(k) = clip3(-qp_bd_offset, 63, at(k + 1) - 1);
  for (int j = 0; j < n; j++) {
    const int delta_in = din[size_t(j)] + 1, sh = delta_in >> 1;
    const int delta_out = qp_out[size_t(j) + 1] - qp_out[size_t(j)];
    for (int k = qp_in[size_t(j)] + 1, mm = 1; k <= qp_in[size_t(j) + 1]; k++, mm++)
      at(k) = at(qp_in[size_t(j)]) + (delta_out * mm + sh) / delta_in;
  }
  for (int k = qp_in[size_t(n)] + 1; k <= 63; k++) at(k) = clip3(-qp_bd_offset, 63, at(k - 1) + 1);
  for (int k = -qp_bd_offset; k <= 63; k++)
    if (at(k) < -qp_bd_offset || at(k) > 63) return false;
  return true;
}

int chroma_qp_prime(const int *table, int qp_y, int offsets, int qp_bd_offset) {
  const int q = table[clip3(-qp_bd_offset, 63, qp_y) + qp_bd_offset];
  return clip3(-qp_bd_offset, 63, q + offsets) + qp_bd_offset;
}

std::vector<uint8_t> write_sps(const SequenceParams &s) {
  BitWriter bw;
  bw.write(0, 4);  // sps_seq_parameter_set_id
  bw.write(0, 4);  // sps_video_parameter_set_id
  bw.write(0, 3);  // sps_max_sublayers_minus1
  bw.write(1, 2);  // sps_chroma_format_idc: 4:2:0
  bw.write(uint32_t(s.log2_ctu_size - 5), 2);  // sps_log2_ctu_size_minus5
  bw.write(1, 1);  // sps_ptl_dpb_hrd_params_present_flag
  write_profile_tier_level(bw, s.level_idc);
  bw.write(0, 1);  // sps_gdr_enabled_flag
  bw.write(0, 1);  // sps_ref_pic_resampling_enabled_flag
  bw.write_ue(uint32_t(s.pic_width));   // sps_pic_width_max_in_luma_samples
  bw.write_ue(uint32_t(s.pic_height));  // sps_pic_height_max_in_luma_samples
  const bool conf = s.conf_right || s.conf_bottom;
  bw.write(conf, 1);  // sps_conformance_window_flag
  if (conf) {
    bw.write_ue(0);
    bw.write_ue(uint32_t(s.conf_right));
    bw.write_ue(0);
    bw.write_ue(uint32_t(s.conf_bottom));
  }
  bw.write(0, 1);  // sps_subpic_info_present_flag
  bw.write_ue(uint32_t(s.bit_depth - 8));  // sps_bitdepth_minus8
  bw.write(0, 1);  // sps_entropy_coding_sync_enabled_flag
  bw.write(0, 1);  // sps_entry_point_offsets_present_flag
  bw.write(4, 4);  // sps_log2_max_pic_order_cnt_lsb_minus4 (8-bit POC lsb)
  bw.write(0, 1);  // sps_poc_msb_cycle_flag
  bw.write(0, 2);  // sps_num_extra_ph_bytes
  bw.write(0, 2);  // sps_num_extra_sh_bytes
  // dpb_parameters(0, 0)
  bw.write_ue(0);  // dpb_max_dec_pic_buffering_minus1
  bw.write_ue(0);  // dpb_max_num_reorder_pics
  bw.write_ue(0);  // dpb_max_latency_increase_plus1
  bw.write_ue(uint32_t(s.log2_min_cb_size - 2));  // sps_log2_min_luma_coding_block_size_minus2
  bw.write(0, 1);  // sps_partition_constraints_override_enabled_flag
  bw.write_ue(uint32_t(s.log2_min_qt[0] - s.log2_min_cb_size));  // sps_log2_diff_min_qt_min_cb_intra_slice_luma
  bw.write_ue(uint32_t(s.max_mtt_depth[0]));  // sps_max_mtt_hierarchy_depth_intra_slice_luma
  if (s.max_mtt_depth[0]) {
    bw.write_ue(uint32_t(s.log2_max_bt[0] - s.log2_min_qt[0]));  // sps_log2_diff_max_bt_min_qt_intra_slice_luma
    bw.write_ue(uint32_t(s.log2_max_tt[0] - s.log2_min_qt[0]));  // sps_log2_diff_max_tt_min_qt_intra_slice_luma
  }
  bw.write(s.dual_tree, 1);  // sps_qtbtt_dual_tree_intra_flag
  if (s.dual_tree) {
    bw.write_ue(uint32_t(s.log2_min_qt[1] - s.log2_min_cb_size));  // sps_log2_diff_min_qt_min_cb_intra_slice_chroma
    bw.write_ue(uint32_t(s.max_mtt_depth[1]));  // sps_max_mtt_hierarchy_depth_intra_slice_chroma
    if (s.max_mtt_depth[1]) {
      bw.write_ue(uint32_t(s.log2_max_bt[1] - s.log2_min_qt[1]));  // sps_log2_diff_max_bt_min_qt_intra_slice_chroma
      bw.write_ue(uint32_t(s.log2_max_tt[1] - s.log2_min_qt[1]));  // sps_log2_diff_max_tt_min_qt_intra_slice_chroma
    }
  }
  bw.write_ue(0);  // sps_log2_diff_min_qt_min_cb_inter_slice
  bw.write_ue(0);  // sps_max_mtt_hierarchy_depth_inter_slice
  if (s.log2_ctu_size > 5) bw.write(1, 1);  // sps_max_luma_transform_size_64_flag
  bw.write(s.transform_skip, 1);  // sps_transform_skip_enabled_flag
  if (s.transform_skip) {
    bw.write_ue(uint32_t(s.log2_max_ts - 2));  // sps_log2_transform_skip_max_size_minus2
    bw.write(s.bdpcm, 1);                      // sps_bdpcm_enabled_flag
  }
  bw.write(s.mts, 1);  // sps_mts_enabled_flag
  if (s.mts) {
    bw.write(s.explicit_mts_intra, 1);  // sps_explicit_mts_intra_enabled_flag
    bw.write(0, 1);                     // sps_explicit_mts_inter_enabled_flag
  }
  bw.write(s.lfnst, 1);  // sps_lfnst_enabled_flag
  bw.write(s.joint_cbcr, 1);  // sps_joint_cbcr_enabled_flag
  const ChromaQpMapping &cq = s.chroma_qp;
  bw.write(cq.same_table, 1);  // sps_same_qp_table_for_chroma_flag
  const int num_tables = cq.same_table ? 1 : (s.joint_cbcr ? 3 : 2);
  for (int i = 0; i < num_tables; i++) {
    bw.write_se(cq.start_minus26[i]);  // sps_qp_table_start_minus26
    bw.write_ue(uint32_t(cq.delta_qp_in_minus1[i].size() - 1));  // sps_num_points_in_qp_table_minus1
    for (size_t j = 0; j < cq.delta_qp_in_minus1[i].size(); j++) {
      bw.write_ue(uint32_t(cq.delta_qp_in_minus1[i][j]));  // sps_delta_qp_in_val_minus1
      bw.write_ue(uint32_t(cq.delta_qp_diff_val[i][j]));   // sps_delta_qp_diff_val
    }
  }
  bw.write(s.sao, 1);  // sps_sao_enabled_flag
  bw.write(s.alf, 1);  // sps_alf_enabled_flag
  if (s.alf) bw.write(s.ccalf, 1);  // sps_ccalf_enabled_flag (ChromaArrayType != 0)
  bw.write(s.lmcs, 1);  // sps_lmcs_enabled_flag
  bw.write(0, 1);  // sps_weighted_pred_flag
  bw.write(0, 1);  // sps_weighted_bipred_flag
  bw.write(0, 1);  // sps_long_term_ref_pics_flag
  bw.write(0, 1);  // sps_idr_rpl_present_flag
  bw.write(1, 1);  // sps_rpl1_same_as_rpl0_flag
  bw.write_ue(0);  // sps_num_ref_pic_lists[0]
  bw.write(0, 1);  // sps_ref_wraparound_enabled_flag
  bw.write(0, 1);  // sps_temporal_mvp_enabled_flag
  bw.write(0, 1);  // sps_amvr_enabled_flag
  bw.write(0, 1);  // sps_bdof_enabled_flag
  bw.write(0, 1);  // sps_smvd_enabled_flag
  bw.write(0, 1);  // sps_dmvr_enabled_flag
  bw.write(0, 1);  // sps_mmvd_enabled_flag
  bw.write_ue(0);  // sps_six_minus_max_num_merge_cand
  bw.write(0, 1);  // sps_sbt_enabled_flag
  bw.write(0, 1);  // sps_affine_enabled_flag
  bw.write(0, 1);  // sps_bcw_enabled_flag
  bw.write(0, 1);  // sps_ciip_enabled_flag
  bw.write(0, 1);  // sps_gpm_enabled_flag (MaxNumMergeCand = 6 >= 2)
  bw.write_ue(0);  // sps_log2_parallel_merge_level_minus2
  bw.write(s.isp, 1);  // sps_isp_enabled_flag
  bw.write(s.mrl, 1);  // sps_mrl_enabled_flag
  bw.write(s.mip, 1);  // sps_mip_enabled_flag
  bw.write(s.cclm, 1);  // sps_cclm_enabled_flag
  bw.write(0, 1);  // sps_chroma_horizontal_collocated_flag (centred chroma)
  bw.write(0, 1);  // sps_chroma_vertical_collocated_flag
  bw.write(0, 1);  // sps_palette_enabled_flag
  if (s.transform_skip) bw.write_ue(uint32_t(s.min_qp_prime_ts));  // sps_min_qp_prime_ts
  bw.write(0, 1);  // sps_ibc_enabled_flag
  bw.write(0, 1);  // sps_ladf_enabled_flag
  bw.write(0, 1);  // sps_explicit_scaling_list_enabled_flag
  bw.write(s.dep_quant, 1);    // sps_dep_quant_enabled_flag
  bw.write(s.sign_hiding, 1);  // sps_sign_data_hiding_enabled_flag
  bw.write(0, 1);  // sps_virtual_boundaries_enabled_flag
  bw.write(0, 1);  // sps_timing_hrd_params_present_flag
  bw.write(0, 1);  // sps_field_seq_flag
  bw.write(1, 1);  // sps_vui_parameters_present_flag
  const std::vector<uint8_t> vui = write_vui_payload(s.colour);
  bw.write_ue(uint32_t(vui.size() - 1));  // sps_vui_payload_size_minus1
  bw.align_zero();                        // sps_vui_alignment_zero_bit
  bw.append_bytes(vui);
  if (s.cnnmc_model_id.empty()) {
    bw.write(0, 1);  // sps_extension_present_flag
  } else {
    bw.write(1, 1);  // sps_extension_present_flag
    bw.write(0, 1);  // sps_range_extension_flag
    bw.write(1, 7);  // sps_extension_7bits: sps_extension_data_flag bits follow
    write_cnnmc_sps_extension(bw, s.cnnmc_model_id);
  }
  bw.rbsp_trailing_bits();
  return bw.bytes();
}

std::vector<uint8_t> write_pps(const SequenceParams &s, const SliceParams &sl) {
  BitWriter bw;
  bw.write(0, 6);  // pps_pic_parameter_set_id
  bw.write(0, 4);  // pps_seq_parameter_set_id
  bw.write(0, 1);  // pps_mixed_nalu_types_in_pic_flag
  bw.write_ue(uint32_t(s.pic_width));   // pps_pic_width_in_luma_samples
  bw.write_ue(uint32_t(s.pic_height));  // pps_pic_height_in_luma_samples
  // The PPS size equals the SPS maximum, so the conformance window is
  // inferred from the SPS (7.4.3.5) and pps_conformance_window_flag is 0.
  bw.write(0, 1);  // pps_conformance_window_flag
  bw.write(0, 1);  // pps_scaling_window_explicit_signalling_flag
  bw.write(0, 1);  // pps_output_flag_present_flag
  bw.write(1, 1);  // pps_no_pic_partition_flag
  bw.write(0, 1);  // pps_subpic_id_mapping_present_flag
  bw.write(0, 1);  // pps_cabac_init_present_flag
  bw.write_ue(0);  // pps_num_ref_idx_default_active_minus1[0]
  bw.write_ue(0);  // pps_num_ref_idx_default_active_minus1[1]
  bw.write(0, 1);  // pps_rpl1_idx_present_flag
  bw.write(0, 1);  // pps_weighted_pred_flag
  bw.write(0, 1);  // pps_weighted_bipred_flag
  bw.write(0, 1);  // pps_ref_wraparound_enabled_flag
  bw.write_se(sl.slice_qp - 26);  // pps_init_qp_minus26
  bw.write(0, 1);  // pps_cu_qp_delta_enabled_flag
  const int joint_offset = s.joint_cbcr ? sl.joint_cbcr_qp_offset : 0;
  // Chroma deblocking offsets other than the luma ones need the chroma tool offsets too (7.4.3.5 infers them).
  bool chroma_dbk = false;
  for (int c = 1; c < 3; c++)
    chroma_dbk |= sl.deblock_beta_offset_div2[c] != sl.deblock_beta_offset_div2[0] ||
                  sl.deblock_tc_offset_div2[c] != sl.deblock_tc_offset_div2[0];
  const bool chroma_offsets = sl.chroma_qp_offset != 0 || joint_offset != 0 || (sl.deblocking && chroma_dbk);
  bw.write(chroma_offsets, 1);  // pps_chroma_tool_offsets_present_flag
  if (chroma_offsets) {
    bw.write_se(sl.chroma_qp_offset);  // pps_cb_qp_offset
    bw.write_se(sl.chroma_qp_offset);  // pps_cr_qp_offset
    bw.write(joint_offset != 0, 1);    // pps_joint_cbcr_qp_offset_present_flag
    if (joint_offset != 0) bw.write_se(joint_offset);  // pps_joint_cbcr_qp_offset_value
    bw.write(0, 1);  // pps_slice_chroma_qp_offsets_present_flag
    bw.write(0, 1);  // pps_cu_chroma_qp_offset_list_enabled_flag
  }
  bw.write(1, 1);  // pps_deblocking_filter_control_present_flag
  bw.write(0, 1);  // pps_deblocking_filter_override_enabled_flag
  bw.write(!sl.deblocking, 1);  // pps_deblocking_filter_disabled_flag
  if (sl.deblocking) {
    bw.write_se(sl.deblock_beta_offset_div2[0]);  // pps_luma_beta_offset_div2
    bw.write_se(sl.deblock_tc_offset_div2[0]);    // pps_luma_tc_offset_div2
    if (chroma_offsets)
      for (int c = 1; c < 3; c++) {
        bw.write_se(sl.deblock_beta_offset_div2[c]);  // pps_cb/cr_beta_offset_div2
        bw.write_se(sl.deblock_tc_offset_div2[c]);    // pps_cb/cr_tc_offset_div2
      }
  }
  bw.write(0, 1);  // pps_picture_header_extension_present_flag
  bw.write(0, 1);  // pps_slice_header_extension_present_flag
  bw.write(0, 1);  // pps_extension_flag
  bw.rbsp_trailing_bits();
  return bw.bytes();
}

void write_slice_header(BitWriter &bw, const SequenceParams &s, const SliceParams &sl) {
  bw.write(1, 1);  // sh_picture_header_in_slice_header_flag
  // picture_header_structure() (7.3.2.8)
  bw.write(1, 1);  // ph_gdr_or_irap_pic_flag
  bw.write(0, 1);  // ph_non_ref_pic_flag
  bw.write(0, 1);  // ph_gdr_pic_flag
  bw.write(0, 1);  // ph_inter_slice_allowed_flag (intra only)
  bw.write_ue(0);  // ph_pic_parameter_set_id
  bw.write(0, 8);  // ph_pic_order_cnt_lsb
  if (s.lmcs) {
    bw.write(sl.lmcs, 1);  // ph_lmcs_enabled_flag
    if (sl.lmcs) {
      bw.write(uint32_t(sl.lmcs_aps_id), 2);     // ph_lmcs_aps_id
      bw.write(sl.chroma_residual_scale, 1);    // ph_chroma_residual_scale_flag (ChromaArrayType != 0)
    }
  }
  if (s.joint_cbcr) bw.write(sl.joint_cbcr_sign, 1);  // ph_joint_cbcr_sign_flag
  // slice_header() proper: no address (one slice), slice type inferred I.
  bw.write(0, 1);  // sh_no_output_of_prior_pics_flag (IDR)
  // pps_alf_info_in_ph_flag = 0 (no picture partitioning): the ALF switches are here.
  if (s.alf) {
    const AlfSliceParams &a = sl.alf;
    bw.write(a.enabled, 1);  // sh_alf_enabled_flag
    if (a.enabled) {
      bw.write(uint32_t(a.num_aps_luma), 3);  // sh_num_alf_aps_ids_luma
      for (int i = 0; i < a.num_aps_luma; i++) bw.write(uint32_t(a.aps_id_luma[i]), 3);
      bw.write(a.cb, 1);  // sh_alf_cb_enabled_flag
      bw.write(a.cr, 1);  // sh_alf_cr_enabled_flag
      if (a.cb || a.cr) bw.write(uint32_t(a.aps_id_chroma), 3);
      if (s.ccalf)
        for (int c = 0; c < 2; c++) {
          bw.write(a.cc[c], 1);  // sh_alf_cc_cb_enabled_flag / sh_alf_cc_cr_enabled_flag
          if (a.cc[c]) bw.write(uint32_t(a.cc_aps_id[c]), 3);
        }
    }
  }
  bw.write_se(0);  // sh_qp_delta: SliceQpY = 26 + pps_init_qp_minus26
  // pps_slice_chroma_qp_offsets_present_flag = 0: no sh_cb/cr/joint_cbcr_qp_offset.
  // pps_sao_info_in_ph_flag = 0 (no picture partitioning): the SAO flags are here.
  if (s.sao) {
    bw.write(sl.sao_luma, 1);    // sh_sao_luma_used_flag
    bw.write(sl.sao_chroma, 1);  // sh_sao_chroma_used_flag (ChromaArrayType != 0)
  }
  // No deblocking override.
  if (s.dep_quant) bw.write(sl.dep_quant, 1);  // sh_dep_quant_used_flag
  if (s.sign_hiding && !(s.dep_quant && sl.dep_quant)) bw.write(sl.sign_hiding, 1);  // sh_sign_data_hiding_used_flag
  // sh_ts_residual_coding_disabled_flag only without DQ and sign hiding (7.3.7.1).
  const bool dq = s.dep_quant && sl.dep_quant, sdh = s.sign_hiding && !dq && sl.sign_hiding;
  if (s.transform_skip && !dq && !sdh) bw.write(sl.ts_residual_coding_disabled, 1);  // sh_ts_residual_coding_disabled_flag
  bw.byte_alignment();
}

}  // namespace pyvtm

// ============================================================================
// Readers (decoder side). Each mirrors the writer above; everything the
// writer hard-codes to "off" is read in full and refused when on.
// ============================================================================
namespace pyvtm {
namespace {

[[noreturn]] void unsupported(const BitReader &br, const std::string &element, const std::string &tool) {
  br.fail(element + ": " + tool + " not supported");
}

// A flag that must be 0 because the tool it enables is not implemented.
void refuse_flag(BitReader &br, const char *element, const char *tool) {
  if (br.read_flag(element)) unsupported(br, std::string(element) + " = 1", tool);
}

// 7.3.3.2 general_constraints_info(): constraints only, skipped.
void read_general_constraints_info(BitReader &br) {
  if (br.read_flag("gci_present_flag")) {
    br.skip_bits(3, "gci_intra_only_constraint_flag..gci_one_au_only_constraint_flag");
    br.skip_bits(4 + 2, "gci_sixteen_minus_max_bitdepth_constraint_idc..");
    br.skip_bits(10, "gci NAL unit type constraint flags");
    br.skip_bits(6, "gci partitioning constraint flags");
    br.skip_bits(2 + 3, "gci CTU / block partitioning constraints");
    br.skip_bits(6, "gci intra constraint flags");
    br.skip_bits(16, "gci inter constraint flags");
    br.skip_bits(13, "gci transform constraint flags");
    br.skip_bits(6, "gci loop filter constraint flags");
    const int num_additional = int(br.read(8, "gci_num_additional_bits"));
    br.skip_bits(size_t(num_additional), "gci additional bits");
  }
  while (!br.byte_aligned())
    if (br.read(1, "gci_alignment_zero_bit")) br.fail("gci_alignment_zero_bit is not 0");
}

// 7.3.3.1 profile_tier_level(1, max_sublayers_minus1).
void read_profile_tier_level(BitReader &br, int max_sublayers_minus1, SpsInfo &s) {
  s.profile_idc = int(br.read(7, "general_profile_idc"));
  s.tier_flag = int(br.read(1, "general_tier_flag"));
  s.seq.level_idc = int(br.read(8, "general_level_idc"));
  br.read_flag("ptl_frame_only_constraint_flag");
  if (br.read_flag("ptl_multilayer_enabled_flag"))
    unsupported(br, "ptl_multilayer_enabled_flag = 1", "multi-layer coding");
  read_general_constraints_info(br);
  bool sub_present[8] = {false};
  for (int i = max_sublayers_minus1 - 1; i >= 0; i--) sub_present[i] = br.read_flag("ptl_sublayer_level_present_flag");
  while (!br.byte_aligned()) br.read(1, "ptl_reserved_zero_bit");
  for (int i = max_sublayers_minus1 - 1; i >= 0; i--)
    if (sub_present[i]) br.read(8, "sublayer_level_idc");
  const int num_sub_profiles = int(br.read(8, "ptl_num_sub_profiles"));
  for (int i = 0; i < num_sub_profiles; i++) br.read(32, "general_sub_profile_idc");
  // Main 10 (1) and Main 10 Still Picture (65): 4:2:0 / 4:0:0, 8..10 bit.
  if (s.profile_idc != 1 && s.profile_idc != 65)
    unsupported(br, "general_profile_idc = " + std::to_string(s.profile_idc),
                "profiles other than Main 10 (1) and Main 10 Still Picture (65) are");
}

// 7.3.10 ref_pic_list_struct(listIdx, rplsIdx): parsed and ignored (only
// used by inter slices).
void read_ref_pic_list_struct(BitReader &br, const SpsInfo &s, int num_lists_in_sps, int rpls_idx) {
  const uint32_t num_entries = br.read_ue("num_ref_entries", 8 + 14);  // MaxDpbSize + 13
  bool ltrp_in_header = false;
  if (s.long_term_ref_pics && rpls_idx < num_lists_in_sps && num_entries > 0)
    ltrp_in_header = br.read_flag("ltrp_in_header_flag");
  for (uint32_t i = 0; i < num_entries; i++) {
    bool inter_layer = false;
    if (s.inter_layer_prediction) inter_layer = br.read_flag("inter_layer_ref_pic_flag");
    if (!inter_layer) {
      bool st = true;
      if (s.long_term_ref_pics) st = br.read_flag("st_ref_pic_flag");
      if (st) {
        const uint32_t abs_delta = br.read_ue("abs_delta_poc_st", (1u << 15) - 1);
        const uint32_t abs_delta_st = ((s.weighted_pred || s.weighted_bipred) && i != 0) ? abs_delta : abs_delta + 1;
        if (abs_delta_st > 0) br.read_flag("strp_entry_sign_flag");
      } else if (!ltrp_in_header) {
        br.read(s.log2_max_poc_lsb, "rpls_poc_lsb_lt");
      }
    } else {
      br.read_ue("ilrp_idx", 63);
    }
  }
}

// E.2.1 vui_parameters() inside vui_payload(payloadSize).
void read_vui_payload(BitReader &br, size_t payload_bytes, SpsInfo &s) {
  const size_t start = br.bit_pos();
  ColourDescription &c = s.seq.colour;
  c = ColourDescription{2, 2, 2, false};  // unspecified when absent
  const bool progressive = br.read_flag("vui_progressive_source_flag");
  const bool interlaced = br.read_flag("vui_interlaced_source_flag");
  br.read_flag("vui_non_packed_constraint_flag");
  br.read_flag("vui_non_projected_constraint_flag");
  if (br.read_flag("vui_aspect_ratio_info_present_flag")) {
    br.read_flag("vui_aspect_ratio_constant_flag");
    if (br.read(8, "vui_aspect_ratio_idc") == 255) br.read(32, "vui_sar_width/height");
  }
  if (br.read_flag("vui_overscan_info_present_flag")) br.read_flag("vui_overscan_appropriate_flag");
  if (br.read_flag("vui_colour_description_present_flag")) {
    c.colour_primaries = int(br.read(8, "vui_colour_primaries"));
    c.transfer_characteristics = int(br.read(8, "vui_transfer_characteristics"));
    c.matrix_coeffs = int(br.read(8, "vui_matrix_coeffs"));
    c.full_range = br.read_flag("vui_full_range_flag");
  }
  if (br.read_flag("vui_chroma_loc_info_present_flag")) {
    if (progressive && !interlaced) {
      br.read_ue("vui_chroma_sample_loc_type_frame", 6);
    } else {
      br.read_ue("vui_chroma_sample_loc_type_top_field", 6);
      br.read_ue("vui_chroma_sample_loc_type_bottom_field", 6);
    }
  }
  const size_t used = br.bit_pos() - start;
  if (used > payload_bytes * 8) br.fail("vui_parameters() is longer than sps_vui_payload_size_minus1 + 1 bytes");
  // The rest of the payload (vui_payload_extension_data, the
  // vui_payload_bit_equal_to_one and alignment) is skipped.
  br.skip_bits(payload_bytes * 8 - used, "vui_payload()");
}

}  // namespace

SpsInfo read_sps(const std::vector<uint8_t> &rbsp) {
  BitReader br(rbsp.data(), rbsp.size(), "SPS");
  SpsInfo s;
  SequenceParams &q = s.seq;
  s.sps_id = int(br.read(4, "sps_seq_parameter_set_id"));
  const int vps_id = int(br.read(4, "sps_video_parameter_set_id"));
  const int max_sublayers_minus1 = int(br.read(3, "sps_max_sublayers_minus1"));
  if (max_sublayers_minus1 > 6) br.fail("sps_max_sublayers_minus1 = 7 is out of range (0..6)");
  s.chroma_format_idc = int(br.read(2, "sps_chroma_format_idc"));
  if (s.chroma_format_idc != 1)
    unsupported(br, "sps_chroma_format_idc = " + std::to_string(s.chroma_format_idc),
                "chroma formats other than 4:2:0 are");
  const int log2_ctu_minus5 = int(br.read(2, "sps_log2_ctu_size_minus5"));
  if (log2_ctu_minus5 > 2) br.fail("sps_log2_ctu_size_minus5 = 3 is reserved");
  q.log2_ctu_size = log2_ctu_minus5 + 5;
  const bool ptl_dpb_hrd = br.read_flag("sps_ptl_dpb_hrd_params_present_flag");
  if (ptl_dpb_hrd) read_profile_tier_level(br, max_sublayers_minus1, s);
  refuse_flag(br, "sps_gdr_enabled_flag", "gradual decoding refresh");
  if (br.read_flag("sps_ref_pic_resampling_enabled_flag")) br.read_flag("sps_res_change_in_clvs_allowed_flag");
  q.pic_width = int(br.read_ue("sps_pic_width_max_in_luma_samples", 1u << 20));
  q.pic_height = int(br.read_ue("sps_pic_height_max_in_luma_samples", 1u << 20));
  if (q.pic_width == 0 || q.pic_height == 0) br.fail("picture size is zero");
  if (br.read_flag("sps_conformance_window_flag")) {
    s.conf_left = int(br.read_ue("sps_conf_win_left_offset", uint32_t(q.pic_width)));
    q.conf_right = int(br.read_ue("sps_conf_win_right_offset", uint32_t(q.pic_width)));
    s.conf_top = int(br.read_ue("sps_conf_win_top_offset", uint32_t(q.pic_height)));
    q.conf_bottom = int(br.read_ue("sps_conf_win_bottom_offset", uint32_t(q.pic_height)));
  }
  refuse_flag(br, "sps_subpic_info_present_flag", "subpictures");
  const int bitdepth_minus8 = int(br.read_ue("sps_bitdepth_minus8", 8));
  if (bitdepth_minus8 != 2)
    unsupported(br, "sps_bitdepth_minus8 = " + std::to_string(bitdepth_minus8), "bit depths other than 10 are");
  q.bit_depth = 8 + bitdepth_minus8;
  refuse_flag(br, "sps_entropy_coding_sync_enabled_flag", "wavefront parallel processing (entropy coding sync)");
  br.read_flag("sps_entry_point_offsets_present_flag");
  s.log2_max_poc_lsb = int(br.read(4, "sps_log2_max_pic_order_cnt_lsb_minus4")) + 4;
  if (s.log2_max_poc_lsb > 16) br.fail("sps_log2_max_pic_order_cnt_lsb_minus4 is out of range (0..12)");
  s.poc_msb_cycle_flag = br.read_flag("sps_poc_msb_cycle_flag");
  if (s.poc_msb_cycle_flag)
    s.poc_msb_cycle_len = int(br.read_ue("sps_poc_msb_cycle_len_minus1", uint32_t(32 - s.log2_max_poc_lsb - 1))) + 1;
  const int extra_ph_bytes = int(br.read(2, "sps_num_extra_ph_bytes"));
  for (int i = 0; i < extra_ph_bytes * 8; i++) s.num_extra_ph_bits += br.read_flag("sps_extra_ph_bit_present_flag");
  const int extra_sh_bytes = int(br.read(2, "sps_num_extra_sh_bytes"));
  for (int i = 0; i < extra_sh_bytes * 8; i++) s.num_extra_sh_bits += br.read_flag("sps_extra_sh_bit_present_flag");
  if (ptl_dpb_hrd) {
    bool sublayer_dpb = false;
    if (max_sublayers_minus1 > 0) sublayer_dpb = br.read_flag("sps_sublayer_dpb_params_flag");
    for (int i = sublayer_dpb ? 0 : max_sublayers_minus1; i <= max_sublayers_minus1; i++) {
      br.read_ue("dpb_max_dec_pic_buffering_minus1", 15);
      br.read_ue("dpb_max_num_reorder_pics", 15);
      br.read_ue("dpb_max_latency_increase_plus1", 0xFFFFFFFEu);
    }
  }
  const int min_cb_minus2 = int(br.read_ue("sps_log2_min_luma_coding_block_size_minus2", uint32_t(std::min(4, q.log2_ctu_size - 2))));
  q.log2_min_cb_size = min_cb_minus2 + 2;
  const int min_cb = 1 << q.log2_min_cb_size;
  if (q.pic_width % std::max(8, min_cb) || q.pic_height % std::max(8, min_cb))
    br.fail("picture size " + std::to_string(q.pic_width) + "x" + std::to_string(q.pic_height) +
            " is not a multiple of Max(8, MinCbSizeY)");
  s.partition_constraints_override_enabled = br.read_flag("sps_partition_constraints_override_enabled_flag");
  s.log2_min_qt_intra = q.log2_min_cb_size +
      int(br.read_ue("sps_log2_diff_min_qt_min_cb_intra_slice_luma", uint32_t(std::min(6, q.log2_ctu_size) - q.log2_min_cb_size)));
  q.log2_min_qt[0] = q.log2_min_qt[1] = s.log2_min_qt_intra;
  const uint32_t max_mtt = uint32_t(2 * (q.log2_ctu_size - q.log2_min_cb_size));
  q.max_mtt_depth[0] = int(br.read_ue("sps_max_mtt_hierarchy_depth_intra_slice_luma", max_mtt));
  q.log2_max_bt[0] = q.log2_max_tt[0] = q.log2_min_qt[0];
  if (q.max_mtt_depth[0]) {
    const uint32_t lim = uint32_t(q.log2_ctu_size - q.log2_min_qt[0]);
    q.log2_max_bt[0] = q.log2_min_qt[0] + int(br.read_ue("sps_log2_diff_max_bt_min_qt_intra_slice_luma", lim));
    q.log2_max_tt[0] = q.log2_min_qt[0] +
        int(br.read_ue("sps_log2_diff_max_tt_min_qt_intra_slice_luma", uint32_t(std::min(6, q.log2_ctu_size) - q.log2_min_qt[0])));
  }
  q.dual_tree = br.read_flag("sps_qtbtt_dual_tree_intra_flag");
  if (q.dual_tree) {
    q.log2_min_qt[1] = q.log2_min_cb_size +
        int(br.read_ue("sps_log2_diff_min_qt_min_cb_intra_slice_chroma", uint32_t(std::min(6, q.log2_ctu_size) - q.log2_min_cb_size)));
    q.max_mtt_depth[1] = int(br.read_ue("sps_max_mtt_hierarchy_depth_intra_slice_chroma", max_mtt));
    q.log2_max_bt[1] = q.log2_max_tt[1] = q.log2_min_qt[1];
    if (q.max_mtt_depth[1]) {
      const uint32_t lim = uint32_t(std::min(6, q.log2_ctu_size) - q.log2_min_qt[1]);
      q.log2_max_bt[1] = q.log2_min_qt[1] + int(br.read_ue("sps_log2_diff_max_bt_min_qt_intra_slice_chroma", lim));
      q.log2_max_tt[1] = q.log2_min_qt[1] + int(br.read_ue("sps_log2_diff_max_tt_min_qt_intra_slice_chroma", lim));
    }
  }
  br.read_ue("sps_log2_diff_min_qt_min_cb_inter_slice", uint32_t(std::min(6, q.log2_ctu_size) - q.log2_min_cb_size));
  if (br.read_ue("sps_max_mtt_hierarchy_depth_inter_slice", 2 * (7 - 2)) != 0) {
    br.read_ue("sps_log2_diff_max_bt_min_qt_inter_slice", 7);
    br.read_ue("sps_log2_diff_max_tt_min_qt_inter_slice", 7);
  }
  bool tb64 = false;
  if (q.log2_ctu_size > 5) tb64 = br.read_flag("sps_max_luma_transform_size_64_flag");
  s.log2_max_tb = tb64 ? 6 : 5;
  q.transform_skip = br.read_flag("sps_transform_skip_enabled_flag");
  if (q.transform_skip) {
    q.log2_max_ts = int(br.read_ue("sps_log2_transform_skip_max_size_minus2", 3)) + 2;
    q.bdpcm = br.read_flag("sps_bdpcm_enabled_flag");
  }
  q.mts = br.read_flag("sps_mts_enabled_flag");
  if (q.mts) {
    q.explicit_mts_intra = br.read_flag("sps_explicit_mts_intra_enabled_flag");
    br.read_flag("sps_explicit_mts_inter_enabled_flag");  // inter slices only
  }
  q.lfnst = br.read_flag("sps_lfnst_enabled_flag");
  q.joint_cbcr = br.read_flag("sps_joint_cbcr_enabled_flag");
  ChromaQpMapping &cq = q.chroma_qp;
  cq.same_table = br.read_flag("sps_same_qp_table_for_chroma_flag");
  const int num_tables = cq.same_table ? 1 : (q.joint_cbcr ? 3 : 2);
  const int qp_bd = s.qp_bd_offset();
  for (int i = 0; i < num_tables; i++) {
    cq.start_minus26[i] = br.read_se("sps_qp_table_start_minus26", -26 - qp_bd, 36);
    const int num_points = int(br.read_ue("sps_num_points_in_qp_table_minus1", uint32_t(36 - cq.start_minus26[i]))) + 1;
    cq.delta_qp_in_minus1[i].assign(size_t(num_points), 0);
    cq.delta_qp_diff_val[i].assign(size_t(num_points), 0);
    for (int j = 0; j < num_points; j++) {
      cq.delta_qp_in_minus1[i][size_t(j)] = int(br.read_ue("sps_delta_qp_in_val_minus1", 127));
      cq.delta_qp_diff_val[i][size_t(j)] = int(br.read_ue("sps_delta_qp_diff_val", 127));
    }
    if (!derive_chroma_qp_table(cq, i, qp_bd, s.chroma_qp_table[i]))
      br.fail("the chroma QP mapping table leaves the QP range (7.4.3.4)");
  }
  for (int i = num_tables; i < 3; i++) {
    cq.start_minus26[i] = cq.start_minus26[0];
    cq.delta_qp_in_minus1[i] = cq.delta_qp_in_minus1[0];
    cq.delta_qp_diff_val[i] = cq.delta_qp_diff_val[0];
    std::copy_n(s.chroma_qp_table[0], 64 + 48, s.chroma_qp_table[i]);
  }
  q.sao = br.read_flag("sps_sao_enabled_flag");
  q.alf = br.read_flag("sps_alf_enabled_flag");
  if (q.alf && s.chroma_format_idc != 0) q.ccalf = br.read_flag("sps_ccalf_enabled_flag");
  q.lmcs = br.read_flag("sps_lmcs_enabled_flag");
  s.weighted_pred = br.read_flag("sps_weighted_pred_flag");
  s.weighted_bipred = br.read_flag("sps_weighted_bipred_flag");
  s.long_term_ref_pics = br.read_flag("sps_long_term_ref_pics_flag");
  if (vps_id > 0) s.inter_layer_prediction = br.read_flag("sps_inter_layer_prediction_enabled_flag");
  s.idr_rpl_present = br.read_flag("sps_idr_rpl_present_flag");
  const bool rpl1_same = br.read_flag("sps_rpl1_same_as_rpl0_flag");
  for (int i = 0; i < (rpl1_same ? 1 : 2); i++) {
    const int n = int(br.read_ue("sps_num_ref_pic_lists", 64));
    for (int j = 0; j < n; j++) read_ref_pic_list_struct(br, s, n, j);
  }
  br.read_flag("sps_ref_wraparound_enabled_flag");
  if (br.read_flag("sps_temporal_mvp_enabled_flag")) br.read_flag("sps_sbtmvp_enabled_flag");
  const bool amvr = br.read_flag("sps_amvr_enabled_flag");
  if (br.read_flag("sps_bdof_enabled_flag")) br.read_flag("sps_bdof_control_present_in_ph_flag");
  br.read_flag("sps_smvd_enabled_flag");
  if (br.read_flag("sps_dmvr_enabled_flag")) br.read_flag("sps_dmvr_control_present_in_ph_flag");
  if (br.read_flag("sps_mmvd_enabled_flag")) br.read_flag("sps_mmvd_fullpel_only_enabled_flag");
  const int max_merge = 6 - int(br.read_ue("sps_six_minus_max_num_merge_cand", 5));
  br.read_flag("sps_sbt_enabled_flag");
  if (br.read_flag("sps_affine_enabled_flag")) {
    br.read_ue("sps_five_minus_max_num_subblock_merge_cand", 5);
    br.read_flag("sps_6param_affine_enabled_flag");
    if (amvr) br.read_flag("sps_affine_amvr_enabled_flag");
    if (br.read_flag("sps_affine_prof_enabled_flag")) br.read_flag("sps_prof_control_present_in_ph_flag");
  }
  br.read_flag("sps_bcw_enabled_flag");
  br.read_flag("sps_ciip_enabled_flag");
  if (max_merge >= 2) {
    if (br.read_flag("sps_gpm_enabled_flag") && max_merge >= 3)
      br.read_ue("sps_max_num_merge_cand_minus_max_num_gpm_cand", uint32_t(max_merge - 2));
  }
  br.read_ue("sps_log2_parallel_merge_level_minus2", uint32_t(q.log2_ctu_size - 2));
  q.isp = br.read_flag("sps_isp_enabled_flag");
  q.mrl = br.read_flag("sps_mrl_enabled_flag");
  q.mip = br.read_flag("sps_mip_enabled_flag");
  q.cclm = br.read_flag("sps_cclm_enabled_flag");
  br.read_flag("sps_chroma_horizontal_collocated_flag");
  br.read_flag("sps_chroma_vertical_collocated_flag");
  refuse_flag(br, "sps_palette_enabled_flag", "palette mode");
  // sps_act_enabled_flag only for 4:4:4 (refused above).
  if (q.transform_skip) q.min_qp_prime_ts = int(br.read_ue("sps_min_qp_prime_ts", 8));
  refuse_flag(br, "sps_ibc_enabled_flag", "intra block copy (IBC)");
  refuse_flag(br, "sps_ladf_enabled_flag", "luma-adaptive deblocking (LADF)");
  refuse_flag(br, "sps_explicit_scaling_list_enabled_flag", "scaling lists");
  q.dep_quant = br.read_flag("sps_dep_quant_enabled_flag");
  q.sign_hiding = br.read_flag("sps_sign_data_hiding_enabled_flag");
  refuse_flag(br, "sps_virtual_boundaries_enabled_flag", "virtual boundaries");
  if (ptl_dpb_hrd) refuse_flag(br, "sps_timing_hrd_params_present_flag", "HRD timing parameters (in the SPS) are");
  refuse_flag(br, "sps_field_seq_flag", "field coding");
  s.vui_present = br.read_flag("sps_vui_parameters_present_flag");
  if (s.vui_present) {
    const size_t payload = size_t(br.read_ue("sps_vui_payload_size_minus1", 1023)) + 1;
    while (!br.byte_aligned())
      if (br.read(1, "sps_vui_alignment_zero_bit")) br.fail("sps_vui_alignment_zero_bit is not 0");
    read_vui_payload(br, payload, s);
  } else {
    s.seq.colour = ColourDescription{2, 2, 2, false};
  }
  if (br.read_flag("sps_extension_present_flag")) {
    if (br.read_flag("sps_range_extension_flag")) unsupported(br, "sps_range_extension_flag = 1", "range extensions");
    if (br.read(7, "sps_extension_7bits")) {
      std::vector<uint8_t> ext_bits;
      while (br.more_rbsp_data()) ext_bits.push_back(uint8_t(br.read(1, "sps_extension_data_flag")));
      try {
        std::string id;
        if (read_cnnmc_sps_extension(ext_bits, id)) q.cnnmc_model_id = id;
      } catch (const std::runtime_error &e) {
        br.fail(e.what());
      }
    }
  }
  br.rbsp_trailing_bits();
  if (2 * (s.conf_left + q.conf_right) >= q.pic_width || 2 * (s.conf_top + q.conf_bottom) >= q.pic_height)
    br.fail("conformance window is empty or larger than the picture");
  return s;
}

PpsInfo read_pps(const std::vector<uint8_t> &rbsp) {
  BitReader br(rbsp.data(), rbsp.size(), "PPS");
  PpsInfo p;
  p.pps_id = int(br.read(6, "pps_pic_parameter_set_id"));
  p.sps_id = int(br.read(4, "pps_seq_parameter_set_id"));
  refuse_flag(br, "pps_mixed_nalu_types_in_pic_flag", "mixed NAL unit types in a picture");
  p.pic_width = int(br.read_ue("pps_pic_width_in_luma_samples", 1u << 20));
  p.pic_height = int(br.read_ue("pps_pic_height_in_luma_samples", 1u << 20));
  p.conf_window_flag = br.read_flag("pps_conformance_window_flag");
  if (p.conf_window_flag) {
    p.conf_left = int(br.read_ue("pps_conf_win_left_offset", uint32_t(p.pic_width)));
    p.conf_right = int(br.read_ue("pps_conf_win_right_offset", uint32_t(p.pic_width)));
    p.conf_top = int(br.read_ue("pps_conf_win_top_offset", uint32_t(p.pic_height)));
    p.conf_bottom = int(br.read_ue("pps_conf_win_bottom_offset", uint32_t(p.pic_height)));
  }
  refuse_flag(br, "pps_scaling_window_explicit_signalling_flag", "reference picture scaling windows");
  p.output_flag_present = br.read_flag("pps_output_flag_present_flag");
  if (!br.read_flag("pps_no_pic_partition_flag"))
    unsupported(br, "pps_no_pic_partition_flag = 0", "pictures partitioned into tiles / several slices");
  refuse_flag(br, "pps_subpic_id_mapping_present_flag", "subpicture ID mapping");
  br.read_flag("pps_cabac_init_present_flag");
  for (int i = 0; i < 2; i++) p.num_ref_idx_default[i] = int(br.read_ue("pps_num_ref_idx_default_active_minus1", 14)) + 1;
  p.rpl1_idx_present = br.read_flag("pps_rpl1_idx_present_flag");
  p.weighted_pred = br.read_flag("pps_weighted_pred_flag");
  p.weighted_bipred = br.read_flag("pps_weighted_bipred_flag");
  if (br.read_flag("pps_ref_wraparound_enabled_flag"))
    br.read_ue("pps_pic_width_minus_wraparound_offset", uint32_t(p.pic_width));
  // SliceQpY range -QpBdOffset..63 (10-bit: -12..63) is checked per slice.
  p.slice.slice_qp = 26 + br.read_se("pps_init_qp_minus26", -26 - 48, 37);
  refuse_flag(br, "pps_cu_qp_delta_enabled_flag", "CU QP deltas (cu_qp_delta)");
  p.chroma_tool_offsets_present = br.read_flag("pps_chroma_tool_offsets_present_flag");
  if (p.chroma_tool_offsets_present) {
    p.cb_qp_offset = br.read_se("pps_cb_qp_offset", -12, 12);
    p.cr_qp_offset = br.read_se("pps_cr_qp_offset", -12, 12);
    if (br.read_flag("pps_joint_cbcr_qp_offset_present_flag"))
      p.joint_cbcr_qp_offset = br.read_se("pps_joint_cbcr_qp_offset_value", -12, 12);
    p.slice.joint_cbcr_qp_offset = p.joint_cbcr_qp_offset;
    p.slice_chroma_qp_offsets_present = br.read_flag("pps_slice_chroma_qp_offsets_present_flag");
    refuse_flag(br, "pps_cu_chroma_qp_offset_list_enabled_flag", "CU chroma QP offsets");
  }
  if (br.read_flag("pps_deblocking_filter_control_present_flag")) {
    p.deblocking_override_enabled = br.read_flag("pps_deblocking_filter_override_enabled_flag");
    p.deblocking_disabled = br.read_flag("pps_deblocking_filter_disabled_flag");
    // pps_dbf_info_in_ph_flag is only present with picture partitioning.
    if (!p.deblocking_disabled) {
      p.beta_offset_div2[0] = br.read_se("pps_luma_beta_offset_div2", -12, 12);
      p.tc_offset_div2[0] = br.read_se("pps_luma_tc_offset_div2", -12, 12);
      for (int c = 1; c < 3; c++) { p.beta_offset_div2[c] = p.beta_offset_div2[0]; p.tc_offset_div2[c] = p.tc_offset_div2[0]; }
      if (p.chroma_tool_offsets_present) {
        p.beta_offset_div2[1] = br.read_se("pps_cb_beta_offset_div2", -12, 12);
        p.tc_offset_div2[1] = br.read_se("pps_cb_tc_offset_div2", -12, 12);
        p.beta_offset_div2[2] = br.read_se("pps_cr_beta_offset_div2", -12, 12);
        p.tc_offset_div2[2] = br.read_se("pps_cr_tc_offset_div2", -12, 12);
      }
    }
  }
  p.slice.deblocking = !p.deblocking_disabled;
  for (int c = 0; c < 3; c++) {
    p.slice.deblock_beta_offset_div2[c] = p.beta_offset_div2[c];
    p.slice.deblock_tc_offset_div2[c] = p.tc_offset_div2[c];
  }
  // pps_rpl_info_in_ph_flag .. pps_qp_delta_info_in_ph_flag: only with partitioning (inferred 0).
  p.picture_header_extension_present = br.read_flag("pps_picture_header_extension_present_flag");
  p.slice_header_extension_present = br.read_flag("pps_slice_header_extension_present_flag");
  if (br.read_flag("pps_extension_flag")) {
    while (br.more_rbsp_data()) br.read(1, "pps_extension_data_flag");
  }
  br.rbsp_trailing_bits();
  if (p.pic_width == 0 || p.pic_height == 0) br.fail("picture size is zero");
  return p;
}

namespace {

// 7.3.2.8 picture_header_structure().
PictureHeaderInfo read_ph_structure(BitReader &br, const ParamSetLookup &lookup, const PpsInfo *&pps_out,
                                    const SpsInfo *&sps_out) {
  PictureHeaderInfo h;
  h.gdr_or_irap = br.read_flag("ph_gdr_or_irap_pic_flag");
  h.non_ref_pic = br.read_flag("ph_non_ref_pic_flag");
  if (h.gdr_or_irap) h.gdr = br.read_flag("ph_gdr_pic_flag");
  if (br.read_flag("ph_inter_slice_allowed_flag"))
    unsupported(br, "ph_inter_slice_allowed_flag = 1", "inter slices (P/B) are");
  h.pps_id = int(br.read_ue("ph_pic_parameter_set_id", 63));
  const PpsInfo *pps = lookup.pps(lookup.ctx, h.pps_id);
  if (!pps) br.fail("refers to PPS " + std::to_string(h.pps_id) + ", which has not been received");
  const SpsInfo *sps = lookup.sps(lookup.ctx, pps->sps_id);
  if (!sps) br.fail("PPS " + std::to_string(h.pps_id) + " refers to SPS " + std::to_string(pps->sps_id) +
                    ", which has not been received");
  h.poc_lsb = int(br.read(sps->log2_max_poc_lsb, "ph_pic_order_cnt_lsb"));
  if (h.gdr) unsupported(br, "ph_gdr_pic_flag = 1", "gradual decoding refresh pictures are");
  br.skip_bits(size_t(sps->num_extra_ph_bits), "ph_extra_bit");
  if (sps->poc_msb_cycle_flag) {
    if (br.read_flag("ph_poc_msb_cycle_present_flag")) br.read(sps->poc_msb_cycle_len, "ph_poc_msb_cycle_val");
  }
  // pps_alf_info_in_ph_flag = 0; scaling lists / virtual boundaries are off in the SPS.
  if (sps->seq.lmcs) {
    h.lmcs = br.read_flag("ph_lmcs_enabled_flag");
    if (h.lmcs) {
      h.lmcs_aps_id = int(br.read(2, "ph_lmcs_aps_id"));
      if (sps->chroma_format_idc != 0) h.chroma_residual_scale = br.read_flag("ph_chroma_residual_scale_flag");
    }
  }
  if (pps->output_flag_present && !h.non_ref_pic) h.pic_output_flag = br.read_flag("ph_pic_output_flag");
  // pps_rpl_info_in_ph_flag = 0 (no partitioning).
  if (sps->partition_constraints_override_enabled) {
    if (br.read_flag("ph_partition_constraints_override_flag")) {
      br.read_ue("ph_log2_diff_min_qt_min_cb_intra_slice_luma", 6);
      const uint32_t mtt = br.read_ue("ph_max_mtt_hierarchy_depth_intra_slice_luma", 10);
      if (mtt != 0)
        unsupported(br, "ph_max_mtt_hierarchy_depth_intra_slice_luma = " + std::to_string(mtt),
                    "multi-type tree (binary/ternary) splits");
      unsupported(br, "ph_partition_constraints_override_flag = 1", "partition constraint overrides are");
    }
  }
  // ph_inter_slice_allowed_flag = 0; pps_cu_qp_delta / chroma qp offset lists refused.
  // pps_qp_delta_info_in_ph_flag: 0 without partitioning.
  if (sps->seq.joint_cbcr) h.joint_cbcr_sign = br.read_flag("ph_joint_cbcr_sign_flag");
  // SAO (refused in the SPS), pps_dbf_info_in_ph_flag: 0 without partitioning.
  h.deblocking_disabled = pps->deblocking_disabled;
  for (int c = 0; c < 3; c++) { h.beta_offset_div2[c] = pps->beta_offset_div2[c]; h.tc_offset_div2[c] = pps->tc_offset_div2[c]; }
  if (pps->picture_header_extension_present) {
    const uint32_t len = br.read_ue("ph_extension_length", 256);
    br.skip_bits(size_t(len) * 8, "ph_extension_data_byte");
  }
  pps_out = pps;
  sps_out = sps;
  return h;
}

}  // namespace

PictureHeaderInfo read_picture_header(const std::vector<uint8_t> &rbsp, const ParamSetLookup &lookup) {
  BitReader br(rbsp.data(), rbsp.size(), "picture header");
  const PpsInfo *pps;
  const SpsInfo *sps;
  PictureHeaderInfo h = read_ph_structure(br, lookup, pps, sps);
  br.rbsp_trailing_bits();
  return h;
}

SliceHeaderInfo read_slice_header(const std::vector<uint8_t> &rbsp, int nal_type, const PictureHeaderInfo *ph,
                                  const ParamSetLookup &lookup) {
  BitReader br(rbsp.data(), rbsp.size(), "slice header");
  SliceHeaderInfo sh;
  sh.picture_header_in_slice_header = br.read_flag("sh_picture_header_in_slice_header_flag");
  const PpsInfo *pps = nullptr;
  const SpsInfo *sps = nullptr;
  if (sh.picture_header_in_slice_header) {
    sh.ph = read_ph_structure(br, lookup, pps, sps);
  } else {
    if (!ph) br.fail("sh_picture_header_in_slice_header_flag = 0 but no picture header NAL unit precedes the slice");
    sh.ph = *ph;
    pps = lookup.pps(lookup.ctx, ph->pps_id);
    sps = pps ? lookup.sps(lookup.ctx, pps->sps_id) : nullptr;
    if (!pps || !sps) br.fail("the parameter sets of the picture header are missing");
  }
  // No subpictures and a single slice: no sh_subpic_id, sh_slice_address,
  // sh_num_tiles_in_slice_minus1; ph_inter_slice_allowed_flag = 0: sh_slice_type inferred I.
  br.skip_bits(size_t(sps->num_extra_sh_bits), "sh_extra_bit");
  if (nal_type == NAL_IDR_W_RADL || nal_type == NAL_IDR_N_LP || nal_type == NAL_CRA || nal_type == NAL_GDR)
    br.read_flag("sh_no_output_of_prior_pics_flag");
  // pps_alf_info_in_ph_flag = 0: the ALF switches are here; LMCS / scaling lists off in the SPS.
  if (sps->seq.alf) {
    AlfSliceParams &a = sh.alf;
    a.enabled = br.read_flag("sh_alf_enabled_flag");
    if (a.enabled) {
      a.num_aps_luma = int(br.read(3, "sh_num_alf_aps_ids_luma"));
      for (int i = 0; i < a.num_aps_luma; i++) a.aps_id_luma[i] = int(br.read(3, "sh_alf_aps_id_luma"));
      if (sps->chroma_format_idc != 0) {
        a.cb = br.read_flag("sh_alf_cb_enabled_flag");
        a.cr = br.read_flag("sh_alf_cr_enabled_flag");
      }
      if (a.cb || a.cr) a.aps_id_chroma = int(br.read(3, "sh_alf_aps_id_chroma"));
      if (sps->seq.ccalf) {
        a.cc[0] = br.read_flag("sh_alf_cc_cb_enabled_flag");
        if (a.cc[0]) a.cc_aps_id[0] = int(br.read(3, "sh_alf_cc_cb_aps_id"));
        a.cc[1] = br.read_flag("sh_alf_cc_cr_enabled_flag");
        if (a.cc[1]) a.cc_aps_id[1] = int(br.read(3, "sh_alf_cc_cr_aps_id"));
      }
    }
  }
  // 7.4.7.1: sh_lmcs_used_flag, inferred ph_lmcs_enabled_flag with the picture header here.
  sh.lmcs_used = sh.ph.lmcs;
  if (sh.ph.lmcs && !sh.picture_header_in_slice_header) sh.lmcs_used = br.read_flag("sh_lmcs_used_flag");
  if (nal_type != NAL_IDR_W_RADL && nal_type != NAL_IDR_N_LP)
    br.fail(std::string("slices of ") + nal_unit_type_name(nal_type) + " NAL units are not supported (IDR only)");
  if (sps->idr_rpl_present)
    unsupported(br, "sps_idr_rpl_present_flag = 1", "reference picture lists in IDR slice headers are");
  // pps_qp_delta_info_in_ph_flag = 0: sh_qp_delta here.
  const int qp_bd = sps->qp_bd_offset();
  const int pps_qp = lookup.pps(lookup.ctx, sh.ph.pps_id)->slice.slice_qp;
  const int qp_delta = br.read_se("sh_qp_delta", -(63 + qp_bd), 63 + qp_bd);
  sh.slice_qp = pps_qp + qp_delta;
  if (sh.slice_qp < -qp_bd || sh.slice_qp > 63)
    br.fail("SliceQpY = " + std::to_string(sh.slice_qp) + " is out of range (" + std::to_string(-qp_bd) + "..63)");
  if (pps->slice_chroma_qp_offsets_present) {
    sh.cb_qp_offset = br.read_se("sh_cb_qp_offset", -12, 12);
    sh.cr_qp_offset = br.read_se("sh_cr_qp_offset", -12, 12);
    if (sps->seq.joint_cbcr) {
      sh.joint_cbcr_qp_offset = br.read_se("sh_joint_cbcr_qp_offset", -12, 12);
      const int sum = pps->joint_cbcr_qp_offset + sh.joint_cbcr_qp_offset;
      if (sum < -12 || sum > 12) br.fail("joint Cb-Cr QP offsets out of range (-12..12)");
    }
    if (pps->cb_qp_offset + sh.cb_qp_offset < -12 || pps->cb_qp_offset + sh.cb_qp_offset > 12 ||
        pps->cr_qp_offset + sh.cr_qp_offset < -12 || pps->cr_qp_offset + sh.cr_qp_offset > 12)
      br.fail("chroma QP offsets out of range (-12..12)");
  }
  // pps_cu_chroma_qp_offset_list_enabled_flag is refused; pps_sao_info_in_ph_flag = 0.
  if (sps->seq.sao) {
    sh.sao_luma = br.read_flag("sh_sao_luma_used_flag");
    if (sps->chroma_format_idc != 0) sh.sao_chroma = br.read_flag("sh_sao_chroma_used_flag");
  }
  sh.deblocking_disabled = sh.ph.deblocking_disabled;
  for (int c = 0; c < 3; c++) { sh.beta_offset_div2[c] = sh.ph.beta_offset_div2[c]; sh.tc_offset_div2[c] = sh.ph.tc_offset_div2[c]; }
  if (pps->deblocking_override_enabled) {
    if (br.read_flag("sh_deblocking_params_present_flag")) {
      if (!pps->deblocking_disabled) sh.deblocking_disabled = br.read_flag("sh_deblocking_filter_disabled_flag");
      else sh.deblocking_disabled = false;  // inferred from pps_deblocking_filter_disabled_flag... overridden on
      if (!sh.deblocking_disabled) {
        sh.beta_offset_div2[0] = br.read_se("sh_luma_beta_offset_div2", -12, 12);
        sh.tc_offset_div2[0] = br.read_se("sh_luma_tc_offset_div2", -12, 12);
        for (int c = 1; c < 3; c++) { sh.beta_offset_div2[c] = sh.beta_offset_div2[0]; sh.tc_offset_div2[c] = sh.tc_offset_div2[0]; }
        if (pps->chroma_tool_offsets_present) {
          sh.beta_offset_div2[1] = br.read_se("sh_cb_beta_offset_div2", -12, 12);
          sh.tc_offset_div2[1] = br.read_se("sh_cb_tc_offset_div2", -12, 12);
          sh.beta_offset_div2[2] = br.read_se("sh_cr_beta_offset_div2", -12, 12);
          sh.tc_offset_div2[2] = br.read_se("sh_cr_tc_offset_div2", -12, 12);
        }
      }
    }
  }
  if (sps->seq.dep_quant) sh.dep_quant = br.read_flag("sh_dep_quant_used_flag");
  if (sps->seq.sign_hiding && !sh.dep_quant) sh.sign_hiding = br.read_flag("sh_sign_data_hiding_used_flag");
  if (sps->seq.transform_skip && !sh.dep_quant && !sh.sign_hiding)
    sh.ts_residual_coding_disabled = br.read_flag("sh_ts_residual_coding_disabled_flag");
  if (pps->slice_header_extension_present) {
    const uint32_t len = br.read_ue("sh_slice_header_extension_length", 256);
    br.skip_bits(size_t(len) * 8, "sh_slice_header_extension_data_byte");
  }
  // NumEntryPoints = 0: no tiles, no WPP.
  br.byte_alignment("byte_alignment() after the slice header");
  sh.data_offset = br.bit_pos() / 8;
  return sh;
}

}  // namespace pyvtm
