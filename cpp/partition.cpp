#include "partition.h"

namespace pyvtm {

AllowedSplits allowed_splits(const CtNode &n, const PartitionLimits &lim) {
  const int ch = n.tree == DUAL_TREE_CHROMA ? 1 : 0;
  const bool chroma_tree = ch == 1;
  AllowedSplits a;
  a.qt = a.bt_ver = a.bt_hor = a.tt_ver = a.tt_hor = true;

  // 6.4.1: no quadtree split below MinQtSize, inside a multi-type tree, for
  // chroma blocks of 4 samples or less, or in the chroma part of a local dual tree.
  if (n.mtt_depth > 0 || n.w <= lim.min_qt[ch]) a.qt = false;
  if (chroma_tree) {
    const int cw = n.w >> 1, ch_area = (n.w >> 1) * (n.h >> 1);
    if (cw <= 4) a.qt = false;
    // 6.4.2 / 6.4.3: chroma blocks narrower than 4 or smaller than 16 samples
    // (8 and 32 for ternary splits) are not created.
    if (cw == 4) a.bt_ver = false;
    if (cw == 8) a.tt_ver = false;
    if (ch_area <= 32) a.tt_ver = a.tt_hor = false;
    if (ch_area <= 16) a.bt_ver = a.bt_hor = false;
    if (n.mode_type == MODE_TYPE_INTRA) a.qt = a.bt_ver = a.bt_hor = a.tt_ver = a.tt_hor = false;
  }
  // MinBtSizeY = MinTtSizeY = MinCbSizeY: a binary split needs a side of
  // 2 * MinCb, a ternary one 4 * MinCb.
  if (n.w <= 2 * lim.min_cb) a.tt_ver = false;
  if (n.w <= lim.min_cb) a.bt_ver = false;
  if (n.h <= 2 * lim.min_cb) a.tt_hor = false;
  if (n.h <= lim.min_cb) a.bt_hor = false;
  if (n.w > lim.max_bt[ch] || n.h > lim.max_bt[ch]) a.bt_ver = a.bt_hor = false;
  const int max_tt = lim.max_tt[ch] < lim.max_tb ? lim.max_tt[ch] : lim.max_tb;  // Min(MaxTbSizeY, maxTtSize)
  if (n.w > max_tt || n.h > max_tt) a.tt_ver = a.tt_hor = false;
  if (n.mtt_depth >= lim.max_mtt_depth[ch] + n.depth_offset) a.bt_ver = a.bt_hor = a.tt_ver = a.tt_hor = false;

  // Picture boundaries (6.4.2 / 6.4.3): no ternary split across an edge; a
  // block crossing the right edge splits vertically (or by quadtree when it
  // also crosses the bottom edge and is larger than MinQtSize), one crossing
  // the bottom edge splits horizontally.
  const bool over_x = n.x + n.w > lim.pic_width, over_y = n.y + n.h > lim.pic_height;
  if (over_x) {
    a.tt_ver = a.tt_hor = false;
    if (n.h > lim.max_tb) a.bt_ver = false;
    if (!over_y) a.bt_hor = false;
    else if (n.w > lim.min_qt[ch]) a.bt_ver = a.bt_hor = false;
  }
  if (over_y) {
    a.bt_ver = a.tt_ver = a.tt_hor = false;
    if (n.w > lim.max_tb) a.bt_hor = false;
  }
  // Redundant splits: the middle part of a ternary split is not split again
  // in the same direction by a binary split.
  if (n.mtt_depth > 0 && n.part_idx == 1) {
    if (n.parent_split == SPLIT_TT_VER) a.bt_ver = false;
    else if (n.parent_split == SPLIT_TT_HOR) a.bt_hor = false;
  }
  // Blocks larger than the maximum transform split on the long side first.
  if (n.w <= lim.max_tb && n.h > lim.max_tb) a.bt_ver = false;
  if (n.w > lim.max_tb && n.h <= lim.max_tb) a.bt_hor = false;
  return a;
}

int mode_type_condition(const CtNode &n, SplitMode split, const PartitionLimits &lim) {
  // I slice, 4:2:0: modeTypeCondition is 1 + (slice_type != I) = 1 in the second group.
  if (lim.dual_tree || n.mode_type != MODE_TYPE_ALL || n.tree != SINGLE_TREE) return 0;
  const int area = n.w * n.h;
  const bool bt = split == SPLIT_BT_HOR || split == SPLIT_BT_VER;
  const bool tt = split == SPLIT_TT_HOR || split == SPLIT_TT_VER;
  if ((area == 64 && (split == SPLIT_QT || tt)) || (area == 32 && bt)) return 1;
  if ((area == 64 && bt) || (area == 128 && tt) || (n.w == 8 && split == SPLIT_BT_VER) ||
      (n.w == 16 && split == SPLIT_TT_VER))
    return 1;
  return 0;
}

int split_children(const CtNode &n, SplitMode split, ModeType child_mode_type, TreeType child_tree,
                   const PartitionLimits &lim, CtNode out[4]) {
  CtNode base = n;
  base.mode_type = child_mode_type;
  base.tree = child_tree;
  base.parent_split = split;
  int count = 0;
  auto add = [&](int x, int y, int w, int h, int idx) {
    CtNode c = base;
    c.x = x; c.y = y; c.w = w; c.h = h; c.part_idx = idx;
    out[count++] = c;
  };
  switch (split) {
    case SPLIT_QT: {
      base.cqt_depth = n.cqt_depth + 1;
      base.mtt_depth = 0;
      base.depth_offset = 0;
      const int hw = n.w / 2, hh = n.h / 2;
      add(n.x, n.y, hw, hh, 0);
      if (n.x + hw < lim.pic_width) add(n.x + hw, n.y, hw, hh, 1);
      if (n.y + hh < lim.pic_height) add(n.x, n.y + hh, hw, hh, 2);
      if (n.x + hw < lim.pic_width && n.y + hh < lim.pic_height) add(n.x + hw, n.y + hh, hw, hh, 3);
      break;
    }
    case SPLIT_BT_VER:
      base.mtt_depth = n.mtt_depth + 1;
      base.depth_offset = n.depth_offset + (n.x + n.w > lim.pic_width ? 1 : 0);
      add(n.x, n.y, n.w / 2, n.h, 0);
      if (n.x + n.w / 2 < lim.pic_width) add(n.x + n.w / 2, n.y, n.w / 2, n.h, 1);
      break;
    case SPLIT_BT_HOR:
      base.mtt_depth = n.mtt_depth + 1;
      base.depth_offset = n.depth_offset + (n.y + n.h > lim.pic_height ? 1 : 0);
      add(n.x, n.y, n.w, n.h / 2, 0);
      if (n.y + n.h / 2 < lim.pic_height) add(n.x, n.y + n.h / 2, n.w, n.h / 2, 1);
      break;
    case SPLIT_TT_VER:
      base.mtt_depth = n.mtt_depth + 1;
      add(n.x, n.y, n.w / 4, n.h, 0);
      add(n.x + n.w / 4, n.y, n.w / 2, n.h, 1);
      add(n.x + 3 * n.w / 4, n.y, n.w / 4, n.h, 2);
      break;
    case SPLIT_TT_HOR:
      base.mtt_depth = n.mtt_depth + 1;
      add(n.x, n.y, n.w, n.h / 4, 0);
      add(n.x, n.y + n.h / 4, n.w, n.h / 2, 1);
      add(n.x, n.y + 3 * n.h / 4, n.w, n.h / 4, 2);
      break;
    default:
      break;
  }
  return count;
}

// 9.3.4.2.2, Table 133: split_cu_flag ctxInc = condL + condA + 3 * ctxSetIdx,
// ctxSetIdx from the number of allowed splits.
int split_cu_flag_ctx(const CtNode &n, const AllowedSplits &a, const SplitNeighbours &nb) {
  const int inc = int(nb.avail_l && nb.cb_height_l < n.h) + int(nb.avail_a && nb.cb_width_a < n.w);
  const int set = (int(a.bt_ver) + int(a.bt_hor) + int(a.tt_ver) + int(a.tt_hor) + 2 * int(a.qt) - 1) / 2;
  return inc + 3 * set;
}

// split_qt_flag: condL/condA on CqtDepth, ctxSetIdx = cqtDepth >= 2.
int split_qt_flag_ctx(const CtNode &n, const SplitNeighbours &nb) {
  return int(nb.avail_l && nb.cqt_depth_l > n.cqt_depth) + int(nb.avail_a && nb.cqt_depth_a > n.cqt_depth) +
         3 * int(n.cqt_depth >= 2);
}

// mtt_split_cu_vertical_flag: 4 when more vertical splits are allowed, 3 when
// more horizontal ones, else from the neighbour sizes relative to this node.
int mtt_split_cu_vertical_flag_ctx(const CtNode &n, const AllowedSplits &a, const SplitNeighbours &nb) {
  const int v = int(a.bt_ver) + int(a.tt_ver), h = int(a.bt_hor) + int(a.tt_hor);
  if (v > h) return 4;
  if (v < h) return 3;
  if (!nb.avail_a || !nb.avail_l) return 0;
  const int da = n.w / nb.cb_width_a, dl = n.h / nb.cb_height_l;
  if (da == dl) return 0;
  return da < dl ? 1 : 2;
}

int mtt_split_cu_binary_flag_ctx(const CtNode &n, int vertical_flag) {
  return 2 * vertical_flag + (n.mtt_depth <= 1 ? 1 : 0);
}

int infer_split_cu_flag(const CtNode &n, const PartitionLimits &lim) { return node_inside(n, lim) ? 0 : 1; }

int infer_split_qt_flag(const AllowedSplits &a) {
  // 7.4.12.4: an absent split_qt_flag (with split_cu_flag = 1) is 1 when the
  // quadtree split is allowed (then no multi-type split is), else 0.
  return a.qt ? 1 : 0;
}

int infer_mtt_vertical_flag(const AllowedSplits &a) { return (a.bt_hor || a.tt_hor) ? 0 : 1; }

int infer_mtt_binary_flag(const AllowedSplits &a, int vertical_flag) {
  if (!a.bt_ver && !a.bt_hor) return 0;
  if (!a.tt_ver && !a.tt_hor) return 1;
  if (a.bt_hor && a.tt_ver) return 1 - vertical_flag;
  return vertical_flag;
}

SplitMode split_mode_from_flags(int split_qt_flag, int vertical_flag, int binary_flag) {
  if (split_qt_flag) return SPLIT_QT;
  static const SplitMode kModes[4] = {SPLIT_TT_HOR, SPLIT_BT_HOR, SPLIT_TT_VER, SPLIT_BT_VER};
  return kModes[(vertical_flag << 1) + binary_flag];
}

SplitFlags split_flags_for(const CtNode &n, const AllowedSplits &a, SplitMode split, const PartitionLimits &lim) {
  SplitFlags f;
  f.has_split_cu = a.any() && node_inside(n, lim);
  f.split_cu_flag = split != SPLIT_NONE;
  if (split == SPLIT_NONE) return f;
  f.has_qt = a.any_mtt() && a.qt;
  f.split_qt_flag = split == SPLIT_QT;
  if (split == SPLIT_QT) return f;
  f.has_vertical = (a.bt_hor || a.tt_hor) && (a.bt_ver || a.tt_ver);
  f.mtt_vertical = split_is_vertical(split);
  f.has_binary = (a.bt_ver && a.tt_ver && f.mtt_vertical) || (a.bt_hor && a.tt_hor && !f.mtt_vertical);
  f.mtt_binary = split_is_binary(split);
  return f;
}

}  // namespace pyvtm
