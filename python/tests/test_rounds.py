"""Sharded training in rounds from Python (begin_rounds, compute_round_partial, merge_round,
finish_rounds): the model of `ivftrain train` and of ivftrain.train, byte for byte, without
files, for 1 and 3 workers (docs/python.md)."""
import multiprocessing
import os
import pickle
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from itertools import repeat

import numpy as np
import pytest

import ivftrain
from conftest import clustered, model_files, run_cli

# ivf_pq with few partitions (plain assignment); ivf_flat with 144 x 32 (more than the direct
# kernel takes: the assignment keeps bounds, which the partials carry).
CASES = {
    "pq16": dict(index_type="ivf_pq", num_partitions=16, num_sub_vectors=8, max_iters=6,
                 rows_per_fragment=1000),
    "flat144": dict(index_type="ivf_flat", num_partitions=144, max_iters=8,
                    rows_per_fragment=1000),
    # k-means|| in rounds: 6 rounds (5 oversampling, the weights) replace the scan round.
    "kmpar": dict(index_type="ivf_pq", num_partitions=16, num_sub_vectors=8, max_iters=6,
                  rows_per_fragment=1000, init="kmeans-parallel"),
}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    path = tmp_path_factory.mktemp("rounds") / "x.npy"
    np.save(path, clustered(6000, 32, centers=40, seed=3))
    return str(path)


def rounds(dataset, workers, flags, pool=None):
    """The sharded Lloyd loop as a driver runs it; returns (model, rounds, partials seen)."""
    tasks = ivftrain.create_sample_tasks(dataset, workers, **flags)
    mapper = pool.map if pool else map
    shards = list(mapper(ivftrain.execute_sample_task, repeat(None), tasks))
    state = ivftrain.begin_rounds(shards, tasks[0])
    assert state is not None and state.round == 0 and not state.finished
    seen, previous = [], [None] * workers
    while not state.finished:
        partials = list(mapper(ivftrain.compute_round_partial, shards, repeat(state),
                               repeat(tasks[0]), previous))
        assert [p.worker for p in partials] == list(range(workers))
        seen.extend(partials)
        # Any order: the merge sorts them by worker.
        state = ivftrain.merge_round(pickle.loads(pickle.dumps(state)), partials[::-1], tasks[0],
                                     results=shards)
        previous = partials
    return ivftrain.finish_rounds(shards, state, tasks[0]), state.round, seen


@pytest.mark.parametrize("case", sorted(CASES))
def test_rounds_give_the_model_of_train_for_1_and_3_workers(dataset, tmp_path, cli, case):
    flags = CASES[case]
    ivftrain.train(np.load(dataset), **flags).save(tmp_path / "train")
    expected = model_files(tmp_path / "train")
    cli_flags = [f"--{k.replace('_', '-')}={v}" for k, v in flags.items()]
    run_cli(cli, "train", dataset, "--out", tmp_path / "cli", "--quiet", *cli_flags)
    assert model_files(tmp_path / "cli") == expected
    # Spawned, not forked: a child forked after the parent ran OpenMP hangs in its first parallel
    # region (libgomp's threads do not survive fork).
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=spawn) as pool:
        for workers in (1, 3):
            model, last_round, partials = rounds(dataset, workers, flags,
                                                 pool if workers > 1 else None)
            model.save(tmp_path / f"rounds{workers}")
            assert model_files(tmp_path / f"rounds{workers}") == expected, (case, workers)
            # Round 0 scans, round 1 assigns the initial centroids, round r > 1 ends iteration
            # r - 1 of Lloyd's loop; k-means|| adds 5 rounds, whose partials carry the rows'
            # state; an update that splits clusters adds a round (their farthest rows).
            seed_rounds = 6 if case == "kmpar" else 0
            splits = model.stats["ivf_empty_clusters_split_per_iteration"]
            split_rounds = sum(1 for v in splits if v > 0)
            assert last_round == (model.stats["ivf_iterations"] + 1 + max(seed_rounds - 1, 0)
                                  + split_rounds)
            if case == "flat144":
                assert split_rounds > 0  # a split round with bounds carried through it
            assert all(p.data[:8] == b"IVFPARTL" for p in partials)
            if case == "flat144":
                assert any(p.bounds for p in partials)  # the bounded path was exercised
            else:
                carried = [p.bounds is not None for p in partials]
                assert carried == [i < seed_rounds * workers for i in range(len(partials))]


