// The coding-tree layer shared by the encoder and the decoder:
//  - the per-CTU syntax record (CtuRecord: splits, coding units, transform
//    units, coefficient levels) that the encoder's search produces and the
//    parser produces, so that "record == parse(write(record))" is testable;
//  - the per-4x4 coding maps (CodingMaps) that the neighbour-dependent
//    derivations read (split contexts, MPM list, chroma DM, CCLM enabling);
//  - ONE syntax walker (CodingTreeSyntax) for 7.3.11.4 coding_tree() ..
//    7.3.11.10 transform_unit() that either WRITES a record (encoder) or
//    READS one (decoder). Both directions share every derivation.
// Positions and sizes are in luma samples (also for the chroma tree).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "cabac.h"
#include "common.h"
#include "hooks.h"
#include "intra_pred.h"
#include "partition.h"
#include "alf.h"
#include "sao.h"
#include "syntax.h"

namespace pyvtm {


// One transform unit: luma TB (x, y, w, h); its chroma TBs are at
// (x/2, y/2) of (w/2) x (h/2) chroma samples (4:2:0).
struct TransformUnit {
  int x = 0, y = 0, w = 0, h = 0;
  uint8_t cbf[3] = {0, 0, 0};            // tu_y/cb/cr_coded_flag
  uint32_t coeff_offset[3] = {0, 0, 0};  // into CtuRecord::coeffs when cbf
  uint8_t transform_skip_flag[3] = {0, 0, 0};  // per component (7.3.11.10)
  uint8_t joint_cbcr = 0;                      // tu_joint_cbcr_residual_flag
  bool operator==(const TransformUnit &o) const;
};

// 7.4.12.12 TuCResMode: 0 without tu_joint_cbcr_residual_flag; else 1 (the
// residual coded as Cb, Cr = (CSign * Cb) >> 1), 2 (coded as Cb, Cr = CSign *
// Cb) or 3 (coded as Cr, Cb = (CSign * Cr) >> 1).
inline int tu_cres_mode(const TransformUnit &tu) {
  if (!tu.joint_cbcr) return 0;
  return tu.cbf[1] ? (tu.cbf[2] ? 2 : 1) : 3;
}
// Whether component c (1, 2) of the TU has its own residual_coding():
// tu_cb/cr_coded_flag, except Cr of a TU whose joint residual is coded as Cb.
inline bool tu_codes_residual(const TransformUnit &tu, int c) {
  return tu.cbf[c] && !(c == 2 && tu.joint_cbcr && tu.cbf[1]);
}

// One intra coding unit.
struct CodingUnit {
  int x = 0, y = 0, w = 0, h = 0;
  TreeType tree = SINGLE_TREE;
  int cqt_depth = 0;
  int luma_mode = INTRA_PLANAR;  // IntraPredModeY (tree != DUAL_TREE_CHROMA)
  int cclm_mode_flag = 0;        // chroma syntax (tree != DUAL_TREE_LUMA)
  int cclm_mode_idx = 0;
  int chroma_syntax = 4;         // intra_chroma_pred_mode when !cclm_mode_flag
  int chroma_mode = INTRA_PLANAR;  // IntraPredModeC (8.4.3), derived
  int first_tu = 0, num_tu = 0;    // into CtuRecord::tus
  int lfnst_idx = 0;               // 7.3.11.5, after the transform tree
  int mts_idx = 0;                 // 7.3.11.5 (explicit MTS), after lfnst_idx
  uint8_t bdpcm_flag[2] = {0, 0};  // intra_bdpcm_luma_flag / intra_bdpcm_chroma_flag
  uint8_t bdpcm_dir[2] = {0, 0};   // intra_bdpcm_luma_dir_flag / intra_bdpcm_chroma_dir_flag
  int intra_luma_ref_idx = 0;      // IntraLumaRefLineIdx (MRL), 0..2
  // MIP (7.3.11.5): with intra_mip_flag, luma_mode holds INTRA_PLANAR, the mode
  // the MIP CU stands for in the MPM list (8.4.2), the chroma DM (8.4.3) and
  // the LFNST set (8.7.4.1) of its own and later blocks.
  uint8_t intra_mip_flag = 0, intra_mip_transposed_flag = 0;
  int intra_mip_mode = 0;
  int isp_split = 0;  // IntraSubPartitionsSplitType: 0 ISP_NO_SPLIT, 1 ISP_HOR_SPLIT, 2 ISP_VER_SPLIT
  // Encoder only: the MPM list its search used (CNNMC), which the write pass
  // codes with instead of running the predictor again.
  bool has_mpm = false;
  int8_t mpm[6] = {0, 0, 0, 0, 0, 0};
  bool operator==(const CodingUnit &o) const;
};

// Everything coded for one CTU, in decoding order.
struct CtuRecord {
  std::vector<uint8_t> splits;  // SplitMode of every coding_tree() call, in order
  std::vector<CodingUnit> cus;
  std::vector<TransformUnit> tus;
  std::vector<int32_t> coeffs;  // TransCoeffLevel, raster per TB (stride = TB width)
  SaoCtbParams sao;             // sao( rx, ry ) when the slice uses SAO (7.3.11.3)
  AlfCtbParams alf;             // alf_ctb_flag etc. when the slice uses ALF (7.3.11.2)
  void clear() { splits.clear(); cus.clear(); tus.clear(); coeffs.clear(); sao = SaoCtbParams(); alf = AlfCtbParams(); }
  // Appends `o` (a subtree's record) relocating its TU and coefficient offsets.
  void append(const CtuRecord &o);
};

// Returns a description of the first field where a and b differ, or "" if equal.
std::string compare_records(const CtuRecord &a, const CtuRecord &b);

// IntraSubPartitionsSplitType values (7.4.12.5).
enum { ISP_NO_SPLIT = 0, ISP_HOR_SPLIT = 1, ISP_VER_SPLIT = 2 };
// 7.3.11.5: intra_subpartitions_mode_flag is present for a luma CB of w x h
// (intra_luma_ref_idx 0, sides <= MaxTbSizeY, more than MinTbSizeY^2 = 16 samples).
inline bool isp_allowed(int w, int h, int max_tb) { return w <= max_tb && h <= max_tb && w * h > 16; }
// NumIntraSubPartitions (7.4.12.5): 2 for 4x8 / 8x4, else 4 (1 without ISP).
inline int num_intra_subpartitions(int isp_split, int w, int h) {
  if (isp_split == ISP_NO_SPLIT) return 1;
  return (w == 4 && h == 8) || (w == 8 && h == 4) ? 2 : 4;
}
// The luma sub-partition k of an ISP CU (7.3.11.8): x, y, w, h.
inline void isp_subpartition(const CodingUnit &cu, int k, int &x, int &y, int &w, int &h) {
  const int n = num_intra_subpartitions(cu.isp_split, cu.w, cu.h);
  w = cu.isp_split == ISP_VER_SPLIT ? cu.w / n : cu.w;
  h = cu.isp_split == ISP_HOR_SPLIT ? cu.h / n : cu.h;
  x = cu.x + (cu.isp_split == ISP_VER_SPLIT ? k * w : 0);
  y = cu.y + (cu.isp_split == ISP_HOR_SPLIT ? k * h : 0);
}
// Whether TU sub_tu_index of the CU holds chroma TBs (7.3.11.10): every TU
// outside the luma tree, but of an ISP CU only the last sub-partition.
inline bool tu_has_chroma(const CodingUnit &cu, int sub_tu_index) {
  return cu.tree != DUAL_TREE_LUMA &&
         (cu.isp_split == ISP_NO_SPLIT || sub_tu_index == num_intra_subpartitions(cu.isp_split, cu.w, cu.h) - 1);
}
// The luma-sample area of the chroma TBs of a TU (7.3.11.10): the TU's, or
// for a single-tree ISP CU (chroma coded in the last sub-partition) the CU's.
inline void tu_chroma_area(const CodingUnit &cu, const TransformUnit &tu, int &x, int &y, int &w, int &h) {
  if (cu.isp_split != ISP_NO_SPLIT) { x = cu.x; y = cu.y; w = cu.w; h = cu.h; }
  else { x = tu.x; y = tu.y; w = tu.w; h = tu.h; }
}

// Per-4x4-luma-unit maps of one picture, per channel type (0: luma or
// single tree, 1: chroma tree), as the syntax derivations read them.
struct CodingMaps {
  int width = 0, height = 0;  // picture size (luma samples, multiple of 8)
  int stride = 0, rows = 0;   // units per row / column
  int log2_ctu = 7;
  // Per channel type: CU coded (available), CbWidth, CbHeight, CqtDepth.
  std::vector<uint8_t> coded[2], cb_w[2], cb_h[2], cqt[2];
  std::vector<uint8_t> luma_mode;  // IntraPredModeY (INTRA_PLANAR for MIP CUs)
  std::vector<uint8_t> mip_flag;   // intra_mip_flag of the luma CU
  std::vector<uint8_t> isp64;      // intra_subpartitions_mode_flag of the luma CU (read at 64x64 corners, 7.4.12.4)
  // MttSplitMode at depth 0 and 1 per 32x32 unit (for CCLM enabling, 7.4.12.4).
  int stride32 = 0;
  std::vector<uint8_t> msm[2];

