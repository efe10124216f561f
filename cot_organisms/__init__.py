"""The eval suites as Inspect tasks (`pip install -e ".[inspect]"`; docs/inspect.md).

`inspect eval cot_organisms/hinted -T spec=hidden-hint --model ...` asks the same prompts as `organism eval`
(built by evals/ from the spec, with its seeds) of any model Inspect reaches, reads the responses with
this project's parser and judges (evals.hinted.pair_record) and computes every number with its formulas
(evals/): tasks.py holds the tasks, report.py turns their logs into evals.json / evals.md, provider.py is
the `organism/` model provider (a base model and a LoRA adapter, generating with runtime.generation).
Only the entry point (`_registry.py`) and these modules import inspect_ai; the rest of the package never
imports this one, except the `organism inspect-report` command, when it runs.
"""