def test_partials_are_the_round_files_of_the_cli(dataset, tmp_path, cli):
    # The state and partials are the bytes `ivftrain advance` and `ivftrain round` write.
    flags = CASES["pq16"]
    cli_flags = [f"--{k.replace('_', '-')}={v}" for k, v in flags.items()]
    plan = tmp_path / "plan"
    run_cli(cli, "plan", dataset, "--out", plan, "--workers", 2, "--quiet", *cli_flags)
    for w in range(2):
        run_cli(cli, "sample", plan / f"task-{w:04d}.json", "--quiet")
    # Exit 3: the rounds began, a round is needed.
    assert subprocess.run([cli, "advance", str(plan), "--out", str(tmp_path / "m"),
                           "--quiet"]).returncode == 3
    for w in range(2):
        run_cli(cli, "round", plan, "--worker", w, "--quiet")
    task = ivftrain.SampleTask((plan / "task-0000.json").read_text())
    shards = [(plan / f"task-{w:04d}.result").read_bytes() for w in range(2)]
    state = ivftrain.begin_rounds(shards, task)
    assert state.data == (plan / "round-0000" / "centroids").read_bytes()
    for w in range(2):
        p = ivftrain.compute_round_partial(shards[w], state, task)
        assert p.data == (plan / "round-0000" / f"partial-{w:04d}").read_bytes()


def test_round_errors(dataset):
    # Lloyd's iterations alone, so that round 2 is an iteration's (relocation would make it a
    # split round, which continues from no bounds).
    flags = dict(CASES["flat144"], relocate=False)
    tasks = ivftrain.create_sample_tasks(dataset, 2, **flags)
    shards = [ivftrain.execute_sample_task(None, t) for t in tasks]
    state = ivftrain.begin_rounds(shards, tasks[0])
    p0 = [ivftrain.compute_round_partial(s, state, tasks[0]) for s in shards]
    with pytest.raises(ivftrain.FailedPreconditionError, match="worker"):
        ivftrain.merge_round(state, p0[:1], tasks[0])  # worker 1 missing
    with pytest.raises(ivftrain.CorruptionError, match="partial 0"):
        ivftrain.merge_round(state, [p0[0].data[:-3], p0[1]], tasks[0])
    state1 = ivftrain.merge_round(state, p0, tasks[0])
    with pytest.raises(ivftrain.FailedPreconditionError):
        ivftrain.merge_round(state1, p0, tasks[0])  # partials of round 0 for round 1
    p1 = [ivftrain.compute_round_partial(s, state1, tasks[0]) for s in shards]
    state2 = ivftrain.merge_round(state1, p1, tasks[0])
    # Round 2 continues from the worker's own bounds of round 1: another worker's are refused.
    with pytest.raises(ivftrain.InvalidArgumentError, match="previous"):
        ivftrain.compute_round_partial(shards[0], state2, tasks[0])
    with pytest.raises(ivftrain.CorruptionError, match="worker 0's bounds of round 1"):
        ivftrain.compute_round_partial(shards[0], state2, tasks[0], p1[1])
    with pytest.raises(ivftrain.InvalidArgumentError, match="finished"):
        ivftrain.finish_rounds(shards, state2, tasks[0])
    with pytest.raises(ivftrain.CorruptionError, match="shard"):
        ivftrain.compute_round_partial(shards[0][:-1], state2, tasks[0], p1[0])


def test_kmeans_parallel_merges_need_the_results(dataset):
    tasks = ivftrain.create_sample_tasks(dataset, 2, index_type="ivf_flat", num_partitions=8,
                                         init="kmeans-parallel", max_iters=3)
    shards = [ivftrain.execute_sample_task(None, t) for t in tasks]
    state = ivftrain.begin_rounds(shards, tasks[0])
    partials = [ivftrain.compute_round_partial(s, state, tasks[0]) for s in shards]
    with pytest.raises(ivftrain.InvalidArgumentError, match="results"):
        ivftrain.merge_round(state, partials, tasks[0])
    assert ivftrain.merge_round(state, partials, tasks[0], results=shards).round == 1


def test_rounds_decline_what_they_cannot_train(dataset):
    # k-means++ needs the whole sample: begin_rounds says so (None), train_from_samples trains.
    tasks = ivftrain.create_sample_tasks(dataset, 2, index_type="ivf_flat", num_partitions=8,
                                         init="kmeans++", max_iters=3)
    shards = [ivftrain.execute_sample_task(None, t) for t in tasks]
    assert ivftrain.begin_rounds(shards, tasks[0]) is None


def test_the_documented_rounds_example_runs(tmp_path):
    # docs/python.md's rounds example, extracted and run as a user would.
    docs = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "python.md")
    text = open(docs, encoding="utf-8").read()
    start = text.index("```python", text.index("<!-- example: rounds -->")) + len("```python")
    code = text[start:text.index("```", start)]
    np.save(tmp_path / "vectors.npy", clustered(6000, 32, seed=9))
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "model" / "ivf_centroids.npy").exists()
