#!/usr/bin/env bash
# Runs HERE (a machine with the .NET SDK): builds the bundle that check.sh runs on a CUDA machine without .NET.
#   scripts/gpu/prepare.sh PACKAGE_DIR "label, label, ..."
# Output (ignored by git): artifacts/gpu-bundle/{app.tar.xz, package/, cuda.so.xz.part-*}. Each part is < 60 MB so the
# bundle can travel to a remote machine in several transfers; check.sh reassembles it.
set -euo pipefail
cd "$(dirname "$0")/../.."
package="${1:?usage: prepare.sh PACKAGE_DIR \"labels\"}"
labels="${2:-horse, grass, sky, cat, person, tree, road, building, other}"
out=artifacts/gpu-bundle stage=artifacts/gpu-stage
rm -rf "$out" "$stage" && mkdir -p "$out" "$stage"
dotnet publish tools/LSeg.GpuCheck -c Release -r linux-x64 --self-contained -o "$stage/app"
cuda="$stage/app/libonnxruntime_providers_cuda.so"
xz -6 -T2 -c "$cuda" | split -b 58M - "$out/cuda.so.xz.part-"
# Windows natives, TensorRT, MiniLM (the table package below needs no text encoder) and symbols do not travel.
rm -rf "$cuda" "$stage"/app/*.dll.pdb "$stage"/app/*.pdb "$stage"/app/*.xml "$stage/app/models" \
  "$stage"/app/onnxruntime*.dll "$stage"/app/libonnxruntime_providers_tensorrt.so
tar -C "$stage" -cf - app | xz -6 -T2 > "$out/app.tar.xz"
# The GPU machine needs no MiniLM: the labels' embeddings travel as a fixed table.
dotnet "$stage/app/LSeg.GpuCheck.dll" --make-table-package "$package" "$out/package" "$labels"
ls -la "$out"
