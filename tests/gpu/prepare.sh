#!/usr/bin/env bash
# Prepares .gpu/ (in .gitignore) for a GPU machine that has a CUDA PyTorch but none of
# Debian's -dev packages (README.md):
#   tests/gpu/prepare.sh DATASET RUN
# DATASET: a dataset whose covers are already at the training size (`covergen dataset
# synth --cover-size 128`); RUN: a `covergen train --condition genre --steps 0` run on it
# with the config to train. Copies the Boost/nlohmann/libpng headers the harness needs
# (found from a local build's dependency list), libpng itself, and the exported covers.
set -euo pipefail
dataset=${1:?dataset} run=${2:?run folder}
cd "$(dirname "$0")/../.."
dest=.gpu
rm -rf "$dest" && mkdir -p "$dest/include" "$dest/lib"
# The headers the harness's translation units include, from a local build of it.
cmake -S tests/gpu -B build-gpu-local -G Ninja -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null
ninja -C build-gpu-local >/dev/null
ninja -C build-gpu-local -t deps | awk '$1 ~ /^\/usr\/include\/(boost|nlohmann|png)/ {print $1}' | sort -u |
  sed 's|^/usr/include/||' | awk -F/ '{print (NF > 2 ? $1 "/" $2 : $0)}' | sort -u |
  (cd /usr/include && xargs -I{} cp -rL --parents {} "$OLDPWD/$dest/include/")
test -f "$dest/include/png.h" -a ! -L "$dest/include/png.h"  # copies, not links: links travel as links
cp -r /usr/include/nlohmann "$dest/include/"
cp "$(readlink -f /usr/lib/x86_64-linux-gnu/libpng16.so.16)" "$dest/lib/libpng16.so.16"
covergen=build/bin/covergen
"$covergen" dataset tracks "$dataset" --split train --json >"$dest/tracks.json"
/usr/bin/python3 tests/gpu/covers.py export "$dest/tracks.json" "$run/generator.cvgn" "$dest/data"
du -sh "$dest"/*
