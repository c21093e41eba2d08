"""Executors: run independent tasks side by side, and stream what they produce back as it comes.

A task function is a module-level ``fn(task, emit)`` (``fn(task, emit, shared)`` when the run
passes ``shared`` data): it may call ``emit(record)`` any number of times (a record reaches the
caller's ``on_record`` while the task still runs) and its return value is the task's result. The
same function runs inline, in local processes (:class:`LocalExecutor`) or on a Ray cluster
(:class:`RayExecutor`); results come back in task order.

A task that fails does not stop the others: when all have ended, one :class:`TaskError` names every
failed task (``failures``) and carries the results of the others (``results``, None where a task
failed). Records a task emitted before it failed have been passed on.

Examples
--------
>>> from sparsebox.parallel import LocalExecutor
>>> LocalExecutor(jobs=1).run(_square_and_report, [2, 3])
[4, 9]
"""

from __future__ import annotations

import ast
import functools
import logging
import os
import sys
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sparsebox._validation import check_int, check_real
from sparsebox.exceptions import InvalidParameterError
from sparsebox.progress import warning_line

__all__ = ["Executor", "LocalExecutor", "RayExecutor", "TaskError", "make_executor",
           "pin_threads"]

TaskFn = Callable[..., Any]
_NO_SHARED = object()


class TaskError(RuntimeError):
    """Tasks failed: ``failures`` lists ``(task, error message)`` for each, ``results`` holds
    every task's result (None for the failed ones), ``task`` is the first failed task."""

    def __init__(self, failures: Sequence[tuple[Any, str]], results: list[Any] | None = None
                 ) -> None:
        messages = {message for _, message in failures}
        if len(failures) > 1 and len(messages) == 1:  # one cause (dead workers, say): said once
            shown = (f"{len(failures)} tasks failed: {messages.pop()} (the first: task "
                     f"{_short(failures[0][0])})")
        else:
            shown = "; ".join(f"task {_short(task)} failed: {message}"
                              for task, message in failures)
            shown = shown if len(failures) == 1 else f"{len(failures)} tasks failed: {shown}"
        super().__init__(shown)
        self.failures = list(failures)
        self.results = results
        self.task = failures[0][0]

    def with_message(self, message: str) -> TaskError:
        """The same failures, told in the caller's words."""
        self.args = (message,)
        return self


def _short(task: Any) -> str:
    """A task's repr, cut short (a task of arrays printed thousands of numbers)."""
    import reprlib

    shorter = reprlib.Repr()
    shorter.maxstring = shorter.maxother = 80
    return shorter.repr(task)


class Executor:
    """Runs ``fn(task, emit)`` for every task; results come back in task order."""

    def run(self, fn: TaskFn, tasks: Iterable[Any], *,
            on_record: Callable[[Any], None] | None = None,
            shared: Any = _NO_SHARED) -> list[Any]:  # pragma: no cover
        raise NotImplementedError

    @property
    def workers(self) -> int:  # pragma: no cover
        """How many tasks run side by side."""
        raise NotImplementedError


def _square_and_report(task: int, emit: Callable[[Any], None]) -> int:
    """An example task (used by the doctest above and the tests)."""
    emit({"task": task})
    return task * task


def _call(fn: TaskFn, task: Any, emit: Callable[[Any], None], shared: Any) -> Any:
    return fn(task, emit) if shared is _NO_SHARED else fn(task, emit, shared)


@contextmanager
def _stopping(stop: Callable[[], Any]) -> Iterator[None]:
    """Call ``stop`` when the block ends in an error (Ctrl-C, an ``on_record`` that raised): the
    tasks of a run its caller gave up on must not go on (nor write their outputs)."""
    try:
        yield
    except BaseException:
        stop()
        raise


def _finish(results: list[Any], failures: list[tuple[int, Any, str]]) -> list[Any]:
    if failures:
        failures.sort(key=lambda f: f[0])
        raise TaskError([(task, message) for _, task, message in failures], results)
    return results


def pin_threads(threads: int) -> None:
    """Give this process ``threads`` CPU threads in every pool it may start (OpenMP, BLAS,
    numba, torch): set before those libraries load, applied to torch and numba if they already
    have.

    Examples
    --------
    >>> pin_threads(1); os.environ["OMP_NUM_THREADS"]
    '1'
    """
    threads = check_int("threads", threads, minimum=1)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
    if "numba" in sys.modules:
        # numba read NUMBA_NUM_THREADS when it loaded; changing it now would make every later
        # compilation in this process fail ("Cannot set NUMBA_NUM_THREADS ..."), so only the
        # number of threads in use changes
        numba = sys.modules["numba"]
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    else:
        os.environ["NUMBA_NUM_THREADS"] = str(threads)


