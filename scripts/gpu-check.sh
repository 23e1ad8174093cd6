#!/usr/bin/env bash
# CPU/GPU agreement check for LSeg.MLNet: the same images are segmented on the CPU and on CUDA device 0; the masks
# must agree on >= 99.9% of pixels, and both timings are printed.
#
# The GPU machine has CUDA 13 + cuDNN 9 as Python wheels but no .NET SDK, so the check runs as a self-contained
# linux-x64 publish of scripts/gpu-check (a console, GpuCheck.cs, on LSeg.MLNet's public API). Steps:
#
#   1. Here (with the SDK):   scripts/gpu-check.sh pack [model-package-dir]
#      Publishes the console, adds the package (default: the model of LSeg.MLNet.DefaultModel, if the build has one),
#      and writes artifacts/gpu-check/pNN/part (tar.gz split into <= 60 MiB pieces, one folder per piece).
#   2. Carry each artifacts/gpu-check/pNN folder to the GPU machine (one or more calls; earlier pieces stay there
#      while the machine is warm), then on the GPU machine:
#                             scripts/gpu-check.sh run [images] [size]
#      It reassembles the pieces, points LD_LIBRARY_PATH at the nvidia-* wheels' lib folders, and runs the check.
#      Exit status: 0 pass, 1 masks disagree, 2 CUDA not usable.
#
# On a machine that has the SDK and CUDA, "scripts/gpu-check.sh local [model-package-dir]" does both in one go.
set -euo pipefail
cd "$(dirname "$0")/.."
out=artifacts/gpu-check
mode="${1:-}"

publish() {
  local package="${1:-}"
  rm -rf "$out/app" "$out/stage"
  LSEG_BUILD_SLOT="${LSEG_BUILD_SLOT:-gpu-check}" dotnet publish scripts/gpu-check/LSeg.GpuCheck.csproj -c Release -r linux-x64 \
    --self-contained true -o "$out/app" >&2
  # The TensorRT provider is not used; leaving it out keeps the transfer smaller.
  rm -f "$out/app"/libonnxruntime_providers_tensorrt.so
  mkdir -p "$out/stage"
  mv "$out/app" "$out/stage/app"
  if [ -n "$package" ]; then
    cp -r "$package" "$out/stage/package"
  fi
}

case "$mode" in
  pack)
    publish "${2:-}"
    rm -rf "$out"/p[0-9]*
    tar -czf "$out/bundle.tar.gz" -C "$out/stage" .
    mkdir -p "$out/split"
    split -b 60m -d -a 2 "$out/bundle.tar.gz" "$out/split/part-"
    for piece in "$out"/split/part-*; do
      n="${piece##*-}"
      mkdir -p "$out/p$n"
      mv "$piece" "$out/p$n/part"
    done
    rm -rf "$out/split" "$out/bundle.tar.gz" "$out/stage"
    ls -la "$out"/p*/part >&2
    echo "carry these folders to the GPU machine, then run: scripts/gpu-check.sh run" >&2
    ;;
  run)
    work="${TMPDIR:-/tmp}/lseg-gpu-check"
    rm -rf "$work" && mkdir -p "$work"
    cat "$out"/p*/part | tar -xz -C "$work"
    # CUDA 13 and cuDNN 9 from the Python wheels (nvidia-cublas, nvidia-cudnn-cu13, ...), if present.
    libs=$(python3 - <<'PY' 2>/dev/null || true
import glob, os, site
roots = site.getsitepackages() + [site.getusersitepackages()]
dirs = sorted({os.path.dirname(p) for r in roots for p in glob.glob(os.path.join(r, "nvidia", "**", "lib*.so*"), recursive=True)})
print(":".join(dirs))
PY
)
    export LD_LIBRARY_PATH="${libs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    package="-"
    [ -d "$work/package" ] && package="$work/package"
    chmod +x "$work/app/LSeg.GpuCheck"
    "$work/app/LSeg.GpuCheck" "$package" "${2:-8}" "${3:-480}"
    ;;
  local)
    publish "${2:-}"
    package="-"
    [ -d "$out/stage/package" ] && package="$out/stage/package"
    "$out/stage/app/LSeg.GpuCheck" "$package" "${3:-8}" "${4:-480}"
    ;;
  *)
    sed -n '2,20p' "$0" >&2
    exit 64
    ;;
esac
