"""Pictures of a training run: ``python3 -m ivftrain report MODEL_DIR --out report.png``.

Panels (matplotlib, Agg backend, no display needed):
  1. the IVF k-means objective per iteration (model.json's stats), and for ivf_pq each PQ
     sub-space's final objective (model.json keeps the last of each);
  2. the partition sizes, sorted, against the mean, the largest/mean ratio marked: the sizes of
     the nearest-centroid assignment of rows of ``--data`` (spread evenly over its fragments),
     or model.json's "partition_sizes" when it has them; the panel says so when neither;
  3. with ``--eval EVAL.json`` (the JSON of ``ivftrain eval --json``, or of Model.evaluate):
     recall@k against nprobe for each k, and the vectors scanned per query.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Optional, Sequence

import numpy as np


def partition_sizes(model, data: Optional[str], rows: int = 65536, **dataset_options):
    """Partition sizes of the model's centroids over up to ``rows`` rows of ``data``."""
    from . import _core, _errors  # noqa: PLC0415
    sizes = model.stats.get("partition_sizes")
    if sizes is not None:
        return np.asarray(sizes, dtype=np.int64)
    if data is None:
        return None
    with _errors():
        x = _core.read_spread(os.fspath(data), rows, dict(dataset_options))
        if model.distance_type == "cosine":
            norms = np.linalg.norm(x, axis=1, keepdims=True)
            x = x[norms[:, 0] > 0] / norms[norms[:, 0] > 0]
        x = x[np.isfinite(x).all(axis=1)]
        labels = _core.assign(x, model.ivf_centroids, model.distance_type)
    return np.bincount(labels, minlength=model.num_partitions)


def eval_curves(ev: dict, source: str = "the eval JSON"):
    """(nprobe, {k: recall per nprobe}, vectors scanned per nprobe) from the JSON of
    ``ivftrain eval --json`` (or ``Model.evaluate``): its "probes" list, each with "nprobe",
    "recall" (by k, as a string) and "vectors_scanned". Anything else is refused, naming
    ``source``."""
    if not isinstance(ev, dict) or ev.get("format") != "ivftrain-eval":
        raise ValueError(f"{source} is not the JSON of `ivftrain eval --json` (its \"format\" "
                         "is not \"ivftrain-eval\")")
    probes = ev.get("probes")
    if not isinstance(probes, list) or not probes:
        raise ValueError(f"{source} has no \"probes\" (recall per nprobe) to draw")
    nprobe, recall, scanned = [], {}, []
    try:
        for p in probes:
            nprobe.append(int(p["nprobe"]))
            scanned.append(float(p["vectors_scanned"]))
            for k, r in p["recall"].items():
                recall.setdefault(int(k), []).append(float(r))
    except (KeyError, TypeError, ValueError, AttributeError):
        raise ValueError(f"{source}: a probe lacks \"nprobe\", \"recall\" or "
                         "\"vectors_scanned\"") from None
    if any(len(v) != len(nprobe) for v in recall.values()):
        raise ValueError(f"{source}: the probes do not all give recall for the same k")
    return nprobe, dict(sorted(recall.items())), scanned


