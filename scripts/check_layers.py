#!/usr/bin/env python3
"""Checks that every #include in src/, include/ and tools/ points down the floors of the flow.

The floors, lowest first (folders of src/; a public header belongs to the floor of the code it
describes):

    util -> io, linalg -> kmeans -> pq, sq -> train -> eval, export -> pipeline -> files -> mpi
         -> testing -> tools

(eval and export read a trained model and a dataset: they need the models, never the pipeline.)

A file may include its own floor and the floors below it, never one above it or beside it.
Unit tests (*_test.cc) may include anything. Exits 1 and names each offending include.
"""
import os
import re
import sys

FLOORS = [["util"], ["io", "linalg"], ["kmeans"], ["pq", "sq"], ["train"], ["eval", "export"],
          ["pipeline"], ["files"], ["mpi"], ["testing"], ["tools"]]
HEADERS = {  # public header -> floor
    "status": "util", "log": "util", "dataset": "io", "metric": "linalg", "simd": "linalg", "kmeans": "kmeans", "pq": "pq", "sq": "sq",
    "params": "train", "models": "train", "distributed": "pipeline", "train": "pipeline", "rounds": "pipeline",
    "plan_files": "files", "model_dir": "files", "mpi": "mpi",
    "eval": "eval", "faiss_export": "export",
}
LEVEL = {room: i for i, floor in enumerate(FLOORS) for room in floor}


def room_of(root, path):
    parts = os.path.relpath(path, root).split(os.sep)
    if parts[0] == "include":
        name = os.path.splitext(parts[-1])[0]
        if name not in HEADERS:
            sys.exit(f"check_layers: {path}: public header with no floor; add it to HEADERS")
        return HEADERS[name]
    return parts[1] if parts[0] == "src" else parts[0]


def resolve(root, include, src):
    if include.startswith("ivftrain/"):
        return os.path.join(root, "include", include)
    for base in (os.path.join(root, "src"), os.path.dirname(src)):
        candidate = os.path.join(base, include)
        if os.path.exists(candidate):
            return candidate
    return None


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    bad, edges = [], set()
    for top in ("src", "include", "tools"):
        for folder, _, files in os.walk(os.path.join(root, top)):
            for name in sorted(files):
                if not name.endswith((".h", ".cc")) or name.endswith("_test.cc"):
                    continue
                path = os.path.join(folder, name)
                here = room_of(root, path)
                if here not in LEVEL:
                    sys.exit(f"check_layers: {path}: folder '{here}' is on no floor; add it")
                for n, line in enumerate(open(path, encoding="utf-8"), 1):
                    m = re.match(r'#include "([^"]+)"', line)
                    target = m and resolve(root, m.group(1), path)
                    if not target:
                        continue
                    there = room_of(root, target)
                    if there == here:
                        continue
                    edges.add((here, there))
                    if LEVEL[there] >= LEVEL[here]:
                        rel = os.path.relpath(path, root)
                        bad.append(f"{rel}:{n}: {here} includes {m.group(1)} ({there}), "
                                   f"which is {'beside' if LEVEL[there] == LEVEL[here] else 'above'} it")
    for b in bad:
        print(b)
    print(f"check_layers: {len(edges)} arrows between folders, {len(bad)} pointing up or sideways")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
