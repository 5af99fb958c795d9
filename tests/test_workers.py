"""The worker pool: results, failures, time limits, dead workers and recycling, each alone;
each with workers forked from this process and with workers forked from a template."""

from __future__ import annotations

import os
import signal
import tempfile
import time
from pathlib import Path

import pytest

from hmicfrs_letters import workers
from hmicfrs_letters.workers import TaskFailed, Template, WorkerPool


# Task functions live at module level so that a fork server's workers can import them too.
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


def broken_init() -> None:
    raise RuntimeError("no fonts here")


def note_start(path: str) -> None:
    with open(path, "a") as notes:
        notes.write(f"{os.getpid()}\n")


def kill_template(args: tuple[int, str]) -> int:
    """Meeting 1 in a worker forked by the template (its pid in a file), kills the template, and so itself."""
    n, template = args
    if n == 1 and os.getppid() == int(Path(template).read_text()):
        os.kill(os.getppid(), signal.SIGKILL)
        time.sleep(30)
    return n


def run(pool: WorkerPool, payloads) -> dict:
    with pool:
        return dict(pool.run((p, p) for p in payloads))


@pytest.fixture(params=["fork", "template"])
def pool(request):
    """Makes a pool whose workers are forked from this process, or from a template."""

    def make(func, **options) -> WorkerPool:
        if request.param == "template":
            return WorkerPool(func, template=Template(), **options)
        return WorkerPool(func, start_method=request.param, **options)

    return make


def test_every_task_gives_its_result(pool):
    assert run(pool(square, jobs=2), range(20)) == {n: n * n for n in range(20)}


def test_a_fork_server_starts_workers_too():
    assert run(WorkerPool(square, jobs=2, start_method="forkserver"), range(20)) == {n: n * n for n in range(20)}


def test_a_task_that_raises_fails_alone(pool):
    results = run(pool(fragile, jobs=2), range(6))
    assert results[3] == TaskFailed("ValueError: three is not allowed")
    assert [results[n] for n in (0, 1, 2, 4, 5)] == [0, 1, 2, 4, 5]


def test_a_task_over_the_time_limit_fails_alone_and_its_worker_is_replaced(pool):
    started = time.monotonic()
    with pool(spin, jobs=1, timeout=1.5) as running:
        results = dict(running.run((n, n) for n in range(5)))
        assert running.started == 2  # the spinning worker was killed and a new one did the rest
    assert results[2] == TaskFailed("stopped after the time limit of 1.5 s; the worker was replaced")
    assert [results[n] for n in (0, 1, 3, 4)] == [0, 1, 3, 4]
    assert time.monotonic() - started < 30


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


def test_a_template_makes_the_slow_start_once_for_all_its_workers(tmp_path):
    notes = tmp_path / "started"
    template = Template(preload=["json"])
    with WorkerPool(whose, jobs=2, tasks_per_worker=2, initializer=note_start, initargs=(str(notes),), template=template) as pool:
        pids = set(dict(pool.run((n, n) for n in range(10))).values())
        assert pool.started >= 5  # each worker did its two tasks and was replaced
    assert len(pids) >= 5
    assert notes.read_text().split() == [str(template.process.pid)]  # the initializer ran once, in the template
    assert not template.process.is_alive()  # the pool closed it


def test_workers_are_started_from_this_process_when_their_template_dies(tmp_path):
    template, pid = Template(), tmp_path / "template"
    pid.write_text(str(template.process.pid))
    with WorkerPool(kill_template, jobs=1, template=template) as pool:
        results = dict(pool.run((n, (n, str(pid))) for n in range(6)))
        assert pool.template is None
    assert results == {n: n for n in range(6)}  # the killed task was tried again, in a worker of this process
    assert template.process.exitcode == -signal.SIGKILL


def test_a_template_started_early_is_taken_once_and_only_for_the_same_modules():
    workers.start_early_template(["json"])
    early = workers._early
    assert early is not None
    assert workers.take_early_template(["csv"]) is None  # not what it imported: closed, not used
    assert not early.process.is_alive()
    workers.start_early_template(["json"])
    early = workers.take_early_template(["json"])
    assert early is not None and early.process.is_alive()
    assert workers.take_early_template(["json"]) is None
    run(WorkerPool(square, jobs=1, template=early), range(2))
    assert not early.process.is_alive()
