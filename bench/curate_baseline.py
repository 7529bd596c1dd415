"""Baseline for bench/curate: PhotoMapAI's curator as ../shared/reference/photomap-curator.md describes it, in
numpy and scikit-learn. Reads a float32 matrix (rows x dim, raw little-endian) and prints JSON timings."""
import json, sys, time
import numpy as np
from sklearn.cluster import MiniBatchKMeans

path, rows, dim, target, iterations = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
mode = sys.argv[6] if len(sys.argv) > 6 else 'speed'
raw = np.fromfile(path, dtype=np.float32).reshape(rows, dim)

def fps(x, target, rng):
    # per iteration: re-normalise a copy, random start, farthest point by cosine distance, first max wins
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    picks = [int(rng.integers(0, len(x)))]
    min_d = np.full(len(x), np.inf, dtype=np.float32)
    while len(picks) < target:
        d = 1.0 - x @ x[picks[-1]]
        np.minimum(min_d, d, out=min_d)
        picks.append(int(np.argmax(min_d)))
    return picks

def kmeans(x, target, seed):
    km = MiniBatchKMeans(n_clusters=target, init='k-means++', n_init=1, random_state=seed, batch_size=1024)
    labels = km.fit_predict(x)
    reps = []
    for c in range(target):
        members = np.where(labels == c)[0]
        if len(members) == 0:
            continue
        d = np.linalg.norm(x[members] - km.cluster_centers_[c], axis=1)
        reps.append(int(members[np.argmin(d)]))
    return reps

if mode == 'quality':
    # one k-means run per seed on the (already unit) rows: mean squared distance to the centre, and the representatives
    out = []
    for seed in range(iterations):
        km = MiniBatchKMeans(n_clusters=target, init='k-means++', n_init=1, random_state=seed, batch_size=1024).fit(raw)
        out.append({"inertia": float(km.inertia_) / rows, "reps": kmeans(raw, target, seed)})
    print(json.dumps(out))
    sys.exit(0)

rng = np.random.default_rng()
t0 = time.perf_counter()
for i in range(iterations):
    fps(raw, target, rng)
t1 = time.perf_counter()
x = raw / np.linalg.norm(raw, axis=1, keepdims=True)
for i in range(iterations):
    kmeans(x, target, int(rng.integers(0, 2**31)))
t2 = time.perf_counter()
print(json.dumps({"fps": t1 - t0, "kmeans": t2 - t1, "numpy": np.__version__}))
