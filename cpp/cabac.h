// CABAC arithmetic encoder (9.3.4.3 inverted for encoding, as 9.3.5 of
// earlier standards) with VVC's two-rate probability estimation (9.3.2.2,
// 9.3.4.3.2.2), plus a rate estimator sharing the same interface.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "contexts.h"

namespace pyvtm {

struct ContextModel {
  uint16_t p0 = 0, p1 = 0;  // pStateIdx0 (10 bit), pStateIdx1 (14 bit)
  uint8_t shift0 = 0, shift1 = 0;
  void init(int init_value, int shift_idx, int slice_qp);
  // Probability of bin == 1 in 15-bit precision (pState of 9.3.4.3.2.1).
  int state() const { return p1 + 16 * p0; }
  void update(int bin) {
    const unsigned m = 0u - unsigned(bin);  // 1023 * bin, 16383 * bin as masks
    p0 = uint16_t(p0 - (p0 >> shift0) + ((1023u & m) >> shift0));
    p1 = uint16_t(p1 - (p1 >> shift1) + ((16383u & m) >> shift1));
  }
};

struct ContextSet {
  ContextModel m[CTX_NUM];
  void init(int slice_qp);
};

// Fractional bits are counted in units of 1/32768 bit.
static constexpr int kFracBitsShift = 15;

// -log2(p) for p = (i + 0.5) / 512 of the MPS/LPS, in 1/32768 bits (filled
// when the library is loaded).
extern uint32_t g_entropy_bits[512];

// Bits needed to code bin with a context in the given state, 1/32768 units.
// Inline: the rate estimation of RDOQ and the mode search calls it per bin.
inline uint32_t bin_cost(const ContextModel &c, int bin) {
  const int p1 = c.state();  // probability of a one, 15 bits
  const int p = bin ? p1 : 32767 - p1;
  return g_entropy_bits[p >> 6];
}

// One engine for both real coding and rate estimation: in estimate mode
// only the context states evolve and the bits are counted.
class CabacWriter {
 public:
  explicit CabacWriter(bool estimate_only) : estimate_(estimate_only) {}
  void start();  // 9.3.2.5 initialisation of the arithmetic encoding engine
  // The estimate paths inline (the rate estimation of the search codes
  // most bins), the arithmetic coding in cabac.cpp.
  void encode_bin(ContextModel &ctx, int bin) {
    if (estimate_) {
      frac_bits_ += bin_cost(ctx, bin);
      ctx.update(bin);
      return;
    }
    encode_bin_coded(ctx, bin);
  }
  void encode_bypass(int bin) {
    if (estimate_) { frac_bits_ += 1u << kFracBitsShift; return; }
    encode_bypass_coded(bin);
  }
  void encode_bypass_bins(uint32_t value, int nbins) {  // MSB first
    if (estimate_) { frac_bits_ += uint64_t(nbins) << kFracBitsShift; return; }
    for (int i = nbins - 1; i >= 0; i--) encode_bypass_coded((value >> i) & 1);
  }
  void encode_terminate(int bin);
  // Rate so far in 1/32768 bits (estimate mode) or whole written bits * 32768.
  uint64_t frac_bits() const { return estimate_ ? frac_bits_ : uint64_t(bits_written()) << kFracBitsShift; }
  void reset_bits() { frac_bits_ = 0; }
  void add_frac_bits(uint64_t b) { frac_bits_ += b; }
  bool estimating() const { return estimate_; }
  std::vector<uint8_t> &bytes() { return bytes_; }
  size_t bits_written() const { return bytes_.size() * 8 + nbits_; }
  // Writes the pending bits and the rbsp_trailing_bits(); returns the bytes.
  void rbsp_trailing_bits();

 private:
  void encode_bin_coded(ContextModel &ctx, int bin);
  void encode_bypass_coded(int bin);
  void put_bit(int b);
  void write_bit(int b);
  void renorm();

