#!/usr/bin/env bash
# Run first by every `npm test` (in the script itself: .npmrc sets ignore-scripts, so
# npm would skip a pretest hook): makes sure the software WebGPU
# driver (Mesa lavapipe, for Dawn in Node) and Chromium (SwiftShader) that the
# GPU-kernel tests execute on are present, installing them when they are not.
# Idempotent and quick when both are there; as a non-root user with nothing
# installed, it says what to run instead of failing halfway.
set -euo pipefail
cd "$(dirname "$0")/.."
ICD="${WEBGPU_CPU_DIR:-.cache/webgpu-cpu}/lvp_icd.json"
if [ -f "$ICD" ] && command -v chromium >/dev/null 2>&1; then
  echo "ensure-test-drivers: lavapipe ($ICD) and chromium ($(command -v chromium)) are installed"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "ensure-test-drivers: the GPU-kernel tests need Mesa's software Vulkan driver and Chromium, and installing them needs root." >&2
  echo "ensure-test-drivers: run once:  sudo bash scripts/install-webgpu-cpu.sh --chromium   then npm test again." >&2
  exit 1
fi
exec bash scripts/install-webgpu-cpu.sh --chromium
