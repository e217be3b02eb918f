"""Ctrl-C and SIGTERM as a request to stop after the current step, not as an exception in the middle of it.

    with StopSignals() as stop:
        while training:
            train_step()
            if stop.signum:                   # SIGINT or SIGTERM arrived during the step
                save a checkpoint of this step, then exit 128 + stop.signum

Python's default turns SIGINT into a KeyboardInterrupt wherever the program
happens to be, in the middle of an optimizer update or of writing a file;
SIGTERM (what `kill`, a job scheduler or a container stop sends) ends the
process with no chance to save. Here both only set a flag: the loop finishes
its step, writes a checkpoint of exactly that step and stops. Further signals
while it saves change nothing (the save is atomic anyway; SIGKILL still
works and leaves the previous checkpoint).

Signal handlers can only be set in the main thread; a trainer run from
another thread keeps Python's defaults.
"""
import os
import signal
import threading

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignals:
    def __init__(self):
        self.signum, self.previous = None, {}

    def _handle(self, signum, frame):
        if self.signum is not None:
            # os.write, not print: a handler may run in the middle of another print
            os.write(2, b"\nstopping: the checkpoint of this step is being saved\n")
        self.signum = self.signum or signum

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for signum in SIGNALS:
                self.previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc):
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)
        self.previous = {}
