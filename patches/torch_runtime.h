// Torch-facing runtime layer of pyvtm.
//
// This header deliberately does NOT include any torch header: code outside
// patches/ (the codec core in cpp/, the Python bindings) can call into the
// torch layer without seeing libtorch. Only patches/*.cpp include
// <torch/script.h> / <torch/torch.h>.
#pragma once
#include <string>

namespace pyvtm {

// Version of the libtorch this library was compiled against, e.g. "2.13.0".
std::string torch_runtime_version();

}  // namespace pyvtm
