#!/usr/bin/env bash
# The GPU kit's entry point (made by `npm run gpu:pack`, see bench/gpu_kit/pack.ts).
#
#   KIT/run.sh cli ARGS...       the CLI (train, eval, infer, curate, shift), as `npm run cli`
#   KIT/run.sh bench ARGS...     the benchmarks, as `npm run bench`
#   KIT/run.sh figures ARGS...   bench/gpu_figures.ts: issue 10's figures of our engine
#   KIT/run.sh reference [ARGS]  bench/reference_check.ts: stories260K against the shared ground truth
#   KIT/run.sh node ARGS...      the kit's Node
#   KIT/run.sh env               what it found: Node, the Vulkan loader, the driver file
#
# On first use (and after a new pack) it unpacks Node, the bundles, Dawn and
# the Vulkan/GL libraries into a work folder ($LIMA_KIT_WORK, default
# /tmp/lima-kit; never into /, and nothing into the kit), puts the
# libraries on LD_LIBRARY_PATH and points Vulkan at a driver: $VK_ICD_FILENAMES
# if set, else NVIDIA's (the device machine's /usr/local/nvidia or the usual
# places), else SwiftShader's from Debian's chromium (so the kit can be checked
# on a machine without a GPU). It needs only bash, coreutils and xz or python3.
set -euo pipefail
KIT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORK="${LIMA_KIT_WORK:-/tmp/lima-kit}"
mkdir -p "$WORK"

say() { echo "kit: $*" >&2; }

# unxz SRC DST: xz if there is one, else Python's lzma
unxz_to() {
  if command -v xz >/dev/null 2>&1; then xz -dc "$1" >"$2.tmp"
  else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2.tmp"; fi
  mv "$2.tmp" "$2"
}

# a .deb's files into a folder: dpkg-deb if there is one, else Python (ar + tar)
undeb() {
  if command -v dpkg-deb >/dev/null 2>&1; then dpkg-deb -x "$1" "$2"; return; fi
  python3 - "$1" "$2" <<'PY'
import io, sys, tarfile
data = open(sys.argv[1], 'rb').read()
assert data[:8] == b'!<arch>\n', 'not a .deb'
at = 8
while at < len(data):
    name = data[at:at + 16].decode().strip().rstrip('/')
    size = int(data[at + 48:at + 58].decode().strip())
    body = data[at + 60:at + 60 + size]
    if name.startswith('data.tar'):
        tarfile.open(fileobj=io.BytesIO(body)).extractall(sys.argv[2])
    at += 60 + size + (size % 2)
PY
}

# the kit itself stays as it is (it may be read-only): what it unpacks goes into WORK
id="$(cat "$KIT/kit.id")"
if [ "$(cat "$WORK/kit.id" 2>/dev/null || true)" != "$id" ]; then
  say "unpacking Node, the bundles and Dawn into $WORK"
  rm -rf "$WORK/app" "$WORK/kit.id"
  unxz_to "$KIT/node.xz" "$WORK/node"
  chmod +x "$WORK/node"
  cp -r "$KIT/app" "$WORK/app"
  DAWN="$WORK/app/node_modules/webgpu/dist/linux-x64/dawn.node"
  unxz_to "$DAWN.xz" "$DAWN"
  rm "$DAWN.xz"
  echo -n "$id" >"$WORK/kit.id"
fi
if [ ! -d "$WORK/libs/usr" ]; then
  say "unpacking the Vulkan loader and GL libraries into $WORK/libs"
  mkdir -p "$WORK/libs"
  for d in "$KIT"/deb/*.deb; do undeb "$d" "$WORK/libs"; done
fi
LIBS="$WORK/libs/usr/lib/x86_64-linux-gnu"
for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do [ -d "$d" ] && LIBS="$LIBS:$d"; done
export LD_LIBRARY_PATH="$LIBS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

if [ -z "${VK_ICD_FILENAMES:-}" ]; then
  for f in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json \
    /usr/share/vulkan/icd.d/nvidia_icd.x86_64.json /usr/lib/chromium/vk_swiftshader_icd.json; do
    if [ -f "$f" ]; then export VK_ICD_FILENAMES="$f"; break; fi
  done
fi
[ -n "${VK_ICD_FILENAMES:-}" ] || { say "no Vulkan driver file found: set VK_ICD_FILENAMES to the driver's ICD json"; exit 1; }
export VK_DRIVER_FILES="$VK_ICD_FILENAMES" # the newer loaders' name for it
if [ -f /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json ]; then
  export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
fi

what="${1:-}"
[ $# -gt 0 ] && shift
case "$what" in
  cli) exec "$WORK/node" "$WORK/app/cli.mjs" "$@" ;;
  bench) exec "$WORK/node" "$WORK/app/bench.mjs" "$@" ;;
  figures) exec "$WORK/node" "$WORK/app/gpu_figures.mjs" "$@" ;;
  reference) exec "$WORK/node" "$WORK/app/reference_check.mjs" --model "$KIT/data/stories260K-hf" --reference "$KIT/data/reference.json" "$@" ;;
  node) exec "$WORK/node" "$@" ;;
  env)
    echo "node: $("$WORK/node" --version) at $WORK/node"
    echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
    echo "VK_ICD_FILENAMES=$VK_ICD_FILENAMES"
    ;;
  *)
    sed -n '2,10p' "$0" >&2
    exit 2
    ;;
esac
