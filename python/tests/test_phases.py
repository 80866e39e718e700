"""The three distributed phases as picklable values, across a process pool (docs/python.md)."""
import os
import pickle
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

import ivftrain
from conftest import clustered, model_files

FLAGS = dict(index_type="ivf_pq", num_partitions=16, num_sub_vectors=8, max_iters=5,
             rows_per_fragment=1500)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    path = tmp_path_factory.mktemp("phases") / "x.npy"
    np.save(path, clustered(6000, 32, seed=5))
    return str(path)


def test_three_phases_across_a_process_pool_equal_train(dataset, tmp_path):
    tasks = ivftrain.create_sample_tasks(dataset, 3, **FLAGS)
    assert [t.worker for t in tasks] == [0, 1, 2]
    assert sorted(f for t in tasks for f in t.fragment_ids) == [0, 1, 2, 3]
    assert pickle.loads(pickle.dumps(tasks)) == tasks
    with ProcessPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(ivftrain.execute_sample_task, [dataset] * len(tasks), tasks))
    assert all(isinstance(r, bytes) and r[:7] == b"IVFSMPL" for r in results)
    model = ivftrain.train_from_samples(results[::-1], tasks[0])
    model.save(tmp_path / "phases")
    ivftrain.train_dataset(dataset, **FLAGS).save(tmp_path / "local")
    assert model_files(tmp_path / "phases") == model_files(tmp_path / "local")


def test_sample_results_are_the_cli_result_files(dataset, tmp_path, cli):
    tasks = ivftrain.create_sample_tasks(dataset, 2, **FLAGS)
    # A task file of ours is one the CLI's `sample` runs, and the bytes are the same.
    (tmp_path / "task.json").write_text(tasks[1].json)
    subprocess.run([cli, "sample", str(tmp_path / "task.json"), "--out",
                    str(tmp_path / "task.result"), "--quiet"], check=True)
    assert (tmp_path / "task.result").read_bytes() == ivftrain.execute_sample_task(None, tasks[1])


def test_phase_errors(dataset):
    tasks = ivftrain.create_sample_tasks(dataset, 2, **FLAGS)
    results = [ivftrain.execute_sample_task(dataset, t) for t in tasks]
    missing = r"the results of 1 of 2 workers are missing \(tasks 1\)"
    with pytest.raises(ivftrain.FailedPreconditionError, match=missing):
        ivftrain.train_from_samples(results[:1], tasks[0])
    with pytest.raises(ivftrain.CorruptionError, match="sample result 0"):
        ivftrain.train_from_samples([results[0][:-9], results[1]], tasks[0])


def test_the_documented_example_runs(tmp_path):
    # docs/python.md's process-pool example, extracted and run as a user would.
    docs = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "python.md")
    text = open(docs, encoding="utf-8").read()
    start = text.index("<!-- example: process pool -->")
    code = text[text.index("```python", start) + len("```python"):text.index("```", text.index(
        "```python", start) + 3)]
    np.save(tmp_path / "vectors.npy", clustered(6000, 32, seed=9))
    env = dict(os.environ)
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "model" / "ivf_centroids.npy").exists()
