// Shape/dtype/device checks and device dispatch for the row-wise ops (embedding.h,
// rms_norm.h, rope.h, silu_mul.h, add.h). CPU kernels: cpu/elementwise_cpu.cc.
#include "core/error.h"
#include "ops/add.h"
#include "ops/cpu/ops_cpu.h"
#include "ops/cuda/cuda_ops.h"
#include "ops/embedding.h"
#include "ops/rms_norm.h"
#include "ops/rope.h"
#include "ops/silu_mul.h"

namespace qinfer::ops {

namespace {

void check_f32(const char* op, const char* what, const Tensor& t) {
  QINFER_CHECK(t.dtype() == DType::kF32, op, ": unsupported (", what, " dtype ",
               dtype_name(t.dtype()), ", device ", device_name(t.device()), "); expected F32");
}

void check_same_device(const char* op, const Tensor& a, const Tensor& b) {
  QINFER_CHECK(a.device() == b.device(), op, ": tensors on different devices (",
               device_name(a.device()), ", ", device_name(b.device()), ")");
}

}  // namespace

void embedding(const Tensor& table, const Tensor& ids, Tensor& out) {
  QINFER_CHECK(table.ndim() == 2, "embedding: table has shape ", shape_str(table.shape()),
               ", expected (n_row, d)");
  QINFER_CHECK(ids.ndim() == 1 && ids.dtype() == DType::kI32,
               "embedding: ids must be (n) I32, got ", shape_str(ids.shape()), " ",
               dtype_name(ids.dtype()));
  QINFER_CHECK(out.ndim() == 2 && out.dim(0) == ids.dim(0) && out.dim(1) == table.dim(1),
               "embedding: out has shape ", shape_str(out.shape()), ", expected (", ids.dim(0),
               ", ", table.dim(1), ")");
  check_f32("embedding", "out", out);
  check_same_device("embedding", table, out);
  check_same_device("embedding", ids, out);
  if (table.device() == Device::kCuda) return cuda::embedding(table, ids, out);
  QINFER_CHECK(
      table.dtype() == DType::kF32 || table.dtype() == DType::kF16 || table.dtype() == DType::kBF16,
      "embedding: unsupported (table dtype ", dtype_name(table.dtype()), ", device cpu)");
  const int32_t* id = ids.data_as<int32_t>();
  for (int64_t i = 0; i < ids.dim(0); ++i)
    QINFER_CHECK(id[i] >= 0 && id[i] < table.dim(0), "embedding: token id ", id[i], " at index ", i,
                 " is outside the table's ", table.dim(0), " rows");
  cpu::embedding(table.data(), table.dtype(), table.dim(0), table.dim(1), id, ids.dim(0),
                 out.data_as<float>());
}

void rms_norm(const Tensor& x, const Tensor& weight, float eps, Tensor& y) {
  QINFER_CHECK(
      x.ndim() == 2 && weight.ndim() == 1 && weight.dim(0) == x.dim(1) && y.shape() == x.shape(),
      "rms_norm: shapes x ", shape_str(x.shape()), ", weight ", shape_str(weight.shape()), ", y ",
      shape_str(y.shape()), " do not match (n, d), (d), (n, d)");
  check_same_device("rms_norm", x, weight);
  check_same_device("rms_norm", x, y);
  if (x.device() == Device::kCuda) return cuda::rms_norm(x, weight, eps, y);
  check_f32("rms_norm", "x", x);
  check_f32("rms_norm", "weight", weight);
  check_f32("rms_norm", "y", y);
  cpu::rms_norm(x.data_as<float>(), weight.data_as<float>(), eps, x.dim(0), x.dim(1),
                y.data_as<float>());
}

void rope(Tensor& x, const Tensor& positions, const Tensor& inv_freq, int64_t n_rot_head,
          int64_t head_dim) {
  QINFER_CHECK(head_dim > 0 && head_dim % 2 == 0, "rope: head_dim ", head_dim, " must be even");
  QINFER_CHECK(x.ndim() == 2 && x.dim(1) >= n_rot_head * head_dim, "rope: x has shape ",
               shape_str(x.shape()), ", narrower than ", n_rot_head, " heads of ", head_dim);
  QINFER_CHECK(
      positions.ndim() == 1 && positions.dim(0) == x.dim(0) && positions.dtype() == DType::kI32,
      "rope: positions must be (", x.dim(0), ") I32, got ", shape_str(positions.shape()), " ",
      dtype_name(positions.dtype()));
  QINFER_CHECK(inv_freq.ndim() == 1 && inv_freq.dim(0) == head_dim / 2, "rope: inv_freq has shape ",
               shape_str(inv_freq.shape()), ", expected (", head_dim / 2, ")");
  check_same_device("rope", x, positions);
  check_same_device("rope", x, inv_freq);
  if (x.device() == Device::kCuda) return cuda::rope(x, positions, inv_freq, n_rot_head, head_dim);
  check_f32("rope", "x", x);
  check_f32("rope", "inv_freq", inv_freq);
  cpu::rope(x.data_as<float>(), x.dim(0), x.dim(1), positions.data_as<int32_t>(),
            inv_freq.data_as<float>(), n_rot_head, head_dim);
}

void silu_mul(const Tensor& gate_up, Tensor& out) {
  QINFER_CHECK(gate_up.ndim() == 2 && out.ndim() == 2 && gate_up.dim(0) == out.dim(0) &&
                   gate_up.dim(1) == 2 * out.dim(1),
               "silu_mul: gate_up ", shape_str(gate_up.shape()), " and out ",
               shape_str(out.shape()), " are not (n, 2I) and (n, I)");
  check_same_device("silu_mul", gate_up, out);
  if (out.device() == Device::kCuda) return cuda::silu_mul(gate_up, out);
  check_f32("silu_mul", "gate_up", gate_up);
  check_f32("silu_mul", "out", out);
  cpu::silu_mul(gate_up.data_as<float>(), out.dim(0), out.dim(1), out.data_as<float>());
}

void add(Tensor& x, const Tensor& y) {
  QINFER_CHECK(x.numel() == y.numel() && x.dtype() == y.dtype(), "add: x ", shape_str(x.shape()),
               " ", dtype_name(x.dtype()), " and y ", shape_str(y.shape()), " ",
               dtype_name(y.dtype()), " differ");
  check_same_device("add", x, y);
  if (x.device() == Device::kCuda) return cuda::add(x, y);
  check_f32("add", "x", x);
  cpu::add(x.data_as<float>(), y.data_as<float>(), x.numel());
}

}  // namespace qinfer::ops
