"""The worker pool: results, failures, time limits, dead workers and recycling, each alone."""

from __future__ import annotations

import os
import signal
import tempfile
from pathlib import Path

import pytest

from hmicfrs_letters.pool import TaskFailed, WorkerPool


# Task functions live at module level: the fork server's workers import them by name.
def square(n: int) -> int:
    return n * n


def whose(n: int) -> int:
    return os.getpid()


def fragile(n: int) -> int:
    if n == 3:
        raise ValueError("three is not allowed")
    return n


def spin(n: int) -> int:
    while n == 2:
        pass
    return n


def die(args: tuple[int, str]) -> int:
    n, how = args
    if n == 1:
        if how == "exit":
            os._exit(3)
        os.kill(os.getpid(), signal.SIGKILL)
    return n


def die_once(args: tuple[int, str]) -> int:
    """Dies the first time it meets 1 (leaving a mark), succeeds when tried again."""
    n, mark = args
    if n == 1 and not os.path.exists(mark):
        Path(mark).touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return n


def leave_temp(n: int) -> str:
    return tempfile.mkdtemp(prefix="left-behind-")


def killed_at_start_once(mark: str) -> None:
    """An initializer whose first worker is killed (SIGKILL) as it starts, before it is ready."""
    try:
        fd = os.open(mark, os.O_CREAT | os.O_EXCL)
    except FileExistsError:
        return
    os.close(fd)
    os.kill(os.getpid(), signal.SIGKILL)


def broken_init() -> None:
    raise RuntimeError("no fonts here")


def run(pool: WorkerPool, payloads) -> dict:
    with pool:
        return dict(pool.run((p, p) for p in payloads))


@pytest.fixture
def pool():
    """Makes a pool (a fixture, so that every test reads alike)."""
    return WorkerPool


def test_every_task_gives_its_result(pool):
    assert run(pool(square, jobs=2), range(20)) == {n: n * n for n in range(20)}


def test_a_task_that_raises_fails_alone(pool):
    results = run(pool(fragile, jobs=2), range(6))
    assert results[3] == TaskFailed("ValueError: three is not allowed")
    assert [results[n] for n in (0, 1, 2, 4, 5)] == [0, 1, 2, 4, 5]


def test_a_task_over_the_time_limit_fails_alone_and_its_worker_is_replaced(pool):
    with pool(spin, jobs=1, timeout=1.5) as running:
        results = dict(running.run((n, n) for n in range(5)))
        assert running.started == 2  # the spinning worker was killed and a new one did the rest
    assert results[2] == TaskFailed("stopped after the time limit of 1.5 s; the worker was replaced")
    assert [results[n] for n in (0, 1, 3, 4)] == [0, 1, 3, 4]


@pytest.mark.parametrize("how", ["exit", "kill"])
def test_a_task_whose_worker_dies_is_tried_once_more_then_fails(pool, how):
    with pool(die, jobs=2) as running:
        results = dict(running.run((n, (n, how)) for n in range(6)))
    message = results.pop(1).message
    assert message.startswith("the worker process died while rendering it (")
    assert ("killed by SIGKILL" if how == "kill" else "exit status 3") in message
    assert message.endswith(", 2 times")
    assert results == {n: n for n in (0, 2, 3, 4, 5)}


def test_a_task_whose_worker_died_once_succeeds_when_tried_again(pool, tmp_path):
    mark = str(tmp_path / "died")
    with pool(die_once, jobs=2) as running:
        results = dict(running.run((n, (n, mark)) for n in range(4)))
    assert results == {0: 0, 1: 1, 2: 2, 3: 3}
    assert Path(mark).exists()


def test_workers_are_replaced_after_their_share_of_tasks(pool):
    results = run(pool(whose, jobs=2, tasks_per_worker=3), range(12))
    pids = list(results.values())
    assert len(set(pids)) >= 4
    assert max(pids.count(pid) for pid in pids) <= 3


def test_a_failing_initializer_fails_every_task_with_its_reason(pool):
    results = run(pool(square, jobs=2, initializer=broken_init), range(4))
    assert set(results) == {0, 1, 2, 3}
    assert all(r == TaskFailed("a worker process could not start: RuntimeError: no fonts here") for r in results.values())


def test_what_workers_leave_in_their_temporary_folder_is_removed(pool):
    made = pool(leave_temp, jobs=2)
    left = run(made, range(3))
    assert all(Path(path).parent == Path(made.scratch) for path in left.values())
    assert not Path(made.scratch).exists()


def test_no_worker_outlives_the_pool(pool):
    with pool(whose, jobs=2) as running:
        pids = set(dict(running.run((n, n) for n in range(4))).values())
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_workers_stay_up_between_runs_until_the_pool_closes(pool):
    """The preview asks one pool for one PDF at a time: its worker is started once, not once a request."""
    with pool(whose, jobs=1) as running:
        first = dict(running.run([(0, 0)]))[0]
        second = dict(running.run([(1, 1)]))[1]
        assert first == second and running.started == 1


def test_a_worker_killed_as_it_starts_is_replaced_and_every_task_gives_its_result(pool, tmp_path):
    with pool(square, jobs=1, initializer=killed_at_start_once, initargs=(str(tmp_path / "killed"),)) as running:
        results = dict(running.run((n, n) for n in range(4)))
        assert results == {n: n * n for n in range(4)}
        assert running.started == 2


def test_a_fork_server_that_cannot_fork_is_a_failure_to_start_not_an_exception(pool, monkeypatch):
    import multiprocessing.forkserver

    def refused(*args, **kwargs):
        raise ConnectionRefusedError(111, "Connection refused")  # the fork server killed as a worker starts

    monkeypatch.setattr(multiprocessing.forkserver, "connect_to_new_process", refused)
    with pool(square, jobs=2) as running:
        results = dict(running.run((n, n) for n in range(3)))
    assert all(isinstance(r, TaskFailed) and "the fork server could not start one" in r.message for r in results.values())
