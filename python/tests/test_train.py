import json
import logging
import os

import numpy as np
import pytest

import ivftrain
from conftest import clustered, model_files, run_cli


def test_defaults_are_the_cli_defaults(cli):
    # The CLI's --help shows its defaults, from the same structs.
    import subprocess
    text = subprocess.run([cli, "train", "--help"], capture_output=True, text=True).stdout
    for flag, key in [("--num-sub-vectors", "num_sub_vectors"), ("--num-bits", "num_bits"),
                      ("--max-iters", "max_iters"), ("--sample-rate", "sample_rate"),
                      ("--seed", "seed"), ("--index-type", "index_type"),
                      ("--distance-type", "distance_type"), ("--init", "init")]:
        line = next(l for l in text.splitlines() if l.strip().startswith(flag))
        assert f"={ivftrain.DEFAULTS[key]} " in line, (flag, line)


@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.float64, np.uint8, np.int8])
def test_every_dtype_trains_as_its_float32_conversion(dtype):
    x = clustered(3000, 16, dtype=np.float32)
    if dtype in (np.uint8, np.int8):
        x = np.clip(x * 8 + (128 if dtype == np.uint8 else 0), np.iinfo(dtype).min,
                    np.iinfo(dtype).max)
    x = x.astype(dtype)
    kw = dict(index_type="ivf_flat", num_partitions=8, max_iters=5)
    m = ivftrain.train(x, **kw)
    ref = ivftrain.train(x.astype(np.float32), **kw)
    assert m.ivf_centroids.dtype == np.float32 and m.ivf_centroids.shape == (8, 16)
    assert m.ivf_centroids.tobytes() == ref.ivf_centroids.tobytes()
    assert m.stats["sample_rows"] == ref.stats["sample_rows"] > 0


def test_shapes_and_dtypes_of_every_array():
    x = clustered(6000, 32)
    pq = ivftrain.train(x, index_type="ivf_pq", num_partitions=16, num_sub_vectors=4,
                        num_bits=4, max_iters=4)
    assert pq.ivf_centroids.shape == (16, 32) and pq.ivf_centroids.dtype == np.float32
    assert pq.pq_codebook.shape == (4, 16, 8) and pq.pq_codebook.dtype == np.float32
    assert pq.sq_bounds is None
    assert len(pq.pq_objectives()) == 4
    sq = ivftrain.train(x, index_type="ivf_sq", num_partitions=16, max_iters=4)
    assert sq.sq_bounds.shape == (2,) and sq.sq_bounds.dtype == np.float32
    assert sq.sq_bounds[0] == pytest.approx(x.min()) or sq.sq_bounds[0] >= x.min()
    assert sq.pq_codebook is None
    per_dim = ivftrain.train(x, index_type="ivf_sq", sq_bounds="per-dim", num_partitions=16,
                             max_iters=4)
    assert per_dim.sq_bounds.shape == (2, 32)
    assert (per_dim.sq_bounds[0] <= per_dim.sq_bounds[1]).all()
    flat = ivftrain.train(x, index_type="ivf_flat", num_partitions=16, max_iters=4)
    assert flat.pq_codebook is None and flat.sq_bounds is None
    assert flat.stats["ivf_iterations"] == len(flat.stats["ivf_objective_per_iteration"])


