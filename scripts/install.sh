#!/usr/bin/env bash
# Staged install into ./.venv (or $KILM_VENV). pip cannot take --no-build-isolation from a
# requirements file, and fairseq-fixed must come without its CUDA torchaudio dependency.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${KILM_VENV:-.venv}
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
if [ ! -x "$VENV/bin/python" ]; then
  echo "[install] creating $VENV with $PY"
  "$PY" -m venv "$VENV"
fi
PIP="$VENV/bin/pip"
stamp="$VENV/.kilm-installed-$(sha256sum requirements.txt scripts/install.sh | sha256sum | cut -c1-16)"
if [ -f "$stamp" ]; then
  echo "[install] environment up to date ($VENV)"
  exit 0
fi
"$PIP" install -q --upgrade pip
echo "[install] 1/4 torch (CPU build)"
"$PIP" install -q torch==2.13.0
echo "[install] 2/4 numpy, cython"
"$PIP" install -q "numpy>=1.26,<3" "cython>=3.0"
echo "[install] 3/4 fairseq-fixed (builds its C extensions, ~5 min the first time, cached afterwards)"
"$PIP" install -q --no-build-isolation --no-deps fairseq-fixed==0.12.3.1
echo "[install] 4/4 requirements.txt"
"$PIP" install -q -r requirements.txt
echo "[install] (pip's note that fairseq-fixed requires torchaudio is expected: it is left out on purpose;"
echo "[install]  its CUDA build breaks 'import transformers', and fairseq uses it only for speech tasks)"
"$VENV/bin/python" -c "import fairseq, apache_beam, transformers, mwparserfromhell, mwxml" \
  || { echo "[install] import check failed" >&2; exit 1; }
touch "$stamp"
echo "[install] done ($VENV)"