  bool estimate_;
  uint64_t frac_bits_ = 0;
  uint32_t low_ = 0, range_ = 510;
  int outstanding_ = 0;
  bool first_bit_ = true;
  std::vector<uint8_t> bytes_;
  uint8_t cur_ = 0;
  int nbits_ = 0;
};

// CABAC arithmetic decoding engine (9.3.4.3: DecodeDecision, DecodeBypass,
// DecodeTerminate; initialisation 9.3.2.5) over the slice data of one NAL
// unit. It reads whole bytes exactly when their first bit enters ivlOffset,
// so it never touches data past `size`: a read past the end throws
// DecodeError (a conforming slice's arithmetic code ends inside it).
class CabacReader {
 public:
  void start(const uint8_t *data, size_t size);
  // 9.3.4.3.2: DecodeDecision. ivlLpsRange from the two-rate estimate
  // (9.3.4.3.2.1; 32767 - pState = pState ^ 32767 for the MPS = 1 case);
  // the MPS / LPS choice without a branch (masks), then the renormalisation
  // of 9.3.4.3.3 by the leading zeros of ivlCurrRange as a 9-bit value
  // (one bit at most after an MPS).
  __attribute__((always_inline)) int decode_bin(ContextModel &ctx) {
    const uint32_t p_state = uint32_t(ctx.state());
    const uint32_t val_mps = p_state >> 14;
    const uint32_t lps = (((range_ >> 5) * (((p_state ^ (0u - val_mps)) & 32767) >> 9)) >> 1) + 4;
    const uint32_t mps_range = range_ - lps;
    const uint32_t scaled_range = mps_range << 7;
    const uint32_t is_lps = 0u - uint32_t(value_ >= scaled_range);  // all ones on the LPS path
    value_ -= scaled_range & is_lps;
    range_ = mps_range ^ ((mps_range ^ lps) & is_lps);
    const int bin = int(val_mps ^ (is_lps & 1));
    const int num_bits = __builtin_clz(range_) - 23;  // range_ >= 4: 0..6
    range_ <<= num_bits;
    value_ <<= num_bits;
    bits_needed_ += num_bits;
    if (bits_needed_ >= 0) {
      value_ |= next_byte() << bits_needed_;
      bits_needed_ -= 8;
    }
    ctx.update(bin);
    return bin;
  }
  // 9.3.4.3.4: DecodeBypass.
  __attribute__((always_inline)) int decode_bypass() {
    value_ <<= 1;
    if (++bits_needed_ >= 0) { bits_needed_ = -8; value_ |= next_byte(); }
    const uint32_t scaled_range = range_ << 7;
    if (value_ >= scaled_range) { value_ -= scaled_range; return 1; }
    return 0;
  }
  // nbins (0..32) bypass bins, MSB first: the same as nbins decode_bypass()
  // calls, eight at a time (each group reads the one byte that its eight
  // shifts of ivlOffset bring in, at the same position).
  uint32_t decode_bypass_bins(int nbins) {
    uint32_t v = 0;
    for (; nbins >= 8; nbins -= 8) {
      // value_ < range_ << 7 < 2^16; its low 8 + bits_needed_ bits are still unread.
      value_ = (value_ << 8) | (next_byte() << (8 + bits_needed_));
      uint32_t scaled_range = range_ << 15;
      for (int i = 0; i < 8; i++) {
        scaled_range >>= 1;
        const uint32_t bit = value_ >= scaled_range;
        v = (v << 1) | bit;
        value_ -= scaled_range & (0u - bit);
      }
    }
    for (int i = 0; i < nbins; i++) v = (v << 1) | uint32_t(decode_bypass());
    return v;
  }
  int decode_terminate();
  // After decode_terminate() returned 1 for end_of_slice_one_bit: checks
  // rbsp_slice_trailing_bits() (stop bit, alignment, cabac_zero_words).
  void finish_slice();
  // Bits of the slice data consumed so far (9 + renormalisations).
  size_t bits_consumed() const { return pos_ * 8 + size_t(bits_needed_ + 1); }

 private:
  uint32_t next_byte() {
    if (pos_ >= size_) {
      throw_past_end();
    }
    return data_[pos_++];
  }
  [[noreturn]] void throw_past_end() const;

  const uint8_t *data_ = nullptr;
  size_t size_ = 0, pos_ = 0;
  uint32_t range_ = 510, value_ = 0;
  int bits_needed_ = -8;
};

}  // namespace pyvtm
