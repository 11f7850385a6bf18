#include "recon.h"

#include "lmcs.h"

#include "coding_tree.h"
#include "dsp.h"
#include "mip.h"
#include "quant.h"
#include "transform.h"

namespace pyvtm {

void ReconPicture::init(int w, int h, int bd, int log2_ctu_size) {
  width = w;
  height = h;
  bit_depth = bd;
  log2_ctu = log2_ctu_size;
  for (int c = 0; c < 3; c++) plane[c].allocate(c ? w / 2 : w, c ? h / 2 : h);
  map_stride = w / 4;
  for (int k = 0; k < 2; k++) done[k].assign(size_t(map_stride) * (h / 4), 0);
}

RefAvailability ReconPicture::availability(int comp) const {
  RefAvailability av;
  av.map = done[comp ? 1 : 0].data();
  av.map_stride = map_stride;
  av.unit_log2 = comp ? 1 : 2;
  av.plane_width = comp ? width / 2 : width;
  av.plane_height = comp ? height / 2 : height;
  return av;
}

void ReconPicture::mark(int comp, int x, int y, int w, int h, uint8_t v) {
  const int sh = comp ? 1 : 2;
  std::vector<uint8_t> &m = done[comp ? 1 : 0];
  const int x0 = x >> sh, y0 = y >> sh, x1 = (x + w + (1 << sh) - 1) >> sh, y1 = (y + h + (1 << sh) - 1) >> sh;
  for (int j = y0; j < y1; j++) std::fill(m.begin() + size_t(j) * map_stride + x0, m.begin() + size_t(j) * map_stride + x1, v);
}

void TbEdgeMaps::init(int w, int h, int slice_qp_y) {
  stride = w / 4;
  const size_t n = size_t(stride) * (h / 4);
  qp_y.assign(n, int8_t(slice_qp_y));
  for (int k = 0; k < 2; k++) {
    edge[k].assign(n, 0);
    bdpcm[k].assign(n, 0);
    tb_w_log2[k].assign(n, 0);
    tb_h_log2[k].assign(n, 0);
  }
}

void TbEdgeMaps::set_chroma_qps(int qp_cb, int qp_cr, int qp_cbcr) {
  qp_c_value[0] = qp_cb;
  qp_c_value[1] = qp_cr;
  qp_c_value[2] = qp_cbcr;
  for (int k = 0; k < 2; k++) qp_c[k].assign(qp_y.size(), int8_t(qp_c_value[k]));
}

void TbEdgeMaps::mark(int ch, int x, int y, int w, int h, int log2w, int log2h) {
  const int x0 = x >> 2, y0 = y >> 2, x1 = (x + w) >> 2, y1 = (y + h) >> 2;
  for (int j = y0; j < y1; j++)
    for (int i = x0; i < x1; i++) {
      const size_t k = size_t(j) * stride + i;
      edge[ch][k] = uint8_t((i == x0 ? 1 : 0) | (j == y0 ? 2 : 0));
      tb_w_log2[ch][k] = uint8_t(log2w);
      tb_h_log2[ch][k] = uint8_t(log2h);
    }
}

void mark_record_edges(TbEdgeMaps &e, const CtuRecord &rec) {
  for (const CodingUnit &cu : rec.cus) {
    for (int ch = 0; ch < 2; ch++) {
      if (ch ? cu.tree == DUAL_TREE_LUMA : cu.tree == DUAL_TREE_CHROMA) continue;
      const int x0 = cu.x >> 2, y0 = cu.y >> 2, x1 = std::min(cu.x + cu.w, e.stride * 4) >> 2;
      const int y1 = std::min<int>(cu.y + cu.h, int(e.bdpcm[ch].size() / std::max(e.stride, 1)) * 4) >> 2;
      for (int j = y0; j < y1; j++)
        for (int i = x0; i < x1; i++) e.bdpcm[ch][size_t(j) * e.stride + i] = cu.bdpcm_flag[ch];
    }
    for (int t = cu.first_tu; t < cu.first_tu + cu.num_tu; t++) {
      const TransformUnit &tu0 = rec.tus[size_t(t)];
      const int lw0 = floor_log2(uint32_t(tu0.w)), lh0 = floor_log2(uint32_t(tu0.h));
      // Luma: every TB (ISP sub-partitions too: their edges on the 4x4 grid are TB edges, 8.8.3.3).
      if (cu.tree != DUAL_TREE_CHROMA) e.mark(0, tu0.x, tu0.y, tu0.w, tu0.h, lw0, lh0);
      // Chroma: one TB per TU, or of the whole CU in the last sub-partition of an ISP CU.
      if (tu_has_chroma(cu, t - cu.first_tu)) {
        TransformUnit tu = tu0;
        tu_chroma_area(cu, tu0, tu.x, tu.y, tu.w, tu.h);
        const int lw = floor_log2(uint32_t(tu.w)), lh = floor_log2(uint32_t(tu.h));
        e.mark(1, tu.x, tu.y, tu.w, tu.h, lw - 1, lh - 1);
        if (!e.qp_c[0].empty()) {
          // 8.7.1 / 8.8.3.6.x: a TuCResMode 2 TU is dequantised with Qp'CbCr in both components.
          const bool cbcr = tu_cres_mode(tu) == 2;
          for (int k = 0; k < 2; k++) {
            const int8_t v = int8_t(e.qp_c_value[cbcr ? 2 : k]);
            const int x0 = tu.x >> 2, y0 = tu.y >> 2, x1 = (tu.x + tu.w) >> 2, y1 = (tu.y + tu.h) >> 2;
            for (int j = y0; j < y1; j++) std::fill_n(e.qp_c[k].begin() + long(j) * e.stride + x0, x1 - x0, v);
          }
        }
      }
    }
  }
}

void attach_edge_maps(const TbEdgeMaps &e, DeblockParams &p) {
  p.map_stride = e.stride;
  p.qp_y = e.qp_y.data();
  for (int k = 0; k < 2; k++) p.qp_c[k] = e.qp_c[k].empty() ? nullptr : e.qp_c[k].data();
  p.luma_edge = e.edge[0].data();
  p.luma_tb_w_log2 = e.tb_w_log2[0].data();
  p.luma_tb_h_log2 = e.tb_h_log2[0].data();
  p.chroma_edge = e.edge[1].data();
  p.chroma_tb_w_log2 = e.tb_w_log2[1].data();
  p.chroma_tb_h_log2 = e.tb_h_log2[1].data();
  p.luma_bdpcm = e.bdpcm[0].data();
  p.chroma_bdpcm = e.bdpcm[1].data();
}

void predict_bdpcm(int bdpcm_dir, int log2w, int log2h, const IntraRefs &refs, Pel *dst) {
  const int w = 1 << log2w, h = 1 << log2h;
  for (int j = 0; j < h; j++)
    for (int i = 0; i < w; i++) dst[j * w + i] = bdpcm_dir == 1 ? refs.left[1 + j] : refs.top[1 + i];
}

void predict_isp_subpartition(const ReconPicture &pic, int mode, int cb_w, int cb_h, int isp_split, int k, int x, int y,
                              int w, int h, Pel *dst, Pel *pb) {
  const IspPred ip{floor_log2(uint32_t(cb_w)), floor_log2(uint32_t(cb_h))};
  const int log2h = floor_log2(uint32_t(h));
  auto predict = [&](int px, int log2pw, Pel *out) {
    const int pw = 1 << log2pw;
    IntraRefs refs;
    build_intra_refs(pic.plane[0], pic.availability(0), px, y, log2pw, log2h, pic.bit_depth, refs, 0, cb_w + pw, cb_h + h);
    predict_intra(mode, log2pw, log2h, 0, refs, pic.bit_depth, out, &ip);
  };
  if (isp_split == ISP_VER_SPLIT && w < 4) {
    const int per = 4 / w, j = k % per;  // nPbW = 4, pbFactor = 4 / nW, xPartPbIdx = j
    if (j == 0) predict(x, 2, pb);
    for (int r = 0; r < h; r++) std::copy_n(pb + r * 4 + j * w, w, dst + r * w);
  } else {
    predict(x, floor_log2(uint32_t(w)), dst);
  }
}

void predict_tb(const ReconPicture &pic, int comp, int mode, int x, int y, int log2w, int log2h, Pel *dst,
                bool bdpcm, int ref_idx) {
  if (bdpcm) {
    IntraRefs refs;
    build_intra_refs(pic.plane[comp], pic.availability(comp), x, y, log2w, log2h, pic.bit_depth, refs);
    predict_bdpcm(mode == INTRA_ANGULAR18 ? 1 : 2, log2w, log2h, refs, dst);
    return;
  }
  if (mode >= 81) {
    predict_cclm(mode, pic.plane[0], pic.plane[comp], pic.availability(comp), x, y, log2w, log2h, pic.log2_ctu, pic.bit_depth, dst);
    return;
  }
  IntraRefs refs;
  build_intra_refs(pic.plane[comp], pic.availability(comp), x, y, log2w, log2h, pic.bit_depth, refs,
                   comp ? 0 : ref_idx);
  predict_intra(mode, log2w, log2h, comp, refs, pic.bit_depth, dst);
}

void predict_mip_tb(const ReconPicture &pic, int mode, bool transposed, int x, int y, int log2w, int log2h, Pel *dst) {
  IntraRefs refs;
  build_intra_refs(pic.plane[0], pic.availability(0), x, y, log2w, log2h, pic.bit_depth, refs);
  predict_mip(mode, transposed, 1 << log2w, 1 << log2h, refs.top + 1, refs.left + 1, pic.bit_depth, dst);
}

void tb_residual(const int32_t *levels, int log2w, int log2h, int qp, int bit_depth, const TbResidualMode &mode,
                 int32_t *resid) {
  if (mode.transform_skip) {  // 8.7.3 / 8.7.2: the scaled (BDPCM-accumulated) levels are the residual
    ts_residual(levels, log2w, log2h, qp, mode, resid);
    return;
  }
  int32_t coeff[64 * 64];
  // 8.7.3: dependent quantisation scaling only for transformed blocks.
  const bool dep_quant = mode.dep_quant && !mode.transform_skip;
  if (mode.lfnst_idx) {
    // 8.7.4.1: LFNST on the scaled coefficients, then the separable transform.
    dequantize(levels, log2w, log2h, qp, bit_depth, coeff, dep_quant);
    inverse_lfnst(coeff, log2w, log2h, mode.lfnst_idx, mode.lfnst_pred_mode);
    inverse_transform(coeff, log2w, log2h, bit_depth, resid, mode.tr_type_hor, mode.tr_type_ver);
    return;
  }
  // Only the nonZeroW x nonZeroH region (8.7.4.1) is scaled and transformed,
  // up to its last nonzero column and row.
  const int nx = std::min(1 << log2w, mode.tr_type_hor ? 16 : 32), ny = std::min(1 << log2h, mode.tr_type_ver ? 16 : 32);
  int last_x, last_y;
  dequantize_region(levels, log2w, log2h, qp, bit_depth, coeff, dep_quant, nx, ny, last_x, last_y);
  if (last_x < 0) {
    std::fill(resid, resid + (size_t(1) << (log2w + log2h)), 0);
    return;
  }
  inverse_transform_region(coeff, log2w, log2h, bit_depth, resid, mode.tr_type_hor, mode.tr_type_ver, last_x, last_y);
}

void construct_tb(ReconPicture &pic, int comp, int x, int y, int log2w, int log2h, const Pel *pred,
                  const int32_t *resid) {
  const int w = 1 << log2w, h = 1 << log2h;
  Plane &rec = pic.plane[comp];
  if (resid) {
    const int maxv = (1 << pic.bit_depth) - 1;
    const AddResidualRowFn add = dsp_dec().add_residual_row;
    for (int j = 0; j < h; j++) add(pred + j * w, resid + j * w, rec.row(y + j) + x, w, maxv);
  } else {
    for (int j = 0; j < h; j++) std::copy_n(pred + j * w, w, rec.row(y + j) + x);
  }
  pic.mark(comp, x, y, w, h, 1);
}

void ts_residual(const int32_t *levels, int log2w, int log2h, int qp, const TbResidualMode &mode, int32_t *resid) {
  const int w = 1 << log2w, h = 1 << log2h;
  const int32_t *lv = levels;
  int32_t acc[32 * 32];
  if (mode.bdpcm_dir) {
    // 8.7.3: dz[x][y] = Clip3(CoeffMin, CoeffMax, dz[x - 1][y] + TransCoeffLevel[x][y]) (or along y).
    for (int j = 0; j < h; j++)
      for (int i = 0; i < w; i++) {
        const int k = j * w + i;
        const int prev = mode.bdpcm_dir == 1 ? (i ? acc[k - 1] : 0) : (j ? acc[k - w] : 0);
        acc[k] = clip3(-32768, 32767, prev + levels[k]);
      }
    lv = acc;
  }
  dequantize_ts(lv, w * h, std::max(qp, mode.qp_prime_ts_min), resid);
}

void reconstruct_tb(ReconPicture &pic, int comp, int x, int y, int log2w, int log2h, const Pel *pred,
                    const int32_t *levels, int qp, const TbResidualMode &mode) {
  if (levels) {
    int32_t resid[64 * 64];
    tb_residual(levels, log2w, log2h, qp, pic.bit_depth, mode, resid);
    // 8.7.5.3: LMCS chroma residual scaling (chroma TBs of more than 4 samples).
    if (comp && mode.chroma_scale && (1 << (log2w + log2h)) > 4)
      lmcs_scale_chroma_residual(resid, 1 << (log2w + log2h), mode.chroma_scale, pic.bit_depth);
    construct_tb(pic, comp, x, y, log2w, log2h, pred, resid);
  } else {
    construct_tb(pic, comp, x, y, log2w, log2h, pred, nullptr);
  }
}

void joint_cbcr_residuals(const int32_t *res, int n, int tu_cres_mode, int c_sign, int32_t *res_cb, int32_t *res_cr) {
  int32_t *coded = tu_cres_mode == 3 ? res_cr : res_cb, *other = tu_cres_mode == 3 ? res_cb : res_cr;
  const int shift = tu_cres_mode == 2 ? 0 : 1;
  for (int i = 0; i < n; i++) {
    coded[i] = res[i];
    other[i] = (c_sign * res[i]) >> shift;
  }
}

void reconstruct_joint_cbcr(ReconPicture &pic, int x, int y, int log2w, int log2h, const Pel *pred_cb,
                            const Pel *pred_cr, const int32_t *levels, int qp, const TbResidualMode &mode) {
  const int n = 1 << (log2w + log2h);
  int32_t res[32 * 32], res_cb[32 * 32], res_cr[32 * 32];
  tb_residual(levels, log2w, log2h, qp, pic.bit_depth, mode, res);
  joint_cbcr_residuals(res, n, mode.joint_cbcr, 1 - 2 * mode.joint_cbcr_sign, res_cb, res_cr);
  if (mode.chroma_scale && n > 4) {  // 8.7.5.3, on both derived residuals
    lmcs_scale_chroma_residual(res_cb, n, mode.chroma_scale, pic.bit_depth);
    lmcs_scale_chroma_residual(res_cr, n, mode.chroma_scale, pic.bit_depth);
  }
  construct_tb(pic, 1, x, y, log2w, log2h, pred_cb, res_cb);
  construct_tb(pic, 2, x, y, log2w, log2h, pred_cr, res_cr);
}

}  // namespace pyvtm