@pytest.mark.parametrize("flags", [
    dict(index_type="ivf_pq", num_partitions=16, num_sub_vectors=8, max_iters=6),
    dict(index_type="ivf_sq", num_partitions=12, distance_type="cosine", sq_bounds="per-dim",
         rows_per_fragment=1000, seed=7),
    dict(index_type="ivf_flat", num_partitions=10, init="kmeans++", distance_type="dot",
         sample_rate=64, rows_per_fragment=2500),
    dict(index_type="ivf_flat", num_partitions=64, kmeans="hierarchical", balance=2,
         sample_rate=64, fragments="0,2", rows_per_fragment=2000),
    dict(index_type="ivf_pq", num_partitions=16, num_sub_vectors=8, max_iters=6, relocate=False),
])
def test_python_model_equals_the_cli_model_byte_for_byte(cli, tmp_path, flags):
    x = clustered(6000, 32, seed=3)
    np.save(tmp_path / "x.npy", x)
    args = []
    for k, v in flags.items():
        if isinstance(v, bool):
            v = "on" if v else "off"
        args += [f"--{k.replace('_', '-')}", v]
    run_cli(cli, "train", tmp_path / "x.npy", "--out", tmp_path / "cli", "--quiet", *args)
    ivftrain.train(x, **flags).save(tmp_path / "py")
    assert model_files(tmp_path / "py") == model_files(tmp_path / "cli")
    # And the file path of the module reads the same rows.
    ivftrain.train_dataset(tmp_path / "x.npy", **flags).save(tmp_path / "py_file")
    assert model_files(tmp_path / "py_file") == model_files(tmp_path / "cli")


def test_relocate_off_is_lloyds_loop_and_is_recorded():
    x = clustered(6000, 16, seed=4)
    kw = dict(index_type="ivf_flat", num_partitions=48, max_iters=12, tolerance=0)
    assert ivftrain.DEFAULTS["relocate"] is True
    on, off = ivftrain.train(x, **kw), ivftrain.train(x, relocate=False, **kw)
    assert on.ivf_centroids.tobytes() != off.ivf_centroids.tobytes()
    assert off.info["params"]["ivf"]["relocate"] is False
    assert "relocate" not in on.info["params"]["ivf"]
    with pytest.raises(ivftrain.InvalidArgumentError, match="relocate must be True or False"):
        ivftrain.train(x, relocate="off", **kw)


def test_non_contiguous_arrays_are_copied_not_refused():
    x = clustered(4000, 16)
    wide = np.concatenate([x, x], axis=1)[:, :16]  # a strided view of the same values
    assert not wide.flags.c_contiguous
    kw = dict(index_type="ivf_flat", num_partitions=8, max_iters=3)
    assert ivftrain.train(wide, **kw).ivf_centroids.tobytes() == \
        ivftrain.train(x, **kw).ivf_centroids.tobytes()


def test_save_load_round_trip(tmp_path, cli):
    m = ivftrain.train(clustered(5000, 16), num_partitions=8, num_sub_vectors=4, num_bits=4,
                       max_iters=5)
    m.save(tmp_path / "m")
    back = ivftrain.load(tmp_path / "m")
    assert back.ivf_centroids.tobytes() == m.ivf_centroids.tobytes()
    assert back.pq_codebook.tobytes() == m.pq_codebook.tobytes()
    strip = lambda info: {k: v for k, v in info.items() if k != "timings"}  # noqa: E731
    assert strip(back.info) == strip(m.info)
    assert np.load(tmp_path / "m" / "ivf_centroids.npy").tobytes() == m.ivf_centroids.tobytes()
    back.save(tmp_path / "again")
    again, first = model_files(tmp_path / "again"), model_files(tmp_path / "m")
    assert again.keys() == first.keys()
    # The arrays survive a second save; model.json loses the PQ sub-space statistics, which
    # the library's reader does not keep.
    assert all(again[name] == first[name] for name in first if name.endswith(".npy"))
    run_cli(cli, "inspect", tmp_path / "m")  # the CLI reads Python's models
    with pytest.raises(ivftrain.AlreadyExistsError, match="exists"):
        m.save(tmp_path / "m")
    m.save(tmp_path / "m", overwrite=True)


def test_lance_kwargs():
    m = ivftrain.train(clustered(5000, 16), num_partitions=8, num_sub_vectors=4, max_iters=3)
    kw = m.lance_kwargs()
    assert kw["index_type"] == "IVF_PQ" and kw["metric"] == "l2"
    assert kw["num_partitions"] == 8 and kw["num_sub_vectors"] == 4 and kw["num_bits"] == 8
    assert kw["ivf_centroids"] is m.ivf_centroids and kw["pq_codebook"] is m.pq_codebook