# ---------------------------------------------------------------------- local processes
_emit_queue: Any = None  # a worker process's queue back to the parent
_shared_data: Any = _NO_SHARED  # the run's shared data, in a worker process
_started: Any = None  # per task, set (in shared memory) when a worker starts it
_stopped: Any = None  # set (in shared memory) when the run stops: no worker starts a task
_in_task = False  # whether this worker process runs a task now
#: the Ray connection a RayExecutor made in this process: the connection's identity (its GCS
#: address and session, which a later ``ray.init`` of the caller's does not share), and what the
#: executor asked for, (address or "local", num_cpus)
_ray_connection: tuple[tuple[str, str], tuple[str, int | None]] | None = None
_ORPHAN_SECONDS = 10.0  # how long a task whose parent died may take to stop before its worker ends


def _init_worker(queue: Any, started: Any, stopped: Any, threads: int, shared: tuple) -> None:
    """``shared``: ``()`` when the run has no shared data, else ``(data,)`` (the sentinel that
    marks "none" is not the same object once pickled into a worker)."""
    global _emit_queue, _shared_data, _started, _stopped
    _emit_queue, _started, _stopped = queue, started, stopped
    _shared_data = shared[0] if shared else _NO_SHARED
    pin_threads(threads)
    warnings.showwarning = warning_line  # a task's warnings as the command line shows its own
    _end_with_parent()


def _end_with_parent() -> None:
    """End this worker process when its parent dies (``kill -9``, ``terminate()`` from a
    pipeline): a task still running is interrupted as Ctrl-C would (the outputs it staged are
    removed, none is written), and no worker is left waiting for tasks for ever."""
    import multiprocessing
    import signal
    import threading
    import time

    parent = multiprocessing.parent_process()
    if parent is None:
        return
    orphaned = threading.Event()
    taken = threading.Event()  # the task's thread has taken the interrupt below
    # inherited SIG_IGN (a background job of a script): Ctrl-C stays ignored, but not the
    # interrupt below, or the task would go on
    ctrl_c_ignored = signal.getsignal(signal.SIGINT) is signal.SIG_IGN

    def interrupt(signum: int, frame: Any) -> None:
        if orphaned.is_set():
            if not taken.is_set():  # once: a second one would break off the task's cleanup
                taken.set()
                raise KeyboardInterrupt
        elif not ctrl_c_ignored:  # Ctrl-C: a task stops as under Python's own handler; a
            if _in_task:  # worker waiting for one (raised there, multiprocessing printed a
                raise KeyboardInterrupt  # traceback) starts none: the parent's shutdown ends it
            _stopped.value = 1

    signal.signal(signal.SIGINT, interrupt)
    main = threading.main_thread().ident

    def watch() -> None:
        parent.join()  # returns when the parent has ended
        orphaned.set()
        deadline = time.monotonic() + _ORPHAN_SECONDS
        while _in_task and time.monotonic() < deadline:
            # to the thread that runs the task, again until it takes it: one that arrives
            # as the task goes to sleep in C (time.sleep, a lock) is seen only when it wakes
            if not taken.is_set():
                signal.pthread_kill(main, signal.SIGINT)
            time.sleep(0.05)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _run_in_worker(fn: TaskFn, index: int, task: Any) -> tuple[int, int, Any]:
    global _in_task
    _in_task = True  # before the check: a Ctrl-C from here on stops the task (or, in the
    try:  # check, the run before it), where an idle worker's only marks the run stopped
        if _stopped.value:  # queued in the pool when the run stopped
            return index, 0, _Failed("not started: the run was stopped")
        from multiprocessing.reduction import ForkingPickler

        _started[index] = 1  # shared memory: the parent sees it even if this process dies next
        sent = 0

        def emit(record: Any) -> None:
            nonlocal sent
            # pickled here, so that a record that does not pickle fails its task: the queue's
            # own thread would drop it (printing a traceback), and the parent would wait for it
            # for ever
            _emit_queue.put((index, bytes(ForkingPickler.dumps(record))))
            sent += 1

        try:
            result = _call(fn, task, emit, _shared_data)
        except KeyboardInterrupt:  # Ctrl-C reaches the workers too, maybe before the parent
            _stopped.value = 1
            raise
        except Exception as err:  # the parent reports it with the task; the count of records
            return index, sent, _Failed(_error_text(err))  # sent so far goes along
        return index, sent, result
    finally:
        _in_task = False


class _Failed:
    def __init__(self, message: str) -> None:
        self.message = message


