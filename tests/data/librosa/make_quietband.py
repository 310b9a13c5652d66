#!/usr/bin/python3
"""Regenerates quietband_44k.mp3: a stereo 44.1 kHz clip whose content stops well below
11 kHz (spectral contrast's top band, 6.4-11 kHz at 22.05 kHz, is near silent), encoded by
Debian's lame at 192 kbit/s joint stereo, the case of issue 22.

Python standard library only (no numpy), then lame:
    python3 make_quietband.py /tmp/quietband_44k.wav
    lame --quiet -m j -b 192 /tmp/quietband_44k.wav quietband_44k.mp3
The committed mp3 is the reference: lame versions may encode differently, so regenerate
librosa's reference (../../../../shared/bench/librosa_reference.py) with any new mp3.
"""
import math
import random
import struct
import sys
import wave

SR = 44100
SECONDS = 6.0
BPM = 120.0


class Biquad:
    """RBJ low-pass, direct form I."""

    def __init__(self, fc, q=0.7071):
        w = 2 * math.pi * fc / SR
        alpha = math.sin(w) / (2 * q)
        c = math.cos(w)
        a0 = 1 + alpha
        self.b = ((1 - c) / 2 / a0, (1 - c) / a0, (1 - c) / 2 / a0)
        self.a = (-2 * c / a0, (1 - alpha) / a0)
        self.x1 = self.x2 = self.y1 = self.y2 = 0.0

    def __call__(self, x):
        b, a = self.b, self.a
        y = b[0] * x + b[1] * self.x1 + b[2] * self.x2 - a[0] * self.y1 - a[1] * self.y2
        self.x2, self.x1, self.y2, self.y1 = self.x1, x, self.y1, y
        return y


def main(out):
    rng = random.Random(22)
    n = int(SR * SECONDS)
    beat = 60.0 / BPM
    # power chords (root, fifth, octave) changing every two beats, band-limited saw waves
    roots = [82.41, 98.0, 110.0, 73.42]  # E2 G2 A2 D2
    lp = [[Biquad(2500.0), Biquad(2500.0), Biquad(2500.0), Biquad(2500.0)] for _ in range(2)]
    noise_lp = [Biquad(3000.0) for _ in range(4)]
    left, right = [], []
    for i in range(n):
        t = i / SR
        chord = roots[int(t / (2 * beat)) % len(roots)]
        gtr_l = gtr_r = 0.0
        for k, f in enumerate((chord, chord * 1.5, chord * 2.0)):
            for h in range(1, int(4000.0 / f) + 1):  # harmonics below 4 kHz only
                s = math.sin(2 * math.pi * f * h * t + 0.3 * k) / h
                gtr_l += s
                gtr_r += s * (0.8 if h % 2 else 1.1)  # the two guitars differ
        gtr_l = math.tanh(1.5 * gtr_l) * 0.35
        gtr_r = math.tanh(1.5 * gtr_r) * 0.35
        tb = t % beat
        kick = math.sin(2 * math.pi * (50.0 + 70.0 * math.exp(-tb * 30.0)) * tb) * math.exp(-tb * 12.0) * 0.6
        t2 = (t + beat / 2) % (2 * beat)  # snare on 2 and 4
        nz = rng.uniform(-1.0, 1.0)
        for f in noise_lp:
            nz = f(nz)
        snare = nz * math.exp(-t2 * 20.0) * 0.9
        l = gtr_l + kick + 0.7 * snare
        r = gtr_r + kick + 1.0 * snare
        for f in lp[0]:
            l = f(l)
        for f in lp[1]:
            r = f(r)
        left.append(l)
        right.append(r)
    peak = max(max(abs(v) for v in left), max(abs(v) for v in right))
    g = 0.89 / peak
    with wave.open(out, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(SR)
        frames = bytearray()
        for l, r in zip(left, right):
            frames += struct.pack("<hh", int(round(l * g * 32767)), int(round(r * g * 32767)))
        w.writeframes(bytes(frames))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "quietband_44k.wav")
