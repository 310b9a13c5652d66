#!/usr/bin/env python3
"""Side by side: gan_bench (C++, the dcgan / wgan-gp plugins) against
../shared/bench/torch_gan_peer.py (PyTorch), alternating A B A B in one run, and
the per-round ratios ours/peer of each figure (higher = we are faster).

  /usr/bin/python3 tests/bench/gan_vs_peer.py --bench build/bin/gan_bench \
      --peer ../shared/bench/torch_gan_peer.py [--rounds 3] [--ours-gen-args "--bf16"]

The peer runs its best configuration (--convt viaconv); both use 2 threads, batch 64.
"""
import argparse, json, os, shlex, statistics, subprocess, sys, time


def run(cmd):
    t = time.time()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:]), time.time() - t, out
    raise SystemExit(f"no RESULT line from {cmd}:\n{out}")


def loadavg():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bench", required=True)
    p.add_argument("--peer", required=True)
    p.add_argument("--python", default="/usr/bin/python3")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--bce-iters", type=int, default=20)
    p.add_argument("--wgan-iters", type=int, default=6)
    p.add_argument("--ours-gen-args", default="", help="extra gan_bench flags for the generation run")
    p.add_argument("--skip", default="", help="comma list of bce,wgan,gen to leave out")
    a = p.parse_args()
    skip = set(filter(None, a.skip.split(",")))
    ratios = {}
    for r in range(a.rounds):
        pairs = []
        if "bce" not in skip:
            pairs.append(("bce",
                          [a.python, a.peer, "--loss", "bce", "--convt", "viaconv", "--iters", str(a.bce_iters), "--skip-gen"],
                          [a.bench, "--loss", "bce", "--iters", str(a.bce_iters), "--skip-gen"]))
        if "wgan" not in skip:
            pairs.append(("wgan",
                          [a.python, a.peer, "--loss", "wgangp", "--convt", "viaconv", "--iters", str(a.wgan_iters), "--skip-gen"],
                          [a.bench, "--loss", "wgangp", "--iters", str(a.wgan_iters), "--skip-gen"]))
        if "gen" not in skip:
            pairs.append(("gen",
                          [a.python, a.peer, "--loss", "bce", "--convt", "viaconv", "--skip-train", "--gen-iters", "30"],
                          [a.bench, "--loss", "bce", "--skip-train", "--gen-iters", "30"] + shlex.split(a.ours_gen_args)))
        for name, peer_cmd, our_cmd in pairs:
            la = loadavg()
            peer, tp, _ = run(peer_cmd)
            ours, to, _ = run(our_cmd)
            if name == "gen":
                figs = {"gen img/s": (ours["gen_img_per_s"], peer["gen"]["img_per_s"]),
                        "gen best img/s": (ours["gen_best_img_per_s"], peer["gen"]["best_img_per_s"])}
            else:
                figs = {f"{name} train real img/s": (ours["train_real_img_per_s"], peer["train"]["real_img_per_s"]),
                        f"{name} train best real img/s": (ours["train_best_real_img_per_s"],
                                                          peer["train"]["best_real_img_per_s"])}
            for k, (o, q) in figs.items():
                ratios.setdefault(k, []).append((o / q, o, q))
                print(f"round {r} load {la}: {k}: ours {o:.1f} peer {q:.1f} ratio {o / q:.3f}", flush=True)
    print("\nsummary (median over rounds; ratio = ours / peer)")
    for k, v in ratios.items():
        print(f"  {k:28s} ratio median {statistics.median(x[0] for x in v):.3f} "
              f"(min {min(x[0] for x in v):.3f}, max {max(x[0] for x in v):.3f}); "
              f"ours {statistics.median(x[1] for x in v):.1f}, peer {statistics.median(x[2] for x in v):.1f}")


if __name__ == "__main__":
    main()