class LocalExecutor(Executor):
    """Tasks side by side in ``jobs`` processes on this machine (``jobs=1``: in this process).

    Each worker gets an equal share of the CPU threads (``threads``, by default the machine's
    CPUs divided by ``jobs``), set before it imports torch or numba, so that ``jobs`` workers do
    not oversubscribe the cores. Workers are spawned, not forked: no OpenMP or CUDA state is
    inherited. ``shared`` data goes to each worker once (not once per task). Spawned workers
    import the calling script, so a script that runs with ``jobs > 1`` keeps its work under
    ``if __name__ == "__main__":`` (else its workers die, as with :mod:`multiprocessing`), and
    ``fn`` must be importable (a module-level function, not a lambda; one defined in ``python -c``
    or a notebook is refused). A worker ends when this process dies, its task interrupted.

    Parameters
    ----------
    jobs : int
        Processes side by side (>= 1).
    threads : int, optional
        CPU threads per worker.
    """

    def __init__(self, jobs: int = 1, *, threads: int | None = None) -> None:
        self.jobs = check_int("jobs", jobs, minimum=1)
        self.threads = None if threads is None else check_int("threads", threads, minimum=1)

    @property
    def workers(self) -> int:
        return self.jobs

    def run(self, fn: TaskFn, tasks: Iterable[Any], *,
            on_record: Callable[[Any], None] | None = None,
            shared: Any = _NO_SHARED) -> list[Any]:
        tasks = list(tasks)
        emit = on_record or (lambda record: None)
        if self.jobs == 1 or len(tasks) <= 1:
            results, failures = [], []
            caller_errors: list[BaseException] = []

            def passed_on(record: Any) -> None:  # an on_record that raised is the caller's error
                try:
                    emit(record)
                except BaseException as err:
                    caller_errors.append(err)
                    raise

            for i, task in enumerate(tasks):
                try:
                    results.append(_call(fn, task, passed_on, shared))
                except (Exception, SystemExit) as err:  # as a worker process reports them
                    if any(err is e for e in caller_errors):  # not one the task caught
                        raise err from None
                    results.append(None)
                    failures.append((i, task, _error_text(err)))
            return _finish(results, failures)
        _check_importable(fn)
        _check_main_guard()
        return self._run_processes(fn, tasks, emit, shared)

    def _run_processes(self, fn: TaskFn, tasks: Sequence[Any], emit: Callable[[Any], None],
                       shared: Any) -> list[Any]:
        """The tasks in a pool of processes. A worker process that dies (a crash in native code,
        ``os._exit``, the kernel's out-of-memory killer) breaks the pool and every task still in
        it: the tasks it had not started run again in a fresh pool, and each that had started
        runs again alone (one after another: a crash costs that time), so only a task that
        kills its worker on its own fails. A task run again passes on only the records past
        those its first run passed on (tasks are seeded, so the re-run emits them in the same
        order; a field such as a time may differ between the two runs)."""
        import multiprocessing as mp

        ctx = mp.get_context("spawn")
        run = _PoolRun(ctx, fn, tasks, emit, self.threads, shared)
        todo = list(range(len(tasks)))
        while todo:
            broken = run.once(todo, min(self.jobs, len(todo)))
            started = [i for i in broken if run.started[i]] or broken  # none seen: each alone
            todo = [i for i in broken if i not in started]
            for index in started:
                if run.once([index], 1):
                    run.failures.append((index, tasks[index], _died(run, index)))
        return _finish(run.results, run.failures)


def _died(run: _PoolRun, index: int) -> str:
    """Why task ``index`` failed when its worker died, and, where it died before starting it,
    the likely cause."""
    if run.started[index]:
        return f"its worker process died ({run.errors[index]})"
    return (f"its worker process died before starting it ({run.errors[index]}); workers import "
            "the calling script, and die where that fails")


_GUARD = ("a script that runs tasks in worker processes must do so under `if __name__ == "
          "\"__main__\":` (spawned workers import it, and run what it runs outside that)")


def _check_importable(fn: TaskFn) -> None:
    """Refuse a task function that spawned workers cannot import: one defined in ``__main__``
    where that is no script they can run again (``python -c``, standard input, a notebook).
    Each worker would die as it read its first task, and every task be reported as a crash.

    Examples
    --------
    >>> _check_importable(_square_and_report)  # a module's function
    """
    while isinstance(fn, functools.partial):  # pickled with its function
        fn = fn.func
    if getattr(fn, "__module__", None) != "__main__":
        return
    if getattr(getattr(sys.modules.get("__main__"), "__spec__", None), "name", None):
        return  # python -m: imported by name
    if _main_script() is not None:  # a script: the workers run it again
        return
    name = getattr(fn, "__qualname__", repr(fn))
    raise InvalidParameterError(
        f"fn {name} is defined in an interactive session (python -c, standard input, a "
        "notebook), which the worker processes cannot import: define it in a module or a "
        "script, or run with jobs=1")