  void init(int w, int h, int log2_ctu_size);
  size_t idx(int x, int y) const { return size_t(y >> 2) * stride + size_t(x >> 2); }
  bool available(int ch, int x, int y) const {
    return x >= 0 && y >= 0 && x < width && y < height && coded[ch][idx(x, y)];
  }
  // intra_mip_flag of the available luma CU covering (x, y) (0 when not available).
  bool mip_at(int x, int y) const { return available(0, x, y) && mip_flag[idx(x, y)]; }
  // Marks the CU as coded in channel type ch (and its luma mode).
  void set_cu(int ch, const CodingUnit &cu);
  void clear_area(int ch, int x, int y, int w, int h);  // marks not coded
  SplitNeighbours neighbours(int ch, int x, int y) const;
};

// Intra modes of the neighbours for 8.4.2 from the maps.
void derive_mpm_from_maps(const CodingMaps &m, int x, int y, int w, int h, int mpm[6]);
// The MPM list of a luma CU: 8.4.2 from the maps, replaced by the CNNMC
// hook's list when one is given (the same call in encoder and decoder).
void derive_cu_mpm(const CodingMaps &m, const Hooks &hooks, int x, int y, int w, int h, int mpm[6]);
// 8.4.3: IntraPredModeC from the chroma syntax and the luma mode at the CU centre.
int derive_chroma_mode(const CodingMaps &m, const CodingUnit &cu);
// 7.4.12.x CclmEnabled for the chroma CU at (x, y) (dual tree rule).
bool cclm_enabled(const CodingMaps &m, const PartitionLimits &lim, bool sps_cclm, int x, int y);

// Element writers/readers that have no other home.
void write_split_mode(CabacWriter &w, ContextSet &cs, const CtNode &n, const AllowedSplits &a, SplitMode s,
                      const SplitNeighbours &nb, const PartitionLimits &lim);
SplitMode read_split_mode(CabacReader &r, ContextSet &cs, const CtNode &n, const AllowedSplits &a,
                          const SplitNeighbours &nb, const PartitionLimits &lim);
void write_chroma_mode_syntax(CabacWriter &w, ContextSet &cs, bool cclm_allowed, int cclm_flag, int cclm_idx,
                              int chroma_syntax);
void read_chroma_mode_syntax(CabacReader &r, ContextSet &cs, bool cclm_allowed, int &cclm_flag, int &cclm_idx,
                             int &chroma_syntax);

// One coding_tree() step below a split node (7.3.11.4), shared by the walker
// and the encoder's search: records MttSplitMode on the 32x32 grid (for
// CclmEnabled), derives the children with their mode and tree types and, for a
// local dual tree, the chroma node coded after them (no split is coded there).
struct SplitStep {
  CtNode kids[4];
  int num_kids = 0;
  bool local_chroma = false;
  CtNode chroma;
};
SplitStep split_step(const CtNode &n, SplitMode s, const PartitionLimits &lim, CodingMaps &maps);

// The transform tiling of a CU (7.3.11.8, no ISP/SBT): the TUs in order.
// (cu_transform_units() gives an ISP CU its sub-partitions.)
int transform_tiling(int x, int y, int w, int h, int max_tb, int out[][4], int max_out);
// The TUs of a CU in order: transform_tiling(), or the NumIntraSubPartitions
// sub-partitions of a luma ISP CU (7.3.11.8).
int cu_transform_tiling(const CodingUnit &cu, int max_tb, int out[][4], int max_out);
// The TUs of a CU (cu_transform_tiling) with no coded residual yet.
std::vector<TransformUnit> cu_transform_units(const CodingUnit &cu, int max_tb);

// Syntax trace of the walker (element, position, value, context index),
// compiled in with -DPYVTM_SYNTAX_TRACE=ON (CMake): point g_ct_trace at a
// vector, run the encoder (write) and the decoder (read), and the first
// entry where the two traces differ is the first diverging element.
struct CtTraceEntry {
  const char *element;
  int x, y, value, ctx;
  bool operator==(const CtTraceEntry &o) const {
    return std::string(element) == o.element && x == o.x && y == o.y && value == o.value && ctx == o.ctx;
  }
};
extern thread_local std::vector<CtTraceEntry> *g_ct_trace;
#ifdef PYVTM_SYNTAX_TRACE
#define PYVTM_CT_TRACE(elem, x, y, value, ctx) \
  do { if (g_ct_trace) g_ct_trace->push_back({elem, x, y, int(value), int(ctx)}); } while (0)
#else
#define PYVTM_CT_TRACE(elem, x, y, value, ctx) do { } while (0)
#endif

// Residual tools of the SPS / slice header the walker needs (transform skip
// and BDPCM; 7.3.2.4, 7.3.7.1).
struct TsTools {
  bool transform_skip = false;               // sps_transform_skip_enabled_flag
  int log2_max_ts = 2;                       // Log2(MaxTsSize)
  bool bdpcm = false;                        // sps_bdpcm_enabled_flag
  bool ts_residual_coding_disabled = false;  // sh_ts_residual_coding_disabled_flag
  int max_ts() const { return 1 << log2_max_ts; }
  // 7.3.11.5: intra_bdpcm_{luma,chroma}_flag present for a CB of w x h samples of the channel.
  bool bdpcm_allowed(int w, int h) const { return bdpcm && w <= max_ts() && h <= max_ts(); }
  // 7.3.11.10: transform_skip_flag present for a TB of w x h samples (no ISP / SBT), BdpcmFlag 0.
  bool ts_flag_present(int w, int h) const { return transform_skip && w <= max_ts() && h <= max_ts(); }
};

// The syntax walker: one CTU at a time. In write mode it consumes a record
// (produced by the search) and emits bins; in read mode it fills a record.
class CodingTreeSyntax {
 public:
  CodingTreeSyntax(const PartitionLimits &lim, bool sps_cclm, CodingMaps &maps, ContextSet &cs, const Hooks &hooks)
      : lim_(lim), cclm_(sps_cclm), maps_(maps), cs_(cs), hooks_(hooks) {}
  void set_ts_tools(const TsTools &t) { ts_ = t; }
  bool joint_cbcr = false;  // sps_joint_cbcr_enabled_flag
  bool mrl = false;         // sps_mrl_enabled_flag
  bool mip = false;         // sps_mip_enabled_flag
  bool isp = false;         // sps_isp_enabled_flag
  // SPS switches of MTS / LFNST (syntax.h); default all off.
  void set_transform_tools(const TransformTools &t) { tools_ = t; }
  void write_ctu(CabacWriter &w, int ctu_x, int ctu_y, const CtuRecord &rec);
  void read_ctu(CabacReader &r, int ctu_x, int ctu_y, CtuRecord &rec);
  // SAO syntax at the head of each CTU (sh_sao_luma_used_flag / _chroma_).
  void set_sao(SaoSliceFlags f, int bit_depth);
  // Slice switches of residual_coding() (sh_dep_quant_used_flag, sh_sign_data_hiding_used_flag).
  void set_residual_params(const ResidualCodingParams &p) { rc_params_ = p; }
  // ALF syntax after sao() (sh_alf_enabled_flag and the APS sizes).
  void set_alf(const AlfCtuSyntax &s);

