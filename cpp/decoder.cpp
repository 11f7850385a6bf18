// VVC decoder for the streams pyvtm writes: NAL unit loop, parameter-set
// activation, then per CTU: PARSING (slice_parser.cpp: the CTU's syntax into
// a CtuRecord) followed by RECONSTRUCTION (recon.h: the same prediction and
// residual path as the encoder's search), then the in-loop filters and the
// conformance-window crop.
#include <chrono>
#include <cstring>
#include <memory>
#include <string>

#include "api.h"
#include "bitstream.h"
#include "codec_internal.h"
#include "cnn_tools.h"
#include "common.h"
#include "deblocking.h"
#include "param_sets.h"
#include "recon.h"
#include "alf.h"
#include "lmcs.h"
#include "sao.h"
#include "sei.h"
#include "slice_parser.h"
#include "tables.h"
#include "transform_tools.h"

namespace pyvtm {
namespace {

struct ParamSets {
  std::unique_ptr<SpsInfo> sps[16];
  std::unique_ptr<PpsInfo> pps[64];
  static const PpsInfo *get_pps(void *ctx, int id) {
    auto *self = static_cast<ParamSets *>(ctx);
    return (id >= 0 && id < 64) ? self->pps[id].get() : nullptr;
  }
  static const SpsInfo *get_sps(void *ctx, int id) {
    auto *self = static_cast<ParamSets *>(ctx);
    return (id >= 0 && id < 16) ? self->sps[id].get() : nullptr;
  }
  ParamSetLookup lookup() { return ParamSetLookup{&get_pps, &get_sps, this}; }
};

// Reconstruction state of one picture.
class PictureReconstructor {
 public:
  PictureReconstructor(const SpsInfo &sps, const PpsInfo &pps, const SliceHeaderInfo &sh)
      : width_(pps.pic_width), height_(pps.pic_height) {
    const int qp_bd = sps.qp_bd_offset();
    qp_[0] = sh.slice_qp + qp_bd;  // Qp'Y (no cu_qp_delta)
    // 8.7.1: Qp'Cb / Qp'Cr / Qp'CbCr: ChromaQpTable[i][Clip3(-QpBdOffset, 63, QpY)],
    // then the PPS and slice offsets (no CU offsets).
    const int offsets[3] = {pps.cb_qp_offset + sh.cb_qp_offset, pps.cr_qp_offset + sh.cr_qp_offset,
                            pps.joint_cbcr_qp_offset + sh.joint_cbcr_qp_offset};
    for (int i = 0; i < 3; i++) qp_c_[i] = chroma_qp_prime(sps.chroma_qp_table[i], sh.slice_qp, offsets[i], qp_bd);
    qp_[1] = qp_c_[0];
    qp_[2] = qp_c_[1];
    joint_cbcr_sign_ = sh.ph.joint_cbcr_sign;
    dep_quant_ = sh.dep_quant;
    qp_prime_ts_min_ = 4 + 6 * sps.seq.min_qp_prime_ts;
    log2_ctu_ = sps.seq.log2_ctu_size;
    pic_.init(width_, height_, sps.seq.bit_depth, sps.seq.log2_ctu_size);
    edges_.init(width_, height_, sh.slice_qp);
    edges_.set_chroma_qps(qp_c_[0] - qp_bd, qp_c_[1] - qp_bd, qp_c_[2] - qp_bd);
  }

  // Reconstructs the CUs of one CTU in decoding order (8.4.1: luma TBs of a
  // CU, then its chroma TBs; a dual-tree chroma CU after the luma tree of
  // its 64x64 area, so CCLM sees the reconstructed luma).
  // maps: the parser's (IntraPredModeY for the LFNST of CCLM chroma TBs).
  void reconstruct_ctu(const CtuRecord &ctu, const TransformTools &tools, const CodingMaps &maps) {
    for (const CodingUnit &cu : ctu.cus) {
      for (int t = cu.first_tu; t < cu.first_tu + cu.num_tu; t++) {
        const TransformUnit &tu = ctu.tus[size_t(t)];
        if (cu.tree != DUAL_TREE_CHROMA) tb(0, tu, cu, tools, maps, ctu, t - cu.first_tu);
        // An ISP CU's chroma TBs (the CU's) after its last luma sub-partition.
        if (tu_has_chroma(cu, t - cu.first_tu)) {
          if (tu.joint_cbcr) {
            joint_tb(tu, cu, tools, maps, ctu);
          } else {
            tb(1, tu, cu, tools, maps, ctu);
            tb(2, tu, cu, tools, maps, ctu);
          }
        }
      }
    }
    mark_record_edges(edges_, ctu);
  }

