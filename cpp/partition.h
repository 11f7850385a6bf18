// The coding-tree partitioner (clauses 6.4.1-6.4.3, 7.3.11.4, 7.4.12.4):
// stateless functions shared by the syntax writer, the parser and the
// encoder's search. Positions and sizes are in luma samples, also for the
// chroma tree (as in the standard).
#pragma once
#include <cstdint>

#include "common.h"

namespace pyvtm {

// MttSplitMode values and the quadtree split (7.4.12.4, Table 21 order).
enum SplitMode : uint8_t {
  SPLIT_NONE = 0,
  SPLIT_TT_HOR = 1,
  SPLIT_BT_HOR = 2,
  SPLIT_TT_VER = 3,
  SPLIT_BT_VER = 4,
  SPLIT_QT = 5,
};
inline bool split_is_vertical(SplitMode s) { return s == SPLIT_BT_VER || s == SPLIT_TT_VER; }
inline bool split_is_binary(SplitMode s) { return s == SPLIT_BT_VER || s == SPLIT_BT_HOR; }
inline bool split_is_mtt(SplitMode s) { return s >= SPLIT_TT_HOR && s <= SPLIT_BT_VER; }

// modeType of 7.3.11.4.
enum ModeType : uint8_t { MODE_TYPE_ALL = 0, MODE_TYPE_INTER = 1, MODE_TYPE_INTRA = 2 };

// Partition limits of an I slice (7.4.3.4 SPS semantics), index 0 for the
// luma / single tree, 1 for the chroma tree of a dual tree. All in luma samples.
struct PartitionLimits {
  int pic_width = 0, pic_height = 0;  // pps_pic_width/height_in_luma_samples
  int log2_ctu = 7;
  int min_cb = 4;                     // MinCbSizeY
  int max_tb = 64;                    // MaxTbSizeY
  bool dual_tree = false;             // sps_qtbtt_dual_tree_intra_flag
  int min_qt[2] = {4, 4};             // MinQtSizeY, MinQtSizeC
  int max_bt[2] = {4, 4};             // MaxBtSizeY, MaxBtSizeC
  int max_tt[2] = {4, 4};             // MaxTtSizeY, MaxTtSizeC
  int max_mtt_depth[2] = {0, 0};      // MaxMttDepthY, MaxMttDepthC
};

// One node of the coding tree as coding_tree() sees it.
struct CtNode {
  int x = 0, y = 0, w = 0, h = 0;
  int cqt_depth = 0, mtt_depth = 0, depth_offset = 0, part_idx = 0;
  SplitMode parent_split = SPLIT_NONE;  // the split that produced this node
  TreeType tree = SINGLE_TREE;
  ModeType mode_type = MODE_TYPE_ALL;
};

struct AllowedSplits {
  bool qt = false, bt_ver = false, bt_hor = false, tt_ver = false, tt_hor = false;
  bool any_mtt() const { return bt_ver || bt_hor || tt_ver || tt_hor; }
  bool any() const { return qt || any_mtt(); }
  bool allows(SplitMode s) const {
    switch (s) {
      case SPLIT_QT: return qt;
      case SPLIT_BT_VER: return bt_ver;
      case SPLIT_BT_HOR: return bt_hor;
      case SPLIT_TT_VER: return tt_ver;
      case SPLIT_TT_HOR: return tt_hor;
      default: return false;
    }
  }
};

// 6.4.1 (allowSplitQt), 6.4.2 (allowSplitBtVer/Hor), 6.4.3 (allowSplitTtVer/Hor)
// for 4:2:0 and an I slice.
AllowedSplits allowed_splits(const CtNode &n, const PartitionLimits &lim);

// The children of a split, clipped at the picture edge as coding_tree()
// does (children starting outside the picture are not coded). Returns the
// number of children; the chroma CU of a local dual tree is not included.
int split_children(const CtNode &n, SplitMode split, ModeType child_mode_type, TreeType child_tree,
                   const PartitionLimits &lim, CtNode out[4]);

// 7.3.11.4 modeTypeCondition (I slice, 4:2:0): 1 when the split makes the
// children MODE_TYPE_INTRA (a local dual tree), else 0.
int mode_type_condition(const CtNode &n, SplitMode split, const PartitionLimits &lim);

// 7.4.12.4: split_cu_flag is coded when a split is allowed and the node is
// inside the picture; otherwise it is inferred (1 when the node crosses the
// picture edge).
inline bool node_inside(const CtNode &n, const PartitionLimits &lim) {
  return n.x + n.w <= lim.pic_width && n.y + n.h <= lim.pic_height;
}

// --- context derivations of the split syntax (9.3.4.2.2) --------------------
// Neighbour data of the channel's coding tree: availableL/A and the
// neighbouring CbWidth/CbHeight/CqtDepth (left at (x-1, y), above at (x, y-1)).
struct SplitNeighbours {
  bool avail_l = false, avail_a = false;
  int cb_height_l = 0, cb_width_l = 0, cqt_depth_l = 0;
  int cb_width_a = 0, cb_height_a = 0, cqt_depth_a = 0;
};
int split_cu_flag_ctx(const CtNode &n, const AllowedSplits &a, const SplitNeighbours &nb);
int split_qt_flag_ctx(const CtNode &n, const SplitNeighbours &nb);
int mtt_split_cu_vertical_flag_ctx(const CtNode &n, const AllowedSplits &a, const SplitNeighbours &nb);
int mtt_split_cu_binary_flag_ctx(const CtNode &n, int vertical_flag);

// The flags that code a split, and which of them are present (7.3.11.4).
struct SplitFlags {
  int split_cu_flag = 0, split_qt_flag = 0, mtt_vertical = 0, mtt_binary = 0;
  bool has_split_cu = false, has_qt = false, has_vertical = false, has_binary = false;
};
// Flags for `split` at node n (which must be allowed or, for SPLIT_NONE,
// possible: inside the picture).
SplitFlags split_flags_for(const CtNode &n, const AllowedSplits &a, SplitMode split, const PartitionLimits &lim);
// Inferred values of absent flags (7.4.12.4) and the resulting mode.
int infer_split_cu_flag(const CtNode &n, const PartitionLimits &lim);
int infer_split_qt_flag(const AllowedSplits &a);
int infer_mtt_vertical_flag(const AllowedSplits &a);
int infer_mtt_binary_flag(const AllowedSplits &a, int vertical_flag);
SplitMode split_mode_from_flags(int split_qt_flag, int vertical_flag, int binary_flag);

}  // namespace pyvtm
