#include "quant/linear_loader.h"

#include <cstring>

#include "core/error.h"
#include "quant/compressed_tensors.h"

namespace qinfer::quant {

namespace {

// Bias (n_out) as F32, concatenated over modules.
Tensor load_bias(const io::Checkpoint& ck, const std::vector<std::string>& modules,
                 const std::vector<int64_t>& n_out) {
  int64_t total = 0;
  for (int64_t n : n_out) total += n;
  Tensor b = Tensor::empty(DType::kF32, {total});
  int64_t row = 0;
  for (size_t i = 0; i < modules.size(); ++i) {
    Tensor t = ck.tensors->get_checked(modules[i] + ".bias", {n_out[i]}).to_f32();
    std::memcpy(b.data_as<float>() + row, t.data(), t.nbytes());
    row += n_out[i];
  }
  return b;
}

// Dense weights: one module is used in place (a view into the mapped file); several are
// concatenated row-wise into an owned buffer of the same dtype.
ops::LinearWeight load_dense(const io::Checkpoint& ck, const std::vector<std::string>& modules,
                             const std::vector<int64_t>& n_out, int64_t n_in,
                             const std::string& fused_name) {
  ops::LinearWeight w;
  w.name = fused_name;
  w.n_in = n_in;
  std::vector<Tensor> parts;
  for (size_t i = 0; i < modules.size(); ++i) {
    Tensor t = ck.tensors->get_checked(modules[i] + ".weight", {n_out[i], n_in});
    QINFER_CHECK(t.dtype() == DType::kF32 || t.dtype() == DType::kF16 || t.dtype() == DType::kBF16,
                 ck.tensors->file_of(modules[i] + ".weight"), ": tensor '", modules[i],
                 ".weight' has dtype ", dtype_name(t.dtype()),
                 " but the checkpoint declares no quantization for it");
    QINFER_CHECK(parts.empty() || t.dtype() == parts[0].dtype(), "tensor '", modules[i],
                 ".weight' has dtype ", dtype_name(t.dtype()), ", unlike '", modules[0],
                 ".weight' (", dtype_name(parts[0].dtype()), ")");
    parts.push_back(t);
    w.n_out += n_out[i];
  }
  if (parts.size() == 1) {
    w.weight = parts[0];
  } else {
    w.weight = Tensor::empty(parts[0].dtype(), {w.n_out, n_in});
    size_t off = 0;
    for (const Tensor& p : parts) {
      std::memcpy(static_cast<char*>(w.weight.data()) + off, p.data(), p.nbytes());
      off += p.nbytes();
    }
  }
  return w;
}

}  // namespace

ops::LinearWeight load_linear(const io::Checkpoint& ck, const std::vector<std::string>& modules,
                              const std::vector<int64_t>& n_out, int64_t n_in,
                              const std::string& fused_name, bool has_bias) {
  QINFER_CHECK(!modules.empty() && modules.size() == n_out.size(),
               "load_linear: modules and n_out differ in length");
  ops::LinearWeight w = is_quantized_module(ck, modules[0])
                            ? load_quantized(ck, modules, n_out, n_in, fused_name)
                            : load_dense(ck, modules, n_out, n_in, fused_name);
  if (has_bias) w.bias = load_bias(ck, modules, n_out);
  return w;
}

}  // namespace qinfer::quant