def test_errors_carry_the_library_sentence(tmp_path):
    x = clustered(2000, 16)
    with pytest.raises(ivftrain.InvalidArgumentError, match="expected a 2-D array"):
        ivftrain.train(x[0], num_partitions=4)
    with pytest.raises(ValueError, match="num_sub_vectors 3 does not divide the dimension 16"):
        ivftrain.train(x, num_partitions=4, num_sub_vectors=3)
    with pytest.raises(ValueError, match="unknown index type 'ivf_hnsw'"):
        ivftrain.train(x, num_partitions=4, index_type="ivf_hnsw")
    with pytest.raises(ValueError, match="unsupported dtype int32"):
        ivftrain.train(x.astype(np.int32), num_partitions=4)
    nan = np.full((500, 8), np.nan, dtype=np.float32)
    with pytest.raises(ivftrain.FailedPreconditionError,
                       match=r"no usable sample rows: all 500 rows read were dropped \(500 "
                             r"holding NaN or Inf"):
        ivftrain.train(nan, num_partitions=4, index_type="ivf_flat")
    with pytest.raises(ivftrain.InvalidArgumentError,
                       match=r"num_partitions must be an integer \(got 'x'\)"):
        ivftrain.train(x, num_partitions="x")
    with pytest.raises(ValueError, match=r"^threads must be 0 \(all cores\) or between 1"):
        ivftrain.train(x, num_partitions=4, threads=-1)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ivftrain.train_dataset(tmp_path / "none.npy", num_partitions=4)
    with pytest.raises(ivftrain.NotFoundError):
        ivftrain.load(tmp_path / "none")


def test_logging_and_progress(caplog):
    x = clustered(4000, 16)
    seen = []
    with caplog.at_level(logging.DEBUG, logger="ivftrain"):
        m = ivftrain.train(x, index_type="ivf_flat", num_partitions=8, max_iters=6,
                           tolerance=0, progress=lambda *a: seen.append(a))
    ivf = [s for s in seen if s[0] == "ivf"]
    assert [s[1] for s in ivf] == list(range(1, 7))
    assert [s[2] for s in ivf] == m.stats["ivf_objective_per_iteration"]
    assert any(r.name == "ivftrain" and "ivf" in r.getMessage() for r in caplog.records)


def test_an_exception_in_progress_stops_training_and_is_raised():
    class Stop(Exception):
        pass

    def stop(phase, it, obj):
        if it == 2:
            raise Stop(phase)

    with pytest.raises(Stop):
        ivftrain.train(clustered(4000, 16), index_type="ivf_flat", num_partitions=8,
                       max_iters=50, tolerance=0, progress=stop)
    # The cancel request does not outlive the call.
    assert ivftrain.train(clustered(2000, 16), index_type="ivf_flat", num_partitions=4,
                          max_iters=2).num_partitions == 4


def test_the_gil_is_released_while_training():
    import threading
    import time
    ticks = []
    stop = threading.Event()

    def tick():
        while not stop.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.001)

    x = clustered(20000, 32, centers=100)
    t = threading.Thread(target=tick)
    t.start()
    start = time.monotonic()
    ivftrain.train(x, index_type="ivf_flat", num_partitions=128, max_iters=30, tolerance=0,
                   threads=1)
    end = time.monotonic()
    stop.set()
    t.join()
    during = [s for s in ticks if start < s < end]
    # With the GIL held through training, the thread could not run until it returned.
    assert len(during) > 10 and max(during) - min(during) > 0.5 * (end - start)


def test_training_from_a_progress_callback_is_refused_not_a_deadlock():
    x = clustered(2000, 16)
    inner = []

    def nested(phase, it, obj):
        if not inner:
            inner.append(1)
            ivftrain.train(x, index_type="ivf_flat", num_partitions=4, max_iters=2)

    with pytest.raises(ivftrain.FailedPreconditionError, match="from a progress callback"):
        ivftrain.train(x, index_type="ivf_flat", num_partitions=4, max_iters=5, progress=nested)
