#!/usr/bin/env bash
# covergen_gpu train on the CPU, unconditional DCGAN at 32 px on 40 random covers:
# the two-leg --minutes path (20 steps, then a resume) must reach its step count and
# leave a run that loads like any other.
set -euo pipefail
bin=$1 dir=$2
rm -rf "$dir" && mkdir -p "$dir"
head -c $((40 * 32 * 32 * 3)) /dev/urandom >"$dir/covers.u8"
echo '{"plugin": "dcgan", "config": {"image_size": 32, "condition_dim": 0, "ngf": 16, "ndf": 16}, "condition": {}}' >"$dir/run.json"
out=$("$bin" train --device cpu --covers "$dir/covers.u8" --run "$dir/run.json" --out "$dir/run" \
  --steps 120 --batch 16 --minutes 5 --sample-every 0)
echo "$out"
grep -q '"steps":120' <<<"$out"
grep -q '"step":120' "$dir/run/log.jsonl"
test -s "$dir/run/generator.cvgn" && test -s "$dir/run/samples/latest.png"
