// "Off" implementations of the hook interfaces in cpp/hooks.h.
// They are placeholders until the CNN in-loop filter and the CNN MPM
// predictor land; they never change anything.
#pragma once
#include "hooks.h"

namespace pyvtm {

// In-loop filter that leaves the reconstruction untouched.
class InLoopFilterOff final : public InLoopFilterHook {
 public:
  bool filter_picture(Picture &recon, int slice_qp) override;
};

// MPM hook that keeps the standard (clause 8.4.2) candidate list.
class MpmOff final : public MpmHook {
 public:
  bool derive_mpm_list(const MpmQuery &cu, int cand_mode_list[6]) override;
};

// The hooks used when no CNN tool is enabled: all nullptr (tools off).
Hooks make_default_hooks();

}  // namespace pyvtm
