#!/usr/bin/python3
"""Writes the golden k-NN / uniqueness fixture that brain's tests compare with.

Run with Debian's Python and scikit-learn (python3-sklearn):

    OPENBLAS_CORETYPE=SkylakeX /usr/bin/python3 testdata/knn/gen_fixture.py

Outputs, next to this script:
  embeddings.f32  300 x 32 float32, little-endian, row-major: clustered
                  vectors with exact duplicates and near-duplicates planted
  expected.json   for each metric (euclidean on raw vectors, cosine on
                  mean-centred vectors): scikit-learn NearestNeighbors
                  (brute force) distances to the K=3 nearest rows other than
                  the row itself, and FiftyOne Brain's uniqueness score
                  mean(dists * [0.6, 0.3, 0.1]) / max.
"""
import json
import os

import numpy as np
from sklearn.neighbors import NearestNeighbors

N, D, K = 300, 32, 3
W = np.array([0.6, 0.3, 0.1])
HERE = os.path.dirname(os.path.abspath(__file__))


def make_vectors():
    rng = np.random.default_rng(20240601)
    centres = rng.normal(scale=2.0, size=(30, D))
    x = centres[rng.integers(0, len(centres), N)] + 0.5 * rng.normal(size=(N, D)) + 1.0
    x = x.astype(np.float32)
    # Exact duplicates: five pairs and one group of four.
    for a, b in [(10, 11), (20, 200), (33, 34), (150, 151), (290, 5)]:
        x[b] = x[a]
    for b in (41, 42, 43):
        x[b] = x[40]
    # Near-duplicates: tiny perturbations.
    for a, b in [(60, 61), (70, 170), (80, 280)]:
        x[b] = x[a] + np.float32(1e-3) * rng.normal(size=D).astype(np.float32)
    return x


def neighbours(x, metric):
    if metric == "cosine":
        x = x - x.mean(axis=0)
    dists, inds = NearestNeighbors(n_neighbors=K + 1, metric=metric, algorithm="brute").fit(x).kneighbors(x)
    out = np.empty((len(x), K))
    for i in range(len(x)):
        keep = [j for j in range(K + 1) if inds[i, j] != i][:K]
        out[i] = dists[i, keep]
    s = np.mean(out * W, axis=1)
    m = s.max()
    scores = s / m if m > 0 else np.zeros(len(x))
    return out, scores


def main():
    x = make_vectors()
    x.astype("<f4").tofile(os.path.join(HERE, "embeddings.f32"))
    doc = {"n": N, "d": D, "k": K, "weights": W.tolist()}
    for metric in ("euclidean", "cosine"):
        dists, scores = neighbours(x, metric)
        doc[metric] = {
            "dists": [[float("%.9g" % v) for v in row] for row in dists],
            "scores": [float("%.9g" % v) for v in scores],
        }
    with open(os.path.join(HERE, "expected.json"), "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")


main()