def draw(model, out: str, eval_json: Optional[dict] = None, data: Optional[str] = None,
         title: Optional[str] = None, rows: int = 65536, **dataset_options) -> str:
    """Draws the report of ``model`` (an ivftrain.Model) into the PNG ``out``."""
    import matplotlib  # noqa: PLC0415
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    recall_curves = eval_curves(eval_json) if eval_json else None
    panels = 3 if recall_curves else 2
    fig, axes = plt.subplots(1, panels, figsize=(5.2 * panels, 3.8), dpi=80)
    stats = model.stats

    ax = axes[0]
    ivf = stats.get("ivf_objective_per_iteration", [])
    if ivf:
        ax.plot(range(1, len(ivf) + 1), ivf, marker="o", ms=3, label="IVF")
    ax.set_xlabel("iteration")
    ax.set_ylabel("IVF objective (sum of squared distances)")
    ax.set_title("k-means convergence")
    # PQ: every sub-space's curve when the model was trained in this process; from a model
    # directory, each sub-space's final objective at the iteration it stopped.
    curves = model.pq_objectives() if hasattr(model, "pq_objectives") else []
    finals = stats.get("pq_objective_per_subspace")
    if any(curves) or finals:
        twin = ax.twinx()
        if any(curves):
            for m, c in enumerate(curves):
                twin.plot(range(1, len(c) + 1), c, color="tab:orange", lw=0.7, alpha=0.6,
                          label="PQ sub-spaces" if m == 0 else None)
        else:
            iters = stats.get("pq_iterations_per_subspace") or [1] * len(finals)
            twin.plot(iters, finals, "s", color="tab:orange", ms=4,
                      label="PQ sub-spaces (final objective)")
        twin.set_ylabel("PQ objective per sub-space", color="tab:orange")
        twin.legend(loc="upper center", fontsize=7)
    ax.legend(loc="upper right", fontsize=7)

    ax = axes[1]
    sizes = partition_sizes(model, data, rows, **dataset_options)
    if sizes is None:
        ax.text(0.5, 0.5, "partition sizes: give --data DATASET", ha="center", va="center",
                transform=ax.transAxes)
    else:
        s = np.sort(sizes)[::-1]
        mean = s.mean()
        ax.plot(np.arange(len(s)), s, lw=1.2, label="partition size (sorted)")
        ax.axhline(mean, color="gray", ls="--", label=f"mean {mean:.1f}")
        ax.plot([0], [s[0]], "r^", label=f"largest / mean = {s[0] / mean:.2f}")
        ax.set_xlabel("partition (largest first)")
        ax.set_ylabel("rows")
        ax.legend(fontsize=7)
    ax.set_title("partition sizes")

    if panels == 3:
        ax = axes[2]
        nprobe, recall, scanned = recall_curves
        for k, r in recall.items():
            ax.plot(nprobe, r, marker="o", ms=3, label=f"recall@{k}")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("nprobe")
        ax.set_ylabel("recall")
        ax.set_ylim(0, 1.02)
        ax.set_title(f"recall vs nprobe ({eval_json.get('num_queries', '?')} queries)")
        ax.legend(loc="lower right", fontsize=7)
        twin = ax.twinx()
        twin.plot(nprobe, scanned, "--", color="tab:green", label="vectors scanned")
        twin.set_ylabel("vectors scanned per query", color="tab:green")
    fig.suptitle(title or f"{model.index_type} {model.distance_type}, dim {model.dim}, "
                 f"{model.num_partitions} partitions", fontsize=10)
    fig.tight_layout()
    tmp = out + ".tmp.png"
    fig.savefig(tmp)
    plt.close(fig)
    os.replace(tmp, out)  # nothing half-written at `out`
    return out


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m ivftrain")
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("report", help="draw a training run's convergence, partition sizes and "
                         "recall into a PNG")
    rep.add_argument("model_dir")
    rep.add_argument("--out", required=True, help="PNG to write")
    rep.add_argument("--eval", help="JSON written by `ivftrain eval --json`")
    rep.add_argument("--data", help="dataset whose rows give the partition sizes")
    rep.add_argument("--rows", type=int, default=65536, help="rows of --data to assign")
    rep.add_argument("--rows-per-fragment", type=int, default=None)
    rep.add_argument("--title")
    args = parser.parse_args(argv)
    from . import Error, load  # noqa: PLC0415
    try:
        model = load(args.model_dir)
        ev = None
        if args.eval:
            with open(args.eval, encoding="utf-8") as f:
                try:
                    ev = json.load(f)
                except json.JSONDecodeError as e:
                    raise ValueError(f"{args.eval} is not JSON ({e})") from None
            eval_curves(ev, args.eval)  # refused here, naming the file
        opts = {}
        if args.rows_per_fragment:
            opts["rows_per_fragment"] = args.rows_per_fragment
        draw(model, args.out, ev, args.data, args.title, args.rows, **opts)
    except (Error, OSError, ValueError) as e:
        print(f"ivftrain: error: {e}", file=sys.stderr)
        return 1
    print(args.out)
    return 0
