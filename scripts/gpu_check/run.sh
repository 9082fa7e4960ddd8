#!/usr/bin/env bash
# seqssl GPU check: runs seqssl on this machine's GPU with nothing but this
# folder (no network, no installs, no root). See README.txt beside it.
#
#   ./run.sh                      # everything, Beauty if data/Beauty.txt is here
#   EPOCHS=1 METHODS="sasrec" ./run.sh
#
# Settings (environment): EPOCHS (2), METHODS ("sasrec cl4srec srma mclrec
# s4rec"), DATA (data/Beauty.txt; "" = the embedded synthetic data),
# TRAIN_ARGS (extra flags for each training, e.g. "--set batchSize=512"),
# PROFILE_ARGS (flags of the profile; default Beauty's sizes when DATA is
# set), CHECK_ARGS (flags of the cpu-vs-webgpu check), WORK (scratch folder,
# default ./work), OUT (report, default ./gpu-check-report.json),
# FORCE_BUNDLED_LIBS=1 (use the bundled Vulkan loader and glvnd/EGL even
# where the system has its own).
set -u
HERE="$(cd "$(dirname "$0")" && pwd)"
WORK="${WORK:-$HERE/work}"
OUT="${OUT:-$HERE/gpu-check-report.json}"
EPOCHS="${EPOCHS:-2}"
METHODS="${METHODS:-sasrec cl4srec srma mclrec s4rec}"
DATA="${DATA-$HERE/data/Beauty.txt}"
TRAIN_ARGS="${TRAIN_ARGS:-}"
CHECK_ARGS="${CHECK_ARGS:---set synthUsers=200 --set synthItems=300 --set hidden=32 --set batchSize=64 --set maxLen=20}"
mkdir -p "$WORK/logs" "$WORK/lib"
rm -f "$WORK/missing.txt"
say() { echo "gpu-check: $*" >&2; }
missing() { echo "$*" >>"$WORK/missing.txt"; say "MISSING: $*"; }

if [ -n "$DATA" ] && [ ! -f "$DATA" ]; then
  say "no data file at $DATA: training on the embedded synthetic data instead"
  DATA=""
fi
if [ -z "${PROFILE_ARGS+x}" ]; then
  if [ -n "$DATA" ]; then PROFILE_ARGS="--beauty --data $DATA"; else PROFILE_ARGS=""; fi
fi

# 1. Deno, from the xz-compressed binary.
DENO="$WORK/deno"
if [ ! -x "$DENO" ]; then
  if command -v xz >/dev/null 2>&1; then
    xz -dc "$HERE/deno.xz" >"$DENO.tmp"
  elif command -v python3 >/dev/null 2>&1; then
    python3 -c 'import lzma,sys,shutil; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2],"wb"))' "$HERE/deno.xz" "$DENO.tmp"
  else
    say "cannot decompress deno.xz: expected xz or python3 on PATH, found neither"
    exit 1
  fi
  chmod +x "$DENO.tmp" && mv "$DENO.tmp" "$DENO"
fi
say "deno $("$DENO" --version | head -1 | cut -d' ' -f2)"
# An empty module cache: the bundles hold every dependency.
export DENO_DIR="$WORK/deno_dir" DENO_NO_UPDATE_CHECK=1 NO_COLOR=1
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$WORK}"