  // LMCS in force (sh_lmcs_used_flag): the model, and whether chroma
  // residuals are scaled (ph_chroma_residual_scale_flag).
  void set_lmcs(const LmcsModel *m, bool chroma_scaling) {
    lmcs_ = m;
    lmcs_chroma_ = m && chroma_scaling;
  }

  Plane *planes() { return pic_.plane; }
  const TbEdgeMaps &edges() const { return edges_; }
  int width() const { return width_; }
  int height() const { return height_; }

 private:
  // sub: the TU's index in the CU (the ISP sub-partition).
  void tb(int comp, const TransformUnit &tu, const CodingUnit &cu, const TransformTools &tools, const CodingMaps &maps,
          const CtuRecord &ctu, int sub = 0) {
    const int sh = comp ? 1 : 0;
    int ax = tu.x, ay = tu.y, aw = tu.w, ah = tu.h;
    if (comp) tu_chroma_area(cu, tu, ax, ay, aw, ah);
    const int log2w = floor_log2(uint32_t(aw)) - sh, log2h = floor_log2(uint32_t(ah)) - sh;
    const int x = ax >> sh, y = ay >> sh;
    const bool bdpcm = cu.bdpcm_flag[sh] != 0;
    Pel pred[64 * 64];
    if (comp == 0 && cu.intra_mip_flag)
      predict_mip_tb(pic_, cu.intra_mip_mode, cu.intra_mip_transposed_flag != 0, x, y, log2w, log2h, pred);
    else if (comp == 0 && cu.isp_split != ISP_NO_SPLIT)
      predict_isp_subpartition(pic_, cu.luma_mode, cu.w, cu.h, cu.isp_split, sub, x, y, aw, ah, pred, isp_pb_);
    else
      predict_tb(pic_, comp, comp ? cu.chroma_mode : cu.luma_mode, x, y, log2w, log2h, pred, bdpcm,
                 comp ? 0 : cu.intra_luma_ref_idx);
    const int centre_luma_mode = maps.luma_mode[maps.idx(ax + aw / 2, ay + ah / 2)];
    TbResidualMode res_mode = tb_residual_mode(tools, cu, comp, log2w, log2h, centre_luma_mode);
    res_mode.dep_quant = dep_quant_;
    res_mode.transform_skip = tu.transform_skip_flag[comp] != 0;
    res_mode.bdpcm_dir = bdpcm ? 1 + cu.bdpcm_dir[sh] : 0;
    res_mode.qp_prime_ts_min = qp_prime_ts_min_;
    if (comp) res_mode.chroma_scale = chroma_var_scale(cu);
    reconstruct_tb(pic_, comp, x, y, log2w, log2h, pred, tu.cbf[comp] ? ctu.coeffs.data() + tu.coeff_offset[comp] : nullptr,
                   qp_[comp], res_mode);
  }

  // Both chroma TBs of a joint Cb-Cr TU (8.7.2): the coded residual is Cb's
  // for TuCResMode 1 / 2 (qP Qp'Cb / Qp'CbCr), Cr's for 3 (Qp'Cr); it is an
  // ordinary chroma TB of that component for LFNST (chroma-tree CUs) and
  // transform skip / BDPCM.
  void joint_tb(const TransformUnit &tu, const CodingUnit &cu, const TransformTools &tools, const CodingMaps &maps,
                const CtuRecord &ctu) {
    int ax, ay, aw, ah;
    tu_chroma_area(cu, tu, ax, ay, aw, ah);
    const int log2w = floor_log2(uint32_t(aw)) - 1, log2h = floor_log2(uint32_t(ah)) - 1;
    const int x = ax >> 1, y = ay >> 1;
    const bool bdpcm = cu.bdpcm_flag[1] != 0;
    Pel pred[2][32 * 32];
    for (int k = 0; k < 2; k++) predict_tb(pic_, 1 + k, cu.chroma_mode, x, y, log2w, log2h, pred[k], bdpcm);
    const int mode = tu_cres_mode(tu);
    const int coded = mode == 3 ? 2 : 1;
    const int centre_luma_mode = maps.luma_mode[maps.idx(ax + aw / 2, ay + ah / 2)];
    TbResidualMode rm = tb_residual_mode(tools, cu, coded, log2w, log2h, centre_luma_mode);
    rm.dep_quant = dep_quant_;
    rm.transform_skip = tu.transform_skip_flag[coded] != 0;
    rm.bdpcm_dir = bdpcm ? 1 + cu.bdpcm_dir[1] : 0;
    rm.qp_prime_ts_min = qp_prime_ts_min_;
    rm.joint_cbcr = mode;
    rm.joint_cbcr_sign = joint_cbcr_sign_;
    rm.chroma_scale = chroma_var_scale(cu);
    const int qp = mode == 2 ? qp_c_[2] : qp_[coded];
    reconstruct_joint_cbcr(pic_, x, y, log2w, log2h, pred[0], pred[1], ctu.coeffs.data() + tu.coeff_offset[coded], qp,
                           rm);
  }

