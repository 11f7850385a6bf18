// Picture encoder, in three passes over the picture:
//  1. search: per CTU, a rate-distortion search over the coding tree
//     (quadtree + multi-type tree, dual tree below 64x64) and the intra
//     modes (luma, chroma, CCLM) fills one CtuRecord (coding_tree.h) and
//     the reconstruction;
//  2. the picture-level filters (deblocking, the CNN in-loop filter hook)
//     run on the whole reconstruction;
//  3. the slice is written from the records by the coding-tree walker that
//     the parser reads with (CodingTreeSyntax).
// The search shares every derivation with the walker: allowed splits and
// children (partition.h), neighbour maps, MPM list, chroma DM and CclmEnabled
// (coding_tree.h), prediction and reconstruction (recon.h).
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <stdexcept>
#include <unordered_map>

#include "api.h"
#include "bitstream.h"
#include "cabac.h"
#include "cnn_tools.h"
#include "codec_internal.h"
#include "coding_tree.h"
#include "common.h"
#include "deblocking.h"
#include "derive.h"
#include "dsp.h"
#include "intra_pred.h"
#include "mip.h"
#include "param_sets.h"
#include "partition.h"
#include "quant.h"
#include "dep_quant.h"
#include "rdoq.h"
#include "recon.h"
#include "alf.h"
#include "lmcs.h"
#include "sao.h"
#include "sei.h"
#include "syntax.h"
#include "tables.h"
#include "transform.h"
#include "transform_tools.h"

namespace pyvtm {

thread_local EncoderTestKnobs g_encoder_test_knobs;
thread_local EncoderSearchCounters g_encoder_search_counters;

namespace {

constexpr int kBitDepth = 10;
constexpr int kQpBdOffset = 6 * (kBitDepth - 8);
constexpr double kInf = std::numeric_limits<double>::max();
// pps_joint_cbcr_qp_offset_value with joint Cb-Cr coding (the reference
// encoder's CbCrQpOffset default): Qp'CbCr of TuCResMode 2 TUs.
constexpr int kJointCbCrQpOffset = -1;
// Deblocking-aware decisions (EncoderConfig::deblock_aware): the luma
// slice_beta_offset_div2 / slice_tc_offset_div2 the search models (chroma: 0).
// Kodak reference pictures at medium, against VTM, BD-rate Y / U / V / YUV /
// RGB (pairs of runs): without +4.69 / -1.99 / -1.76 / +3.34 / +2.77%; luma
// (3, -3) +4.61 / -3.12 / -3.32 / +3.01 / +2.42%; luma (0, 0) +4.78 / -2.29 /
// -4.33 / +3.09 / +2.41%; luma (3, -3) and chroma (2, 0) +4.67 / -3.04 / -3.17
// / +3.07 / +2.46%; luma only, (0, 0): +4.66 / ... / +2.81%, (3, -3): +4.60 /
// ... / +2.65%; chroma only +4.83 / -3.38 / -3.32 / +3.12 / +2.39%. With
// luma (3, -3): fast +12.01 / ... / +7.82 / +6.50% -> +12.09 / ... / +7.54 /
// +6.12% for 1.03x the time (luma lost: off at fast); slow on kodim05 +2.40
// / -13.80 / -12.88 / -0.65 / -2.38% -> +2.33 / -15.93 / -14.30 / -1.05 /
// -2.80%, the same time.
constexpr int kEdoLumaBetaOffsetDiv2 = 3, kEdoLumaTcOffsetDiv2 = -3;
// Range of the PPS deblocking offsets the encoder tries (deblock_choose_offsets; 3 and 5 measured the same).
constexpr int kDeblockOffsetRange = 3;

double bits_of(const CabacWriter &e) { return double(e.frac_bits()) / (1 << kFracBitsShift); }

// Search effort of a speed preset (EncoderConfig::preset).
struct SearchEffort {
  int max_mtt_depth;    // deepest multi-type split the search tries (luma / single tree)
  int max_mtt_depth_c;  // the same in the chroma tree
  bool tt_always;     // ternary splits tried everywhere (else only after the same-direction binary split won)
  int luma_rd;        // luma modes kept for full RD after the SATD stages
  int chroma_rd;      // chroma modes kept for full RD
  int angular_step;   // first-stage angular mode spacing of the SATD search
  bool explicit_mts;  // explicit MTS (mts_idx search) rather than implicit MTS, when MTS is on
  double mts_margin;  // mts_idx 2..4 skipped when mts_idx 1 costs more than (1 + margin) x the best (< 0: never)
  double lfnst_margin;  // lfnst_idx 2 skipped when lfnst_idx 1 costs more than (1 + margin) x the best (< 0: never)
  // MRL (with EncoderConfig::mrl): at most mrl_rd (reference line, MPM)
  // candidates join the full RD, those whose SATD cost is below
  // (1 + mrl_margin) x that of the last line-0 mode kept for RD; the SATD
  // stage tries the MPMs whose line-0 cost is within (1 + mrl_satd_margin)
  // of the best line-0 cost (< 0: all five).
  int mrl_rd;
  double mrl_margin;
  double mrl_satd_margin;
  int mip_rd = 1;           // MIP modes (best by SATD) at most added to the full-RD luma candidates
  double mip_margin = 0.0;  // ... when their SATD cost is within (1 + margin) x the last regular RD candidate's
  // Luma lfnst_idx 1 and 2 are tried on this many of the best full-RD
  // candidates (plain, MIP or MRL, by their lfnst_idx 0 cost).
  int lfnst_modes = 1;
  // The first mpm_rd MPMs of the CU (intra_luma_mpm_idx order) join the
  // full-RD luma candidates, and the others that are among the mpm_top best
  // regular modes of the SATD stage (0: none).
  int mpm_rd = 2;
  int mpm_top = 0;
  // With dependent quantisation: the rate of a TB in the search is the DQ
  // trellis's own estimate (contexts as at the TB's start; the residual
  // bins of the TBs chosen then adapt the contexts), not a second pass of
  // the residual writer over its levels.
  bool trellis_rate = false;
  int isp_modes = 1;        // with ISP: the best plain modes tried with both splits ...
  double isp_margin = 0.1;  // ... those costing at most (1 + margin) x the best plain mode
  // Split pruning (search_tree). All off: every split the depths allow.
  // qt_prunes_mtt: no binary / ternary split of a node whose quad split
  // chose a further quad split in some child (the area wants smaller CUs).
  bool qt_prunes_mtt = false;
  // split_gain: a split is not tried when even a content cost of best /
  // split_gain plus its split flags and one bit per child could not beat the
  // best cost so far (cheap, well-predicted nodes; 0: off).
  double split_gain = 0.0;
  // grad_ratio: a square node at multi-type depth 0 whose summed horizontal
  // sample differences exceed grad_ratio x the vertical ones (and
  // grad_ratio / sqrt(2) x both diagonal ones) tries no horizontal
  // multi-type split, and the reverse (0: off).
  double grad_ratio = 0.0;
  // With !tt_always, TT_HOR (TT_VER) is tried only when BT_HOR (BT_VER) is
  // the best split so far, and with tt_needs_deeper only when a binary half
  // was split again in the same direction or could not be split deeper.
  bool tt_needs_deeper = false;
  // No multi-type split at depth >= cbf_stop_depth of a luma node whose
  // no-split CU coded no luma residual and won so far (0: off).
  int cbf_stop_depth = 0;
  // The deepest multi-type depth is tried only for nodes of at most this
  // many luma samples (0: any).
  int deep_mtt_max_area = 0;
  // With dependent quantisation, lambda x 2^(0.25 / 3) (the reference
  // encoders' adjustment for the quantiser's different slope).
  bool dq_lambda = false;
  // A no-split node searched again on another split path (same position,
  // size, tree and mode type) whose neighbourhood is unchanged takes the
  // result of its earlier search (PictureEncoder::search_cu_reusing).
  bool cu_reuse = false;
};

// EncoderConfig::split_search -1 at medium (the operating points: effort_for()).
// Point 5 (Kodak reference pictures, against VTM: BD-rate Y +7.06% / RGB
// +3.34% at 0.76x VVenC medium's time in the same run; point 2 +6.79% /
// +2.72% at 1.03x, slower than VVenC medium).
constexpr int kDefaultMediumSplitSearch = 5;

SearchEffort effort_for(const EncoderConfig &cfg) {
  SearchEffort e;
  switch (cfg.preset) {
    case 2: e = {3, 3, true, 4, 8, 2, true, -1.0, -1.0, 2, 0.05, -1.0}; break;
    // fast and medium start alike; medium adds dependent quantisation and
    // ISP (EncoderConfig::dep_quant / isp = -1) and its split-search
    // operating point (below; point 0 keeps this one). With MIP and MRL (train
    // crops, against the earlier medium search {2, 1, false, 2, 2, 8, false,
    // 0.05, 0.0} with neither tool): this search with MIP + MRL +1.73%
    // BD-rate Y for 0.62x the time; + DQ -0.90% for 0.79x; + DQ + ISP
    // -1.64% for 0.95x; the earlier search + MIP + MRL -1.88% for 1.27x.
    // MRL (train crops, against mrl off): fast -0.90% BD-rate Y / 1.05x time,
    // (earlier) medium -1.25% / 1.11x, slow -0.76% / 1.13x; at that medium all
    // five MPMs in the SATD stage (-1.0%) or two RD candidates (-1.2%) gave
    // no more, an SATD margin of 0.25 less (-0.8%).
    default: e = {1, 1, false, 2, 2, 4, false, 0.05, 0.02, 1, 0.0, 0.25}; break;
  }
  // ISP (train crops, the earlier medium search, isp on against off): 1 mode
  // -0.62% BD-rate Y for 1.33x the time, 2 modes -1.16% for 1.55x, 2 modes
  // with the second only when the first came within 5% of the best plain J
  // -0.91% for 1.42x; fast search, 1 mode within 10%: -1.52% for 1.37x.
  // With DQ, sub-partitions 1 or 2 samples wide or tall (8xN, 4xN CUs; the
  // trellis on their 1x16 / 2x8 subblocks) are tried as well (Kodak
  // reference pictures against VTM, medium: BD-rate Y +5.63% -> +5.18%,
  // RGB +3.63% -> +3.36%, 1.15x time; before, ISP skipped them under DQ).
  e.isp_modes = cfg.preset == 2 ? 3 : 1;
  e.isp_margin = cfg.preset == 2 ? 1e9 : 0.1;  // slow: all of its isp_modes
  // MIP: the best MIP mode(s) by SATD join the full-RD luma candidates when
  // their SATD cost is within the margin of the last regular candidate's
  // (medium, train crops: margin 0 -1.17% BD-rate Y; -0.05: -0.80%; always
  // the best one: -1.28% for more time; instead of merging MIP into the
  // regular list: -0.90%).
  // (Pre-selecting 4 MIP modes of upsampled blocks by the SAD of the reduced
  // prediction before the SATD: medium -1.04% Y / -0.75% YUV, fast -0.68% /
  // -0.77%, for about 3% less encode time: not used.)
  // LFNST on more than the best mode (Kodak reference pictures against VTM,
  // medium, against the best mode only, BD-rate Y / U / V / YUV / RGB, time
  // in pairs of runs side by side): the best 3 -0.26 / -0.32 / -0.40 / -0.31
  // / -0.48%, 1.10x; the best 2 -0.20 / ... / -0.36%; every full-RD
  // candidate -0.35 / -0.93 / +0.23 / -0.35 / -0.42%, 1.16x (the same with
  // candidates within 1.05x of the best cost -0.10 / ... / -0.14%, 1.10x).
  e.lfnst_modes = cfg.preset == 0 ? 1 : cfg.preset == 1 ? 3 : std::numeric_limits<int>::max();
  // The MPMs in full RD (Kodak reference pictures against VTM, medium with
  // ISP on narrow sub-partitions, pairs of runs side by side, BD-rate Y / U /
  // V / YUV / RGB against the first two MPMs only): all six -0.37 / -0.23 /
  // +0.17 / -0.31 / -0.39%, 1.23x time; those among the best 8 SATD modes
  // -0.22 / -0.51 / -0.05 / -0.26 / -0.34%, 1.05x. With the trellis rates
  // below, medium with the first four among the best 8: -0.13% Y / -0.18%
  // RGB for 1.03x (1.02x VVenC medium's time), so medium kept two; slow
  // takes all six. With the deblocking offsets, in which medium ran at 0.89x
  // VVenC medium's time (bench_vtm.py), medium takes the best-8 MPMs
  // (against the first two: -0.26 / +0.01 / +0.59 / -0.15 / -0.10%, 1.05x).
  e.mpm_rd = cfg.preset == 2 ? 6 : 2;
  e.mpm_top = cfg.preset == 1 ? 8 : 0;
  // Trellis rates in the medium search (same comparison, with the best-8
  // MPMs): -0.06 / +0.17 / +0.39 / +0.03 / +0.06%, 0.90x time.
  e.trellis_rate = cfg.preset == 1;
  e.mip_rd = cfg.preset == 2 ? 2 : 1;
  e.mip_margin = 0.0;
  // Dependent quantisation: lambda x 2^(0.25 / 3) as in the reference
  // encoders (train crops, medium: -0.27% BD-rate Y, -0.20% YUV, same time;
  // slow, 2 of the 4 crops: Y -0.05%, YUV +0.3%: not used there).
  if (cfg.preset == 1) {
    // Medium: the split-search operating point (EncoderConfig::split_search).
    // Train crops (bdcmp.py), BD-rate Y / YUV and encode time against point 0
    // (the earlier medium search: depth 1, no lambda adjustment; byte-
    // identical to it), the time ratio noisy (+-10%, shared machine):
    //   1: depth 1, qt_prunes_mtt, DQ lambda       -0.07% / -0.06%, 0.81x, 0.82x
    //   2: depth 2, qt_prunes_mtt, DQ lambda       -2.37% / -2.28%, 1.28x-1.45x
    //   3: depth 3 (from depth 2 only for nodes of <= 128 samples), the
    //      rules of 2 and split_gain 1.1, grad_ratio 1.2, tt_needs_deeper,
    //      cbf_stop_depth 2                         -3.17% / -2.81%, 1.60x-1.63x
    //   4: 3 with depth 3 for every node           -3.37% / -2.82%, 1.84x-2.06x
    //   5: 2 with split_gain 1.1, grad_ratio 1.2, tt_needs_deeper
    //                                              -2.16% / -1.58%, 1.11x-1.12x
    // Also measured: depth 2 alone -2.34% / -2.18% for 1.89x; depth 2 +
    // lambda + split_gain 1.1 -2.25% / -2.09% for 1.74x, + grad_ratio 1.2
    // -2.30% / -2.21% for 1.79x (neither saves much time at depth 2); depth 1
    // + qt_prunes_mtt + split_gain + grad_ratio (no lambda) +0.38% / +0.68%
    // for 0.72x; point 4 without split_gain / grad_ratio / tt_needs_deeper
    // -3.42% / -3.18% for 2.6x, point 3 likewise -3.20% / -3.05% for 2.4x;
    // point 4 with TT tried whenever the same-direction BT cost at most the
    // no-split and the other BT cost (not only when it was the best so far)
    // -3.59% / -3.04% for 1.97x (not kept: looser, yet better; worth a
    // second look); the reference encoder's chroma-tree rules (no vertical /
    // quad split of a chroma node cheaper than 0.55 bits per sample whose
    // co-located luma CU is as wide, and the reverse; halves' variances) at
    // depth 1: +0.15% / +0.16% for 0.98x.
    const int point = cfg.split_search < 0 ? kDefaultMediumSplitSearch : cfg.split_search;
    const bool depth3 = point == 3 || point == 4;
    e.dq_lambda = e.qt_prunes_mtt = point >= 1;
    if (point >= 2) e.max_mtt_depth = depth3 ? 3 : 2;
    if (point >= 3) {  // 3, 4 and 5
      e.split_gain = 1.1;
      e.grad_ratio = 1.2;
      e.tt_needs_deeper = true;
    }
    if (depth3) e.cbf_stop_depth = 2;
    if (point == 3) e.deep_mtt_max_area = 128;
    // The chroma tree of the dual tree: multi-type depth 3 and 4 chroma modes
    // in full RD (else 1 and 2). Kodak reference pictures against VTM, BD-rate
    // Y / U / V / YUV / RGB and s per picture (pairs run side by side), with
    // the identity table: depth 1, 2 modes +7.06 / -4.45 / -5.65 / +4.48 /
    // +3.34, 11.97 s; depth 2 +6.83 / -6.30 / -6.89 / +3.98 / +2.91, 12.50 s;
    // 4 modes +6.99 / -6.32 / -7.26 / +4.03 / +2.81, 12.31 s; depth 2 + 4
    // modes +6.88 / -8.77 / -8.70 / +3.53 / +2.41, 12.90 s; depth 3 + 4 modes
    // +6.81 / -9.20 / -9.30 / +3.39 / +2.20, 13.66 s; depth 2 + 8 modes +6.79
    // / -9.23 / -8.30 / +3.48 / +2.29, 13.92 s. The better chroma then pays
    // for VVenC's chroma QP table (EncoderConfig::chroma_qp_table): depth 3 +
    // 4 modes + that table +5.89 / -0.59 / -0.71 / +4.57 / +4.11, 13.87 s
    // (with VTM's table +5.39 / +8.64 / +8.58 / +5.91 / +6.11; VVenC's table
    // alone at depth 1, 2 modes: +6.28 / ... / +5.40).
    e.max_mtt_depth_c = 3;
    e.chroma_rd = 4;
  }
  // CU reuse where the luma tree goes 3 multi-type levels deep (slow, medium
  // points 3 and 4). Kodak reference pictures against VTM, pairs of runs side
  // by side: medium point 4 BD-rate Y +3.62 -> +3.52%, RGB +1.48 -> +1.34%,
  // 0.95x the time; slow on kodim05 Y +2.33 -> +2.40%, RGB -2.80 -> -2.81%,
  // 0.89x. At depth 2 (medium's default point 5) few nodes meet again
  // unchanged: +4.61 -> +4.65% Y, the same time.
  e.cu_reuse = e.max_mtt_depth >= 3;
  if (cfg.mts_explicit >= 0) e.explicit_mts = cfg.mts_explicit != 0;
  if (cfg.intra_rd_candidates > 0) e.luma_rd = cfg.intra_rd_candidates;
  return e;
}

// Transform skip / BDPCM of one TB for code_tb().
struct TbTools {
  bool ts_flag_present = false;  // transform_skip_flag is coded (7.3.11.10)
  bool try_ts = false;           // the search tries transform skip
  int bdpcm_dir = 0;             // BDPCM TB (1 horizontal, 2 vertical): transform skip inferred
  uint8_t ts = 0;                // out: transform_skip_flag of the chosen residual
};

// Largest TB side (log2) the search tries transform skip on: MaxTsSize, 32.
// (8x8 at most: -1.43 % instead of -1.56 % BD-rate on the train photos.)
constexpr int kLog2TsSearchMax = 5;
// Rounding offset of transform-skip quantisation, in 1/512 of a step.
constexpr int kTsQuantOffset = 171;
constexpr int kTsForce = 1000;
// Luma / chroma mode candidates above this value are BDPCM (+1 horizontal, +2 vertical).
constexpr int kBdpcmCand = 1000;
// Luma mode candidates mode + (refIdx << kMrlCandShift) use reference line
// refIdx = 1, 2 (MRL); below kBdpcmCand.
constexpr int kMrlCandShift = 8;
inline int cand_ref_idx(int cand) { return cand < kBdpcmCand ? cand >> kMrlCandShift : 0; }
inline int cand_mode(int cand) { return cand < kBdpcmCand ? cand & ((1 << kMrlCandShift) - 1) : cand; }
// Luma candidates from this value on are MIP: kMipCand + 2 * intra_mip_mode + intra_mip_transposed_flag.
constexpr int kMipCand = 2000;

bool joint_cbcr_sign_of(const Plane &cb, const Plane &cr);

// Saved state of one area of one coding tree: samples and maps.
struct AreaState {
  int x = 0, y = 0, w = 0, h = 0;  // luma samples, clipped to the picture
  bool luma = false, chroma = false;
  std::vector<Pel> pel[3];
  std::vector<uint8_t> map[13];
};

// Transform choices of one TB for code_tb() (defaults: DCT-II, no tool).
struct TbCodeParams {
  TbResidualMode mode;          // trTypeHor / trTypeVer, LFNST (forward here, inverse in reconstruct_tb)
  bool lfnst_zero_out = false;  // keep only what an LFNST CU may code (single-tree chroma of an LFNST CU)
  ResidualCodingInfo *info = nullptr;  // receives the TB's residual_coding() variables when it keeps a residual
  int flag_ctx = -1;          // context of the coded flag when not the plain one (ISP tu_y_coded_flag)
  bool cbf_inferred = false;  // tu_y_coded_flag inferred 1 (last ISP sub-partition): the residual must stay
};

class PictureEncoder {
 public:
  PictureEncoder(const Picture &src, const EncoderConfig &cfg, const Hooks &hooks);
  // records: when given, receives the per-CTU records the slice was written from.
  EncodeResult run(std::vector<CtuRecord> *records_out);

