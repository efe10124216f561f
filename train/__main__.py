"""`accelerate launch --config_file accelerate_configs/X.yaml -m train SPEC [options]`.

The same command as `organism train` (same options, checks and errors); also runs as
`python -m train SPEC`. The main process builds the corpus first; the other ranks wait,
then every rank trains its shard.
"""

from __future__ import annotations

import sys

import typer

from app.cli import app
from runtime.quiet import quiet_third_party


def main(argv: list[str] | None = None) -> None:
    quiet_third_party()
    train = typer.main.get_command(app).commands["train"]
    train.main(args=sys.argv[1:] if argv is None else argv, prog_name="python -m train")


if __name__ == "__main__":
    main()
