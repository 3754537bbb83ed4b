"""``make lab`` starts JupyterLab on the project's kernel: started on a free port, it answers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_make_lab_serves_jupyterlab():
    port = _free_port()
    opts = "--IdentityProvider.token= --ServerApp.ip=127.0.0.1"
    if os.geteuid() == 0:  # CI containers run as root; Jupyter refuses that unless told
        opts += " --allow-root"
    proc = subprocess.Popen(
        ["make", "-s", "lab", f"PORT={port}", f"LAB_OPTS={opts}"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: stopped as a whole below
        env={**os.environ, "MPLBACKEND": "Agg"},
    )
    try:
        deadline, status = time.monotonic() + 120, None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/lab", timeout=5) as r:
                    status = r.status
                    body = r.read(4096).decode("utf-8", "replace")
                break
            except OSError:
                time.sleep(0.5)
        assert status == 200, (
            proc.stderr.read().decode()[-2000:] if proc.poll() is not None else status
        )
        assert "JupyterLab" in body
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/kernelspecs", timeout=5) as r:
            assert b"python3" in r.read()  # the project's kernel
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
