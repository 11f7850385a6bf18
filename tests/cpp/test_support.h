// Helpers shared by the C++ unit tests: a failure counter with check(),
// a deterministic test picture and picture equality.
#pragma once
#include <cstdio>
#include <random>
#include <string>

#include "api.h"

namespace test_support {

inline int g_failures = 0;

// The coding of the earlier defaults: no MIP, MRL, ISP or dependent
// quantisation. For tests of other tools that force or count their own
// choices on small pictures, so that they keep the coding they were written
// for (the tools themselves are tested in test_mip / test_mrl / test_isp /
// test_dep_quant).
inline void without_intra_tools_and_dq(pyvtm::EncoderConfig &c) {
  c.mip = false;
  c.mrl = false;
  c.isp = 0;
  c.dep_quant = 0;
}

inline void check(bool ok, const std::string &what) {
  if (!ok) {
    std::printf("FAIL: %s\n", what.c_str());
    ++g_failures;
  }
}

// Smooth ramps plus noise, different per plane (10-bit 4:2:0).
inline pyvtm::Picture test_picture(int w, int h, int seed) {
  pyvtm::Picture pic;
  pic.allocate(w, h);
  std::mt19937 rng{uint32_t(seed)};
  for (int c = 0; c < 3; c++) {
    const int pw = c ? pic.chroma_width() : w;
    for (size_t i = 0; i < pic.plane[c].size(); i++) {
      const int x = int(i % size_t(pw)), y = int(i / size_t(pw));
      pic.plane[c][i] = uint16_t((x * (3 + c) + y * (5 - c) + int(rng() % 96) + 200 * c) % 1024);
    }
  }
  return pic;
}

inline bool same_picture(const pyvtm::Picture &a, const pyvtm::Picture &b) {
  return a.width == b.width && a.height == b.height && a.plane[0] == b.plane[0] && a.plane[1] == b.plane[1] &&
         a.plane[2] == b.plane[2];
}

}  // namespace test_support
