// Hopper warpgroup MMA (wgmma.mma_async, sm_90a only) for BF16 operands with fp32 accumulation
// (and FP8 E4M3 ones without swizzle, desc_none: the decode GEMV of gemv_bulk.cu),
// and the shared-memory layout it reads: tiles of rows cut into panels of 64 BF16 elements (128
// bytes a row), each panel's rows 128 bytes apart with the 16-byte chunks of row r XOR-swizzled
// by r % 8 (the 128-byte swizzle; 8-row atoms of 1024 bytes, panels 1024-byte aligned).
// Operands (PTX ISA, "Asynchronous Warpgroup Level Matrix Multiply-Accumulate"): the 128
// threads of a warpgroup issue together; warp w of the group holds rows 16 w .. 16 w + 15 of
// the 64-row accumulator in mma.sync's m16n8 C layout for each 8 columns (d[4 j + e]: row
// lane / 4 + 8 (e / 2), column 8 j + 2 (lane % 4) + e % 2), and a register A operand in
// mma.sync's m16n8k16 A layout. Issue wgmma_fence() before the first MMA of a batch (the
// accumulators or A registers were written by ordinary instructions), wgmma_commit() after
// the batch, wgmma_wait<0>() before reading the results, then wgmma_fence_regs() on the
// accumulators so that no read moves above the wait. Shared-memory data written by ordinary
// stores or cp.async must be published with fence_proxy_async() (then a barrier) before an
// MMA reads it. Include from .cu files only; everything compiles to nothing below sm_90a.
#pragma once

#include <cstdint>

#include "ops/cuda/mma.cuh"

namespace qinfer::ops::cuda::wg {

#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define QINFER_WGMMA 1
#endif

// Byte offset of 16-byte chunk q (of a row of 8 q-chunks a panel) of row r in a tile of `rows`
// rows (the 128-byte swizzle).
__host__ __device__ constexpr int swz128(int rows, int r, int q) {
  return (q >> 3) * rows * 128 + r * 128 + (((q & 7) ^ (r & 7)) << 4);
}

// Shared-memory matrix descriptor without swizzle (K-major): core matrices of 8 rows x 16 bytes,
// each 128 contiguous bytes (row r at 16 r); lead = bytes between core matrices adjacent in K,
// stride = between core matrices adjacent in M (or N). addr: a shared-state-space address.
__device__ __forceinline__ uint64_t desc_none(uint32_t addr, uint32_t lead, uint32_t stride) {
  return uint64_t((addr & 0x3FFFF) >> 4) | (uint64_t((lead >> 4) & 0x3FFF) << 16) |
         (uint64_t((stride >> 4) & 0x3FFF) << 32);
}

// Shared-memory matrix descriptor, 128-byte swizzle: start address, leading and stride byte
// offsets (K-major operands: stride = 1024, the 8-row atom; leading unused).
__device__ __forceinline__ uint64_t desc128(const void* p, uint32_t lead, uint32_t stride) {
  return desc_none(mma::smem_addr(p), lead, stride) | (uint64_t(1) << 62);
}

#ifdef QINFER_WGMMA
__device__ __forceinline__ void wgmma_fence() {
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
}
__device__ __forceinline__ void wgmma_commit() {
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
}
template <int N>
__device__ __forceinline__ void wgmma_wait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
}
template <int K>
__device__ __forceinline__ void wgmma_fence_regs(float (&d)[K]) {
#pragma unroll
  for (int i = 0; i < K; ++i) asm volatile("" : "+f"(d[i])::"memory");
}
__device__ __forceinline__ void fence_proxy_async() {
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
}

