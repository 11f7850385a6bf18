// libFuzzer harness for the decoder: any byte string must either decode or
// throw pyvtm::DecodeError; anything else (a crash, a sanitizer report, a
// different exception, a hang) is a bug. Build and run: `make fuzz`
// (clang -fsanitize=fuzzer,address,undefined; see fuzz/README.md).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "api.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  pyvtm::DecodeOptions opt;
  // Smaller pictures than the API limit keep each execution fast; the size
  // check itself is the same code path.
  opt.max_luma_samples = 1 << 15;
  try {
    const pyvtm::DecodeResult r = pyvtm::decode_bitstream(data, size, opt);
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
