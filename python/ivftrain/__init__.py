"""ivftrain: train IVF centroids, PQ codebooks and SQ bounds from Python, with NumPy.

    import numpy as np, ivftrain
    x = np.random.default_rng(0).standard_normal((20000, 64), dtype=np.float32)
    model = ivftrain.train(x, index_type="ivf_pq", num_partitions=64, num_sub_vectors=8)
    model.ivf_centroids.shape        # (64, 64)
    model.pq_codebook.shape          # (8, 256, 8)
    model.save("model")              # the CLI's model directory; ivftrain.load("model")

Parameters are the command line's flags (``ivftrain train --help``) by the same names, with
underscores, and the same defaults (read from the library's parameter structs). Training
releases the GIL, stops on Ctrl-C (KeyboardInterrupt) within a second, writes nothing when
interrupted, logs through the ``logging`` logger "ivftrain", and calls ``progress(phase,
iteration, objective)`` after each k-means iteration when given.

The distributed phases (``create_sample_tasks``, ``execute_sample_task``,
``train_from_samples``) exchange picklable values (tasks as JSON text, sample results as bytes)
for process pools, Ray or Spark; so do the sharded rounds (``begin_rounds``,
``compute_round_partial``, ``merge_round``, ``finish_rounds``), which train without gathering
the samples: see docs/python.md. ``Model.evaluate`` is ``ivftrain eval``, ``Model.to_faiss``
``ivftrain export --faiss``.
"""
from __future__ import annotations

import contextlib
import json as _json
import logging
import os
import re
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np

from . import _ivftrain as _core

__all__ = [
    "Error", "InvalidArgumentError", "FailedPreconditionError", "CorruptionError",
    "NotFoundError", "AlreadyExistsError", "IOError", "InternalError", "CancelledError",
    "Model", "SampleTask", "train", "train_dataset", "load", "create_sample_tasks",
    "execute_sample_task", "train_from_samples", "RoundState", "RoundPartial", "begin_rounds",
    "compute_round_partial", "merge_round", "finish_rounds", "DEFAULTS",
]

#: The command line's defaults, read from the library's parameter structs.
DEFAULTS: dict = _core.defaults()

ProgressCallback = Callable[[str, int, float], Any]
Fragments = Union[None, str, Sequence[int]]


# ---- Errors --------------------------------------------------------------------------------------

class Error(Exception):
    """An error of ivftrain: one sentence naming the file, fragment or parameter at fault."""

    code = "internal"


class InvalidArgumentError(Error, ValueError):
    """A parameter or an input is not acceptable."""
    code = "invalid_argument"


class FailedPreconditionError(Error, ValueError):
    """The inputs are valid alone but do not fit together (e.g. results of another plan)."""
    code = "failed_precondition"


class CorruptionError(Error, ValueError):
    """A file or a sample result is malformed, truncated or fails its checksum."""
    code = "corruption"


class NotFoundError(Error, FileNotFoundError):
    """A path, dataset or fragment does not exist."""
    code = "not_found"


class AlreadyExistsError(Error, FileExistsError):
    """An output exists and overwriting was not asked for."""
    code = "already_exists"


class IOError(Error, OSError):  # noqa: A001 - the library's name for it
    """The operating system refused a read or a write."""
    code = "io_error"


class InternalError(Error, RuntimeError):
    """A bug in ivftrain."""
    code = "internal"


class CancelledError(Error):
    """The training call was cancelled (by a progress callback or another thread)."""
    code = "cancelled"


_ERRORS = {cls.code: cls for cls in (InvalidArgumentError, FailedPreconditionError,
                                     CorruptionError, NotFoundError, AlreadyExistsError, IOError,
                                     InternalError, CancelledError)}


@contextlib.contextmanager
def _errors(flags: Sequence[str] = ()):
    try:
        yield
    except _core.StatusError as e:
        code, message = e.args
        # The library's names are the keywords', but for num_threads (``threads`` here, as
        # the CLI's --threads), and the command's flags some messages name (``flags``).
        message = re.sub(r"\bnum_threads\b", "threads", message)
        for flag in flags:
            message = re.sub(rf"--{flag}\b", flag.replace("-", "_"), message)
        raise _ERRORS.get(code, Error)(message) from None


# ---- Logging -------------------------------------------------------------------------------------

_logger = logging.getLogger("ivftrain")
_LEVELS = [logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR]


