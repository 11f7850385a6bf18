// Slice data PARSING (7.3.8 slice_data, 7.3.11.x coding tree / unit /
// transform tree / transform unit): reads the CABAC syntax of one CTU into
// plain structs. No sample is touched here; reconstruction (decoder.cpp)
// consumes the structs. The neighbour-dependent derivations (split_cu_flag
// context, MPM list, chroma DM mode) come from derive.h, shared with the
// encoder's writer.
#pragma once
#include <cstdint>
#include <vector>

#include "cabac.h"
#include "common.h"
#include "hooks.h"

namespace pyvtm {

// One transform unit: luma TB at (x, y) of side 1 << log2 (luma samples);
// its chroma TBs are at (x / 2, y / 2) of side 1 << (log2 - 1).
struct TransformUnitSyntax {
  int x = 0, y = 0, log2 = 2;
  uint8_t cbf[3] = {0, 0, 0};          // tu_y/cb/cr_coded_flag
  uint32_t coeff_offset[3] = {0, 0, 0};  // into CtuSyntax::coeffs when cbf
};

// One coding unit (intra): position and size in luma samples.
struct CodingUnitSyntax {
  int x = 0, y = 0, log2 = 2;
  TreeType tree = SINGLE_TREE;
  int luma_mode = INTRA_PLANAR;    // IntraPredModeY (tree != DUAL_TREE_CHROMA)
  int chroma_syntax = 4;           // intra_chroma_pred_mode (tree != DUAL_TREE_LUMA)
  int chroma_mode = INTRA_PLANAR;  // IntraPredModeC (8.4.3)
  int first_tu = 0, num_tu = 0;    // into CtuSyntax::tus, in decoding order
};

struct CtuSyntax {
  std::vector<CodingUnitSyntax> cus;  // decoding order
  std::vector<TransformUnitSyntax> tus;
  std::vector<int32_t> coeffs;        // TransCoeffLevel, raster per TB
  void clear() { cus.clear(); tus.clear(); coeffs.clear(); }
};

// What slice-data parsing needs from the parameter sets.
struct SliceLayout {
  int width = 0, height = 0;  // coded picture size (multiple of 8)
  int log2_ctu = 7;
  int log2_min_cb = 2;
  int log2_min_qt = 2;  // MinQtLog2SizeIntraY
  int log2_max_tb = 6;  // MaxTbLog2SizeY
  int slice_qp = 32;    // SliceQpY (context initialisation)
};

class SliceParser {
 public:
  // data/size: slice_data() bytes (the RBSP after the slice header).
  SliceParser(const SliceLayout &layout, const uint8_t *data, size_t size, const Hooks &hooks);
  int ctus_x() const { return ctus_x_; }
  int ctus_y() const { return ctus_y_; }
  int num_ctus() const { return ctus_x_ * ctus_y_; }
  // Parses CTU number ctu_addr (raster order); after the last CTU also the
  // end_of_slice_one_bit and the slice trailing bits.
  // Throws DecodeError.
  void parse_ctu(int ctu_addr, CtuSyntax &out);
  // IntraPredModeY of the parsed CUs per 4x4 luma unit (CNNMC input).
  const std::vector<uint8_t> &mode_map() const { return mode_map_; }
  int map_stride() const { return map_w_; }

 private:
  void coding_tree(int x, int y, int log2, TreeType tree, CtuSyntax &out);
  void coding_unit(int x, int y, int log2, TreeType tree, CtuSyntax &out);
  void transform_tree(int x, int y, int log2, TreeType tree, CtuSyntax &out);
  int mode_at(int x, int y) const;  // IntraPredModeY of a parsed CU, or -1

  SliceLayout lay_;
  Hooks hooks_;
  CabacReader cabac_;
  ContextSet ctx_;
  int ctus_x_ = 0, ctus_y_ = 0;
  // Per 4x4 luma unit: parsed (luma CU available), IntraPredModeY, log2 CU size.
  int map_w_ = 0, map_h_ = 0;
  std::vector<uint8_t> parsed_, mode_map_, size_map_;
};

}  // namespace pyvtm
