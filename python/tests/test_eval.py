"""Model.evaluate (`ivftrain eval`) and Model.to_faiss (`ivftrain export --faiss`)."""
import json

import numpy as np
import pytest

import ivftrain
from conftest import clustered, run_cli

FLAGS = {
    "ivf_flat": dict(index_type="ivf_flat"),
    "ivf_pq": dict(index_type="ivf_pq", num_sub_vectors=8),
    "ivf_sq": dict(index_type="ivf_sq", sq_bounds="per-dim", num_bits=4),
}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("eval")
    x = clustered(5200, 32, centers=40, seed=7)
    np.save(d / "base.npy", x[:5000])
    np.save(d / "queries.npy", x[5000:])
    return d


def without_timings(report):
    report = dict(report)
    report.pop("seconds")
    report["probes"] = [{k: v for k, v in p.items() if k != "queries_per_second"}
                        for p in report["probes"]]
    return report


@pytest.mark.parametrize("index_type", sorted(FLAGS))
def test_evaluate_is_the_json_of_ivftrain_eval(data, tmp_path, cli, index_type):
    base = np.load(data / "base.npy")
    m = ivftrain.train(base, num_partitions=16, max_iters=5, **FLAGS[index_type])
    m.save(tmp_path / "m")
    for queries, flags in [(str(data / "queries.npy"), ["--queries", data / "queries.npy"]),
                           (None, ["--num-queries", 80, "--seed", 3])]:
        proc = run_cli(cli, "eval", tmp_path / "m", data / "base.npy", "--k", "1,10", "--nprobe",
                       "1,2,8", "--json", "--quiet", *flags)
        expected = without_timings(json.loads(proc.stdout))
        kw = dict(queries=queries) if queries else dict(num_queries=80, seed=3)
        # The base as an array and as a path; the queries as a path and as an array.
        got = m.evaluate(base, k=[1, 10], nprobe=[1, 2, 8], **kw)
        assert without_timings(got) == expected
        got = m.evaluate(data / "base.npy", k=[1, 10], nprobe=[1, 2, 8], **kw)
        assert without_timings(got) == expected
    q = np.load(data / "queries.npy")
    one = m.evaluate(base, q.astype(np.float64), k=10, nprobe=4)
    assert [p["nprobe"] for p in one["probes"]] == [4] and one["k"] == [10]
    assert one["num_queries"] == len(q)


def test_evaluate_errors(data):
    base = np.load(data / "base.npy")
    m = ivftrain.train(base, index_type="ivf_flat", num_partitions=8, max_iters=2)
    with pytest.raises(ivftrain.InvalidArgumentError, match="give the queries"):
        m.evaluate(base)
    with pytest.raises(ivftrain.InvalidArgumentError, match="not both"):
        m.evaluate(base, base[:5], num_queries=5)
    # The library's sentence, with the keyword's name for the command's flag.
    with pytest.raises(ivftrain.InvalidArgumentError, match=r"^nprobe 9 is outside \[1, 8\]"):
        m.evaluate(base, base[:5], nprobe=9)
    with pytest.raises(ivftrain.InvalidArgumentError, match=r"^k 0 must be at least 1"):
        m.evaluate(base, base[:5], k=0)
    with pytest.raises(ivftrain.InvalidArgumentError, match="2-D"):
        m.evaluate(base, base[0])
    with pytest.raises(ivftrain.NotFoundError):
        m.evaluate(data / "missing.npy", num_queries=5)


@pytest.mark.parametrize("index_type", sorted(FLAGS))
def test_to_faiss_is_the_index_export_writes_and_searches_as_eval(data, tmp_path, cli,
                                                                  index_type):
    faiss = pytest.importorskip("faiss")
    base, q = np.load(data / "base.npy"), np.load(data / "queries.npy")
    m = ivftrain.train(base, num_partitions=16, max_iters=5, **FLAGS[index_type])
    m.save(tmp_path / "m")
    run_cli(cli, "export", tmp_path / "m", "--faiss", tmp_path / "i.faiss", "--quiet")
    exported = (tmp_path / "i.faiss").read_bytes()
    assert m.faiss_bytes() == exported
    index = m.to_faiss()
    assert faiss.serialize_index(index).tobytes() == exported
    # Filled with the base, it finds what `ivftrain eval` says the model finds.
    report = m.evaluate(base, q, k=10, nprobe=[1, 4, 16])
    index.add(base)
    exact = ((q[:, None, :] - base[None]) ** 2).sum(-1).argsort(1, kind="stable")[:, :10]
    for probe in report["probes"]:
        index.nprobe = probe["nprobe"]
        _, found = index.search(q, 10)
        recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, exact)])
        assert recall == pytest.approx(probe["recall"]["10"], abs=1e-9), (probe, recall)
