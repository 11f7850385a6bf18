#include "slice_parser.h"

#include <string>

#include "api.h"
#include "derive.h"
#include "syntax.h"

namespace pyvtm {

SliceParser::SliceParser(const SliceLayout &layout, const uint8_t *data, size_t size, const Hooks &hooks)
    : lay_(layout), hooks_(hooks) {
  const int ctu = 1 << lay_.log2_ctu;
  ctus_x_ = (lay_.width + ctu - 1) / ctu;
  ctus_y_ = (lay_.height + ctu - 1) / ctu;
  map_w_ = lay_.width / 4;
  map_h_ = lay_.height / 4;
  parsed_.assign(size_t(map_w_) * map_h_, 0);
  mode_map_.assign(size_t(map_w_) * map_h_, 0);
  size_map_.assign(size_t(map_w_) * map_h_, 0);
  ctx_.init(lay_.slice_qp);  // 9.3.2.2 with SliceQpY
  if (size == 0) throw DecodeError("slice data is empty");
  cabac_.start(data, size);
}

int SliceParser::mode_at(int x, int y) const {
  if (x < 0 || y < 0 || x >= lay_.width || y >= lay_.height) return -1;
  const size_t k = size_t(y >> 2) * map_w_ + (x >> 2);
  return parsed_[k] ? int(mode_map_[k]) : -1;
}

void SliceParser::parse_ctu(int ctu_addr, CtuSyntax &out) {
  out.clear();
  const int ctu = 1 << lay_.log2_ctu;
  const int x = (ctu_addr % ctus_x_) * ctu, y = (ctu_addr / ctus_x_) * ctu;
  coding_tree(x, y, lay_.log2_ctu, SINGLE_TREE, out);
  // 7.3.8.1: end_of_slice_one_bit (equal to 1) follows the last CTU of the
  // slice only (one slice, no tiles, no WPP: no end_of_tile / subset bits).
  if (ctu_addr == num_ctus() - 1) {
    if (!cabac_.decode_terminate())
      throw DecodeError("slice data: end_of_slice_one_bit is 0 after the last CTU (corrupt slice data)");
    cabac_.finish_slice();
  }
}

// 7.3.11.4 coding_tree() with quadtree splits only (max MTT depth 0).
void SliceParser::coding_tree(int x, int y, int log2, TreeType tree, CtuSyntax &out) {
  const int size = 1 << log2;
  const bool inside = x + size <= lay_.width && y + size <= lay_.height;
  // 6.4.1 (allowSplitQt): cbSize > MinQtSizeY; no binary / ternary splits.
  const bool allow_qt = log2 > lay_.log2_min_qt && log2 > lay_.log2_min_cb;
  int split;
  if (allow_qt && inside) {
    const int xl = x - 1, ya = y - 1;
    const size_t kl = size_t(y >> 2) * map_w_ + size_t(xl >> 2), ka = size_t(ya >> 2) * map_w_ + size_t(x >> 2);
    const bool avail_l = xl >= 0 && parsed_[kl], avail_a = ya >= 0 && parsed_[ka];
    const int inc = split_cu_flag_ctx_inc(avail_l, avail_l ? size_map_[kl] : 0, avail_a, avail_a ? size_map_[ka] : 0,
                                          log2, log2);
    split = read_split_cu_flag(cabac_, ctx_, inc);
  } else if (!inside) {
    if (!allow_qt)
      throw DecodeError("slice data: a " + std::to_string(size) + "x" + std::to_string(size) +
                        " block crosses the picture boundary but cannot be split with quadtree splits only");
    split = 1;  // inferred at the picture boundary
  } else {
    split = 0;
  }
  if (!split) {
    coding_unit(x, y, log2, tree, out);
    return;
  }
  // ModeTypeCondition = 1 for an 8x8 quadtree split in a single tree of an
  // I slice (4:2:0): the luma children are DUAL_TREE_LUMA and one chroma CU
  // (DUAL_TREE_CHROMA) covers the 8x8 node.
  const bool local_dual = qt_split_starts_local_dual_tree(log2, tree);
  const TreeType child_tree = local_dual ? DUAL_TREE_LUMA : tree;
  const int half = size >> 1;
  for (int k = 0; k < 4; k++) {
    const int x1 = x + (k & 1) * half, y1 = y + (k >> 1) * half;
    if (x1 >= lay_.width || y1 >= lay_.height) continue;
    coding_tree(x1, y1, log2 - 1, child_tree, out);
  }
  if (local_dual) coding_unit(x, y, log2, DUAL_TREE_CHROMA, out);
}

// 7.3.11.5 coding_unit() of an I slice with the tools pyvtm supports.
void SliceParser::coding_unit(int x, int y, int log2, TreeType tree, CtuSyntax &out) {
  const int size = 1 << log2;
  CodingUnitSyntax cu;
  cu.x = x; cu.y = y; cu.log2 = log2; cu.tree = tree;
  if (tree != DUAL_TREE_CHROMA) {
    int mpm[6];
    derive_mpm_list(x, y, size, size, lay_.log2_ctu, [this](int xn, int yn) { return mode_at(xn, yn); }, mpm);
    if (hooks_.mpm) {
      MpmQuery q{x, y, log2, log2};
      int alt[6];
      for (int i = 0; i < 6; i++) alt[i] = mpm[i];
      if (hooks_.mpm->derive_mpm_list(q, alt))
        for (int i = 0; i < 6; i++) mpm[i] = alt[i];
    }
    cu.luma_mode = read_intra_luma_mode(cabac_, ctx_, mpm);
    if (cu.luma_mode < 0 || cu.luma_mode >= NUM_LUMA_MODES) throw DecodeError("slice data: invalid intra mode");
  }
  if (tree != DUAL_TREE_LUMA) {
    cu.chroma_syntax = read_intra_chroma_pred_mode(cabac_, ctx_);
    // 8.4.3: the luma mode at the centre of the CU (already parsed).
    const int dm = tree == SINGLE_TREE ? cu.luma_mode : mode_at(x + size / 2, y + size / 2);
    cu.chroma_mode = chroma_intra_mode(cu.chroma_syntax, dm < 0 ? INTRA_PLANAR : dm);
  }
  cu.first_tu = int(out.tus.size());
  const size_t cu_index = out.cus.size();
  out.cus.push_back(cu);
  transform_tree(x, y, log2, tree, out);
  out.cus[cu_index].num_tu = int(out.tus.size()) - cu.first_tu;
  if (tree != DUAL_TREE_CHROMA) {
    const int units = std::max(1, size >> 2);
    for (int j = 0; j < units; j++)
      for (int i = 0; i < units; i++) {
        const size_t k = size_t((y >> 2) + j) * map_w_ + (x >> 2) + i;
        parsed_[k] = 1;
        mode_map_[k] = uint8_t(cu.luma_mode);
        size_map_[k] = uint8_t(log2);
      }
  }
}

// 7.3.11.8 transform_tree(): implicit quad split down to MaxTbSizeY, then
// 7.3.11.10 transform_unit().
void SliceParser::transform_tree(int x, int y, int log2, TreeType tree, CtuSyntax &out) {
  if (log2 > lay_.log2_max_tb) {
    const int half = 1 << (log2 - 1);
    for (int k = 0; k < 4; k++) transform_tree(x + (k & 1) * half, y + (k >> 1) * half, log2 - 1, tree, out);
    return;
  }
  TransformUnitSyntax tu;
  tu.x = x; tu.y = y; tu.log2 = log2;
  if (tree != DUAL_TREE_LUMA) {
    tu.cbf[1] = uint8_t(read_tu_cb_coded_flag(cabac_, ctx_));
    tu.cbf[2] = uint8_t(read_tu_cr_coded_flag(cabac_, ctx_, tu.cbf[1]));
  }
  if (tree != DUAL_TREE_CHROMA) tu.cbf[0] = uint8_t(read_tu_y_coded_flag(cabac_, ctx_));
  for (int c = 0; c < 3; c++) {
    if (!tu.cbf[c]) continue;
    const int tb_log2 = c ? log2 - 1 : log2;
    tu.coeff_offset[c] = uint32_t(out.coeffs.size());
    out.coeffs.resize(out.coeffs.size() + (size_t(1) << (2 * tb_log2)));
    read_residual_coding(cabac_, ctx_, tb_log2, c, out.coeffs.data() + tu.coeff_offset[c]);
  }
  out.tus.push_back(tu);
}

}  // namespace pyvtm
