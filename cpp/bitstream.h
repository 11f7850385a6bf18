// Bit writing (clause 7.2 descriptors u(n), ue(v), se(v)) and NAL unit
// packaging with emulation prevention (7.3.1, 7.4.2).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace pyvtm {

class BitWriter {
 public:
  void write(uint32_t value, int nbits) {  // u(n), n <= 32
    for (int i = nbits - 1; i >= 0; i--) write_bit((value >> i) & 1);
  }
  void write_bit(int b) {
    cur_ = uint8_t((cur_ << 1) | (b & 1));
    if (++nbits_ == 8) { bytes_.push_back(cur_); cur_ = 0; nbits_ = 0; }
  }
  void write_flag(bool b) { write_bit(b ? 1 : 0); }
  void write_ue(uint32_t v) {  // ue(v), 9.2
    uint64_t x = uint64_t(v) + 1;
    int len = 0;
    while ((x >> len) > 1) len++;
    for (int i = 0; i < len; i++) write_bit(0);
    for (int i = len; i >= 0; i--) write_bit(int((x >> i) & 1));
  }
  void write_se(int32_t v) { write_ue(v > 0 ? uint32_t(2 * int64_t(v) - 1) : uint32_t(-2 * int64_t(v))); }
  bool byte_aligned() const { return nbits_ == 0; }
  void align_zero() { while (!byte_aligned()) write_bit(0); }
  // rbsp_trailing_bits(): rbsp_stop_one_bit followed by alignment zeros.
  void rbsp_trailing_bits() { write_bit(1); align_zero(); }
  // byte_alignment(): alignment_bit_equal_to_one then zeros.
  void byte_alignment() { write_bit(1); align_zero(); }
  size_t bit_count() const { return bytes_.size() * 8 + nbits_; }
  const std::vector<uint8_t> &bytes() const { return bytes_; }  // only whole bytes
  void append_bytes(const std::vector<uint8_t> &b) {  // requires byte alignment
    bytes_.insert(bytes_.end(), b.begin(), b.end());
  }

 private:
  std::vector<uint8_t> bytes_;
  uint8_t cur_ = 0;
  int nbits_ = 0;
};

// NAL unit types used (Table 5).
enum NalUnitType {
  NAL_TRAIL = 0, NAL_STSA = 1, NAL_RADL = 2, NAL_RASL = 3, NAL_IDR_W_RADL = 7, NAL_IDR_N_LP = 8, NAL_CRA = 9,
  NAL_GDR = 10, NAL_OPI = 12, NAL_DCI = 13, NAL_VPS = 14, NAL_SPS = 15, NAL_PPS = 16, NAL_PREFIX_APS = 17,
  NAL_SUFFIX_APS = 18, NAL_PH = 19, NAL_AUD = 20, NAL_EOS = 21, NAL_EOB = 22, NAL_PREFIX_SEI = 23,
  NAL_SUFFIX_SEI = 24, NAL_FD = 25
};

// Appends one NAL unit in Annex B form (start code, header, EBSP) to out.
void append_nal_unit(std::vector<uint8_t> &out, NalUnitType type, const std::vector<uint8_t> &rbsp,
                     int temporal_id = 0);

// --- Reading (decoder side) -------------------------------------------------

// Optional record of every syntax element a BitReader reads (name, first bit,
// length): set g_syntax_trace to a vector to collect (tests, debugging).
struct SyntaxTraceEntry {
  const char *name;
  size_t bit_pos;
  int nbits;
};
extern thread_local std::vector<SyntaxTraceEntry> *g_syntax_trace;

// Bit reading of an RBSP (descriptors u(n), ue(v), se(v), 7.2 / 9.2). Every
// read is bounds-checked: running past the end throws DecodeError naming the
// structure and the syntax element being read.
class BitReader {
 public:
  BitReader(const uint8_t *data, size_t size, const char *structure)
      : data_(data), size_(size), what_(structure) {}
  uint32_t read(int nbits, const char *name);  // u(n), n <= 32
  bool read_flag(const char *name) { return read(1, name) != 0; }
  // ue(v) with the value range checked (inclusive).
  uint32_t read_ue(const char *name, uint32_t max_value);
  int32_t read_se(const char *name, int32_t min_value, int32_t max_value);
  bool byte_aligned() const { return (pos_ & 7) == 0; }
  size_t bit_pos() const { return pos_; }
  size_t bits_left() const { return size_ * 8 - pos_; }
  void skip_bits(size_t n, const char *name);
  // more_rbsp_data() of 7.2.
  bool more_rbsp_data() const;
  // rbsp_trailing_bits() / byte_alignment(): a one then zeros to the byte end.
  void rbsp_trailing_bits();
  void byte_alignment(const char *name);
  // Throws DecodeError("<structure>: <msg>").
  [[noreturn]] void fail(const std::string &msg) const;
  const char *structure() const { return what_; }

 private:
  const uint8_t *data_;
  size_t size_;
  size_t pos_ = 0;  // in bits
  const char *what_;
};

// One NAL unit of an Annex-B byte stream, emulation prevention removed.
struct NalUnit {
  int type = 0;         // nal_unit_type
  int layer_id = 0;     // nuh_layer_id
  int temporal_id = 0;  // TemporalId = nuh_temporal_id_plus1 - 1
  size_t offset = 0;    // byte offset of the NAL unit header in the stream
  std::vector<uint8_t> rbsp;  // payload after the 2-byte header
};

// Splits an Annex-B byte stream (B.2) into NAL units: start codes
// 0x000001 (with any leading zero bytes), NAL units ending at the next start
// code or 0x000000, emulation_prevention_three_byte removed (7.4.2). Checks
// forbidden_zero_bit and nuh_temporal_id_plus1. Throws DecodeError.
std::vector<NalUnit> split_nal_units(const uint8_t *data, size_t size);

// Name of a nal_unit_type (Table 5), e.g. "IDR_N_LP", for messages.
const char *nal_unit_type_name(int type);

}  // namespace pyvtm
