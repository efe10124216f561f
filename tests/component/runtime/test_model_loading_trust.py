"""Nothing a model directory says is trusted (issue 31): its own Python code never runs unless the spec sets
`trust_remote_code: true`, weights load from safetensors only, and a directory without weights is refused
before anything is written. Every loader is tried on a directory whose code would create a marker file."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from app.cli import app
from organisms.errors import OrganismError
from organisms.spec import parse_spec
from runtime import models
from tests.helpers import tiny_spec_dict

CODE = """from pathlib import Path
Path({marker!r}).write_text("the model directory's code ran")
from transformers import LlamaConfig, LlamaForCausalLM


class EvilConfig(LlamaConfig):
    model_type = "evil"


class EvilForCausalLM(LlamaForCausalLM):
    config_class = EvilConfig
"""


@pytest.fixture
def remote_code_dir(tmp_path, tiny_model_dir) -> Path:
    """The tiny model with a config that names its own code (`auto_map`) and an unknown model type, so only
    that code can load it; the code writes `tmp_path/MARKER` when imported."""
    model = shutil.copytree(tiny_model_dir, tmp_path / "remote-code-model")
    (model / "evil.py").write_text(CODE.format(marker=str(tmp_path / "MARKER")))
    config = json.loads((model / "config.json").read_text())
    config["model_type"] = "evil"
    config["auto_map"] = {"AutoConfig": "evil.EvilConfig", "AutoModelForCausalLM": "evil.EvilForCausalLM"}
    (model / "config.json").write_text(json.dumps(config))
    return model


def cli(*args: str):
    return CliRunner().invoke(app, list(args))


def loaders(ref: str, adapter: Path):
    """Every loader of runtime/models.py, called the way the package calls it (no trust given)."""
    return {
        "resolve_model": lambda: models.resolve_model(ref),
        "load_tokenizer": lambda: models.load_tokenizer(ref),
        "load_config": lambda: models.load_config(ref),
        "load_model": lambda: models.load_model(ref),
        "load_with_adapters": lambda: models.load_with_adapters(ref, {"organism": adapter}),
    }


def small_adapter(base: Path, out: Path) -> Path:
    """A real (random) LoRA adapter on `base`, saved as peft saves one."""
    from peft import LoraConfig, get_peft_model

    model = get_peft_model(models.load_model(str(base)), LoraConfig(r=2, target_modules=["q_proj"]))
    model.save_pretrained(out)
    return out


def test_no_loader_runs_a_model_directorys_code(tmp_path, remote_code_dir, tiny_model_dir):
    adapter = small_adapter(tiny_model_dir, tmp_path / "adapter")
    for name, load in loaders(str(remote_code_dir), adapter).items():
        with pytest.raises(OrganismError, match=r"config\.json has `auto_map`.*trust_remote_code: true") as caught:
            load()
        assert str(remote_code_dir / "config.json") in str(caught.value), name
        assert not (tmp_path / "MARKER").exists(), f"{name} ran the model directory's code"


def test_a_tokenizer_config_that_names_code_is_refused_too(tmp_path, tiny_model_dir):
    model = shutil.copytree(tiny_model_dir, tmp_path / "model")
    config = json.loads((model / "tokenizer_config.json").read_text())
    config["auto_map"] = {"AutoTokenizer": ["evil.EvilTokenizer", None]}
    (model / "tokenizer_config.json").write_text(json.dumps(config))
    with pytest.raises(OrganismError, match=r"tokenizer_config\.json has `auto_map`"):
        models.load_tokenizer(str(model))


def test_docs_refuses_remote_code_naming_the_file_and_the_spec_field(tmp_path, remote_code_dir):
    """Before: `docs` exited 0 with transformers' '[y/N]' prompt on stderr (and ran the code on a 'y')."""
    spec = tmp_path / "remote.yaml"
    spec.write_text(yaml.safe_dump(tiny_spec_dict(remote_code_dir, "remote")))
    result = cli("docs", str(spec), "--runs-dir", str(tmp_path / "runs"))
    assert result.exit_code == 2, result.output
    assert str(remote_code_dir / "config.json") in result.output and "trust_remote_code: true" in result.output
    assert "[y/N]" not in result.output
    assert not (tmp_path / "runs").exists() and not (tmp_path / "MARKER").exists()


