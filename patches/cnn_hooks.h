// CNN tool hooks (cpp/hooks.h interfaces) backed by TorchScript models.
//
// This header does NOT include libtorch: the codec core and the Python
// bindings use it without seeing torch. The torch code is in
// cnn_hooks.cpp and cnn_model.{h,cpp} (patches/ only).
//
// Model files are written by `pyvtm export` (pyvtm/utils/export.py) or
// shipped in pyvtm/weights/ (pyvtm/zoo.py): TorchScript archives whose
// extra files carry the metadata
//   pyvtm.kind      "cnnif" | "cnnmc"
//   pyvtm.format    interface version, "1"
//   pyvtm.model_id  identifier (preset, version and a hash of the weights)
//   pyvtm.json      all metadata as JSON (preset, qp range, colour format,
//                   layout, normalisation, training summary, ...)
//
// Interfaces (format 1):
//   cnnif: forward(y, cb, cr, qp) -> (y, cb, cr). y (1,1,H,W), cb/cr
//          (1,1,H/2,W/2) float32 in 10-bit sample units, qp (1,) float32;
//          returns the filtered planes, unrounded. The hook rounds with
//          floor(v + 0.5) and clips to 0..1023.
//   cnnmc: forward(recon, modes, available) -> q. recon (1,3,128,128)
//          float32 samples, modes (1,3,32,32) int64 (255 = unavailable),
//          available (1,3) float32, order above, left, above-left (as in
//          CtuNeighbourhood); q (1,67,32,32) int32, the per-4x4-unit mode
//          probabilities quantised as round(p * 65536).
//
// Determinism: inference runs on the CPU with autograd off
// (c10::InferenceMode) and on ONE intra-op thread (the global torch thread
// count is set to 1 for the call and restored afterwards). A float32 model
// gives identical results only with the same kernels: another instruction
// set, oneDNN on/off or a bf16 fast-math setting changes them (see
// benchmarks/bench_cnn_determinism.py). The integer models
// (pyvtm/models/intnet.py, metadata "arithmetic": "integer"; the defaults)
// compute with integer-valued float64 convolutions whose partial sums stay
// below 2^53 and int64 requantisation, so they are bit-identical on every
// CPU; their CNNIF outputs are already rounded, clipped integers (the
// rounding below leaves them unchanged) and their CNNMC outputs come from an
// integer softmax of integer logits. Same interfaces, format 1.
#pragma once
#include <memory>
#include <string>

#include "hooks.h"

namespace pyvtm {

// The metadata of a pyvtm CNN model file.
struct CnnModelInfo {
  std::string path;
  std::string kind;      // "cnnif" or "cnnmc"
  std::string format;    // "1"
  std::string model_id;
  std::string json;      // pyvtm.json (may be empty)
};

// Reads and checks a model file's metadata without running it. Throws
// std::invalid_argument for a missing, unreadable or corrupt file and for a
// TorchScript file without pyvtm metadata.
CnnModelInfo read_cnn_model_info(const std::string &path);

// Loads a CNNIF model and returns the in-loop filter hook. Throws
// std::invalid_argument (clear message naming the file) when the file is
// missing or corrupt, is not a pyvtm model, is a model of another kind
// (e.g. a CNNMC model), has an unsupported format version, or does not run
// with the cnnif interface.
std::unique_ptr<InLoopFilterHook> make_cnnif_hook(const std::string &path);

// Loads a CNNMC model and returns the MPM hook (same errors as above).
//
// MPM list of a CU (derive_mpm_list): score[m] = sum over the CU's 4x4
// units (in the current CTU) of the quantised probabilities of mode m
// (64-bit integer sums); entry 0 is INTRA_PLANAR, always (so the
// intra_luma_not_planar_flag syntax is unchanged); entries 1..5 are the five
// non-planar modes with the highest score, ties broken by the lower mode
// index. begin_ctu() must have been called for the CU's CTU; otherwise (or
// for a CU outside that CTU) the hook leaves the standard list (returns
// false).
std::unique_ptr<MpmHook> make_cnnmc_hook(const std::string &path);

}  // namespace pyvtm
