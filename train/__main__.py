"""`accelerate launch --config_file accelerate_configs/X.yaml -m train SPEC [options]`.

Also runs as `python -m train SPEC`. The main process builds the corpus first; the other
ranks wait, then every rank trains its shard.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from organisms.catalog import resolve_spec
from organisms.errors import OrganismError
from organisms.models import resolve_model
from organisms.rundir import RunDir
from organisms.tracking import report_to
from synth_docs.stage import run_docs
from train.sft import check_quantization
from train.stage import distributed_state, run_train


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train", description=__doc__.splitlines()[0])
    parser.add_argument("spec", help="catalogue name or spec YAML path")
    parser.add_argument("--runs-dir", type=Path, default=Path("runs"))
    parser.add_argument("--run-id", default=None)
    parser.add_argument("--no-wandb", action="store_true")
    args = parser.parse_args(argv)
    state = distributed_state()
    try:
        spec = resolve_spec(args.spec)
        check_quantization(spec)
        with state.main_process_first():
            resolve_model(spec.base_model)
            run = RunDir.for_spec(args.runs_dir, spec, args.run_id)
            if state.is_main_process:
                run.initialise(spec)
                run_docs(run, spec)
        card = run_train(run, spec, report_to=report_to(spec, disabled=args.no_wandb))
    except OrganismError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if state.is_main_process:
        print(f"adapter: {run.root / 'adapter'} ({card['tokens_per_second']} tokens/s, {card['shards']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
