#include "cabac.h"

#include <cmath>
#include <mutex>

#include "api.h"
#include "common.h"

namespace pyvtm {

// 9.3.2.2: initialisation of a context variable.
void ContextModel::init(int init_value, int shift_idx, int slice_qp) {
  const int slope_idx = init_value >> 3;
  const int offset_idx = init_value & 7;
  const int m = slope_idx - 4;
  const int n = offset_idx * 18 + 1;
  const int pre_ctx_state = clip3(1, 127, ((m * (clip3(0, 63, slice_qp) - 16)) >> 1) + n);
  p0 = uint16_t(pre_ctx_state << 3);
  p1 = uint16_t(pre_ctx_state << 7);
  shift0 = uint8_t((shift_idx >> 2) + 2);
  shift1 = uint8_t((shift_idx & 3) + 3 + shift0);
}

void ContextSet::init(int slice_qp) {
  for (int i = 0; i < CTX_NUM; i++)
    m[i].init(g_context_init_i_slice[i].init_value, g_context_init_i_slice[i].shift_idx, slice_qp);
}

uint32_t g_entropy_bits[512];

static void init_entropy_table() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (int i = 0; i < 512; i++)
      g_entropy_bits[i] = uint32_t(-std::log2((i + 0.5) / 512.0) * (1 << kFracBitsShift) + 0.5);
  });
}

// Filled at load time, so that bin_cost() is valid before any CabacWriter::start().
static const bool g_entropy_table_ready = (init_entropy_table(), true);

void CabacWriter::start() {
  init_entropy_table();
  low_ = 0;
  range_ = 510;
  outstanding_ = 0;
  first_bit_ = true;
  bytes_.clear();
  cur_ = 0;
  nbits_ = 0;
  frac_bits_ = 0;
}

void CabacWriter::write_bit(int b) {
  cur_ = uint8_t((cur_ << 1) | b);
  if (++nbits_ == 8) { bytes_.push_back(cur_); cur_ = 0; nbits_ = 0; }
}

void CabacWriter::put_bit(int b) {
  if (first_bit_) first_bit_ = false;
  else write_bit(b);
  while (outstanding_ > 0) { write_bit(1 - b); outstanding_--; }
}

void CabacWriter::renorm() {
  while (range_ < 256) {
    if (low_ < 256) put_bit(0);
    else if (low_ >= 512) { low_ -= 512; put_bit(1); }
    else { low_ -= 256; outstanding_++; }
    range_ <<= 1;
    low_ <<= 1;
  }
}

void CabacWriter::encode_bin_coded(ContextModel &ctx, int bin) {
  // 9.3.4.3.2.1: derivation of ivlLpsRange.
  const int q_range_idx = range_ >> 5;
  const int p_state = ctx.state();
  const int val_mps = p_state >> 14;
  const uint32_t lps = uint32_t((q_range_idx * ((val_mps ? 32767 - p_state : p_state) >> 9) >> 1) + 4);
  range_ -= lps;
  if (bin != val_mps) {
    low_ += range_;
    range_ = lps;
  }
  ctx.update(bin);
  renorm();
}

void CabacWriter::encode_bypass_coded(int bin) {
  low_ <<= 1;
  if (bin) low_ += range_;
  if (low_ >= 1024) { put_bit(1); low_ -= 1024; }
  else if (low_ < 512) put_bit(0);
  else { low_ -= 512; outstanding_++; }
}

void CabacWriter::encode_terminate(int bin) {
  if (estimate_) { frac_bits_ += bin ? (7u << kFracBitsShift) : 0; return; }
  range_ -= 2;
  if (bin) {
    low_ += range_;
    // EncodeFlush without the final stop bit, which rbsp_trailing_bits writes.
    range_ = 2;
    renorm();
    put_bit((low_ >> 9) & 1);
    write_bit((low_ >> 8) & 1);
  } else {
    renorm();
  }
}

void CabacWriter::rbsp_trailing_bits() {
  write_bit(1);
  while (nbits_) write_bit(0);
}


// --- CabacReader --------------------------------------------------------------

void CabacReader::start(const uint8_t *data, size_t size) {
  data_ = data;
  size_ = size;
  pos_ = 0;
  // 9.3.2.5: ivlCurrRange = 510, ivlOffset = read_bits(9). value_ holds the
  // 9 offset bits followed by 7 bits read ahead from the same bytes.
  range_ = 510;
  bits_needed_ = -8;
  value_ = next_byte() << 8;
  value_ |= next_byte();
}

void CabacReader::throw_past_end() const {
  throw DecodeError("slice data: the arithmetic decoder ran past the end of the slice NAL unit (" +
                    std::to_string(size_) + " bytes of slice data): truncated or corrupt stream");
}

int CabacReader::decode_terminate() {
  range_ -= 2;
  const uint32_t scaled_range = range_ << 7;
  if (value_ >= scaled_range) return 1;  // no renormalisation: parsing ends
  if (range_ < 256) {
    range_ <<= 1;
    value_ <<= 1;
    if (++bits_needed_ == 0) { bits_needed_ = -8; value_ |= next_byte(); }
  }
  return 0;
}

void CabacReader::finish_slice() {
  // The last bit read into ivlOffset is the rbsp_stop_one_bit; alignment
  // zeros and optional cabac_zero_words (0x0000) follow.
  const size_t consumed = bits_consumed();
  const size_t stop = consumed - 1;
  if (stop / 8 >= size_ || !((data_[stop / 8] >> (7 - stop % 8)) & 1))
    throw DecodeError("slice data: rbsp_stop_one_bit missing after end_of_slice_one_bit (corrupt slice data)");
  for (size_t b = consumed; b % 8; b++)
    if ((data_[b / 8] >> (7 - b % 8)) & 1)
      throw DecodeError("slice data: nonzero alignment bits after the rbsp_stop_one_bit (corrupt slice data)");
  for (size_t k = (consumed + 7) / 8; k < size_; k++)
    if (data_[k] != 0)
      throw DecodeError("slice data: unexpected data after the end of the slice (" +
                        std::to_string(size_ - (consumed + 7) / 8) + " extra bytes)");
}

}  // namespace pyvtm
