#!/usr/bin/env bash
# Runs ON the GPU machine (no .NET SDK there): unpacks the bundle that prepare.sh made and the calls carried,
# points the loader at the CUDA 13 / cuDNN 9 libraries of the machine's Python wheels, and runs LSeg.GpuCheck:
# the same package on the CPU and on CUDA, mask agreement (>= 99.9% of pixels) and median times.
set -euo pipefail
bundle="${1:-artifacts/gpu-bundle}"
work=/tmp/lseg-gpu
rm -rf "$work" && mkdir -p "$work"
xz -d -c "$bundle/app.tar.xz" | tar -xf - -C "$work"
cat "$bundle"/cuda.so.xz.part-* | xz -d > "$work/app/libonnxruntime_providers_cuda.so"
chmod +x "$work/app/LSeg.GpuCheck"
libs=$(find / -xdev \( -name 'libcublasLt.so.13*' -o -name 'libcudnn.so.9*' -o -name 'libcudart.so.13*' -o -name 'libcufft.so.12*' -o -name 'libcurand.so.10*' -o -name 'libnvrtc.so.13*' \) -printf '%h\n' 2>/dev/null | sort -u | paste -sd: -)
echo "CUDA library folders: $libs"
export LD_LIBRARY_PATH="$libs:${LD_LIBRARY_PATH:-}"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
"$work/app/LSeg.GpuCheck" "$bundle/package" examples/images "${2:-horse, grass, sky, cat, person, tree, road, building, other}" "${3:-10}"
