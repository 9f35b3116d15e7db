#!/usr/bin/env bash
# Packs what a GPU machine (no network, no Node.js) needs to run this project: ../shared/device/pack.sh
# (Node, Vulkan loader), then replaces its node_modules archive with the production dependencies
# only (no compilers, linters or onnxruntime), so a call's carry stays far under 64 MiB.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ../shared/device/pack.sh >/dev/null
mapfile -t mods < <(npm ls --omit=dev --all --parseable 2>/dev/null | tail -n +2 | sed "s#^$PWD/##" | sort -u)
tar -cf - --exclude='node_modules/webgpu/dist/win32-*' --exclude='node_modules/webgpu/dist/darwin-*' \
  --exclude='node_modules/webgpu/dist/linux-arm64' --exclude='node_modules/@resvg/resvg-js-*musl*' \
  "${mods[@]}" | xz -T2 -6 > .devcarry/node_modules.tar.xz
du -sh .devcarry | awk '{print ".devcarry: " $1}'
