// Hook points where the codec core hands control to optional tools (the CNN
// in-loop filter and the CNN MPM predictor). The core only sees these plain
// interfaces; implementations that need libtorch live in patches/.
//
// Encoder and decoder call the hooks at the same points with the same inputs,
// so a deterministic implementation yields identical results on both sides.
#pragma once
#include <cstdint>
#include <string>

namespace pyvtm {

struct Picture;

// Called once per picture after the standard loop filters; may modify recon
// (coded-size planes, 10-bit). Returns true when it changed anything.
class InLoopFilterHook {
 public:
  virtual ~InLoopFilterHook() = default;
  virtual bool filter_picture(Picture &recon, int slice_qp) = 0;
  // Identifies the model (written into the bitstream so a decoder can check it).
  virtual std::string model_id() const { return std::string(); }
};

// The causal neighbourhood of one CTU as the CNN MPM predictor sees it:
// the above, left and above-left 128x128 luma blocks of the reconstruction
// before in-loop filtering, and their luma intra modes on the 4x4 grid.
struct CtuNeighbourhood {
  static constexpr int kSize = 128, kUnits = 32;
  int ctu_x = 0, ctu_y = 0;           // luma position of the current CTU
  bool available[3] = {false, false, false};  // above, left, above-left
  uint16_t recon[3][kSize * kSize];   // 10-bit samples; 512 where not available
  uint8_t modes[3][kUnits * kUnits];  // 0..66; 255 where not available/not intra
};

// Called for every luma CU whose intra mode is coded. May overwrite the
// six-entry MPM candidate list derived by clause 8.4.2 (entry 0 is planar in
// the standard list). Returns true when it replaced the list.
struct MpmQuery {
  int x0, y0, log2_width, log2_height;  // CU position and size in luma samples
};
class MpmHook {
 public:
  virtual ~MpmHook() = default;
  // Called once at the start of every CTU, before any of its CUs is queried.
  virtual void begin_ctu(const CtuNeighbourhood & /*nb*/) {}
  virtual bool derive_mpm_list(const MpmQuery &cu, int cand_mode_list[6]) = 0;
  virtual std::string model_id() const { return std::string(); }
};

struct Hooks {
  InLoopFilterHook *in_loop_filter = nullptr;  // nullptr: tool off
  MpmHook *mpm = nullptr;                       // nullptr: standard MPM derivation
};

}  // namespace pyvtm
