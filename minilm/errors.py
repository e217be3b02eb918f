"""Errors a user can fix, and how the `minilm` command reports them.

A library raises what Python users expect: ValueError for a bad value (its
message says what was expected, what was given and what to do),
FileNotFoundError for a missing file, OSError for a disk that is full or a
folder that is read-only. The command line (minilm/cli/) turns those into one
line and an exit status (user_message below); anything else is a bug in minilm
and keeps its traceback, so it can be reported.

    exit 0    done
    exit 1    the work could not be finished: a write failed, training diverged
    exit 2    the input was wrong or something needed is missing: nothing was done
    exit 130  stopped by Ctrl-C (SIGINT), 143 by SIGTERM: 128 + the signal number

UserError carries its own exit status, for the cases Python has no exception for
(a run folder that is already trained or locked, a device that is not there).
"""
import errno
import signal


class UserError(Exception):
    """Something the user can fix; the message is the whole output and says how."""
    exit_code = 2


class RunExists(UserError):
    """The output folder already holds a run that this command would overwrite."""


class RunLocked(UserError):
    """Another process is training in this run folder."""


class DeviceUnavailable(UserError, RuntimeError):
    """The device asked for cannot be used here (CuPy, a GPU or a C++ compiler is missing)."""


class WriteFailed(UserError):
    """A file could not be written (disk full, permission denied, read-only); says what was kept."""
    exit_code = 1

    def __init__(self, error, kept=""):
        super().__init__(f"could not write {describe_os_error(error)}" + (f"; {kept}" if kept else ""))


class Interrupted(UserError):
    """Training stopped at a signal after saving a checkpoint; exit 128 + the signal number."""

    def __init__(self, message, signum):
        super().__init__(message)
        self.exit_code = 128 + signum


# what the file system can refuse: the user's disk, folders and permissions, not minilm's logic
ENVIRONMENT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS, errno.EFBIG,
                      errno.EIO, errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.EEXIST, errno.ENAMETOOLONG,
                      errno.EMFILE, errno.ENOTEMPTY, errno.EBUSY}


def describe_os_error(error):
    """'/x/y: No space left on device': the path and the OS's reason, without the errno number."""
    reason = error.strerror or str(error)
    return f"{error.filename}: {reason}" if error.filename else reason


def user_message(error):
    """(one line, exit status) for an error the user can fix, or None for a bug (keep its traceback)."""
    if isinstance(error, UserError):
        return str(error), error.exit_code
    if isinstance(error, (FileNotFoundError, FileExistsError)):   # a missing input, a refused output:
        return describe_os_error(error), 2                       # nothing was done
    if isinstance(error, OSError) and error.errno in ENVIRONMENT_ERRNOS:
        return describe_os_error(error), 1             # a write the disk or its permissions refused
    if isinstance(error, ValueError):
        return str(error), 2
    if isinstance(error, KeyboardInterrupt):
        return "interrupted", 128 + signal.SIGINT
    return None