def _log(level: int, message: str) -> None:
    _logger.log(_LEVELS[level], "%s", message)


_core.install_log_sink(_log)

# OpenBLAS chose its kernels as the module loaded it (or earlier, with numpy, when numpy uses
# the same OpenBLAS). The CLI restarts itself with better ones when OpenBLAS did not know this
# CPU; a Python process cannot, so it says how, unless the user chose the kernels.
if _core.better_blas_core() and "OPENBLAS_CORETYPE" not in os.environ:
    _logger.warning("OpenBLAS runs its generic %s kernels on this CPU; start Python with "
                    "OPENBLAS_CORETYPE=%s for about 2.5x faster training (models are the same)",
                    _core.blas_core(), _core.better_blas_core())


def _sync_log_level() -> None:
    # Messages the logger would drop are not even formatted by the library.
    level = _logger.getEffectiveLevel()
    _core.set_log_level(0 if level <= logging.DEBUG else 1 if level <= logging.INFO
                        else 2 if level <= logging.WARNING else 3)


# ---- Models --------------------------------------------------------------------------------------

class Model:
    """Trained models: IVF centroids, and the PQ codebook or SQ bounds, with their statistics.

    Arrays (float32, copies owned by the Model):
      ivf_centroids  (num_partitions, dim)
      pq_codebook    (num_sub_vectors, 2**num_bits, dim // num_sub_vectors), ivf_pq, else None
      sq_bounds      (2,) global or (2, dim) per dimension (row 0 the lower bounds), ivf_sq,
                     else None
    ``info`` is model.json as a dict; ``stats`` its statistics, ``params`` its parameters.
    """

    def __init__(self, core: "_core.Models"):
        self._core = core
        self.info: dict = _json.loads(core.json())
        self.ivf_centroids: np.ndarray = core.ivf_centroids
        self.pq_codebook: Optional[np.ndarray] = core.pq_codebook
        self.sq_bounds: Optional[np.ndarray] = core.sq_bounds

    index_type = property(lambda self: self.info["index_type"], doc="ivf_pq, ivf_sq or ivf_flat")
    distance_type = property(lambda self: self.info["distance_type"], doc="l2, cosine or dot")
    dim = property(lambda self: self.info["dim"], doc="vector dimension")
    num_partitions = property(lambda self: self.info["num_partitions"], doc="IVF partitions")

    @property
    def stats(self) -> dict:
        """model.json's statistics: sample sizes, rows dropped, objective per iteration, ..."""
        return self.info["stats"]

    @property
    def timings(self) -> dict:
        """Seconds per phase (the only part of model.json that differs from run to run)."""
        return self.info["timings"]

    @property
    def params(self) -> dict:
        """The parameters and seed the model was trained with, as model.json has them."""
        return {k: v for k, v in self.info.items() if k not in ("stats", "timings")}

    def pq_objectives(self) -> list:
        """The PQ k-means objective per sub-space and iteration (empty for a loaded model:
        model.json keeps only each sub-space's last)."""
        return self._core.pq_objectives()

    def save(self, path: Union[str, os.PathLike], overwrite: bool = False) -> None:
        """Writes the model directory (model.json and the .npy arrays) atomically, as
        ``ivftrain train --out`` does; an existing directory only with ``overwrite``."""
        with _errors():
            self._core.save(os.fspath(path), overwrite)

    def lance_kwargs(self) -> dict:
        """The keyword arguments of Lance's ``LanceDataset.create_index`` for this model:
        ``ds.create_index("vector", **model.lance_kwargs())``."""
        kw = {"index_type": self.index_type.upper(), "metric": self.distance_type,
              "num_partitions": self.num_partitions, "ivf_centroids": self.ivf_centroids}
        if self.pq_codebook is not None:
            kw.update(num_sub_vectors=self.pq_codebook.shape[0],
                      num_bits=int(self.info["num_bits"]), pq_codebook=self.pq_codebook)
        elif self.index_type == "ivf_sq":
            kw["num_bits"] = int(self.info["num_bits"])
        return kw

    def faiss_bytes(self) -> bytes:
        """The FAISS index file ``ivftrain export MODEL --faiss OUT`` writes, as bytes (a
        trained, empty IndexIVFFlat, IndexIVFPQ or IndexIVFScalarQuantizer; see to_faiss)."""
        with _errors():
            return self._core.faiss_bytes()

    def to_faiss(self):
        """A trained, empty FAISS index for this model: exactly the index ``ivftrain export
        --faiss`` writes, read by FAISS (``faiss.serialize_index`` gives that file's bytes back).
        IndexIVFFlat, IndexIVFPQ (by residual but under dot) or IndexIVFScalarQuantizer (the
        bounds shifted so that FAISS's codes are ours); the coarse quantizer is IndexFlatL2, or
        IndexFlatIP under dot. Under cosine the index is l2 over normalised vectors: normalise
        what you add and search. Raises ImportError without the faiss package, and
        InvalidArgumentError for a model FAISS cannot hold."""
        import faiss  # noqa: PLC0415 - optional dependency
        return faiss.deserialize_index(np.frombuffer(self.faiss_bytes(), dtype=np.uint8))

    def evaluate(self, base, queries=None, *, num_queries: Optional[int] = None,
                 k: Union[int, Sequence[int]] = 10,
                 nprobe: Union[None, int, Sequence[int]] = None, fragments: Fragments = None,
                 seed: int = 42, threads: int = 0,
                 rows_per_fragment: int = DEFAULTS["rows_per_fragment"],
                 hdf5_dataset: str = DEFAULTS["hdf5_dataset"]) -> dict:
        """What the model is worth as an index: ``ivftrain eval``. Builds the index the model
        describes over ``base`` (a 2-D array, or a dataset path as ``ivftrain eval`` takes) in
        memory, searches the queries and returns the report as ``ivftrain eval --json`` prints
        it (a dict: "probes" holds, per nprobe, "recall" by k as a string, "vectors_scanned"
        and "queries_per_second"; "partitions", "quantization", ...; README.md has the schema).

        ``queries``: a 2-D array or a vector file ("file.hdf5:test"); or ``num_queries`` rows
        of the base drawn by ``seed`` and left out of it. Ground truth is exact. ``k``: one k or
        a list (recall@k for each); ``nprobe``: one, a list, or None (1, 2, 4, ... up to
        min(128, num_partitions)). ``fragments`` selects base fragments."""
        ks = [int(k)] if isinstance(k, (int, np.integer)) else [int(v) for v in k]
        nprobes = ([] if nprobe is None else [int(nprobe)]
                   if isinstance(nprobe, (int, np.integer)) else [int(v) for v in nprobe])
        if not isinstance(base, (str, os.PathLike)):
            base = np.asarray(base)
            if base.ndim == 2 and not (base.flags.c_contiguous and base.dtype.isnative):
                base = np.ascontiguousarray(base, dtype=base.dtype.newbyteorder("="))
        else:
            base = os.fspath(base)
        if queries is not None and not isinstance(queries, (str, os.PathLike)):
            queries = np.asarray(queries)
            if queries.ndim != 2:
                raise InvalidArgumentError(
                    f"queries must be a 2-D array (rows, dim), got {queries.ndim} dimension(s)")
            queries = np.ascontiguousarray(queries, dtype=np.float32)
        elif queries is not None:
            queries = os.fspath(queries)
        if fragments is not None and not isinstance(fragments, str):
            fragments = [int(f) for f in fragments]
        kw = dict(fragments=fragments, seed=seed, threads=threads,
                  rows_per_fragment=rows_per_fragment, hdf5_dataset=hdf5_dataset)
        _sync_log_level()
        with _errors(("k", "nprobe", "fragments", "num-queries", "queries")):
            return _json.loads(_core.evaluate(self._core, base, queries, int(num_queries or 0),
                                              ks, nprobes, kw))

    def __repr__(self) -> str:
        return (f"<ivftrain.Model {self.index_type} {self.distance_type} dim={self.dim} "
                f"num_partitions={self.num_partitions}>")


