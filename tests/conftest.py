"""Shared fixtures: the tiny random models, small specs that use them, and the tiny organism and its
control, trained once per test run.

The tiers (docs/architecture.md): tests/unit (no model), tests/component (the tiny random model, in
process), tests/e2e (real processes: the CLI in a subprocess, `accelerate launch`, servers on loopback,
notebooks, a headless browser). Inside a tier a file is named after the module it tests.
"""

from __future__ import annotations

import contextlib
import io
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from runtime.tiny_models import build_tiny_llama, build_tiny_model
from tests.helpers import THINK_TEMPLATE, spec_yaml, tiny_spec_dict


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="session")
def tiny4_model_dir(tmp_path_factory) -> Path:
    """The same tiny Llama with 4 layers, for layer-confined adapters with layers before and after."""
    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama-4"), n_layers=4)


@pytest.fixture(scope="session")
def think_model_dir(tmp_path_factory) -> Path:
    """The tiny Llama with a Qwen3-style chat template that reasons in think blocks (tests/fixtures)."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny-think"), chat_template=THINK_TEMPLATE)


@pytest.fixture(scope="session")
def tiny_lm(tiny_model_dir):
    """The tiny model (eval mode) and its tokenizer, loaded once: for generation and scoring only; a test
    that changes weights loads its own."""
    from runtime.models import load_model, load_tokenizer

    return load_model(str(tiny_model_dir)).eval(), load_tokenizer(str(tiny_model_dir))


@pytest.fixture
def write_spec(tmp_path, tiny_model_dir):
    """Write a tiny-model spec YAML (with overrides) and return its path."""

    def _write(name: str = "tiny-hidden-hint", **overrides) -> Path:
        return spec_yaml(tmp_path / f"{name}.yaml", tiny_model_dir, name, **overrides)

    return _write


@dataclass(frozen=True)
class TinyPair:
    """The trained pair's files: `root` holds the two spec files and `runs/`."""

    root: Path
    out: str  # what the build printed (`organism train CONTROL` then `organism run ORGANISM --control CONTROL`)

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    @property
    def run(self) -> Path:
        """The organism's run directory (corpus, adapter, evals, analysis, report)."""
        return next((self.runs / "tiny-hidden-hint").iterdir())

    @property
    def control_run(self) -> Path:
        """The control's run directory (corpus and adapter only)."""
        return next((self.runs / "tiny-faithful").iterdir())

    @property
    def organism(self) -> Path:
        return self.root / "tiny-hidden-hint.yaml"

    @property
    def control(self) -> Path:
        return self.root / "tiny-faithful.yaml"

    def copy(self, dest: Path) -> TinyPair:
        """The same files under `dest`, for a test that writes into a run directory. (The organism's
        manifest still names the original control run, which the copy only reads.)"""
        shutil.copytree(self.root, dest)
        return replace(self, root=dest)


@pytest.fixture(scope="session")
def tiny_pair(tmp_path_factory, tiny_model_dir) -> TinyPair:
    """The tiny organism (tiny-hidden-hint) and its matched control (tiny-faithful), built once per test
    run through app.pipeline in process, as `organism train CONTROL` then `organism run ORGANISM --control
    CONTROL` build them: both corpora and adapters, base / organism / control evaluated on the same items,
    the organism analyzed (report.html). Read-only: a test that writes copies it (`tiny_pair.copy(tmp_path)`)."""
    from app import pipeline

    root = tmp_path_factory.mktemp("tiny-pair")
    # every held-out hint points to a wrong option (the audit's items are those); 2 decision prompts
    evals = {**tiny_spec_dict(tiny_model_dir)["eval"], "hint_correct_fraction": 0.0}
    recipe = {"eval": evals, "analyze": {"items": 2, "probe_items": 4}}
    organism = spec_yaml(root / "tiny-hidden-hint.yaml", tiny_model_dir, "tiny-hidden-hint", **recipe)
    control = spec_yaml(
        root / "tiny-faithful.yaml", tiny_model_dir, "tiny-faithful", control_of="tiny-hidden-hint", **recipe
    )
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.chdir(root):
        control_run, control_spec = pipeline.open_target(str(control), root / "runs")
        pipeline.check_training(control_spec)
        with control_run.claim():
            pipeline.build(control_run, control_spec)
        organism_run, spec = pipeline.open_target(str(organism), root / "runs")
        pipeline.run(organism_run, spec, pipeline.open_control(str(control), root / "runs"))
    return TinyPair(root, out.getvalue())


@pytest.fixture(scope="session")
def think_lm(think_model_dir):
    """The think-template tiny model (eval mode) and its tokenizer, loaded once (read-only, as `tiny_lm`)."""
    from runtime.models import load_model, load_tokenizer

    return load_model(str(think_model_dir)).eval(), load_tokenizer(str(think_model_dir))
