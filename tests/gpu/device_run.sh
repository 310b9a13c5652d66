#!/usr/bin/env bash
# One GPU session, start to finish, within a time budget (README.md):
#   tests/gpu/device_run.sh BUDGET_SECONDS OUT_DIR
# from the repository root of a machine with a CUDA PyTorch (its LibTorch is used),
# CMake, Ninja and nvcc, and with .gpu/ prepared by tests/gpu/prepare.sh (headers,
# libpng, the exported covers). Builds the harness, checks CPU/GPU agreement, measures
# training speed, then trains the exported run until the budget is nearly spent and
# leaves the results in OUT_DIR. Everything is logged to OUT_DIR/out.log. Every step
# runs under `timeout`, so one that hangs costs its own share of the budget, not all of it.
#
# To rehearse it on any machine first (the CPU, no benches):
#   COVERGEN_GPU_DEVICE=cpu COVERGEN_GPU_BENCH=0 COVERGEN_GPU_BATCH=4 PYTHON=/usr/bin/python3 \
#     tests/gpu/device_run.sh 400 /tmp/out
set -uo pipefail
device=${COVERGEN_GPU_DEVICE:-cuda}
python=${PYTHON:-python3}
budget=${1:?budget in seconds}
out=${2:?output folder}
start=$(date +%s)
mkdir -p "$out"
exec > >(tee -a "$out/out.log") 2>&1
teepid=$!
# Let tee write the last lines before the script ends, however it ends.
trap 'exec >&- 2>&-; wait "$teepid"' EXIT
left() { echo $((budget - ($(date +%s) - start))); }
stamp() { echo "== $* (t=$(($(date +%s) - start)) s)"; }

stamp machine
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader
echo "nproc $(nproc); $(grep -m1 'model name' /proc/cpuinfo)"
torch_cmake=$($python -c 'import torch; print(torch.utils.cmake_prefix_path)')
$python -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version())'
export PATH=/usr/local/cuda/bin:$PATH

stamp configure
ln -sf libpng16.so.16 .gpu/lib/libpng16.so
cmake -S tests/gpu -B build-gpu -G Ninja -DCMAKE_PREFIX_PATH="$torch_cmake" \
  -DCOVERGEN_GPU_INCLUDE="$PWD/.gpu/include" -DPNG_LIBRARY="$PWD/.gpu/lib/libpng16.so" >/tmp/configure.log 2>&1 \
  || { tail -n 40 /tmp/configure.log; exit 1; }
grep -iE "cuda|torch" /tmp/configure.log | head -n 8
stamp build
ninja -C build-gpu -k 0 -j "$(nproc)" >/tmp/build.log 2>&1 || { grep -E "error:|undefined reference" -A2 /tmp/build.log | head -n 150; tail -n 30 /tmp/build.log; exit 1; }
export LD_LIBRARY_PATH=$PWD/.gpu/lib:${LD_LIBRARY_PATH:-}
bin=build-gpu/bin/covergen_gpu

stamp check
timeout 60 $bin check --device "$device"

if [ "${COVERGEN_GPU_BENCH:-1}" = 1 ]; then
  stamp bench
  sg64='{"channel_base":1024,"channel_max":64,"latent_dim":64,"w_dim":64,"r1_gamma":0.05,"pl_weight":0}'
  sg128=$($python -c 'import json; print(json.dumps(json.load(open(".gpu/data/run.json"))["config"]))')
  b=(timeout 60 $bin bench --device "$device")
  "${b[@]}" --gan dcgan --size 64 --batch 64 --steps 200
  "${b[@]}" --gan wgan-gp --size 64 --batch 64 --steps 60
  "${b[@]}" --gan stylegan --size 64 --batch 32 --steps 100 --config "$sg64"
  "${b[@]}" --gan stylegan --size 128 --batch 64 --steps 60 --config "$sg128"
  "${b[@]}" --gan stylegan --size 256 --batch 32 --steps 20
fi

stamp decode covers
rm -rf build-gpu/run128 build-gpu/gen_npy build-gpu/gen_npy.tar  # a rehearsal's leftovers
$python tests/gpu/covers.py decode .gpu/data 128 build-gpu/covers.u8
minutes=$($python -c "print(max(0.5, ($(left) - 45) / 60))")
stamp "train for $minutes min"
timeout $($python -c "print(int($minutes * 60 + 60))") $bin train --device "$device" --covers build-gpu/covers.u8 --conditions .gpu/data/conditions.npy --run .gpu/data/run.json \
  --out build-gpu/run128 --steps 1000000 --batch "${COVERGEN_GPU_BATCH:-64}" --minutes "$minutes" --sample-every 1000 --checkpoint-every 250

stamp pack
cp build-gpu/run128/log.jsonl build-gpu/run128/samples/latest.png "$out/" 2>/dev/null
ls build-gpu/run128/samples | tail -n 3
$bin npy --model build-gpu/run128/generator.cvgn --out build-gpu/gen_npy && tar cf build-gpu/gen_npy.tar -C build-gpu gen_npy
split -b 15M -d build-gpu/run128/generator.cvgn "$out/generator.cvgn.part"
split -b 15M -d build-gpu/gen_npy.tar "$out/gen_npy.tar.part"
ls -la "$out"
stamp done
