"""Waiting for the other ranks with a deadline, so that a rank that died never leaves the rest hanging.

Every collective in minilm/distributed/ is non-blocking underneath; its rank
polls it here. Ten times a second it also checks that the processes of the
ranks on its own machine still exist: a lost one is named at once; a silent one
on another machine ends the wait after MINILM_DIST_TIMEOUT seconds (default
300). The rank then says so and exits with status 1 without waiting for MPI,
whose own clean-up could hang.
"""
import os
import sys
import time


def timeout():
    return float(os.environ.get("MINILM_DIST_TIMEOUT", "300"))


def gone(pid):
    """True if process `pid` (on this machine) no longer runs: it does not exist or is a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return False


def lost_ranks(peers, rank):
    """The ranks on this machine, other than `rank`, whose process is gone; peers: (hostname, pid) per rank."""
    here = os.uname().nodename
    return [r for r, (host, pid) in enumerate(peers) if host == here and r != rank and gone(pid)]


def wait_until(done, what, peers, rank):
    """Poll done() until it is true, checking ten times a second that the ranks on this machine still live."""
    start = last_check = time.monotonic()
    deadline = start + timeout()
    while not done():
        now = time.monotonic()
        if now - last_check > 0.1:                       # the peers ten times a second, not every poll
            last_check = now
            lost = lost_ranks(peers, rank)
            if lost or now > deadline:
                abandon(what, lost, now - start, peers, rank)
        time.sleep(0 if now - start < 0.01 else 1e-4)    # spin briefly, then let the core go


def abandon(what, lost, waited, peers, rank):
    if lost:
        who = ", ".join(f"rank {r} (pid {peers[r][1]})" for r in lost)
        message = f"{who} of {len(peers)} stopped running"
    else:
        message = f"no answer from the other ranks for {waited:.0f} s (MINILM_DIST_TIMEOUT)"
    print(f"minilm rank {rank}: {message} during {what}; stopping this rank too (exit 1). "
          "The last checkpoint is complete and loadable: continue with --resume", file=sys.stderr, flush=True)
    os._exit(1)                    # not sys.exit: MPI's clean-up at exit could wait for the lost rank
