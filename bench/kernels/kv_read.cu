// Kernel experiment: how fast can a decode attention read a paged FP8 KV cache, by the width of
// the piece it reads per position? No attention math: the read pattern alone, as the ceiling of
// the pattern (session 35).
//
// The engine's cache is (n_block, 16 positions, n_head_kv 8, head_dim 128) E4M3 bytes, K and V
// apart, so one position of one KV head is 128 contiguous bytes and the 8 heads of a position
// lie side by side (1,024 bytes). decode_tc_kernel reads the rows of HP KV heads a unit (HP = 1,
// or 2 for FP8: pieces of 256 bytes). This experiment reads them as that kernel does (4 warps a
// block, tiles of 16 positions, each warp its own cp.async ring of 16-byte copies; the warp
// then reads its tile back from shared memory and folds it into a checksum) for HP = 1, 2, 4,
// 8 and split counts 1-4, at the offline shape (512 sequences x 1,500 keys, blocks scattered by
// a random permutation), and prints the rate against two ceilings measured in the same run:
// a device-to-device copy (bytes read + written) and a read-only stream (16-byte loads over 1
// GiB, reduced to a checksum).
//
// Check: every unit's checksum (XOR of the 32-bit words it read) against the host's, for the
// first and last 64 units of every configuration.
//
//   kv_read [--seqs N] [--ctx N] [--out FILE.json]
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/tensor.h"
#include "ops/cuda/cuda_common.h"
#include "ops/cuda/event_timing.h"
#include "ops/cuda/mma.cuh"

