// libFuzzer harness for the decoder: any byte string must either decode or
// throw pyvtm::DecodeError; anything else (a crash, a sanitizer report, a
// different exception, a hang) is a bug. Build and run: `make fuzz`
// (clang -fsanitize=fuzzer,address,undefined; see fuzz/README.md).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "api.h"
#include "hooks.h"

namespace {
// Stand-ins for the CNN tools (no libtorch here), so that the CNNMC and
// CNNIF code paths of the decoder are fuzzed too.
struct FixedMpm : pyvtm::MpmHook {
  int bias = 0;
  void begin_ctu(const pyvtm::CtuNeighbourhood &nb) override { bias = nb.modes[0][0] % 7 + nb.recon[1][5] % 5; }
  bool derive_mpm_list(const pyvtm::MpmQuery &q, int m[6]) override {
    m[0] = 0;
    for (int i = 1; i < 6; i++) m[i] = 1 + (bias + q.x0 / 4 + 13 * i) % 66;
    return true;
  }
};
struct HalveFilter : pyvtm::InLoopFilterHook {
  bool filter_picture(pyvtm::Picture &p, int) override {
    for (int c = 0; c < 3; c++)
      for (uint16_t &v : p.plane[c]) v = uint16_t((v + 512) / 2);
    return true;
  }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  pyvtm::DecodeOptions opt;
  // Smaller pictures than the API limit keep each execution fast; the size
  // check itself is the same code path.
  opt.max_luma_samples = 1 << 15;
  // Odd sizes with the CNN tool hooks, even sizes without.
  FixedMpm mpm;
  HalveFilter filter;
  pyvtm::Hooks hooks;
  if (size & 1) {
    hooks.mpm = &mpm;
    hooks.in_loop_filter = &filter;
  }
  try {
    const pyvtm::DecodeResult r = pyvtm::decode_bitstream(data, size, opt, hooks);
    // Touch the output so that a bogus picture would be noticed by ASan.
    uint32_t acc = 0;
    for (int c = 0; c < 3; c++)
      for (uint16_t s : r.picture.plane[c]) acc += s;
    if (r.picture.width <= 0 || r.picture.height <= 0 || (acc == 0xFFFFFFFFu && size == 0)) std::abort();
  } catch (const pyvtm::DecodeError &) {
    // expected for bad input
  }
  return 0;  // any other exception escapes and libFuzzer reports it
}
