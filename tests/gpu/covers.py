#!/usr/bin/env python3
"""Moves a dataset's training covers to the GPU harness (README.md).

  covers.py export TRACKS.json LIKE.cvgn OUT
      TRACKS.json is `covergen dataset tracks DATASET --split train --json`; LIKE.cvgn
      the generator.cvgn of a `covergen train --condition genre --steps 0` run on it.
      Writes OUT/covers/<id>.jpg (the dataset's files, unchanged), OUT/list.txt (their
      order), OUT/conditions.npy (float32 [N, genres]: the one-hot genre rows in the
      order of the run's genre names, as `covergen train --condition genre` makes them)
      and OUT/run.json (the run's plugin, config and condition meta, for --run).
  covers.py decode OUT SIZE [DEST]
      On the GPU machine: decodes the covers in list.txt to DEST (default
      OUT/covers.u8), raw uint8 [N, SIZE, SIZE, 3] RGB, for `covergen_gpu train --covers`. The covers must already
      be SIZE px square (`covergen dataset synth --cover-size SIZE`): no resampling here.
"""
import json
import os
import shutil
import struct
import sys

import numpy as np


def read_header(path):
    with open(path, "rb") as f:
        head = f.read(20)
        if len(head) < 20:
            sys.exit(f"{path}: not a CoverGen model file")
        (length,) = struct.unpack("<Q", head[12:20])
        return json.loads(f.read(length))


def export(tracks_json, like, out):
    tracks = json.load(open(tracks_json))
    header = read_header(like)
    cond = header["meta"]["condition"]
    if cond.get("mode") != "genre":
        sys.exit(f"{like}: condition mode {cond.get('mode')!r}; only genre runs can be exported")
    names = cond["names"]
    root = tracks["dataset"]
    os.makedirs(os.path.join(out, "covers"), exist_ok=True)
    ids, rows, skipped = [], [], 0
    for t in tracks["tracks"]:
        src = os.path.join(root, "covers", t["id"] + ".jpg")
        if not os.path.exists(src) or t["genre"] not in names:
            skipped += 1
            continue
        shutil.copyfile(src, os.path.join(out, "covers", t["id"] + ".jpg"))
        ids.append(t["id"])
        row = np.zeros(len(names), np.float32)
        row[names.index(t["genre"])] = 1
        rows.append(row)
    if not ids:
        sys.exit(f"{tracks_json}: none of its {skipped} tracks has a cover at {root}/covers/<id>.jpg and a genre of the run")
    with open(os.path.join(out, "list.txt"), "w") as f:
        f.write("\n".join(ids) + "\n")
    np.save(os.path.join(out, "conditions.npy"), np.stack(rows))
    with open(os.path.join(out, "run.json"), "w") as f:
        json.dump({"plugin": header["plugin"], "config": header["config"], "condition": cond}, f, indent=1)
    print(f"{len(ids)} covers, {len(names)} genres -> {out} ({skipped} tracks skipped: no cover or another genre)")


def decode(out, size, dest=None):
    from PIL import Image

    ids = [l for l in open(os.path.join(out, "list.txt")).read().split("\n") if l]
    dest = dest or os.path.join(out, "covers.u8")
    with open(dest, "wb") as f:
        for i in ids:
            img = Image.open(os.path.join(out, "covers", i + ".jpg")).convert("RGB")
            if img.size != (size, size):
                sys.exit(f"{i}.jpg is {img.size[0]}x{img.size[1]}, expected {size}x{size}")
            f.write(np.asarray(img, np.uint8).tobytes())
    print(f"decoded {len(ids)} covers -> {dest}")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "export":
        export(*sys.argv[2:])
    elif len(sys.argv) in (4, 5) and sys.argv[1] == "decode":
        decode(sys.argv[2], int(sys.argv[3]), *sys.argv[4:])
    else:
        sys.exit(__doc__)
