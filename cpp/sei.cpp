#include "sei.h"

#include <algorithm>
#include <stdexcept>

namespace pyvtm {

// UUID identifying pyvtm's CNNIF payload (uuid_iso_iec_11578).
static const uint8_t kCnnifUuid[16] = {0x70, 0x79, 0x76, 0x74, 0x6d, 0x2d, 0x63, 0x6e,
                                       0x6e, 0x69, 0x66, 0x2d, 0x53, 0x45, 0x49, 0x01};
static const char kMarker[5] = {'P', 'Y', 'V', 'T', 'M'};

std::vector<uint8_t> write_cnnif_sei_rbsp(const CnnifSei &sei) {
  if (sei.model_id.size() > 255) throw std::invalid_argument("CNNIF model id longer than 255 bytes");
  const size_t n = size_t(sei.ctus_x) * sei.ctus_y;
  if (sei.luma_on.size() != n || sei.chroma_on.size() != n) throw std::invalid_argument("CNNIF flags per CTU missing");
  std::vector<uint8_t> payload(kCnnifUuid, kCnnifUuid + 16);
  payload.push_back(1);  // version
  payload.push_back(uint8_t(sei.model_id.size()));
  payload.insert(payload.end(), sei.model_id.begin(), sei.model_id.end());
  payload.push_back(uint8_t(sei.ctus_x >> 8));
  payload.push_back(uint8_t(sei.ctus_x));
  payload.push_back(uint8_t(sei.ctus_y >> 8));
  payload.push_back(uint8_t(sei.ctus_y));
  BitWriter flags;
  for (size_t i = 0; i < n; i++) {
    flags.write_bit(sei.luma_on[i] ? 1 : 0);
    flags.write_bit(sei.chroma_on[i] ? 1 : 0);
  }
  flags.align_zero();
  payload.insert(payload.end(), flags.bytes().begin(), flags.bytes().end());

  BitWriter bw;
  // sei_message(): payloadType 5 (user_data_unregistered), payloadSize.
  bw.write(5, 8);
  size_t size = payload.size();
  while (size >= 255) { bw.write(255, 8); size -= 255; }
  bw.write(uint32_t(size), 8);
  bw.append_bytes(payload);
  bw.rbsp_trailing_bits();
  return bw.bytes();
}

bool read_cnnif_sei_rbsp(const std::vector<uint8_t> &rbsp, CnnifSei &out) {
  size_t pos = 0;
  auto byte = [&]() -> int {
    if (pos >= rbsp.size()) throw std::runtime_error("SEI message truncated");
    return rbsp[pos++];
  };
  // Walk the sei_message()s until ours or the trailing bits.
  while (pos < rbsp.size() && !(rbsp[pos] == 0x80 && pos + 1 == rbsp.size())) {
    int type = 0, b;
    do { b = byte(); type += b; } while (b == 255);
    size_t size = 0;
    do { b = byte(); size += size_t(b); } while (b == 255);
    if (size > rbsp.size() - pos) throw std::runtime_error("SEI payload size exceeds the NAL unit");
    const size_t end = pos + size;
    if (type == 5 && size >= 16 && std::equal(kCnnifUuid, kCnnifUuid + 16, rbsp.begin() + long(pos))) {
      pos += 16;
      auto need = [&](size_t k) {
        if (pos + k > end) throw std::runtime_error("pyvtm CNNIF SEI payload truncated");
      };
      need(2);
      const int version = rbsp[pos++];
      if (version != 1) throw std::runtime_error("pyvtm CNNIF SEI version " + std::to_string(version) + " not supported");
      const size_t len = rbsp[pos++];
      need(len + 4);
      out.model_id.assign(reinterpret_cast<const char *>(rbsp.data() + pos), len);
      pos += len;
      out.ctus_x = (rbsp[pos] << 8) | rbsp[pos + 1];
      out.ctus_y = (rbsp[pos + 2] << 8) | rbsp[pos + 3];
      pos += 4;
      const size_t n = size_t(out.ctus_x) * out.ctus_y;
      need((2 * n + 7) / 8);
      out.luma_on.resize(n);
      out.chroma_on.resize(n);
      for (size_t i = 0; i < n; i++) {
        const size_t bl = 2 * i, bc = 2 * i + 1;
        out.luma_on[i] = (rbsp[pos + bl / 8] >> (7 - bl % 8)) & 1;
        out.chroma_on[i] = (rbsp[pos + bc / 8] >> (7 - bc % 8)) & 1;
      }
      return true;
    }
    pos = end;
  }
  return false;
}

void write_cnnmc_sps_extension(BitWriter &bw, const std::string &model_id) {
  if (model_id.size() > 255) throw std::invalid_argument("CNNMC model id longer than 255 bytes");
  for (char c : kMarker) bw.write(uint8_t(c), 8);
  bw.write(1, 8);  // version
  bw.write(1, 8);  // tool: CNNMC
  bw.write(uint32_t(model_id.size()), 8);
  for (char c : model_id) bw.write(uint8_t(c), 8);
}

bool read_cnnmc_sps_extension(const std::vector<uint8_t> &bits, std::string &model_id) {
  auto byte_at = [&](size_t i) {
    int v = 0;
    for (int k = 0; k < 8; k++) v = (v << 1) | (bits[8 * i + k] & 1);
    return v;
  };
  const size_t nbytes = bits.size() / 8;
  if (nbytes < 8) return false;
  for (int i = 0; i < 5; i++)
    if (byte_at(size_t(i)) != kMarker[i]) return false;
  if (byte_at(5) != 1) throw std::runtime_error("pyvtm SPS extension version not supported");
  if (byte_at(6) != 1) throw std::runtime_error("pyvtm SPS extension names an unknown tool");
  const size_t len = size_t(byte_at(7));
  if (nbytes < 8 + len) throw std::runtime_error("pyvtm SPS extension truncated");
  model_id.clear();
  for (size_t i = 0; i < len; i++) model_id.push_back(char(byte_at(8 + i)));
  return true;
}

}  // namespace pyvtm
