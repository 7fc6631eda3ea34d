// Paged KV-cache block accounting (vLLM's PagedAttention layout, Kwon et al. 2023): the cache
// is n_block fixed-size blocks of block_size positions; each sequence owns a block table
// mapping its logical blocks to physical ones. Blocks are reference-counted so that the n
// samples of one request share the prompt's blocks; a shared block is copied before it is
// written (copy-on-write). The block manager only counts; the engine copies the KV bytes.
#pragma once

#include <cstdint>
#include <vector>

namespace qinfer::engine {

class BlockManager {
 public:
  BlockManager(int64_t n_block, int64_t block_size);

  int64_t n_block() const { return int64_t(ref_.size()); }
  int64_t block_size() const { return block_size_; }
  int64_t n_free() const { return int64_t(free_.size()); }
  int64_t n_used() const { return n_block() - n_free(); }
  // Fraction of blocks in use, 0..1 (vllm:kv_cache_usage_perc).
  double usage() const { return n_block() ? double(n_used()) / double(n_block()) : 0.0; }

  // Blocks needed to hold n_pos positions.
  int64_t blocks_for(int64_t n_pos) const { return (n_pos + block_size_ - 1) / block_size_; }

  // Takes a free block with reference count 1; throws qinfer::Error when none is free
  // (callers check n_free() first: running out is handled by preemption, not by failing).
  int32_t allocate();
  void incref(int32_t block);
  // Drops one reference; the block returns to the free list at zero.
  void decref(int32_t block);
  int ref_count(int32_t block) const;

  // Releases every block of a table and clears it.
  void free_table(std::vector<int32_t>* table);

 private:
  void check(int32_t block) const;

  int64_t block_size_;
  std::vector<int> ref_;        // (n_block) reference counts
  std::vector<int32_t> free_;   // stack of free block ids (lowest id on top)
};

}  // namespace qinfer::engine
