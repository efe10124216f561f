"""Where training reports to: the Trainer's log dicts as JSON lines in the run's log file, and a
progress bar on the console without them."""

from __future__ import annotations

import json
from pathlib import Path

from transformers import PrinterCallback, ProgressCallback, Trainer, TrainerCallback


class LogFile(TrainerCallback):
    """The Trainer's log dicts (loss, learning rate, ...) as JSON lines in the run's log file,
    instead of printed under the progress bar (main process only)."""

    def __init__(self, path: Path, tag: dict | None = None):
        self.path = Path(path)
        self.tag = tag or {}  # e.g. {"stage": 0, "data": "documents"}: each stage counts its steps from 0

    def on_log(self, args, state, control, logs=None, **kwargs):
        if state.is_world_process_zero and logs:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a") as handle:
                handle.write(json.dumps({**self.tag, "step": state.global_step, **logs}, default=str) + "\n")


class ProgressBar(ProgressCallback):
    """trl's progress bar without the log dicts it writes to stdout (they go to `LogFile`)."""

    def on_log(self, args, state, control, logs=None, **kwargs):
        pass


def log_to_file(trainer: Trainer, path: Path, tag: dict | None = None) -> None:
    """Send `trainer`'s logs to `path` (tagged with `tag`) instead of the console: the quiet progress
    bar replaces the loud one (if it had one), and the printer goes."""
    for quiet, loud in ((ProgressBar, ProgressCallback), (None, PrinterCallback)):
        if trainer.pop_callback(loud) is not None and quiet is not None:
            trainer.add_callback(quiet)
    trainer.add_callback(LogFile(path, tag))
