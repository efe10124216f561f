"""`python -m app.cli ARGS`: the same as the `organism` console script."""

from app.cli import main

main()
