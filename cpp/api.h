// pyvtm codec core: public C++ entry points (no torch, no Python).
#pragma once
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "hooks.h"

namespace pyvtm {

// A planar 4:2:0 picture with 10-bit samples stored in uint16.
// plane[0] is luma (width x height), plane[1]/plane[2] are Cb/Cr
// (chroma_width() x chroma_height()). Rows are packed (stride == width).
struct Picture {
  int width = 0;
  int height = 0;
  std::vector<uint16_t> plane[3];
  int chroma_width() const { return (width + 1) >> 1; }
  int chroma_height() const { return (height + 1) >> 1; }
  void allocate(int w, int h) {
    width = w; height = h;
    plane[0].assign(size_t(w) * h, 0);
    plane[1].assign(size_t(chroma_width()) * chroma_height(), 0);
    plane[2].assign(size_t(chroma_width()) * chroma_height(), 0);
  }
};

// Colour description written into the SPS VUI (ITU-T H.273 code points).
struct ColourDescription {
  int colour_primaries = 1;          // BT.709
  int transfer_characteristics = 13; // sRGB / IEC 61966-2-1
  int matrix_coeffs = 5;             // BT.601 (BT.470BG)
  bool full_range = true;
};

struct EncoderConfig {
  int qp = 32;                 // slice QP, 0..63
  int max_cu_log2 = 7;         // CTU size (128)
  int min_cu_log2 = 2;         // smallest CU side the search uses (4)
  int intra_rd_candidates = 0; // luma modes kept after the SATD stages for full RD (0: the preset's)
  int preset = 1;              // search effort: 0 fast, 1 medium, 2 slow
  // Operating point of the medium preset's split search (encoder.cpp
  // effort_for(): deeper multi-type trees with more pruning as it grows),
  // 0..5; -1: the default. Ignored by fast and slow.
  int split_search = -1;
  bool mtt = true;             // multi-type tree (binary/ternary splits), SPS MaxMttDepth 3
  bool dual_tree = true;       // separate luma/chroma coding trees below 64x64 (sps_qtbtt_dual_tree_intra_flag)
  bool cclm = true;            // cross-component linear model chroma prediction
  bool mrl = true;             // multiple reference line intra prediction (sps_mrl_enabled_flag)
  bool mip = true;             // matrix-based intra prediction (sps_mip_enabled_flag)
  bool rdo_split = true;       // split decisions by RD cost (false: fixed 32x32)
  bool rdoq = true;            // rate-distortion optimised quantisation
  bool deblocking = true;      // deblocking filter (8.8.3)
  // With deblocking: the PPS beta / tc offsets per component chosen for the
  // least SSE after deblocking (-3..3 each); false: all offsets 0.
  bool deblocking_offsets = true;
  // With deblocking: deblocking-aware split decisions (the reference
  // encoders' EncDbOpt / EDO): each no-split CU's cost includes the change in
  // squared error that deblocking its left, top and inner edges makes to it
  // and its neighbours. 1 on, 0 off, -1 the preset's.
  int deblock_aware = -1;
  bool sao = true;             // sample adaptive offset (8.8.4), decided per CTB after deblocking
  bool alf = true;             // adaptive loop filter (8.8.5), one APS per picture, decided per CTB after SAO
  bool ccalf = true;           // cross-component ALF (8.8.5.7), with alf only
  // Residual coding tools (each with its SPS enable flag; off -> not signalled).
  // Dependent quantisation (sps_dep_quant_enabled_flag): 1 on, 0 off (sign
  // data hiding instead), -1 the preset's: on at medium and slow (train
  // crops: -2.4% BD-rate Y, -2.2% YUV for about 1.25x encode time).
  int dep_quant = -1;
  bool sign_hiding = true;      // sign data hiding (used only where dependent quantisation is off): -0.4% BD-rate Y
  bool mts = true;              // multiple transform selection: implicit DST-VII (fast, medium) or explicit mts_idx (slow)
  bool lfnst = true;            // low-frequency non-separable transform (lfnst_idx, luma and chroma tree)
  int mts_explicit = -1;        // with mts: 1 explicit mts_idx search, 0 implicit MTS only, -1 the preset's (slow: 1)
  bool transform_skip = false;  // transform skip with residual_ts_coding()
  bool bdpcm = false;           // block DPCM (needs transform skip: turns transform_skip on)
  // Test knob (not in the Python API): bits credited to the transform-skip and
  // BDPCM candidates in the encoder's RD decisions (mixes the tools in);
  // >= 1000 forces them wherever they are tried (transform skip on every TB
  // with a nonzero TS residual, BDPCM on every CU that allows it, the last
  // direction alternating with the position). 0 for normal coding.
  int ts_test_bias = 0;
  // Intra sub-partitions (sps_isp_enabled_flag), tried after the mode
  // decision: 1 on, 0 off, -1 the preset's: on at medium and slow.
  int isp = -1;
  // Luma mapping with chroma scaling (sps_lmcs_enabled_flag): the search runs
  // on forward-mapped luma with a per-picture model from the source; 1 on,
  // 0 off, -1 the preset's (off).
  int lmcs = -1;
  bool joint_cbcr = true;       // joint Cb-Cr residual coding (train crops, medium: BD-rate Y -0.4%, RGB -1.3%)
  // The chroma QP mapping table of the SPS (7.4.3.4), which moves bits
  // between luma and chroma: 0 the identity, 1 VTM's all-intra table for SDR
  // content (QpInValCb 17 27 32 44 / QpOutValCb 17 29 34 41), 2 VVenC's
  // (17 22 34 42 / 17 23 35 39, which VVenC writes at every preset), -1 the
  // preset's: VVenC's at medium, the identity at fast and slow.
  int chroma_qp_table = -1;
  int chroma_qp_offset = 0;    // pps_cb_qp_offset = pps_cr_qp_offset, -12..12
  ColourDescription colour;
};

struct EncodeResult {
  std::vector<uint8_t> bitstream; // Annex B byte stream
  // Reconstruction exactly as a conforming decoder outputs it: the
  // conformance-window cropped picture (width/height rounded up to even).
  Picture recon;
  // Luma intra prediction mode chosen for every 4x4 luma unit of the coded
  // picture (coded width / 4 by coded height / 4, row-major), e.g. for
  // training the CNN MPM predictor.
  std::vector<uint8_t> luma_modes;
  // (log2 width + log2 height) / 2 of the luma coding unit covering every
  // 4x4 unit (its side for square CUs).
  std::vector<uint8_t> cu_log2;
  int modes_width = 0, modes_height = 0;
  double seconds = 0.0;
};

// Encode one picture as a single IDR access unit. Throws std::invalid_argument
// on bad input (sizes, QP range, plane sizes).
EncodeResult encode_picture(const Picture &src, const EncoderConfig &cfg);
// The same with tool hooks (CNN in-loop filter, CNN MPM derivation).
EncodeResult encode_picture(const Picture &src, const EncoderConfig &cfg, const Hooks &hooks);

// --- Decoder ---------------------------------------------------------------

// Thrown by decode_bitstream() for any input it cannot decode: malformed or
// truncated data, missing parameter sets, tools or formats the decoder does
// not support (the message names the syntax element and the tool).
class DecodeError : public std::runtime_error {
 public:
  explicit DecodeError(const std::string &what) : std::runtime_error(what) {}
};

// Largest picture the decoder accepts (checked on the SPS, before any
// allocation): each side at most 16384 luma samples and at most 2^26 luma
// samples in all (level 6.2 allows 35,651,584).
constexpr int kMaxDecodeDimension = 16384;
constexpr long long kMaxDecodeLumaSamples = 1LL << 26;

struct DecodeOptions {
  long long max_luma_samples = kMaxDecodeLumaSamples;  // may be lowered (fuzzing)
  // Stop at the slice: fill only the stream information (sizes, QP, colour,
  // CNN tool model ids), no picture. Used to find the models a stream needs.
  bool probe_only = false;
};

// What the coding tree of a decoded picture holds (for analysis and for the
// tests that check which syntax a stream exercises).
struct SyntaxCounts {
  int coding_units = 0;
  int non_square_cus = 0;         // CbWidth != CbHeight
  int luma_cus_4x4 = 0;           // luma (or single-tree) CUs of 4x4 (with MinQtSizeY 8: MttDepth 2)
  int chroma_tree_cus = 0;        // DUAL_TREE_CHROMA CUs of the dual tree
  int local_dual_tree_cus = 0;    // chroma CUs of a local dual tree (single tree)
  int splits[6] = {0, 0, 0, 0, 0, 0};  // per SplitMode: none, TT_HOR, BT_HOR, TT_VER, BT_VER, QT
  int cclm[3] = {0, 0, 0};        // chroma CUs with INTRA_LT_CCLM, INTRA_L_CCLM, INTRA_T_CCLM
  // SAO: CTBs per SaoTypeIdx (not applied, band, edge) for luma and for chroma
  // (Cb and Cr share the type), and CTBs coded with sao_merge_left/up_flag.
  int sao_luma[3] = {0, 0, 0}, sao_chroma[3] = {0, 0, 0};
  int sao_merge = 0;
  int joint_cbcr[3] = {0, 0, 0};  // TUs with tu_joint_cbcr_residual_flag: TuCResMode 1, 2, 3
  bool dep_quant = false;         // sh_dep_quant_used_flag
  bool sign_hiding = false;       // sh_sign_data_hiding_used_flag
  int hidden_signs = 0;           // coeff_sign_flag values inferred by sign data hiding
  int lfnst[2] = {0, 0};          // CUs with lfnst_idx 1, 2
  int lfnst_chroma = 0;           // of those, chroma CUs (their Cb / Cr TBs use LFNST)
  int mts[4] = {0, 0, 0, 0};      // CUs with mts_idx 1..4
  int isp[2] = {0, 0};            // CUs with ISP_HOR_SPLIT, ISP_VER_SPLIT
  int isp_narrow = 0;             // of those, with sub-partitions 1 or 2 samples wide or tall
  // ALF: luma CTBs filtered with a fixed filter set / an APS filter set;
  // Cb / Cr CTBs with ALF, chroma CTBs using an alternative filter > 0;
  // Cb / Cr CTBs with CCALF.
  int alf_luma[2] = {0, 0};
  int alf_chroma[2] = {0, 0};
  int alf_chroma_alt = 0;
  int ccalf[2] = {0, 0};
  int ccalf_filter[4] = {0, 0, 0, 0};  // Cb and Cr CTBs with alf_ctb_cc_*_idc 1..4 (the CCALF filter used)
  // Deblocking (sh_deblocking_filter_disabled_flag = 0): the slice's
  // {luma, cb, cr}_{beta, tc}_offset_div2; all 0 without deblocking.
  int deblock_beta_offset_div2[3] = {0, 0, 0}, deblock_tc_offset_div2[3] = {0, 0, 0};
  int transform_skip[3] = {0, 0, 0};  // coded TBs with transform_skip_flag = 1 (Y, Cb, Cr; BDPCM included)
  int bdpcm[2] = {0, 0};              // CUs with intra_bdpcm_luma_flag / intra_bdpcm_chroma_flag
  int mrl[2] = {0, 0};                // CUs with intra_luma_ref_idx 1, 2 (multiple reference lines)
  int mip = 0;                        // luma CUs with intra_mip_flag
  int mip_transposed = 0;             // of those, with intra_mip_transposed_flag
  int lmcs = 0;                       // slices with sh_lmcs_used_flag (LMCS)
  int lmcs_chroma_scaling = 0;        // of those, with ph_chroma_residual_scale_flag
};

struct DecodeResult {
  // The output picture of a conforming decoder: the decoded picture cropped
  // to the conformance window (10-bit samples, 4:2:0).
  Picture picture;
  int coded_width = 0, coded_height = 0;  // before cropping
  int slice_qp = 0;
  ColourDescription colour;               // from the VUI (H.273 defaults when absent)
  // pyvtm CNN tools the stream uses (sei.h): the model ids, empty when unused.
  std::string cnnif_model_id, cnnmc_model_id;
  bool cnnif_applied = false;  // the CNN in-loop filter was run (hook given)
  SyntaxCounts syntax;
  double seconds = 0.0;
};

// Decodes an Annex-B VVC byte stream holding one intra (IDR) picture of the
// kind pyvtm writes (Main 10, 4:2:0, 10-bit). Throws DecodeError.
DecodeResult decode_bitstream(const uint8_t *data, size_t size);
DecodeResult decode_bitstream(const uint8_t *data, size_t size, const DecodeOptions &opt);
// The same with tool hooks (the decoder-side counterparts of the encoder's).
DecodeResult decode_bitstream(const uint8_t *data, size_t size, const DecodeOptions &opt, const Hooks &hooks);

}  // namespace pyvtm
