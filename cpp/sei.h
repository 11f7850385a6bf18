// pyvtm's own SEI and parameter-set extensions for the CNN tools, writer and
// reader side by side.
//
// CNNIF travels in a user_data_unregistered SEI message (D.2.?, payloadType 5)
// in a prefix SEI NAL unit: a standard decoder ignores it and outputs the
// picture before the CNN filter. The payload after the 16-byte UUID is
//   u8  version (1)
//   u8  model id length L, then L bytes of model id (ASCII)
//   u16 ctus_x, u16 ctus_y (big endian)
//   2 bits per CTU in raster order, MSB first: luma on, chroma on; zero padded
//
// CNNMC changes how intra_luma_mpm_idx is interpreted, so a standard decoder
// must not decode such a stream: its slice uses the reserved IRAP NAL unit type
// RSV_IRAP_11 (ignored by standard decoders) and the SPS carries, in
// sps_extension_data_flag bits (sps_extension_7bits = 1), the marker
//   "PYVTM" u8 version(1) u8 tool(1 = CNNMC) u8 L, L bytes of model id.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "bitstream.h"

namespace pyvtm {

constexpr int kNalCnnmcIrap = 11;  // RSV_IRAP_11

struct CnnifSei {
  std::string model_id;
  int ctus_x = 0, ctus_y = 0;
  std::vector<uint8_t> luma_on, chroma_on;  // one entry per CTU
};

// sei_rbsp() holding one user_data_unregistered message.
std::vector<uint8_t> write_cnnif_sei_rbsp(const CnnifSei &sei);
// Parses one SEI RBSP. Returns true and fills out when it holds a pyvtm CNNIF
// message; false for any other SEI; throws std::runtime_error when a pyvtm
// message is malformed.
bool read_cnnif_sei_rbsp(const std::vector<uint8_t> &rbsp, CnnifSei &out);

// SPS extension marker of CNNMC streams.
void write_cnnmc_sps_extension(BitWriter &bw, const std::string &model_id);
// bits: the sps_extension_data_flag values in order. Returns true and the
// model id when they hold the CNNMC marker.
bool read_cnnmc_sps_extension(const std::vector<uint8_t> &bits, std::string &model_id);

}  // namespace pyvtm
