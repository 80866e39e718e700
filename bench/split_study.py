#!/usr/bin/python3
"""Empty-cluster split rules from the same start, in numpy (issue 15): what the discrete choices of
a split (which donor, along which line) do to the final MSE, next to ivftrain's and FAISS's loops.

  split_study.py rules SHAPE SEEDS [--check]
                                       ours, FAISS, and a numpy Lloyd (FAISS's flat search, the
                                       update in double) with other split rules, per start;
                                       --check adds the numpy loop with ivftrain's rule before
                                       issue 15's farthest row (towards the first row); the
                                       (sse, far) rule is ivftrain's own since (the exact
                                       error; (estimate, far) before it), so its figure over
                                       ours is 1 when the numpy loop is faithful
  split_study.py donors SHAPE SEED U   which clusters each loop split in update U: the pairs of
                                       near-identical centroids right after it (refilled, donor)

SHAPE is one of bench/quality.py's; a start is ivftrain's random init of the seed on its same-init
rows (bench/quality.py --same-init). ivftrain's rule is (sse, far): the largest exact squared
error of a cluster about its new centroid, a step of 1/1024 towards the row of the donor's cluster
farthest from its new centroid (the distance in double, as the library's split_distance); before,
(estimate, far): the largest estimated error size x |first row - centroid|^2; before issue 15's
farthest row, towards the first row (estimate, first), which the numpy loop reproduced to
kmeans_tool's MSE; with FAISS's direction (1 +/- 1/1024 per component) and the same donor it gives
FAISS's. Rules: donor = largest estimate or largest exact squared error; direction = FAISS's, or
towards the row farthest from the new centroid. Run with Debian's python3, from the repository root:
    nice /usr/bin/python3 bench/split_study.py rules "d768 k64 NaN" 1,2,3,4,5,6,7,8,9,10,11,12
"""
import os
import sys
import tempfile

import faiss
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import quality as q  # noqa: E402

EPS = 1.0 / 1024
RULES = [("estimate", "faiss"), ("estimate", "far"), ("sse", "far")]


def assign(x, c):
    index = faiss.IndexFlatL2(c.shape[1])
    index.add(c)
    d, lab = index.search(x, 1)
    return d[:, 0].astype(np.float64), lab[:, 0]


def split(x, c, sizes, first, far, dn, lab, rule):
    """Refills the empty clusters of c in index order by the rule; the number refilled."""
    k, d = c.shape
    nz = sizes > 0
    weight = np.zeros(k)
    if rule[0] == "estimate":  # ivftrain's: size x |first row - centroid|^2
        for cc in np.nonzero(sizes >= 2)[0]:
            v = x[first[cc]].astype(np.float64) - c[cc]
            weight[cc] = sizes[cc] * (v @ v)
    else:  # the exact squared error of the cluster around its new centroid
        weight = np.where(sizes >= 2, np.bincount(lab, weights=dn, minlength=k), 0.0)
    row_of = np.arange(k)
    row_of[nz] = (first if rule[1] != "far" else far)[nz]
    s = sizes.copy()
    done = 0
    for e in np.nonzero(sizes == 0)[0]:
        ch = int(np.argmax(weight))
        if weight[ch] <= 0:
            break
        src = c[ch].copy()
        if rule[1] == "faiss":
            sign = np.where(np.arange(d) % 2 == 0, 1.0, -1.0).astype(np.float32)
            c[e], c[ch] = src * (1 + EPS * sign), src * (1 - EPS * sign)
        else:
            step = x[row_of[ch]] - src
            c[e], c[ch] = src + EPS * step, src - EPS * step
        s[e] = s[ch] // 2
        s[ch] -= s[e]
        row_of[e] = row_of[ch]
        weight[ch] = weight[e] = 0
        done += 1
    return done


