// TorchScript backend of the CNN model runner (see cnn_model.h).
#include "cnn_model.h"

#include <ATen/Parallel.h>

#include <fstream>
#include <stdexcept>
#include <sys/stat.h>

namespace pyvtm {

namespace {

constexpr const char *kSupportedFormat = "1";

std::string first_line(const std::string &s) {
  const size_t n = s.find('\n');
  return n == std::string::npos ? s : s.substr(0, n);
}

bool is_regular_file(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

class TorchScriptModel final : public CnnModel {
 public:
  TorchScriptModel(torch::jit::Module module, CnnModelInfo info) : module_(std::move(module)) {
    info_ = std::move(info);
  }

  std::vector<at::Tensor> run(const std::vector<at::Tensor> &inputs) override {
    std::vector<torch::jit::IValue> args(inputs.begin(), inputs.end());
    const torch::jit::IValue out = module_.forward(args);
    std::vector<at::Tensor> res;
    if (out.isTensor()) {
      res.push_back(out.toTensor());
    } else if (out.isTuple()) {
      for (const auto &v : out.toTupleRef().elements()) {
        if (!v.isTensor()) throw std::runtime_error("model output tuple holds a non-tensor");
        res.push_back(v.toTensor());
      }
    } else if (out.isTensorList()) {
      for (const at::Tensor &t : out.toTensorVector()) res.push_back(t);
    } else {
      throw std::runtime_error("model output is neither a tensor nor a tuple of tensors");
    }
    return res;
  }

 private:
  torch::jit::Module module_;
};

// Loads the archive with its extra files; throws std::invalid_argument.
torch::jit::Module load_archive(const std::string &path, CnnModelInfo &info) {
  if (path.empty()) throw std::invalid_argument("CNN model path is empty");
  if (!is_regular_file(path)) throw std::invalid_argument("CNN model file not found: '" + path + "'");
  {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw std::invalid_argument("CNN model file '" + path + "' cannot be opened");
  }
  torch::jit::ExtraFilesMap extra{{"pyvtm.kind", ""}, {"pyvtm.format", ""}, {"pyvtm.model_id", ""},
                                  {"pyvtm.json", ""}};
  torch::jit::Module module;
  try {
    module = torch::jit::load(path, torch::Device(torch::kCPU), extra);
  } catch (const std::exception &e) {
    throw std::invalid_argument("CNN model file '" + path +
                                "' is not a readable TorchScript archive (corrupt or not a model file): " +
                                first_line(e.what()));
  }
  info.path = path;
  info.kind = extra["pyvtm.kind"];
  info.format = extra["pyvtm.format"];
  info.model_id = extra["pyvtm.model_id"];
  info.json = extra["pyvtm.json"];
  if (info.kind.empty())
    throw std::invalid_argument("CNN model file '" + path +
                                "' has no pyvtm metadata (extra file pyvtm.kind); write it with `pyvtm export`");
  return module;
}

}  // namespace

CnnModelInfo read_cnn_model_info(const std::string &path) {
  CnnModelInfo info;
  load_archive(path, info);
  return info;
}

std::unique_ptr<CnnModel> load_cnn_model(const std::string &path, const std::string &expected_kind) {
  CnnModelInfo info;
  torch::jit::Module module = load_archive(path, info);
  if (info.kind != expected_kind)
    throw std::invalid_argument("CNN model file '" + path + "' holds a '" + info.kind + "' model, expected a '" +
                                expected_kind + "' model");
  if (info.format != kSupportedFormat)
    throw std::invalid_argument("CNN model file '" + path + "' has interface format '" + info.format +
                                "'; this pyvtm supports format " + kSupportedFormat);
  module.eval();
  module.to(torch::kFloat32);  // weights may be stored as float16; inference is float32
  return std::make_unique<TorchScriptModel>(std::move(module), std::move(info));
}

DeterministicInference::DeterministicInference() : prev_threads_(at::get_num_threads()) {
  if (prev_threads_ != 1) at::set_num_threads(1);
}

DeterministicInference::~DeterministicInference() {
  if (prev_threads_ != 1) at::set_num_threads(prev_threads_);
}

}  // namespace pyvtm
