import os
import re
import sys
import textwrap

import pytest

from sparsebox.parallel import LocalExecutor, TaskError, _square_and_report

TASKS = textwrap.dedent('''
    import os
    import time


    def report_threads(task, emit):
        for i in range(3):
            emit({"task": task, "i": i})
        time.sleep(0.05 * task)
        return task, os.environ.get("OMP_NUM_THREADS")


    def fail_on_two(task, emit):
        emit({"task": task, "before": True})
        if task == 2:
            raise ValueError("task two is broken")
        return task


    def read_shared(task, emit, shared):
        return float(shared[task].sum()), shared.flags.writeable


    def unpicklable_on_two(task, emit):
        if task == 2:
            return lambda: task  # the result cannot go back to the parent
        return task


    def emit_unpicklable_on_two(task, emit):
        import threading

        emit(threading.Lock() if task == 2 else task)  # the record cannot go to the parent
        return task


    def die_on_three(task, emit):
        emit({"task": task})
        if task == 3:
            os._exit(1)  # as a crash in native code or the out-of-memory killer would
        time.sleep(0.1)
        return task
''')


@pytest.fixture
def tasks_module(tmp_path, monkeypatch):
    """A module the spawned workers can import (they inherit sys.path)."""
    (tmp_path / "executor_tasks.py").write_text(TASKS)
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib

    return importlib.import_module("executor_tasks")


def test_one_job_runs_in_this_process():
    seen = []
    assert LocalExecutor(1).run(_square_and_report, [3, 4], on_record=seen.append) == [9, 16]
    assert seen == [{"task": 3}, {"task": 4}]


def test_processes_stream_records_return_results_in_order_and_share_threads(tasks_module):
    seen = []
    results = LocalExecutor(2, threads=1).run(tasks_module.report_threads, [3, 1, 2],
                                              on_record=seen.append)
    assert results == [(3, "1"), (1, "1"), (2, "1")]  # task order, one thread each
    assert sorted((r["task"], r["i"]) for r in seen) == [(t, i) for t in (1, 2, 3)
                                                         for i in range(3)]


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_failed_task_is_named_the_others_finish_and_records_are_kept(tasks_module, jobs):
    seen = []
    with pytest.raises(TaskError, match="task 2 failed: ValueError: task two is broken") as info:
        LocalExecutor(jobs).run(tasks_module.fail_on_two, [1, 2, 3], on_record=seen.append)
    assert info.value.task == 2 and info.value.failures == [(2, "ValueError: task two is broken")]
    assert info.value.results == [1, None, 3]  # the others finished
    assert sorted(r["task"] for r in seen) == [1, 2, 3]


def test_a_worker_that_dies_fails_its_own_task_only(tasks_module):
    """A dead worker broke the pool: every task still waiting was reported failed
    (BrokenProcessPool) although it never ran."""
    seen = []
    with pytest.raises(TaskError) as info:
        LocalExecutor(2, threads=1).run(tasks_module.die_on_three, range(1, 9),
                                        on_record=seen.append)
    assert [task for task, _ in info.value.failures] == [3]
    assert "its worker process died" in info.value.failures[0][1]
    assert info.value.results == [1, 2, None, 4, 5, 6, 7, 8]
    others = sorted(r["task"] for r in seen if r["task"] != 3)
    assert others == [1, 2, 4, 5, 6, 7, 8]  # each once, though some ran twice
    assert len(seen) - len(others) <= 1


def test_a_result_that_does_not_pickle_fails_its_task_once_as_itself(tasks_module):
    with pytest.raises(TaskError) as info:
        LocalExecutor(2, threads=1).run(tasks_module.unpicklable_on_two, [1, 2, 3])
    assert [task for task, _ in info.value.failures] == [2]
    assert "worker process died" not in info.value.failures[0][1]
    assert "pickle" in info.value.failures[0][1]
    assert info.value.results == [1, None, 3]


