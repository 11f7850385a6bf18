// Picture encoder: rate-distortion search over the coding quadtree and the
// intra modes (kept apart from syntax writing, which lives in syntax.cpp),
// then the write pass that emits the chosen decisions with the real CABAC.
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <stdexcept>

#include "api.h"
#include "bitstream.h"
#include "cabac.h"
#include "cnn_tools.h"
#include "common.h"
#include "deblocking.h"
#include "derive.h"
#include "intra_pred.h"
#include "param_sets.h"
#include "quant.h"
#include "sei.h"
#include "rdoq.h"
#include "syntax.h"
#include "tables.h"
#include "transform.h"

namespace pyvtm {
namespace {

constexpr int kBitDepth = 10;
constexpr int kQpBdOffset = 6 * (kBitDepth - 8);
constexpr double kInf = std::numeric_limits<double>::max();

// Decisions of one node of the coding quadtree.
struct CuNode {
  bool split = false;
  std::unique_ptr<CuNode> child[4];
  int luma_mode = INTRA_PLANAR;
  int chroma_syntax = 4;  // intra_chroma_pred_mode
  // Levels per component, TUs concatenated in coding order.
  std::vector<int32_t> levels[3];
  uint8_t cbf[3][4] = {{0}};
};

// Result of coding one block of one component with a given mode.
struct BlockCoding {
  double cost = kInf;
  uint64_t dist = 0;
  bool cbf = false;
};

class PictureEncoder {
 public:
  PictureEncoder(const Picture &src, const EncoderConfig &cfg, const Hooks &hooks);
  EncodeResult run();

 private:
  // --- search ---
  double search_tree(CuNode &node, int x, int y, int log2, TreeType tree, const ContextSet &ctx_in,
                     ContextSet &ctx_out);
  double search_leaf(CuNode &node, int x, int y, int log2, TreeType tree, ContextSet &ctx);
  double search_luma(CuNode &node, int x, int y, int log2, ContextSet &ctx);
  double search_chroma(CuNode &node, int x, int y, int log2, int dm_mode, ContextSet &ctx);
  // Codes one TB (predict, transform, quantise, reconstruct into rec) and
  // measures its distortion. Returns levels and cbf.
  void code_block(int comp, int x, int y, int log2n, int mode, int32_t *levels, bool &cbf, uint64_t &dist,
                  bool allow_zero_rd, ContextSet *ctx_for_rd);
  uint64_t block_sse(int comp, int x, int y, int n) const;

  // --- shared state helpers ---
  void derive_mpm(int x, int y, int size, int mpm[6]) const;
  int split_ctx_inc(int x, int y, int log2) const;
  int chroma_mode_from_syntax(int syntax, int dm) const;
  void mark_done(int comp, int x, int y, int n);  // x, y, n in that component's samples
  void set_luma_cu(int x, int y, int log2, int mode);
  void clear_done(int x, int y, int size);
  RefAvailability availability(int comp) const;

  // CNN in-loop filter: runs the hook, keeps it per CTU where it lowers the
  // distortion, fills the SEI that carries the decisions.
  void apply_cnn_in_loop_filter(CnnifSei &sei);

  // --- write pass ---
  void write_tree(CabacWriter &w, ContextSet &cs, const CuNode &node, int x, int y, int log2, TreeType tree);
  void write_cu(CabacWriter &w, ContextSet &cs, const CuNode &node, int x, int y, int log2, TreeType tree);

  struct AreaState;  // saved reconstruction and maps of an area
  void save_area(AreaState &s, int x, int y, int size) const;
  void restore_area(const AreaState &s);

