// On/off switches from the environment (QINFER_CUDA_GRAPHS=0, QINFER_CUDA_ATTN_TC=1, ...).
#pragma once

namespace qinfer {

// 0 or 1 when the variable `name` is set to "0" or "1"; `otherwise` when it is unset or set to
// anything else.
int env_switch(const char* name, int otherwise);

// The integer the variable `name` is set to (decimal, all of it); `otherwise` when it is unset
// or set to anything else.
int env_int(const char* name, int otherwise);

}  // namespace qinfer
