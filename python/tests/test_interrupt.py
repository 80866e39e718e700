"""Ctrl-C during a long training run: KeyboardInterrupt within a second, nothing written."""
import os
import signal
import threading
import time

import numpy as np
import pytest

import ivftrain
from conftest import clustered


def interrupt_after(seconds, sent):
    def fire():
        sent.append(time.monotonic())
        os.kill(os.getpid(), signal.SIGINT)

    t = threading.Timer(seconds, fire)
    t.start()
    return t


@pytest.mark.parametrize("index_type", ["ivf_flat", "ivf_pq"])
def test_keyboard_interrupt_stops_a_long_run_within_a_second(index_type):
    x = clustered(20000, 32, centers=200)
    sent = []
    timer = interrupt_after(0.5, sent)
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        # tolerance 0: every one of the many iterations runs, far longer than 0.5 s.
        ivftrain.train(x, index_type=index_type, num_partitions=256, num_sub_vectors=8,
                       max_iters=1_000_000, tolerance=0, threads=1)
    ended = time.monotonic()
    timer.join()
    assert sent, "the run ended before the signal"
    assert ended - sent[0] < 1.0, f"{ended - sent[0]:.2f} s from the signal to the exception"
    assert ended - start >= 0.5
    # The next call is not cancelled.
    m = ivftrain.train(x[:3000], index_type="ivf_flat", num_partitions=8, max_iters=2)
    assert m.stats["ivf_iterations"] == 2


def test_interrupted_dataset_training_writes_nothing(tmp_path):
    x = clustered(20000, 32, centers=200)
    np.save(tmp_path / "x.npy", x)
    before = sorted(os.listdir(tmp_path))
    sent = []
    timer = interrupt_after(0.5, sent)
    with pytest.raises(KeyboardInterrupt):
        ivftrain.train_dataset(tmp_path / "x.npy", index_type="ivf_flat", num_partitions=256,
                               max_iters=1_000_000, tolerance=0, threads=1)
    timer.join()
    assert sorted(os.listdir(tmp_path)) == before