  // 8.7.5.3: varScale of the CU's chroma TBs (0: no scaling).
  int chroma_var_scale(const CodingUnit &cu) const {
    if (!lmcs_chroma_) return 0;
    return lmcs_chroma_var_scale(*lmcs_, pic_.plane[0], cu.x, cu.y, width_, height_, log2_ctu_);
  }

  const LmcsModel *lmcs_ = nullptr;
  bool lmcs_chroma_ = false;
  int log2_ctu_ = 7;
  int qp_prime_ts_min_ = 4;
  Pel isp_pb_[4 * 64];  // the 4-wide prediction of narrow vertical ISP sub-partitions
  int width_, height_;
  int qp_[3];
  int qp_c_[3];  // Qp'Cb, Qp'Cr, Qp'CbCr
  bool joint_cbcr_sign_ = false;
  bool dep_quant_ = false;  // sh_dep_quant_used_flag
  ReconPicture pic_;
  TbEdgeMaps edges_;
};

void count_syntax(const CtuRecord &ctu, bool dual_tree, SyntaxCounts &c) {
  for (uint8_t sp : ctu.splits) c.splits[sp]++;
  for (const CodingUnit &cu : ctu.cus) {
    c.coding_units++;
    c.non_square_cus += cu.w != cu.h;
    c.luma_cus_4x4 += cu.tree != DUAL_TREE_CHROMA && cu.w == 4 && cu.h == 4;
    if (cu.tree == DUAL_TREE_CHROMA) (dual_tree ? c.chroma_tree_cus : c.local_dual_tree_cus)++;
    if (cu.tree != DUAL_TREE_LUMA && cu.cclm_mode_flag) c.cclm[cu.cclm_mode_idx]++;
    if (cu.lfnst_idx) {
      c.lfnst[cu.lfnst_idx - 1]++;
      c.lfnst_chroma += cu.tree == DUAL_TREE_CHROMA;
    }
    if (cu.mts_idx) c.mts[cu.mts_idx - 1]++;
    if (cu.isp_split) {
      c.isp[cu.isp_split - 1]++;
      int x, y, w, h;
      isp_subpartition(cu, 0, x, y, w, h);
      c.isp_narrow += std::min(w, h) < 4;
    }
    for (int ch = 0; ch < 2; ch++) c.bdpcm[ch] += cu.bdpcm_flag[ch];
    if (cu.tree != DUAL_TREE_CHROMA && cu.intra_luma_ref_idx) c.mrl[cu.intra_luma_ref_idx - 1]++;
    if (cu.tree != DUAL_TREE_CHROMA && cu.intra_mip_flag) {
      c.mip++;
      c.mip_transposed += cu.intra_mip_transposed_flag;
    }
  }
  c.sao_luma[ctu.sao.type_idx[0]]++;
  c.sao_chroma[ctu.sao.type_idx[1]]++;
  c.sao_merge += ctu.sao.merge_left || ctu.sao.merge_up;
  for (const TransformUnit &tu : ctu.tus) {
    if (tu.joint_cbcr) c.joint_cbcr[tu_cres_mode(tu) - 1]++;
    for (int k = 0; k < 3; k++) c.transform_skip[k] += tu_codes_residual(tu, k) && tu.transform_skip_flag[k];
  }
  if (ctu.alf.ctb_flag[0]) c.alf_luma[ctu.alf.use_aps]++;
  for (int k = 0; k < 2; k++) {
    c.alf_chroma[k] += ctu.alf.ctb_flag[k + 1];
    c.alf_chroma_alt += ctu.alf.ctb_flag[k + 1] && ctu.alf.filter_alt_idx[k] > 0;
    c.ccalf[k] += ctu.alf.cc_idc[k] != 0;
    if (ctu.alf.cc_idc[k]) c.ccalf_filter[ctu.alf.cc_idc[k] - 1]++;
  }
}

// Residual tools of the slice and the signs sign data hiding inferred.
void count_residual_syntax(const CtuRecord &ctu, const ResidualCodingParams &p, SyntaxCounts &c) {
  c.dep_quant = p.dep_quant;
  c.sign_hiding = p.sign_hiding;
  if (!p.sign_hiding || p.dep_quant) return;
  for (const CodingUnit &cu : ctu.cus)
    for (int t = cu.first_tu; t < cu.first_tu + cu.num_tu; t++) {
      const TransformUnit &tu = ctu.tus[size_t(t)];
      for (int comp = 0; comp < 3; comp++) {
        if (!tu.cbf[comp] || tu.transform_skip_flag[comp]) continue;
        const int sh = comp ? 1 : 0;
        int ax = tu.x, ay = tu.y, aw = tu.w, ah = tu.h;
        if (comp) tu_chroma_area(cu, tu, ax, ay, aw, ah);
        c.hidden_signs += count_hidden_signs(ctu.coeffs.data() + tu.coeff_offset[comp],
                                             floor_log2(uint32_t(aw)) - sh, floor_log2(uint32_t(ah)) - sh, p);
      }
    }
}

// Decodes the slice data of the (single) slice of a picture.
DecodeResult decode_picture(const NalUnit &nal, const SliceHeaderInfo &sh, const SpsInfo &sps, const PpsInfo &pps,
                            const DecodeOptions &opt, const Hooks &hooks, const CnnifSei *cnnif,
                            const AlfApsData *const alf_aps[8], const LmcsApsData *const lmcs_aps[4],
                            std::vector<CtuRecord> *records) {
  // Activation checks (7.4.3.x) and the size limit, before any allocation.
  if (pps.pic_width != sps.seq.pic_width || pps.pic_height != sps.seq.pic_height)
    throw DecodeError("PPS picture size " + std::to_string(pps.pic_width) + "x" + std::to_string(pps.pic_height) +
                      " differs from the SPS size (reference picture resampling is not supported)");
  const int w = pps.pic_width, h = pps.pic_height;
  if (w > kMaxDecodeDimension || h > kMaxDecodeDimension || (long long)w * h > opt.max_luma_samples)
    throw DecodeError("picture size " + std::to_string(w) + "x" + std::to_string(h) +
                      " exceeds the decoder limit (" + std::to_string(kMaxDecodeDimension) + " per side, " +
                      std::to_string(opt.max_luma_samples) + " luma samples)");
  int conf_l = sps.conf_left, conf_r = sps.seq.conf_right, conf_t = sps.conf_top, conf_b = sps.seq.conf_bottom;
  if (pps.conf_window_flag) { conf_l = pps.conf_left; conf_r = pps.conf_right; conf_t = pps.conf_top; conf_b = pps.conf_bottom; }
  const int out_w = w - 2 * (conf_l + conf_r), out_h = h - 2 * (conf_t + conf_b);
  if (out_w <= 0 || out_h <= 0) throw DecodeError("the conformance window leaves an empty picture");

  SliceLayout lay;
  PartitionLimits &lim = lay.lim;
  lim.pic_width = w;
  lim.pic_height = h;
  lim.log2_ctu = sps.seq.log2_ctu_size;
  lim.min_cb = 1 << sps.seq.log2_min_cb_size;
  lim.max_tb = 1 << sps.log2_max_tb;
  lim.dual_tree = sps.seq.dual_tree;
  for (int ch = 0; ch < 2; ch++) {
    lim.min_qt[ch] = 1 << sps.seq.log2_min_qt[ch];
    lim.max_bt[ch] = 1 << sps.seq.log2_max_bt[ch];
    lim.max_tt[ch] = 1 << sps.seq.log2_max_tt[ch];
    lim.max_mtt_depth[ch] = sps.seq.max_mtt_depth[ch];
  }
  lay.cclm = sps.seq.cclm;
  lay.joint_cbcr = sps.seq.joint_cbcr;
  lay.mrl = sps.seq.mrl;
  lay.mip = sps.seq.mip;
  lay.isp = sps.seq.isp;
  lay.tools.mts = sps.seq.mts;
  lay.tools.explicit_mts_intra = sps.seq.explicit_mts_intra;
  lay.tools.lfnst = sps.seq.lfnst;
  lay.slice_qp = sh.slice_qp;
  lay.ts.transform_skip = sps.seq.transform_skip;
  lay.ts.log2_max_ts = sps.seq.log2_max_ts;
  lay.ts.bdpcm = sps.seq.bdpcm;
  lay.ts.ts_residual_coding_disabled = sh.ts_residual_coding_disabled;
  lay.sao.luma = sh.sao_luma;
  lay.sao.chroma = sh.sao_chroma;
  lay.bit_depth = sps.seq.bit_depth;
  lay.residual.dep_quant = sh.dep_quant;
  lay.residual.sign_hiding = sh.sign_hiding;
  // ALF: the filters of the slice's APSs (7.4.3.18); their sizes steer the CTB syntax.
  const AlfFilters alf_filters = alf_derive_filters(sh.alf, alf_aps, sps.seq.bit_depth);
  lay.alf.sh = sh.alf;
  lay.alf.chroma_num_alt = alf_filters.chroma_num_alt;
  lay.alf.cc_num_filters[0] = alf_filters.cc_num_filters[0];
  lay.alf.cc_num_filters[1] = alf_filters.cc_num_filters[1];
  if (sh.data_offset >= nal.rbsp.size()) throw DecodeError("slice NAL unit holds no slice data");
  // CNNMC (sei.h): the MPM lists come from the predictor, and only for
  // streams that announce it; a standard stream ignores an offered hook.
  Hooks parse_hooks;
  const bool cnnmc = !sps.seq.cnnmc_model_id.empty();
  if (cnnmc) {
    if (!hooks.mpm)
      throw DecodeError("this stream uses the CNN MPM predictor (CNNMC, model '" + sps.seq.cnnmc_model_id +
                        "'): decode it with that model loaded (pyvtm.decode loads it from the model zoo)");
    parse_hooks.mpm = hooks.mpm;
  }
  SliceParser parser(lay, nal.rbsp.data() + sh.data_offset, nal.rbsp.size() - sh.data_offset, parse_hooks);
  PictureReconstructor recon(sps, pps, sh);
  // LMCS (7.4.3.19): the model of the picture's LMCS APS.
  LmcsModel lmcs;
  if (sh.lmcs_used) {
    const LmcsApsData *a = lmcs_aps[sh.ph.lmcs_aps_id];
    if (!a) throw DecodeError("ph_lmcs_aps_id = " + std::to_string(sh.ph.lmcs_aps_id) + " names no LMCS APS");
    if (sh.ph.chroma_residual_scale && !a->chroma_present)
      throw DecodeError("ph_chroma_residual_scale_flag = 1 with an LMCS APS without chroma data");
    lmcs = lmcs_derive(*a, sps.seq.bit_depth);
    recon.set_lmcs(&lmcs, sh.ph.chroma_residual_scale);
  }
  CtuRecord ctu;
  std::vector<SaoCtbParams> sao_params(size_t(parser.num_ctus()));
  std::vector<AlfCtbParams> alf_params(size_t(parser.num_ctus()));
  SyntaxCounts counts;
  std::unique_ptr<CtuNeighbourhood> nb;
  for (int addr = 0; addr < parser.num_ctus(); addr++) {
    if (cnnmc) {
      // The predictor sees the reconstruction before in-loop filtering.
      if (!nb) nb = std::make_unique<CtuNeighbourhood>();
      const int cx = (addr % parser.ctus_x()) << lay.lim.log2_ctu, cy = (addr / parser.ctus_x()) << lay.lim.log2_ctu;
      const Plane &luma = recon.planes()[0];
      build_ctu_neighbourhood(luma.data.data(), luma.stride, w, h, parser.mode_map().data(), parser.map_stride(),
                              cx, cy, lay.lim.log2_ctu, *nb);
      parse_hooks.mpm->begin_ctu(*nb);
    }
    parser.parse_ctu(addr, ctu);   // parsing
    sao_params[size_t(addr)] = ctu.sao;
    alf_params[size_t(addr)] = ctu.alf;
    recon.reconstruct_ctu(ctu, lay.tools, parser.maps());    // reconstruction
    count_syntax(ctu, lay.lim.dual_tree, counts);
    count_residual_syntax(ctu, lay.residual, counts);
    if (records) records->push_back(ctu);
  }

  // 8.8.2.2: the luma picture leaves the mapped domain before the in-loop filters.
  if (sh.lmcs_used) {
    lmcs_map_plane(recon.planes()[0], w, h, lmcs.inv);
    counts.lmcs = 1;
    counts.lmcs_chroma_scaling = sh.ph.chroma_residual_scale ? 1 : 0;
  }
  // In-loop filters (8.8): deblocking, then SAO, then ALF (with CCALF).
  if (!sh.deblocking_disabled) {
    // 8.8.3.6.x: QpC from the Qp'Cb / Qp'Cr (Qp'CbCr) of the TBs on either side (TbEdgeMaps::qp_c).
    DeblockParams dp;
    dp.width = w;
    dp.height = h;
    dp.log2_ctu = sps.seq.log2_ctu_size;
    dp.bit_depth = sps.seq.bit_depth;
    dp.beta_offset_div2 = sh.beta_offset_div2[0];
    dp.tc_offset_div2 = sh.tc_offset_div2[0];
    for (int c = 0; c < 2; c++) {
      dp.chroma_beta_offset_div2[c] = sh.beta_offset_div2[c + 1];
      dp.chroma_tc_offset_div2[c] = sh.tc_offset_div2[c + 1];
      dp.chroma_qp_table[c] = sps.chroma_qp_table[c];
    }
    dp.chroma_qp_offset[0] = pps.cb_qp_offset;
    dp.chroma_qp_offset[1] = pps.cr_qp_offset;
    attach_edge_maps(recon.edges(), dp);
    deblock_picture(recon.planes(), dp);
    for (int c = 0; c < 3; c++) {
      counts.deblock_beta_offset_div2[c] = sh.beta_offset_div2[c];
      counts.deblock_tc_offset_div2[c] = sh.tc_offset_div2[c];
    }
  }
  if (lay.sao.any()) {
    // 8.8.4: the SAO picture from the deblocked one, CTB by CTB.
    for (int c = 0; c < 3; c++) {
      if (c == 0 ? !lay.sao.luma : !lay.sao.chroma) continue;
      const Plane deblocked = recon.planes()[c];
      sao_apply_component(deblocked, recon.planes()[c], c, sao_params.data(), parser.ctus_x(), parser.ctus_y(),
                          lay.lim.log2_ctu - (c ? 1 : 0), sps.seq.bit_depth);
    }
  }
  // 8.8.5: ALF and CCALF from the SAO picture.
  if (sh.alf.enabled)
    alf_apply_picture(recon.planes(), alf_params.data(), parser.ctus_x(), parser.ctus_y(), lay.lim.log2_ctu,
                      sps.seq.bit_depth, sh.alf, alf_filters);

  DecodeResult res;
  res.coded_width = w;
  res.coded_height = h;
  res.syntax = counts;
  res.slice_qp = sh.slice_qp;
  res.colour = sps.seq.colour;
  res.cnnmc_model_id = sps.seq.cnnmc_model_id;
  // CNN in-loop filter, requested by pyvtm's SEI with per-CTU switches: after ALF.
  if (cnnif) {
    res.cnnif_model_id = cnnif->model_id;
    const int ctu = 1 << sps.seq.log2_ctu_size;
    if (cnnif->ctus_x != (w + ctu - 1) / ctu || cnnif->ctus_y != (h + ctu - 1) / ctu)
      throw DecodeError("the CNNIF SEI describes a CTU grid that does not match the picture");
    if (hooks.in_loop_filter) {
      Picture full;
      full.allocate(w, h);
      for (int c = 0; c < 3; c++) {
        const Plane &p = recon.planes()[c];
        for (size_t i = 0; i < p.data.size(); i++) full.plane[c][i] = uint16_t(p.data[i]);
      }
      hooks.in_loop_filter->filter_picture(full, sh.slice_qp);
      Plane filtered[3];
      const int maxv = (1 << sps.seq.bit_depth) - 1;
      for (int c = 0; c < 3; c++) {
        const Plane &p = recon.planes()[c];
        filtered[c].allocate(p.width, p.height);
        if (full.plane[c].size() != filtered[c].data.size())
          throw DecodeError("the CNN in-loop filter returned planes of the wrong size");
        for (size_t i = 0; i < filtered[c].data.size(); i++) filtered[c].data[i] = Pel(std::min<int>(full.plane[c][i], maxv));
      }
      apply_cnnif_flags(recon.planes(), filtered, sps.seq.log2_ctu_size, cnnif->luma_on, cnnif->chroma_on);
      res.cnnif_applied = true;
    }
  }
  // Output: the conformance window (SubWidthC = SubHeightC = 2).
  res.picture.allocate(out_w, out_h);
  for (int c = 0; c < 3; c++) {
    const int cw = c ? out_w / 2 : out_w, ch = c ? out_h / 2 : out_h, cx = c ? conf_l : 2 * conf_l,
              cy = c ? conf_t : 2 * conf_t;
    const Plane &p = recon.planes()[c];
    // Samples are within 0..(1 << BitDepth) - 1: the same bits as int16 and uint16.
    for (int j = 0; j < ch; j++)
      std::memcpy(res.picture.plane[c].data() + size_t(j) * cw, p.row(cy + j) + cx, size_t(cw) * sizeof(Pel));
  }
  return res;
}

bool is_vcl(int type) { return type >= 0 && type <= 11; }

}  // namespace

DecodeResult decode_bitstream(const uint8_t *data, size_t size) {
  return decode_bitstream(data, size, DecodeOptions{}, Hooks{});
}

DecodeResult decode_bitstream(const uint8_t *data, size_t size, const DecodeOptions &opt) {
  return decode_bitstream(data, size, opt, Hooks{});
}

DecodeResult decode_bitstream(const uint8_t *data, size_t size, const DecodeOptions &opt, const Hooks &hooks) {
  return decode_bitstream_records(data, size, opt, hooks, nullptr);
}

DecodeResult decode_bitstream_records(const uint8_t *data, size_t size, const DecodeOptions &opt, const Hooks &hooks,
                                      std::vector<CtuRecord> *records) {
  const auto t0 = std::chrono::steady_clock::now();
  init_tables();
  if (!data && size) throw DecodeError("no input data");
  const std::vector<NalUnit> nals = split_nal_units(data, size);
  ParamSets ps;
  std::unique_ptr<PictureHeaderInfo> ph;
  DecodeResult result;
  bool have_picture = false;
  std::unique_ptr<CnnifSei> cnnif;  // pyvtm's CNN in-loop filter SEI, if any
  std::unique_ptr<AlfApsData> alf_aps[8];  // ALF APSs by aps_adaptation_parameter_set_id
  std::unique_ptr<LmcsApsData> lmcs_aps[4];  // LMCS APSs by aps_adaptation_parameter_set_id
  for (const NalUnit &nal : nals) {
    const std::string where = std::string(nal_unit_type_name(nal.type)) + " NAL unit at byte " + std::to_string(nal.offset);
    if (nal.layer_id != 0) {
      if (is_vcl(nal.type) || nal.type == NAL_SPS || nal.type == NAL_PPS)
        throw DecodeError(where + ": nuh_layer_id = " + std::to_string(nal.layer_id) + " (multi-layer streams are not supported)");
      continue;
    }
    if (have_picture) {
      if (is_vcl(nal.type))
        throw DecodeError(where + ": the stream holds more than one picture or slice; only single-picture "
                          "(still image) streams are supported");
      continue;  // trailing SEI / EOS / EOB / parameter sets after the picture
    }
    try {
      switch (nal.type) {
        case NAL_SPS: {
          auto s = std::make_unique<SpsInfo>(read_sps(nal.rbsp));
          const int id = s->sps_id;
          ps.sps[id] = std::move(s);
          break;
        }
        case NAL_PPS: {
          auto p = std::make_unique<PpsInfo>(read_pps(nal.rbsp));
          const int id = p->pps_id;
          ps.pps[id] = std::move(p);
          break;
        }
        case NAL_PH:
          ph = std::make_unique<PictureHeaderInfo>(read_picture_header(nal.rbsp, ps.lookup()));
          break;
        case NAL_IDR_W_RADL:
        case NAL_IDR_N_LP:
        case kNalCnnmcIrap: {
          if (nal.temporal_id != 0) throw DecodeError("IDR slice with TemporalId " + std::to_string(nal.temporal_id));
          // A CNNMC picture is an IDR_N_LP picture carried in RSV_IRAP_11 (sei.h).
          const int type = nal.type == kNalCnnmcIrap ? int(NAL_IDR_N_LP) : nal.type;
          const SliceHeaderInfo sh = read_slice_header(nal.rbsp, type, ph.get(), ps.lookup());
          const PpsInfo *pps = ps.pps[sh.ph.pps_id].get();
          const SpsInfo *sps = ps.sps[pps->sps_id].get();
          const bool cnnmc_sps = !sps->seq.cnnmc_model_id.empty();
          if (nal.type == kNalCnnmcIrap && !cnnmc_sps)
            throw DecodeError("reserved VCL NAL unit type 11 without pyvtm's CNNMC SPS extension");
          if (nal.type != kNalCnnmcIrap && cnnmc_sps)
            throw DecodeError("the SPS announces CNNMC but the slice is a standard IDR slice");
          if (opt.probe_only) {
            result.coded_width = pps->pic_width;
            result.coded_height = pps->pic_height;
            result.slice_qp = sh.slice_qp;
            result.colour = sps->seq.colour;
            result.cnnmc_model_id = sps->seq.cnnmc_model_id;
            if (cnnif) result.cnnif_model_id = cnnif->model_id;
          } else {
            const AlfApsData *aps_list[8];
            for (int i = 0; i < 8; i++) aps_list[i] = alf_aps[i].get();
            const LmcsApsData *lmcs_list[4];
            for (int i = 0; i < 4; i++) lmcs_list[i] = lmcs_aps[i].get();
            result = decode_picture(nal, sh, *sps, *pps, opt, hooks, cnnif.get(), aps_list, lmcs_list, records);
          }
          have_picture = true;
          break;
        }
        case NAL_TRAIL: case NAL_STSA: case NAL_RADL: case NAL_RASL: case NAL_CRA: case NAL_GDR:
          throw DecodeError(std::string("pictures of NAL unit type ") + nal_unit_type_name(nal.type) +
                            " are not supported (only IDR pictures)");
        case NAL_PREFIX_SEI: {
          auto sei = std::make_unique<CnnifSei>();
          try {
            if (read_cnnif_sei_rbsp(nal.rbsp, *sei)) cnnif = std::move(sei);
          } catch (const std::runtime_error &e) {
            throw DecodeError(e.what());
          }
          break;
        }
        case 4: case 5: case 6:
          throw DecodeError("reserved VCL NAL unit type " + std::to_string(nal.type));
        case NAL_PREFIX_APS: case NAL_SUFFIX_APS: {
          // ALF and LMCS APSs are kept by id; scaling-list APSs are unused (the SPS refuses that tool).
          auto a = std::make_unique<AlfApsData>();
          if (read_alf_aps_rbsp(nal.rbsp, *a)) {
            const int id = a->aps_id;
            alf_aps[id] = std::move(a);
            break;
          }
          auto l = std::make_unique<LmcsApsData>();
          if (read_lmcs_aps_rbsp(nal.rbsp, *l)) {
            const int id = l->aps_id;
            lmcs_aps[id] = std::move(l);
          }
          break;
        }
        default:
          break;  // VPS, DCI, OPI, AUD, EOS, EOB, SEI, FD, reserved / unspecified: ignored
      }
    } catch (const DecodeError &e) {
      throw DecodeError(where + ": " + e.what());
    }
  }
  if (!have_picture) {
    bool any_sps = false, any_pps = false;
    for (auto &s : ps.sps) any_sps |= bool(s);
    for (auto &p : ps.pps) any_pps |= bool(p);
    if (!any_sps) throw DecodeError("no picture decoded: the stream has no SPS and no IDR slice");
    if (!any_pps) throw DecodeError("no picture decoded: the stream has no PPS and no IDR slice");
    throw DecodeError("no picture decoded: the stream has no IDR slice NAL unit");
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

}  // namespace pyvtm
