#!/usr/bin/env bash
# CPU/GPU agreement check for LSeg.MLNet: the same images are segmented on the CPU and on CUDA device 0; the masks
# must agree on >= 99.9% of pixels. Also printed: both timings, GPU images/s for image batches of 1, 4 and 8, the image
# encoder with and without its output copied back (IOBinding), and a float16-compute image encoder on the GPU.
#
# The GPU machine has CUDA 13 + cuDNN 9 as Python wheels but no .NET SDK, so the check runs as a self-contained
# linux-x64 publish of scripts/gpu-check (a console, GpuCheck.cs). Steps:
#
#   1. Here (with the SDK):   scripts/gpu-check.sh pack [model-package-dir]
#      Publishes the console, adds a copy of the package (default: models/default) whose text encoder is a table of
#      the check's labels (so MiniLM need not travel), and writes artifacts/gpu-check/pNN/part (tar.xz split into
#      pieces of $LSEG_PIECE_MB MiB, default 50, one folder per piece).
#   2. Carry each artifacts/gpu-check/pNN folder to the GPU machine (one or more calls; earlier pieces stay there
#      while the machine is warm), then on the GPU machine:
#                             scripts/gpu-check.sh run [images] [size]
#      It reassembles the pieces, points LD_LIBRARY_PATH at the nvidia-* wheels' lib folders, writes the float16 copy
#      of the package (scripts/gpu-check/float16_package.py, when Python has onnx and onnxruntime) and runs the check.
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
  "$out/stage/app/LSeg.GpuCheck" table "${package:-models/default}" "$out/stage/package" >&2
}

case "$mode" in
  pack)
    publish "${2:-}"
    rm -rf "$out"/p[0-9]*
    tar -cf - -C "$out/stage" . | xz -T0 -6 > "$out/bundle.tar.xz"
    mkdir -p "$out/split"
    split -b "${LSEG_PIECE_MB:-50}m" -d -a 2 "$out/bundle.tar.xz" "$out/split/part-"
    for piece in "$out"/split/part-*; do
      n="${piece##*-}"
      mkdir -p "$out/p$n"
      mv "$piece" "$out/p$n/part"
    done
    rm -rf "$out/split" "$out/bundle.tar.xz" "$out/stage"
    ls -la "$out"/p*/part >&2
    echo "carry these folders to the GPU machine, then run: scripts/gpu-check.sh run" >&2
    ;;
  run)
    work="${TMPDIR:-/tmp}/lseg-gpu-check"
    rm -rf "$work" && mkdir -p "$work"
    cat "$out"/p*/part | xz -d | tar -x -C "$work"
    # CUDA 13 and cuDNN 9 from the Python wheels (nvidia-cublas, nvidia-cudnn-cu13, ...), if present.
    libs=$(python3 - <<'PY' 2>/dev/null || true
import glob, os, site
roots = site.getsitepackages() + [site.getusersitepackages()]
dirs = sorted({os.path.dirname(p) for r in roots for p in glob.glob(os.path.join(r, "nvidia", "**", "lib*.so*"), recursive=True)})
print(":".join(dirs))
PY
)
    export LD_LIBRARY_PATH="${libs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    python3 scripts/gpu-check/float16_package.py "$work/package" "$work/package16" || echo "float16 copy not written" >&2
    chmod +x "$work/app/LSeg.GpuCheck"
    "$work/app/LSeg.GpuCheck" "$work/package" "${2:-8}" "${3:-480}" "$work/package16"
    ;;
  local)
    publish "${2:-}"
    python3 scripts/gpu-check/float16_package.py "$out/stage/package" "$out/stage/package16" || echo "float16 copy not written" >&2
    "$out/stage/app/LSeg.GpuCheck" "$out/stage/package" "${3:-8}" "${4:-480}" "$out/stage/package16"
    ;;
  *)
    sed -n '2,22p' "$0" >&2
    exit 64
    ;;
esac