// d (64 x 32) = (acc ? d : 0) + A (64 x 16) B: A and B (K-major: 32 rows x 16) in shared
// memory (descriptors da, db).
__device__ __forceinline__ void wgmma_ss_n32(float (&d)[16], uint64_t da, uint64_t db, int acc) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %18, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n32k16.f32.bf16.bf16 {"
      "%0, %1, %2, %3, %4, %5, %6, %7, "
      "%8, %9, %10, %11, %12, %13, %14, %15"
      "}, %16, %17, p, 1, 1, 0, 0;\n}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]),
        "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]),
        "+f"(d[14]), "+f"(d[15])
      : "l"(da), "l"(db), "r"(acc));
}
// d (64 x 64) = (acc ? d : 0) + A (64 x 16) B: A and B (K-major: 64 rows x 16) in shared
// memory (descriptors da, db).
__device__ __forceinline__ void wgmma_ss_n64(float (&d)[32], uint64_t da, uint64_t db, int acc) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {"
      "%0, %1, %2, %3, %4, %5, %6, %7, "
      "%8, %9, %10, %11, %12, %13, %14, %15, "
      "%16, %17, %18, %19, %20, %21, %22, %23, "
      "%24, %25, %26, %27, %28, %29, %30, %31"
      "}, %32, %33, p, 1, 1, 0, 0;\n}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]),
        "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]),
        "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]),
        "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]),
        "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])
      : "l"(da), "l"(db), "r"(acc));
}
// d (64 x 64) += A (64 x 16, registers a) B (16 x 64, shared memory, N-major: db with the
// transpose bit).
__device__ __forceinline__ void wgmma_rs_n64(float (&d)[32], const uint32_t (&a)[4], uint64_t db) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {"
      "%0, %1, %2, %3, %4, %5, %6, %7, "
      "%8, %9, %10, %11, %12, %13, %14, %15, "
      "%16, %17, %18, %19, %20, %21, %22, %23, "
      "%24, %25, %26, %27, %28, %29, %30, %31"
      "}, {%32, %33, %34, %35}, %36, p, 1, 1, 1;\n}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]),
        "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]),
        "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]),
        "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]),
        "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db), "r"(1));
}
// d (64 x 128) += A (64 x 16, registers a) B (16 x 128, shared memory, N-major: db with the
// transpose bit).
__device__ __forceinline__ void wgmma_rs_n128(float (&d)[64], const uint32_t (&a)[4], uint64_t db) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {"
      "%0, %1, %2, %3, %4, %5, %6, %7, "
      "%8, %9, %10, %11, %12, %13, %14, %15, "
      "%16, %17, %18, %19, %20, %21, %22, %23, "
      "%24, %25, %26, %27, %28, %29, %30, %31, "
      "%32, %33, %34, %35, %36, %37, %38, %39, "
      "%40, %41, %42, %43, %44, %45, %46, %47, "
      "%48, %49, %50, %51, %52, %53, %54, %55, "
      "%56, %57, %58, %59, %60, %61, %62, %63"
      "}, {%64, %65, %66, %67}, %68, p, 1, 1, 1;\n}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]),
        "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]),
        "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]),
        "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]),
        "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]),
        "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]),
        "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]),
        "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]),
        "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]),
        "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]),
        "+f"(d[62]), "+f"(d[63])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db), "r"(1));
}
// d (64 x 16) = (acc ? d : 0) + A (64 x 32, E4M3) B (32 x 16, E4M3), both K-major in shared
// memory, each descriptor (desc_none) given as its two 32-bit halves: a chain's next
// descriptors are the low halves plus a constant (the start address field, bits 0-13, does not
// carry into the leading offset for shared-memory addresses under 256 KiB), one uniform add each
// where the halves are warp-uniform (gemv_bulk; 64-bit adds took 8-10 instructions and two R2UR
// moves between QGMMAs).
__device__ __forceinline__ void wgmma_e4m3_n16(float (&d)[8], uint32_t da_lo, uint32_t da_hi,
                                               uint32_t db_lo, uint32_t db_hi, int acc) {
  asm volatile(
      "{\n.reg .pred p;\n.reg .b64 da, db;\nsetp.ne.b32 p, %12, 0;\n"
      "mov.b64 da, {%8, %9};\nmov.b64 db, {%10, %11};\n"
      "wgmma.mma_async.sync.aligned.m64n16k32.f32.e4m3.e4m3 "
      "{%0, %1, %2, %3, %4, %5, %6, %7}, da, db, p, 1, 1;\n}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]),
        "+f"(d[7])
      : "r"(da_lo), "r"(da_hi), "r"(db_lo), "r"(db_hi), "r"(acc));
}
#endif  // QINFER_WGMMA

}  // namespace qinfer::ops::cuda::wg
