#!/usr/bin/env bash
# Data-parallel on one machine, side by side: 1 worker x 2 threads against
# 2 workers x 1 thread (covergen train --nproc 2), DCGAN 64x64, global batch 64,
# alternating A/B each round so both see the same machine load. Prints images/s of
# each run (rank 0's, after start-up: the trainer's own clock) and the B/A ratio.
#   tests/bench/dist_vs_threads.sh BUILD_DIR [ROUNDS=3] [STEPS=20]
set -euo pipefail
build=${1:?usage: $0 BUILD_DIR [ROUNDS] [STEPS]}
rounds=${2:-3}
steps=${3:-20}
cli="$build/bin/covergen"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$cli" dataset synth --out "$work/ds" --genres 4 --per-genre 48 --seconds 1 --cover-size 64 -q >/dev/null
common=(train --gan dcgan --data "$work/ds" --condition genre --image-size 64 --batch 64
        --checkpoint-every 0 --sample-every 0 --seed 1 --threads 2 --json -q)
# Build the cover cache once, outside the timings.
OMP_NUM_THREADS=2 "$cli" "${common[@]}" --steps 1 --out "$work/warm" >/dev/null
ips() { python3 -c 'import json,sys; print("%.1f" % json.load(sys.stdin)["images_per_second"])'; }
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "round  1x2threads  2x1thread  ratio(2 workers / 1 worker)"
for r in $(seq 1 "$rounds"); do
  a=$(OMP_NUM_THREADS=2 "$cli" "${common[@]}" --steps "$steps" --out "$work/a$r" | ips)
  b=$(OMP_NUM_THREADS=1 "$cli" "${common[@]}" --steps "$steps" --out "$work/b$r" --nproc 2 | ips)
  echo "$r      $a        $b       $(python3 -c "print('%.2f' % ($b / $a))")"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