 private:
  // --- search ---
  double search_tree(const CtNode &n, ContextSet &ctx, CtuRecord &rec);
  double search_cu(const CtNode &n, ContextSet &ctx, CtuRecord &rec);
  double search_cu_reusing(const CtNode &n, ContextSet &ctx, CtuRecord &rec);
  void cu_neighbourhood(const CtNode &n, std::vector<int32_t> &sig) const;
  double search_luma(CodingUnit &cu, ContextSet &ctx, CtuRecord &cur);
  double search_chroma(CodingUnit &cu, ContextSet &ctx, CtuRecord &cur);
  void luma_candidates(const CodingUnit &cu, const int mpm[6], std::vector<int> &out);
  // Predicts, transforms, quantises and reconstructs one TB of component
  // comp (position and size in that component's samples) into pic_.
  // Returns cbf; dist is the SSE of the reconstruction.
  // The coded flag (tu_y/cb/cr_coded_flag, cr_ctx: tu_cb_coded_flag for Cr)
  // and the residual are estimated into ctx / e. pred: the prediction when
  // the caller has it (else computed here).
  // tc: transform skip / BDPCM of the TB (nullptr: neither).
  bool code_tb(int comp, int x, int y, int log2w, int log2h, int mode, ContextSet &ctx, CabacWriter &e, int cr_ctx,
               int32_t *levels, uint64_t &dist, const Pel *pred_in = nullptr, const TbCodeParams &tp = {},
               struct TbTools *tc = nullptr);
  // The chroma TBs of one TU (chroma samples): separate Cb / Cr coding and,
  // with joint Cb-Cr coding, its TuCResMode candidates; the cheapest stays.
  // tp: the transform parameters of the Cb and Cr TBs (LFNST, info output;
  // no joint coding where LFNST or its zero-out applies). tt (optional): the
  // transform skip / BDPCM of the Cb and Cr TBs; no joint coding in a BDPCM
  // CU or where transform skip won a TB. Returns the chroma SSE.
  uint64_t code_chroma_tu(int x, int y, int log2w, int log2h, int mode, ContextSet &ctx, CabacWriter &e,
                          int32_t *lv_cb, int32_t *lv_cr, uint8_t &cbf_cb, uint8_t &cbf_cr, uint8_t &joint,
                          const TbCodeParams tp[2], TbTools *tt = nullptr);
  TbTools tb_tools(int comp, int log2w, int log2h, int bdpcm_dir) const;
  // EncoderConfig::ts_test_bias >= kTsForce: transform skip / BDPCM chosen wherever tried.
  bool ts_forced() const { return cfg_.ts_test_bias >= kTsForce; }
  uint64_t sse(int comp, int x, int y, int w, int h, const Pel *pred) const;
  // The slice's quantiser for one transformed TB: the DQ trellis (any TB
  // size; rate_bits: its rate estimate, see dep_quant_quantize), RDOQ or
  // plain quantisation (narrow TBs), then the sign-hiding parity fix-up.
  // Returns the number of nonzero levels.
  int quantize_tb(const int32_t *coeff, int log2w, int log2h, int qp, int comp, const ContextSet &ctx, double lam,
                  int32_t *levels, double *rate_bits = nullptr) const;
  void cu_mpm(CodingUnit &cu, int mpm[6]);
  bool trellis_rate() const { return eff_.trellis_rate && rc_params_.dep_quant; }
  // With trellis_rate(): the residual bins of a chosen TB adapt ctx.
  void adapt_residual_ctx(ContextSet &ctx, const CtuRecord &cur, const TransformUnit &tu, int comp) const {
    if (!trellis_rate() || !tu.cbf[comp] || tu.transform_skip_flag[comp]) return;
    const int sh = comp ? 1 : 0;
    CabacWriter e(true);
    e.start();
    write_residual_coding(e, ctx, cur.coeffs.data() + tu.coeff_offset[comp], floor_log2(uint32_t(tu.w >> sh)),
                          floor_log2(uint32_t(tu.h >> sh)), comp, rc_params_, nullptr);
  }
  bool encoder_allows_leaf(const CtNode &n) const;
  bool encoder_allows_split(const CtNode &n, SplitMode s) const;

  void save_area(AreaState &s, const CtNode &n) const;
  void restore_area(const AreaState &s);
  void clear_area(const CtNode &n);

  void apply_cnn_in_loop_filter(CnnifSei &sei);
  // Deblocking-aware decisions (EncoderConfig::deblock_aware): the change in
  // squared error (luma + chroma_weight_ x chroma) that deblocking the edges
  // of the coding unit just searched (left, top, inner; the offsets
  // kEdoLuma*, chroma 0) makes in it and its left / top neighbours, with the
  // TB maps of the search (edo_maps_, kept in step with the best candidates).
  bool edo_on() const { return edo_maps_.stride > 0; }
  double deblock_offset(const CodingUnit &cu);

  TbEdgeMaps edo_maps_;
  DeblockParams edo_params_;

