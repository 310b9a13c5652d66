#!/usr/bin/env bash
# The files `covergen generate` and `covergen evaluate --json` write for fixed seeds,
# pinned by sha256 (issue 18: "behaviour unchanged, bit for bit"). A tiny synthetic
# dataset, 3-step training runs conditioned on genre, attributes, audio summary
# features, a fitted PCA encoder and nothing (with a mapper), then generate and
# evaluate for each. The pinned hashes were recorded with the binary built from
# f34c1fa (before libs/generate existed); any change to what these commands write
# fails here. Issue 22 then made the exact mp3 decode the default, which changed the
# 12 audio-derived files (encoder, mapper, evaluate-audio/-enc); they were re-pinned
# from the pre-refactor code with that decode (main before the merge of libs/generate,
# every file identical to the refactored binary's). evaluate-enc.json is the exception: before libs/generate, `covergen
# evaluate` refused encoder-conditioned runs; its hash was pinned when it learned them
# (the test tracks' conditions computed from audio exactly as `generate TRACK` does).
#
#   golden_outputs.sh CLI EXPECTED            compare with EXPECTED (sha256sum format)
#   golden_outputs.sh CLI EXPECTED --update   rewrite EXPECTED (only when a change of
#                                              output is intended, and say so in the commit)
#
# Hashes depend on the floating-point code LibTorch runs, so they are pinned for the
# project's CI machine (Debian bookworm, libtorch 1.13.1, x86-64); `--update` on
# another machine gives that machine's values.
set -euo pipefail
cli=$(realpath "$1")
expected=$(realpath -m "$2")
mode=${3:-check}
# The machine the hashes hold on: processor, oneDNN's ISA and ATen's level (from
# covergen --version). Elsewhere the kernels round differently, so the comparison is
# skipped (exit 77, ctest's SKIP) with what to run to pin that machine's values.
version=$("$cli" --version)
machine="$(sed -n 's/^cpu: \(.*\), [0-9]* logical CPUs.*/\1/p' <<<"$version") | $(sed -n 's/^kernels: \(oneDNN [^ ]* [^,]*\), \(ATen [^,]*\),.*/\1 | \2/p' <<<"$version")"
if [[ "$mode" != --update ]]; then
  pinned=$(sed -n 's/^# machine: //p' "$expected")
  if [[ "$pinned" != "$machine" ]]; then
    echo "SKIPPED: the hashes were pinned on '$pinned'; this machine is '$machine'." >&2
    echo "Pin it with: $0 $1 $2 --update (after checking the outputs against the pinned machine's)" >&2
    exit 77
  fi
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/covergen-golden.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
export OMP_NUM_THREADS=2  # the same thread count everywhere: reductions sum in the same order

cg() {
  local log
  log=$("$cli" "$@" 2>&1 >/dev/null) || { echo "FAILED: covergen $*" >&2; echo "$log" >&2; exit 1; }
}

cg dataset synth --out ds --genres 2 --per-genre 6 --seconds 2 --cover-size 64 --seed 3 -q
# evaluate needs labelled covers in both splits: 40% test, no validation split
sed -i 's/"test": 0.1/"test": 0.4/; s/"val": 0.1/"val": 0.0/' ds/dataset.json
cg encoder fit --plugin pca --data ds --out pca.cvgn --dim 3 -q
train=(--data ds --image-size 32 --batch 4 --steps 3 --seed 5 --gan-config '{"ngf":8,"ndf":8}' --device cpu -q)
cg train "${train[@]}" --condition genre --out run-genre
cg train "${train[@]}" --condition attributes:tempo,energy --out run-attr
cg train "${train[@]}" --condition audio:tempo_bpm,rms_mean --out run-audio
cg train "${train[@]}" --condition pca.cvgn --out run-enc
cg train "${train[@]}" --condition none --out run-none
cg mapper fit --encoder pca.cvgn --generator run-none --data ds --out music.mapper --permutations 20 -q

track=ds/audio/ambient-00000.mp3
gen=(-n 3 --seed 11 --device cpu -q)
cg generate --model run-genre --genre ambient "${gen[@]}" --out out/genre
cg generate --model run-genre --genre ambient "${gen[@]}" --truncation 0.5 --out out/genre-trunc
cg generate --model run-attr --attributes tempo=120,energy=0.7 "${gen[@]}" --out out/attr
cg generate --model run-audio "$track" "${gen[@]}" --out out/audio
cg generate --model run-enc "$track" "${gen[@]}" --out out/enc
cg generate --model run-none --mapper music.mapper "$track" "${gen[@]}" --out out/mapper
cg export --model run-genre --out g.pt -q
cg generate --model g.pt --genre ambient "${gen[@]}" --out out/torchscript

ev=(--data ds -n 1 --classifier-epochs 1 --kid-subsets 5 --seed 13 --threads 2 --device cpu --json -q)
for r in genre attr audio enc; do
  # the JSON minus its one timing (top-level "seconds"; keys are sorted, so it is never last)
  "$cli" evaluate run-$r "${ev[@]}" > evaluate.json 2> evaluate.log ||
    { echo "FAILED: covergen evaluate run-$r ${ev[*]}" >&2; cat evaluate.log >&2; exit 1; }
  sed '/^  "seconds": /d' evaluate.json > out/evaluate-$r.json
done

# covergen serve gives the covers generate wrote, byte for byte: a TorchScript G.pt
# (genre) and an attribute model (skipped without curl).
serve_check() {  # MODEL FIELD EXPECTED_PNG_PREFIX
  local url="" pid i
  "$cli" serve --model "$1" --port 0 --device cpu -q > serve.out 2> serve.log &
  pid=$!
  for i in $(seq 300); do
    url=$(grep -o 'http://[^ ]*/' serve.out || true)
    [[ -n "$url" ]] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  [[ -n "$url" ]] || { echo "FAILED: covergen serve --model $1 did not start" >&2; cat serve.log >&2; exit 1; }
  curl -sS -F "$2" -F n=3 -F seed=11 -F truncation=1 "${url}api/covers" > serve.json || true
  kill "$pid"; wait "$pid" || true
  for i in 0 1 2; do
    grep -o '"png_base64":"[^"]*"' serve.json | sed -n "$((i + 1))p" | cut -d'"' -f4 | base64 -d > served.png
    cmp -s served.png "$3$i.png" ||
      { echo "FAILED: covergen serve --model $1 ($2) cover $i differs from $3$i.png" >&2; head -c 400 serve.json >&2; exit 1; }
  done
}
if [[ "$mode" != --update ]] && command -v curl > /dev/null; then
  serve_check g.pt genre=ambient out/torchscript/ambient_
  serve_check run-attr attributes=tempo=120,energy=0.7 out/attr/tempo_120_energy_0_7_
fi

# Training's own outputs that hold no paths or timings: the sample grids.
actual=$(find out run-*/samples -type f | LC_ALL=C sort | xargs sha256sum)
if [[ "$mode" == --update ]]; then
  printf '# machine: %s\n%s\n' "$machine" "$actual" > "$expected"
  echo "wrote $(grep -vc '^#' "$expected") hashes to $expected for $machine"
  exit 0
fi
if ! diff <(grep -v '^#' "$expected") <(printf '%s\n' "$actual"); then
  echo "outputs differ from the pinned hashes in $expected (lines above: < pinned, > now)" >&2
  exit 1
fi
echo "$(grep -vc '^#' "$expected") files identical to the pinned hashes ($machine)"