  EncoderConfig cfg_;
  Hooks hooks_;
  int src_w_, src_h_;
  int width_, height_;  // coded size, multiple of 8
  int log2_ctu_;
  Plane org_[3], rec_[3];
  // 4x4-luma-unit maps.
  int map_w_, map_h_;
  std::vector<uint8_t> luma_done_, chroma_done_, mode_map_, size_map_;
  // Transform block sizes for the deblocking filter (written by the write pass).
  std::vector<uint8_t> luma_tb_log2_, chroma_tb_log2_;
  double lambda_, sqrt_lambda_;
  double lambda_chroma_;  // lambda weighted by 2^((QpC - QpY) / 3)
  std::unique_ptr<CtuNeighbourhood> neighbourhood_;  // CNNMC input, reused per CTU
  int qp_luma_, qp_chroma_;  // qP of 8.7.3 (incl. QpBdOffset)
  int qp_chroma_c_;          // QpC (deblocking)
};

struct PictureEncoder::AreaState {
  int x, y, size;
  std::vector<Pel> rec[3];
  std::vector<uint8_t> maps[4];
};

PictureEncoder::PictureEncoder(const Picture &src, const EncoderConfig &cfg, const Hooks &hooks)
    : cfg_(cfg), hooks_(hooks) {
  src_w_ = src.width;
  src_h_ = src.height;
  width_ = (src.width + 7) & ~7;
  height_ = (src.height + 7) & ~7;
  log2_ctu_ = cfg.max_cu_log2;
  // Pad by edge replication to the coded size.
  for (int c = 0; c < 3; c++) {
    const int w = c ? width_ / 2 : width_, h = c ? height_ / 2 : height_;
    const int sw = c ? src.chroma_width() : src.width, sh = c ? src.chroma_height() : src.height;
    org_[c].allocate(w, h);
    rec_[c].allocate(w, h);
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++)
        org_[c].at(x, y) = Pel(src.plane[c][size_t(std::min(y, sh - 1)) * sw + std::min(x, sw - 1)]);
  }
  map_w_ = width_ / 4;
  map_h_ = height_ / 4;
  luma_done_.assign(size_t(map_w_) * map_h_, 0);
  chroma_done_.assign(size_t(map_w_) * map_h_, 0);
  mode_map_.assign(size_t(map_w_) * map_h_, 0);
  size_map_.assign(size_t(map_w_) * map_h_, 0);
  luma_tb_log2_.assign(size_t(map_w_) * map_h_, 2);
  chroma_tb_log2_.assign(size_t(map_w_) * map_h_, 2);
  // Lambda of the reference encoder for intra pictures at 10-bit.
  lambda_ = 0.57 * std::pow(2.0, (cfg.qp + 6.0 * (kBitDepth - 8) - 12.0) / 3.0);
  sqrt_lambda_ = std::sqrt(lambda_);
  qp_luma_ = cfg.qp + kQpBdOffset;
  // QpC = ChromaQpTable[Clip3(-QpBdOffset, 63, QpY + pps_cb_qp_offset)] with the
  // identity table pyvtm signals (8.7.1).
  qp_chroma_c_ = clip3(-kQpBdOffset, 63, cfg.qp + cfg.chroma_qp_offset);
  qp_chroma_ = qp_chroma_c_ + kQpBdOffset;
  lambda_chroma_ = lambda_ * std::pow(2.0, (qp_chroma_c_ - cfg.qp) / 3.0);
}

RefAvailability PictureEncoder::availability(int comp) const {
  RefAvailability av;
  av.map = comp ? chroma_done_.data() : luma_done_.data();
  av.map_stride = map_w_;
  av.unit_log2 = comp ? 1 : 2;
  av.plane_width = comp ? width_ / 2 : width_;
  av.plane_height = comp ? height_ / 2 : height_;
  return av;
}

void PictureEncoder::mark_done(int comp, int x, int y, int n) {
  const int sh = comp ? 1 : 2;
  std::vector<uint8_t> &m = comp ? chroma_done_ : luma_done_;
  const int units = std::max(1, n >> sh);
  for (int j = 0; j < units; j++)
    for (int i = 0; i < units; i++) m[size_t((y >> sh) + j) * map_w_ + (x >> sh) + i] = 1;
}

void PictureEncoder::set_luma_cu(int x, int y, int log2, int mode) {
  const int units = (1 << log2) >> 2;
  for (int j = 0; j < units; j++)
    for (int i = 0; i < units; i++) {
      const size_t k = size_t((y >> 2) + j) * map_w_ + (x >> 2) + i;
      mode_map_[k] = uint8_t(mode);
      size_map_[k] = uint8_t(log2);
    }
}

void PictureEncoder::clear_done(int x, int y, int size) {
  const int x1 = std::min(x + size, width_) >> 2, y1 = std::min(y + size, height_) >> 2;
  for (int j = y >> 2; j < y1; j++)
    for (int i = x >> 2; i < x1; i++) {
      luma_done_[size_t(j) * map_w_ + i] = 0;
      chroma_done_[size_t(j) * map_w_ + i] = 0;
    }
}

void PictureEncoder::save_area(AreaState &s, int x, int y, int size) const {
  s.x = x; s.y = y; s.size = size;
  for (int c = 0; c < 3; c++) {
    const int cx = c ? x / 2 : x, cy = c ? y / 2 : y, n = c ? size / 2 : size;
    const int w = std::min(n, rec_[c].width - cx), h = std::min(n, rec_[c].height - cy);
    s.rec[c].resize(size_t(std::max(w, 0)) * std::max(h, 0));
    for (int j = 0; j < h; j++) std::copy_n(rec_[c].row(cy + j) + cx, w, s.rec[c].data() + size_t(j) * w);
  }
  const std::vector<uint8_t> *maps[4] = {&luma_done_, &chroma_done_, &mode_map_, &size_map_};
  const int x1 = std::min(x + size, width_) >> 2, y1 = std::min(y + size, height_) >> 2;
  for (int k = 0; k < 4; k++) {
    s.maps[k].clear();
    for (int j = y >> 2; j < y1; j++)
      for (int i = x >> 2; i < x1; i++) s.maps[k].push_back((*maps[k])[size_t(j) * map_w_ + i]);
  }
}

void PictureEncoder::restore_area(const AreaState &s) {
  for (int c = 0; c < 3; c++) {
    const int cx = c ? s.x / 2 : s.x, cy = c ? s.y / 2 : s.y, n = c ? s.size / 2 : s.size;
    const int w = std::min(n, rec_[c].width - cx), h = std::min(n, rec_[c].height - cy);
    for (int j = 0; j < h; j++) std::copy_n(s.rec[c].data() + size_t(j) * w, w, rec_[c].row(cy + j) + cx);
  }
  std::vector<uint8_t> *maps[4] = {&luma_done_, &chroma_done_, &mode_map_, &size_map_};
  const int x1 = std::min(s.x + s.size, width_) >> 2, y1 = std::min(s.y + s.size, height_) >> 2;
  for (int k = 0; k < 4; k++) {
    size_t idx = 0;
    for (int j = s.y >> 2; j < y1; j++)
      for (int i = s.x >> 2; i < x1; i++) (*maps[k])[size_t(j) * map_w_ + i] = s.maps[k][idx++];
  }
}

// 8.4.2: candModeList of the luma CU at (x, y) of side size, as a 6-entry
// list with INTRA_PLANAR first (the intra_luma_not_planar_flag entry).
void PictureEncoder::derive_mpm(int x, int y, int size, int mpm[6]) const {
  // Shared with the decoder (derive.h); a neighbour is available once coded.
  derive_mpm_list(x, y, size, size, log2_ctu_, [&](int xn, int yn) {
    if (xn < 0 || yn < 0 || xn >= width_ || yn >= height_) return -1;
    const size_t k = size_t(yn >> 2) * map_w_ + (xn >> 2);
    return luma_done_[k] ? int(mode_map_[k]) : -1;
  }, mpm);
  if (hooks_.mpm) {
    MpmQuery q{x, y, floor_log2(uint32_t(size)), floor_log2(uint32_t(size))};
    int alt[6];
    for (int i = 0; i < 6; i++) alt[i] = mpm[i];
    if (hooks_.mpm->derive_mpm_list(q, alt))
      for (int i = 0; i < 6; i++) mpm[i] = alt[i];
  }
}

// 9.3.4.2.2 for split_cu_flag when only quadtree splits are allowed.
int PictureEncoder::split_ctx_inc(int x, int y, int log2) const {
  // Shared with the decoder (derive.h); sizes compared as log2 (square CUs).
  const size_t kl = size_t(y >> 2) * map_w_ + ((x - 1) >> 2), ka = size_t((y - 1) >> 2) * map_w_ + (x >> 2);
  const bool avail_l = x > 0 && luma_done_[kl], avail_a = y > 0 && luma_done_[ka];
  return split_cu_flag_ctx_inc(avail_l, avail_l ? size_map_[kl] : 0, avail_a, avail_a ? size_map_[ka] : 0, log2, log2);
}

// 8.4.3 with sps_cclm_enabled_flag = 0 and 4:2:0.
int PictureEncoder::chroma_mode_from_syntax(int syntax, int dm) const {
  return chroma_intra_mode(syntax, dm);  // shared with the decoder (derive.h)
}

uint64_t PictureEncoder::block_sse(int comp, int x, int y, int n) const {
  uint64_t s = 0;
  for (int j = 0; j < n; j++) {
    const Pel *o = org_[comp].row(y + j) + x, *r = rec_[comp].row(y + j) + x;
    for (int i = 0; i < n; i++) {
      const int d = o[i] - r[i];
      s += uint64_t(d * d);
    }
  }
  return s;
}

void PictureEncoder::code_block(int comp, int x, int y, int log2n, int mode, int32_t *levels, bool &cbf,
                                uint64_t &dist, bool allow_zero_rd, ContextSet *ctx_for_rd) {
  const int n = 1 << log2n;
  IntraRefs refs;
  build_intra_refs(rec_[comp], availability(comp), x, y, log2n, kBitDepth, refs);
  Pel pred[64 * 64];
  predict_intra(mode, log2n, comp == 0, refs, kBitDepth, pred);
  int32_t resid[64 * 64], coeff[64 * 64];
  for (int j = 0; j < n; j++)
    for (int i = 0; i < n; i++) resid[j * n + i] = org_[comp].at(x + i, y + j) - pred[j * n + i];
  forward_transform(resid, log2n, kBitDepth, coeff);
  const int qp = comp ? qp_chroma_ : qp_luma_;
  const int nz = (cfg_.rdoq && ctx_for_rd)
                     ? rdoq_quantize(coeff, log2n, qp, comp, kBitDepth, *ctx_for_rd, comp ? lambda_chroma_ : lambda_, levels)
                     : quantize(coeff, log2n, qp, kBitDepth, levels);
  cbf = nz > 0;
  uint64_t dist_pred = 0;
  if (cbf && allow_zero_rd) {
    for (int j = 0; j < n; j++)
      for (int i = 0; i < n; i++) {
        const int d = org_[comp].at(x + i, y + j) - pred[j * n + i];
        dist_pred += uint64_t(d * d);
      }
  }
  if (cbf) {
    dequantize(levels, log2n, qp, kBitDepth, coeff);
    inverse_transform(coeff, log2n, kBitDepth, resid);
    const int maxv = (1 << kBitDepth) - 1;
    for (int j = 0; j < n; j++)
      for (int i = 0; i < n; i++) rec_[comp].at(x + i, y + j) = Pel(clip3(0, maxv, pred[j * n + i] + resid[j * n + i]));
    dist = block_sse(comp, x, y, n);
    if (allow_zero_rd && ctx_for_rd) {
      // Compare against dropping the residual (cbf = 0).
      ContextSet c1 = *ctx_for_rd, c0 = *ctx_for_rd;
      CabacWriter e1(true), e0(true);
      e1.start(); e0.start();
      if (comp == 0) { write_tu_y_coded_flag(e1, c1, 1); write_tu_y_coded_flag(e0, c0, 0); }
      else if (comp == 1) { write_tu_cb_coded_flag(e1, c1, 1); write_tu_cb_coded_flag(e0, c0, 0); }
      write_residual_coding(e1, c1, levels, log2n, comp);
      const double lam = comp ? lambda_chroma_ : lambda_;
      const double j1 = double(dist) + lam * double(e1.frac_bits()) / (1 << kFracBitsShift);
      const double j0 = double(dist_pred) + lam * double(e0.frac_bits()) / (1 << kFracBitsShift);
      if (j0 <= j1) {
        cbf = false;
        for (int i = 0; i < n * n; i++) levels[i] = 0;
      }
    }
  }
  if (!cbf) {
    for (int j = 0; j < n; j++)
      for (int i = 0; i < n; i++) rec_[comp].at(x + i, y + j) = pred[j * n + i];
    dist = block_sse(comp, x, y, n);
  }
  mark_done(comp, x, y, n);
}

static double bits_of(const CabacWriter &e) { return double(e.frac_bits()) / (1 << kFracBitsShift); }

double PictureEncoder::search_luma(CuNode &node, int x, int y, int log2, ContextSet &ctx) {
  const int size = 1 << log2;
  int mpm[6];
  derive_mpm(x, y, size, mpm);
  const int tu_log2 = std::min(log2, 6);
  const int num_tu = log2 > 6 ? 4 : 1;
  const int tu_n = 1 << tu_log2;

  // Candidate modes: SATD pre-selection for single-TU CUs.
  std::vector<int> cands;
  if (num_tu == 1) {
    IntraRefs refs;
    build_intra_refs(rec_[0], availability(0), x, y, log2, kBitDepth, refs);
    Pel pred[64 * 64];
    std::vector<std::pair<double, int>> scored;
    scored.reserve(NUM_LUMA_MODES);
    for (int m = 0; m < NUM_LUMA_MODES; m++) {
      predict_intra(m, log2, true, refs, kBitDepth, pred);
      const uint64_t s = satd(org_[0].row(y) + x, org_[0].stride, pred, size, log2);
      ContextSet c = ctx;
      CabacWriter e(true);
      e.start();
      write_intra_luma_mode(e, c, m, mpm);
      scored.push_back({double(s) + sqrt_lambda_ * bits_of(e), m});
    }
    std::sort(scored.begin(), scored.end());
    const int keep = std::max(1, cfg_.intra_rd_candidates);
    for (int i = 0; i < keep && i < int(scored.size()); i++) cands.push_back(scored[i].second);
    for (int i = 0; i < 2; i++)
      if (std::find(cands.begin(), cands.end(), mpm[i]) == cands.end()) cands.push_back(mpm[i]);
  } else {
    cands = {INTRA_PLANAR, INTRA_DC, INTRA_ANGULAR18, INTRA_ANGULAR50};
    if (std::find(cands.begin(), cands.end(), mpm[1]) == cands.end()) cands.push_back(mpm[1]);
  }

  double best_cost = kInf;
  int best_mode = cands[0];
  ContextSet best_ctx;
  std::vector<int32_t> best_levels;
  uint8_t best_cbf[4] = {0};
  std::vector<Pel> best_rec;
  std::vector<int32_t> lv(size_t(num_tu) * tu_n * tu_n);
  for (int m : cands) {
    ContextSet c = ctx;
    CabacWriter e(true);
    e.start();
    write_intra_luma_mode(e, c, m, mpm);
    uint64_t dist = 0;
    uint8_t cbfs[4] = {0};
    for (int t = 0; t < num_tu; t++) {
      const int tx = x + (t & 1) * tu_n, ty = y + (t >> 1) * tu_n;
      int32_t *l = lv.data() + size_t(t) * tu_n * tu_n;
      bool cbf;
      uint64_t d;
      code_block(0, tx, ty, tu_log2, m, l, cbf, d, true, &c);
      dist += d;
      cbfs[t] = cbf;
      write_tu_y_coded_flag(e, c, cbf);
      if (cbf) write_residual_coding(e, c, l, tu_log2, 0);
    }
    const double cost = double(dist) + lambda_ * bits_of(e);
    if (cost < best_cost) {
      best_cost = cost;
      best_mode = m;
      best_ctx = c;
      best_levels = lv;
      for (int t = 0; t < 4; t++) best_cbf[t] = cbfs[t];
      best_rec.resize(size_t(size) * size);
      for (int j = 0; j < size; j++) std::copy_n(rec_[0].row(y + j) + x, size, best_rec.data() + size_t(j) * size);
    }
    // Undo the done marks so the next candidate sees the same references.
    for (int j = 0; j < size >> 2; j++)
      for (int i = 0; i < size >> 2; i++) luma_done_[size_t((y >> 2) + j) * map_w_ + (x >> 2) + i] = 0;
  }
  for (int j = 0; j < size; j++) std::copy_n(best_rec.data() + size_t(j) * size, size, rec_[0].row(y + j) + x);
  mark_done(0, x, y, size);
  set_luma_cu(x, y, log2, best_mode);
  ctx = best_ctx;
  node.luma_mode = best_mode;
  node.levels[0] = std::move(best_levels);
  for (int t = 0; t < 4; t++) node.cbf[0][t] = best_cbf[t];
  return best_cost;
}

double PictureEncoder::search_chroma(CuNode &node, int x, int y, int log2, int dm_mode, ContextSet &ctx) {
  const int cx = x / 2, cy = y / 2, clog2 = log2 - 1, csize = 1 << clog2;
  const int tu_log2 = std::min(clog2, 5);
  const int num_tu = clog2 > 5 ? 4 : 1;
  const int tu_n = 1 << tu_log2;
  double best_cost = kInf;
  int best_syntax = 4;
  ContextSet best_ctx;
  std::vector<int32_t> best_lv[2];
  uint8_t best_cbf[2][4] = {{0}};
  std::vector<Pel> best_rec[2];
  std::vector<int32_t> lv[2];
  for (int s = 4; s >= 0; s--) {
    const int mode = chroma_mode_from_syntax(s, dm_mode);
    ContextSet c = ctx;
    CabacWriter e(true);
    e.start();
    write_intra_chroma_pred_mode(e, c, s);
    uint64_t dist = 0;
    uint8_t cbfs[2][4] = {{0}};
    for (int k = 0; k < 2; k++) lv[k].assign(size_t(num_tu) * tu_n * tu_n, 0);
    for (int t = 0; t < num_tu; t++) {
      const int tx = cx + (t & 1) * tu_n, ty = cy + (t >> 1) * tu_n;
      bool cbf[2];
      for (int k = 0; k < 2; k++) {
        uint64_t d;
        code_block(1 + k, tx, ty, tu_log2, mode, lv[k].data() + size_t(t) * tu_n * tu_n, cbf[k], d, true, &c);
        dist += d;
        cbfs[k][t] = cbf[k];
      }
      write_tu_cb_coded_flag(e, c, cbf[0]);
      write_tu_cr_coded_flag(e, c, cbf[1], cbf[0]);
      for (int k = 0; k < 2; k++)
        if (cbf[k]) write_residual_coding(e, c, lv[k].data() + size_t(t) * tu_n * tu_n, tu_log2, 1 + k);
    }
    const double cost = (double(dist) + lambda_chroma_ * bits_of(e)) * (lambda_ / lambda_chroma_);
    if (cost < best_cost) {
      best_cost = cost;
      best_syntax = s;
      best_ctx = c;
      for (int k = 0; k < 2; k++) {
        best_lv[k] = lv[k];
        for (int t = 0; t < 4; t++) best_cbf[k][t] = cbfs[k][t];
        best_rec[k].resize(size_t(csize) * csize);
        for (int j = 0; j < csize; j++)
          std::copy_n(rec_[1 + k].row(cy + j) + cx, csize, best_rec[k].data() + size_t(j) * csize);
      }
    }
    for (int j = 0; j < csize >> 1; j++)
      for (int i = 0; i < csize >> 1; i++) chroma_done_[size_t((cy >> 1) + j) * map_w_ + (cx >> 1) + i] = 0;
  }
  for (int k = 0; k < 2; k++)
    for (int j = 0; j < csize; j++) std::copy_n(best_rec[k].data() + size_t(j) * csize, csize, rec_[1 + k].row(cy + j) + cx);
  mark_done(1, cx, cy, csize);
  ctx = best_ctx;
  node.chroma_syntax = best_syntax;
  for (int k = 0; k < 2; k++) {
    node.levels[1 + k] = std::move(best_lv[k]);
    for (int t = 0; t < 4; t++) node.cbf[1 + k][t] = best_cbf[k][t];
  }
  return best_cost;
}

double PictureEncoder::search_leaf(CuNode &node, int x, int y, int log2, TreeType tree, ContextSet &ctx) {
  double cost = 0;
  if (tree != DUAL_TREE_CHROMA) cost += search_luma(node, x, y, log2, ctx);
  if (tree == SINGLE_TREE) cost += search_chroma(node, x, y, log2, node.luma_mode, ctx);
  return cost;
}

double PictureEncoder::search_tree(CuNode &node, int x, int y, int log2, TreeType tree, const ContextSet &ctx_in,
                                   ContextSet &ctx_out) {
  const int size = 1 << log2;
  const bool inside = x + size <= width_ && y + size <= height_;
  // split_cu_flag is present when a quadtree split is allowed (MinQtSizeY = 4);
  // the encoder may still refuse to split below cfg.min_cu_log2 inside the picture.
  const bool signal_split = inside && log2 > 2;
  bool can_split = log2 > 2 && (log2 > cfg_.min_cu_log2 || !inside);
  // Without RD split decisions every CU is 32x32 (smaller only at the
  // picture boundary, where the quadtree split is implied).
  if (!cfg_.rdo_split && inside) can_split = can_split && log2 > 5;
  const bool must_split = !inside || (!cfg_.rdo_split && log2 > 5);
  const int split_inc = signal_split ? split_ctx_inc(x, y, log2) : 0;

  // Option A: no split.
  double cost_a = kInf;
  ContextSet ctx_a;
  AreaState state_a;
  CuNode leaf;
  if (!must_split) {
    ctx_a = ctx_in;
    CabacWriter e(true);
    e.start();
    if (signal_split) write_split_cu_flag(e, ctx_a, 0, split_inc);
    cost_a = lambda_ * bits_of(e) + search_leaf(leaf, x, y, log2, tree, ctx_a);
    if (!can_split) {
      node = std::move(leaf);
      ctx_out = ctx_a;
      return cost_a;
    }
    save_area(state_a, x, y, size);
    clear_done(x, y, size);
  }
  // Option B: quadtree split.
  CuNode split_node;
  split_node.split = true;
  ContextSet ctx_b = ctx_in;
  double cost_b = 0;
  {
    CabacWriter e(true);
    e.start();
    if (signal_split) write_split_cu_flag(e, ctx_b, 1, split_inc);
    cost_b = lambda_ * bits_of(e);
  }
  // 7.3.11.4: an 8x8 quadtree split in a single tree gives MODE_TYPE_INTRA:
  // luma children in DUAL_TREE_LUMA and one chroma CU at this node.
  const bool local_dual = qt_split_starts_local_dual_tree(log2, tree);  // derive.h
  const TreeType child_tree = local_dual ? DUAL_TREE_LUMA : tree;
  const int half = size >> 1;
  for (int k = 0; k < 4 && cost_b < cost_a; k++) {
    const int x1 = x + (k & 1) * half, y1 = y + (k >> 1) * half;
    if (x1 >= width_ || y1 >= height_) continue;
    split_node.child[k] = std::make_unique<CuNode>();
    ContextSet c_out;
    cost_b += search_tree(*split_node.child[k], x1, y1, log2 - 1, child_tree, ctx_b, c_out);
    ctx_b = c_out;
  }
  if (local_dual && cost_b < cost_a) {
    const int dm = mode_map_[size_t((y + 4) >> 2) * map_w_ + ((x + 4) >> 2)];
    cost_b += search_chroma(split_node, x, y, log2, dm, ctx_b);
  }
  if (cost_b < cost_a) {
    node = std::move(split_node);
    ctx_out = ctx_b;
    return cost_b;
  }
  restore_area(state_a);
  node = std::move(leaf);
  ctx_out = ctx_a;
  return cost_a;
}

// --- write pass (7.3.11.4 coding_tree, 7.3.11.5 coding_unit) ---

void PictureEncoder::write_cu(CabacWriter &w, ContextSet &cs, const CuNode &node, int x, int y, int log2,
                              TreeType tree) {
  if (tree != DUAL_TREE_CHROMA) {
    int mpm[6];
    derive_mpm(x, y, 1 << log2, mpm);
    write_intra_luma_mode(w, cs, node.luma_mode, mpm);
  }
  if (tree != DUAL_TREE_LUMA) write_intra_chroma_pred_mode(w, cs, node.chroma_syntax);
  // transform_tree(): implicit split of CUs wider than MaxTbSizeY (64).
  const int num_tu = log2 > 6 ? 4 : 1;
  const int tu_log2 = std::min(log2, 6);
  const int ytb = 1 << (2 * tu_log2), ctb = 1 << (2 * (tu_log2 - 1));
  for (int t = 0; t < num_tu; t++) {
    if (tree != DUAL_TREE_LUMA) {
      write_tu_cb_coded_flag(w, cs, node.cbf[1][t]);
      write_tu_cr_coded_flag(w, cs, node.cbf[2][t], node.cbf[1][t]);
    }
    if (tree != DUAL_TREE_CHROMA) write_tu_y_coded_flag(w, cs, node.cbf[0][t]);
    if (tree != DUAL_TREE_CHROMA && node.cbf[0][t])
      write_residual_coding(w, cs, node.levels[0].data() + size_t(t) * ytb, tu_log2, 0);
    if (tree != DUAL_TREE_LUMA)
      for (int k = 1; k <= 2; k++)
        if (node.cbf[k][t]) write_residual_coding(w, cs, node.levels[k].data() + size_t(t) * ctb, tu_log2 - 1, k);
  }
  // Transform block sizes for deblocking.
  {
    const int units = (1 << log2) >> 2;
    for (int j = 0; j < units; j++)
      for (int i = 0; i < units; i++) {
        const size_t k = size_t((y >> 2) + j) * map_w_ + (x >> 2) + i;
        if (tree != DUAL_TREE_CHROMA) luma_tb_log2_[k] = uint8_t(tu_log2);
        if (tree != DUAL_TREE_LUMA) chroma_tb_log2_[k] = uint8_t(tu_log2 - 1);
      }
  }
  // Mark decoded for the neighbour derivations of later CUs.
  if (tree != DUAL_TREE_CHROMA) {
    mark_done(0, x, y, 1 << log2);
    set_luma_cu(x, y, log2, node.luma_mode);
  }
}

void PictureEncoder::write_tree(CabacWriter &w, ContextSet &cs, const CuNode &node, int x, int y, int log2,
                                TreeType tree) {
  const int size = 1 << log2;
  const bool inside = x + size <= width_ && y + size <= height_;
  const bool can_split = log2 > 2;
  if (inside && can_split) write_split_cu_flag(w, cs, node.split, split_ctx_inc(x, y, log2));
  if (!node.split) {
    write_cu(w, cs, node, x, y, log2, tree);
    return;
  }
  const bool local_dual = qt_split_starts_local_dual_tree(log2, tree);  // derive.h
  const int half = size >> 1;
  for (int k = 0; k < 4; k++) {
    const int x1 = x + (k & 1) * half, y1 = y + (k >> 1) * half;
    if (x1 >= width_ || y1 >= height_) continue;
    write_tree(w, cs, *node.child[k], x1, y1, log2 - 1, local_dual ? DUAL_TREE_LUMA : tree);
  }
  if (local_dual) write_cu(w, cs, node, x, y, log2, DUAL_TREE_CHROMA);
}

void PictureEncoder::apply_cnn_in_loop_filter(CnnifSei &sei) {
  Picture pic;
  pic.allocate(width_, height_);
  for (int c = 0; c < 3; c++)
    for (size_t i = 0; i < rec_[c].data.size(); i++) pic.plane[c][i] = uint16_t(rec_[c].data[i]);
  hooks_.in_loop_filter->filter_picture(pic, cfg_.qp);
  Plane filtered[3];
  for (int c = 0; c < 3; c++) {
    filtered[c].allocate(rec_[c].width, rec_[c].height);
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
        const int x1 = std::min(x0 + s, rec_[c].width), y1 = std::min(y0 + s, rec_[c].height);
        for (int y = y0; y < y1; y++)
          for (int x = x0; x < x1; x++) {
            const int o = org_[c].at(x, y);
            const int a = o - rec_[c].at(x, y), b = o - filtered[c].at(x, y);
            gain[c ? 1 : 0] += int64_t(a) * a - int64_t(b) * b;
          }
      }
      sei.luma_on[size_t(cy) * sei.ctus_x + cx] = gain[0] > 0;
      sei.chroma_on[size_t(cy) * sei.ctus_x + cx] = gain[1] > 0;
    }
  apply_cnnif_flags(rec_, filtered, log2_ctu_, sei.luma_on, sei.chroma_on);
}