  EncoderConfig cfg_;
  Hooks hooks_;
  SearchEffort eff_;
  PartitionLimits lim_;
  bool cclm_ = false;
  TransformTools tools_;  // MTS / LFNST switches written into the SPS
  int src_w_, src_h_;
  int width_, height_;  // coded size, multiple of 8
  int log2_ctu_;
  Plane org_[3];  // the source; with LMCS, org_[0] is mapped (8.7.5.2) until the loop filters
  ReconPicture pic_;
  // LMCS: the model (its APS and derivation), whether chroma residuals are
  // scaled (ph_chroma_residual_scale_flag), the unmapped source luma, and
  // varScale of the CU whose chroma is being searched (0: none).
  bool lmcs_ = false, lmcs_chroma_ = false;
  LmcsApsData lmcs_aps_;
  LmcsModel lmcs_model_;
  Plane org_luma_;
  int chroma_scale_ = 0;
  CodingMaps maps_;
  double lambda_, sqrt_lambda_;
  double lambda_chroma_;  // lambda weighted by 2^((QpC - QpY) / 3)
  double chroma_weight_;  // lambda_ / lambda_chroma_: chroma SSE weight in the luma cost scale
  int qp_[3];             // qP of 8.7.3 (incl. QpBdOffset)
  int qp_chroma_c_;       // QpC = Qp'Cb - QpBdOffset (chroma lambda)
  ChromaQpMapping chroma_map_;  // the SPS chroma QP mapping
  int qp_c_[3];           // Qp'Cb, Qp'Cr, Qp'CbCr (8.7.1)
  bool joint_cbcr_sign_ = false;  // ph_joint_cbcr_sign_flag
  unsigned forced_joint_counter_ = 0;  // EncoderTestKnobs::force_joint_cbcr = 4
  unsigned forced_isp_counter_ = 0;    // EncoderTestKnobs::force_isp: alternates the split
  ResidualCodingParams rc_params_;  // sh_dep_quant_used_flag / sh_sign_data_hiding_used_flag
  // SATD-stage winners per luma area (cost, candidate): regular line-0
  // modes, MIP (kMipCand + ..) and MRL (mode + (refIdx << kMrlCandShift)) apart.
  struct ModeRanking {
    std::vector<std::pair<double, int>> regular, mip, mrl;
  };
  std::unordered_map<uint64_t, ModeRanking> mode_cache_;
  // SearchEffort::cu_reuse: per no-split node of the CTU (position, size,
  // tree, mode type) the result of its last search and what that search read
  // beyond the node's own samples.
  struct CuReuseEntry {
    std::vector<int32_t> neighbourhood;  // cu_neighbourhood() when it was searched
    CtuRecord rec;                       // its CU, TUs and levels
    AreaState state;                     // its samples and maps after the search
    std::vector<std::pair<int, ContextModel>> ctx_changes;  // contexts its search left changed
    double cost = 0;
  };
  std::unordered_map<uint64_t, CuReuseEntry> cu_cache_;
  std::vector<int32_t> cu_sig_;  // scratch for cu_neighbourhood()
  unsigned forced_mrl_counter_ = 0;  // EncoderTestKnobs::force_mrl
  TsTools ts_;             // transform skip / BDPCM switches written into the SPS
  int qp_prime_ts_min_ = 4;
  SplitMode last_split_ = SPLIT_NONE;  // search_tree(): the split chosen at the node it searched
};

// EncoderConfig with the preset's choices for the tools left at -1:
// dependent quantisation and ISP at medium and slow.
EncoderConfig with_preset_tools(EncoderConfig c) {
  if (c.dep_quant < 0) c.dep_quant = c.preset != 0;
  if (c.isp < 0) c.isp = c.preset != 0;
  if (c.lmcs < 0) c.lmcs = 0;
  if (c.chroma_qp_table < 0) c.chroma_qp_table = c.preset == 1 ? 2 : 0;
  if (c.deblock_aware < 0) c.deblock_aware = c.preset != 0;
  return c;
}

PictureEncoder::PictureEncoder(const Picture &src, const EncoderConfig &cfg_in, const Hooks &hooks)
    : cfg_(with_preset_tools(cfg_in)), hooks_(hooks), eff_(effort_for(cfg_in)) {
  const EncoderConfig &cfg = cfg_;
  src_w_ = src.width;
  src_h_ = src.height;
  width_ = (src.width + 7) & ~7;
  height_ = (src.height + 7) & ~7;
  log2_ctu_ = cfg.max_cu_log2;
  for (int c = 0; c < 3; c++) {
    const int w = c ? width_ / 2 : width_, h = c ? height_ / 2 : height_;
    const int sw = c ? src.chroma_width() : src.width, sh = c ? src.chroma_height() : src.height;
    org_[c].allocate(w, h);
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++)
        org_[c].at(x, y) = Pel(src.plane[c][size_t(std::min(y, sh - 1)) * sw + std::min(x, sw - 1)]);
  }
  pic_.init(width_, height_, kBitDepth, log2_ctu_);
  maps_.init(width_, height_, log2_ctu_);
  // LMCS: the search and reconstruction run on the forward-mapped luma.
  if (cfg.lmcs > 0) {
    const int forced = g_encoder_test_knobs.force_lmcs_model;
    if (forced) {
      lmcs_aps_ = lmcs_test_model(forced, g_encoder_test_knobs.lmcs_test_crs);
      lmcs_ = true;
    } else {
      lmcs_ = lmcs_choose_model(org_[0], width_, height_, kBitDepth, lmcs_aps_);
    }
    if (lmcs_) {
      lmcs_model_ = lmcs_derive(lmcs_aps_, kBitDepth);
      lmcs_chroma_ = g_encoder_test_knobs.lmcs_chroma_scaling != 0;
      org_luma_ = org_[0];
      lmcs_map_plane(org_[0], width_, height_, lmcs_model_.fwd);
    }
  }
  // Partition constraints written into the SPS (7.4.3.4), in luma samples.
  lim_.pic_width = width_;
  lim_.pic_height = height_;
  lim_.log2_ctu = log2_ctu_;
  lim_.min_cb = 4;
  lim_.max_tb = 64;
  lim_.dual_tree = cfg.dual_tree;
  for (int ch = 0; ch < 2; ch++) {
    lim_.min_qt[ch] = cfg.mtt ? 8 : 4;
    lim_.max_mtt_depth[ch] = cfg.mtt ? 3 : 0;
    lim_.max_bt[ch] = cfg.mtt ? (ch ? 64 : 32) : 4;
    lim_.max_tt[ch] = cfg.mtt ? 32 : 4;
  }
  if (!cfg.dual_tree) {
    // Not signalled: the values a decoder infers (param_sets.cpp).
    lim_.min_qt[1] = lim_.min_qt[0];
    lim_.max_mtt_depth[1] = 0;
    lim_.max_bt[1] = lim_.max_tt[1] = 4;
  }
  cclm_ = cfg.cclm;
  tools_.mts = cfg.mts;
  tools_.explicit_mts_intra = cfg.mts && eff_.explicit_mts;
  tools_.lfnst = cfg.lfnst;
  lambda_ = 0.57 * std::pow(2.0, (cfg.qp + 6.0 * (kBitDepth - 8) - 12.0) / 3.0);
  if (cfg.dep_quant && eff_.dq_lambda) lambda_ *= std::pow(2.0, 0.25 / 3.0);
  sqrt_lambda_ = std::sqrt(lambda_);
  qp_[0] = cfg.qp + kQpBdOffset;
  // 8.7.1: Qp'C = Clip3(-QpBdOffset, 63, ChromaQpTable[QpY] + offsets) + QpBdOffset
  // with the identity table, VTM's SDR table or VVenC's.
  chroma_map_ = cfg.chroma_qp_table == 1   ? vtm_sdr_chroma_qp_mapping()
                : cfg.chroma_qp_table == 2 ? vvenc_chroma_qp_mapping()
                                           : ChromaQpMapping();
  const int joint_offset = cfg.joint_cbcr ? kJointCbCrQpOffset : 0;
  for (int i = 0; i < 3; i++) {
    int table[64 + kQpBdOffset];
    if (!derive_chroma_qp_table(chroma_map_, i, kQpBdOffset, table))
      throw std::logic_error("encoder: invalid chroma QP mapping");
    qp_c_[i] = chroma_qp_prime(table, cfg.qp, i == 2 ? joint_offset : cfg.chroma_qp_offset, kQpBdOffset);
  }
  qp_[1] = qp_c_[0];
  qp_[2] = qp_c_[1];
  qp_chroma_c_ = qp_[1] - kQpBdOffset;
  // Chroma distortion weight of the reference encoder: 2^((QpY - QpC) / 3).
  lambda_chroma_ = lambda_ * std::pow(2.0, (qp_chroma_c_ - cfg.qp) / 3.0);
  ts_.transform_skip = cfg.transform_skip || cfg.bdpcm;  // BDPCM needs (and brings) transform skip
  ts_.bdpcm = cfg.bdpcm;
  ts_.log2_max_ts = 5;
  if (cfg.joint_cbcr) joint_cbcr_sign_ = joint_cbcr_sign_of(org_[1], org_[2]);
  if (g_encoder_test_knobs.joint_cbcr_sign >= 0) joint_cbcr_sign_ = g_encoder_test_knobs.joint_cbcr_sign != 0;
  // CU reuse: not with LMCS (its chroma scaling reads luma beyond the
  // neighbourhood compared), CNNMC (MPM lists from the CTU's predictor) or
  // the test knobs that force decisions by a counter.
  const EncoderTestKnobs &knobs = g_encoder_test_knobs;
  if (lmcs_ || hooks_.mpm || !knobs.cu_reuse || knobs.force_mrl || knobs.force_mip || knobs.force_isp ||
      knobs.force_joint_cbcr)
    eff_.cu_reuse = false;
  // (Not with LMCS: the search's luma is in the mapped domain, deblocking
  // acts on the unmapped one.)
  if (cfg.deblocking && cfg.deblock_aware && !lmcs_) {
    edo_maps_.init(width_, height_, cfg.qp);
    edo_maps_.set_chroma_qps(qp_c_[0] - kQpBdOffset, qp_c_[1] - kQpBdOffset, qp_c_[2] - kQpBdOffset);
    edo_params_.width = width_;
    edo_params_.height = height_;
    edo_params_.log2_ctu = log2_ctu_;
    edo_params_.bit_depth = kBitDepth;
    // The luma offsets the picture will most likely get (deblock_choose_offsets
    // picks tc -3 for luma on nearly every picture and QP, beta mostly 3),
    // chroma's 0 (its choice varies).
    edo_params_.beta_offset_div2 = kEdoLumaBetaOffsetDiv2;
    edo_params_.tc_offset_div2 = kEdoLumaTcOffsetDiv2;
    attach_edge_maps(edo_maps_, edo_params_);
  }
  chroma_weight_ = lambda_ / lambda_chroma_;
  rc_params_.dep_quant = cfg.dep_quant;
  rc_params_.sign_hiding = cfg.sign_hiding && !cfg.dep_quant;
}

// --- area state ---------------------------------------------------------------

void PictureEncoder::save_area(AreaState &s, const CtNode &n) const {
  s.x = n.x;
  s.y = n.y;
  s.w = std::min(n.w, width_ - n.x);
  s.h = std::min(n.h, height_ - n.y);
  s.luma = n.tree != DUAL_TREE_CHROMA;
  s.chroma = n.tree != DUAL_TREE_LUMA;
  for (int c = 0; c < 3; c++) {
    s.pel[c].clear();
    if (c ? !s.chroma : !s.luma) continue;
    const int sh = c ? 1 : 0, x = s.x >> sh, y = s.y >> sh, w = s.w >> sh, h = s.h >> sh;
    s.pel[c].resize(size_t(w) * h);
    for (int j = 0; j < h; j++) std::copy_n(pic_.plane[c].row(y + j) + x, w, s.pel[c].data() + size_t(j) * w);
  }
  const std::vector<uint8_t> *m[13] = {&maps_.coded[0], &maps_.cb_w[0], &maps_.cb_h[0], &maps_.cqt[0],
                                       &maps_.luma_mode, &pic_.done[0],  &maps_.mip_flag, &maps_.isp64,
                                       &maps_.coded[1],  &maps_.cb_w[1], &maps_.cb_h[1],   &maps_.cqt[1],
                                       &pic_.done[1]};
  const int x0 = s.x >> 2, y0 = s.y >> 2, x1 = (s.x + s.w) >> 2, y1 = (s.y + s.h) >> 2;
  for (int k = 0; k < 13; k++) {
    s.map[k].clear();
    if (k < 8 ? !s.luma : !s.chroma) continue;
    for (int j = y0; j < y1; j++) {
      const uint8_t *row = m[k]->data() + size_t(j) * maps_.stride;
      s.map[k].insert(s.map[k].end(), row + x0, row + x1);
    }
  }
}

void PictureEncoder::restore_area(const AreaState &s) {
  for (int c = 0; c < 3; c++) {
    if (c ? !s.chroma : !s.luma) continue;
    const int sh = c ? 1 : 0, x = s.x >> sh, y = s.y >> sh, w = s.w >> sh, h = s.h >> sh;
    for (int j = 0; j < h; j++) std::copy_n(s.pel[c].data() + size_t(j) * w, w, pic_.plane[c].row(y + j) + x);
  }
  std::vector<uint8_t> *m[13] = {&maps_.coded[0], &maps_.cb_w[0], &maps_.cb_h[0], &maps_.cqt[0],
                                 &maps_.luma_mode, &pic_.done[0],  &maps_.mip_flag, &maps_.isp64,
                                 &maps_.coded[1],  &maps_.cb_w[1], &maps_.cb_h[1],   &maps_.cqt[1],
                                 &pic_.done[1]};
  const int x0 = s.x >> 2, y0 = s.y >> 2, x1 = (s.x + s.w) >> 2, y1 = (s.y + s.h) >> 2;
  for (int k = 0; k < 13; k++) {
    if (k < 8 ? !s.luma : !s.chroma) continue;
    size_t i = 0;
    for (int j = y0; j < y1; j++) {
      std::copy_n(s.map[k].data() + i, x1 - x0, m[k]->data() + size_t(j) * maps_.stride + x0);
      i += size_t(x1 - x0);
    }
  }
}

void PictureEncoder::clear_area(const CtNode &n) {
  const int w = std::min(n.w, width_ - n.x), h = std::min(n.h, height_ - n.y);
  if (n.tree != DUAL_TREE_CHROMA) {
    maps_.clear_area(0, n.x, n.y, w, h);
    pic_.mark(0, n.x, n.y, w, h, 0);
  }
  if (n.tree != DUAL_TREE_LUMA) {
    maps_.clear_area(1, n.x, n.y, w, h);
    pic_.mark(1, n.x >> 1, n.y >> 1, w >> 1, h >> 1, 0);
  }
}

// --- block coding -------------------------------------------------------------

uint64_t PictureEncoder::sse(int comp, int x, int y, int w, int h, const Pel *pred) const {
  return enc_dsp().sse(org_[comp].row(y) + x, org_[comp].stride, pred, w, w, h);
}

// Transform skip / BDPCM of a TB of component comp (2^log2w x 2^log2h samples of it).
TbTools PictureEncoder::tb_tools(int comp, int log2w, int log2h, int bdpcm_dir) const {
  TbTools t;
  t.bdpcm_dir = bdpcm_dir;
  t.ts_flag_present = !bdpcm_dir && ts_.ts_flag_present(1 << log2w, 1 << log2h);
  t.try_ts = t.ts_flag_present && std::max(log2w, log2h) <= kLog2TsSearchMax;
  (void)comp;
  return t;
}

// ph_joint_cbcr_sign_flag as the reference encoder chooses it for a picture:
// 1 when the high-pass filtered Cb and Cr planes are negatively correlated.
bool joint_cbcr_sign_of(const Plane &cb, const Plane &cr) {
  auto hp = [](const Plane &p, int x, int y) {
    const Pel *r = p.row(y) + x, *a = r - p.stride, *b = r + p.stride;
    return 12 * r[0] - 2 * (r[-1] + r[1] + a[0] + b[0]) - (a[-1] + a[1] + b[-1] + b[1]);
  };
  int64_t sum = 0;
  for (int y = 1; y + 1 < cb.height; y++)
    for (int x = 1; x + 1 < cb.width; x++) sum += int64_t(hp(cb, x, y)) * hp(cr, x, y);
  return sum < 0;
}

// The joint residual of TuCResMode m from the Cb and Cr residuals (the
// reference encoder's least-squares choice for the 8.7.2 reconstruction
// rule), and the squared error of that reconstruction (before quantisation).
int64_t joint_cbcr_residual(const int32_t *res_cb, const int32_t *res_cr, int n, int m, int c_sign, int32_t *res_j) {
  int64_t d = 0;
  for (int i = 0; i < n; i++) {
    const int cb = res_cb[i], cr = res_cr[i];
    int j, rcb, rcr;
    if (m == 1) { j = (4 * cb + 2 * c_sign * cr) / 5; rcb = j; rcr = (c_sign * j) >> 1; }
    else if (m == 2) { j = (cb + c_sign * cr) / 2; rcb = j; rcr = c_sign * j; }
    else { j = (4 * cr + 2 * c_sign * cb) / 5; rcr = j; rcb = (c_sign * j) >> 1; }
    res_j[i] = j;
    d += int64_t(cb - rcb) * (cb - rcb) + int64_t(cr - rcr) * (cr - rcr);
  }
  return d;
}

int PictureEncoder::quantize_tb(const int32_t *coeff, int log2w, int log2h, int qp, int comp, const ContextSet &ctx,
                                double lam, int32_t *levels, double *rate_bits) const {
  if (rc_params_.dep_quant)
    return dep_quant_quantize(coeff, log2w, log2h, qp, comp, kBitDepth, ctx, lam, levels, rate_bits);
  if (log2w < 2 || log2h < 2) {
    // Narrow ISP TBs (1xN, 2xN, Nx1, Nx2) without DQ: plain quantisation
    // (RDOQ works on 4x4 subblocks), then the sign-hiding parity fix-up.
    const int nz = quantize(coeff, log2w, log2h, qp, kBitDepth, levels);
    if (rc_params_.sign_hiding && nz) fix_hidden_sign_parity(levels, log2w, log2h, rc_params_);
    return nz;
  }
  int nz = cfg_.rdoq ? rdoq_quantize(coeff, log2w, log2h, qp, comp, kBitDepth, ctx, lam, levels)
                     : quantize(coeff, log2w, log2h, qp, kBitDepth, levels);
  if (rc_params_.sign_hiding && nz) nz = sign_hiding_adjust(coeff, log2w, log2h, qp, kBitDepth, lam, levels);
  return nz;
}

// Zeroes the coefficients a TB of a CU with lfnst_idx != 0 may not code
// (LfnstZeroOutSigCoeffFlag, 7.3.11.11): all but the first 4x4 subblock, and
// in 4x4 / 8x8 TBs all but the first 8 positions of its diagonal scan.
static void lfnst_zero_out(int32_t *coeff, int log2w, int log2h) {
  const int w = 1 << log2w, n = w << log2h;
  int32_t keep[16];
  const ScanPos *scan = diag_scan(2, 2);
  const int num = (log2w == log2h && log2w <= 3) ? 8 : 16;
  for (int i = 0; i < num; i++) keep[i] = coeff[scan[i].y * w + scan[i].x];
  std::fill(coeff, coeff + n, 0);
  for (int i = 0; i < num; i++) coeff[scan[i].y * w + scan[i].x] = keep[i];
}
// Codes one TB into pic_ (8.7: prediction + dequantised residual) and
// estimates its coded flag and residual_coding() bins into ctx / e. The
// residual is dropped when that is cheaper in J = D + lambda * R. The DCT-II
// path uses tp (MTS types, forward LFNST, zero-out) and quantize_tb(). With
// tc, transform skip (plain quantisation: no DQ trellis, no sign hiding;
// tp's transform types ignored) competes with the DCT-II (the cheapest of
// the three wins), or, for a BDPCM TB, is the only residual.
bool PictureEncoder::code_tb(int comp, int x, int y, int log2w, int log2h, int mode, ContextSet &ctx, CabacWriter &e,
                             int cr_ctx, int32_t *levels, uint64_t &dist, const Pel *pred_in, const TbCodeParams &tp,
                             TbTools *tc) {
  const int w = 1 << log2w, h = 1 << log2h, n = w * h;
  const int bdpcm_dir = tc ? tc->bdpcm_dir : 0;
  Pel pred_buf[64 * 64];
  const Pel *pred = pred_in;
  if (!pred) {
    predict_tb(pic_, comp, mode, x, y, log2w, log2h, pred_buf, bdpcm_dir != 0);
    pred = pred_buf;
  }
  int32_t resid[64 * 64], coeff[64 * 64];
  for (int j = 0; j < h; j++) {
    const Pel *o = org_[comp].row(y + j) + x;
    for (int i = 0; i < w; i++) resid[j * w + i] = o[i] - pred[j * w + i];
  }
  // LMCS (8.7.5.3): the chroma residual is coded divided by varScale.
  const int chroma_scale = comp && n > 4 ? chroma_scale_ : 0;
  if (chroma_scale) lmcs_unscale_chroma_residual(resid, n, chroma_scale);
  const double lam = comp ? lambda_chroma_ : lambda_;
  TbResidualMode tb_mode = tp.mode;
  tb_mode.dep_quant = rc_params_.dep_quant;
  tb_mode.chroma_scale = chroma_scale;
  const uint64_t dist_pred = sse(comp, x, y, w, h, pred);
  const int flag_ctx = tp.flag_ctx >= 0 ? tp.flag_ctx : tu_coded_flag_ctx(comp, cr_ctx, bdpcm_dir != 0);
  ContextModel &flag = ctx.m[flag_ctx];
  auto recon_sse = [&]() {
    return enc_dsp().sse(org_[comp].row(y) + x, org_[comp].stride, pic_.plane[comp].row(y) + x,
                         pic_.plane[comp].stride, w, h);
  };
  // Cost of dropping the residual (coded flag 0).
  double best_cost = kInf;
  if (!tp.cbf_inferred) {
    CabacWriter e0(true);
    e0.start();
    ContextModel f0 = flag;
    e0.encode_bin(f0, 0);
    best_cost = double(dist_pred) + lam * bits_of(e0);
  }
  int nz = 0;
  bool best_ts = false;
  ContextSet best_ctx;
  uint32_t best_bits = 0;
  uint64_t best_dist = dist_pred;
  if (!bdpcm_dir) {
    // DCT-II (or the MTS types), LFNST.
    forward_transform(resid, log2w, log2h, kBitDepth, coeff, tp.mode.tr_type_hor, tp.mode.tr_type_ver);
    if (tp.mode.lfnst_idx) forward_lfnst(coeff, log2w, log2h, tp.mode.lfnst_idx, tp.mode.lfnst_pred_mode);
    if (tp.lfnst_zero_out) lfnst_zero_out(coeff, log2w, log2h);
    // (trellis_rate(): the residual's bits are the trellis's estimate.)
    double rate = 0;
    nz = quantize_tb(coeff, log2w, log2h, qp_[comp], comp, ctx, lam, levels, trellis_rate() ? &rate : nullptr);
    if (nz) {
      reconstruct_tb(pic_, comp, x, y, log2w, log2h, pred, levels, qp_[comp], tb_mode);
      const uint64_t d = recon_sse();
      ContextSet c1 = ctx;
      CabacWriter e1(true);
      e1.start();
      if (!tp.cbf_inferred) e1.encode_bin(c1.m[flag_ctx], 1);
      if (tc && tc->ts_flag_present) write_transform_skip_flag(e1, c1, comp, 0);
      if (trellis_rate()) {
        e1.add_frac_bits(uint64_t(std::max(0.0, rate) * (1 << kFracBitsShift)));
        if (tp.info) residual_coding_info(levels, log2w, log2h, comp, *tp.info);
      } else {
        write_residual_coding(e1, c1, levels, log2w, log2h, comp, rc_params_, tp.info);
      }
      const double cost = double(d) + lam * bits_of(e1);
      if (cost < best_cost) {
        best_cost = cost;
        best_ctx = c1;
        best_bits = e1.frac_bits();
        best_dist = d;
      } else {
        nz = 0;
      }
    }
  }
  // (Trying transform skip only where the DCT-II left >= 2 luma / 4 chroma
  // levels lost 0.15 % BD-rate and saved no measurable time.)
  if (bdpcm_dir || (tc && tc->try_ts)) {
    // Transform skip (with BDPCM: the same levels, differenced along the direction).
    int32_t tl[32 * 32];
    TbResidualMode rm;
    rm.transform_skip = true;
    rm.bdpcm_dir = bdpcm_dir;
    rm.qp_prime_ts_min = qp_prime_ts_min_;
    rm.chroma_scale = chroma_scale;
    const int qp_ts = std::max(qp_[comp], qp_prime_ts_min_);
    int nzt = quantize_ts(resid, n, qp_ts, kTsQuantOffset, tl);
    const bool ts_recon = nzt != 0;
    bool ts_won = false;
    if (nzt && bdpcm_dir) {
      for (int j = h - 1; j >= 0; j--)
        for (int i = w - 1; i >= 0; i--) {
          const int k = j * w + i;
          if (bdpcm_dir == 1 ? i > 0 : j > 0) tl[k] -= tl[bdpcm_dir == 1 ? k - 1 : k - w];
        }
    }
    uint64_t d = 0;
    if (nzt) {
      reconstruct_tb(pic_, comp, x, y, log2w, log2h, pred, tl, qp_[comp], rm);
      d = recon_sse();
      // The rate is not estimated when the distortion alone loses (exact: the rate is >= 0).
      if (!ts_forced() && double(d) - lam * cfg_.ts_test_bias >= best_cost) nzt = 0;
    }
    if (nzt) {
      ContextSet c1 = ctx;
      CabacWriter e1(true);
      e1.start();
      e1.encode_bin(c1.m[flag_ctx], 1);
      if (tc->ts_flag_present) write_transform_skip_flag(e1, c1, comp, 1);
      write_residual_ts_coding(e1, c1, tl, log2w, log2h, bdpcm_dir != 0);
      const double cost = ts_forced() ? -1.0 : double(d) + lam * (bits_of(e1) - cfg_.ts_test_bias);
      if (cost < best_cost) {
        best_cost = cost;
        best_ctx = c1;
        best_bits = e1.frac_bits();
        best_dist = d;
        best_ts = true;
        nz = nzt;
        std::copy_n(tl, n, levels);
        ts_won = true;
      }
    }
    // Back to the DCT-II result when transform skip was reconstructed and lost.
    if (ts_recon && !ts_won && nz) reconstruct_tb(pic_, comp, x, y, log2w, log2h, pred, levels, qp_[comp], tb_mode);
  }
  if (tc) tc->ts = uint8_t(nz && best_ts);
  if (nz) {
    ctx = best_ctx;
    e.add_frac_bits(best_bits);
    dist = best_dist;
  }
  if (!nz) {
    if (!tp.cbf_inferred) e.encode_bin(flag, 0);  // (inferred: the caller drops the candidate)
    std::fill(levels, levels + n, 0);
    reconstruct_tb(pic_, comp, x, y, log2w, log2h, pred, nullptr, qp_[comp]);
    dist = dist_pred;
  }
  return nz != 0;
}

uint64_t PictureEncoder::code_chroma_tu(int x, int y, int log2w, int log2h, int mode, ContextSet &ctx, CabacWriter &e,
                                        int32_t *lv_cb, int32_t *lv_cr, uint8_t &cbf_cb, uint8_t &cbf_cr,
                                        uint8_t &joint, const TbCodeParams tp[2], TbTools *tt) {
  joint = 0;
  uint64_t d_cb, d_cr;
  TbTools *tcb = tt ? &tt[0] : nullptr, *tcr = tt ? &tt[1] : nullptr;
  if (!cfg_.joint_cbcr || tp[0].mode.lfnst_idx || tp[1].mode.lfnst_idx || tp[0].lfnst_zero_out ||
      tp[1].lfnst_zero_out || (tt && (tt[0].bdpcm_dir || tt[1].bdpcm_dir))) {
    cbf_cb = code_tb(1, x, y, log2w, log2h, mode, ctx, e, 0, lv_cb, d_cb, nullptr, tp[0], tcb);
    cbf_cr = code_tb(2, x, y, log2w, log2h, mode, ctx, e, cbf_cb, lv_cr, d_cr, nullptr, tp[1], tcr);
    return d_cb + d_cr;
  }
  const int w = 1 << log2w, h = 1 << log2h, n = w * h;
  Pel pred[2][32 * 32];
  for (int k = 0; k < 2; k++) predict_tb(pic_, 1 + k, mode, x, y, log2w, log2h, pred[k]);
  // Separate coding; tu_joint_cbcr_residual_flag = 0 when a TB is coded.
  ContextSet c_sep = ctx;
  CabacWriter e_sep(true);
  e_sep.start();
  cbf_cb = code_tb(1, x, y, log2w, log2h, mode, c_sep, e_sep, 0, lv_cb, d_cb, pred[0], tp[0], tcb);
  cbf_cr = code_tb(2, x, y, log2w, log2h, mode, c_sep, e_sep, cbf_cb, lv_cr, d_cr, pred[1], tp[1], tcr);
  // (Joint candidates are DCT-II only: none once transform skip won a TB.)
  if ((!cbf_cb && !cbf_cr) || (tt && (tt[0].ts || tt[1].ts))) {
    ctx = c_sep;
    e.add_frac_bits(e_sep.frac_bits());
    return d_cb + d_cr;
  }
  write_tu_joint_cbcr_residual_flag(e_sep, c_sep, 0, cbf_cb, cbf_cr);
  double best_cost = chroma_weight_ * double(d_cb + d_cr) + lambda_ * bits_of(e_sep);
  // Candidates (the reference encoder's selection): the TuCResModes whose
  // two-from-one approximation beats coding one component alone.
  int32_t res[2][32 * 32], res_j[3][32 * 32];
  int64_t e0[2] = {0, 0};
  for (int k = 0; k < 2; k++)
    for (int j = 0; j < h; j++) {
      const Pel *o = org_[1 + k].row(y + j) + x;
      for (int i = 0; i < w; i++) {
        const int r = o[i] - pred[k][j * w + i];
        res[k][j * w + i] = r;
        e0[k] += int64_t(r) * r;
      }
    }
  const int chroma_scale = n > 4 ? chroma_scale_ : 0;  // LMCS (8.7.5.3)
  if (chroma_scale)
    for (int k = 0; k < 2; k++) lmcs_unscale_chroma_residual(res[k], n, chroma_scale);
  const int c_sign = joint_cbcr_sign_ ? -1 : 1;
  int64_t dj[3];
  for (int m = 1; m <= 3; m++) dj[m - 1] = joint_cbcr_residual(res[0], res[1], n, m, c_sign, res_j[m - 1]);
  int64_t min1 = std::min(e0[0], e0[1]), min2 = std::numeric_limits<int64_t>::max();
  int m1 = 0, m2 = 0;
  for (int m : {1, 3, 2}) {  // the reference encoder's order: Cb-coded, Cr-coded, both
    if (dj[m - 1] < min1) { m2 = m1; min2 = min1; m1 = m; min1 = dj[m - 1]; }
    else if (dj[m - 1] < min2) { m2 = m; min2 = dj[m - 1]; }
  }
  int cands[2], nc = 0;
  if (m1) cands[nc++] = m1;
  if (m2 && (min2 < (9 * min1) / 8 || (!m1 && min2 < (3 * min1) / 2))) cands[nc++] = m2;
  const int forced = g_encoder_test_knobs.force_joint_cbcr;
  if (forced) {
    cands[0] = forced <= 3 ? forced : 1 + int(forced_joint_counter_++ % 3);
    nc = 1;
    best_cost = kInf;
  }
  int best_m = 0;
  int32_t best_lv[32 * 32];
  Pel best_rec[2][32 * 32];
  ContextSet best_ctx;
  double best_bits = 0;
  uint64_t best_d = 0;
  for (int ci = 0; ci < nc; ci++) {
    const int m = cands[ci], cc = m == 3 ? 2 : 1;
    const int qp = m == 2 ? qp_c_[2] : qp_[cc];
    // The joint TB is an ordinary chroma TB of component cc: transform skip,
    // dependent quantisation and LFNST apply to it as code_tb applies them
    // (transform_skip_flag[cc], the quantiser, TbResidualMode below).
    int32_t coeff[32 * 32], lv[32 * 32];
    forward_transform(res_j[m - 1], log2w, log2h, kBitDepth, coeff);
    // The reference encoder loosens the RDOQ lambda of the joint residual (it serves two TBs).
    const double lam = lambda_chroma_ * (m == 2 ? 0.5 : 0.8);
    const int nz = quantize_tb(coeff, log2w, log2h, qp, cc, ctx, lam, lv);
    if (!nz) continue;
    TbResidualMode rm;
    rm.dep_quant = rc_params_.dep_quant;
    rm.joint_cbcr = m;
    rm.joint_cbcr_sign = joint_cbcr_sign_;
    int32_t r[32 * 32], rc[2][32 * 32];
    tb_residual(lv, log2w, log2h, qp, kBitDepth, rm, r);
    joint_cbcr_residuals(r, n, m, c_sign, rc[0], rc[1]);
    if (chroma_scale)
      for (int k = 0; k < 2; k++) lmcs_scale_chroma_residual(rc[k], n, chroma_scale, kBitDepth);
    Pel rec[2][32 * 32];
    uint64_t d = 0;
    for (int k = 0; k < 2; k++)
      for (int j = 0; j < h; j++) {
        const Pel *o = org_[1 + k].row(y + j) + x;
        for (int i = 0; i < w; i++) {
          const int v = clip3(0, (1 << kBitDepth) - 1, pred[k][j * w + i] + rc[k][j * w + i]);
          rec[k][j * w + i] = Pel(v);
          d += uint64_t((o[i] - v) * (o[i] - v));
        }
      }
    ContextSet cj = ctx;
    CabacWriter ej(true);
    ej.start();
    const int cb = m != 3, cr = m != 1;
    write_tu_cb_coded_flag(ej, cj, cb);
    write_tu_cr_coded_flag(ej, cj, cr, cb);
    write_tu_joint_cbcr_residual_flag(ej, cj, 1, cb, cr);
    if (tt && tt[cc - 1].ts_flag_present) write_transform_skip_flag(ej, cj, cc, 0);
    write_residual_coding(ej, cj, lv, log2w, log2h, cc, rc_params_);
    const double cost = chroma_weight_ * double(d) + lambda_ * bits_of(ej);
    if (cost < best_cost) {
      best_cost = cost;
      best_m = m;
      std::copy_n(lv, n, best_lv);
      for (int k = 0; k < 2; k++) std::copy_n(rec[k], n, best_rec[k]);
      best_ctx = cj;
      best_bits = double(ej.frac_bits());
      best_d = d;
    }
  }
  if (!best_m) {
    ctx = c_sep;
    e.add_frac_bits(e_sep.frac_bits());
    return d_cb + d_cr;
  }
  // The joint residual (coded as Cb for TuCResMode 1 / 2, as Cr for 3).
  joint = 1;
  cbf_cb = best_m != 3;
  cbf_cr = best_m != 1;
  std::copy_n(best_lv, n, best_m == 3 ? lv_cr : lv_cb);
  std::fill_n(best_m == 3 ? lv_cb : lv_cr, n, 0);
  for (int k = 0; k < 2; k++) {
    for (int j = 0; j < h; j++) std::copy_n(best_rec[k] + j * w, w, pic_.plane[1 + k].row(y + j) + x);
    pic_.mark(1 + k, x, y, w, h, 1);
  }
  ctx = best_ctx;
  e.add_frac_bits(uint64_t(best_bits));
  return best_d;
}

void PictureEncoder::cu_mpm(CodingUnit &cu, int mpm[6]) {
  derive_cu_mpm(maps_, hooks_, cu.x, cu.y, cu.w, cu.h, mpm);
  // With CNNMC the write pass takes the list from the record: the predictor
  // runs once per CTU.
  cu.has_mpm = hooks_.mpm != nullptr;
  for (int i = 0; i < 6; i++) cu.mpm[i] = int8_t(mpm[i]);
}

// Rough rate of a luma mode for the SATD stages: MPMs are cheap.
// Summed absolute differences between neighbouring samples of a w x h block:
// along rows (hor), down columns (ver) and along both diagonals, over the
// (w - 1) x (h - 1) sample pairs that stay inside the block.
struct BlockGradients {
  int64_t hor = 0, ver = 0, diag = 0, anti = 0;
};
static BlockGradients block_gradients(const Pel *src, ptrdiff_t stride, int w, int h) {
  BlockGradients g;
  for (int y = 0; y + 1 < h; y++) {
    const Pel *r0 = src + y * stride, *r1 = r0 + stride;
    for (int x = 0; x + 1 < w; x++) {
      g.hor += std::abs(r0[x + 1] - r0[x]);
      g.ver += std::abs(r1[x] - r0[x]);
      g.diag += std::abs(r0[x + 1] - r1[x]);
      g.anti += std::abs(r1[x + 1] - r0[x]);
    }
  }
  return g;
}

static double luma_mode_bits(int mode, const int mpm[6]) {
  for (int i = 0; i < 6; i++)
    if (mpm[i] == mode) return i == 0 ? 1.5 : 2.0 + i;
  return 6.5;
}

// SATD stages of the luma mode search (coarse angular grid, then refinement
// around the best ones; with MRL the MPMs on reference lines 1 and 2); the
// winners of an area are cached across the split candidates that produce the
// same block.
void PictureEncoder::luma_candidates(const CodingUnit &cu, const int mpm[6], std::vector<int> &out) {
  const uint64_t key = (uint64_t(cu.x) << 40) | (uint64_t(cu.y) << 16) | (uint64_t(cu.w) << 8) | uint64_t(cu.h);
  out.clear();
  auto it = mode_cache_.find(key);
  const bool mrl = intra_luma_ref_idx_coded(cfg_.mrl, cu.y, log2_ctu_);
  if (it == mode_cache_.end()) {
    ModeRanking rk;
    const int lw = floor_log2(uint32_t(cu.w)), lh = floor_log2(uint32_t(cu.h));
    IntraRefs refs;
    build_intra_refs(pic_.plane[0], pic_.availability(0), cu.x, cu.y, lw, lh, kBitDepth, refs);
    Pel pred[64 * 64];
    double cost[NUM_LUMA_MODES];
    bool done[NUM_LUMA_MODES] = {false};
    auto eval = [&](int m) {
      if (m < 0 || m >= NUM_LUMA_MODES || done[m]) return;
      done[m] = true;
      predict_intra(m, lw, lh, 0, refs, kBitDepth, pred);
      cost[m] = double(satd(org_[0].row(cu.y) + cu.x, org_[0].stride, pred, cu.w, lw, lh)) +
                sqrt_lambda_ * luma_mode_bits(m, mpm);
    };
    eval(INTRA_PLANAR);
    eval(INTRA_DC);
    for (int m = 2; m < NUM_LUMA_MODES; m += eff_.angular_step) eval(m);
    eval(66);
    for (int i = 0; i < 6; i++) eval(mpm[i]);
    // Refine around the three best angular modes.
    for (int step = eff_.angular_step / 2; step >= 1; step /= 2) {
      std::vector<std::pair<double, int>> ang;
      for (int m = 2; m < NUM_LUMA_MODES; m++)
        if (done[m]) ang.push_back({cost[m], m});
      std::sort(ang.begin(), ang.end());
      for (size_t i = 0; i < ang.size() && i < 3; i++) {
        if (ang[i].second - step >= 2) eval(ang[i].second - step);
        if (ang[i].second + step <= 66) eval(ang[i].second + step);
      }
    }
    for (int m = 0; m < NUM_LUMA_MODES; m++)
      if (done[m]) rk.regular.push_back({cost[m], m});
    std::sort(rk.regular.begin(), rk.regular.end());
    if (rk.regular.size() > 8) rk.regular.resize(8);
    if (cfg_.mip && eff_.mip_rd > 0) {
      // Every MIP mode in both transpositions; their rate beyond intra_mip_flag:
      // the transposition bin and the TB-coded mode.
      const int nm = mip_num_modes(cu.w, cu.h);
      const double mip_bits = 1.0 + std::log2(double(nm));
      for (int t = 0; t < 2; t++)
        for (int m = 0; m < nm; m++) {
          predict_mip(m, t != 0, cu.w, cu.h, refs.top + 1, refs.left + 1, kBitDepth, pred);
          rk.mip.push_back({double(satd(org_[0].row(cu.y) + cu.x, org_[0].stride, pred, cu.w, lw, lh)) +
                                sqrt_lambda_ * mip_bits,
                            kMipCand + 2 * m + t});
        }
      std::sort(rk.mip.begin(), rk.mip.end());
      if (rk.mip.size() > 4) rk.mip.resize(4);
    }
    if (mrl) {
      // MRL (intra_luma_ref_idx 1, 2): only candModeList (mpm[1..5]) is
      // allowed; skipped for MPMs far off the best line-0 cost.
      for (int r = 1; r <= 2; r++) {
        IntraRefs refs_r;
        build_intra_refs(pic_.plane[0], pic_.availability(0), cu.x, cu.y, lw, lh, kBitDepth, refs_r, r);
        for (int i = 1; i < 6; i++) {
          const int m = mpm[i];
          if (m == INTRA_PLANAR) continue;
          if (eff_.mrl_satd_margin >= 0 && cost[m] > (1.0 + eff_.mrl_satd_margin) * rk.regular[0].first) continue;
          predict_intra(m, lw, lh, 0, refs_r, kBitDepth, pred);
          // Rate: intra_luma_ref_idx bins and intra_luma_mpm_idx (TR, cMax 4).
          const double c = double(satd(org_[0].row(cu.y) + cu.x, org_[0].stride, pred, cu.w, lw, lh)) +
                           sqrt_lambda_ * (2.5 + 0.5 * r + std::min(i, 4));
          rk.mrl.push_back({c, m | (r << kMrlCandShift)});
        }
      }
      std::sort(rk.mrl.begin(), rk.mrl.end());
    }
    it = mode_cache_.emplace(key, std::move(rk)).first;
  }
  const ModeRanking &rk = it->second;
  for (int i = 0; i < eff_.luma_rd && i < int(rk.regular.size()); i++) out.push_back(rk.regular[size_t(i)].second);
  // SATD cost of the last regular mode kept for full RD: the bar of the MIP and MRL candidates.
  const double last_cost =
      rk.regular.empty() ? 0.0 : rk.regular[size_t(std::min(eff_.luma_rd, int(rk.regular.size())) - 1)].first;
  // The first mpm_rd MPMs (candModeList) not kept yet.
  for (int i = 0; i < eff_.mpm_rd; i++)
    if (std::find(out.begin(), out.end(), mpm[i]) == out.end()) out.push_back(mpm[i]);
  // The other MPMs among the best mpm_top regular modes.
  const int top = std::min(eff_.mpm_top, int(rk.regular.size()));
  for (int i = eff_.mpm_rd; i < 6 && top > 0; i++) {
    const bool ranked = std::any_of(rk.regular.begin(), rk.regular.begin() + top,
                                    [&](const std::pair<double, int> &r) { return r.second == mpm[i]; });
    if (ranked && std::find(out.begin(), out.end(), mpm[i]) == out.end()) out.push_back(mpm[i]);
  }
  // MIP candidates for full RD: the best ones whose SATD cost is within the
  // margin of the last regular RD candidate's.
  if (!rk.regular.empty())
    for (int i = 0; i < eff_.mip_rd && i < int(rk.mip.size()); i++)
      if (rk.mip[size_t(i)].first <= last_cost * (1.0 + eff_.mip_margin)) out.push_back(rk.mip[size_t(i)].second);
  if (!mrl) return;
  // Up to mrl_rd MRL candidates close to the last line-0 mode kept, whose
  // mode is in this CU's candModeList (a cached list may come from other
  // neighbours).
  int num_mrl = 0;
  for (const auto &e : rk.mrl) {
    if (num_mrl >= eff_.mrl_rd || e.first > (1.0 + eff_.mrl_margin) * last_cost) break;
    const int m = cand_mode(e.second);
    if (m == INTRA_PLANAR || std::find(mpm + 1, mpm + 6, m) == mpm + 6) continue;
    out.push_back(e.second);
    num_mrl++;
  }
}

// Luma of one CU: mode decision by full RD over the SATD winners. Creates the
// CU's TUs in cur (luma parts) and leaves the best reconstruction in pic_.
double PictureEncoder::search_luma(CodingUnit &cu, ContextSet &ctx, CtuRecord &cur) {
  int tiles[16][4];
  const int nt = transform_tiling(cu.x, cu.y, cu.w, cu.h, lim_.max_tb, tiles, 16);
  int mpm[6];
  cu_mpm(cu, mpm);
  std::vector<int> cands;
  const bool mrl_coded = intra_luma_ref_idx_coded(cfg_.mrl, cu.y, log2_ctu_);
  const bool mrl_forced = mrl_coded && g_encoder_test_knobs.force_mrl != 0;
  const bool force_mip = cfg_.mip && g_encoder_test_knobs.force_mip;
  if (force_mip) {
    // Test knob: MIP only, the mode and transposition cycling with the position and size.
    const int nm = mip_num_modes(cu.w, cu.h);
    const int k = cu.x / cu.w + 3 * (cu.y / cu.h) + 5 * floor_log2(uint32_t(cu.w)) + 7 * floor_log2(uint32_t(cu.h));
    cands = {kMipCand + 2 * (k % nm) + ((k / nm) & 1)};
  } else if (mrl_forced) {
    // Test knob: reference line 1 / 2 and intra_luma_mpm_idx 0..4 in turn.
    const unsigned k = forced_mrl_counter_++;
    int m = mpm[1 + int((k >> 1) % 5)];
    if (m == INTRA_PLANAR) m = mpm[1];
    cands = {m | (int(1 + (k & 1)) << kMrlCandShift)};
  } else if (nt == 1) {
    luma_candidates(cu, mpm, cands);
  } else {
    cands = {INTRA_PLANAR, INTRA_DC, INTRA_ANGULAR18, INTRA_ANGULAR50};
    if (std::find(cands.begin(), cands.end(), mpm[1]) == cands.end()) cands.push_back(mpm[1]);
  }
  // intra_mip_flag: its context from the left / above luma CUs (9.3.4.2.2), its mode count.
  const int mip_ctx_inc =
      intra_mip_flag_ctx_inc(cu.w, cu.h, maps_.mip_at(cu.x - 1, cu.y), maps_.mip_at(cu.x, cu.y - 1));
  const int mip_modes = mip_num_modes(cu.w, cu.h);
  const size_t area = size_t(cu.w) * cu.h;
  // One reference set per reference line for every candidate of a single-TU CU.
  IntraRefs refs, refs_mrl[2];
  bool have_refs_mrl[2] = {false, false};
  Pel pred_buf[64 * 64];
  if (nt == 1)
    build_intra_refs(pic_.plane[0], pic_.availability(0), cu.x, cu.y, floor_log2(uint32_t(cu.w)),
                     floor_log2(uint32_t(cu.h)), kBitDepth, refs);
  auto refs_of_line = [&](int r) -> const IntraRefs & {
    if (r == 0) return refs;
    if (!have_refs_mrl[r - 1]) {
      build_intra_refs(pic_.plane[0], pic_.availability(0), cu.x, cu.y, floor_log2(uint32_t(cu.w)),
                       floor_log2(uint32_t(cu.h)), kBitDepth, refs_mrl[r - 1], r);
      have_refs_mrl[r - 1] = true;
    }
    return refs_mrl[r - 1];
  };
  // BDPCM candidates (kBdpcmCand + 1: horizontal, + 2: vertical) for CUs up to MaxTsSize.
  const bool bdpcm_flag_coded = ts_.bdpcm_allowed(cu.w, cu.h);
  if (bdpcm_flag_coded && nt == 1 && !mrl_forced && !force_mip)
    for (int d = 1; d <= 2; d++) cands.push_back(kBdpcmCand + d);
  std::vector<int32_t> lv(area), best_lv;
  std::vector<Pel> best_rec;
  uint8_t cbf[16] = {0}, best_cbf[16] = {0}, tsf[16] = {0}, best_tsf[16] = {0};
  double best_cost = kInf;
  int best_mode = cands[0], best_lfnst = 0, best_mts = 0;
  ContextSet best_ctx;
  // Transform-tool candidates (lfnst_idx, mts_idx) follow the mode decision
  // on the best mode, where the CU can code them (7.3.11.5).
  const bool try_lfnst = tools_.lfnst && nt == 1 && std::min(cu.w, cu.h) >= 4;
  const bool try_mts = tools_.explicit_mts_intra && std::max(cu.w, cu.h) <= 32;
  // ISP (intra_subpartitions_mode_flag coded): tried after the regular decision.
  const bool isp_coded = cfg_.isp && isp_allowed(cu.w, cu.h, lim_.max_tb);
  int best_isp = 0;
  std::vector<std::pair<double, int>> cand_costs;  // J of the plain (no BDPCM / LFNST / MTS) candidates
  std::vector<std::pair<double, int>> rd_costs;    // J of every candidate but BDPCM with lfnst_idx = mts_idx = 0
  // J of (candidate, lfnst_idx, mts_idx); the best is kept in best_* and
  // (unless last) its reconstruction in best_rec. kInf when the indices could
  // not be coded (no residual left for them, or transform skip).
  auto eval = [&](int cand, int lfnst_idx, int mts_idx, bool last) {
    const bool mip = cand >= kMipCand;
    const int mip_mode = mip ? (cand - kMipCand) >> 1 : 0;
    const bool mip_transposed = mip && ((cand - kMipCand) & 1);
    const int bdpcm_dir = !mip && cand > kBdpcmCand ? cand - kBdpcmCand : 0;
    const int ref_idx = cand_ref_idx(cand);  // 0 for MIP and BDPCM candidates
    // (A MIP CU stands for INTRA_PLANAR in the LFNST set and for its neighbours.)
    const int m = mip         ? INTRA_PLANAR
                  : bdpcm_dir ? (bdpcm_dir == 1 ? INTRA_ANGULAR18 : INTRA_ANGULAR50)
                              : cand_mode(cand);
    CodingUnit tc = cu;
    tc.luma_mode = m;
    tc.intra_luma_ref_idx = ref_idx;
    tc.bdpcm_flag[0] = uint8_t(bdpcm_dir != 0);
    tc.bdpcm_dir[0] = uint8_t(bdpcm_dir == 2);
    tc.intra_mip_flag = uint8_t(mip);
    tc.intra_mip_transposed_flag = uint8_t(mip_transposed);
    tc.intra_mip_mode = mip_mode;
    tc.lfnst_idx = lfnst_idx;
    tc.mts_idx = mts_idx;
    ContextSet c = ctx;
    CabacWriter e(true);
    e.start();
    if (bdpcm_flag_coded) write_intra_bdpcm(e, c, 0, bdpcm_dir != 0, bdpcm_dir == 2);
    if (!bdpcm_dir) {
      if (cfg_.mip) write_intra_mip(e, c, mip_ctx_inc, mip, mip_transposed, mip_mode, mip_modes);
      if (!mip) {
        if (mrl_coded) write_intra_luma_ref_idx(e, c, ref_idx);
        if (isp_coded && !ref_idx) write_intra_subpartitions(e, c, 0);
        write_intra_luma_mode(e, c, m, mpm, ref_idx);
      }
    }
    uint64_t dist = 0;
    size_t off = 0;
    CuResidualState rs;
    for (int t = 0; t < nt; t++) {
      const int lw = floor_log2(uint32_t(tiles[t][2])), lh = floor_log2(uint32_t(tiles[t][3]));
      uint64_t d;
      const Pel *pred = nullptr;
      if (nt == 1) {
        if (mip) predict_mip(mip_mode, mip_transposed, cu.w, cu.h, refs.top + 1, refs.left + 1, kBitDepth, pred_buf);
        else if (bdpcm_dir) predict_bdpcm(bdpcm_dir, lw, lh, refs, pred_buf);
        else predict_intra(m, lw, lh, 0, refs_of_line(ref_idx), kBitDepth, pred_buf);
        pred = pred_buf;
      } else if (ref_idx) {  // (the earlier TBs of the CU are reconstructed by now)
        predict_tb(pic_, 0, m, tiles[t][0], tiles[t][1], lw, lh, pred_buf, false, ref_idx);
        pred = pred_buf;
      } else if (mip) {  // MIP per TB, from the TBs reconstructed before it
        predict_mip_tb(pic_, mip_mode, mip_transposed, tiles[t][0], tiles[t][1], lw, lh, pred_buf);
        pred = pred_buf;
      }
      ResidualCodingInfo info;
      TbCodeParams tp;
      tp.mode = tb_residual_mode(tools_, tc, 0, lw, lh, 0);
      tp.info = &info;
      TbTools tt = tb_tools(0, lw, lh, bdpcm_dir);
      tt.try_ts = tt.try_ts && !lfnst_idx && !mts_idx;  // lfnst_idx / mts_idx need a transformed TB
      cbf[t] = code_tb(0, tiles[t][0], tiles[t][1], lw, lh, m, c, e, 0, lv.data() + off, d, pred, tp, &tt);
      tsf[t] = tt.ts;
      if (cbf[t] && tsf[t]) rs.set_transform_skip(0);
      else if (cbf[t]) rs.add(info);
      dist += d;
      off += size_t(tiles[t][2]) * tiles[t][3];
      if (double(dist) >= best_cost) break;
    }
    // The indices as the walker codes them (a single tree's chroma not counted).
    const bool lfnst_coded = lfnst_idx_coded(tools_, tc, rs, lim_.max_tb);
    const bool mts_coded = mts_idx_coded(tools_, tc, rs);
    double cost = kInf;
    if ((!lfnst_idx || lfnst_coded) && (!mts_idx || mts_coded)) {
      if (lfnst_coded) write_lfnst_idx(e, c, lfnst_idx, tc.tree);
      if (mts_coded) write_mts_idx(e, c, mts_idx);
      cost = bdpcm_dir && ts_forced() ? -1.0 - ((((cu.x + cu.y) >> 2) + bdpcm_dir) & 1)
                                      : double(dist) + lambda_ * (bits_of(e) - (bdpcm_dir ? cfg_.ts_test_bias : 0) -
                                                                  (mts_idx == 4 ? g_encoder_test_knobs.mts4_test_bias : 0));
    }
    // (ISP: line 0, no MIP, no BDPCM.)
    if (!bdpcm_dir && !mip && !ref_idx && !lfnst_idx && !mts_idx) cand_costs.push_back({cost, cand});
    if (!bdpcm_dir && !lfnst_idx && !mts_idx) rd_costs.push_back({cost, cand});
    if (cost < best_cost) {
      best_cost = cost;
      best_mode = cand;
      best_isp = 0;
      best_lfnst = lfnst_idx;
      best_mts = mts_idx;
      best_ctx = c;
      std::copy_n(cbf, 16, best_cbf);
      std::copy_n(tsf, 16, best_tsf);
      if (!last) {
        best_lv = lv;
        best_rec.resize(area);
        for (int j = 0; j < cu.h; j++)
          std::copy_n(pic_.plane[0].row(cu.y + j) + cu.x, cu.w, best_rec.data() + size_t(j) * cu.w);
      } else {
        best_lv.swap(lv);
        best_rec.clear();
      }
    }
    if (!last) pic_.mark(0, cu.x, cu.y, cu.w, cu.h, 0);
    return cost;
  };
  const bool more = try_lfnst || try_mts || isp_coded;
  for (size_t ci = 0; ci < cands.size(); ci++) eval(cands[ci], 0, 0, !more && ci + 1 == cands.size());
  if (more) {
    // (candidate, lfnst_idx, mts_idx): LFNST on the best lfnst_modes
    // candidates, MTS on the best one; on the best one only where it left a
    // residual (else the indices cannot be coded; eval() gives the others
    // kInf when they cannot).
    struct Extra { int cand, lfnst_idx, mts_idx; };
    std::vector<Extra> extra;
    const int m0 = best_mode;
    if (try_lfnst) {
      std::stable_sort(rd_costs.begin(), rd_costs.end());
      int n = 1;  // (the best one counts even without a residual)
      if (best_cbf[0]) extra.insert(extra.end(), {{m0, 1, 0}, {m0, 2, 0}});
      for (const auto &rc : rd_costs) {
        if (n >= eff_.lfnst_modes) break;
        if (rc.second == m0 || rc.first >= kInf) continue;
        extra.insert(extra.end(), {{rc.second, 1, 0}, {rc.second, 2, 0}});
        n++;
      }
    }
    if (try_mts && best_cbf[0]) extra.insert(extra.end(), {{m0, 0, 1}, {m0, 0, 2}, {m0, 0, 3}, {m0, 0, 4}});
    for (size_t i = 0; i < extra.size(); i++) {
      const double j = eval(extra[i].cand, extra[i].lfnst_idx, extra[i].mts_idx, !isp_coded && i + 1 == extra.size());
      // Fast rejection: DST-VII both ways far off the best -> no other mts_idx;
      // lfnst_idx 1 far off -> no lfnst_idx 2.
      if (extra[i].mts_idx == 1 && eff_.mts_margin >= 0 && j > (1.0 + eff_.mts_margin) * best_cost) break;
      if (extra[i].lfnst_idx == 1 && eff_.lfnst_margin >= 0 && j > (1.0 + eff_.lfnst_margin) * best_cost) i++;
    }
  }
  if (isp_coded) {
    // ISP (8.4.5.1): the sub-partitions in order, each predicted from the
    // reconstruction of the ones before; tu_y_coded_flag with its ISP
    // contexts, inferred 1 in the last one when all before are 0 (a
    // candidate that leaves it without residual cannot be coded).
    const bool forced = g_encoder_test_knobs.force_isp != 0;
    auto eval_isp = [&](int m, int split, int lfnst_idx) {
      CodingUnit tc = cu;
      tc.luma_mode = m;
      tc.isp_split = split;
      tc.lfnst_idx = lfnst_idx;
      const int n = num_intra_subpartitions(split, cu.w, cu.h);
      int x, y, w, h;
      isp_subpartition(tc, 0, x, y, w, h);
      ContextSet c = ctx;
      CabacWriter e(true);
      e.start();
      if (bdpcm_flag_coded) write_intra_bdpcm(e, c, 0, 0, 0);
      if (cfg_.mip) write_intra_mip(e, c, mip_ctx_inc, 0, 0, 0, mip_modes);
      if (mrl_coded) write_intra_luma_ref_idx(e, c, 0);
      write_intra_subpartitions(e, c, split);
      write_intra_luma_mode(e, c, m, mpm, 0, 0);  // intra_luma_not_planar_flag ctxInc 0 with ISP
      uint64_t dist = 0;
      size_t off = 0;
      CuResidualState rs;
      int prev = 0;
      bool any = false, ok = true;
      Pel pred[64 * 64], pb[4 * 64];
      for (int k = 0; k < n; k++) {
        isp_subpartition(tc, k, x, y, w, h);
        const int lw = floor_log2(uint32_t(w)), lh = floor_log2(uint32_t(h));
        predict_isp_subpartition(pic_, m, cu.w, cu.h, split, k, x, y, w, h, pred, pb);
        ResidualCodingInfo info;
        TbCodeParams tp;
        tp.mode = tb_residual_mode(tools_, tc, 0, lw, lh, 0);
        tp.info = &info;
        tp.flag_ctx = tu_y_coded_flag_ctx(false, split, prev);
        tp.cbf_inferred = k == n - 1 && !any;
        uint64_t d;
        cbf[k] = code_tb(0, x, y, lw, lh, m, c, e, 0, lv.data() + off, d, pred, tp, nullptr);
        tsf[k] = 0;
        if (tp.cbf_inferred && !cbf[k]) { ok = false; break; }
        if (!tp.cbf_inferred) prev = cbf[k];
        any = any || cbf[k];
        if (cbf[k]) rs.add(info);
        dist += d;
        off += size_t(w) * h;
        // Fast rejection: the sub-partitions so far already cost more than the best.
        if (!forced && double(dist) + lambda_ * bits_of(e) >= best_cost) { ok = false; break; }
      }
      double cost = kInf;
      const bool lfnst_coded = ok && lfnst_idx_coded(tools_, tc, rs, lim_.max_tb);
      if (ok && (!lfnst_idx || lfnst_coded)) {
        if (lfnst_coded) write_lfnst_idx(e, c, lfnst_idx, tc.tree);
        cost = double(dist) + lambda_ * bits_of(e);
      } else {
        ok = false;
      }
      // (Forced: ISP replaces the best plain candidate whatever its cost; the
      // split decisions above still see the real costs.)
      if (forced ? ok : cost < best_cost) {
        best_cost = cost;
        best_mode = m;
        best_isp = split;
        best_lfnst = lfnst_idx;
        best_mts = 0;
        best_ctx = c;
        std::copy_n(cbf, 16, best_cbf);
        std::copy_n(tsf, 16, best_tsf);
        best_lv = lv;
        best_rec.resize(area);
        for (int j = 0; j < cu.h; j++)
          std::copy_n(pic_.plane[0].row(cu.y + j) + cu.x, cu.w, best_rec.data() + size_t(j) * cu.w);
      }
      pic_.mark(0, cu.x, cu.y, cu.w, cu.h, 0);
      return cost;
    };
    std::stable_sort(cand_costs.begin(), cand_costs.end());
    if (forced) {
      if (!cand_costs.empty()) {
        const int first = (forced_isp_counter_++ & 1) ? ISP_VER_SPLIT : ISP_HOR_SPLIT;
        if (eval_isp(cand_costs[0].second, first, 0) >= kInf) eval_isp(cand_costs[0].second, 3 - first, 0);
      }
    } else {
      // The best plain modes (those within isp_margin of the best one). (Also
      // skipping ISP where the best plain mode codes no residual: medium
      // -0.78% instead of -1.16% BD-rate Y for 1.59x instead of 1.75x.)
      const int num_modes = std::min<int>(int(cand_costs.size()), eff_.isp_modes);
      for (int i = 0; i < num_modes; i++) {
        if (i > 0 && cand_costs[size_t(i)].first > (1.0 + eff_.isp_margin) * cand_costs[0].first) break;
        double j = kInf;
        for (int split = ISP_HOR_SPLIT; split <= ISP_VER_SPLIT; split++)
          j = std::min(j, eval_isp(cand_costs[size_t(i)].second, split, 0));
        // Fast rejection: no further mode once both splits of this one were abandoned.
        if (j >= kInf) break;
      }
      // LFNST on the winning ISP candidate (sub-partitions of at least 4x4).
      if (best_isp && tools_.lfnst) {
        CodingUnit t = cu;
        t.isp_split = best_isp;
        int x, y, w, h;
        isp_subpartition(t, 0, x, y, w, h);
        if (std::min(w, h) >= 4) {
          const int m = best_mode, split = best_isp;
          eval_isp(m, split, 1);
          eval_isp(m, split, 2);
        }
      }
    }
  }
  if (!best_rec.empty()) {
    for (int j = 0; j < cu.h; j++)
      std::copy_n(best_rec.data() + size_t(j) * cu.w, cu.w, pic_.plane[0].row(cu.y + j) + cu.x);
    pic_.mark(0, cu.x, cu.y, cu.w, cu.h, 1);
  }
  const bool best_mip = best_mode >= kMipCand;
  const int best_dir = !best_mip && best_mode > kBdpcmCand ? best_mode - kBdpcmCand : 0;
  cu.bdpcm_flag[0] = uint8_t(best_dir != 0);
  cu.bdpcm_dir[0] = uint8_t(best_dir == 2);
  cu.intra_mip_flag = uint8_t(best_mip);
  cu.intra_mip_transposed_flag = uint8_t(best_mip && ((best_mode - kMipCand) & 1));
  cu.intra_mip_mode = best_mip ? (best_mode - kMipCand) >> 1 : 0;
  cu.lfnst_idx = best_lfnst;
  cu.mts_idx = best_mts;
  cu.isp_split = best_isp;
  cu.luma_mode = best_mip ? INTRA_PLANAR
                          : best_dir ? (best_dir == 1 ? INTRA_ANGULAR18 : INTRA_ANGULAR50) : cand_mode(best_mode);
  cu.intra_luma_ref_idx = cand_ref_idx(best_mode);
  maps_.set_cu(0, cu);
  ctx = best_ctx;
  // TUs (luma parts).
  cur.tus = cu_transform_units(cu, lim_.max_tb);
  size_t off = 0;
  for (TransformUnit &tu : cur.tus) {
    const size_t n = size_t(tu.w) * tu.h;
    tu.cbf[0] = best_cbf[&tu - cur.tus.data()];
    tu.transform_skip_flag[0] = uint8_t(tu.cbf[0] && best_tsf[&tu - cur.tus.data()]);
    if (tu.cbf[0]) {
      tu.coeff_offset[0] = uint32_t(cur.coeffs.size());
      cur.coeffs.insert(cur.coeffs.end(), best_lv.begin() + long(off), best_lv.begin() + long(off + n));
      adapt_residual_ctx(ctx, cur, tu, 0);
    }
    off += n;
  }
  // Test knob 2: a penalty growing with the square of the CU area makes every
  // split cheaper than its parent: the search goes down to the smallest CUs.
  if (force_mip && g_encoder_test_knobs.force_mip >= 2) best_cost += 1e3 * double(area) * double(area);
  return best_cost;
}

// Chroma of one CU (single tree, or a chroma-tree CU): the chroma mode
// syntax (DM, planar/vertical/horizontal/DC, CCLM) by SATD pre-selection and
// full RD. cur.tus must hold the CU's TUs.
double PictureEncoder::search_chroma(CodingUnit &cu, ContextSet &ctx, CtuRecord &cur) {
  // LMCS: varScale of the CU's chroma TBs from the mapped luma around its VPDU (8.7.5.3).
  chroma_scale_ = lmcs_chroma_ ? lmcs_chroma_var_scale(lmcs_model_, pic_.plane[0], cu.x, cu.y, width_, height_, log2_ctu_)
                               : 0;
  // A single-tree ISP CU codes its chroma TBs (the CU's) in the last sub-partition's TU.
  std::vector<TransformUnit> isp_tus;
  const bool isp_cu = cu.tree == SINGLE_TREE && cu.isp_split != ISP_NO_SPLIT;
  if (isp_cu) {
    isp_tus.resize(1);
    isp_tus[0].x = cu.x; isp_tus[0].y = cu.y; isp_tus[0].w = cu.w; isp_tus[0].h = cu.h;
  }
  std::vector<TransformUnit> &tus = isp_cu ? isp_tus : cur.tus;
  const int nt = int(tus.size());
  const bool cclm = cclm_enabled(maps_, lim_, cclm_, cu.x, cu.y);
  // Candidates: (cclm_mode_flag, cclm_mode_idx or intra_chroma_pred_mode).
  struct Cand { int cclm, v; double satd; int bdpcm = 0; };
  std::vector<Cand> cands = {{0, 4, 0}, {0, 0, 0}, {0, 1, 0}, {0, 2, 0}, {0, 3, 0}};
  if (cclm)
    for (int i = 0; i < 3; i++) cands.push_back({1, i, 0});
  const bool bdpcm_flag_coded = ts_.bdpcm_allowed(cu.w / 2, cu.h / 2);
  auto mode_of = [&](const Cand &c) {
    if (c.bdpcm) return c.bdpcm == 1 ? int(INTRA_ANGULAR18) : int(INTRA_ANGULAR50);
    CodingUnit t = cu;
    t.cclm_mode_flag = c.cclm;
    t.cclm_mode_idx = c.cclm ? c.v : 0;
    t.chroma_syntax = c.cclm ? 4 : c.v;
    return derive_chroma_mode(maps_, t);
  };
  const TransformUnit &t0 = tus[0];
  const int cx0 = t0.x >> 1, cy0 = t0.y >> 1, lw0 = floor_log2(uint32_t(t0.w)) - 1, lh0 = floor_log2(uint32_t(t0.h)) - 1;
  if (int(cands.size()) > eff_.chroma_rd) {
    Pel pred[32 * 32];
    IntraRefs refs[2];
    for (int k = 0; k < 2; k++)
      build_intra_refs(pic_.plane[1 + k], pic_.availability(1 + k), cx0, cy0, lw0, lh0, kBitDepth, refs[k]);
    for (Cand &c : cands) {
      const int m = mode_of(c);
      c.satd = 0;
      for (int comp = 1; comp <= 2; comp++) {
        if (m >= INTRA_LT_CCLM) predict_tb(pic_, comp, m, cx0, cy0, lw0, lh0, pred);
        else predict_intra(m, lw0, lh0, comp, refs[comp - 1], kBitDepth, pred);
        c.satd += double(satd(org_[comp].row(cy0) + cx0, org_[comp].stride, pred, 1 << lw0, lw0, lh0));
      }
    }
    // DM stays in the RD set; the others by SATD.
    std::stable_sort(cands.begin() + 1, cands.end(), [](const Cand &a, const Cand &b) { return a.satd < b.satd; });
    cands.resize(size_t(eff_.chroma_rd));
  }
  // (Not in a single-tree CU with lfnst_idx > 0: BDPCM TBs are transform skip.)
  if (bdpcm_flag_coded && nt == 1 && !(cu.tree == SINGLE_TREE && cu.lfnst_idx > 0))
    for (int d = 1; d <= 2; d++) cands.push_back({0, 4, 0, d});
  const int cw = cu.w >> 1, chh = cu.h >> 1;
  const size_t carea = size_t(cw) * chh;
  std::vector<int32_t> lv[2], best_lv[2];
  for (int k = 0; k < 2; k++) lv[k].assign(carea, 0);
  std::vector<Pel> best_rec[2];
  uint8_t cbf[2][16] = {{0}}, best_cbf[2][16] = {{0}}, tsf[2][16] = {{0}}, best_tsf[2][16] = {{0}};
  uint8_t joint[16] = {0}, best_joint[16] = {0};  // tu_joint_cbcr_residual_flag
  double best_cost = kInf;
  Cand best = cands[0];
  int best_lfnst = 0;
  ContextSet best_ctx;
  // A chroma-tree CU may use LFNST on its Cb / Cr TBs (one TU); tried on the best mode.
  const bool try_lfnst = tools_.lfnst && cu.tree == DUAL_TREE_CHROMA && nt == 1 && std::min(cw, chh) >= 4 &&
                         std::max(cu.w, cu.h) <= lim_.max_tb;
  const int centre_luma_mode = maps_.luma_mode[maps_.idx(cu.x + cu.w / 2, cu.y + cu.h / 2)];
  auto eval = [&](const Cand &cd, int lfnst_idx, bool last) {
    const int m = mode_of(cd);
    CodingUnit tc = cu;
    tc.chroma_mode = m;
    tc.lfnst_idx = lfnst_idx;
    // No transform skip in a CU with lfnst_idx > 0 (it could not be coded).
    const bool lfnst_on = lfnst_idx || (cu.tree == SINGLE_TREE && cu.lfnst_idx > 0);
    ContextSet c = ctx;
    CabacWriter e(true);
    e.start();
    if (bdpcm_flag_coded) write_intra_bdpcm(e, c, 1, cd.bdpcm != 0, cd.bdpcm == 2);
    if (!cd.bdpcm) write_chroma_mode_syntax(e, c, cclm, cd.cclm, cd.cclm ? cd.v : 0, cd.cclm ? 4 : cd.v);
    uint64_t dist = 0;
    size_t off = 0;
    CuResidualState rs;
    for (int t = 0; t < nt; t++) {
      const TransformUnit &tu = tus[size_t(t)];
      const int lw = floor_log2(uint32_t(tu.w)) - 1, lh = floor_log2(uint32_t(tu.h)) - 1;
      TbCodeParams tp[2];
      ResidualCodingInfo info[2];
      TbTools tt[2];
      for (int k = 0; k < 2; k++) {
        tp[k].mode = tb_residual_mode(tools_, tc, 1 + k, lw, lh, centre_luma_mode);
        tp[k].lfnst_zero_out = cu.tree == SINGLE_TREE && cu.lfnst_idx > 0;
        tp[k].info = &info[k];
        tt[k] = tb_tools(1 + k, lw, lh, cd.bdpcm);
        tt[k].try_ts = tt[k].try_ts && !lfnst_on;  // lfnst_idx needs transformed TBs
      }
      dist += code_chroma_tu(tu.x >> 1, tu.y >> 1, lw, lh, m, c, e, lv[0].data() + off, lv[1].data() + off, cbf[0][t],
                             cbf[1][t], joint[t], tp, tt);
      // (A joint TB's own info is left out: joint coding is not tried with LFNST.)
      for (int k = 0; k < 2; k++) {
        tsf[k][t] = tt[k].ts;
        if (!cbf[k][t] || joint[t]) continue;
        if (tsf[k][t]) rs.set_transform_skip(1 + k);
        else rs.add(info[k]);
      }
      off += size_t(1) << (lw + lh);
    }
    double cost = kInf;
    const bool lfnst_coded = cu.tree == DUAL_TREE_CHROMA && lfnst_idx_coded(tools_, tc, rs, lim_.max_tb);
    if (!lfnst_idx || lfnst_coded) {
      if (lfnst_coded) write_lfnst_idx(e, c, lfnst_idx, tc.tree);
      cost = cd.bdpcm && ts_forced() ? -1.0 - ((((cu.x + cu.y) >> 3) + cd.bdpcm) & 1)
                                     : chroma_weight_ * double(dist) + lambda_ * (bits_of(e) - (cd.bdpcm ? cfg_.ts_test_bias : 0));
    }
    if (cost < best_cost) {
      best_cost = cost;
      best = cd;
      best_lfnst = lfnst_idx;
      best_ctx = c;
      std::copy_n(joint, 16, best_joint);
      for (int k = 0; k < 2; k++) {
        std::copy_n(cbf[k], 16, best_cbf[k]);
        std::copy_n(tsf[k], 16, best_tsf[k]);
        best_lv[k] = lv[k];
        best_rec[k].clear();
        if (!last) {
          best_rec[k].resize(carea);
          for (int j = 0; j < chh; j++)
            std::copy_n(pic_.plane[1 + k].row((cu.y >> 1) + j) + (cu.x >> 1), cw, best_rec[k].data() + size_t(j) * cw);
        }
      }
    }
    if (!last) pic_.mark(1, cu.x >> 1, cu.y >> 1, cw, chh, 0);
  };
  for (size_t ci = 0; ci < cands.size(); ci++) eval(cands[ci], 0, !try_lfnst && ci + 1 == cands.size());
  if (try_lfnst) {
    const Cand bc = best;
    if (best_cbf[0][0] || best_cbf[1][0]) {  // else the index cannot be coded
      eval(bc, 1, false);
      eval(bc, 2, true);
    }
  }
  if (!best_rec[0].empty()) {
    for (int k = 0; k < 2; k++)
      for (int j = 0; j < chh; j++)
        std::copy_n(best_rec[k].data() + size_t(j) * cw, cw, pic_.plane[1 + k].row((cu.y >> 1) + j) + (cu.x >> 1));
    pic_.mark(1, cu.x >> 1, cu.y >> 1, cw, chh, 1);
  }
  if (cu.tree == DUAL_TREE_CHROMA) cu.lfnst_idx = best_lfnst;
  cu.cclm_mode_flag = best.cclm;
  cu.cclm_mode_idx = best.cclm ? best.v : 0;
  cu.chroma_syntax = best.cclm ? 4 : best.v;
  cu.chroma_mode = best.bdpcm ? mode_of(best) : derive_chroma_mode(maps_, cu);
  cu.bdpcm_flag[1] = uint8_t(best.bdpcm != 0);
  cu.bdpcm_dir[1] = uint8_t(best.bdpcm == 2);
  ctx = best_ctx;
  size_t off = 0;
  for (int t = 0; t < nt; t++) {
    TransformUnit &tu = tus[size_t(t)];
    const size_t n = size_t(tu.w >> 1) * (tu.h >> 1);
    tu.joint_cbcr = best_joint[t];
    for (int k = 0; k < 2; k++) tu.cbf[1 + k] = best_cbf[k][t];
    for (int k = 0; k < 2; k++) {
      tu.transform_skip_flag[1 + k] = uint8_t(tu_codes_residual(tu, 1 + k) && best_tsf[k][t]);
      if (tu_codes_residual(tu, 1 + k)) {
        tu.coeff_offset[1 + k] = uint32_t(cur.coeffs.size());
        cur.coeffs.insert(cur.coeffs.end(), best_lv[k].begin() + long(off), best_lv[k].begin() + long(off + n));
        if (!tu.joint_cbcr) adapt_residual_ctx(ctx, cur, tu, 1 + k);
      }
    }
    off += n;
  }
  if (isp_cu) {
    TransformUnit &last = cur.tus.back();
    for (int k = 1; k <= 2; k++) {
      last.cbf[k] = tus[0].cbf[k];
      last.coeff_offset[k] = tus[0].coeff_offset[k];
      last.transform_skip_flag[k] = tus[0].transform_skip_flag[k];
    }
    last.joint_cbcr = tus[0].joint_cbcr;
  }
  return best_cost;
}

// One coding unit at node n (SPLIT_NONE).
double PictureEncoder::search_cu(const CtNode &n, ContextSet &ctx, CtuRecord &rec) {
  CodingUnit cu;
  cu.x = n.x;
  cu.y = n.y;
  cu.w = n.w;
  cu.h = n.h;
  cu.tree = n.tree;
  cu.cqt_depth = n.cqt_depth;
  CtuRecord cur;
  double cost = 0;
  if (n.tree != DUAL_TREE_CHROMA) {
    cost += search_luma(cu, ctx, cur);
  } else {
    cur.tus = cu_transform_units(cu, lim_.max_tb);
  }
  if (n.tree != DUAL_TREE_LUMA) {
    if (n.tree == DUAL_TREE_CHROMA) maps_.set_cu(1, cu);
    cost += search_chroma(cu, ctx, cur);
  }
  cu.first_tu = 0;
  cu.num_tu = int(cur.tus.size());
  cur.cus.push_back(cu);
  rec.append(cur);
  return cost;
}

// What the search of no-split node n reads beyond its own area: the
// reconstructed samples (-1 where not available, 8.4.5.2.8) above it (4 rows
// from 4 samples left of it to 2 x its width + 4) and left of it (4 columns
// down to 2 x its height + 4) in each component it codes, the co-located
// luma and its surroundings for a chroma-tree CU (CCLM), the MPM list of a
// luma CU (8.4.2), the DM luma mode and CclmEnabled of a chroma one. Two
// searches of the node that see the same values predict from the same
// reference samples, so one's result reconstructs exactly as the other's
// would.
void PictureEncoder::cu_neighbourhood(const CtNode &n, std::vector<int32_t> &sig) const {
  sig.clear();
  const bool luma = n.tree != DUAL_TREE_CHROMA, chroma = n.tree != DUAL_TREE_LUMA;
  auto window = [&](int c, int x0, int y0, int x1, int y1) {
    const Plane &pl = pic_.plane[c];
    const RefAvailability av = pic_.availability(c);
    x0 = std::max(x0, 0);
    y0 = std::max(y0, 0);
    x1 = std::min(x1, pl.width);
    y1 = std::min(y1, pl.height);
    for (int y = y0; y < y1; y++)
      for (int x = x0; x < x1; x++) sig.push_back(av.available(x, y) ? int32_t(pl.row(y)[x]) : -1);
  };
  for (int c = 0; c < 3; c++) {
    if (c ? !chroma : !(luma || cclm_)) continue;
    const int sh = c ? 1 : 0, x = n.x >> sh, y = n.y >> sh, w = n.w >> sh, h = n.h >> sh;
    window(c, x - 4, y - 4, x + 2 * w + 4, y);
    window(c, x - 4, y, x, y + 2 * h + 4);
    if (c == 0 && !luma) window(0, x, y, x + w, y + h);
  }
  if (luma) {
    int mpm[6];
    derive_cu_mpm(maps_, hooks_, n.x, n.y, n.w, n.h, mpm);
    sig.insert(sig.end(), mpm, mpm + 6);
  }
  if (chroma) {
    sig.push_back(maps_.luma_mode[maps_.idx(n.x + n.w / 2, n.y + n.h / 2)]);
    sig.push_back(cclm_enabled(maps_, lim_, cclm_, n.x, n.y));
  }
}

// search_cu() with SearchEffort::cu_reuse: a node searched before in this CTU
// (another split path reaching the same block) whose neighbourhood has not
// changed takes that search's CU, levels, samples and cost (VVenC's
// BestEncInfoCache, which takes the CUs whose neighbours lie outside the
// common ancestor; here any unchanged neighbourhood); the contexts its
// search changed get the values it left them in.
double PictureEncoder::search_cu_reusing(const CtNode &n, ContextSet &ctx, CtuRecord &rec) {
  if (!eff_.cu_reuse) {
    g_encoder_search_counters.cu_searches++;
    return search_cu(n, ctx, rec);
  }
  const uint64_t key = uint64_t(n.x) | (uint64_t(n.y) << 16) | (uint64_t(floor_log2(uint32_t(n.w))) << 32) |
                       (uint64_t(floor_log2(uint32_t(n.h))) << 36) | (uint64_t(n.tree) << 40) |
                       (uint64_t(n.mode_type) << 44);
  cu_neighbourhood(n, cu_sig_);
  auto it = cu_cache_.find(key);
  if (it != cu_cache_.end() && it->second.neighbourhood == cu_sig_) {
    const CuReuseEntry &e = it->second;
    g_encoder_search_counters.cu_reuses++;
    restore_area(e.state);
    for (const auto &[i, m] : e.ctx_changes) ctx.m[i] = m;
    // The quadtree depth is the split path's (a quad split or two binary ones
    // reach the same block): only the split_cu_flag contexts of later
    // nodes read it.
    CtuRecord r = e.rec;
    for (CodingUnit &cu : r.cus) cu.cqt_depth = n.cqt_depth;
    const int x1 = std::min(n.x + n.w, width_) >> 2, y1 = std::min(n.y + n.h, height_) >> 2;
    for (int ch = 0; ch < 2; ch++) {
      if (ch ? n.tree == DUAL_TREE_LUMA : n.tree == DUAL_TREE_CHROMA) continue;
      for (int j = n.y >> 2; j < y1; j++)
        std::fill(maps_.cqt[ch].begin() + long(size_t(j) * maps_.stride) + (n.x >> 2),
                  maps_.cqt[ch].begin() + long(size_t(j) * maps_.stride) + x1, uint8_t(n.cqt_depth));
    }
    rec.append(r);
    return e.cost;
  }
  g_encoder_search_counters.cu_searches++;
  const ContextSet before = ctx;
  CuReuseEntry e;
  e.cost = search_cu(n, ctx, e.rec);
  e.neighbourhood = cu_sig_;
  save_area(e.state, n);
  for (int i = 0; i < CTX_NUM; i++)
    if (std::memcmp(&before.m[i], &ctx.m[i], sizeof(ContextModel)) != 0) e.ctx_changes.push_back({i, ctx.m[i]});
  rec.append(e.rec);
  const double cost = e.cost;
  cu_cache_[key] = std::move(e);
  return cost;
}

double PictureEncoder::deblock_offset(const CodingUnit &cu) {
  const bool luma = cu.tree != DUAL_TREE_CHROMA, chroma = cu.tree != DUAL_TREE_LUMA;
  const int x0 = cu.x, y0 = cu.y, x1 = std::min(cu.x + cu.w, width_), y1 = std::min(cu.y + cu.h, height_);
  // The samples deblocking may change: the CU and up to 7 luma (3 chroma)
  // samples left of and above it.
  const int wx = std::max(0, x0 - 8), wy = std::max(0, y0 - 8), ww = x1 - wx, wh = y1 - wy;
  static thread_local std::vector<Pel> saved[3];
  uint64_t before[3] = {0, 0, 0};
  for (int c = 0; c < 3; c++) {
    if (c ? !chroma : !luma) continue;
    const int sh = c ? 1 : 0, x = wx >> sh, y = wy >> sh, w = ww >> sh, h = wh >> sh;
    const Plane &pl = pic_.plane[c];
    saved[c].resize(size_t(w) * h);
    for (int j = 0; j < h; j++) std::copy_n(pl.row(y + j) + x, w, saved[c].data() + size_t(j) * w);
    before[c] = enc_dsp().sse(org_[c].row(y) + x, org_[c].stride, saved[c].data(), w, w, h);
  }
  deblock_units(pic_.plane, edo_params_, x0 >> 2, y0 >> 2, x1 >> 2, y1 >> 2, luma, chroma);  // (sizes: multiples of 8)
  double delta = 0;
  for (int c = 0; c < 3; c++) {
    if (c ? !chroma : !luma) continue;
    const int sh = c ? 1 : 0, x = wx >> sh, y = wy >> sh, w = ww >> sh, h = wh >> sh;
    Plane &pl = pic_.plane[c];
    const uint64_t after = enc_dsp().sse(org_[c].row(y) + x, org_[c].stride, pl.row(y) + x, pl.stride, w, h);
    delta += (c ? chroma_weight_ : 1.0) * (double(after) - double(before[c]));
    for (int j = 0; j < h; j++) std::copy_n(saved[c].data() + size_t(j) * w, w, pl.row(y + j) + x);
  }
  return delta;
}

bool PictureEncoder::encoder_allows_leaf(const CtNode &n) const {
  if (!node_inside(n, lim_)) return false;
  // Without RD split decisions every CU is 32x32 (smaller only at picture edges).
  return cfg_.rdo_split || (n.w <= 32 && n.h <= 32);
}

bool PictureEncoder::encoder_allows_split(const CtNode &n, SplitMode s) const {
  const bool inside = node_inside(n, lim_);
  if (!inside) return true;  // the picture edge forces a split; any allowed one
  if (!cfg_.rdo_split) return s == SPLIT_QT && (n.w > 32 || n.h > 32);
  const int min_side = 1 << cfg_.min_cu_log2;
  int cw = n.w, chh = n.h;
  switch (s) {
    case SPLIT_QT: cw /= 2; chh /= 2; break;
    case SPLIT_BT_VER: cw /= 2; break;
    case SPLIT_BT_HOR: chh /= 2; break;
    case SPLIT_TT_VER: cw /= 4; break;
    case SPLIT_TT_HOR: chh /= 4; break;
    default: break;
  }
  if (cw < min_side || chh < min_side) return false;
  if (split_is_mtt(s) && n.mtt_depth >= (n.tree == DUAL_TREE_CHROMA ? eff_.max_mtt_depth_c : eff_.max_mtt_depth))
    return false;
  // The deepest multi-type depth (from depth 1 on) only for small nodes.
  if (split_is_mtt(s) && eff_.deep_mtt_max_area > 0 && n.mtt_depth > 0 && n.w * n.h > eff_.deep_mtt_max_area &&
      n.mtt_depth + 1 == (n.tree == DUAL_TREE_CHROMA ? eff_.max_mtt_depth_c : eff_.max_mtt_depth))
    return false;
  // Chroma blocks with a side of 2 samples (8x2, 4x2, ...: legal in VVC) are
  // not produced; the decoder refuses them (decoder.cpp).
  if (n.tree == DUAL_TREE_CHROMA && (cw < 8 || chh < 8)) return false;
  if (n.tree == SINGLE_TREE && n.mode_type == MODE_TYPE_ALL) {
    if (mode_type_condition(n, s, lim_) == 1 ? (n.w < 8 || n.h < 8) : (cw < 8 || chh < 8)) return false;
  }
  return true;
}

// The coding tree below node n: tries the leaf and every split the SPS
// allows (pruned by the preset), keeps the cheapest in rec / ctx / pic_.
double PictureEncoder::search_tree(const CtNode &n, ContextSet &ctx, CtuRecord &rec) {
  const int ch = n.tree == DUAL_TREE_CHROMA ? 1 : 0;
  const AllowedSplits a = allowed_splits(n, lim_);
  const SplitNeighbours nb = maps_.neighbours(ch, n.x, n.y);
  const bool inside = node_inside(n, lim_);
  SplitMode order[6] = {SPLIT_NONE, SPLIT_QT, SPLIT_BT_HOR, SPLIT_BT_VER, SPLIT_TT_HOR, SPLIT_TT_VER};
  std::vector<SplitMode> cands;
  for (SplitMode s : order) {
    if (s == SPLIT_NONE ? !encoder_allows_leaf(n) : !(a.allows(s) && encoder_allows_split(n, s))) continue;
    cands.push_back(s);
  }
  if (cands.empty()) {
    // Only possible inside the picture with every split pruned: code a leaf.
    if (!inside) throw std::logic_error("encoder: no split allowed at a picture-edge node");
    cands.push_back(SPLIT_NONE);
  }
  bool skip_hor = false, skip_ver = false;  // grad_ratio
  if (eff_.grad_ratio > 0 && inside && n.mtt_depth == 0 && n.w == n.h && n.w <= lim_.max_bt[ch]) {
    // (luma samples also for a chroma-tree node)
    const BlockGradients g = block_gradients(org_[0].row(n.y) + n.x, org_[0].stride, n.w, n.h);
    const double t1 = eff_.grad_ratio, t2 = eff_.grad_ratio / std::sqrt(2.0);
    skip_hor = g.hor > t1 * g.ver && g.hor > t2 * g.diag && g.hor > t2 * g.anti;
    skip_ver = g.ver > t1 * g.hor && g.ver > t2 * g.diag && g.ver > t2 * g.anti;
  }
  double best_cost = kInf;
  SplitMode best_split = SPLIT_NONE;
  CtuRecord best_rec;
  ContextSet best_ctx;
  AreaState best_state;
  bool state_is_best = false;  // pic_/maps_ hold the best candidate's state
  bool bt_deeper[2] = {false, false};  // [0] BT_HOR, [1] BT_VER
  bool qt_deeper = false, none_no_luma_res = false;
  const int max_mtt = n.tree == DUAL_TREE_CHROMA ? eff_.max_mtt_depth_c : eff_.max_mtt_depth;
  for (size_t ci = 0; ci < cands.size(); ci++) {
    const SplitMode s = cands[ci];
    const bool tt = s == SPLIT_TT_HOR || s == SPLIT_TT_VER;
    const bool hor = s == SPLIT_BT_HOR || s == SPLIT_TT_HOR;
    if (inside && split_is_mtt(s)) {
      // A quad split whose children split by QT again: no multi-type split.
      if (eff_.qt_prunes_mtt && qt_deeper) continue;
      if (hor ? skip_hor : skip_ver) continue;
      // The no-split CU won with no luma residual: no deeper multi-type split.
      if (eff_.cbf_stop_depth > 0 && n.mtt_depth >= eff_.cbf_stop_depth && none_no_luma_res &&
          best_split == SPLIT_NONE)
        continue;
    }
    if (tt && !eff_.tt_always && inside) {
      if (best_split != (hor ? SPLIT_BT_HOR : SPLIT_BT_VER)) continue;
      if (eff_.tt_needs_deeper && !bt_deeper[hor ? 0 : 1] && n.mtt_depth + 1 < max_mtt) continue;
    }
    ContextSet c = ctx;
    CabacWriter e(true);
    e.start();
    write_split_mode(e, c, n, a, s, nb, lim_);
    double cost = lambda_ * bits_of(e);
    if (eff_.split_gain > 0 && s != SPLIT_NONE && inside && best_cost < kInf) {
      const int kids = s == SPLIT_QT ? 4 : tt ? 3 : 2;
      if (best_cost / eff_.split_gain + cost + lambda_ * kids >= best_cost) continue;
    }
    if (ci > 0) clear_area(n);
    state_is_best = false;
    CtuRecord r;
    r.splits.push_back(uint8_t(s));
    bool deeper = false;  // some child split again (QT: by QT; BT: in the same direction)
    if (s == SPLIT_NONE) {
      cost += search_cu_reusing(n, c, r);
      if (edo_on()) {
        mark_record_edges(edo_maps_, r);
        cost += deblock_offset(r.cus.back());
      }
      if (ch == 0) {
        none_no_luma_res = true;
        for (const TransformUnit &tu : r.tus) none_no_luma_res &= !tu.cbf[0];
      }
    } else {
      const SplitStep st = split_step(n, s, lim_, maps_);
      for (int i = 0; i < st.num_kids && cost < best_cost; i++) {
        cost += search_tree(st.kids[i], c, r);
        const SplitMode k = last_split_;
        if (s == SPLIT_QT) deeper |= k == SPLIT_QT;
        else if (s == SPLIT_BT_HOR) deeper |= k == SPLIT_BT_HOR || k == SPLIT_TT_HOR;
        else if (s == SPLIT_BT_VER) deeper |= k == SPLIT_BT_VER || k == SPLIT_TT_VER;
      }
      if (cost < best_cost && st.local_chroma) {
        r.splits.push_back(uint8_t(SPLIT_NONE));  // the chroma node's coding_tree() codes no split
        cost += search_cu(st.chroma, c, r);
      }
      if (s == SPLIT_QT) qt_deeper = deeper;
      if (s == SPLIT_BT_HOR || s == SPLIT_BT_VER) bt_deeper[s == SPLIT_BT_HOR ? 0 : 1] = deeper;
    }
    if (cost < best_cost) {
      best_cost = cost;
      best_split = s;
      best_rec = std::move(r);
      best_ctx = c;
      state_is_best = true;
      if (ci + 1 < cands.size()) save_area(best_state, n);
    }
  }
  if (!state_is_best) {
    restore_area(best_state);
    if (edo_on()) mark_record_edges(edo_maps_, best_rec);
  }
  ctx = best_ctx;
  rec.append(best_rec);
  last_split_ = best_split;
  return best_cost;
}
void PictureEncoder::apply_cnn_in_loop_filter(CnnifSei &sei) {
  Picture pic;
  pic.allocate(width_, height_);
  for (int c = 0; c < 3; c++)
    for (size_t i = 0; i < pic_.plane[c].data.size(); i++) pic.plane[c][i] = uint16_t(pic_.plane[c].data[i]);
  hooks_.in_loop_filter->filter_picture(pic, cfg_.qp);
  Plane filtered[3];
  for (int c = 0; c < 3; c++) {
    filtered[c].allocate(pic_.plane[c].width, pic_.plane[c].height);
    if (pic.plane[c].size() != filtered[c].data.size())
      throw std::runtime_error("CNN in-loop filter returned planes of the wrong size");
    for (size_t i = 0; i < filtered[c].data.size(); i++)
      filtered[c].data[i] = Pel(std::min<uint16_t>(pic.plane[c][i], 1023));
  }
  const int ctu = 1 << log2_ctu_;
  sei.model_id = hooks_.in_loop_filter->model_id();
  sei.ctus_x = (width_ + ctu - 1) / ctu;
  sei.ctus_y = (height_ + ctu - 1) / ctu;
  sei.luma_on.assign(size_t(sei.ctus_x) * sei.ctus_y, 0);
  sei.chroma_on.assign(size_t(sei.ctus_x) * sei.ctus_y, 0);
  // Distortion only: the flags cost 2 bits per CTU whatever they say.
  for (int cy = 0; cy < sei.ctus_y; cy++)
    for (int cx = 0; cx < sei.ctus_x; cx++) {
      int64_t gain[2] = {0, 0};
      for (int c = 0; c < 3; c++) {
        const int s = c ? ctu / 2 : ctu;
        const int x0 = cx * s, y0 = cy * s;
        const int x1 = std::min(x0 + s, pic_.plane[c].width), y1 = std::min(y0 + s, pic_.plane[c].height);
        for (int y = y0; y < y1; y++)
          for (int x = x0; x < x1; x++) {
            const int o = org_[c].at(x, y);
            const int a = o - pic_.plane[c].at(x, y), b = o - filtered[c].at(x, y);
            gain[c ? 1 : 0] += int64_t(a) * a - int64_t(b) * b;
          }
      }
      sei.luma_on[size_t(cy) * sei.ctus_x + cx] = gain[0] > 0;
      sei.chroma_on[size_t(cy) * sei.ctus_x + cx] = gain[1] > 0;
    }
  apply_cnnif_flags(pic_.plane, filtered, log2_ctu_, sei.luma_on, sei.chroma_on);
}


EncodeResult PictureEncoder::run(std::vector<CtuRecord> *records_out) {
  const auto t0 = std::chrono::steady_clock::now();
  SequenceParams sps;
  sps.pic_width = width_;
  sps.pic_height = height_;
  // Conformance window in chroma units (SubWidthC = SubHeightC = 2).
  sps.conf_right = (width_ - src_w_) / 2;
  sps.conf_bottom = (height_ - src_h_) / 2;
  sps.log2_ctu_size = log2_ctu_;
  sps.log2_min_cb_size = floor_log2(uint32_t(lim_.min_cb));
  for (int ch = 0; ch < 2; ch++) {
    sps.log2_min_qt[ch] = floor_log2(uint32_t(lim_.min_qt[ch]));
    sps.max_mtt_depth[ch] = lim_.max_mtt_depth[ch];
    sps.log2_max_bt[ch] = floor_log2(uint32_t(lim_.max_bt[ch]));
    sps.log2_max_tt[ch] = floor_log2(uint32_t(lim_.max_tt[ch]));
  }
  sps.dual_tree = lim_.dual_tree;
  sps.cclm = cclm_;
  sps.mrl = cfg_.mrl;
  sps.mip = cfg_.mip;
  sps.transform_skip = ts_.transform_skip;
  sps.log2_max_ts = ts_.log2_max_ts;
  sps.bdpcm = ts_.bdpcm;
  sps.min_qp_prime_ts = (qp_prime_ts_min_ - 4) / 6;
  sps.joint_cbcr = cfg_.joint_cbcr;
  sps.isp = cfg_.isp;
  sps.chroma_qp = chroma_map_;
  sps.dep_quant = cfg_.dep_quant;
  sps.sign_hiding = cfg_.sign_hiding;
  sps.mts = tools_.mts;
  sps.explicit_mts_intra = tools_.explicit_mts_intra;
  sps.lfnst = tools_.lfnst;
  sps.bit_depth = kBitDepth;
  sps.level_idc = level_idc_for(width_, height_);
  sps.colour = cfg_.colour;
  if (hooks_.mpm) sps.cnnmc_model_id = hooks_.mpm->model_id();
  SliceParams sl;
  sl.slice_qp = cfg_.qp;
  sl.deblocking = cfg_.deblocking;
  sl.chroma_qp_offset = cfg_.chroma_qp_offset;
  sl.joint_cbcr_qp_offset = cfg_.joint_cbcr ? kJointCbCrQpOffset : 0;
  sl.joint_cbcr_sign = joint_cbcr_sign_;
  sl.dep_quant = rc_params_.dep_quant;
  sl.sign_hiding = rc_params_.sign_hiding;

  const int ctu = 1 << log2_ctu_;
  const int ctus_x = (width_ + ctu - 1) / ctu, ctus_y = (height_ + ctu - 1) / ctu;
  std::vector<CtuRecord> records(size_t(ctus_x) * ctus_y);
  std::unique_ptr<CtuNeighbourhood> nbh;
  // CNNMC: the predictor sees the causal neighbourhood once per CTU, before
  // its search; the write pass codes the lists the search used (CodingUnit::mpm).
  auto begin_ctu = [&](int x, int y) {
    if (!hooks_.mpm) return;
    if (!nbh) nbh = std::make_unique<CtuNeighbourhood>();
    const Plane &luma = pic_.plane[0];
    build_ctu_neighbourhood(luma.data.data(), luma.stride, width_, height_, maps_.luma_mode.data(), maps_.stride, x, y,
                            log2_ctu_, *nbh);
    hooks_.mpm->begin_ctu(*nbh);
  };

  // Pass 1: search.
  ContextSet ctx;
  ctx.init(cfg_.qp);
  for (int cy = 0; cy < ctus_y; cy++)
    for (int cx = 0; cx < ctus_x; cx++) {
      const int x = cx * ctu, y = cy * ctu;
      mode_cache_.clear();
      cu_cache_.clear();
      begin_ctu(x, y);
      CtuRecord &rec = records[size_t(cy) * ctus_x + cx];
      auto tree_pair = [&](int x0, int y0, int size, int cqt_depth) {
        CtNode n;
        n.x = x0;
        n.y = y0;
        n.w = n.h = size;
        n.cqt_depth = cqt_depth;
        n.tree = lim_.dual_tree ? DUAL_TREE_LUMA : SINGLE_TREE;
        search_tree(n, ctx, rec);
        if (lim_.dual_tree) {
          n.tree = DUAL_TREE_CHROMA;
          search_tree(n, ctx, rec);
        }
      };
      if (lim_.dual_tree && ctu > 64) {
        // 7.3.11.3 dual_tree_implicit_qt_split() down to 64x64.
        for (int k = 0; k < (ctu / 64) * (ctu / 64); k++) {
          const int x1 = x + (k % (ctu / 64)) * 64, y1 = y + (k / (ctu / 64)) * 64;
          if (x1 < width_ && y1 < height_) tree_pair(x1, y1, 64, log2_ctu_ - 6);
        }
      } else {
        tree_pair(x, y, ctu, 0);
      }
    }
  EncodeResult res;
  res.luma_modes = maps_.luma_mode;
  res.cu_log2.resize(maps_.luma_mode.size());
  for (size_t k = 0; k < res.cu_log2.size(); k++)
    res.cu_log2[k] = uint8_t((floor_log2(std::max(1u, uint32_t(maps_.cb_w[0][k]))) +
                              floor_log2(std::max(1u, uint32_t(maps_.cb_h[0][k])))) / 2);
  res.modes_width = maps_.stride;
  res.modes_height = maps_.rows;

  // LMCS: the luma picture leaves the mapped domain before the loop filters
  // (8.8.2.2), which are decided against the unmapped source.
  if (lmcs_) {
    lmcs_map_plane(pic_.plane[0], width_, height_, lmcs_model_.inv);
    org_[0] = org_luma_;
  }
  sps.lmcs = lmcs_;
  sl.lmcs = lmcs_;
  sl.lmcs_aps_id = lmcs_aps_.aps_id;
  sl.chroma_residual_scale = lmcs_chroma_;
  // Pass 2: in-loop filters: deblocking (8.8.3), then the optional tool hook.
  if (cfg_.deblocking) {
    TbEdgeMaps edges;
    edges.init(width_, height_, cfg_.qp);
    edges.set_chroma_qps(qp_c_[0] - kQpBdOffset, qp_c_[1] - kQpBdOffset, qp_c_[2] - kQpBdOffset);
    for (const CtuRecord &r : records) mark_record_edges(edges, r);
    DeblockParams dp;
    dp.width = width_;
    dp.height = height_;
    dp.log2_ctu = log2_ctu_;
    dp.bit_depth = kBitDepth;
    attach_edge_maps(edges, dp);
    if (cfg_.deblocking_offsets) {
      // Offsets that fit this picture (a few ms per (beta, tc) pair); on Kodak
      // at medium against offsets 0: BD-rate Y -0.25%, RGB -0.22% (README).
      const DeblockOffsets o = deblock_choose_offsets(pic_.plane, org_, dp, kDeblockOffsetRange);
      deblock_set_offsets(dp, o);
      for (int c = 0; c < 3; c++) {
        sl.deblock_beta_offset_div2[c] = o.beta_div2[c];
        sl.deblock_tc_offset_div2[c] = o.tc_div2[c];
      }
    }
    deblock_picture(pic_.plane, dp);
  }
  // SAO (8.8.4): decided per CTB from the deblocked picture, then applied.
  SaoSliceFlags sao_flags;
  if (cfg_.sao) {
    sao_flags.luma = sao_flags.chroma = true;
    std::vector<SaoCtbParams> sp(records.size());
    const Plane deblocked[3] = {pic_.plane[0], pic_.plane[1], pic_.plane[2]};
    const double lam[3] = {lambda_, lambda_chroma_, lambda_chroma_};
    bool used[3];
    sao_decide(org_, deblocked, ctus_x, ctus_y, log2_ctu_, kBitDepth, lam, sao_flags, sp.data(), cfg_.qp, used);
    // A slice flag is cleared when no CTB uses SAO on those components.
    sao_flags.luma = used[0];
    sao_flags.chroma = used[1] || used[2];
    for (size_t i = 0; i < records.size(); i++) records[i].sao = sao_flags.any() ? sp[i] : SaoCtbParams();
    for (int c = 0; c < 3; c++)
      if (c == 0 ? sao_flags.luma : sao_flags.chroma)
        sao_apply_component(deblocked[c], pic_.plane[c], c, sp.data(), ctus_x, ctus_y, log2_ctu_ - (c ? 1 : 0),
                            kBitDepth);
  }
  sps.sao = cfg_.sao;
  sl.sao_luma = sao_flags.luma;
  sl.sao_chroma = sao_flags.chroma;
  // ALF (8.8.5): filters and CTB decisions from the SAO output, then applied.
  AlfCtuSyntax alf_syntax;
  AlfApsData alf_aps;
  bool write_alf_aps = false;
  if (cfg_.alf) {
    std::vector<AlfCtbParams> ap(records.size());
    const double lam[3] = {lambda_, lambda_chroma_, lambda_chroma_};
    AlfSliceParams ash;
    if (alf_decide(org_, pic_.plane, ctus_x, ctus_y, log2_ctu_, kBitDepth, lam, cfg_.ccalf, alf_aps, ash,
                   ap.data())) {
      write_alf_aps = alf_aps.luma_signal || alf_aps.chroma_signal || alf_aps.cc_signal[0] || alf_aps.cc_signal[1];
      const AlfApsData *aps_list[8] = {};
      if (write_alf_aps) aps_list[alf_aps.aps_id] = &alf_aps;
      const AlfFilters filters = alf_derive_filters(ash, aps_list, kBitDepth);
      alf_apply_picture(pic_.plane, ap.data(), ctus_x, ctus_y, log2_ctu_, kBitDepth, ash, filters);
      alf_syntax.sh = ash;
      alf_syntax.chroma_num_alt = filters.chroma_num_alt;
      alf_syntax.cc_num_filters[0] = filters.cc_num_filters[0];
      alf_syntax.cc_num_filters[1] = filters.cc_num_filters[1];
    }
    for (size_t i = 0; i < records.size(); i++) records[i].alf = ap[i];
  }
  sps.alf = cfg_.alf;
  sps.ccalf = cfg_.alf && cfg_.ccalf;
  sl.alf = alf_syntax.sh;
  // The optional CNN in-loop filter runs on the ALF output (the last standard filter).
  CnnifSei cnnif;
  const bool use_cnnif = hooks_.in_loop_filter != nullptr;
  if (use_cnnif) apply_cnn_in_loop_filter(cnnif);

  // Pass 3: the slice data from the records.
  maps_.init(width_, height_, log2_ctu_);
  ctx.init(cfg_.qp);
  CabacWriter writer(false);
  writer.start();
  CodingTreeSyntax walker(lim_, cclm_, maps_, ctx, hooks_);
  walker.set_ts_tools(ts_);
  walker.set_sao(sao_flags, kBitDepth);
  walker.joint_cbcr = cfg_.joint_cbcr;
  walker.mrl = cfg_.mrl;
  walker.mip = cfg_.mip;
  walker.isp = cfg_.isp;
  walker.set_residual_params(rc_params_);
  walker.set_transform_tools(tools_);
  walker.set_alf(alf_syntax);
  for (int cy = 0; cy < ctus_y; cy++)
    for (int cx = 0; cx < ctus_x; cx++)
      walker.write_ctu(writer, cx * ctu, cy * ctu, records[size_t(cy) * ctus_x + cx]);
  // 7.3.8.1: end_of_slice_one_bit follows only the last CTU of the slice.
  writer.encode_terminate(1);
  writer.rbsp_trailing_bits();  // rbsp_slice_trailing_bits()

  {
    // Output: the conformance-window cropped picture.
    const int ow = width_ - 2 * sps.conf_right, oh = height_ - 2 * sps.conf_bottom;
    res.recon.allocate(ow, oh);
    for (int c = 0; c < 3; c++) {
      const int w = c ? ow / 2 : ow, h = c ? oh / 2 : oh;
      for (int j = 0; j < h; j++)
        for (int i = 0; i < w; i++) res.recon.plane[c][size_t(j) * w + i] = uint16_t(pic_.plane[c].at(i, j));
    }
  }
  BitWriter sh;
  write_slice_header(sh, sps, sl);
  std::vector<uint8_t> slice = sh.bytes();
  slice.insert(slice.end(), writer.bytes().begin(), writer.bytes().end());
  append_nal_unit(res.bitstream, NAL_SPS, write_sps(sps));
  append_nal_unit(res.bitstream, NAL_PPS, write_pps(sps, sl));
  if (lmcs_) append_nal_unit(res.bitstream, NAL_PREFIX_APS, write_lmcs_aps_rbsp(lmcs_aps_));
  if (write_alf_aps) append_nal_unit(res.bitstream, NAL_PREFIX_APS, write_alf_aps_rbsp(alf_aps));
  if (use_cnnif) append_nal_unit(res.bitstream, NAL_PREFIX_SEI, write_cnnif_sei_rbsp(cnnif));
  // A CNNMC slice uses the reserved IRAP type so that standard decoders skip it.
  append_nal_unit(res.bitstream, hooks_.mpm ? NalUnitType(kNalCnnmcIrap) : NAL_IDR_N_LP, slice);
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (records_out) *records_out = std::move(records);
  return res;
}

}  // namespace