def test_a_record_that_does_not_pickle_fails_its_task_not_the_run(tasks_module, tmp_path):
    """The queue's thread dropped a record that did not pickle (printing a traceback), and the
    parent waited for it for ever. In a process of its own, stopped if it hangs."""
    import os
    import signal
    import subprocess
    import sys

    (tmp_path / "run_unpicklable.py").write_text(textwrap.dedent('''
        from executor_tasks import emit_unpicklable_on_two
        from sparsebox.parallel import LocalExecutor, TaskError

        if __name__ == "__main__":
            seen = []
            try:
                LocalExecutor(2, threads=1).run(emit_unpicklable_on_two, [1, 2, 3],
                                                on_record=seen.append)
            except TaskError as err:
                print(err.failures, err.results, sorted(seen))
    '''))
    with subprocess.Popen([sys.executable, "run_unpicklable.py"], cwd=tmp_path, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          start_new_session=True) as run:
        try:
            out, err = run.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(run.pid, signal.SIGKILL)  # its workers too
            pytest.fail("the run waited for ever for the record that did not pickle")
    assert out.strip() == ("[(2, \"TypeError: cannot pickle '_thread.lock' object\")] "
                           "[1, None, 3] [1, 3]"), err


def test_a_script_without_its_main_guard_is_refused_before_any_worker_starts(tasks_module,
                                                                              tmp_path):
    """Its spawned workers ran the script again and died as they started; with shared data past
    a pipe's buffer the parent then waited for ever, writing it to a worker that was gone. A
    call under the guard, or from a function the guarded block calls, runs."""
    import os
    import signal
    import subprocess

    body = textwrap.dedent('''
        import numpy as np
        from executor_tasks import read_shared
        from sparsebox.parallel import LocalExecutor


        def work():
            shared = np.ones((2, 500_000))
            return LocalExecutor(2, threads=1).run(read_shared, [0, 1], shared=shared)
    ''')
    scripts = {"no_guard.py": body + "\ntry:\n    work()\nexcept RuntimeError as err:\n"
                                     "    print(err)\n",
               "guarded.py": body + "\nif __name__ == '__main__':\n    print(work())\n",
               "nested.py": body + "\ntry:\n    if __name__ == '__main__' and True:\n"
                                   "        print(work())\nexcept KeyboardInterrupt:\n    pass\n",
               "exec.py": body + "\nif __name__ == '__main__':\n    exec('print(work())')\n"}
    out = {}
    for name, text in scripts.items():
        (tmp_path / name).write_text(text)
        with subprocess.Popen([sys.executable, name], cwd=tmp_path, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              start_new_session=True) as run:
            try:
                out[name], err = run.communicate(timeout=240)
            except subprocess.TimeoutExpired:
                os.killpg(run.pid, signal.SIGKILL)  # its workers too
                pytest.fail(f"{name} waited for ever")
        assert run.returncode == 0, err
    assert out["no_guard.py"].strip() == (
        f"{tmp_path / 'no_guard.py'}, line 12: a script that runs tasks in worker processes "
        'must do so under `if __name__ == "__main__":` (spawned workers import it, and run what '
        "it runs outside that)")
    assert out["guarded.py"].strip() == out["nested.py"].strip() == out["exec.py"].strip() == \
        "[(500000.0, True), (500000.0, True)]"


@pytest.mark.parametrize("jobs", [1, 2])
def test_shared_data_reaches_every_task(tasks_module, jobs):
    import numpy as np

    shared = np.arange(12.0).reshape(3, 4)
    results = LocalExecutor(jobs).run(tasks_module.read_shared, [0, 2], shared=shared)
    assert [r[0] for r in results] == [6.0, 38.0]


def test_jobs_must_be_positive():
    with pytest.raises(ValueError, match="jobs must be >= 1, got 0"):
        LocalExecutor(0)
    for threads in (0, -1):  # checked at once, not inside every worker (or never, with 1 job)
        with pytest.raises(ValueError, match=f"threads must be >= 1, got {threads}"):
            LocalExecutor(2, threads=threads)


def test_pin_threads_leaves_a_loaded_numba_able_to_compile(monkeypatch):
    import os

    import numba

    from sparsebox.parallel import pin_threads

    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        monkeypatch.setenv(var, os.environ.get(var, ""))  # restored after the test
    before_env, before_threads = os.environ.get("NUMBA_NUM_THREADS"), numba.get_num_threads()
    try:
        pin_threads(1)
        assert numba.get_num_threads() == 1
        assert os.environ.get("NUMBA_NUM_THREADS") == before_env

        @numba.njit
        def add_one(x):
            return x + 1

        assert add_one(1) == 2  # a compilation after pinning (it used to raise RuntimeError)
    finally:
        numba.set_num_threads(before_threads)


