"""Pool workers do not outlive their parent: after ``kill -9`` of the process that runs the pool
(as of a ``salcheck run``), its workers exit within seconds instead of waiting forever,
reparented to init. Fast: the workers sleep, nothing is trained."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

PARENT = textwrap.dedent("""
    import sys, time
    from salcheck.engine.orphans import process_pool
    with process_pool(2) as pool:
        warm = [pool.submit(time.sleep, 0.2) for _ in range(2)]
        for f in warm:
            f.result()  # both workers are up (their initializer has run)
        busy = [pool.submit(time.sleep, 600) for _ in range(2)]
        print("ready", flush=True)
        time.sleep(600)
""")


def _children(pid: int) -> list[int]:
    """Live (not zombie) processes whose parent is ``pid``."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_pool_workers_exit_when_their_parent_is_killed():
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    workers: list[int] = []
    try:
        assert parent.stdout.readline().strip() == "ready"
        workers = _children(parent.pid)
        assert len(workers) >= 2  # two workers (and multiprocessing's resource tracker)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 10
        while any(map(_alive, workers)) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = [w for w in workers if _alive(w)]
        assert not left, f"workers {left} outlived their parent"
    finally:
        parent.kill()
        parent.wait()
        parent.stdout.close()
        for w in filter(_alive, workers):  # never leave one behind, even when the test fails
            os.kill(w, signal.SIGKILL)


def _run(code: str) -> tuple[int, str]:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    return done.returncode, done.stdout


def test_a_worker_whose_parent_is_already_gone_exits_at_once():
    code = "from salcheck.engine.orphans import exit_with_parent; exit_with_parent(1); print('alive')"
    assert _run(code) == (1, "")


def test_a_worker_whose_parent_lives_goes_on():
    code = (
        "import os, time; from salcheck.engine.orphans import exit_with_parent; "
        "exit_with_parent(os.getppid(), interval=0.05); time.sleep(0.3); print('alive')"
    )
    assert _run(code) == (0, "alive\n")