EncodeResult encode_picture(const Picture &src, const EncoderConfig &cfg) {
  return encode_picture(src, cfg, Hooks{});
}

EncodeResult encode_picture(const Picture &src, const EncoderConfig &cfg, const Hooks &hooks) {
  return encode_picture_records(src, cfg, hooks, nullptr);
}

EncodeResult encode_picture_records(const Picture &src, const EncoderConfig &cfg, const Hooks &hooks,
                                    std::vector<CtuRecord> *records) {
  init_tables();
  if (src.width <= 0 || src.height <= 0) throw std::invalid_argument("picture is empty (width and height must be > 0)");
  if (src.width > 16384 || src.height > 16384)
    throw std::invalid_argument("picture larger than 16384x16384 is not supported");
  if (cfg.qp < 0 || cfg.qp > 63) throw std::invalid_argument("qp must be in 0..63");
  if (cfg.chroma_qp_offset < -12 || cfg.chroma_qp_offset > 12)
    throw std::invalid_argument("chroma_qp_offset must be in -12..12");
  if (cfg.max_cu_log2 != 7) throw std::invalid_argument("only a CTU size of 128 is supported");
  if (cfg.min_cu_log2 < 2 || cfg.min_cu_log2 > 7) throw std::invalid_argument("min_cu_log2 must be in 2..7");
  if (cfg.preset < 0 || cfg.preset > 2) throw std::invalid_argument("preset must be 0 (fast), 1 (medium) or 2 (slow)");
  if (cfg.split_search < -1 || cfg.split_search > 5) throw std::invalid_argument("split_search must be -1 (default) or 0..5");
  if (cfg.chroma_qp_table < -1 || cfg.chroma_qp_table > 2)
    throw std::invalid_argument("chroma_qp_table must be -1 (the preset's), 0 (identity), 1 (VTM's) or 2 (VVenC's)");
  if (cfg.intra_rd_candidates < 0 || cfg.intra_rd_candidates > 67)
    throw std::invalid_argument("intra_rd_candidates must be in 0..67 (0: the preset's)");
  const size_t ls = size_t(src.width) * src.height, cs = size_t(src.chroma_width()) * src.chroma_height();
  if (src.plane[0].size() != ls || src.plane[1].size() != cs || src.plane[2].size() != cs)
    throw std::invalid_argument("plane sizes do not match a 4:2:0 picture of the given width and height");
  for (int c = 0; c < 3; c++)
    for (uint16_t v : src.plane[c])
      if (v > 1023) throw std::invalid_argument("sample values must be 10-bit (0..1023)");
  PictureEncoder enc(src, cfg, hooks);
  return enc.run(records);
}

}  // namespace pyvtm
