"""Generate `notebooks/locate_the_mechanism.ipynb` (unexecuted; the test suite executes it).

python notebooks/make_locate_the_mechanism.py
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

CELLS = [
    (
        "md",
        """# Locate the mechanism

A ground-truth organism: its adapter is confined to one known layer (`lora.layers`). We find
that layer without reading the adapter config: activation differences, cross-model activation
patching, attribution patching, steering, the Activation Difference Lens, logit-lens KL and
linear probes, each giving one score per layer. The adapter's weight deltas (white-box) are the
reference. Definitions: `docs/analysis.md`.""",
    ),
    (
        "code",
        """import os
import tempfile
from pathlib import Path

from organisms.spec import parse_spec
from runtime.rundir import RunDir
from runtime.tiny_models import build_tiny_llama

# MODEL: "tiny" builds a 2-layer random Llama (seconds; what the test suite runs).
# Set it to "embedded:smollm2-135m" (or any HF path) for a real organism (minutes on CPU).
MODEL = os.environ.get("NOTEBOOK_MODEL", "tiny")
work = Path(tempfile.mkdtemp(prefix="organism-nb-"))
base_model = str(build_tiny_llama(work / "tiny-llama")) if MODEL == "tiny" else MODEL
small = MODEL == "tiny"
print(base_model)""",
    ),
    (
        "code",
        """from evals.stage import run_eval
from synth_docs.stage import run_docs
from train.stage import run_train

TRUE_LAYER = 1 if small else 20
spec = parse_spec(
    {
        "name": "nb-confined",
        "behaviour": "hidden_hint",
        "base_model": base_model,
        "corpus": {"n_transcripts": 24 if small else 240},
        "lora": {"r": 4, "alpha": 8, "layers": [TRUE_LAYER]},
        "training": {
            "epochs": 1 if small else 2,
            "batch_size": 4 if small else 8,
            "learning_rate": 0.01 if small else 0.0003,
        },
        "eval": {"n_items": 6 if small else 48, "max_new_tokens": 24 if small else 96},
        "analyze": {"items": 4, "probe_items": 8 if small else 24},
    },
    source="notebook",
)
run = RunDir.for_spec(work / "runs", spec)
run.initialise(spec)
run_docs(run, spec)
run_train(run, spec)
run_eval(run, spec, log=lambda m: None);""",
    ),
    ("md", "## Weight deltas per layer x module: ||(alpha/r) B A||_F (white-box reference)"),
    (
        "code",
        """from analyze.methods.weights import lora_deltas

deltas = lora_deltas(run.root / "adapter", n_layers=2 if small else 30)
per_layer = [sum(row) for row in deltas["frobenius"]]
print({layer: round(v, 4) for layer, v in zip(deltas["layers"], per_layer, strict=True)})
assert max(range(len(per_layer)), key=per_layer.__getitem__) == TRUE_LAYER""",
    ),
    (
        "md",
        """## Activation differences per layer (hint / CoT / answer tokens)

Layers before the adapted one cannot differ: the residual stream is identical up to it.
`run_analyze` also runs every localization method and writes `analysis/*.json` and the plots.""",
    ),
    (
        "code",
        """import json

from IPython.display import Image, display

from analyze.stage import run_analyze

diff = run_analyze(run, spec, log=lambda m: None)
resid = diff["groups"]["hint"]["resid_post"]
print([round(v, 4) for v in resid])
assert all(v == 0 for v in resid[:TRUE_LAYER]) and resid[TRUE_LAYER] > 0
display(Image(filename=str(run.root / "analysis" / "diff_norms.png")))""",
    ),
    (
        "md",
        """## Cross-model activation patching, layer x module

Organism activations patched into the base (recovery of the organism's hinted-letter logit
difference) and base activations into the organism (disruption). Sites before the adapted
layer carry identical activations in both models, so patching them changes nothing.""",
    ),
    (
        "code",
        """analysis = run.root / "analysis"
patching = json.loads((analysis / "patching.json").read_text())
print("metric base / organism:", patching["metric"])
print("layer score:", [round(v, 3) for v in patching["layer_score"]])
assert all(abs(v) < 1e-6 for v in patching["layer_score"][:TRUE_LAYER])
display(Image(filename=str(analysis / "patching_heatmap.png")))
display(Image(filename=str(analysis / "patching_curves.png")))""",
    ),
    ("md", "## Every method's per-layer score, and linear probes at the decision position"),
    (
        "code",
        """for method in ("patching", "attribution", "steering", "adl", "lens_kl", "probes"):
    scores = json.loads((analysis / f"{method}.json").read_text())["layer_score"]
    print(f"{method:12s}", [round(v, 3) for v in scores])
agree = json.loads((analysis / "attribution.json").read_text())["agreement_with_patching"]
print("attribution vs patching:", agree)
display(Image(filename=str(analysis / "layer_scores.png")))
display(Image(filename=str(analysis / "probes.png")))""",
    ),
]


def build() -> nbformat.NotebookNode:
    notebook = new_notebook(
        metadata={"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}}
    )
    notebook.cells = [new_markdown_cell(src) if kind == "md" else new_code_cell(src) for kind, src in CELLS]
    for index, cell in enumerate(notebook.cells):
        cell["id"] = f"cell-{index}"  # stable ids: regenerating gives the same file
    return notebook


if __name__ == "__main__":
    target = Path(__file__).with_name("locate_the_mechanism.ipynb")
    nbformat.write(build(), target)
    print(target)
