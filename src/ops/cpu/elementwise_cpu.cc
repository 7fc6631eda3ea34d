// Row-wise CPU ops: embedding, rms_norm, rope, silu_mul, add. Threads split rows; the vector
// primitives (vec()) follow the ISA level.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/thread_pool.h"
#include "ops/cpu/ops_cpu.h"

namespace qinfer::ops::cpu {

void embedding(const void* table, DType dt, int64_t, int64_t d, const int32_t* ids, int64_t n,
               float* out) {
  const size_t esize = dtype_size(dt);
  parallel_for(n, [&](int64_t i0, int64_t i1, int) {
    for (int64_t i = i0; i < i1; ++i) {
      const char* row = static_cast<const char*>(table) + size_t(ids[i]) * size_t(d) * esize;
      float* o = out + i * d;
      if (dt == DType::kF32) {
        std::memcpy(o, row, size_t(d) * sizeof(float));
      } else {
        for (int64_t k = 0; k < d; ++k) o[k] = load_as_f32(row, dt, size_t(k));
      }
    }
  });
}

void rms_norm(const float* x, const float* w, float eps, int64_t n, int64_t d, float* y) {
  const VecKernels& v = vec();
  parallel_for(n, [&](int64_t i0, int64_t i1, int) {
    for (int64_t i = i0; i < i1; ++i) {
      const float* xi = x + i * d;
      // variance = mean(x²) in fp32, then x * rsqrt(variance + eps) (LlamaRMSNorm).
      const float var = v.dot(xi, xi, d) / float(d);
      const float r = 1.0f / std::sqrt(var + eps);
      v.scale_mul(xi, r, w, y + i * d, d);
    }
  });
}

void rope(float* x, int64_t n, int64_t row_stride, const int32_t* pos, const float* inv_freq,
          int64_t n_rot_head, int64_t head_dim) {
  const int64_t half = head_dim / 2;
  parallel_for(n, [&](int64_t i0, int64_t i1, int) {
    std::vector<float> c(static_cast<size_t>(half)), s(static_cast<size_t>(half));
    for (int64_t i = i0; i < i1; ++i) {
      for (int64_t j = 0; j < half; ++j) {
        // transformers: freqs = inv_freq @ position (fp32), cos/sin of it in fp32.
        const float a = float(pos[i]) * inv_freq[j];
        c[size_t(j)] = std::cos(a);
        s[size_t(j)] = std::sin(a);
      }
      for (int64_t h = 0; h < n_rot_head; ++h) {
        float* xh = x + i * row_stride + h * head_dim;
        for (int64_t j = 0; j < half; ++j) {
          const float x1 = xh[j], x2 = xh[j + half];
          xh[j] = x1 * c[size_t(j)] - x2 * s[size_t(j)];
          xh[j + half] = x2 * c[size_t(j)] + x1 * s[size_t(j)];
        }
      }
    }
  });
}

void silu_mul(const float* gate_up, int64_t n, int64_t inter, float* out) {
  const VecKernels& v = vec();
  parallel_for(n, [&](int64_t i0, int64_t i1, int) {
    for (int64_t i = i0; i < i1; ++i) {
      const float* g = gate_up + i * 2 * inter;
      v.silu_mul(g, g + inter, out + i * inter, inter);
    }
  });
}

void add(float* x, const float* y, int64_t n) {
  const VecKernels& v = vec();
  constexpr int64_t kChunk = 4096;
  parallel_for((n + kChunk - 1) / kChunk, [&](int64_t c0, int64_t c1, int) {
    const int64_t b = c0 * kChunk, e = std::min(n, c1 * kChunk);
    v.add(x + b, y + b, e - b);
  });
}

}  // namespace qinfer::ops::cpu