def load(path: Union[str, os.PathLike]) -> Model:
    """Reads a model directory written by ``Model.save`` or ``ivftrain train``."""
    path = os.fspath(path)
    with _errors():
        model = Model(_core.load(path))
    # model.json as written: the library does not read every statistic back (the PQ
    # sub-spaces' objectives and iteration counts), and ``info`` should show them.
    with open(os.path.join(path, "model.json"), encoding="utf-8") as f:
        model.info = _json.load(f)
    return model


# ---- Training ------------------------------------------------------------------------------------

def _params(num_partitions, index_type, num_sub_vectors, num_bits, distance_type, max_iters,
            tolerance, sample_rate, init, kmeans, balance, relocate, sq_bounds, seed, threads,
            rows_per_fragment, hdf5_dataset, fragments) -> dict:
    if fragments is not None and not isinstance(fragments, str):
        fragments = [int(f) for f in fragments]
    return dict(num_partitions=num_partitions, index_type=index_type,
                num_sub_vectors=num_sub_vectors, num_bits=num_bits, distance_type=distance_type,
                max_iters=max_iters, tolerance=tolerance, sample_rate=sample_rate, init=init,
                kmeans=kmeans, balance=balance, relocate=relocate, sq_bounds=sq_bounds, seed=seed,
                threads=threads,
                rows_per_fragment=rows_per_fragment, hdf5_dataset=hdf5_dataset,
                fragments=fragments)


