"""Child processes that die with their parent, whatever ends it.

`connector run`, `connector demo` and the embedded Redis stop their children themselves on Ctrl-C,
SIGTERM and SIGHUP; nothing runs when the parent is killed with SIGKILL (or crashes), so each child also
asks the kernel to signal it when its parent dies (Linux `prctl(PR_SET_PDEATHSIG)`), and so does every
work horse an RQ worker forks (workers/worker.py). Guarantee, on Linux: once the parent is gone, its
children get `sig` at once, also one whose parent died while it was being started. Elsewhere this is a
no-op and only the handled signals stop the children.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Callable

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    return prctl


# resolved once, in the parent: a preexec_fn runs between fork and exec and should do as little as it can
_PRCTL = _load_prctl()


def die_with_parent(sig: int, parent: int) -> bool:
    """Have the kernel send `sig` to this process when `parent` (the pid that started it) dies. Sent when
    the parent's thread that started this process ends, so the parents here start children from their
    main thread. Returns False where the kernel cannot be asked (not Linux)."""
    if _PRCTL is None or _PRCTL(PR_SET_PDEATHSIG, sig, 0, 0, 0) != 0:
        return False
    if os.getppid() != parent:  # the parent died before the request was made: nobody would signal us
        os.kill(os.getpid(), sig)
    return True


def dies_with_us(sig: int = signal.SIGKILL) -> Callable[[], None] | None:
    """A `preexec_fn` for subprocess.Popen: the child gets `sig` when this process dies (None where the
    kernel cannot be asked, so Popen runs nothing between fork and exec)."""
    if _PRCTL is None:
        return None
    parent = os.getpid()
    return lambda: die_with_parent(sig, parent)
