// The register-tiled dense linear kernel shared by the AVX2 and AVX-512 files; each includes
// this header under its own ISA flags with a traits struct `V`:
//   V::Reg, V::kWidth, V::kDecodeRows, V::zero(), V::fma(a, b, c), V::reduce(r), V::load_x(const
//   float*), V::load_w<dtype>(const void* row, k)  (kWidth weights from element k, widened to fp32)
//
// A tile is R output rows x T tokens: per step of kWidth inputs it loads R weight vectors
// (in their stored dtype, widened in registers; no widened copy of W exists) and T activation
// vectors, and does R*T fused multiply-adds into fp32 accumulators. Threads own contiguous
// ranges of output rows; inside a range, a block of rows stays in L2 while every block of T
// tokens passes over it, so each weight row is read from memory once per call.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/dtype.h"
#include "core/thread_pool.h"
#include "ops/linear.h"

namespace qinfer::ops::cpu::tile {

template <class V, DType D, int R, int T>
inline void dense_tile(const char* w, size_t row_bytes, int64_t n_in, const float* x, float* y,
                       int64_t n_out, const float* bias) {
  typename V::Reg acc[R][T];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) acc[r][t] = V::zero();
  const int64_t k_full = n_in / V::kWidth * V::kWidth;
  for (int64_t k = 0; k < k_full; k += V::kWidth) {
    typename V::Reg wv[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      // One token reads each weight once: fetch the next tile's rows toward L2 meanwhile
      // (short per-row streams are picked up late by the hardware prefetchers).
      if constexpr (T == 1)
        __builtin_prefetch(w + size_t(R + r) * row_bytes + size_t(k) * dtype_size(D), 0, 2);
      wv[r] = V::template load_w<D>(w + size_t(r) * row_bytes, k);
    }
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) {
      const typename V::Reg xv = V::load_x(x + t * n_in + k);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) acc[r][t] = V::fma(wv[r], xv, acc[r][t]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) {
      float s = V::reduce(acc[r][t]);
      for (int64_t k = k_full; k < n_in; ++k)  // tail narrower than one register
        s += x[t * n_in + k] * load_as_f32(w + size_t(r) * row_bytes, D, size_t(k));
      y[t * n_out + r] = s + (bias ? bias[r] : 0.0f);
    }
}

template <class V, DType D, int R>
inline void dense_tile_rows(const char* w, size_t row_bytes, int64_t n_in, const float* x,
                            int64_t n_tok, float* y, int64_t n_out, const float* bias) {
  switch (n_tok) {
    case 4:
      return dense_tile<V, D, R, 4>(w, row_bytes, n_in, x, y, n_out, bias);
    case 3:
      return dense_tile<V, D, R, 3>(w, row_bytes, n_in, x, y, n_out, bias);
    case 2:
      return dense_tile<V, D, R, 2>(w, row_bytes, n_in, x, y, n_out, bias);
    default:
      return dense_tile<V, D, R, 1>(w, row_bytes, n_in, x, y, n_out, bias);
  }
}

// The generic tile entry point; a traits struct may provide its own tile_rows / prepare_x
// for a dtype (AVX-512 BF16 does, see linear_dense_avx512.cc).
template <class V>
struct GenericTiles {
  template <DType D, int R>
  static void tile_rows(const char* w, size_t row_bytes, int64_t n_in, const float* x,
                        int64_t n_tok, float* y, int64_t n_out, const float* bias) {
    dense_tile_rows<V, D, R>(w, row_bytes, n_in, x, n_tok, y, n_out, bias);
  }
  // The activations in the layout tile_rows reads (here: as given).
  template <DType D>
  static const float* prepare_x(const float* x, int64_t, int64_t, std::vector<float>*) {
    return x;
  }
};

// kR rows per tile: 4 when several tokens share the weights (4 x 4 accumulators), V::kDecodeRows
// (8 with AVX-512; AVX2 has too few registers) for a
// single token, where more concurrent weight streams keep more memory requests in flight.
template <class V, DType D, class Tiles, int64_t kR>
void dense(const LinearWeight& lw, const float* x_in, int64_t n, float* y) {
  constexpr int64_t kT = 4;
  const int64_t n_in = lw.n_in, n_out = lw.n_out;
  const size_t row_bytes = size_t(n_in) * dtype_size(D);
  const char* W = static_cast<const char*>(lw.weight.data());
  const float* b = lw.bias.defined() ? lw.bias.data_as<float>() : nullptr;
  std::vector<float> x_buf;
  const float* x = Tiles::template prepare_x<D>(x_in, n, n_in, &x_buf);
  // Rows kept hot in L2 while the token blocks pass: ~256 KiB of weights.
  const int64_t block_rows = std::max<int64_t>(kR, int64_t(256 * 1024 / row_bytes) / kR * kR);
  const int64_t n_tiles = (n_out + kR - 1) / kR;
  parallel_for(
      n_tiles,
      [&](int64_t i0, int64_t i1, int) {
        const int64_t o_begin = i0 * kR, o_end = std::min(n_out, i1 * kR);
        for (int64_t ob = o_begin; ob < o_end; ob += block_rows) {
          const int64_t ob_end = std::min(o_end, ob + block_rows);
          for (int64_t t0 = 0; t0 < n; t0 += kT) {
            const int64_t nt = std::min(kT, n - t0);
            for (int64_t o = ob; o < ob_end; o += kR) {
              const char* wr = W + size_t(o) * row_bytes;
              const float* bo = b ? b + o : nullptr;
              float* yo = y + t0 * n_out + o;
              if (ob_end - o >= kR) {
                Tiles::template tile_rows<D, kR>(wr, row_bytes, n_in, x + t0 * n_in, nt, yo, n_out,
                                                 bo);
              } else {
                for (int64_t r = o; r < ob_end; ++r)
                  Tiles::template tile_rows<D, 1>(wr + size_t(r - o) * row_bytes, row_bytes, n_in,
                                                  x + t0 * n_in, nt, yo + (r - o), n_out,
                                                  bo ? bo + (r - o) : nullptr);
              }
            }
          }
        }
      },
      1);
}

template <class V, DType D, class Tiles>
void dense_rows(const LinearWeight& lw, const float* x, int64_t n, float* y) {
  if (n == 1) return dense<V, D, Tiles, V::kDecodeRows>(lw, x, n, y);
  return dense<V, D, Tiles, 4>(lw, x, n, y);
}

template <class V, class Tiles = GenericTiles<V>>
void dense_any(const LinearWeight& lw, const float* x, int64_t n, float* y) {
  switch (lw.weight.dtype()) {
    case DType::kF32:
      return dense_rows<V, DType::kF32, Tiles>(lw, x, n, y);
    case DType::kBF16:
      return dense_rows<V, DType::kBF16, Tiles>(lw, x, n, y);
    case DType::kF16:
      return dense_rows<V, DType::kF16, Tiles>(lw, x, n, y);
    default:
      return;  // the caller checked the dtype
  }
}

}  // namespace qinfer::ops::cpu::tile
