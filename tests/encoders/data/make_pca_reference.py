#!/usr/bin/python3
"""Writes the scikit-learn PCA reference used by tests/encoders/test_encoders.cpp.

Run with Debian's python3-sklearn:  /usr/bin/python3 make_pca_reference.py
X is float32 (so the C++ side reads exactly the same numbers); sklearn works on it
in float64 after StandardScaler (population std, constant columns scaled by 1).
"""
import json
import numpy as np
import sklearn
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

rng = np.random.default_rng(5)
n, f = 80, 10
latent = rng.normal(size=(n, 3))
mix = rng.normal(size=(3, f))
X = latent @ mix + 0.3 * rng.normal(size=(n, f))
X[:, 1] *= 40.0            # very different scales: standardisation matters
X[:, 4] += 1000.0
X[:, 7] = 3.5              # a constant column
X = X.astype(np.float32)
Z = StandardScaler().fit_transform(X.astype(np.float64))
full = PCA(svd_solver="full").fit(Z)
p90 = PCA(n_components=0.9, svd_solver="full").fit(Z)
w5 = PCA(n_components=5, whiten=True, svd_solver="full").fit(Z)
np.save("pca_X.npy", X)
np.save("pca_ratio.npy", full.explained_variance_ratio_)
np.save("pca_components.npy", full.components_)
np.save("pca_whitened5.npy", w5.transform(Z))
with open("pca_reference.json", "w") as fh:
    json.dump({"sklearn": sklearn.__version__, "numpy": np.__version__, "k_for_variance_0.9": int(p90.n_components_),
               "explained_variance_5": w5.explained_variance_.tolist()}, fh, indent=1)
