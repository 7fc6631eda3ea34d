#!/usr/bin/env bash
# Installs, builds and runs every test. This is what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh build
cd build && ctest --output-on-failure -j "$(nproc)"
