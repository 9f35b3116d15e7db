#!/usr/bin/env bash
# One-time set-up for running the tests on a fresh Debian machine: the Mesa packages that let
# Dawn (the `webgpu` package) run WebGPU on the CPU through OpenGL ES (llvmpipe), then npm ci.
set -euo pipefail
cd "$(dirname "$0")/.."
need=(libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri)
missing=()
for p in "${need[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  else
    echo "setup: missing Debian packages ${missing[*]} (WebGPU tests on llvmpipe need them): run as root or sudo apt-get install them" >&2
  fi
fi
npm ci --no-audit --no-fund
