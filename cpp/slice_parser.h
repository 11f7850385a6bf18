// Slice data PARSING (7.3.8 slice_data and the coding tree below it): reads
// the CABAC syntax of one CTU into a CtuRecord (coding_tree.h) with the same
// syntax walker the encoder writes with. No sample is touched here;
// reconstruction (decoder.cpp) consumes the records.
#pragma once
#include <cstdint>
#include <vector>

#include "cabac.h"
#include "coding_tree.h"
#include "common.h"
#include "hooks.h"
#include "partition.h"

namespace pyvtm {

// What slice-data parsing needs from the parameter sets.
struct SliceLayout {
  PartitionLimits lim;  // picture size, CTU size, partition constraints
  bool cclm = false;    // sps_cclm_enabled_flag
  bool joint_cbcr = false;  // sps_joint_cbcr_enabled_flag
  bool mrl = false;         // sps_mrl_enabled_flag
  bool mip = false;         // sps_mip_enabled_flag
  bool isp = false;         // sps_isp_enabled_flag
  TransformTools tools;  // sps_mts_enabled_flag, sps_explicit_mts_intra_enabled_flag, sps_lfnst_enabled_flag
  int slice_qp = 32;    // SliceQpY (context initialisation)
  TsTools ts;           // transform skip / BDPCM switches
  SaoSliceFlags sao;    // sh_sao_luma_used_flag / sh_sao_chroma_used_flag
  AlfCtuSyntax alf;     // sh_alf_* and the APS sizes
  int bit_depth = 10;
  ResidualCodingParams residual;  // sh_dep_quant_used_flag, sh_sign_data_hiding_used_flag
};

class SliceParser {
 public:
  // data/size: slice_data() bytes (the RBSP after the slice header).
  SliceParser(const SliceLayout &layout, const uint8_t *data, size_t size, const Hooks &hooks);
  int ctus_x() const { return ctus_x_; }
  int ctus_y() const { return ctus_y_; }
  int num_ctus() const { return ctus_x_ * ctus_y_; }
  // Parses CTU number ctu_addr (raster order); after the last CTU also the
  // end_of_slice_one_bit and the slice trailing bits. Throws DecodeError.
  void parse_ctu(int ctu_addr, CtuRecord &out);
  // IntraPredModeY of the parsed CUs per 4x4 luma unit (CNNMC input).
  const std::vector<uint8_t> &mode_map() const { return maps_.luma_mode; }
  int map_stride() const { return maps_.stride; }
  const CodingMaps &maps() const { return maps_; }

 private:
  SliceLayout lay_;
  Hooks hooks_;
  CabacReader cabac_;
  ContextSet ctx_;
  CodingMaps maps_;
  CodingTreeSyntax syntax_;
  int ctus_x_ = 0, ctus_y_ = 0;
};

}  // namespace pyvtm