def test_the_spec_field_lets_the_code_run_and_is_left_out_of_the_run_id(tmp_path, remote_code_dir, monkeypatch):
    import transformers.dynamic_module_utils as dynamic

    data = tiny_spec_dict(remote_code_dir, "remote")
    default, explicit = parse_spec(data, "a"), parse_spec({**data, "trust_remote_code": False}, "b")
    allowed = parse_spec({**data, "trust_remote_code": True}, "c")
    assert default.content_hash() == explicit.content_hash() and "trust_remote_code" not in default.to_yaml()
    assert allowed.content_hash() != default.content_hash() and allowed.trust_remote_code
    # the code is copied into transformers' modules cache: a temporary one here
    monkeypatch.setattr(dynamic, "HF_MODULES_CACHE", str(tmp_path / "modules"))
    monkeypatch.setattr(sys, "path", list(sys.path))
    model = models.load_model(str(remote_code_dir), trust_remote_code=allowed.trust_remote_code)
    assert type(model).__name__ == "EvilForCausalLM" and (tmp_path / "MARKER").exists()


def test_every_from_pretrained_in_the_package_says_whether_code_may_run():
    """A static guard: each `*.from_pretrained(...)` call in the packages passes `trust_remote_code` (peft's
    PeftModel loads an adapter's config and safetensors only and takes no such argument)."""
    import ast

    root = Path(__file__).resolve().parents[3]
    missing = []
    for package in ("organisms", "runtime", "synth_docs", "train", "evals", "analyze", "app"):
        for path in (root / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                    continue
                if node.func.attr != "from_pretrained":
                    continue
                receiver = ast.unparse(node.func.value)
                if receiver == "PeftModel" or any(k.arg == "trust_remote_code" for k in node.keywords):
                    continue
                missing.append(f"{path.relative_to(root)}:{node.lineno} {receiver}.from_pretrained")
    assert not missing, missing


def test_weights_only_in_a_pickle_are_refused_before_anything_is_written(tmp_path, tiny_model_dir):
    """Before: a `pytorch_model.bin`-only directory passed the up-front check (use_safetensors=True refused
    it later, after the corpus was written)."""
    model = shutil.copytree(tiny_model_dir, tmp_path / "pickled")
    (model / "model.safetensors").rename(model / "pytorch_model.bin")
    with pytest.raises(OrganismError, match=r"only in pytorch_model\.bin \(a pickle"):
        models.resolve_model(str(model))
    spec = tmp_path / "pickled.yaml"
    spec.write_text(yaml.safe_dump(tiny_spec_dict(model, "pickled")))
    result = cli("docs", str(spec), "--runs-dir", str(tmp_path / "runs"))
    assert result.exit_code == 2 and "pytorch_model.bin" in result.output, result.output
    assert not (tmp_path / "runs").exists()


def test_a_model_directory_without_weights_is_refused_before_anything_is_written(tmp_path, tiny_model_dir):
    """Before: the check passed, `docs` wrote the corpus, then `train` exited 1 with a long traceback."""
    model = shutil.copytree(tiny_model_dir, tmp_path / "no-weights")
    (model / "model.safetensors").unlink()
    spec = tmp_path / "no-weights.yaml"
    spec.write_text(yaml.safe_dump(tiny_spec_dict(model, "no-weights")))
    for command in (["docs"], ["train", "--no-wandb"]):
        result = cli(command[0], str(spec), "--runs-dir", str(tmp_path / "runs"), *command[1:])
        assert result.exit_code == 2 and "has no weights" in result.output, result.output
        assert not (tmp_path / "runs").exists()


def test_a_sharded_checkpoint_with_a_missing_shard_is_refused(tmp_path, tiny_model_dir):
    model = shutil.copytree(tiny_model_dir, tmp_path / "sharded")
    (model / "model.safetensors").rename(model / "model-00001-of-00002.safetensors")
    index = {"weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}
    (model / "model.safetensors.index.json").write_text(json.dumps(index))
    with pytest.raises(OrganismError, match=r"model-00002-of-00002\.safetensors"):
        models.resolve_model(str(model))


def test_a_pickled_adapter_is_refused_before_anything_is_written(tmp_path, tiny_model_dir):
    """Before: an adapter directory with only `adapter_model.bin` passed `organism eval`'s up-front check."""
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": str(tiny_model_dir)}))
    (adapter / "adapter_model.bin").write_bytes(b"\x80\x04not really a pickle")
    spec = tmp_path / "s.yaml"
    spec.write_text(yaml.safe_dump(tiny_spec_dict(tiny_model_dir, "pickled-adapter")))
    out = tmp_path / "evals"
    result = cli("eval", str(adapter), "--spec", str(spec), "--out", str(out))
    assert result.exit_code == 2 and "adapter_model.bin (a pickle" in result.output, result.output
    assert not out.exists()
    with pytest.raises(OrganismError, match=r"adapter_model\.bin \(a pickle"):
        models.load_with_adapters(str(tiny_model_dir), {"organism": adapter})