_D = DEFAULTS


def train(x: np.ndarray, *, num_partitions: int, index_type: str = _D["index_type"],
          num_sub_vectors: int = _D["num_sub_vectors"], num_bits: int = _D["num_bits"],
          distance_type: str = _D["distance_type"], max_iters: int = _D["max_iters"],
          tolerance: float = _D["tolerance"], sample_rate: int = _D["sample_rate"],
          init: str = _D["init"], kmeans: str = _D["kmeans"], balance: float = _D["balance"],
          relocate: bool = _D["relocate"], sq_bounds: str = _D["sq_bounds"],
          seed: int = _D["seed"], threads: int = _D["threads"],
          rows_per_fragment: int = _D["rows_per_fragment"], fragments: Fragments = None,
          progress: Optional[ProgressCallback] = None) -> Model:
    """Trains a model on the rows of a 2-D array (float32, float16, float64, uint8 or int8).

    The array is read in place when C-contiguous (otherwise a contiguous copy is made) and
    treated as a .npy file of it would be by ``ivftrain train``: split into fragments of
    ``rows_per_fragment`` rows and sampled from them, so that the same flags give the same
    model, byte for byte. Rows holding NaN or Inf are dropped. Parameters: see the module's
    help and ``ivftrain train --help``. ``progress(phase, iteration, objective)`` is called
    after each k-means iteration (phase "ivf", "pq[3]", ...); an exception it raises stops the
    training and is raised here.
    """
    if not isinstance(x, np.ndarray):
        x = np.asarray(x)
    if x.ndim == 2 and not (x.flags.c_contiguous and x.dtype.isnative):
        x = np.ascontiguousarray(x, dtype=x.dtype.newbyteorder("="))
    kw = _params(num_partitions, index_type, num_sub_vectors, num_bits, distance_type,
                 max_iters, tolerance, sample_rate, init, kmeans, balance, relocate, sq_bounds,
                 seed, threads, rows_per_fragment, "train", fragments)
    _sync_log_level()
    with _errors():
        return Model(_core.train_array(x, kw, progress))


def train_dataset(path: Union[str, os.PathLike], *, num_partitions: int,
                  index_type: str = _D["index_type"],
                  num_sub_vectors: int = _D["num_sub_vectors"], num_bits: int = _D["num_bits"],
                  distance_type: str = _D["distance_type"], max_iters: int = _D["max_iters"],
                  tolerance: float = _D["tolerance"], sample_rate: int = _D["sample_rate"],
                  init: str = _D["init"], kmeans: str = _D["kmeans"],
                  balance: float = _D["balance"], relocate: bool = _D["relocate"],
                  sq_bounds: str = _D["sq_bounds"],
                  seed: int = _D["seed"], threads: int = _D["threads"],
                  rows_per_fragment: int = _D["rows_per_fragment"],
                  hdf5_dataset: str = _D["hdf5_dataset"], fragments: Fragments = None,
                  progress: Optional[ProgressCallback] = None) -> Model:
    """Trains a model on a dataset: a vector file, a directory of them or a manifest (.json),
    as ``ivftrain train DATASET`` does. ``fragments`` selects fragment ids ("0,3,7-9" or a
    list)."""
    kw = _params(num_partitions, index_type, num_sub_vectors, num_bits, distance_type,
                 max_iters, tolerance, sample_rate, init, kmeans, balance, relocate, sq_bounds,
                 seed, threads, rows_per_fragment, hdf5_dataset, fragments)
    _sync_log_level()
    with _errors():
        return Model(_core.train_dataset(os.fspath(path), kw, progress))


# ---- The distributed phases ----------------------------------------------------------------------

