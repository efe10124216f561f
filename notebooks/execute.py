"""Execute a notebook top to bottom and save it with its outputs, so a reader on the web sees results.

    NOTEBOOK_MODEL=embedded:smollm2-135m python notebooks/execute.py notebooks/locate_the_mechanism.ipynb

The notebooks are committed executed on the embedded model (this command); the tests re-execute them
on the tiny model and check that the generated ones still have their script's cells. The file is
replaced only after every cell ran (a failing cell leaves it as it was).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from runtime.rundir import write_atomic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--out", type=Path, help="default: the notebook itself")
    parser.add_argument("--timeout", type=int, default=7200, help="seconds per cell")
    args = parser.parse_args()
    notebook = nbformat.read(args.notebook, as_version=4)
    start = time.perf_counter()
    workdir = args.notebook.resolve().parent
    NotebookClient(
        notebook, timeout=args.timeout, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
    ).execute()
    out = args.out or args.notebook
    write_atomic(out, nbformat.writes(notebook) + "\n")
    model = os.environ.get("NOTEBOOK_MODEL", "tiny")
    print(f"{args.notebook} executed on {model} in {time.perf_counter() - start:.0f} s -> {out}")


if __name__ == "__main__":
    main()
