// Shared small helpers and plain buffer types of the codec core.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

namespace pyvtm {

using Pel = int16_t;  // a sample or residual value (10-bit samples fit easily)

template <typename T>
static inline T clip3(T lo, T hi, T v) { return v < lo ? lo : (v > hi ? hi : v); }

static inline int floor_log2(uint32_t v) { return 31 - __builtin_clz(v); }

// A 2-D plane of samples with an explicit stride.
struct Plane {
  int width = 0, height = 0, stride = 0;
  std::vector<Pel> data;
  void allocate(int w, int h) { width = w; height = h; stride = w; data.assign(size_t(w) * h, 0); }
  Pel *row(int y) { return data.data() + size_t(y) * stride; }
  const Pel *row(int y) const { return data.data() + size_t(y) * stride; }
  Pel &at(int x, int y) { return data[size_t(y) * stride + x]; }
  Pel at(int x, int y) const { return data[size_t(y) * stride + x]; }
};

enum ComponentId { COMP_Y = 0, COMP_CB = 1, COMP_CR = 2 };

// Intra prediction mode numbers (clause 8.4.2, Table 20).
enum { INTRA_PLANAR = 0, INTRA_DC = 1, INTRA_ANGULAR18 = 18, INTRA_ANGULAR34 = 34,
       INTRA_ANGULAR50 = 50, INTRA_ANGULAR66 = 66, NUM_LUMA_MODES = 67 };

// treeType of clause 7.3.11.4.
enum TreeType { SINGLE_TREE = 0, DUAL_TREE_LUMA = 1, DUAL_TREE_CHROMA = 2 };

}  // namespace pyvtm