EncodeResult PictureEncoder::run() {
  const auto t0 = std::chrono::steady_clock::now();
  SequenceParams sps;
  sps.pic_width = width_;
  sps.pic_height = height_;
  // Conformance window in chroma units (SubWidthC = SubHeightC = 2).
  sps.conf_right = (width_ - src_w_) / 2;
  sps.conf_bottom = (height_ - src_h_) / 2;
  sps.log2_ctu_size = log2_ctu_;
  sps.log2_min_cb_size = 2;
  sps.bit_depth = kBitDepth;
  sps.level_idc = level_idc_for(width_, height_);
  sps.colour = cfg_.colour;
  if (hooks_.mpm) sps.cnnmc_model_id = hooks_.mpm->model_id();
  SliceParams sl;
  sl.slice_qp = cfg_.qp;
  sl.deblocking = cfg_.deblocking;
  sl.chroma_qp_offset = cfg_.chroma_qp_offset;

  ContextSet write_ctx;
  write_ctx.init(cfg_.qp);
  CabacWriter writer(false);
  writer.start();
  const int ctu = 1 << log2_ctu_;
  const int ctus_x = (width_ + ctu - 1) / ctu, ctus_y = (height_ + ctu - 1) / ctu;
  for (int cy = 0; cy < ctus_y; cy++) {
    for (int cx = 0; cx < ctus_x; cx++) {
      const int x = cx * ctu, y = cy * ctu;
      if (hooks_.mpm) {
        // CNNMC: the predictor sees the causal neighbourhood once per CTU; the
        // search and the write pass of this CTU then use the same MPM lists.
        if (!neighbourhood_) neighbourhood_ = std::make_unique<CtuNeighbourhood>();
        build_ctu_neighbourhood(rec_[0].data.data(), rec_[0].stride, width_, height_, mode_map_.data(), map_w_, x, y,
                                log2_ctu_, *neighbourhood_);
        hooks_.mpm->begin_ctu(*neighbourhood_);
      }
      CuNode root;
      ContextSet out;
      search_tree(root, x, y, log2_ctu_, SINGLE_TREE, write_ctx, out);
      // The write pass re-derives neighbour maps in decoding order.
      clear_done(x, y, ctu);
      write_tree(writer, write_ctx, root, x, y, log2_ctu_, SINGLE_TREE);
      // Every sample of the CTU is reconstructed now.
      for (int j = y >> 2; j < std::min(y + ctu, height_) >> 2; j++)
        for (int i = x >> 2; i < std::min(x + ctu, width_) >> 2; i++) chroma_done_[size_t(j) * map_w_ + i] = 1;
    }
  }
  // 7.3.8.1: end_of_slice_one_bit follows only the last CTU of the slice.
  writer.encode_terminate(1);
  writer.rbsp_trailing_bits();  // rbsp_slice_trailing_bits()

  // In-loop filters: deblocking (8.8.3), then the optional tool hook.
  if (cfg_.deblocking) {
    DeblockParams dp;
    dp.width = width_;
    dp.height = height_;
    dp.log2_ctu = log2_ctu_;
    dp.bit_depth = kBitDepth;
    // Identity ChromaQpTable: QpC = QpY + pps_cb_qp_offset (= pps_cr_qp_offset).
    dp.chroma_qp_offset[0] = dp.chroma_qp_offset[1] = cfg_.chroma_qp_offset;
    const DeblockMaps maps =
        square_block_maps(width_, height_, map_w_, luma_tb_log2_.data(), chroma_tb_log2_.data(), cfg_.qp);
    maps.attach(dp);
    deblock_picture(rec_, dp);
  }
  CnnifSei cnnif;
  const bool use_cnnif = hooks_.in_loop_filter != nullptr;
  if (use_cnnif) apply_cnn_in_loop_filter(cnnif);
  EncodeResult res;
  {
    Picture full;
    full.allocate(width_, height_);
    for (int c = 0; c < 3; c++)
      for (size_t i = 0; i < rec_[c].data.size(); i++) full.plane[c][i] = uint16_t(rec_[c].data[i]);
    // Output: the conformance-window cropped picture.
    const int ow = width_ - 2 * sps.conf_right, oh = height_ - 2 * sps.conf_bottom;
    res.recon.allocate(ow, oh);
    for (int c = 0; c < 3; c++) {
      const int w = c ? ow / 2 : ow, h = c ? oh / 2 : oh, fw = c ? width_ / 2 : width_;
      for (int j = 0; j < h; j++)
        for (int i = 0; i < w; i++) res.recon.plane[c][size_t(j) * w + i] = full.plane[c][size_t(j) * fw + i];
    }
  }

  res.luma_modes = mode_map_;
  res.cu_log2 = size_map_;
  res.modes_width = map_w_;
  res.modes_height = map_h_;

  BitWriter sh;
  write_slice_header(sh, sps, sl);
  std::vector<uint8_t> slice = sh.bytes();
  slice.insert(slice.end(), writer.bytes().begin(), writer.bytes().end());
  append_nal_unit(res.bitstream, NAL_SPS, write_sps(sps));
  append_nal_unit(res.bitstream, NAL_PPS, write_pps(sps, sl));
  if (use_cnnif) append_nal_unit(res.bitstream, NAL_PREFIX_SEI, write_cnnif_sei_rbsp(cnnif));
  // A CNNMC slice uses the reserved IRAP type so that standard decoders skip it.
  append_nal_unit(res.bitstream, hooks_.mpm ? NalUnitType(kNalCnnmcIrap) : NAL_IDR_N_LP, slice);
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

}  // namespace

