"""`python -m kinerja.tether PARENT_PID -m MODULE [ARGS...]`: run MODULE as `python -m MODULE
ARGS...` would, in a process that dies with the process PARENT_PID.

The temporary Prefect server of `kinerja run` is started this way (kinerja/interrupts.py): a
server that outlived a killed CLI would hold its port and memory until someone found it. Only the
standard library is imported here, before MODULE takes over the process.

- Linux: `prctl(PR_SET_PDEATHSIG, SIGKILL)` has the kernel kill this process the moment the
  thread that started it ends, including when its process is SIGKILLed. The CLI starts the server
  from its main thread, which lives as long as the CLI.
- Everywhere (the backstop where prctl does not exist): a daemon thread checks every second that
  the parent is still this process's parent, and kills the process otherwise.

A parent that dies before prctl takes effect is caught by the same check, made once at start.
"""

from __future__ import annotations

import ctypes
import os
import runpy
import signal
import sys
import threading
import time

_PR_SET_PDEATHSIG = 1
_WATCH_SECONDS = 1.0


def tie_to(parent: int) -> None:
    """Make this process die when `parent` does."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):
            pass  # the watcher below still ties the two
    if os.getppid() != parent:
        os._exit(1)  # the parent is already gone
    threading.Thread(target=_watch, args=(parent,), name="kinerja-tether", daemon=True).start()


def _watch(parent: int) -> None:
    while True:
        time.sleep(_WATCH_SECONDS)
        if os.getppid() != parent:
            kill = getattr(signal, "SIGKILL", signal.SIGTERM)
            os.kill(os.getpid(), kill)


def main(argv: list[str]) -> None:
    if len(argv) < 3 or argv[1] != "-m":
        raise SystemExit("usage: python -m kinerja.tether PARENT_PID -m MODULE [ARGS...]")
    parent, module, args = int(argv[0]), argv[2], argv[3:]
    tie_to(parent)
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
