"""Shared fixtures. CTest runs these with PYTHONPATH=BUILD/python and IVFTRAIN_CLI=the binary."""
import os
import subprocess

import numpy as np
import pytest


@pytest.fixture(scope="session")
def cli():
    path = os.environ.get("IVFTRAIN_CLI")
    if not path or not os.path.exists(path):
        pytest.skip("IVFTRAIN_CLI does not name the ivftrain binary")
    return path


def run_cli(cli, *args):
    proc = subprocess.run([cli, *map(str, args)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc


def clustered(rows=6000, dim=32, centers=24, seed=0, dtype=np.float32):
    """Rows around a few centres (float32, then cast): k-means has something to find."""
    rng = np.random.default_rng(seed)
    c = rng.normal(0, 4, (centers, dim))
    x = c[rng.integers(0, centers, rows)] + rng.normal(0, 1, (rows, dim))
    return x.astype(dtype)


def model_files(directory):
    """Every file of a model directory, model.json without its run-dependent "timings"."""
    import json
    out = {}
    for name in sorted(os.listdir(directory)):
        with open(os.path.join(directory, name), "rb") as f:
            data = f.read()
        if name == "model.json":
            j = json.loads(data)
            j.pop("timings")
            data = json.dumps(j, sort_keys=True).encode()
        out[name] = data
    return out
