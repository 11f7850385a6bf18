#include "bitstream.h"

#include "api.h"

namespace pyvtm {

void append_nal_unit(std::vector<uint8_t> &out, NalUnitType type, const std::vector<uint8_t> &rbsp,
                     int temporal_id) {
  // Annex B: zero_byte + start_code_prefix_one_3bytes (4-byte start codes).
  out.insert(out.end(), {0, 0, 0, 1});
  // nal_unit_header(): forbidden_zero_bit, nuh_reserved_zero_bit, nuh_layer_id(6),
  // nal_unit_type(5), nuh_temporal_id_plus1(3).
  out.push_back(0);
  out.push_back(uint8_t((int(type) << 3) | (temporal_id + 1)));
  // Emulation prevention (7.4.2): no 0x000000..0x000003 inside the payload.
  int zeros = 0;
  for (uint8_t b : rbsp) {
    if (zeros >= 2 && b <= 3) { out.push_back(3); zeros = 0; }
    out.push_back(b);
    zeros = (b == 0) ? zeros + 1 : 0;
  }
  // A NAL unit must not end with 0x00: rbsp_trailing_bits guarantees this.
}

// --- BitReader ----------------------------------------------------------------

void BitReader::fail(const std::string &msg) const { throw DecodeError(std::string(what_) + ": " + msg); }

thread_local std::vector<SyntaxTraceEntry> *g_syntax_trace = nullptr;

uint32_t BitReader::read(int nbits, const char *name) {
  if (size_t(nbits) > bits_left()) fail(std::string("truncated (ends while reading ") + name + ")");
  if (g_syntax_trace) g_syntax_trace->push_back({name, pos_, nbits});
  uint32_t v = 0;
  for (int i = 0; i < nbits; i++, pos_++) v = (v << 1) | ((data_[pos_ >> 3] >> (7 - (pos_ & 7))) & 1);
  return v;
}

void BitReader::skip_bits(size_t n, const char *name) {
  if (n > bits_left()) fail(std::string("truncated (ends while reading ") + name + ")");
  pos_ += n;
}

uint32_t BitReader::read_ue(const char *name, uint32_t max_value) {
  // 9.2: leadingZeroBits, then as many bits. Values above 2^32 - 2 are
  // invalid in any syntax element, so more than 31 leading zeros is an error.
  int zeros = 0;
  while (read(1, name) == 0) {
    if (++zeros > 31) fail(std::string("invalid Exp-Golomb code for ") + name);
  }
  const uint64_t v = (uint64_t(1) << zeros) - 1 + (zeros ? read(zeros, name) : 0);
  if (v > max_value)
    fail(std::string(name) + " = " + std::to_string(v) + " is out of range (max " + std::to_string(max_value) + ")");
  return uint32_t(v);
}

int32_t BitReader::read_se(const char *name, int32_t min_value, int32_t max_value) {
  const uint32_t k = read_ue(name, 0xFFFFFFFEu);
  const int64_t v = (k & 1) ? int64_t((uint64_t(k) + 1) >> 1) : -int64_t(k >> 1);
  if (v < min_value || v > max_value)
    fail(std::string(name) + " = " + std::to_string(v) + " is out of range (" + std::to_string(min_value) + ".." +
         std::to_string(max_value) + ")");
  return int32_t(v);
}

bool BitReader::more_rbsp_data() const {
  // More data unless only the rbsp_stop_one_bit and zero bits follow.
  if (bits_left() == 0) return false;
  size_t last = size_;
  while (last > 0 && data_[last - 1] == 0) last--;
  if (last == 0) return false;
  const uint8_t b = data_[last - 1];
  int tz = 0;
  while (!((b >> tz) & 1)) tz++;
  const size_t stop_bit_pos = (last - 1) * 8 + size_t(7 - tz);
  return pos_ < stop_bit_pos;
}

void BitReader::rbsp_trailing_bits() {
  if (read(1, "rbsp_stop_one_bit") != 1) fail("rbsp_stop_one_bit is not 1 (syntax does not match)");
  while (!byte_aligned())
    if (read(1, "rbsp_alignment_zero_bit") != 0) fail("rbsp_alignment_zero_bit is not 0 (syntax does not match)");
}

void BitReader::byte_alignment(const char *name) {
  if (read(1, name) != 1) fail(std::string(name) + ": byte_alignment() does not start with a one bit");
  while (!byte_aligned())
    if (read(1, name) != 0) fail(std::string(name) + ": byte_alignment() zero bits are not 0");
}

// --- NAL units -----------------------------------------------------------------

const char *nal_unit_type_name(int t) {
  static const char *names[32] = {"TRAIL", "STSA", "RADL", "RASL", "RSV_VCL_4", "RSV_VCL_5", "RSV_VCL_6",
                                  "IDR_W_RADL", "IDR_N_LP", "CRA", "GDR", "RSV_IRAP_11", "OPI", "DCI", "VPS",
                                  "SPS", "PPS", "PREFIX_APS", "SUFFIX_APS", "PH", "AUD", "EOS", "EOB",
                                  "PREFIX_SEI", "SUFFIX_SEI", "FD", "RSV_NVCL_26", "RSV_NVCL_27",
                                  "UNSPEC_28", "UNSPEC_29", "UNSPEC_30", "UNSPEC_31"};
  return (t >= 0 && t < 32) ? names[t] : "?";
}

std::vector<NalUnit> split_nal_units(const uint8_t *data, size_t size) {
  std::vector<NalUnit> out;
  if (size == 0) throw DecodeError("empty input: not a VVC Annex-B byte stream");
  // B.2: leading_zero_8bits, then a start code prefix 0x000001.
  size_t i = 0;
  while (i < size && data[i] == 0) i++;
  if (i == size) throw DecodeError("input holds only zero bytes: not a VVC Annex-B byte stream");
  if (i < 2 || data[i] != 1)
    throw DecodeError("not a VVC Annex-B byte stream: it does not begin with a start code (00 00 01)");
  i++;  // past the 0x01
  while (i <= size) {
    // NAL unit from i to the next 0x000000 / 0x000001 (or the end).
    size_t end = i, next = size;
    int zeros = 0;
    for (size_t k = i; k < size; k++) {
      const uint8_t b = data[k];
      if (zeros >= 2 && b <= 1) {
        end = k - 2;
        next = k;
        break;
      }
      zeros = b == 0 ? zeros + 1 : 0;
      end = k + 1;
    }
    if (next == size) end = size;
    // Trailing zero bytes (trailing_zero_8bits) do not belong to the NAL unit.
    while (end > i && data[end - 1] == 0) end--;
    if (end - i < 2)
      throw DecodeError("NAL unit at byte " + std::to_string(i) + " is shorter than its 2-byte header");
    NalUnit nal;
    nal.offset = i;
    const uint8_t h0 = data[i], h1 = data[i + 1];
    if (h0 & 0x80) throw DecodeError("NAL unit at byte " + std::to_string(i) + ": forbidden_zero_bit is 1");
    nal.layer_id = h0 & 0x3F;
    nal.type = h1 >> 3;
    if ((h1 & 7) == 0)
      throw DecodeError("NAL unit at byte " + std::to_string(i) + ": nuh_temporal_id_plus1 is 0");
    nal.temporal_id = (h1 & 7) - 1;
    // Emulation prevention: drop the 0x03 of every 0x000003.
    nal.rbsp.reserve(end - i - 2);
    zeros = 0;
    for (size_t k = i + 2; k < end; k++) {
      const uint8_t b = data[k];
      if (zeros >= 2 && b == 3) {
        zeros = 0;
        continue;
      }
      nal.rbsp.push_back(b);
      zeros = b == 0 ? zeros + 1 : 0;
    }
    out.push_back(std::move(nal));
    if (next >= size) break;
    // Skip zero bytes up to the 0x01 of the next start code; a 0x000000
    // sequence not followed by a start code ends the stream's data.
    size_t k = next;
    while (k < size && data[k] == 0) k++;
    if (k >= size) break;
    if (data[k] != 1)
      throw DecodeError("byte stream: zero bytes at offset " + std::to_string(next) +
                        " are not followed by a start code");
    i = k + 1;
  }
  return out;
}

}  // namespace pyvtm
