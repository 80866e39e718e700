import json
import subprocess
import sys

import numpy as np
import pytest

import ivftrain
from conftest import clustered, run_cli


def test_report_png_written(tmp_path):
    x = clustered(6000, 32)
    np.save(tmp_path / "x.npy", x)
    m = ivftrain.train(x, num_partitions=16, num_sub_vectors=8, max_iters=8)
    m.save(tmp_path / "m")
    (tmp_path / "eval.json").write_text(json.dumps(m.evaluate(x, num_queries=100, k=[1, 10])))
    for extra, out in [([], "plain.png"),
                       (["--data", str(tmp_path / "x.npy"), "--eval", str(tmp_path / "eval.json")],
                        "full.png")]:
        proc = subprocess.run([sys.executable, "-m", "ivftrain", "report", str(tmp_path / "m"),
                               "--out", str(tmp_path / out), *extra],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        assert (tmp_path / out).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    proc = subprocess.run([sys.executable, "-m", "ivftrain", "report", str(tmp_path / "none"),
                           "--out", str(tmp_path / "x.png")], capture_output=True, text=True)
    assert proc.returncode == 1 and "none" in proc.stderr


def test_report_reads_the_json_of_ivftrain_eval(tmp_path, cli):
    # The layout `ivftrain eval --json` prints (not a guessed one): a recall curve per k.
    from ivftrain.report import eval_curves
    x = clustered(4000, 16)
    np.save(tmp_path / "x.npy", x)
    run_cli(cli, "train", tmp_path / "x.npy", "--out", tmp_path / "m", "--index-type", "ivf_flat",
            "--num-partitions", 16, "--max-iters", 5, "--quiet")
    proc = run_cli(cli, "eval", tmp_path / "m", tmp_path / "x.npy", "--num-queries", 50,
                   "--k", "1,10", "--nprobe", "1,4,16", "--json", "--quiet")
    (tmp_path / "eval.json").write_text(proc.stdout)
    ev = json.loads(proc.stdout)
    nprobe, recall, scanned = eval_curves(ev)
    assert nprobe == [1, 4, 16]
    assert sorted(recall) == [1, 10]
    assert recall[10] == [p["recall"]["10"] for p in ev["probes"]]
    assert recall[1][-1] == 1.0  # ivf_flat probing every partition finds the nearest
    assert scanned == [p["vectors_scanned"] for p in ev["probes"]] and scanned[0] < scanned[-1]
    proc = subprocess.run([sys.executable, "-m", "ivftrain", "report", str(tmp_path / "m"),
                           "--eval", str(tmp_path / "eval.json"), "--out",
                           str(tmp_path / "r.png")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    # Three panels: wider than the two-panel picture of the same model.
    two = subprocess.run([sys.executable, "-m", "ivftrain", "report", str(tmp_path / "m"),
                          "--out", str(tmp_path / "two.png")], capture_output=True, text=True)
    assert two.returncode == 0, two.stderr
    width = lambda p: int.from_bytes(p.read_bytes()[16:20], "big")  # noqa: E731 - PNG IHDR
    assert width(tmp_path / "r.png") > width(tmp_path / "two.png")
    # A JSON of another layout is refused, naming the file.
    (tmp_path / "other.json").write_text(json.dumps({"results": [{"nprobe": 1, "recall": 1}]}))
    proc = subprocess.run([sys.executable, "-m", "ivftrain", "report", str(tmp_path / "m"),
                           "--eval", str(tmp_path / "other.json"), "--out",
                           str(tmp_path / "o.png")], capture_output=True, text=True)
    assert proc.returncode == 1 and "other.json is not the JSON of `ivftrain eval" in proc.stderr
    assert not (tmp_path / "o.png").exists()


def test_partition_sizes_count_every_row_assigned(tmp_path):
    from ivftrain.report import partition_sizes
    x = clustered(4000, 16)
    np.save(tmp_path / "x.npy", x)
    m = ivftrain.train(x, index_type="ivf_flat", num_partitions=8, max_iters=5)
    sizes = partition_sizes(m, str(tmp_path / "x.npy"), rows=4000)
    assert sizes.sum() == 4000 and len(sizes) == 8
    # The nearest centroid of every row, computed here in NumPy, gives the same sizes.
    d = ((x[:, None, :] - m.ivf_centroids[None]) ** 2).sum(-1)
    assert (np.bincount(d.argmin(1), minlength=8) == sizes).all()


@pytest.mark.parametrize("index_type", ["ivf_flat", "ivf_pq", "ivf_sq"])
def test_to_faiss_loads_and_searches(index_type, tmp_path):
    faiss = pytest.importorskip("faiss")
    x = clustered(6000, 32)
    m = ivftrain.train(x, index_type=index_type, num_partitions=16, num_sub_vectors=8,
                       max_iters=6)
    index = m.to_faiss()
    assert index.is_trained and index.nlist == 16
    # The coarse quantizer holds our centroids: its assignment is ours.
    _, coarse = index.quantizer.search(x[:500], 1)
    d = ((x[:500, None, :] - m.ivf_centroids[None]) ** 2).sum(-1)
    assert (coarse[:, 0] == d.argmin(1)).mean() > 0.99
    index.add(x)
    index.nprobe = 16
    faiss.write_index(index, str(tmp_path / "i.faiss"))
    back = faiss.read_index(str(tmp_path / "i.faiss"))
    back.nprobe = 16
    _, found = back.search(x[:200], 10)
    exact = ((x[:200, None, :] - x[None]) ** 2).sum(-1).argsort(1)[:, :10]
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, exact)])
    assert recall > (0.99 if index_type == "ivf_flat" else 0.3), recall


def test_report_of_a_model_trained_in_this_process(tmp_path):
    from ivftrain.report import draw
    x = clustered(5000, 16)
    m = ivftrain.train(x, num_partitions=8, num_sub_vectors=4, num_bits=4, max_iters=6)
    assert all(len(c) >= 1 for c in m.pq_objectives())  # the sub-spaces' curves
    out = draw(m, str(tmp_path / "r.png"))
    assert open(out, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.png"]  # no temporary left