def _refuse(record):
    raise OSError("stdout is closed")  # as a summary printed into a closed pipe


def test_an_on_record_that_raises_is_the_callers_error_not_the_tasks():
    """In one process, the caller's error was blamed on the task that emitted the record: a
    batch piped into `head` said that files it had written had failed."""
    with pytest.raises(OSError, match="stdout is closed"):
        LocalExecutor(1).run(_square_and_report, [2, 3], on_record=_refuse)


def test_an_on_record_that_raises_leaves_no_worker_to_print_an_error(tmp_path):
    """Workers still starting when the caller's on_record raised found the records queue gone
    and printed "FileNotFoundError: [Errno 2] No such file or directory" (SemLock._rebuild)
    after the caller's error."""
    import subprocess

    (tmp_path / "square_tasks.py").write_text(textwrap.dedent("""
        def square(task, emit):
            emit(task)
            return task * task
    """))
    (tmp_path / "run.py").write_text(textwrap.dedent("""
        from sparsebox.parallel import LocalExecutor
        import square_tasks

        def refuse(record):
            raise KeyError("refused")

        if __name__ == "__main__":
            try:
                LocalExecutor(4).run(square_tasks.square, list(range(8)), on_record=refuse)
            except KeyError as err:
                print("caught", err)
    """))
    run = subprocess.run([sys.executable, "run.py"], capture_output=True, text=True, timeout=120,
                         cwd=tmp_path)
    assert (run.returncode, run.stdout, run.stderr) == (0, "caught 'refused'\n", "")


def _report_then_fail(task, emit):
    try:
        emit(task)
    except OSError:
        pass  # the task goes on without its report
    raise ValueError(f"task {task} went wrong")


def test_a_task_that_caught_the_callers_error_fails_as_itself():
    with pytest.raises(TaskError, match=r"task 1 failed: ValueError: task 1 went wrong"):
        LocalExecutor(1).run(_report_then_fail, [1], on_record=_refuse)


def test_ray_executor_checks_its_numbers_by_name():
    from sparsebox.parallel import RayExecutor

    for kwargs, name in (({"cpus_per_task": "1"}, "cpus_per_task"),
                         ({"cpus_per_task": 0}, "cpus_per_task"),
                         ({"gpus_per_task": float("nan")}, "gpus_per_task"),
                         ({"num_cpus": 0}, "num_cpus")):
        with pytest.raises(ValueError, match=f"^{name} must be"):
            RayExecutor(**kwargs)
    assert RayExecutor(cpus_per_task=0.5, gpus_per_task=0).cpus_per_task == 0.5


def _exit_on_two(task, emit):
    if task == 2:
        raise SystemExit(3)
    return task


def test_a_task_that_exits_fails_as_itself_in_one_process_too():
    """A worker process reports a task's SystemExit as its failure; in one process it ended the
    whole run, the other tasks' results with it."""
    with pytest.raises(TaskError, match=r"^task 2 failed: SystemExit: 3$") as info:
        LocalExecutor(1).run(_exit_on_two, [1, 2, 3])
    assert info.value.results == [1, None, 3]


def test_a_function_of_an_interactive_session_is_refused_before_any_worker_starts(tmp_path):
    """A function defined in `python -c` (or a notebook) killed each worker as it read its first
    task: every task was reported as "its worker process died", after one pool per task."""
    import subprocess
    import sys

    script = textwrap.dedent('''
        import functools

        from sparsebox.parallel import LocalExecutor

        def double(task, emit):
            return 2 * task

        print(LocalExecutor(1).run(double, [1, 2]))
        for fn in (double, functools.partial(double)):  # a partial pickles its function
            try:
                LocalExecutor(2).run(fn, [1, 2])
            except ValueError as err:
                print(err)
    ''')
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, timeout=120,
                            capture_output=True, text=True)
    refused = ("fn double is defined in an interactive session (python -c, standard input, a "
               "notebook), which the worker processes cannot import: define it in a module or a "
               "script, or run with jobs=1")
    assert result.stdout.splitlines() == ["[2, 4]", refused, refused], result.stderr