EncodeResult encode_picture(const Picture &src, const EncoderConfig &cfg) {
  return encode_picture(src, cfg, Hooks{});
}

EncodeResult encode_picture(const Picture &src, const EncoderConfig &cfg, const Hooks &hooks) {
  init_tables();
  if (src.width <= 0 || src.height <= 0) throw std::invalid_argument("picture is empty (width and height must be > 0)");
  if (src.width > 16384 || src.height > 16384)
    throw std::invalid_argument("picture larger than 16384x16384 is not supported");
  if (cfg.qp < 0 || cfg.qp > 63) throw std::invalid_argument("qp must be in 0..63");
  if (cfg.chroma_qp_offset < -12 || cfg.chroma_qp_offset > 12)
    throw std::invalid_argument("chroma_qp_offset must be in -12..12");
  if (cfg.max_cu_log2 != 7) throw std::invalid_argument("only a CTU size of 128 is supported");
  if (cfg.min_cu_log2 < 2 || cfg.min_cu_log2 > 7) throw std::invalid_argument("min_cu_log2 must be in 2..7");
  const size_t ls = size_t(src.width) * src.height, cs = size_t(src.chroma_width()) * src.chroma_height();
  if (src.plane[0].size() != ls || src.plane[1].size() != cs || src.plane[2].size() != cs)
    throw std::invalid_argument("plane sizes do not match a 4:2:0 picture of the given width and height");
  for (int c = 0; c < 3; c++)
    for (uint16_t v : src.plane[c])
      if (v > 1023) throw std::invalid_argument("sample values must be 10-bit (0..1023)");
  PictureEncoder enc(src, cfg, hooks);
  return enc.run();
}

}  // namespace pyvtm
