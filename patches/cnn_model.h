// patches-internal: the model runner behind the CNN hooks. Includes libtorch,
// so only patches/*.cpp may include this header (cnn_hooks.h is the public,
// torch-free side).
//
// The hooks only see CnnModel::run(): tensors in, tensors out. Today the one
// backend is TorchScript (torch::jit::load); a torch.export / AOTInductor
// package (.pt2, torch::inductor::AOTIModelPackageLoader) would be a second
// CnnModel subclass picked by load_cnn_model() from the file, with the same
// metadata keys and the same inputs/outputs.
#pragma once
#include <torch/script.h>

#include <memory>
#include <string>
#include <vector>

#include "cnn_hooks.h"

namespace pyvtm {

class CnnModel {
 public:
  virtual ~CnnModel() = default;
  // Runs the model on CPU float32/int64 inputs. The caller holds a
  // DeterministicInference scope.
  virtual std::vector<at::Tensor> run(const std::vector<at::Tensor> &inputs) = 0;
  const CnnModelInfo &info() const { return info_; }

 protected:
  CnnModelInfo info_;
};

// Loads a model file and checks its metadata (kind == expected_kind,
// supported format). Throws std::invalid_argument with a message naming the
// file for every problem.
std::unique_ptr<CnnModel> load_cnn_model(const std::string &path, const std::string &expected_kind);

// RAII scope for deterministic inference: no autograd (c10::InferenceMode)
// and one intra-op thread (the previous count is restored on exit).
class DeterministicInference {
 public:
  DeterministicInference();
  ~DeterministicInference();
  DeterministicInference(const DeterministicInference &) = delete;
  DeterministicInference &operator=(const DeterministicInference &) = delete;

 private:
  int prev_threads_;
  c10::InferenceMode inference_;
};

}  // namespace pyvtm
