"""inspect_ai is an optional extra: without it the `organism` CLI and the stages import, and
`organism inspect-report` says how to install it (the layers contract checks that only cot_organisms
imports inspect_ai; this checks that the CLI imports cot_organisms only when that command runs)."""

from __future__ import annotations

import subprocess
import sys

# Python with inspect_ai unimportable, as where the extra is not installed; then the CLI's modules, then the command.
CODE = """
import sys
sys.modules['inspect_ai'] = None
import app.cli, app.pipeline, evals.stage, evals.registry, analyze.stage
assert not any(m == 'cot_organisms' or m.startswith('cot_organisms.') for m in sys.modules)
print('imported')
sys.argv = ['organism', 'inspect-report', 'logs']
app.cli.main()
"""


def test_without_inspect_ai_the_cli_imports_and_inspect_report_says_how_to_install_it():
    done = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=300)
    assert done.stdout.strip() == "imported", done.stderr[-2000:]
    assert done.returncode == 2, done.stderr[-2000:]
    assert 'pip install -e ".[inspect]"' in done.stderr
