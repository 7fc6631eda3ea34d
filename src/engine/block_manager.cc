#include "engine/block_manager.h"

#include "core/error.h"

namespace qinfer::engine {

BlockManager::BlockManager(int64_t n_block, int64_t block_size)
    : block_size_(block_size), ref_(size_t(n_block), 0) {
  QINFER_CHECK(n_block > 0, "KV cache: n_block must be positive, got ", n_block);
  QINFER_CHECK(block_size > 0, "KV cache: block_size must be positive, got ", block_size);
  free_.reserve(size_t(n_block));
  for (int64_t b = n_block - 1; b >= 0; --b) free_.push_back(int32_t(b));
}

void BlockManager::check(int32_t block) const {
  QINFER_CHECK(block >= 0 && block < n_block(), "KV cache: block id ", block,
               " out of range [0, ", n_block(), ")");
}

int32_t BlockManager::allocate() {
  QINFER_CHECK(!free_.empty(), "KV cache: no free block (", n_block(), " in use)");
  int32_t b = free_.back();
  free_.pop_back();
  ref_[size_t(b)] = 1;
  return b;
}

void BlockManager::incref(int32_t block) {
  check(block);
  QINFER_CHECK(ref_[size_t(block)] > 0, "KV cache: incref of free block ", block);
  ++ref_[size_t(block)];
}

void BlockManager::decref(int32_t block) {
  check(block);
  QINFER_CHECK(ref_[size_t(block)] > 0, "KV cache: double free of block ", block);
  if (--ref_[size_t(block)] == 0) free_.push_back(block);
}

int BlockManager::ref_count(int32_t block) const {
  check(block);
  return ref_[size_t(block)];
}

void BlockManager::free_table(std::vector<int32_t>* table) {
  for (int32_t b : *table) decref(b);
  table->clear();
}

}  // namespace qinfer::engine