# 2. Vulkan loader and glvnd/EGL: the system's where present, else ours
#    (Debian's .debs unpacked here, linked from $WORK/lib).
unpack() { # deb -> $WORK/sysroot
  if command -v dpkg >/dev/null 2>&1; then
    dpkg -x "$1" "$WORK/sysroot"
  else
    local tmp="$WORK/deb.$$"
    mkdir -p "$tmp" && (cd "$tmp" && ar x "$1" && tar -xf data.tar.* -C "$WORK/sysroot") && rm -rf "$tmp"
  fi
}
has_lib() { ldconfig -p 2>/dev/null | grep -q "[[:space:]]$1 " || [ -e "/usr/lib/x86_64-linux-gnu/$1" ] || [ -e "/usr/lib64/$1" ]; }
mkdir -p "$WORK/sysroot"
for deb in "$HERE"/debs/*.deb; do unpack "$deb" || say "could not unpack $deb"; done
BUNDLED=""
for lib in libvulkan.so.1 libEGL.so.1 libGLdispatch.so.0 libGL.so.1 libGLX.so.0; do
  if [ -n "${FORCE_BUNDLED_LIBS:-}" ] || ! has_lib "$lib"; then
    src="$(find "$WORK/sysroot" -name "$lib" | head -1)"
    if [ -n "$src" ]; then ln -sf "$src" "$WORK/lib/$lib"; BUNDLED="$BUNDLED $lib"; fi
  fi
done
export LD_LIBRARY_PATH="$WORK/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
[ -n "$BUNDLED" ] && say "using the bundled$BUNDLED (not on this system)"
export GPU_CHECK_BUNDLED_LIBS="$BUNDLED"

# 3. The NVIDIA driver and its Vulkan manifest.
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >"$WORK/nvidia_smi.txt" 2>&1
  say "nvidia-smi: $(cat "$WORK/nvidia_smi.txt")"
else
  missing "nvidia-smi (no NVIDIA driver on PATH)"
fi
ICD="${VK_DRIVER_FILES:-${VK_ICD_FILENAMES:-}}"
if [ -z "$ICD" ]; then
  for dir in /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/nvidia/share/vulkan/icd.d \
    /usr/local/share/vulkan/icd.d /usr/local/nvidia/icd.d /usr/lib/x86_64-linux-gnu/nvidia /usr/share/nvidia; do
    if [ -f "$dir/nvidia_icd.json" ]; then ICD="$dir/nvidia_icd.json"; break; fi
  done
fi
if [ -z "$ICD" ]; then # the driver's own folders
  ICD="$(find /usr/lib /usr/lib64 /usr/local /opt /etc -maxdepth 6 -name 'nvidia_icd*.json' 2>/dev/null | head -1)"
fi
if [ -n "$ICD" ]; then
  export VK_DRIVER_FILES="$ICD" VK_ICD_FILENAMES="$ICD"
  say "Vulkan driver manifest: $ICD"
  NVLIB="$(sed -n 's/.*"library_path"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$ICD" | head -1)"
  if [ -n "$NVLIB" ] && ! has_lib "$(basename "$NVLIB")" && [ ! -e "$NVLIB" ]; then
    missing "$NVLIB, the library $ICD names (the driver's Vulkan/GLX part; in a container, NVIDIA_DRIVER_CAPABILITIES must include graphics)"
  fi
else
  missing "nvidia_icd.json, NVIDIA's Vulkan driver manifest (searched /usr/share/vulkan/icd.d, /etc/vulkan/icd.d, /usr/local/nvidia/share/vulkan/icd.d and the driver's folders; set VK_DRIVER_FILES=/path/nvidia_icd.json if it is elsewhere; in a container, NVIDIA_DRIVER_CAPABILITIES must include graphics)"
  say "without it Vulkan sees no NVIDIA GPU: using whatever adapter the loader finds (e.g. Mesa lavapipe, on the CPU)"
fi

# 4. The adapter.
"$DENO" run -A "$HERE/adapter.js" >"$WORK/adapter.json" 2>"$WORK/logs/adapter.log"
say "adapter: $(cat "$WORK/adapter.json")"
if ! grep -q '"webgpu":true' "$WORK/adapter.json"; then
  missing "a WebGPU adapter (Deno found none; see $WORK/logs/adapter.log)"
fi

run_step() { # name, then the command; output to $WORK/NAME.json, log to logs/
  local name="$1"; shift
  say "$name ..."
  local t0=$SECONDS
  if "$@" >"$WORK/$name.json" 2>"$WORK/logs/$name.log"; then
    say "$name done in $((SECONDS - t0)) s"
  else
    say "$name FAILED after $((SECONDS - t0)) s (log: $WORK/logs/$name.log):"
    tail -5 "$WORK/logs/$name.log" >&2
    rm -f "$WORK/$name.json"
  fi
}

# 5. webgpu and the CPU path agree on a few steps (one small epoch each).
# shellcheck disable=SC2086
run_step check_cpu "$DENO" run -A "$HERE/seqssl.js" train --backend cpu --epochs 1 --json $CHECK_ARGS
# shellcheck disable=SC2086
run_step check_webgpu "$DENO" run -A "$HERE/seqssl.js" train --backend webgpu --epochs 1 --json $CHECK_ARGS

# 6. The profile: transfers and seconds per step, per method.
# shellcheck disable=SC2086
run_step profile "$DENO" run -A "$HERE/gpu_profile.js" --backend webgpu --json $PROFILE_ARGS

# 7. EPOCHS epochs per method on the data.
DATA_ARGS=()
[ -n "$DATA" ] && DATA_ARGS=(--data "$DATA")
for m in $METHODS; do
  # shellcheck disable=SC2086
  run_step "train_$m" "$DENO" run -A "$HERE/seqssl.js" train --method "$m" --backend webgpu \
    --epochs "$EPOCHS" --json ${DATA_ARGS[@]+"${DATA_ARGS[@]}"} $TRAIN_ARGS
done

# 8. One report.
GPU_CHECK_METHODS="$METHODS" GPU_CHECK_DATA="$DATA" GPU_CHECK_HOST="$(uname -srm)" \
  "$DENO" run -A "$HERE/report.js" "$WORK" "$OUT"
if [ -f "$WORK/missing.txt" ]; then
  say "what was missing:"
  sed 's/^/  - /' "$WORK/missing.txt" >&2
fi