def _check_main_guard() -> None:
    """Refuse a run called from the top level of a script, outside its ``if __name__ ==
    "__main__":`` block: spawned workers import the script, so each would run it again and die
    as it started (multiprocessing refuses to start processes then), and with shared data past
    a pipe's buffer this process waited for ever, writing it to a worker that was gone. Only
    where that is certain: the call is in the script's own top-level code, the file still holds
    that code, and no ``__name__ == "__main__"`` test (an ``if``, alone or in an ``and``, a
    conditional expression, a ``match``) encloses its line."""
    path = _main_script()
    if path is None:
        return  # no script that workers run again (python -c, a notebook): _check_importable
    name = getattr(getattr(sys.modules["__main__"], "__spec__", None), "name", None) or ""
    if name == "__main__" or name.endswith(".__main__"):
        return  # python -m package: multiprocessing does not run its __main__.py again
    frame = sys._getframe(1)
    while frame is not None and not (frame.f_code.co_name == "<module>"
                                     and frame.f_code.co_filename == path):
        frame = frame.f_back
    if frame is None:
        return  # not called from the script's own top-level code (exec'd code, say)
    try:
        with open(path, "rb") as fh:
            source = fh.read()
        compiled, running = compile(source, path, "exec", dont_inherit=True), frame.f_code
        if (compiled.co_code, list(compiled.co_lines())) != (running.co_code, list(running.co_lines())):
            return  # the file changed since it started: its lines are not the running code's
        tree = ast.parse(source, filename=path)
    except (OSError, SyntaxError, ValueError):
        return
    line = frame.f_lineno
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and node.body and _tests_main(node.test):
            inside = node.body[0].lineno <= line <= (node.body[-1].end_lineno or 0)
        elif isinstance(node, ast.IfExp) and _tests_main(node.test):
            inside = node.lineno <= line <= (node.end_lineno or 0)
        elif isinstance(node, ast.Match) and _is_name(node.subject):
            inside = any(isinstance(case.pattern, ast.MatchValue)
                         and getattr(case.pattern.value, "value", None) == "__main__"
                         and case.body[0].lineno <= line <= (case.body[-1].end_lineno or 0)
                         for case in node.cases)
        else:
            continue
        if inside:
            return
    raise RuntimeError(f"{path}, line {line}: {_GUARD}")


def _main_script() -> str | None:
    """The file of ``__main__``, which spawned workers import as they start; None where there
    is no such file (``python -c``, standard input, a notebook)."""
    path = getattr(sys.modules.get("__main__"), "__file__", None)
    return path if path is not None and not path.startswith("<") else None


def _is_name(node: Any) -> bool:
    return isinstance(node, ast.Name) and node.id == "__name__"


def _tests_main(test: Any) -> bool:
    """Whether ``test`` holds only where ``__name__ == "__main__"`` (either way round, alone or
    as a term of an ``and``)."""
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
        return any(_tests_main(value) for value in test.values)
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq):
        sides = (test.left, test.comparators[0])
        return (any(map(_is_name, sides))
                and any(getattr(side, "value", None) == "__main__" for side in sides))
    return False


def _join_all(processes: Sequence[Any], *keep: Any) -> None:
    """Wait for ``processes`` to end, holding ``keep`` (what they use) until then."""
    for process in processes:
        process.join()


