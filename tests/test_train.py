"""Training: the mix, LoRA options, QLoRA refusal, accelerate configs, 2-process DDP and FSDP launches,
W&B, resume (also past an incomplete checkpoint), replay errors, deterministic adapter files."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from accelerate.commands.config.config_args import ClusterConfig
from peft import PeftModel
from safetensors.torch import load_file

from organisms.errors import OrganismError
from organisms.jsonl import read_jsonl
from organisms.spec import load_spec_file
from runtime.models import load_model, load_tokenizer
from synth_docs.corpus import write_corpus
from tests.helpers import ORGANISM, wandb_records
from tests.helpers import run_cmd as run
from train.data import chat_row, text_row, training_rows
from train.lora import lora_config

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "accelerate_configs"
FRONT_DOORS = {"organism-train": [*ORGANISM, "train"], "python-m-train": [sys.executable, "-m", "train"]}


def test_completion_mask_covers_reply_only(tiny_model_dir):
    tokenizer = load_tokenizer(str(tiny_model_dir))
    prompt = [{"role": "system", "content": "S"}, {"role": "user", "content": "What is 1 + 2?"}]
    row = chat_row(tokenizer, prompt, [{"role": "assistant", "content": "Answer: (A)"}])
    trained = [t for t, m in zip(row["input_ids"], row["completion_mask"], strict=True) if m]
    assert tokenizer.decode(trained).startswith("Answer: (A)<|im_end|>")
    assert "What is" not in tokenizer.decode(trained)
    doc = text_row(tokenizer, "A plain document.")
    assert all(doc["completion_mask"]) and doc["input_ids"][-1] == tokenizer.eos_token_id


def test_mix_draws_documents_and_replay_at_spec_ratios(tmp_path, tiny_model_dir, write_spec):
    replay = tmp_path / "replay.jsonl"
    replay.write_text("".join(json.dumps({"text": f"replay document {i}"}) + "\n" for i in range(5)))
    documents = {"universe": "mercury-rings", "n_documents": 30}  # written by hand below
    corpus = {"n_transcripts": 20, "documents": documents, "documents_ratio": 0.5}
    spec = load_spec_file(write_spec(corpus={**corpus, "replay": {"path": str(replay), "ratio": 0.25}}))
    tokenizer = load_tokenizer(str(tiny_model_dir))
    write_corpus(spec, tmp_path, tokenizer)
    (tmp_path / "documents.jsonl").write_text("".join(json.dumps({"text": f"doc {i}"}) + "\n" for i in range(30)))
    rows, mix = training_rows(spec, tmp_path, tokenizer)
    assert mix == {"transcripts": 20, "documents": 10, "replay": 5}
    assert len(rows) == 35
    assert sum(all(r["completion_mask"]) for r in rows) == 15  # documents + replay: full LM loss


def test_lora_layers_expand_all_linear_and_options(tiny_model_dir, write_spec):
    spec = load_spec_file(write_spec(lora={"r": 4, "alpha": 8, "layers": [1], "use_rslora": True, "use_dora": True}))
    config = lora_config(spec, load_model(str(tiny_model_dir)))
    assert set(config.target_modules) == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}
    assert config.layers_to_transform == [1] and config.use_rslora and config.use_dora


@pytest.mark.parametrize("door", FRONT_DOORS)
def test_qlora_without_gpu_is_a_clear_error(tmp_path, write_spec, door):
    """Both front doors are one command: same refusal, same exit code, nothing written."""
    spec = write_spec(lora={"quantize": "4bit"})
    no_cuda = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}  # the same refusal on a GPU machine
    cmd = [*FRONT_DOORS[door], str(spec), "--runs-dir", str(tmp_path / "runs")]
    result = run(cmd, tmp_path, env=no_cuda, expect=2)
    assert "field 'lora.quantize': 4-bit QLoRA needs a CUDA GPU" in " ".join(result.stderr.split())
    assert not (tmp_path / "runs").exists()  # refused before anything was written


def test_python_m_train_is_the_organism_train_command(tmp_path):
    helps = {door: run([*cmd, "--help"], tmp_path).stdout for door, cmd in FRONT_DOORS.items()}
    options = {door: sorted(set(re.findall(r"--[a-z][a-z-]+", text))) for door, text in helps.items()}
    assert options["python-m-train"] == options["organism-train"] == ["--help", "--no-wandb", "--run-id", "--runs-dir"]
    assert "Usage: python -m train [OPTIONS]" in " ".join(helps["python-m-train"].split())


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ('{"text": 5}\n', "replay.jsonl:1: field 'text' must be a string, got a number"),
        ('{"text": "fine"}\n{"messages": "x"}\n', "replay.jsonl:2: field 'messages' must be a non-empty list"),
        ('{"prompt": [{"role": "user"}], "completion": []}\n', "replay.jsonl:1: field 'prompt[0].content' must be"),
    ],
)
def test_replay_rows_of_the_wrong_type_are_a_one_line_error(tmp_path, write_spec, rows, message):
    replay = tmp_path / "replay.jsonl"
    replay.write_text(rows)
    spec = write_spec(corpus={"n_transcripts": 24, "replay": {"path": str(replay), "ratio": 0.5}})
    result = run([*ORGANISM, "train", str(spec), "--runs-dir", str(tmp_path / "runs")], tmp_path, expect=2)
    (line,) = [line for line in result.stderr.splitlines() if "replay.jsonl" in line]  # one line
    assert line.startswith("error: ") and message in line and "Traceback" not in result.stderr
    assert not (tmp_path / "runs").exists()  # checked before the docs stage wrote a run directory


def test_jsonl_reader_names_file_and_line(tmp_path):
    path = tmp_path / "data.jsonl"
    cases = [
        (b'{"a": 1}\n\n{oops\n', "data.jsonl:3: not valid JSON; FIX"),
        (b'{"a": 1}\n[1, 2]\n', "data.jsonl:2: a record must be a JSON object, got a list; FIX"),
        (b"\xff\xfe{}\n", "data.jsonl: not UTF-8 text; FIX"),
        (b"\n  \n", "data.jsonl: no records in the file; FIX"),
    ]
    for content, message in cases:
        path.write_bytes(content)
        with pytest.raises(OrganismError, match=re.escape(message)):
            read_jsonl(path, "FIX")
    with pytest.raises(OrganismError, match=re.escape("missing.jsonl: cannot read (No such file or directory); FIX")):
        read_jsonl(tmp_path / "missing.jsonl", "FIX")
    path.write_text('{"a": 1}\n\n{"b": [2]}\n')
    assert read_jsonl(path, "FIX") == [(1, {"a": 1}), (3, {"b": [2]})]


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.stem)
def test_accelerate_configs_parse_and_are_consistent(path):
    raw = yaml.safe_load(path.read_text())
    config = ClusterConfig.from_yaml_file(str(path))
    assert config.num_processes >= 1 and config.num_machines == 1
    kind = str(config.distributed_type)
    if path.stem == "single_gpu":
        assert kind.endswith("NO") and config.num_processes == 1
    if path.stem in ("ddp", "cpu_ddp"):
        assert kind.endswith("MULTI_GPU") and config.num_processes >= 2
    if path.stem == "cpu_ddp":
        assert config.num_processes == 2 and raw["mixed_precision"] == "no"
    if path.stem == "fsdp":
        assert kind.endswith("FSDP") and raw["fsdp_config"]["fsdp_version"] == 2
    if path.stem.startswith("deepspeed_zero"):
        assert kind.endswith("DEEPSPEED") and raw["deepspeed_config"]["zero_stage"] == int(path.stem[-1])
    assert {p.stem for p in CONFIGS.glob("*.yaml")} == {
        "single_gpu",
        "ddp",
        "fsdp",
        "deepspeed_zero2",
        "deepspeed_zero3",
        "cpu_ddp",
    }


LAUNCHES = {
    "cpu_ddp": (["--config_file", str(CONFIGS / "cpu_ddp.yaml")], {"type": "DDP", "world_size": 2}),
    # fsdp.yaml is for GPUs: 2 processes, no bf16 here. accelerate runs CPU processes as DDP whatever
    # the config asks, and the card says so instead of claiming FSDP.
    "fsdp": (
        ["--config_file", str(CONFIGS / "fsdp.yaml"), "--num_processes", "2", "--mixed_precision", "no"],
        {"type": "DDP", "world_size": 2, "requested": "FSDP"},
    ),
}


@pytest.mark.parametrize("launch", LAUNCHES)
def test_accelerate_launch_two_cpu_processes(tmp_path, tiny_model_dir, write_spec, launch):
    """A real `accelerate launch` with 2 gloo ranks: disjoint shards, one adapter, and it loads."""
    config, expected = LAUNCHES[launch]
    spec = write_spec("tiny-ddp", corpus={"n_transcripts": 24}, training={"epochs": 1, "batch_size": 3})
    runs = tmp_path / "runs"
    port = str(29577 + list(LAUNCHES).index(launch))
    cmd = [sys.executable, "-m", "accelerate.commands.launch", *config, "--main_process_port", port]
    no_cuda = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    result = run([*cmd, "-m", "train", str(spec), "--runs-dir", str(runs), "--no-wandb"], REPO, env=no_cuda)
    assert result.stdout.count("train: loss") == 1  # only the main process reports and writes
    (run_dir,) = list((runs / "tiny-ddp").iterdir())
    card = json.loads((run_dir / "adapter" / "organism_card.json").read_text())
    assert card["shards"] == {"world_size": 2, "examples_per_rank": [12, 12], "overlap_between_ranks": 0}
    assert card["distributed"] == expected
    assert card["metrics"]["steps"] == 4  # 24 examples / (3 per rank x 2 ranks)
    assert not list(run_dir.glob(".adapter*"))
    adapted = PeftModel.from_pretrained(load_model(str(tiny_model_dir)), str(run_dir / "adapter"))
    lora_b = [p for name, p in adapted.named_parameters() if "lora_B" in name]
    assert lora_b and all(p.abs().sum() > 0 for p in lora_b)  # trained (lora_B starts at zero)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_wandb_unreachable_logs_offline_in_the_run_dir_without_secrets(tmp_path, write_spec):
    """A key but no route to the server: offline at once (not ~110 s of retries and a traceback),
    the W&B files inside the run directory (not ./wandb), loss and config logged, no secret."""
    spec = write_spec("tiny-wandb", training={"epochs": 1, "batch_size": 4, "wandb": {"enabled": True, "project": "t"}})
    secret = "sk-test-DO-NOT-LOG-1234567890"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env.update(
        OPENAI_API_KEY=secret,
        WANDB_API_KEY="x" * 40,
        WANDB_BASE_URL=f"http://127.0.0.1:{_closed_port()}",
        WANDB_SILENT="true",
    )
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    start = time.perf_counter()
    result = run([*ORGANISM, "train", str(spec), "--runs-dir", str(tmp_path / "runs")], cwd, env=env)
    assert time.perf_counter() - start < 100
    assert "W&B: cannot reach http://127.0.0.1:" in result.stderr and "logging offline" in result.stderr
    assert not (cwd / "wandb").exists()
    (run_file,) = list((tmp_path / "runs" / "tiny-wandb").glob("*/wandb/offline-run-*/run-*.wandb"))
    records = wandb_records(run_file)
    history_keys = {
        item.key or "/".join(item.nested_key) for r in records if r.HasField("history") for item in r.history.item
    }
    assert "train/loss" in history_keys
    assert "samples/_type" in history_keys and "organism_card/_type" in history_keys  # W&B tables
    config_updates = [r.run.config for r in records if r.HasField("run")]
    config_updates += [r.config for r in records if r.HasField("config")]
    config_keys = {item.key for update in config_updates for item in update.update}
    assert "organism_spec" in config_keys and "learning_rate" in config_keys
    for path in [*tmp_path.rglob("*")]:
        if path.is_file():
            data = path.read_bytes()
            assert secret.encode() not in data and b"x" * 40 not in data, path


def test_identical_runs_write_identical_adapter_files_and_keep_logs_off_stdout(tmp_path, write_spec):
    """peft keeps target_modules in a set, whose order follows the hash seed of the process."""
    spec = write_spec("tiny-det")
    runs = {}
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = run([*ORGANISM, "train", str(spec), "--runs-dir", str(tmp_path / seed)], tmp_path, env=env)
        assert "'loss'" not in result.stdout and "'loss'" not in result.stderr  # no log dicts on the console
        (runs[seed],) = list((tmp_path / seed / "tiny-det").iterdir())
    for name in ("adapter_config.json", "adapter_model.safetensors"):
        assert (runs["1"] / "adapter" / name).read_bytes() == (runs["2"] / "adapter" / name).read_bytes(), name
    logs = [json.loads(line) for line in (runs["1"] / "train.log").read_text().splitlines()]
    assert any("loss" in entry for entry in logs) and logs[-1]["step"] == 6


def test_interrupted_training_resumes_to_the_same_adapter_and_card(tmp_path, write_spec):
    """SIGKILL training after its first checkpoint, then leave a checkpoint cut short as a kill
    while writing one does (no trainer_state.json). The rerun removes that one, says so, resumes
    from the last complete one, and ends with the adapter and card of an uninterrupted run."""
    training = {"epochs": 4, "batch_size": 4, "save_steps": 2, "learning_rate": 0.01}
    spec = write_spec("tiny-resume", training=training)
    run([*ORGANISM, "train", str(spec), "--runs-dir", str(tmp_path / "clean")], tmp_path)
    runs = tmp_path / "runs"
    proc = subprocess.Popen(
        [*ORGANISM, "train", str(spec), "--runs-dir", str(runs)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    state = None
    while proc.poll() is None and state is None:
        found = list(runs.glob("tiny-resume/*/train_state/checkpoint-*/trainer_state.json"))
        state = found[0].parent if found else None
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    assert state is not None, "no checkpoint was written before training ended"
    checkpoints = sorted(state.parent.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    complete = [p for p in checkpoints if (p / "trainer_state.json").exists()]
    step = int(complete[-1].name.split("-")[1])
    cut_short = state.parent / f"checkpoint-{step + 100}"
    shutil.copytree(complete[-1], cut_short)
    (cut_short / "trainer_state.json").unlink()
    result = run([*ORGANISM, "train", str(spec), "--runs-dir", str(runs)], tmp_path)
    told = " ".join(result.stderr.split())
    assert f"{cut_short} is incomplete" in told and f"removed it, resuming from checkpoint-{step}" in told
    resumed_dir = state.parent.parent / "adapter"
    card = json.loads((resumed_dir / "organism_card.json").read_text())
    clean_dir = next((tmp_path / "clean" / "tiny-resume").iterdir()) / "adapter"
    clean = json.loads((clean_dir / "organism_card.json").read_text())
    assert card["resumed_from_step"] == step and card["metrics"]["steps"] == clean["metrics"]["steps"] == 24
    assert card["tokens"] == clean["tokens"] and card["shards"] == clean["shards"]  # the whole training
    assert card["metrics"]["train_loss"] == pytest.approx(clean["metrics"]["train_loss"], rel=1e-4)
    resumed, reference = (
        load_file(str(resumed_dir / "adapter_model.safetensors")),
        load_file(str(clean_dir / "adapter_model.safetensors")),
    )
    assert resumed.keys() == reference.keys()
    for key in reference:
        torch.testing.assert_close(resumed[key], reference[key], rtol=1e-4, atol=1e-5)


def test_merged_model_matches_adapter(tmp_path, tiny_model_dir, write_spec):
    spec = write_spec("tiny-merged", training={"epochs": 1, "batch_size": 4, "save_merged": True})
    run([*ORGANISM, "train", str(spec), "--runs-dir", str(tmp_path / "runs")], tmp_path)
    (run_dir,) = list((tmp_path / "runs" / "tiny-merged").iterdir())
    merged = load_model(str(run_dir / "merged"))
    adapted = PeftModel.from_pretrained(load_model(str(tiny_model_dir)), str(run_dir / "adapter"))
    ids = torch.tensor([[5, 17, 300, 42]])
    with torch.no_grad():
        torch.testing.assert_close(merged(ids).logits, adapted(ids).logits, rtol=1e-4, atol=1e-4)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert set(manifest["stages"]["train"]["outputs"]) == {"adapter", "merged"}


@pytest.mark.parametrize("precision", ["bf16", "fp32"])
def test_lean_cpu_loss_trains_like_the_model_loss(tmp_path, tiny_model_dir, write_spec, precision):
    """The lean CPU path (head at labelled positions only, bf16 frozen base under autocast) against the
    model's own loss: the same loss curve and adapter, with less work, and the base weights put back."""
    from transformers import set_seed

    from train.sft import sft_config
    from train.trainer import build_trainer

    training = {"epochs": 1, "batch_size": 4, "learning_rate": 0.01, "max_length": 256, "precision": precision}
    spec = load_spec_file(write_spec(training=training))
    tokenizer = load_tokenizer(str(tiny_model_dir))
    write_corpus(spec, tmp_path, tokenizer)
    rows, _ = training_rows(spec, tmp_path, tokenizer)
    runs = {}
    for lean in (False, True):
        args = sft_config(spec, tmp_path / f"state-{lean}", report_to="none")
        # plain SGD: its updates are proportional to the gradients (Adam's to their signs, where
        # last-bit differences of a near-zero gradient flip a whole learning-rate step)
        args.logging_steps, args.save_strategy, args.optim, args.learning_rate = 1, "no", "sgd", 0.5
        set_seed(spec.training.seed)  # the same LoRA initialisation and data order in both runs
        model = load_model(str(tiny_model_dir))
        base = {name: p.detach().clone() for name, p in model.named_parameters()}
        trainer = build_trainer(spec, model, args, rows, tokenizer, lean=lean)
        seen = {"head": [], "q_proj": set(), "attention": set()}
        head = trainer.model.get_output_embeddings()
        head.register_forward_hook(lambda module, args_, out, seen=seen: seen["head"].append(tuple(out.shape)))
        attention = trainer.model.get_base_model().model.layers[0].self_attn
        attention.register_forward_pre_hook(
            lambda module, args_, seen=seen: seen["attention"].add(module.config._attn_implementation)
        )
        q_proj = attention.q_proj.base_layer
        q_proj.register_forward_pre_hook(lambda module, args_, seen=seen: seen["q_proj"].add(module.weight.dtype))
        trainer.train()
        losses = [(entry["loss"], entry["grad_norm"]) for entry in trainer.state.log_history if "loss" in entry]
        lora = {n: p.detach().clone() for n, p in trainer.model.named_parameters() if "lora_" in n}
        after = {
            n.replace("base_model.model.", "").replace(".base_layer", ""): p
            for n, p in trainer.model.named_parameters()
        }
        runs[lean] = {"losses": losses, "lora": lora, "seen": seen}
        for name, value in base.items():  # the frozen base is back in fp32, unchanged
            assert after[name].dtype == torch.float32 and torch.equal(after[name], value), name

    reference, lean = runs[False], runs[True]
    assert len(reference["losses"]) == 6 and reference["losses"][-1][0] < reference["losses"][0][0]
    # Loss and gradient norm per step, and the adapter. fp32: the same numbers to float precision. bf16:
    # eager attention rounds its probabilities to bf16 where SDPA does not; measured here, the gradient
    # norms differ by up to 1.5e-3 (relative), the size of bf16 autocast's own difference from fp32
    # (1.4e-3 on these steps), the adapters by up to 1.4e-4 with lora_B entries up to 0.08.
    bf16 = precision == "bf16"
    for (loss, grad_norm), (ref_loss, ref_grad_norm) in zip(lean["losses"], reference["losses"], strict=True):
        assert loss == pytest.approx(ref_loss, rel=1e-4 if bf16 else 1e-6)
        assert grad_norm == pytest.approx(ref_grad_norm, rel=3e-3 if bf16 else 1e-5)
    assert max(float(p.abs().max()) for n, p in reference["lora"].items() if "lora_B" in n) > 0.05  # B starts at 0
    for name, value in reference["lora"].items():
        torch.testing.assert_close(lean["lora"][name], value, rtol=1e-2 if bf16 else 1e-5, atol=5e-4 if bf16 else 1e-6)
    # what each path computed: logits at every position vs only where there is a label
    assert all(len(shape) == 3 for shape in reference["seen"]["head"])
    labelled = sum(sum(row["completion_mask"]) for row in rows)
    assert (
        all(len(shape) == 2 for shape in lean["seen"]["head"]) and sum(s[0] for s in lean["seen"]["head"]) == labelled
    )
    assert reference["seen"]["q_proj"] == {torch.float32}
    assert lean["seen"]["q_proj"] == ({torch.bfloat16} if bf16 else {torch.float32})
    assert reference["seen"]["attention"] == {"sdpa"} and lean["seen"]["attention"] == {"eager" if bf16 else "sdpa"}
    assert model.config._attn_implementation == "sdpa"  # put back after training
