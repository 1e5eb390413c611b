"""Each process's temporary files: private, removed at exit, swept after a kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from crawler.scratch import sweep

_HOLD = """
import sys, tempfile, time
from pathlib import Path
from crawler.scratch import Scratch
scratch = Scratch.open(Path(sys.argv[1]))
Path(tempfile.mkstemp(dir=None)[1]).write_bytes(b"frame of a reported video")
print(scratch.folder, flush=True)
time.sleep(float(sys.argv[2]))
"""


def _start(home, seconds: float) -> tuple[subprocess.Popen[str], str]:
    child = subprocess.Popen([sys.executable, "-c", _HOLD, str(home), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    return child, child.stdout.readline().strip()


def test_a_process_keeps_its_temporary_files_private_and_removes_them_at_exit(tmp_path):
    child, folder = _start(tmp_path, 0)
    assert child.wait(timeout=30) == 0
    assert folder.startswith(str(tmp_path / "tmp" / "run-"))
    assert not os.path.exists(folder)
    assert (tmp_path / "tmp").stat().st_mode & 0o777 == 0o700


def test_a_killed_process_leaves_its_folder_to_the_next_sweep_and_a_live_one_is_left_alone(tmp_path):
    killed, dead_folder = _start(tmp_path, 60)
    alive, live_folder = _start(tmp_path, 60)
    try:
        assert os.stat(dead_folder).st_mode & 0o777 == 0o700
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=30)
        assert os.listdir(dead_folder)  # SIGKILL: nothing could clean up
        removed = sweep(tmp_path / "tmp")
        assert [str(p) for p in removed] == [dead_folder]
        assert not os.path.exists(dead_folder)
        assert os.path.exists(live_folder) and os.listdir(live_folder)
    finally:
        alive.kill()
        alive.wait(timeout=30)


def test_a_folder_being_made_is_not_swept(tmp_path):
    (tmp_path / "run-1-new").mkdir()  # no lock yet: a process starting right now
    assert sweep(tmp_path) == []
    old = time.time() - 3600
    os.utime(tmp_path / "run-1-new", (old, old))
    assert sweep(tmp_path) == [tmp_path / "run-1-new"]
