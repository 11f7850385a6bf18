#include "coding_tree.h"

#include <cstdlib>
#include <string>

#include "api.h"
#include "contexts.h"
#include "derive.h"
#include "mip.h"
#include "syntax.h"
#include "transform_tools.h"

#include <stdexcept>

namespace pyvtm {

thread_local std::vector<CtTraceEntry> *g_ct_trace = nullptr;

bool TransformUnit::operator==(const TransformUnit &o) const {
  return x == o.x && y == o.y && w == o.w && h == o.h && cbf[0] == o.cbf[0] && cbf[1] == o.cbf[1] &&
         cbf[2] == o.cbf[2] && transform_skip_flag[0] == o.transform_skip_flag[0] &&
         transform_skip_flag[1] == o.transform_skip_flag[1] && transform_skip_flag[2] == o.transform_skip_flag[2] &&
         joint_cbcr == o.joint_cbcr;
}

bool CodingUnit::operator==(const CodingUnit &o) const {
  const bool luma = tree != DUAL_TREE_CHROMA, chroma = tree != DUAL_TREE_LUMA;
  return x == o.x && y == o.y && w == o.w && h == o.h && tree == o.tree && cqt_depth == o.cqt_depth &&
         (!luma || (luma_mode == o.luma_mode && intra_luma_ref_idx == o.intra_luma_ref_idx &&
                    intra_mip_flag == o.intra_mip_flag &&
                    (!intra_mip_flag ||
                     (intra_mip_transposed_flag == o.intra_mip_transposed_flag && intra_mip_mode == o.intra_mip_mode)))) &&
         (!chroma || (cclm_mode_flag == o.cclm_mode_flag && chroma_mode == o.chroma_mode &&
                      (cclm_mode_flag ? cclm_mode_idx == o.cclm_mode_idx : chroma_syntax == o.chroma_syntax))) &&
         num_tu == o.num_tu && lfnst_idx == o.lfnst_idx && mts_idx == o.mts_idx &&
         bdpcm_flag[0] == o.bdpcm_flag[0] && bdpcm_flag[1] == o.bdpcm_flag[1] && bdpcm_dir[0] == o.bdpcm_dir[0] &&
         bdpcm_dir[1] == o.bdpcm_dir[1] && (!luma || isp_split == o.isp_split);
}

void CtuRecord::append(const CtuRecord &o) {
  const int tu_base = int(tus.size());
  const uint32_t coeff_base = uint32_t(coeffs.size());
  splits.insert(splits.end(), o.splits.begin(), o.splits.end());
  for (CodingUnit cu : o.cus) {
    cu.first_tu += tu_base;
    cus.push_back(cu);
  }
  for (TransformUnit tu : o.tus) {
    for (int c = 0; c < 3; c++) tu.coeff_offset[c] += coeff_base;
    tus.push_back(tu);
  }
  coeffs.insert(coeffs.end(), o.coeffs.begin(), o.coeffs.end());
}

std::string compare_records(const CtuRecord &a, const CtuRecord &b) {
  if (a.splits != b.splits) {
    size_t i = 0;
    while (i < a.splits.size() && i < b.splits.size() && a.splits[i] == b.splits[i]) i++;
    return "splits differ at index " + std::to_string(i);
  }
  if (!(a.sao == b.sao)) return "SAO parameters differ";
  if (!(a.alf == b.alf)) return "ALF parameters differ";
  if (a.cus.size() != b.cus.size()) return "number of CUs differs";
  for (size_t i = 0; i < a.cus.size(); i++)
    if (!(a.cus[i] == b.cus[i]))
      return "CU " + std::to_string(i) + " at (" + std::to_string(a.cus[i].x) + "," + std::to_string(a.cus[i].y) +
             ") differs" +
             (a.cus[i].tree != DUAL_TREE_CHROMA && a.cus[i].intra_luma_ref_idx != b.cus[i].intra_luma_ref_idx
                  ? " (intra_luma_ref_idx)"
                  : "");
  if (a.tus.size() != b.tus.size()) return "number of TUs differs";
  for (size_t i = 0; i < a.tus.size(); i++) {
    const TransformUnit &ta = a.tus[i], &tb = b.tus[i];
    if (!(ta == tb)) return "TU " + std::to_string(i) + " differs";
    // The chroma TB size (the CU's for a single-tree ISP CU).
    int cw = ta.w, chh = ta.h;
    for (const CodingUnit &cu : a.cus)
      if (int(i) >= cu.first_tu && int(i) < cu.first_tu + cu.num_tu) {
        int cx, cy;
        tu_chroma_area(cu, ta, cx, cy, cw, chh);
      }
    for (int c = 0; c < 3; c++) {
      if (c ? !tu_codes_residual(ta, c) : !ta.cbf[c]) continue;
      const size_t n = size_t(c ? cw / 2 : ta.w) * size_t(c ? chh / 2 : ta.h);
      for (size_t k = 0; k < n; k++)
        if (a.coeffs[ta.coeff_offset[c] + k] != b.coeffs[tb.coeff_offset[c] + k])
          return "TU " + std::to_string(i) + " component " + std::to_string(c) + " level " + std::to_string(k) +
                 " differs";
    }
  }
  return "";
}

// --- maps ---------------------------------------------------------------------

void CodingMaps::init(int w, int h, int log2_ctu_size) {
  width = w;
  height = h;
  log2_ctu = log2_ctu_size;
  stride = (w + 3) >> 2;
  rows = (h + 3) >> 2;
  const size_t n = size_t(stride) * rows;
  for (int ch = 0; ch < 2; ch++) {
    coded[ch].assign(n, 0);
    cb_w[ch].assign(n, 0);
    cb_h[ch].assign(n, 0);
    cqt[ch].assign(n, 0);
  }
  luma_mode.assign(n, 0);
  mip_flag.assign(n, 0);
  isp64.assign(n, 0);
  stride32 = (w + 31) >> 5;
  for (int d = 0; d < 2; d++) msm[d].assign(size_t(stride32) * ((h + 31) >> 5), 0);
}

void CodingMaps::set_cu(int ch, const CodingUnit &cu) {
  const int x1 = std::min(cu.x + cu.w, width) >> 2, y1 = std::min(cu.y + cu.h, height) >> 2;
  const uint8_t cw = uint8_t(std::min(cu.w, 255)), chh = uint8_t(std::min(cu.h, 255));
  for (int j = cu.y >> 2; j < y1; j++) {
    const size_t row = size_t(j) * stride;
    for (int i = cu.x >> 2; i < x1; i++) {
      coded[ch][row + i] = 1;
      cb_w[ch][row + i] = cw;
      cb_h[ch][row + i] = chh;
      cqt[ch][row + i] = uint8_t(cu.cqt_depth);
      if (ch == 0) {
        luma_mode[row + i] = uint8_t(cu.luma_mode);
        mip_flag[row + i] = cu.intra_mip_flag;
        isp64[row + i] = uint8_t(cu.isp_split != ISP_NO_SPLIT);
      }
    }
  }
}

void CodingMaps::clear_area(int ch, int x, int y, int w, int h) {
  const int x1 = std::min(x + w, width) >> 2, y1 = std::min(y + h, height) >> 2;
  for (int j = y >> 2; j < y1; j++) std::fill(coded[ch].begin() + size_t(j) * stride + (x >> 2),
                                              coded[ch].begin() + size_t(j) * stride + x1, 0);
}

SplitNeighbours CodingMaps::neighbours(int ch, int x, int y) const {
  SplitNeighbours nb;
  nb.avail_l = available(ch, x - 1, y);
  nb.avail_a = available(ch, x, y - 1);
  if (nb.avail_l) {
    const size_t k = idx(x - 1, y);
    nb.cb_width_l = cb_w[ch][k];
    nb.cb_height_l = cb_h[ch][k];
    nb.cqt_depth_l = cqt[ch][k];
  }
  if (nb.avail_a) {
    const size_t k = idx(x, y - 1);
    nb.cb_width_a = cb_w[ch][k];
    nb.cb_height_a = cb_h[ch][k];
    nb.cqt_depth_a = cqt[ch][k];
  }
  return nb;
}

void derive_mpm_from_maps(const CodingMaps &m, int x, int y, int w, int h, int mpm[6]) {
  derive_mpm_list(x, y, w, h, m.log2_ctu, [&](int xn, int yn) {
    return m.available(0, xn, yn) ? int(m.luma_mode[m.idx(xn, yn)]) : -1;
  }, mpm);
}

void derive_cu_mpm(const CodingMaps &m, const Hooks &hooks, int x, int y, int w, int h, int mpm[6]) {
  derive_mpm_from_maps(m, x, y, w, h, mpm);
  if (!hooks.mpm) return;
  MpmQuery q{x, y, floor_log2(uint32_t(w)), floor_log2(uint32_t(h))};
  int alt[6];
  for (int i = 0; i < 6; i++) alt[i] = mpm[i];
  if (hooks.mpm->derive_mpm_list(q, alt))
    for (int i = 0; i < 6; i++) mpm[i] = alt[i];
}

int derive_chroma_mode(const CodingMaps &m, const CodingUnit &cu) {
  if (cu.cclm_mode_flag) return INTRA_LT_CCLM + cu.cclm_mode_idx;
  // 8.4.3: the luma mode covering the centre of the CU (single tree: the CU's own).
  const int dm = cu.tree == SINGLE_TREE ? cu.luma_mode : int(m.luma_mode[m.idx(cu.x + cu.w / 2, cu.y + cu.h / 2)]);
  return chroma_intra_mode(cu.chroma_syntax, dm);
}

// 7.4.3.4 / 8.4.3: CclmEnabled with sps_qtbtt_dual_tree_intra_flag in an I
// slice: depends on how the 64x64 luma and chroma nodes were split.
bool cclm_enabled(const CodingMaps &m, const PartitionLimits &lim, bool sps_cclm, int x, int y) {
  if (!sps_cclm) return false;
  if (!lim.dual_tree || lim.log2_ctu < 6) return true;
  const int x64 = x >> 6 << 6, y64 = y >> 6 << 6, y32 = y >> 5 << 5;
  const size_t k64 = m.idx(x64, y64), k32 = m.idx(x64, y32);
  const int min_depth = lim.log2_ctu - 6;
  const int depth = m.cqt[1][k64];
  const int msm64 = m.msm[0][size_t(y64 >> 5) * m.stride32 + (x64 >> 5)];
  const int msm32 = m.msm[1][size_t(y32 >> 5) * m.stride32 + (x64 >> 5)];
  bool enabled = m.cb_w[1][k64] == 64 && m.cb_h[1][k64] == 64;
  enabled |= depth == min_depth && msm64 == SPLIT_BT_HOR && m.cb_w[1][k32] == 64 && m.cb_h[1][k32] == 32;
  enabled |= depth > min_depth;
  enabled |= depth == min_depth && msm64 == SPLIT_BT_HOR && msm32 == SPLIT_BT_VER;
  if (enabled) {
    const int w = m.cb_w[0][k64], h = m.cb_h[0][k64], depth0 = m.cqt[0][k64];
    if ((w == 64 && h == 64 && m.isp64[k64]) || ((w < 64 || h < 64) && depth0 == min_depth)) return false;
  }
  return enabled;
}

// --- elements -----------------------------------------------------------------

void write_split_mode(CabacWriter &w, ContextSet &cs, const CtNode &n, const AllowedSplits &a, SplitMode s,
                      const SplitNeighbours &nb, const PartitionLimits &lim) {
  const SplitFlags f = split_flags_for(n, a, s, lim);
  if (f.has_split_cu) w.encode_bin(cs.m[CTX_SPLIT_CU_FLAG + split_cu_flag_ctx(n, a, nb)], f.split_cu_flag);
  if (!f.split_cu_flag) return;
  if (f.has_qt) w.encode_bin(cs.m[CTX_SPLIT_QT_FLAG + split_qt_flag_ctx(n, nb)], f.split_qt_flag);
  if (f.split_qt_flag) return;
  if (f.has_vertical)
    w.encode_bin(cs.m[CTX_MTT_SPLIT_CU_VERTICAL_FLAG + mtt_split_cu_vertical_flag_ctx(n, a, nb)], f.mtt_vertical);
  if (f.has_binary)
    w.encode_bin(cs.m[CTX_MTT_SPLIT_CU_BINARY_FLAG + mtt_split_cu_binary_flag_ctx(n, f.mtt_vertical)], f.mtt_binary);
}

SplitMode read_split_mode(CabacReader &r, ContextSet &cs, const CtNode &n, const AllowedSplits &a,
                          const SplitNeighbours &nb, const PartitionLimits &lim) {
  // 7.3.11.4 / 7.4.12.4
  int split_cu_flag;
  if (a.any() && node_inside(n, lim)) split_cu_flag = r.decode_bin(cs.m[CTX_SPLIT_CU_FLAG + split_cu_flag_ctx(n, a, nb)]);
  else split_cu_flag = infer_split_cu_flag(n, lim);
  if (!split_cu_flag) return SPLIT_NONE;
  if (!a.any()) throw DecodeError("slice data: a block crossing the picture boundary has no allowed split");
  int qt;
  if (a.qt && a.any_mtt()) qt = r.decode_bin(cs.m[CTX_SPLIT_QT_FLAG + split_qt_flag_ctx(n, nb)]);
  else qt = infer_split_qt_flag(a);
  if (qt) return SPLIT_QT;
  int vertical;
  if ((a.bt_hor || a.tt_hor) && (a.bt_ver || a.tt_ver))
    vertical = r.decode_bin(cs.m[CTX_MTT_SPLIT_CU_VERTICAL_FLAG + mtt_split_cu_vertical_flag_ctx(n, a, nb)]);
  else
    vertical = infer_mtt_vertical_flag(a);
  int binary;
  if ((a.bt_ver && a.tt_ver && vertical) || (a.bt_hor && a.tt_hor && !vertical))
    binary = r.decode_bin(cs.m[CTX_MTT_SPLIT_CU_BINARY_FLAG + mtt_split_cu_binary_flag_ctx(n, vertical)]);
  else
    binary = infer_mtt_binary_flag(a, vertical);
  const SplitMode s = split_mode_from_flags(0, vertical, binary);
  if (!a.allows(s)) throw DecodeError("slice data: the coded split is not allowed at this node");
  return s;
}

void write_chroma_mode_syntax(CabacWriter &w, ContextSet &cs, bool cclm_allowed, int cclm_flag, int cclm_idx,
                              int chroma_syntax) {
  if (cclm_allowed) w.encode_bin(cs.m[CTX_CCLM_MODE_FLAG], cclm_flag);
  if (cclm_allowed && cclm_flag) {
    // cclm_mode_idx: TR cMax = 2, first bin context coded, second bypass.
    w.encode_bin(cs.m[CTX_CCLM_MODE_IDX], cclm_idx > 0);
    if (cclm_idx > 0) w.encode_bypass(cclm_idx > 1);
    return;
  }
  write_intra_chroma_pred_mode(w, cs, chroma_syntax);
}

void read_chroma_mode_syntax(CabacReader &r, ContextSet &cs, bool cclm_allowed, int &cclm_flag, int &cclm_idx,
                             int &chroma_syntax) {
  cclm_flag = cclm_allowed ? r.decode_bin(cs.m[CTX_CCLM_MODE_FLAG]) : 0;
  cclm_idx = 0;
  chroma_syntax = 4;
  if (cclm_flag) {
    if (r.decode_bin(cs.m[CTX_CCLM_MODE_IDX])) cclm_idx = 1 + r.decode_bypass();
    return;
  }
  chroma_syntax = read_intra_chroma_pred_mode(r, cs);
}

int transform_tiling(int x, int y, int w, int h, int max_tb, int out[][4], int max_out) {
  // 7.3.11.8: split while wider or taller than MaxTbSizeY, vertical first
  // when the width exceeds it and is the larger side.
  if (w > max_tb || h > max_tb) {
    const bool ver_first = w > max_tb && w > h;
    const int tw = ver_first ? w / 2 : w, th = ver_first ? h : h / 2;
    int n = transform_tiling(x, y, tw, th, max_tb, out, max_out);
    n += transform_tiling(ver_first ? x + tw : x, ver_first ? y : y + th, tw, th, max_tb, out + n, max_out - n);
    return n;
  }
  if (max_out < 1) return 0;
  out[0][0] = x; out[0][1] = y; out[0][2] = w; out[0][3] = h;
  return 1;
}

SplitStep split_step(const CtNode &n, SplitMode s, const PartitionLimits &lim, CodingMaps &maps) {
  SplitStep st;
  // MttSplitMode of depth 0/1 nodes on the 32x32 grid (used by CclmEnabled).
  if (s != SPLIT_QT && !(n.x & 31) && !(n.y & 31) && n.mtt_depth <= 1)
    maps.msm[n.mtt_depth][size_t(n.y >> 5) * maps.stride32 + (n.x >> 5)] = uint8_t(s);
  const ModeType mt = mode_type_condition(n, s, lim) == 1 ? MODE_TYPE_INTRA : n.mode_type;
  const TreeType child_tree = mt == MODE_TYPE_INTRA && n.tree == SINGLE_TREE ? DUAL_TREE_LUMA : n.tree;
  st.num_kids = split_children(n, s, mt, child_tree, lim, st.kids);
  st.local_chroma = n.mode_type == MODE_TYPE_ALL && mt == MODE_TYPE_INTRA && n.tree == SINGLE_TREE;
  if (st.local_chroma) {
    // The chroma CU of a local dual tree covers the whole node.
    st.chroma = n;
    st.chroma.tree = DUAL_TREE_CHROMA;
    st.chroma.mode_type = MODE_TYPE_INTRA;
    st.chroma.depth_offset = 0;
    st.chroma.part_idx = 0;
    st.chroma.parent_split = s;
  }
  return st;
}

int cu_transform_tiling(const CodingUnit &cu, int max_tb, int out[][4], int max_out) {
  if (cu.isp_split == ISP_NO_SPLIT || cu.tree == DUAL_TREE_CHROMA)
    return transform_tiling(cu.x, cu.y, cu.w, cu.h, max_tb, out, max_out);
  const int n = num_intra_subpartitions(cu.isp_split, cu.w, cu.h);
  for (int k = 0; k < n && k < max_out; k++) isp_subpartition(cu, k, out[k][0], out[k][1], out[k][2], out[k][3]);
  return std::min(n, max_out);
}

std::vector<TransformUnit> cu_transform_units(const CodingUnit &cu, int max_tb) {
  int tiles[16][4];
  const int nt = cu_transform_tiling(cu, max_tb, tiles, 16);
  std::vector<TransformUnit> tus(static_cast<size_t>(nt));
  for (int t = 0; t < nt; t++) {
    tus[size_t(t)].x = tiles[t][0];
    tus[size_t(t)].y = tiles[t][1];
    tus[size_t(t)].w = tiles[t][2];
    tus[size_t(t)].h = tiles[t][3];
  }
  return tus;
}

// --- walker ---------------------------------------------------------------------

void CodingTreeSyntax::write_ctu(CabacWriter &w, int ctu_x, int ctu_y, const CtuRecord &rec) {
  w_ = &w; r_ = nullptr; in_ = &rec; out_ = nullptr;
  next_split_ = next_cu_ = next_tu_ = 0;
  sao(ctu_x, ctu_y);
  alf(ctu_x, ctu_y);
  ctu(ctu_x, ctu_y);
  if (next_split_ != rec.splits.size() || next_cu_ != rec.cus.size() || next_tu_ != rec.tus.size())
    throw std::logic_error("coding-tree writer: the record holds more than the CTU's syntax");
}

void CodingTreeSyntax::read_ctu(CabacReader &r, int ctu_x, int ctu_y, CtuRecord &rec) {
  w_ = nullptr; r_ = &r; in_ = nullptr; out_ = &rec;
  rec.clear();
  sao(ctu_x, ctu_y);
  alf(ctu_x, ctu_y);
  ctu(ctu_x, ctu_y);
}

void CodingTreeSyntax::set_sao(SaoSliceFlags f, int bit_depth) {
  sao_ = f;
  sao_bit_depth_ = bit_depth;
  const int ctu = 1 << lim_.log2_ctu;
  const int cx = (lim_.pic_width + ctu - 1) / ctu, cy = (lim_.pic_height + ctu - 1) / ctu;
  sao_grid_.assign(size_t(cx) * cy, SaoCtbParams());
}

// 7.3.11.2: sao( rx, ry ) when the slice uses SAO. One slice and one tile:
// the left / above CTB is available when it is inside the picture.
void CodingTreeSyntax::sao(int x0, int y0) {
  if (!sao_.any()) return;
  const int ctu = 1 << lim_.log2_ctu, cx = (lim_.pic_width + ctu - 1) / ctu;
  const int rx = x0 >> lim_.log2_ctu, ry = y0 >> lim_.log2_ctu;
  const size_t idx = size_t(ry) * cx + rx;
  if (idx >= sao_grid_.size()) throw std::logic_error("coding-tree walker: set_sao() was not called for this picture");
  const SaoCtbParams *left = rx > 0 ? &sao_grid_[idx - 1] : nullptr;
  const SaoCtbParams *up = ry > 0 ? &sao_grid_[idx - size_t(cx)] : nullptr;
  if (w_) write_sao(*w_, cs_, in_->sao, left, up, sao_, sao_bit_depth_);
  else read_sao(*r_, cs_, out_->sao, left, up, sao_, sao_bit_depth_);
  sao_grid_[idx] = w_ ? in_->sao : out_->sao;
  PYVTM_CT_TRACE("sao", x0, y0, sao_grid_[idx].type_idx[0] | (sao_grid_[idx].type_idx[1] << 2), 0);
}

void CodingTreeSyntax::set_alf(const AlfCtuSyntax &s) {
  alf_ = s;
  const int ctu = 1 << lim_.log2_ctu;
  const int cx = (lim_.pic_width + ctu - 1) / ctu, cy = (lim_.pic_height + ctu - 1) / ctu;
  alf_grid_.assign(size_t(cx) * cy, AlfCtbParams());
}

// 7.3.11.2: the ALF CTB flags and filter choices after sao(); the left /
// above CTB (inside the picture: one slice, one tile) select the contexts.
void CodingTreeSyntax::alf(int x0, int y0) {
  if (!alf_.any()) return;
  const int ctu = 1 << lim_.log2_ctu, cx = (lim_.pic_width + ctu - 1) / ctu;
  const int rx = x0 >> lim_.log2_ctu, ry = y0 >> lim_.log2_ctu;
  const size_t idx = size_t(ry) * cx + rx;
  if (idx >= alf_grid_.size()) throw std::logic_error("coding-tree walker: set_alf() was not called for this picture");
  const AlfCtbParams *left = rx > 0 ? &alf_grid_[idx - 1] : nullptr;
  const AlfCtbParams *up = ry > 0 ? &alf_grid_[idx - size_t(cx)] : nullptr;
  if (w_) write_alf_ctb(*w_, cs_, in_->alf, left, up, alf_);
  else read_alf_ctb(*r_, cs_, out_->alf, left, up, alf_);
  alf_grid_[idx] = w_ ? in_->alf : out_->alf;
  PYVTM_CT_TRACE("alf", x0, y0, alf_grid_[idx].ctb_flag[0] | (alf_grid_[idx].ctb_flag[1] << 1), 0);
}

void CodingTreeSyntax::ctu(int x0, int y0) {
  const int size = 1 << lim_.log2_ctu;
  if (lim_.dual_tree && size > 64) {
    dual_tree_implicit_qt_split(x0, y0, size, 0);
  } else {
    CtNode n;
    n.x = x0; n.y = y0; n.w = n.h = size;
    n.tree = lim_.dual_tree ? DUAL_TREE_LUMA : SINGLE_TREE;
    coding_tree(n);
    if (lim_.dual_tree) {
      n.tree = DUAL_TREE_CHROMA;
      coding_tree(n);
    }
  }
}

// 7.3.11.3 dual_tree_implicit_qt_split()
void CodingTreeSyntax::dual_tree_implicit_qt_split(int x0, int y0, int size, int cqt_depth) {
  if (size > 64) {
    const int half = size / 2;
    for (int k = 0; k < 4; k++) {
      const int x1 = x0 + (k & 1) * half, y1 = y0 + (k >> 1) * half;
      if (x1 >= lim_.pic_width || y1 >= lim_.pic_height) continue;
      dual_tree_implicit_qt_split(x1, y1, half, cqt_depth + 1);
    }
    return;
  }
  CtNode n;
  n.x = x0; n.y = y0; n.w = n.h = size; n.cqt_depth = cqt_depth;
  n.tree = DUAL_TREE_LUMA;
  coding_tree(n);
  n.tree = DUAL_TREE_CHROMA;
  coding_tree(n);
}

void CodingTreeSyntax::coding_tree(const CtNode &n) {
  const int ch = n.tree == DUAL_TREE_CHROMA ? 1 : 0;
  const AllowedSplits a = allowed_splits(n, lim_);
  const SplitNeighbours nb = maps_.neighbours(ch, n.x, n.y);
  SplitMode s;
  if (w_) {
    if (next_split_ >= in_->splits.size()) throw std::logic_error("coding-tree writer: record has too few splits");
    s = SplitMode(in_->splits[next_split_++]);
    if (s == SPLIT_NONE ? !node_inside(n, lim_) : !a.allows(s))
      throw std::logic_error("coding-tree writer: the record holds a split that is not allowed");
    write_split_mode(*w_, cs_, n, a, s, nb, lim_);
  } else {
    s = read_split_mode(*r_, cs_, n, a, nb, lim_);
    out_->splits.push_back(uint8_t(s));
  }
  PYVTM_CT_TRACE(n.tree == DUAL_TREE_CHROMA ? "split_mode(chroma)" : "split_mode", n.x, n.y, s,
                 split_cu_flag_ctx(n, a, nb));
  if (s == SPLIT_NONE) {
    coding_unit(n);
    return;
  }
  const SplitStep st = split_step(n, s, lim_, maps_);
  for (int i = 0; i < st.num_kids; i++) coding_tree(st.kids[i]);
  if (st.local_chroma) coding_tree(st.chroma);
}

void CodingTreeSyntax::coding_unit(const CtNode &n) {
  CodingUnit cu;
  if (w_) {
    if (next_cu_ >= in_->cus.size()) throw std::logic_error("coding-tree writer: record has too few CUs");
    cu = in_->cus[next_cu_++];
    if (cu.x != n.x || cu.y != n.y || cu.w != n.w || cu.h != n.h || cu.tree != n.tree)
      throw std::logic_error("coding-tree writer: CU does not match the coding tree");
  } else {
    cu.x = n.x; cu.y = n.y; cu.w = n.w; cu.h = n.h; cu.tree = n.tree;
  }
  cu.cqt_depth = n.cqt_depth;
  if (r_ && n.tree != DUAL_TREE_LUMA && (cu.w < 8 || cu.h < 8))
    throw DecodeError("slice data: a " + std::to_string(cu.w / 2) + "x" + std::to_string(cu.h / 2) +
                      " chroma coding unit at luma (" + std::to_string(cu.x) + "," + std::to_string(cu.y) +
                      ") (chroma blocks with a side of 2 samples are not supported)");
  // Map entries are set before the modes so that CclmEnabled sees the
  // CbWidth/CbHeight of this chroma CU (7.4.12.4 reads them at the 64x64 corner).
  if (n.tree != DUAL_TREE_CHROMA) {
    // intra_bdpcm_luma_flag / _dir_flag (7.3.11.5); with BDPCM IntraPredModeY
    // is horizontal or vertical (8.4.2) and no MPM syntax follows.
    if (ts_.bdpcm_allowed(cu.w, cu.h)) {
      if (w_) write_intra_bdpcm(*w_, cs_, 0, cu.bdpcm_flag[0], cu.bdpcm_dir[0]);
      else read_intra_bdpcm(*r_, cs_, 0, cu.bdpcm_flag[0], cu.bdpcm_dir[0]);
    } else if (w_ && cu.bdpcm_flag[0]) {
      throw std::logic_error("coding-tree writer: BDPCM on a CU larger than MaxTsSize");
    }
    if (!cu.bdpcm_flag[0]) {
      // intra_mip_flag, intra_mip_transposed_flag, intra_mip_mode (7.3.11.5).
      if (mip) {
        const int inc = intra_mip_flag_ctx_inc(cu.w, cu.h, maps_.mip_at(cu.x - 1, cu.y), maps_.mip_at(cu.x, cu.y - 1));
        const int num_modes = mip_num_modes(cu.w, cu.h);
        if (w_) {
          if (cu.intra_mip_flag && (cu.intra_mip_mode < 0 || cu.intra_mip_mode >= num_modes))
            throw std::logic_error("coding-tree writer: intra_mip_mode out of range");
          write_intra_mip(*w_, cs_, inc, cu.intra_mip_flag, cu.intra_mip_transposed_flag, cu.intra_mip_mode, num_modes);
        } else {
          read_intra_mip(*r_, cs_, inc, num_modes, cu.intra_mip_flag, cu.intra_mip_transposed_flag, cu.intra_mip_mode);
        }
        PYVTM_CT_TRACE("intra_mip_flag", cu.x, cu.y, cu.intra_mip_flag ? 1 + cu.intra_mip_mode * 2 + cu.intra_mip_transposed_flag : 0, inc);
      } else if (w_ && cu.intra_mip_flag) {
        throw std::logic_error("coding-tree writer: MIP CU without sps_mip_enabled_flag");
      }
    } else if (w_ && cu.intra_mip_flag) {
      throw std::logic_error("coding-tree writer: MIP and BDPCM in one CU");
    }
    if (cu.bdpcm_flag[0]) {
      cu.luma_mode = cu.bdpcm_dir[0] ? INTRA_ANGULAR50 : INTRA_ANGULAR18;
      if (w_ && cu.intra_luma_ref_idx) throw std::logic_error("coding-tree writer: intra_luma_ref_idx with BDPCM");
      cu.intra_luma_ref_idx = 0;
      if (w_ && cu.isp_split) throw std::logic_error("coding-tree writer: ISP in a BDPCM CU");
    } else if (cu.intra_mip_flag) {
      cu.luma_mode = INTRA_PLANAR;  // as its neighbours, the chroma DM and LFNST see it
      if (w_ && (cu.intra_luma_ref_idx || cu.isp_split))
        throw std::logic_error("coding-tree writer: intra_luma_ref_idx or ISP with MIP");
      cu.intra_luma_ref_idx = 0;
    } else {
      // intra_luma_ref_idx (7.3.11.5), inferred 0 when absent.
      if (intra_luma_ref_idx_coded(mrl, cu.y, lim_.log2_ctu)) {
        if (w_) {
          if (cu.intra_luma_ref_idx < 0 || cu.intra_luma_ref_idx > 2)
            throw std::logic_error("coding-tree writer: intra_luma_ref_idx out of range");
          write_intra_luma_ref_idx(*w_, cs_, cu.intra_luma_ref_idx);
        } else {
          cu.intra_luma_ref_idx = read_intra_luma_ref_idx(*r_, cs_);
        }
        PYVTM_CT_TRACE("intra_luma_ref_idx", cu.x, cu.y, cu.intra_luma_ref_idx, 0);
      } else if (w_ && cu.intra_luma_ref_idx) {
        throw std::logic_error("coding-tree writer: intra_luma_ref_idx set where it is not coded");
      }
      // intra_subpartitions_mode_flag / intra_subpartitions_split_flag (7.3.11.5), only on reference line 0.
      if (isp && cu.intra_luma_ref_idx == 0 && isp_allowed(cu.w, cu.h, lim_.max_tb)) {
        if (w_) {
          if (cu.isp_split < 0 || cu.isp_split > 2) throw std::logic_error("coding-tree writer: bad ISP split");
          write_intra_subpartitions(*w_, cs_, cu.isp_split);
        } else {
          cu.isp_split = read_intra_subpartitions(*r_, cs_);
        }
        PYVTM_CT_TRACE("IntraSubPartitionsSplitType", cu.x, cu.y, cu.isp_split, 0);
      } else if (w_ && cu.isp_split) {
        throw std::logic_error("coding-tree writer: ISP where intra_subpartitions_mode_flag is not coded");
      }
      // intra_luma_not_planar_flag: ctxInc = !intra_subpartitions_mode_flag (9.3.4.2).
      const int not_planar_ctx = cu.isp_split ? 0 : 1;
      int mpm[6];
      if (w_ && cu.has_mpm)
        for (int i = 0; i < 6; i++) mpm[i] = cu.mpm[i];
      else
        derive_cu_mpm(maps_, hooks_, cu.x, cu.y, cu.w, cu.h, mpm);
      if (w_) write_intra_luma_mode(*w_, cs_, cu.luma_mode, mpm, cu.intra_luma_ref_idx, not_planar_ctx);
      else {
        cu.luma_mode = read_intra_luma_mode(*r_, cs_, mpm, cu.intra_luma_ref_idx, not_planar_ctx);
        if (cu.luma_mode < 0 || cu.luma_mode >= NUM_LUMA_MODES) throw DecodeError("slice data: invalid intra mode");
      }
    }
    PYVTM_CT_TRACE("IntraPredModeY", cu.x, cu.y, cu.luma_mode, cu.bdpcm_flag[0]);
    maps_.set_cu(0, cu);
  }
  if (n.tree != DUAL_TREE_LUMA) {
    if (n.tree == DUAL_TREE_CHROMA) maps_.set_cu(1, cu);
    const bool cclm = cclm_enabled(maps_, lim_, cclm_, cu.x, cu.y);
    // intra_bdpcm_chroma_flag / _dir_flag before the chroma mode syntax (7.3.11.5).
    if (ts_.bdpcm_allowed(cu.w / 2, cu.h / 2)) {
      if (w_) write_intra_bdpcm(*w_, cs_, 1, cu.bdpcm_flag[1], cu.bdpcm_dir[1]);
      else read_intra_bdpcm(*r_, cs_, 1, cu.bdpcm_flag[1], cu.bdpcm_dir[1]);
    } else if (w_ && cu.bdpcm_flag[1]) {
      throw std::logic_error("coding-tree writer: chroma BDPCM on a CU larger than MaxTsSize");
    }
    if (cu.bdpcm_flag[1]) {
      cu.cclm_mode_flag = cu.cclm_mode_idx = 0;
      cu.chroma_syntax = 4;
      cu.chroma_mode = cu.bdpcm_dir[1] ? INTRA_ANGULAR50 : INTRA_ANGULAR18;  // 8.4.3
    } else {
      if (w_) {
        if (cu.cclm_mode_flag && !cclm) throw std::logic_error("coding-tree writer: CCLM used where it is disabled");
        write_chroma_mode_syntax(*w_, cs_, cclm, cu.cclm_mode_flag, cu.cclm_mode_idx, cu.chroma_syntax);
      } else {
        read_chroma_mode_syntax(*r_, cs_, cclm, cu.cclm_mode_flag, cu.cclm_mode_idx, cu.chroma_syntax);
      }
      cu.chroma_mode = derive_chroma_mode(maps_, cu);
    }
    PYVTM_CT_TRACE("IntraPredModeC", cu.x, cu.y, cu.chroma_mode, cclm);
  }
  // transform_tree()
  int tiles[16][4];
  const int nt = cu_transform_tiling(cu, lim_.max_tb, tiles, 16);
  size_t cu_index = 0;
  if (r_) {
    cu.first_tu = int(out_->tus.size());
    cu.num_tu = nt;
    cu_index = out_->cus.size();
    out_->cus.push_back(cu);
  } else if (cu.num_tu != nt) {
    throw std::logic_error("coding-tree writer: CU has the wrong number of TUs");
  }
  res_ = CuResidualState{};
  infer_tu_cbf_luma_ = true;
  prev_tu_cbf_y_ = 0;
  for (int t = 0; t < nt; t++) {
    CodingUnit &c = r_ ? out_->cus[cu_index] : cu;
    transform_unit(c, tiles[t][0], tiles[t][1], tiles[t][2], tiles[t][3], t);
  }
  transform_tool_indices(r_ ? out_->cus[cu_index] : cu);
}

// 7.3.11.5: lfnst_idx and mts_idx after the transform tree (inferred 0 when absent).
void CodingTreeSyntax::transform_tool_indices(CodingUnit &cu) {
  if (lfnst_idx_coded(tools_, cu, res_, lim_.max_tb)) {
    if (w_) {
      if (cu.lfnst_idx < 0 || cu.lfnst_idx > 2) throw std::logic_error("coding-tree writer: lfnst_idx out of range");
      write_lfnst_idx(*w_, cs_, cu.lfnst_idx, cu.tree);
    } else {
      cu.lfnst_idx = read_lfnst_idx(*r_, cs_, cu.tree);
    }
  } else if (w_ && cu.lfnst_idx) {
    throw std::logic_error("coding-tree writer: lfnst_idx set where it is not coded");
  } else {
    cu.lfnst_idx = 0;
  }
  PYVTM_CT_TRACE("lfnst_idx", cu.x, cu.y, cu.lfnst_idx, cu.tree != SINGLE_TREE);
  if (mts_idx_coded(tools_, cu, res_)) {
    if (w_) {
      if (cu.mts_idx < 0 || cu.mts_idx > 4) throw std::logic_error("coding-tree writer: mts_idx out of range");
      write_mts_idx(*w_, cs_, cu.mts_idx);
    } else {
      cu.mts_idx = read_mts_idx(*r_, cs_);
    }
  } else if (w_ && cu.mts_idx) {
    throw std::logic_error("coding-tree writer: mts_idx set where it is not coded");
  } else {
    cu.mts_idx = 0;
  }
  PYVTM_CT_TRACE("mts_idx", cu.x, cu.y, cu.mts_idx, 0);
}

// 7.3.11.10 transform_unit() for intra CUs without SBT, cu_qp_delta,
// cu_chroma_qp_offset. subTuIndex: the sub-partition of an ISP CU, whose
// chroma TBs (single tree: the CU's) come with the last one.
void CodingTreeSyntax::transform_unit(CodingUnit &cu, int x, int y, int w, int h, int sub_tu_index) {
  TransformUnit tu;
  if (w_) {
    if (next_tu_ >= in_->tus.size()) throw std::logic_error("coding-tree writer: record has too few TUs");
    tu = in_->tus[next_tu_++];
    if (tu.x != x || tu.y != y || tu.w != w || tu.h != h)
      throw std::logic_error("coding-tree writer: TU does not match the transform tiling");
  } else {
    tu.x = x; tu.y = y; tu.w = w; tu.h = h;
  }
  const bool isp_cu = cu.isp_split != ISP_NO_SPLIT;
  const bool last_sub = sub_tu_index == num_intra_subpartitions(cu.isp_split, cu.w, cu.h) - 1;
  const bool luma = cu.tree != DUAL_TREE_CHROMA, chroma = tu_has_chroma(cu, sub_tu_index);
  const bool bl = cu.bdpcm_flag[0] != 0, bc = cu.bdpcm_flag[1] != 0;
  if (w_ && !chroma && (tu.cbf[1] || tu.cbf[2] || tu.joint_cbcr))
    throw std::logic_error("coding-tree writer: chroma residual in a TU without chroma TBs");
  // tu_y_coded_flag: inferred 1 in the last sub-partition when all before were 0 (InferTuCbfLuma).
  const bool y_inferred = isp_cu && last_sub && infer_tu_cbf_luma_;
  const int y_ctx = tu_y_coded_flag_ctx(bl, cu.isp_split, prev_tu_cbf_y_);
  if (w_) {
    if (chroma) {
      write_tu_cb_coded_flag(*w_, cs_, tu.cbf[1], bc);
      write_tu_cr_coded_flag(*w_, cs_, tu.cbf[2], tu.cbf[1], bc);
    }
    if (luma && y_inferred && !tu.cbf[0])
      throw std::logic_error("coding-tree writer: the last ISP sub-partition must code luma (tu_y_coded_flag inferred)");
    if (luma && !y_inferred) w_->encode_bin(cs_.m[y_ctx], tu.cbf[0]);
  } else {
    if (chroma) {
      tu.cbf[1] = uint8_t(read_tu_cb_coded_flag(*r_, cs_, bc));
      tu.cbf[2] = uint8_t(read_tu_cr_coded_flag(*r_, cs_, tu.cbf[1], bc));
    }
    if (luma) tu.cbf[0] = y_inferred ? 1 : uint8_t(r_->decode_bin(cs_.m[y_ctx]));
  }
  if (luma && isp_cu) {
    infer_tu_cbf_luma_ = infer_tu_cbf_luma_ && !tu.cbf[0];
    if (!y_inferred) prev_tu_cbf_y_ = tu.cbf[0];
  }
  PYVTM_CT_TRACE("tu_coded_flags", x, y, tu.cbf[0] | (tu.cbf[1] << 1) | (tu.cbf[2] << 2), luma | (chroma << 1));
  // (cu_qp_delta / cu_chroma_qp_offset would come here: not used.)
  // tu_joint_cbcr_residual_flag: intra CU with a coded chroma TB (7.3.11.10).
  if (joint_cbcr && chroma && (tu.cbf[1] || tu.cbf[2])) {
    if (w_) write_tu_joint_cbcr_residual_flag(*w_, cs_, tu.joint_cbcr, tu.cbf[1], tu.cbf[2]);
    else tu.joint_cbcr = uint8_t(read_tu_joint_cbcr_residual_flag(*r_, cs_, tu.cbf[1], tu.cbf[2]));
    PYVTM_CT_TRACE("tu_joint_cbcr_residual_flag", x, y, tu.joint_cbcr, 2 * tu.cbf[1] + tu.cbf[2] - 1);
  } else if (w_ && tu.joint_cbcr) {
    throw std::logic_error("coding-tree writer: tu_joint_cbcr_residual_flag where it is not coded");
  }
  const int lw = floor_log2(uint32_t(w)), lh = floor_log2(uint32_t(h));
  if (luma && tu.cbf[0]) residual(cu, tu, 0, lw, lh);
  // The joint residual is coded as Cb when tu_cb_coded_flag, else as Cr
  // (transform_skip_flag of the coded component goes before it).
  if (chroma) {
    int cx, cy, cw, chh;
    tu_chroma_area(cu, tu, cx, cy, cw, chh);
    for (int c = 1; c <= 2; c++)
      if (tu_codes_residual(tu, c)) residual(cu, tu, c, floor_log2(uint32_t(cw)) - 1, floor_log2(uint32_t(chh)) - 1);
  }
  if (r_) out_->tus.push_back(tu);
}

// transform_skip_flag (7.3.11.10) and residual_coding() / residual_ts_coding() of one coded TB.
void CodingTreeSyntax::residual(const CodingUnit &cu, TransformUnit &tu, int c, int log2w, int log2h) {
  const bool bdpcm = cu.bdpcm_flag[c ? 1 : 0] != 0;
  // (No luma transform_skip_flag in an ISP CU, 7.3.11.10.)
  if (!bdpcm && ts_.ts_flag_present(1 << log2w, 1 << log2h) && !(c == 0 && cu.isp_split)) {
    if (w_) write_transform_skip_flag(*w_, cs_, c, tu.transform_skip_flag[c]);
    else tu.transform_skip_flag[c] = uint8_t(read_transform_skip_flag(*r_, cs_, c));
  } else if (w_ && tu.transform_skip_flag[c] != uint8_t(bdpcm)) {
    throw std::logic_error("coding-tree writer: transform_skip_flag differs from its inferred value");
  } else {
    tu.transform_skip_flag[c] = uint8_t(bdpcm);  // inferred: 1 with BDPCM
  }
  const bool ts_rc = tu.transform_skip_flag[c] && !ts_.ts_residual_coding_disabled;
  ResidualCodingInfo info;
  if (w_) {
    const int32_t *lv = in_->coeffs.data() + tu.coeff_offset[c];
    if (ts_rc) write_residual_ts_coding(*w_, cs_, lv, log2w, log2h, bdpcm);
    else write_residual_coding(*w_, cs_, lv, log2w, log2h, c, rc_params_, &info);
  } else {
    tu.coeff_offset[c] = uint32_t(out_->coeffs.size());
    out_->coeffs.resize(out_->coeffs.size() + (size_t(1) << (log2w + log2h)));
    int32_t *lv = out_->coeffs.data() + tu.coeff_offset[c];
    if (ts_rc) read_residual_ts_coding(*r_, cs_, log2w, log2h, bdpcm, lv);
    else read_residual_coding(*r_, cs_, log2w, log2h, c, lv, rc_params_, &info);
  }
  if (tu.transform_skip_flag[c]) res_.set_transform_skip(c);
  else res_.add(info);
#ifdef PYVTM_SYNTAX_TRACE
  const int32_t *lv = (w_ ? in_->coeffs.data() : out_->coeffs.data()) + tu.coeff_offset[c];
  int64_t sum = 0;
  for (size_t k = 0; k < (size_t(1) << (log2w + log2h)); k++) sum = sum * 31 + lv[k];
  PYVTM_CT_TRACE(c == 0 ? "residual_coding(Y)" : c == 1 ? "residual_coding(Cb)" : "residual_coding(Cr)", tu.x, tu.y,
                 int(sum & 0x7fffffff), 0);
#endif
}

}  // namespace pyvtm