@dataclass(frozen=True)
class SampleTask:
    """One worker's task of a plan: the task JSON of ``ivftrain plan`` (task-NNNN.json), which
    names the dataset, the fragments to sample and the parameters. Picklable."""

    json: str

    @property
    def worker(self) -> int:
        return int(_json.loads(self.json)["worker"])

    @property
    def num_workers(self) -> int:
        return int(_json.loads(self.json)["num_workers"])

    @property
    def fragment_ids(self) -> list:
        return [int(f["id"]) for f in _json.loads(self.json)["fragments"]]


def create_sample_tasks(path: Union[str, os.PathLike], num_workers: int, *,
                        num_partitions: int, index_type: str = _D["index_type"],
                        num_sub_vectors: int = _D["num_sub_vectors"],
                        num_bits: int = _D["num_bits"],
                        distance_type: str = _D["distance_type"],
                        max_iters: int = _D["max_iters"], tolerance: float = _D["tolerance"],
                        sample_rate: int = _D["sample_rate"], init: str = _D["init"],
                        kmeans: str = _D["kmeans"], balance: float = _D["balance"],
                        relocate: bool = _D["relocate"], sq_bounds: str = _D["sq_bounds"],
                        seed: int = _D["seed"],
                        threads: int = _D["threads"],
                        rows_per_fragment: int = _D["rows_per_fragment"],
                        hdf5_dataset: str = _D["hdf5_dataset"], fragments: Fragments = None,
                        assign: str = "balanced") -> list:
    """Phase 1: plans which worker samples which fragments of the dataset at ``path``.
    Returns ``num_workers`` SampleTask values (as ``ivftrain plan`` writes task files)."""
    kw = _params(num_partitions, index_type, num_sub_vectors, num_bits, distance_type,
                 max_iters, tolerance, sample_rate, init, kmeans, balance, relocate, sq_bounds,
                 seed, threads, rows_per_fragment, hdf5_dataset, fragments)
    with _errors():
        path = os.path.abspath(os.fspath(path))
        return [SampleTask(t) for t in _core.create_sample_tasks(path, kw, num_workers, assign)]


def _task_json(task: Union[SampleTask, str]) -> str:
    return task.json if isinstance(task, SampleTask) else str(task)


def execute_sample_task(path: Optional[Union[str, os.PathLike]],
                        task: Union[SampleTask, str]) -> bytes:
    """Phase 2: samples the task's fragments; returns the sample result as bytes, in the format
    of ``ivftrain sample``'s result files (checksummed). ``path`` is the dataset (None: the path
    the task names, as planned)."""
    _sync_log_level()
    with _errors():
        return _core.execute_sample_task(None if path is None else os.fspath(path),
                                         _task_json(task), None)


def train_from_samples(results: Sequence[bytes], task: Union[SampleTask, str], *,
                       threads: Optional[int] = None,
                       progress: Optional[ProgressCallback] = None) -> Model:
    """Phase 3: trains on every worker's sample result (any order). ``task`` is any task of the
    plan (it carries the parameters). The model equals ``train_dataset``'s, byte for byte."""
    _sync_log_level()
    with _errors():
        # bytes as they are (a sample may be large); other buffers are copied once.
        results = [r if isinstance(r, bytes) else bytes(r) for r in results]
        return Model(_core.train_from_samples(results, _task_json(task), threads, progress))


# ---- Sharded training in rounds ------------------------------------------------------------------

@dataclass(frozen=True)
class RoundState:
    """The state of a sharded k-means run between rounds (picklable): ``data`` is the bytes of
    the round file ``ivftrain advance`` writes (PLAN/round-NNNN/centroids); ``round`` the round
    whose partials it needs; ``finished`` when the IVF k-means is final (then finish_rounds)."""

    data: bytes
    round: int
    finished: bool = False


@dataclass(frozen=True)
class RoundPartial:
    """One worker's statistics of a round (picklable): ``data`` is the bytes of the round file
    ``ivftrain round`` writes (PLAN/round-NNNN/partial-WWWW); ``bounds``, when the assignment
    keeps bounds (flat l2 or cosine k-means with many centroids, as local training) or in the
    rounds of k-means|| initialisation (each row's distance to its nearest candidate), the
    worker's own state that its next round continues from (give this partial back as
    ``previous``), else None."""

    data: bytes
    worker: int
    bounds: Optional[bytes] = None


def _results(results: Sequence[bytes]) -> list:
    return [r if isinstance(r, bytes) else bytes(r) for r in results]


