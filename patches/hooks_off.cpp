#include "hooks_off.h"

namespace pyvtm {

bool InLoopFilterOff::filter_picture(Picture & /*recon*/, int /*slice_qp*/) { return false; }

bool MpmOff::derive_mpm_list(const MpmQuery & /*cu*/, int /*cand_mode_list*/[6]) { return false; }

Hooks make_default_hooks() { return Hooks{}; }

}  // namespace pyvtm