def lloyd(x, init, rule):
    """ITERS updates from init with the split rule: the final MSE."""
    k = len(init)
    c = init.copy()
    _, lab = assign(x, c)
    for _ in range(q.ITERS):
        order = np.argsort(lab, kind="stable")
        sizes = np.bincount(lab, minlength=k)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        nz = sizes > 0
        sums = np.add.reduceat(x[order].astype(np.float64), starts[nz], axis=0)
        c = c.copy()
        c[nz] = (sums / sizes[nz, None]).astype(np.float32)
        first = np.full(k, -1)
        first[nz] = order[starts[nz]]  # the lowest row index of each cluster
        # To the new centroid, each difference in double (as split_distance).
        dn = ((x.astype(np.float64) - c[lab].astype(np.float64)) ** 2).sum(1)
        far = np.full(k, -1)
        far[nz] = np.lexsort((-dn, lab))[starts[nz]]
        split(x, c, sizes, first, far, dn, lab, rule)
        _, lab = assign(x, c)
    return q.mse(x, c)


class Args:
    bin = "build/release/tools/ivftrain"
    tool = "build/release/bench/kmeans_tool"


def rules(shape, seeds, check):
    global RULES
    if check:
        RULES = [("estimate", "first")] + RULES
    with tempfile.TemporaryDirectory() as tmp:
        x, k = q.shape_sample(Args, tmp, shape)
        print(f"{shape}: final MSE over ours (ivftrain's loop) per start; last column FAISS's; "
              f"rules (donor, direction): {RULES}", flush=True)
        ratios = {r: [] for r in RULES + ["faiss"]}
        for seed in seeds:
            init = x[q.choose_sorted(q.Rng(seed), len(x), k)]
            ours = q.mse(x, q.ours_from(Args.tool, x, k, seed, tmp)[0])
            theirs = q.mse(x, q.faiss_from(x, init)[0])
            for r in RULES:
                ratios[r].append(lloyd(x, init, r) / ours)
            ratios["faiss"].append(theirs / ours)
            print(f"  seed {seed}: ours {ours:.4f} " +
                  " ".join(f"{ratios[r][-1]:.4f}" for r in RULES + ["faiss"]), flush=True)
    for r in RULES:
        a = np.array(ratios[r])
        b = a / np.array(ratios["faiss"])
        print(f"{str(r):<24} / ours: median {np.median(a):.4f} [{a.min():.4f}, {a.max():.4f}], "
              f"lower on {(a < 1).sum()} of {len(a)}; / FAISS: median {np.median(b):.4f}, "
              f"worst {b.max():.4f}, above 1 on {(b > 1 + 1e-6).sum()}")
    b = 1 / np.array(ratios["faiss"])
    print(f"{'ours':<24} / FAISS: median {np.median(b):.4f}, worst {b.max():.4f}, "
          f"above 1 on {(b > 1 + 1e-6).sum()}")


def donors(shape, seed, update):
    q.ITERS = update

    def pairs(c):
        c = c.astype(np.float64)
        nrm = (c ** 2).sum(1)
        d2 = nrm[:, None] + nrm[None, :] - 2 * c @ c.T
        np.fill_diagonal(d2, np.inf)
        tiny = 1e-3 * np.median(d2.min(axis=1))
        return [(i, int(np.argmin(d2[i]))) for i in range(len(c))
                if d2[i].min() < tiny and i < int(np.argmin(d2[i]))]

    with tempfile.TemporaryDirectory() as tmp:
        x, k = q.shape_sample(Args, tmp, shape)
        init = x[q.choose_sorted(q.Rng(seed), len(x), k)]
        print(f"{shape} seed {seed}, after update {update}: near-identical centroid pairs, each "
              "a donor and the cluster it refilled (in index order; the refilled ones are those "
              "both loops share, the same start leaving the same clusters empty)")
        print("  ivftrain:", pairs(q.ours_from(Args.tool, x, k, seed, tmp)[0]))
        print("  FAISS:   ", pairs(q.faiss_from(x, init)[0]))


if __name__ == "__main__":
    if len(sys.argv) in (4, 5) and sys.argv[1] == "rules" and sys.argv[4:] in ([], ["--check"]):
        rules(sys.argv[2], [int(s) for s in sys.argv[3].split(",")], sys.argv[4:] == ["--check"])
    elif len(sys.argv) == 5 and sys.argv[1] == "donors":
        donors(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit(__doc__)
