"""The thread rule (issue 12): main process = usable cores minus workers, each worker 1 thread."""

from __future__ import annotations

import os
import warnings

import pytest
import torch

from metaframe import threads
from metaframe.threads import apply_threads, plan_threads, usable_cores, worker_init


@pytest.fixture
def cores(monkeypatch: pytest.MonkeyPatch):
    """Pretend the process may use N cores, with no OMP_NUM_THREADS exported."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)

    def set_cores(n: int) -> None:
        monkeypatch.setattr(threads, "usable_cores", lambda: n)

    return set_cores


@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize(
    ("n_cores", "workers", "main"),
    [(8, 0, 8), (8, 2, 6), (8, 7, 1), (2, 4, 1), (1, 0, 1)],
)
def test_auto_gives_the_main_process_the_cores_the_workers_leave(cores, n_cores, workers, main):
    cores(n_cores)
    plan = plan_threads(workers)
    assert (plan.main, plan.worker, plan.reason) == (main, 1, "auto")


def test_auto_shares_the_cores_among_local_processes(cores):
    cores(16)
    assert plan_threads(2, "auto", processes=4).main == 2


def test_an_explicit_count_wins_over_omp_num_threads_and_the_rule(cores, monkeypatch):
    cores(8)
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    main, worker, reason = plan_threads(6, 5)
    assert (main, worker, reason) == (5, 1, "config threads")


def test_omp_num_threads_wins_over_auto(cores, monkeypatch):
    cores(8)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert plan_threads(2) == (3, 1, "OMP_NUM_THREADS")


@pytest.mark.parametrize("junk", ["", "0", "many"])
def test_an_unusable_omp_num_threads_falls_back_to_the_rule(cores, monkeypatch, junk):
    cores(8)
    monkeypatch.setenv("OMP_NUM_THREADS", junk)
    assert plan_threads(2).main == 6


@pytest.mark.parametrize("bad", [0, -1, True, "4"])
def test_a_bad_request_names_the_field(bad):
    with pytest.raises(ValueError, match="threads: expected a positive int or 'auto'"):
        plan_threads(0, bad)


def test_usable_cores_follows_the_affinity_mask(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 3, 5}, raising=False)
    assert usable_cores() == 3
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 7)
    assert usable_cores() == 7


def test_apply_threads_sets_the_main_process_count(cores, restore_threads, monkeypatch):
    cores(4)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    torch.set_num_threads(2)
    assert apply_threads(1).main == torch.get_num_threads() == 1  # 4 cores / 2 processes - 1 worker
    assert apply_threads(0, 3).main == torch.get_num_threads() == 3


class _ThreadCount(torch.utils.data.Dataset):
    def __len__(self) -> int:
        return 2

    def __getitem__(self, i: int) -> int:
        return torch.get_num_threads()


def test_a_dataloader_worker_runs_one_thread(restore_threads):
    torch.set_num_threads(3)  # workers would inherit this without worker_init
    loader = torch.utils.data.DataLoader(_ThreadCount(), batch_size=None, num_workers=1, worker_init_fn=worker_init)
    assert list(loader) == [1, 1]
    assert torch.get_num_threads() == 3


def test_the_engine_loader_starts_workers_with_one_thread(restore_threads):
    from metaframe.engine.loader import EpochBatchSampler, make_loader

    torch.set_num_threads(3)
    sampler = EpochBatchSampler(2, 1, seed=0, shuffle=False)
    loader = make_loader(_ThreadCount(), lambda batch: batch, sampler, num_workers=1, pin=False)  # type: ignore[arg-type]
    assert loader.worker_init_fn is worker_init
    assert [b for b in loader] == [[1], [1]]


class _BlasThreads(torch.utils.data.Dataset):
    def __len__(self) -> int:
        return 1

    def __getitem__(self, i: int) -> list[int]:
        from threadpoolctl import threadpool_info

        return [p["num_threads"] for p in threadpool_info()]


def test_a_worker_caps_numpy_thread_pools_too():
    pytest.importorskip("threadpoolctl")
    import numpy as np

    np.ones(2) @ np.ones(2)  # load numpy's BLAS in the parent, as a reader would
    loader = torch.utils.data.DataLoader(_BlasThreads(), batch_size=None, num_workers=1, worker_init_fn=worker_init)
    (pools,) = list(loader)
    assert pools and set(pools) == {1}


@pytest.mark.parametrize("bad", [0, "x"])
def test_a_bad_threads_field_is_a_config_error_naming_it(bad):
    from metaframe_registry import ConfigError

    from metaframe.engine.config import parse_config

    with pytest.raises(ConfigError, match=r"c\.yaml: threads: .* must be a positive int or 'auto'"):
        parse_config({"modality": "image", "data": {"train": "x"}, "threads": bad}, "c.yaml")


@pytest.mark.parametrize(("load", "warns"), [(0.5, False), (2.0, False), (5.3, True)])
def test_a_busy_machine_is_named_with_the_fix_but_auto_keeps_its_count(cores, monkeypatch, restore_threads, load, warns):
    cores(2)
    monkeypatch.delenv(threads.QUIET_BUSY_ENV, raising=False)
    monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plan = apply_threads(0)
    assert plan.main == 2 and torch.get_num_threads() == 2  # reproducible: the load never changes the count
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    if warns:
        assert len(messages) == 1 and "load 5.3 on 2 usable cores" in messages[0] and "threads: 1" in messages[0]
    else:
        assert messages == []


def test_the_busy_warning_stays_quiet_when_threads_were_chosen(cores, monkeypatch, restore_threads):
    cores(2)
    monkeypatch.delenv(threads.QUIET_BUSY_ENV, raising=False)
    monkeypatch.setattr(os, "getloadavg", lambda: (9.0, 9.0, 9.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        apply_threads(0, requested=2)
        monkeypatch.setenv("OMP_NUM_THREADS", "2")
        apply_threads(0)