namespace qinfer {
namespace {

namespace cu = ops::cuda;
namespace mma = ops::cuda::mma;

constexpr int kBlock = 16;      // positions a cache block
constexpr int kHeadKv = 8;      // KV heads (8B, 70B)
constexpr int kRowBytes = 128;  // head_dim 128 of E4M3
constexpr int kSlotBytes = kHeadKv * kRowBytes;
constexpr int kWarps = 4;

struct Args {
  const uint8_t* k;  // (n_block, kBlock, kHeadKv, kRowBytes)
  const uint8_t* v;
  const int32_t* tables;  // (seqs, max_blocks)
  int max_blocks, ctx, n_split;
  uint32_t* sums;  // (seqs, kHeadKv / HP): XOR of the unit's words
};

// One block a (sequence, group of HP heads, split); warp w takes tiles w, w + 4, ... of the
// split's keys through a ring of S stages of one K and one V tile (kTile rows of HP x 128
// bytes).
template <int HP, int S, int kTile>
__global__ void __launch_bounds__(kWarps * 32) kv_read_kernel(Args a) {
  constexpr int kPiece = HP * kRowBytes;
  constexpr int kTileBytes = kTile * kPiece;
  constexpr int kChunks = kTileBytes / 16;  // 16-byte copies a tile
  constexpr int kPer = kChunks / 32;        // ... a lane
  extern __shared__ uint4 smem[];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int seq = blockIdx.x, hg = blockIdx.y, split = blockIdx.z;
  const int per = (a.ctx + a.n_split - 1) / a.n_split;
  const int span = (per + kTile - 1) / kTile * kTile;
  const int begin = min(split * span, a.ctx), end = min(a.ctx, begin + span);
  const int n_tiles = (end - begin + kTile - 1) / kTile;
  const int n_it = warp < n_tiles ? (n_tiles - 1 - warp) / kWarps + 1 : 0;
  const int32_t* table = a.tables + int64_t(seq) * a.max_blocks;
  char* const ring = reinterpret_cast<char*>(smem) + warp * S * 2 * kTileBytes;
  const auto issue = [&](int i) {
    if (i < n_it) {
      const int key0 = begin + (warp + i * kWarps) * kTile;
      // Tiles start at multiples of kTile (a divisor of kBlock): one block a tile.
      const int64_t base =
          (int64_t(__ldg(table + key0 / kBlock)) * kBlock + key0 % kBlock) * kSlotBytes +
          int64_t(hg) * kPiece;
      char* const st = ring + (i % S) * 2 * kTileBytes;
#pragma unroll
      for (int r = 0; r < kPer; ++r) {
        const int ci = lane + 32 * r, row = ci / (kPiece / 16), ch = ci % (kPiece / 16);
        const bool ok = key0 + row < end;
        const int64_t off = ok ? base + int64_t(row) * kSlotBytes + ch * 16 : 0;
        mma::cp_async_16(st + ci * 16, a.k + off, ok ? 16 : 0);
        mma::cp_async_16(st + kTileBytes + ci * 16, a.v + off, ok ? 16 : 0);
      }
    }
    mma::cp_async_commit();
  };
  uint32_t x = 0;
#pragma unroll
  for (int s = 0; s < S - 1; ++s) issue(s);
  for (int i = 0; i < n_it; ++i) {
    issue(i + S - 1);
    mma::cp_async_wait<S - 1>();
    __syncwarp();
    // Read back another lane's copies (as the attention reads rows other lanes copied).
    const char* const st = ring + (i % S) * 2 * kTileBytes;
#pragma unroll
    for (int r = 0; r < kPer; ++r) {
      const int ci = (lane ^ 1) + 32 * r;
      const uint4 kk = *reinterpret_cast<const uint4*>(st + ci * 16);
      const uint4 vv = *reinterpret_cast<const uint4*>(st + kTileBytes + ci * 16);
      x ^= kk.x ^ kk.y ^ kk.z ^ kk.w ^ vv.x ^ vv.y ^ vv.z ^ vv.w;
    }
    __syncwarp();  // the stage is refilled next iteration
  }
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) x ^= __shfl_xor_sync(0xffffffffu, x, o);
  if (lane == 0 && x != 0) atomicXor(a.sums + int64_t(seq) * (kHeadKv / HP) + hg, x);
}

// The read-only ceiling: 16-byte loads, 4 in flight a thread, over `n` uint4.
__global__ void __launch_bounds__(512)
    read_stream_kernel(const uint4* p, int64_t n, uint32_t* sink) {
  uint32_t x = 0;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  for (; i + 3 * stride < n; i += 4 * stride) {
    uint4 v[4];
#pragma unroll
    for (int u = 0; u < 4; ++u) v[u] = __ldcs(p + i + u * stride);
#pragma unroll
    for (int u = 0; u < 4; ++u) x ^= v[u].x ^ v[u].y ^ v[u].z ^ v[u].w;
  }
  for (; i < n; i += stride) {
    const uint4 v = __ldcs(p + i);
    x ^= v.x ^ v.y ^ v.z ^ v.w;
  }
  if (x == 0x12345678u) *sink = x;  // keeps the loads
}

struct Config {
  int hp, stages, tile, split;
};

template <int HP, int S, int T>
void launch(const Args& a, int seqs, cudaStream_t s) {
  const int smem = kWarps * S * 2 * T * HP * kRowBytes;
  static bool set = false;
  if (!set) {
    QINFER_CUDA_CHECK(cudaFuncSetAttribute(kv_read_kernel<HP, S, T>,
                                           cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
    set = true;
  }
  kv_read_kernel<HP, S, T><<<dim3(seqs, kHeadKv / HP, a.n_split), kWarps * 32, smem, s>>>(a);
  QINFER_CUDA_CHECK_LAUNCH();
}

// A warp's ring holds 12-32 KB (the attention's: 16 KB).
void launch_cfg(const Config& c, const Args& a, int seqs, cudaStream_t s) {
  switch (c.hp * 1000 + c.stages * 100 + c.tile) {
    case 1316:
      return launch<1, 3, 16>(a, seqs, s);
    case 1416:
      return launch<1, 4, 16>(a, seqs, s);
    case 2216:
      return launch<2, 2, 16>(a, seqs, s);
    case 2316:
      return launch<2, 3, 16>(a, seqs, s);
    case 4208:
      return launch<4, 2, 8>(a, seqs, s);
    case 4308:
      return launch<4, 3, 8>(a, seqs, s);
    case 4216:
      return launch<4, 2, 16>(a, seqs, s);
    case 8204:
      return launch<8, 2, 4>(a, seqs, s);
    case 8304:
      return launch<8, 3, 4>(a, seqs, s);
    case 8208:
      return launch<8, 2, 8>(a, seqs, s);
    default:
      throw Error("kv_read: no kernel for HP " + std::to_string(c.hp) + ", stages " +
                  std::to_string(c.stages) + ", tile " + std::to_string(c.tile));
  }
}

int run(int argc, char** argv) {
  int seqs = 512, ctx = 1500;
  std::string out;
  for (int i = 1; i < argc; ++i) {
    const std::string f = argv[i];
    if (f == "--seqs" && i + 1 < argc)
      seqs = std::stoi(argv[++i]);
    else if (f == "--ctx" && i + 1 < argc)
      ctx = std::stoi(argv[++i]);
    else if (f == "--out" && i + 1 < argc)
      out = argv[++i];
    else
      throw Error("kv_read: unknown argument '" + f + "' (--seqs N --ctx N --out FILE)");
  }
  cu::ensure_init();
  cudaStream_t st = cu::stream();
  const int max_blocks = (ctx + kBlock - 1) / kBlock;
  const int64_t n_block = int64_t(seqs) * max_blocks;
  const int64_t cache_bytes = n_block * kBlock * kSlotBytes;
  // Random bytes on the host (a cheap generator), K and V distinct.
  std::vector<uint8_t> hk(cache_bytes), hv(cache_bytes);
  uint64_t z = 0x9E3779B97F4A7C15ull;
  for (int64_t i = 0; i < cache_bytes; i += 8) {
    z ^= z << 13, z ^= z >> 7, z ^= z << 17;
    std::memcpy(&hk[i], &z, 8);
    const uint64_t w = z * 0xD1B54A32D192ED03ull;
    std::memcpy(&hv[i], &w, 8);
  }
  std::vector<int32_t> perm(n_block);
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), std::mt19937(7));
  Tensor k = Tensor::empty(DType::kU8, {cache_bytes}, Device::kCuda);
  Tensor v = Tensor::empty(DType::kU8, {cache_bytes}, Device::kCuda);
  Tensor tables = Tensor::empty(DType::kI32, {n_block}, Device::kCuda);
  Tensor sums = Tensor::empty(DType::kI32, {int64_t(seqs) * kHeadKv}, Device::kCuda);
  QINFER_CUDA_CHECK(cudaMemcpy(k.data(), hk.data(), cache_bytes, cudaMemcpyHostToDevice));
  QINFER_CUDA_CHECK(cudaMemcpy(v.data(), hv.data(), cache_bytes, cudaMemcpyHostToDevice));
  QINFER_CUDA_CHECK(cudaMemcpy(tables.data(), perm.data(), n_block * 4, cudaMemcpyHostToDevice));

  const double kv_bytes = 2.0 * double(seqs) * ctx * kSlotBytes;
  Json res = Json::object();
  res["seqs"] = seqs;
  res["ctx"] = ctx;
  res["kv_bytes"] = kv_bytes;

  // Ceilings: the D2D copy of 1 GiB (read + write) and a read-only stream over the K cache.
  const size_t gib = size_t(1) << 30;
  const double copy_ms = cu::time_ms(
      [&] {
        QINFER_CUDA_CHECK(cudaMemcpyAsync(v.data(), k.data(), std::min<size_t>(gib, cache_bytes),
                                          cudaMemcpyDeviceToDevice, st));
      },
      5, 7);
  const double copy_tbs = 2.0 * double(std::min<size_t>(gib, cache_bytes)) / copy_ms / 1e9;
  QINFER_CUDA_CHECK(cudaStreamSynchronize(st));
  QINFER_CUDA_CHECK(cudaMemcpy(v.data(), hv.data(), cache_bytes, cudaMemcpyHostToDevice));
  const int64_t n16 = cache_bytes / 16;
  const double read_ms = cu::time_ms(
      [&] {
        read_stream_kernel<<<cu::sm_count() * 4, 512, 0, st>>>(
            static_cast<const uint4*>(k.data()), n16, static_cast<uint32_t*>(sums.data()));
        QINFER_CUDA_CHECK_LAUNCH();
      },
      5, 7);
  const double read_tbs = double(cache_bytes) / read_ms / 1e9;
  std::printf("ceilings: D2D copy %.3f TB/s (read + write), read-only stream %.3f TB/s (%.2f GB)\n",
              copy_tbs, read_tbs, cache_bytes / 1e9);
  res["copy_tbs"] = copy_tbs;
  res["read_tbs"] = read_tbs;

  const Config cfgs[] = {{1, 3, 16, 1}, {1, 4, 16, 1}, {2, 2, 16, 1}, {2, 3, 16, 1}, {2, 2, 16, 2},
                         {4, 2, 8, 1},  {4, 3, 8, 1},  {4, 2, 8, 2},  {4, 2, 16, 1}, {4, 2, 16, 2},
                         {8, 2, 4, 1},  {8, 3, 4, 1},  {8, 2, 4, 2},  {8, 2, 4, 4},  {8, 2, 8, 2}};
  std::printf("\n%d sequences x %d keys, %.2f GB of K/V (E4M3, blocks of 16 scattered)\n", seqs,
              ctx, kv_bytes / 1e9);
  std::printf("%4s %7s %5s %6s %10s %9s %9s %9s %7s\n", "HP", "stages", "tile", "split", "us",
              "TB/s", "/ copy", "/ read", "check");
  Json rows = Json::array();
  for (const Config& c : cfgs) {
    Args a{static_cast<const uint8_t*>(k.data()),
           static_cast<const uint8_t*>(v.data()),
           tables.data_as<int32_t>(),
           max_blocks,
           ctx,
           c.split,
           static_cast<uint32_t*>(sums.data())};
    // Check one launch's sums against the host's XOR for the first and last 64 units.
    const int units = seqs * (kHeadKv / c.hp);
    QINFER_CUDA_CHECK(cudaMemsetAsync(sums.data(), 0, units * 4, st));
    launch_cfg(c, a, seqs, st);
    QINFER_CUDA_CHECK(cudaStreamSynchronize(st));  // the backend stream does not block on 0
    std::vector<uint32_t> got(units);
    QINFER_CUDA_CHECK(cudaMemcpy(got.data(), sums.data(), units * 4, cudaMemcpyDeviceToHost));
    int bad = 0;
    for (int u = 0; u < units; ++u) {
      if (u >= 64 && u < units - 64) continue;
      const int s = u / (kHeadKv / c.hp), hg = u % (kHeadKv / c.hp);
      uint32_t x = 0;
      for (int j = 0; j < ctx; ++j) {
        const int64_t off =
            (int64_t(perm[int64_t(s) * max_blocks + j / kBlock]) * kBlock + j % kBlock) *
                kSlotBytes +
            int64_t(hg) * c.hp * kRowBytes;
        for (int b = 0; b < c.hp * kRowBytes; b += 4) {
          uint32_t wk, wv;
          std::memcpy(&wk, &hk[off + b], 4);
          std::memcpy(&wv, &hv[off + b], 4);
          x ^= wk ^ wv;
        }
      }
      bad += x != got[u];
    }
    const double ms = cu::time_ms([&] { launch_cfg(c, a, seqs, st); }, 10, 7);
    const double tbs = kv_bytes / ms / 1e9;
    std::printf("%4d %7d %5d %6d %10.1f %9.3f %9.3f %9.3f %7s\n", c.hp, c.stages, c.tile, c.split,
                ms * 1e3, tbs, tbs / copy_tbs, tbs / read_tbs, bad ? "FAIL" : "ok");
    rows.push_back({{"hp", c.hp},
                    {"stages", c.stages},
                    {"tile", c.tile},
                    {"split", c.split},
                    {"us", ms * 1e3},
                    {"tbs", tbs},
                    {"ratio_copy", tbs / copy_tbs},
                    {"ratio_read", tbs / read_tbs},
                    {"check", bad ? "FAIL" : "ok"}});
    if (bad) res["failed"] = true;
  }
  res["rows"] = rows;
  if (!out.empty()) write_json_file(out, res);
  return res.contains("failed") ? 1 : 0;
}

}  // namespace
}  // namespace qinfer

int main(int argc, char** argv) {
  try {
    return qinfer::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kv_read: %s\n", e.what());
    return 1;
  }
}
