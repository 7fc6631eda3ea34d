// A STREAM-style read bandwidth probe for CPU rooflines: every thread of the pool sums its
// share of a buffer much larger than the last-level cache; the best of several passes counts.
#pragma once

#include <cstddef>

namespace qinfer::bench {

// Bytes read per second (GB/s, 1e9) over a buffer of `bytes`, best of `passes`.
double stream_read_gbs(size_t bytes, int passes);

}  // namespace qinfer::bench