 private:
  void ctu(int x0, int y0);
  void sao(int x0, int y0);
  void alf(int x0, int y0);
  void dual_tree_implicit_qt_split(int x0, int y0, int size, int cqt_depth);
  void coding_tree(const CtNode &n);
  void coding_unit(const CtNode &n);
  void transform_unit(CodingUnit &cu, int x, int y, int w, int h, int sub_tu_index = 0);
  void residual(const CodingUnit &cu, TransformUnit &tu, int c, int log2w, int log2h);
  void transform_tool_indices(CodingUnit &cu);

  const PartitionLimits &lim_;
  bool cclm_;
  CodingMaps &maps_;
  ContextSet &cs_;
  Hooks hooks_;
  TsTools ts_;
  CabacWriter *w_ = nullptr;
  CabacReader *r_ = nullptr;
  const CtuRecord *in_ = nullptr;
  CtuRecord *out_ = nullptr;
  size_t next_split_ = 0, next_cu_ = 0, next_tu_ = 0;
  SaoSliceFlags sao_;
  int sao_bit_depth_ = 10;
  std::vector<SaoCtbParams> sao_grid_;  // the CTUs' SAO parameters so far (merge sources)
  ResidualCodingParams rc_params_;
  TransformTools tools_;
  CuResidualState res_;  // of the current CU, for lfnst_idx / mts_idx
  bool infer_tu_cbf_luma_ = true;  // InferTuCbfLuma (ISP, 7.3.11.10)
  int prev_tu_cbf_y_ = 0;          // tu_y_coded_flag of the previous sub-partition (ctxInc, 9.3.4.2)
  AlfCtuSyntax alf_;
  std::vector<AlfCtbParams> alf_grid_;  // the CTUs' ALF parameters so far (context neighbours)
};

}  // namespace pyvtm
