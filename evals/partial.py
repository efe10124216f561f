"""One model's generations so far, kept on disk between parts of an eval.

A suite's generations are the eval's cost; its scores are cheap and depend only on the records. So
each model's `SuiteRun` state (records, the metrics and responses written while generating, the
seconds) is saved after every suite it generates, under a key of everything that decides those
generations: the model (its adapter's content, or the base's identity), the eval section, the items
held apart and the metrics version. A later eval of the same model with the same key scores the saved
records and generates only the suites still missing. That is what lets the progressive demo print
organism vs base before the control is trained, with numbers the final evals.md repeats unchanged, and
what lets an interrupted eval resume without generating again what it had finished.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from evals.suite import SuiteRun
from runtime.rundir import write_atomic

FORMAT = 1  # bump when what a saved state holds changes: older files are then ignored, not misread


@dataclass
class SavedGenerations:
    """Where one model's state lives (`path`) and the key it must match (`key`). `load` reads it (a
    missing, unreadable or other-key file reads as nothing saved), `restore` puts it into a `SuiteRun`."""

    path: Path
    key: str
    generated: list[str] = field(default_factory=list)  # suite names, in the order they generated
    _state: dict | None = None

    def load(self) -> SavedGenerations:
        try:
            saved = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return self
        if isinstance(saved, dict) and saved.get("format") == FORMAT and saved.get("key") == self.key:
            self._state, self.generated = saved, list(saved["generated"])
        return self

    def restore(self, run: SuiteRun) -> None:
        """The loaded state into `run` (nothing when none was saved under this key)."""
        if self._state is None:
            return
        run.records, run.metrics = self._state["records"], self._state["metrics"]
        run.responses, run.seconds = self._state["responses"], self._state["seconds"]
        run._last = time.perf_counter()
        self._state = None  # `run` owns it now

    def save(self, run: SuiteRun, suite: str) -> None:
        """Record that `suite` generated into `run`, and write the state (atomically)."""
        self.generated.append(suite)
        state = {
            "format": FORMAT,
            "key": self.key,
            "generated": self.generated,
            "records": run.records,
            "metrics": run.metrics,
            "responses": run.responses,
            "seconds": run.seconds,
        }
        write_atomic(self.path, json.dumps(state, sort_keys=True))  # plain JSON or an error, never a str()
