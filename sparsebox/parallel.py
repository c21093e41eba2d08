"""Executors: run independent tasks side by side, and stream what they produce back as it comes.

A task function is a module-level ``fn(task, emit)``: it may call ``emit(record)`` any number of
times (a record reaches the caller's ``on_record`` while the task still runs) and its return value
is the task's result. The same function runs inline, in local processes, or (by the executor the
scale-out issue adds) on a cluster.

Examples
--------
>>> from sparsebox.parallel import LocalExecutor
>>> LocalExecutor(jobs=1).run(_square_and_report, [2, 3])
[4, 9]
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sparsebox._validation import check_int

__all__ = ["Executor", "LocalExecutor", "TaskError"]

TaskFn = Callable[[Any, Callable[[Any], None]], Any]


class TaskError(RuntimeError):
    """A task failed; ``task`` is the one that did, and the worker's error is the cause."""

    def __init__(self, task: Any, message: str) -> None:
        super().__init__(f"task {task!r} failed: {message}")
        self.task = task


class Executor:
    """Runs ``fn(task, emit)`` for every task; results come back in task order."""

    def run(self, fn: TaskFn, tasks: Iterable[Any], *,
            on_record: Callable[[Any], None] | None = None) -> list[Any]:  # pragma: no cover
        raise NotImplementedError


def _square_and_report(task: int, emit: Callable[[Any], None]) -> int:
    """An example task (used by the doctest above and the tests)."""
    emit({"task": task})
    return task * task


def pin_threads(threads: int) -> None:
    """Give this process ``threads`` CPU threads in every pool it may start (OpenMP, BLAS,
    numba, torch): set before those libraries load, applied to torch if it already has."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                "NUMBA_NUM_THREADS"):
        os.environ[var] = str(threads)
    import sys

    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


_emit_queue: Any = None  # a worker process's queue back to the parent


def _init_worker(queue: Any, threads: int) -> None:
    global _emit_queue
    _emit_queue = queue
    pin_threads(threads)


def _run_in_worker(fn: TaskFn, index: int, task: Any) -> tuple[int, int, Any]:
    sent = 0

    def emit(record: Any) -> None:
        nonlocal sent
        _emit_queue.put((index, record))
        sent += 1

    result = fn(task, emit)
    return index, sent, result


class LocalExecutor(Executor):
    """Tasks side by side in ``jobs`` processes on this machine (``jobs=1``: in this process).

    Each worker gets an equal share of the CPU threads (``threads``, by default the machine's
    CPUs divided by ``jobs``), set before it imports torch or numba, so that ``jobs`` workers do
    not oversubscribe the cores. Workers are spawned, not forked: no OpenMP or CUDA state is
    inherited. A worker's error is raised here as a :class:`TaskError` naming the task, after the
    records it emitted before failing have been passed on.

    Parameters
    ----------
    jobs : int
        Processes side by side (>= 1).
    threads : int, optional
        CPU threads per worker.
    """

    def __init__(self, jobs: int = 1, *, threads: int | None = None) -> None:
        self.jobs = check_int("jobs", jobs, minimum=1)
        self.threads = threads

    def run(self, fn: TaskFn, tasks: Iterable[Any], *,
            on_record: Callable[[Any], None] | None = None) -> list[Any]:
        tasks = list(tasks)
        emit = on_record or (lambda record: None)
        if self.jobs == 1 or len(tasks) <= 1:
            return [fn(task, emit) for task in tasks]
        return self._run_processes(fn, tasks, emit)

    def _run_processes(self, fn: TaskFn, tasks: Sequence[Any],
                       emit: Callable[[Any], None]) -> list[Any]:
        import multiprocessing as mp
        import queue as queue_module
        from concurrent.futures import ProcessPoolExecutor

        ctx = mp.get_context("spawn")
        records = ctx.Queue()
        jobs = min(self.jobs, len(tasks))
        threads = self.threads or max(1, (os.cpu_count() or 1) // jobs)
        results: dict[int, Any] = {}
        received = [0] * len(tasks)
        sent: dict[int, int] = {}  # records each finished task emitted

        def receive(timeout: float) -> bool:
            try:
                index, record = records.get(timeout=timeout)
            except queue_module.Empty:
                return False
            received[index] += 1
            emit(record)
            return True

        with ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_init_worker,
                                 initargs=(records, threads)) as pool:
            futures = {pool.submit(_run_in_worker, fn, i, t): i for i, t in enumerate(tasks)}
            pending = set(futures)
            while pending:
                if receive(0.2):
                    continue
                for future in [f for f in pending if f.done()]:
                    pending.discard(future)
                    error = future.exception()
                    if error is not None:
                        while receive(0.2):  # what the task emitted before it failed
                            pass
                        raise TaskError(tasks[futures[future]], str(error)) from error
                    index, count, result = future.result()
                    results[index], sent[index] = result, count
            # every record a task emitted was put before it returned: wait for the stragglers
            while any(received[i] < sent[i] for i in sent):
                receive(1.0)
        return [results[i] for i in range(len(tasks))]
