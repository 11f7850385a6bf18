// The one translation unit that includes the libtorch headers for the
// torch runtime layer. CNN hook implementations (later) build on it.
#include "torch_runtime.h"

#include <torch/script.h>
#include <torch/version.h>

namespace pyvtm {

std::string torch_runtime_version() {
  return TORCH_VERSION;
}

}  // namespace pyvtm