class _PoolRun:
    """The state of :meth:`LocalExecutor._run_processes` across the pools it starts: results,
    failures, records passed on per task, and which tasks a worker started."""

    def __init__(self, ctx: Any, fn: TaskFn, tasks: Sequence[Any], emit: Callable[[Any], None],
                 threads: int | None, shared: Any) -> None:
        self.ctx, self.fn, self.tasks, self.emit = ctx, fn, tasks, emit
        self.threads, self.shared = threads, () if shared is _NO_SHARED else (shared,)
        self.started = ctx.Array("b", len(tasks), lock=False)
        self.stopped = ctx.Value("b", 0, lock=False)
        self.results: list[Any] = [None] * len(tasks)
        self.failures: list[tuple[int, Any, str]] = []
        self.errors: dict[int, str] = {}  # why a task's pool broke
        self.passed_on = [0] * len(tasks)  # records of each task given to ``emit``

    def once(self, indices: Sequence[int], jobs: int) -> list[int]:
        """Run the tasks ``indices`` in a fresh pool of ``jobs`` workers; returns those a dead
        worker took down (their ``started`` flag says whether a worker had begun them)."""
        import queue as queue_module
        from concurrent.futures import ProcessPoolExecutor
        from concurrent.futures.process import BrokenProcessPool
        from multiprocessing.reduction import ForkingPickler

        records = self.ctx.Queue()  # a dead worker's last records die with it
        received = dict.fromkeys(indices, 0)  # records of this run of each task
        sent: dict[int, int] = {}  # records each task that ended emitted
        broken = []
        for index in indices:
            self.started[index] = 0

        def receive(timeout: float) -> bool:
            try:
                index, record = records.get(timeout=timeout)
            except queue_module.Empty:
                return False
            received[index] += 1
            if received[index] > self.passed_on[index]:  # not one an earlier run passed on
                self.passed_on[index] += 1
                self.emit(ForkingPickler.loads(record))
            return True

        def stop() -> None:  # the pool's exit would otherwise run every task still queued
            self.stopped.value = 1
            workers = list((pool._processes or {}).values())  # (shutdown forgets them)
            pool.shutdown(wait=False, cancel_futures=True)
            # the queue outlives the workers, which go on to the end of their task: freed now,
            # its semaphore was gone for a worker still starting ("FileNotFoundError" printed
            # after the caller's error). Not a daemon thread: one frozen as the interpreter
            # ended, between unlinking the semaphore and telling the resource tracker, left the
            # tracker to warn of a "leaked semaphore" it could not find. (This process waits
            # for its pool's workers at exit all the same.)
            threading.Thread(target=_join_all, args=(workers, records), daemon=False).start()

        threads = self.threads or max(1, (os.cpu_count() or 1) // jobs)
        with ProcessPoolExecutor(jobs, mp_context=self.ctx, initializer=_init_worker,
                                 initargs=(records, self.started, self.stopped, threads,
                                           self.shared)) as pool, _stopping(stop):
            futures = {pool.submit(_run_in_worker, self.fn, i, self.tasks[i]): i for i in indices}
            pending = set(futures)
            while pending:
                if receive(0.2):
                    continue
                for future in [f for f in pending if f.done()]:
                    pending.discard(future)
                    index = futures[future]
                    error = future.exception()
                    if isinstance(error, BrokenProcessPool):  # a worker process died
                        broken.append(index)
                        self.errors[index] = f"{type(error).__name__}: {error}"
                        continue
                    if error is not None:  # a result or task that does not pickle, SystemExit
                        self.failures.append((index, self.tasks[index],
                                              f"{type(error).__name__}: {error}"))
                        continue
                    index, count, result = future.result()
                    sent[index] = count
                    if isinstance(result, _Failed):
                        self.failures.append((index, self.tasks[index], result.message))
                    else:
                        self.results[index] = result
            # every record a task emitted was put before it ended: wait for the stragglers
            while any(received[i] < sent[i] for i in sent):
                receive(1.0)
        return sorted(broken)


# ---------------------------------------------------------------------- Ray
def _ray() -> Any:
    try:
        import ray
    except ImportError as err:
        raise ImportError("--executor ray needs Ray: pip install 'sparsebox[ray]'") from err
    return ray


_END = object()  # a Ray task's thread has ended


class _TaskFailed(Exception):
    """The error of a Ray task, as its words (``"ValueError: ..."``): an error of the task's own
    class may not unpickle in the caller (an ``__init__`` with arguments of its own), which
    Ray reports as a bare ``UnserializableException``; and ``SystemExit``, raised as it is,
    would end the worker process, so that Ray ran the task again as if the worker had died."""


def _caller() -> tuple[str | None, dict[str, str]]:
    """What a Ray task takes from the process that runs it: the working folder (None where it
    is gone) and the ``SPARSEBOX_*`` variables (the data root, the cache)."""
    try:
        cwd: str | None = os.getcwd()
    except OSError:
        cwd = None
    return cwd, {k: v for k, v in os.environ.items() if k.startswith("SPARSEBOX_")}


def _enter(caller: tuple[str | None, dict[str, str]]) -> None:
    """Make this process's folder and ``SPARSEBOX_*`` variables those of ``caller``
    (:func:`_caller`): exactly its variables, none this process had besides, and its folder
    where this node has it."""
    cwd, env = caller
    for key in [k for k in os.environ if k.startswith("SPARSEBOX_") and k not in env]:
        del os.environ[key]
    os.environ.update(env)
    if cwd is not None and os.path.isdir(cwd):
        os.chdir(cwd)


def _ray_generator(fn: TaskFn, task: Any, threads: int,
                   caller: tuple[str | None, dict[str, str]], *shared: Any) -> Any:
    """The body of a Ray task: runs ``fn`` in a thread and yields ``("record", record)`` for
    each record as it is emitted, then ``("result", result)``. A retried task replays the same
    records (tasks are seeded), which Ray's streaming generators skip, so a record reaches the
    caller once. ``caller`` (:func:`_caller`): the task runs in the caller's working folder
    where the node has it, with the caller's ``SPARSEBOX_*`` variables, as a local process
    would (the workers of a cluster started by ``ray start`` have their own); the worker gets
    its own back when the task ends, as it runs the tasks of other runs next."""
    own = _caller()
    _enter(caller)
    try:
        yield from _ray_task(fn, task, threads, *shared)
    finally:
        _enter(own)


def _ray_task(fn: TaskFn, task: Any, threads: int, *shared: Any) -> Any:
    """:func:`_ray_generator`'s work, in the caller's folder and variables."""
    import queue as queue_module
    import threading

    pin_threads(threads)
    warnings.showwarning = warning_line
    records: queue_module.Queue = queue_module.Queue()
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["result"] = _call(fn, task, records.put, shared[0] if shared else _NO_SHARED)
        except BaseException as err:  # re-raised below, in the task's own thread
            outcome["error"] = err
        records.put(_END)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    while True:
        item = records.get()
        if item is _END:
            break
        yield ("record", item)
    thread.join()
    error = outcome.get("error")
    if isinstance(error, (Exception, SystemExit)):
        raise _TaskFailed(_error_text(error))
    if error is not None:
        raise error
    yield ("result", outcome["result"])


def _connection_of(ray: Any) -> tuple[str, str]:
    """The identity of this process's Ray connection: its GCS address and session."""
    context = ray.get_runtime_context()
    return context.gcs_address, context.get_session_name()


def _same_host_and_port(a: str, b: str) -> bool:
    """Whether two ``host:port`` addresses name one place (``localhost`` and ``127.0.0.1``);
    an address with a scheme (``ray://``) only where the text is the same."""
    if "://" in a or "://" in b:
        return a == b
    (host_a, _, port_a), (host_b, _, port_b) = a.rpartition(":"), b.rpartition(":")
    if port_a != port_b:
        return False
    import socket

    try:
        return socket.gethostbyname(host_a.strip("[]")) == socket.gethostbyname(host_b.strip("[]"))
    except OSError:
        return host_a == host_b


class RayExecutor(Executor):
    """Tasks on a Ray cluster, one Ray task each; records stream back as they are emitted
    (Ray's streaming generators).

    Connects to ``address`` (else ``$RAY_ADDRESS``, else a new local cluster of ``num_cpus``
    CPUs) on first use. ``shared`` data is put into Ray's object store once; tasks on a node read
    it there without a copy (numpy arrays are read-only views). A task whose worker dies is run
    again up to ``max_retries`` times; a task that raises is not (a bug does not go away).
    Tasks run in the caller's working folder (where a node has it, as on a shared file system)
    with its ``$SPARSEBOX_*`` variables, so relative paths and the data root mean what they
    mean to the caller. Ray's own log lines below ERROR (its start-up notices) are not shown.

    Parameters
    ----------
    address : str, optional
        A running cluster (``"auto"``, ``"ray://host:10001"``, ``"host:6379"``).
    num_cpus : int, optional
        CPUs of a new local cluster (ignored when connecting to one).
    cpus_per_task : float
        CPUs each task reserves; torch, numba and BLAS in the task get that many threads.
    gpus_per_task : float
        GPUs each task reserves (a fraction shares a device between tasks).
    max_retries : int
        Re-runs of a task whose worker died.
    """

    def __init__(self, *, address: str | None = None, num_cpus: int | None = None,
                 cpus_per_task: float = 1, gpus_per_task: float = 0,
                 max_retries: int = 3) -> None:
        if address is not None and not (isinstance(address, str) and address.strip()):
            # "" (an unset variable) would start a new local cluster instead of the one meant
            raise InvalidParameterError(f"address must be the address of a running Ray cluster, "
                                        f"or None for a new local one, got {address!r}")
        self.address = address
        self.num_cpus = None if num_cpus is None else check_int("num_cpus", num_cpus, minimum=1)
        self.cpus_per_task = check_real("cpus_per_task", cpus_per_task, above=0)
        self.gpus_per_task = check_real("gpus_per_task", gpus_per_task, minimum=0)
        for name, need in (("cpus_per_task", self.cpus_per_task),
                           ("gpus_per_task", self.gpus_per_task)):
            if need > 1 and need != int(need):  # Ray's rule, said before it connects
                raise InvalidParameterError(f"{name} must be a whole number above 1 (a fraction "
                                            f"shares one device), got {need:g}")
        self.max_retries = check_int("max_retries", max_retries, minimum=0)

    #: how errors name ``address`` (the command line sets ``"--address"``, its option)
    address_name: str = "address"

    def connect(self) -> Any:
        """The ``ray`` module, initialised (once per process). An address that no cluster
        answers at is an error naming it (Ray itself would wait for it for ever). Ray takes one
        cluster per process: where an earlier ``RayExecutor`` connected this process to another
        cluster than this one names, that is an error (a new local cluster of other
        ``num_cpus``: a warning), never a silent run there; a connection the caller made with
        ``ray.init`` is used as it is, with a warning where this one names another cluster."""
        global _ray_connection
        ray = _ray()
        address = self.address or os.environ.get("RAY_ADDRESS")
        wanted = (address or "local", None if address else self.num_cpus)
        if ray.is_initialized():
            if _ray_connection is not None and _ray_connection[0] == _connection_of(ray):
                self._check_same_cluster(_ray_connection[1], wanted, _ray_connection[0][0])
            elif address and address != "auto" and "://" not in address \
                    and not _same_host_and_port(address, _connection_of(ray)[0]):
                # (a ray:// address names the Ray Client server, not the GCS: not compared)
                given = self.address_name if self.address else "$RAY_ADDRESS"
                warnings.warn(f"{given} {address}: this process is connected (by ray.init) to "
                              f"the Ray cluster at {_connection_of(ray)[0]}, and Ray takes one "
                              "cluster per process: the tasks run there; call ray.shutdown() "
                              f"first to run them at {address}", stacklevel=3)
            return ray
        if address:
            given = self.address_name if self.address else "$RAY_ADDRESS"
            _check_reachable(address, given)
            try:
                ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR)
            except (ConnectionError, ValueError) as err:  # Ray's advice, on one line
                raise InvalidParameterError(f"{given} {address}: {type(err).__name__}: "
                                            f"{' '.join(str(err).split())}"
                                            f"{_token_hint(err, address)}") from err
        else:
            # "local": a new cluster, though `ray start` left one (or its stale address file)
            ray.init(address="local", num_cpus=self.num_cpus, include_dashboard=False,
                     log_to_driver=False, logging_level=logging.ERROR)
        _ray_connection = (_connection_of(ray), wanted)
        return ray

    def _check_same_cluster(self, made: tuple[str, int | None], wanted: tuple[str, int | None],
                            gcs: str) -> None:
        """Refuse (or warn of) ``wanted``, ``(address or "local", num_cpus)``, where this process
        is connected (GCS address ``gcs``) to the cluster an earlier ``RayExecutor`` asked for
        as ``made``."""
        here, there = made[0], wanted[0]
        if not (here == there or (there == "auto" and here != "local")
                or (there != "local" and _same_host_and_port(there, gcs))):
            then = "start a new local one" if there == "local" else f"connect to {there}"
            raise InvalidParameterError(
                f"this process is connected to the Ray cluster at {gcs} (by an earlier "
                "RayExecutor), and Ray takes one cluster per process: call ray.shutdown() first "
                f"to {then}")
        if there == "local" and wanted[1] is not None and wanted[1] != made[1]:
            cpus = "all the CPUs" if made[1] is None else f"num_cpus {made[1]}"
            warnings.warn(f"num_cpus {wanted[1]}: this process already runs a local Ray cluster "
                          f"made by an earlier RayExecutor ({cpus}), and its tasks run there; "
                          "call ray.shutdown() first for a new one", stacklevel=4)

    def _check_resources(self, ray: Any) -> None:
        """On a local cluster, refuse a task larger than the whole cluster: Ray would wait for it
        forever. A cluster at an address may autoscale, so its tasks wait for nodes, with a
        warning that says so (they waited in silence)."""
        address = self.address or os.environ.get("RAY_ADDRESS")
        have = ray.cluster_resources()
        for name, kind, need in (("cpus_per_task", "CPU", self.cpus_per_task),
                                 ("gpus_per_task", "GPU", self.gpus_per_task)):
            if need > have.get(kind, 0.0) and address:
                warnings.warn(f"the Ray cluster at {address} has {have.get(kind, 0.0):g} {kind}s "
                              f"now: tasks that reserve {need:g} ({name}) wait until a node with "
                              "them joins", stacklevel=2)
            elif need > have.get(kind, 0.0):
                raise InvalidParameterError(
                    f"{name} {need:g} is more than the Ray cluster has ({have.get(kind, 0.0):g} "
                    f"{kind}s in all), so no task could start")

    @property
    def workers(self) -> int:
        ray = self.connect()
        return max(1, int(ray.cluster_resources().get("CPU", 1) // self.cpus_per_task))

    def run(self, fn: TaskFn, tasks: Iterable[Any], *,
            on_record: Callable[[Any], None] | None = None,
            shared: Any = _NO_SHARED) -> list[Any]:
        ray = self.connect()
        self._check_resources(ray)
        tasks = list(tasks)
        emit = on_record or (lambda record: None)
        remote = ray.remote(_ray_generator).options(
            num_cpus=self.cpus_per_task, num_gpus=self.gpus_per_task,
            max_retries=self.max_retries, retry_exceptions=False)
        shared_ref = () if shared is _NO_SHARED else (ray.put(shared),)
        threads = max(1, int(self.cpus_per_task))
        caller = _caller()
        results: list[Any] = [None] * len(tasks)
        failures: list[tuple[int, Any, str]] = []
        generators = {}
        for i, task in enumerate(tasks):
            try:
                generators[remote.remote(fn, task, threads, caller, *shared_ref)] = i
            except TypeError as err:  # a task Ray cannot serialize fails, as a local one does
                failures.append((i, task, _ray_error(err)))
        pending = list(generators)
        # a task runs its function in a thread, which only a forced cancel stops
        with _stopping(lambda: [ray.cancel(gen, force=True) for gen in pending]):
            while pending:
                ready, _ = ray.wait(pending, num_returns=1, timeout=1.0)
                for gen in ready:
                    index = generators[gen]
                    try:
                        item = ray.get(next(gen))
                    except StopIteration:
                        pending.remove(gen)
                        continue
                    except Exception as err:  # the task raised, or ran out of retries
                        pending.remove(gen)
                        failures.append((index, tasks[index], _ray_error(err)))
                        continue
                    kind, value = item
                    if kind == "result":
                        results[index] = value
                    else:
                        emit(value)
        return _finish(results, failures)


#: a client's first bytes on an HTTP/2 connection (its preface and an empty SETTINGS frame):
#: a gRPC server (Ray's GCS, the Ray Client server) answers with a SETTINGS frame of its own
_HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes(3) + b"\x04" + bytes(5)


def _check_reachable(address: str, given: str) -> None:
    """Refuse ``address`` (``host:port`` or ``ray://host:port``) at once when nothing listens
    there, or where what answers is no gRPC server (a web server, the dashboard's port: Ray
    would try it again and again for many minutes); other forms (``auto``) are Ray's to
    resolve.

    Examples
    --------
    >>> _check_reachable("auto", "--address")  # not a host and port: left to Ray
    """
    import socket

    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not (host and port.isdigit()) or "/" in host:
        return
    first = None
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=10) as sock:
            if os.environ.get("RAY_USE_TLS", "0").lower() in ("0", "false", ""):  # plain gRPC
                sock.sendall(_HTTP2_PREFACE)
                first = b""
                while len(first) < 9 and (chunk := sock.recv(9 - len(first))):
                    first += chunk
    except OSError as err:
        raise InvalidParameterError(
            f"{given} {address}: no Ray cluster answers there ({err.strerror or err}); start "
            "one (ray start --head) or give the address it printed") from None
    if first is not None and not (len(first) == 9 and first[3] == 4):  # no SETTINGS frame
        said = " ".join(first.decode("latin-1").split())
        raise InvalidParameterError(
            f"{given} {address}: something answers there, but not a Ray cluster "
            f"({f'it said {said!r}' if said else 'it closed the connection'}); give the address "
            "`ray start --head` printed (its GCS port, 6379 by default)")


def _token_hint(err: Exception, address: str) -> str:
    """What Ray's "Failed to connect" leaves out: a cluster with token authentication (``ray
    start`` turns it on where ``~/.ray/auth_token`` exists, as any new local cluster leaves it)
    refuses a driver that connects to its address without ``RAY_AUTH_MODE=token``.

    Examples
    --------
    >>> _token_hint(ValueError("Invalid address format"), "h:1")
    ''
    """
    if (not isinstance(err, ConnectionError) or address == "auto"  # auto: Ray sends its token
            or os.environ.get("RAY_AUTH_MODE", "").lower() == "token"):
        return ""
    return ("; if the cluster has token authentication, set RAY_AUTH_MODE=token (with its token "
            "in ~/.ray/auth_token or $RAY_AUTH_TOKEN)")


def _error_text(err: BaseException) -> str:
    """``Error: message`` for a task's error, as a failure names it; an error that formats its own
    message (click's ``BadParameter`` names its option there) in that form.

    Examples
    --------
    >>> import click
    >>> _error_text(click.BadParameter("must be >= 1, got 0", param_hint="--budget"))
    'BadParameter: Invalid value for --budget: must be >= 1, got 0'
    >>> _error_text(ValueError("bad"))
    'ValueError: bad'
    """
    formatted = getattr(err, "format_message", None)
    return f"{type(err).__name__}: {formatted() if callable(formatted) else err}"


def _ray_error(err: Exception) -> str:
    cause = getattr(err, "cause", None)
    if isinstance(cause, _TaskFailed):
        return str(cause)
    if cause is not None:
        return f"{type(cause).__name__}: {cause}"
    first = str(err).strip().splitlines()
    return f"{type(err).__name__}: {first[0] if first else ''}"


def make_executor(kind: str = "local", *, jobs: int = 1, address: str | None = None,
                  gpus_per_task: float = 0) -> Executor:
    """The executor a command line asks for: ``"local"`` (``jobs`` processes) or ``"ray"``
    (``address``, else ``$RAY_ADDRESS``, else a local cluster of ``jobs`` CPUs).

    Examples
    --------
    >>> make_executor("local", jobs=2).jobs
    2
    """
    if kind not in ("local", "ray"):
        raise InvalidParameterError(f"executor must be 'local' or 'ray', got {kind!r}")
    jobs = check_int("jobs", jobs, minimum=1)  # (not num_cpus, a name the caller never gave)
    if kind == "local":
        for name, value, given in (("address", address, address is not None),
                                   ("gpus_per_task", gpus_per_task, gpus_per_task != 0)):
            if given:  # else the tasks quietly ran on this machine's CPUs
                raise InvalidParameterError(f"{name} is for kind 'ray', got {value!r} with "
                                            "kind 'local'")
        return LocalExecutor(jobs)
    _ray()  # a clear error now when Ray is missing
    return RayExecutor(address=address, num_cpus=None if address else jobs,
                       gpus_per_task=gpus_per_task)
