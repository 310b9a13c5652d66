#!/usr/bin/python3
"""Stored reference for the t-SNE quality test (tests/eval/test_tsne.cpp).

Writes tests/data/eval/tsne_points.npy (5,000 x 10 float32: five Gaussian clusters of
different spreads, a helix and a noisy ring, shuffled), tsne_sklearn_xy.npy
(scikit-learn's 2-D layout of all 5,000 points) and tsne_reference.json with
scikit-learn's trustworthiness (k=10) of its own layout, for all 5,000 points and for
the first 2,000 rows. Run with Debian's python3-sklearn (1.2.1):
    /usr/bin/python3 tests/eval/make_tsne_reference.py
"""
import json
import os
import sys

import numpy as np
import sklearn
from sklearn.manifold import TSNE, trustworthiness

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "eval")
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(8)
d = 10
parts = []
for c in range(5):  # clusters, 600 points each, spreads 0.3 .. 1.5
    centre = rng.normal(0, 6, d)
    parts.append(centre + rng.normal(0, 0.3 * (c + 1), (600, d)))
t = rng.uniform(0, 4 * np.pi, 1000)  # a helix in 3 of the dimensions, lifted to 10
helix = np.zeros((1000, d))
helix[:, 0], helix[:, 1], helix[:, 2] = 4 * np.cos(t), 4 * np.sin(t), 1.2 * t
parts.append(helix + rng.normal(0, 0.25, (1000, d)) + rng.normal(0, 6, d))
a = rng.uniform(0, 2 * np.pi, 1000)  # a ring
ring = np.zeros((1000, d))
ring[:, 3], ring[:, 4] = 6 * np.cos(a), 6 * np.sin(a)
parts.append(ring + rng.normal(0, 0.5, (1000, d)) + rng.normal(0, 6, d))
x = np.concatenate(parts).astype(np.float32)
x = x[rng.permutation(len(x))]

ref = {"sklearn_version": sklearn.__version__, "k": 10,
       "tsne": "TSNE(perplexity=30, init='pca', learning_rate='auto', n_iter=1000, method='barnes_hut', angle=0.5, random_state=0)"}
for n in (5000, 2000):
    y = TSNE(n_components=2, perplexity=30.0, init="pca", learning_rate="auto", n_iter=1000,
             method="barnes_hut", angle=0.5, random_state=0).fit_transform(x[:n])
    ref[f"trustworthiness_{n}"] = float(trustworthiness(x[:n], y, n_neighbors=10))
    if n == 5000:
        np.save(os.path.join(out, "tsne_sklearn_xy.npy"), y.astype(np.float32))
np.save(os.path.join(out, "tsne_points.npy"), x)
with open(os.path.join(out, "tsne_reference.json"), "w") as f:
    json.dump(ref, f, indent=2)
    f.write("\n")
print(json.dumps(ref, indent=2), file=sys.stderr)