def begin_rounds(results: Sequence[bytes], task: Union[SampleTask, str]) -> Optional[RoundState]:
    """Sharded training, step 1 (``ivftrain advance``'s first call): the round-0 state, from the
    sample results of every worker (any order; of them only the headers and the k rows random
    initialisation takes are used). ``task`` is any task of the plan.

    Returns None when these calls cannot train the parameters in rounds (k-means++, balance, as
    many partitions as rows, duplicate first rows; hierarchical k-means, whose rounds read the rows
    of each worker's groups from every worker's result and so are driven by ``ivftrain round`` and
    ``ivftrain advance`` over a plan directory only): train with ``train_from_samples`` instead,
    as ``advance`` does for the others; the reason is logged."""
    with _errors():
        data, why = _core.rounds_begin(_results(results), _task_json(task))
    if data is None:
        _logger.info("begin_rounds: %s: train with train_from_samples (gathering)", why)
        return None
    return RoundState(data, 0)


def compute_round_partial(shard: bytes, state: RoundState, task: Union[SampleTask, str],
                          previous: Optional[RoundPartial] = None, *,
                          threads: Optional[int] = None) -> RoundPartial:
    """Sharded training, step 2 (``ivftrain round``), run where the worker's shard is: the
    worker's partial of ``state``'s round, from its sample result ``shard`` (bytes of
    execute_sample_task). ``previous``: this worker's partial of the previous round (None in
    rounds 0 and 1), needed when the partials carry bounds (k-means|| rounds without it measure
    the worker's rows against every earlier candidate again). Releases the GIL (a thread pool
    runs workers in parallel), but is not interrupted by Ctrl-C until it returns."""
    if not isinstance(state, RoundState):
        raise InvalidArgumentError("state must be a RoundState (of begin_rounds or merge_round)")
    if state.finished:
        raise InvalidArgumentError("state is finished: call finish_rounds, not another round")
    prev = None if previous is None else previous.bounds
    with _errors():
        data, bounds, worker = _core.rounds_partial(
            shard if isinstance(shard, bytes) else bytes(shard), state.data, _task_json(task),
            prev, threads)
    return RoundPartial(data, worker, bounds)


def merge_round(state: RoundState, partials: Sequence[Union[RoundPartial, bytes]],
                task: Union[SampleTask, str], *, threads: Optional[int] = None,
                results: Optional[Sequence[bytes]] = None) -> Optional[RoundState]:
    """Sharded training, step 3 (``ivftrain advance``): merges the round's partials (one per
    worker, any order) into the next round's state, or a finished state once the k-means has
    converged. Refuses a partial of another plan, round or centroids, or a worker missing or
    given twice, naming the worker. Returns None when round 0 finds values too large for
    float32: train with ``train_from_samples``, which refuses them with its sentence.

    ``results``: the sample results (as begin_rounds takes them), needed only by the rounds of
    k-means|| initialisation (``init="kmeans-parallel"``), whose merges read the few rows they
    draw (about 2 x num_partitions a round) from them, and by the split rounds (an update that
    leaves clusters empty is followed by a round finding the rows they split towards), whose
    merges read one row per cluster split; other rounds ignore them. Pass them always."""
    if not isinstance(state, RoundState) or state.finished:
        raise InvalidArgumentError("state must be an unfinished RoundState")
    data = [p.data if isinstance(p, RoundPartial) else bytes(p) for p in partials]
    with _errors():
        what, value, round_ = _core.rounds_merge(
            state.data, data, _task_json(task), threads,
            None if results is None else _results(results))
    if what == "gather":
        _logger.info("merge_round: %s: train with train_from_samples (gathering)", value)
        return None
    return RoundState(value, round_, what == "finished")


def finish_rounds(results: Sequence[bytes], state: RoundState, task: Union[SampleTask, str], *,
                  threads: Optional[int] = None,
                  progress: Optional[ProgressCallback] = None) -> Model:
    """Sharded training, last step (``ivftrain advance``'s last call): the model, from the
    finished state, PQ trained on its rows of the sample results (only those rows are read) or
    the SQ bounds merged from their headers. The model equals ``train_from_samples``' and
    ``train_dataset``'s, byte for byte (model.json apart from its timings)."""
    if not isinstance(state, RoundState) or not state.finished:
        raise InvalidArgumentError("state must be a finished RoundState (merge_round's last)")
    _sync_log_level()
    with _errors():
        return Model(_core.rounds_finish(_results(results), state.data, _task_json(task),
                                         threads, progress))