ORPHANS = textwrap.dedent('''
    import os
    import sys
    import time
    from pathlib import Path

    from sparsebox.outputs import StagedOutputs
    from sparsebox.parallel import LocalExecutor


    def stage_slowly(task, emit):
        with StagedOutputs(out=Path(task)) as staged:
            staged["out"].write_text("half")
            emit(os.getpid())
            time.sleep(120)
            staged["out"].write_text("whole")
        return task


    if __name__ == "__main__":
        LocalExecutor(2, threads=1).run(stage_slowly, [f"{sys.argv[1]}/{name}" for name in "ab"],
                                        on_record=lambda pid: print(pid, flush=True))
''')


def _alive(pid):
    """Whether the process ``pid`` runs (a zombie no one reaps does not)."""
    from pathlib import Path

    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("sigint_ignored", [False, True])
def test_workers_end_with_their_parent_and_leave_no_output(tmp_path, sigint_ignored):
    """A parent killed (kill -9, or terminate() from a pipeline) left its workers running: each
    went on with its task, wrote its outputs, and then waited for ever. With Ctrl-C ignored (a
    background job of a shell script), the interrupt was ignored too: the tasks went on for ten
    seconds, and the workers then ended leaving their staged outputs in the folder."""
    import os
    import signal
    import subprocess
    import sys
    import time

    if not sys.platform.startswith("linux"):
        pytest.skip("reads /proc")
    (tmp_path / "orphans.py").write_text(ORPHANS)
    out = tmp_path / "out"
    out.mkdir()
    command = [sys.executable, "orphans.py", str(out)]
    if sigint_ignored:  # as a shell script's background job: (no preexec_fn: not thread-safe)
        command = ["/bin/sh", "-c", 'trap "" INT; exec "$@"', "sh", *command]
    parent = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, text=True)
    workers = []
    try:
        workers = [int(parent.stdout.readline()) for _ in range(2)]
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 30
        while any(map(_alive, workers)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(map(_alive, workers))
        assert list(out.iterdir()) == []  # neither the outputs nor their staged parts
    finally:
        parent.kill()
        for pid in filter(_alive, workers):
            os.kill(pid, signal.SIGKILL)


IDLE = textwrap.dedent('''
    import os
    import sys
    import time

    from sparsebox.parallel import LocalExecutor


    def quick_or_slow(task, emit):
        emit(os.getpid())
        if task:
            time.sleep(60)
        return task


    if __name__ == "__main__":
        try:
            LocalExecutor(2, threads=1).run(quick_or_slow, [0, 1],
                                            on_record=lambda pid: print(pid, flush=True))
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            sys.exit(130)
''')


def test_ctrl_c_with_a_worker_waiting_for_a_task_prints_no_traceback(tmp_path):
    """Ctrl-C (SIGINT to the process group) while one worker had finished its task and waited
    for another: that worker printed multiprocessing's "Process SpawnProcess-2: Traceback"."""
    import os
    import signal
    import subprocess
    import sys
    import time

    (tmp_path / "idle.py").write_text(IDLE)
    run = subprocess.Popen([sys.executable, "idle.py"], cwd=tmp_path, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        pids = [int(run.stdout.readline()) for _ in range(2)]
        time.sleep(1.0)  # task 0 has returned: a worker waits for a task (its own or the other)
        os.killpg(run.pid, signal.SIGINT)
        out, err = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    assert len(pids) == 2 and out.strip() == "interrupted" and run.returncode == 130, err
    assert "Traceback" not in err, err


def test_a_warning_line_is_one_write_so_workers_lines_never_interleave():
    """A batch's workers share standard error, and print wrote a line's text and its newline
    apart: two workers' lines came out as "...verticeswarning: ..." (a CI run)."""
    import contextlib

    from sparsebox.progress import warning_line

    class Writes:
        def __init__(self):
            self.calls = []

        def write(self, text):
            self.calls.append(text)
            return len(text)

        def flush(self):
            pass

    with contextlib.redirect_stderr(Writes()) as err:
        warning_line(UserWarning("a.ply: its edge element is not read"), UserWarning, "x", 1)
    assert err.calls == ["warning: a.ply: its edge element is not read\n"]


def _serve_once(answer):
    """A TCP server on a free local port that takes one connection, reads what the client sends
    first, answers ``answer`` (bytes, or None to close without a word); returns its address."""
    import socket
    import threading

    server = socket.create_server(("127.0.0.1", 0))

    def serve():
        with server, server.accept()[0] as conn:
            conn.settimeout(5)
            conn.recv(1024)
            if answer:
                conn.sendall(answer)

    threading.Thread(target=serve, daemon=True).start()
    return f"127.0.0.1:{server.getsockname()[1]}"


@pytest.mark.parametrize("answer, said", [
    (b"HTTP/1.0 400 Bad Request\r\nContent-Type: text/html\r\n\r\n", "it said 'HTTP/1.0')"),
    (None, "it closed the connection)")])
def test_an_address_where_something_else_answers_is_refused_at_once(monkeypatch, answer, said):
    """`--address HOST:8265` (the dashboard's port, or any web server's): Ray tried it again and
    again for many minutes, printing its own warnings, where the port had an answer."""
    from sparsebox.parallel import _check_reachable

    monkeypatch.undo()  # the network back: only a server of this test, on the loopback, answers
    address = _serve_once(answer)
    with pytest.raises(ValueError, match=rf"^--address {address}: something answers there, but "
                       rf"not a Ray cluster \({re.escape(said)}"):
        _check_reachable(address, "--address")
    _check_reachable(_serve_once(b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"), "--address")  # gRPC


def test_the_python_api_names_address_and_the_command_line_its_option():
    """RayExecutor(address=...) was told "--address 127.0.0.1:1: no Ray cluster answers there",
    an option its caller never gave; the command line's executor names --address."""
    import subprocess

    script = textwrap.dedent("""
        from sparsebox.options import executor_from_options
        from sparsebox.parallel import RayExecutor
        for executor in (RayExecutor(address="127.0.0.1:1"),
                         executor_from_options("ray", 1, "127.0.0.1:1")):
            try:
                executor.connect()
            except ValueError as err:
                print(err)
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120, env={**os.environ, "RAY_ADDRESS": ""})
    assert run.returncode == 0, run.stderr
    assert [line.split(": no Ray cluster answers there")[0] for line in
            run.stdout.splitlines()] == ["address 127.0.0.1:1", "--address 127.0.0.1:1"]


def test_the_executors_refuse_what_they_would_ignore_or_misread():
    """make_executor("local", address=...) ran on this machine, RayExecutor(address="") started
    a new local cluster, make_executor("ray", jobs=0) blamed num_cpus, and address=6379 failed
    at run time with an AttributeError."""
    from sparsebox.parallel import RayExecutor, make_executor

    with pytest.raises(ValueError, match="^address is for kind 'ray', got 'head:6379'"):
        make_executor("local", address="head:6379")
    with pytest.raises(ValueError, match="^gpus_per_task is for kind 'ray', got 0.5"):
        make_executor("local", gpus_per_task=0.5)
    for kind in ("local", "ray"):
        with pytest.raises(ValueError, match="^jobs must be >= 1, got 0"):
            make_executor(kind, jobs=0)
    for address in ("", " ", 6379):
        with pytest.raises(ValueError, match=rf"^address must be the address of a running Ray "
                           rf"cluster, or None for a new local one, got {address!r}"):
            RayExecutor(address=address)


def test_an_address_ray_cannot_connect_to_says_what_token_authentication_needs(monkeypatch):
    """A cluster of `ray start` with token authentication refused a driver without
    RAY_AUTH_MODE=token, and the error said only "Failed to connect to Ray cluster"."""
    import types

    import sparsebox.parallel as parallel

    def refuse(**kwargs):
        raise ConnectionError(f"Failed to connect to Ray cluster at {kwargs['address']}")

    fake = types.SimpleNamespace(is_initialized=lambda: False, init=refuse)
    monkeypatch.setitem(sys.modules, "ray", fake)
    monkeypatch.setattr(parallel, "_check_reachable", lambda address, given: None)
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    with pytest.raises(ValueError, match=r"^address head:6379: ConnectionError: Failed to "
                       r"connect to Ray cluster at head:6379; if the cluster has token "
                       r"authentication, set RAY_AUTH_MODE=token \(with its token in "):
        parallel.RayExecutor(address="head:6379").connect()
    monkeypatch.setenv("RAY_AUTH_MODE", "token")  # set: Ray's words are all there is to say
    with pytest.raises(ValueError, match=r"at head:6379$"):
        parallel.RayExecutor(address="head:6379").connect()
