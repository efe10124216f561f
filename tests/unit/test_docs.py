"""The docs hold together, with no model loaded: every relative link in the README, docs/, bench/RESULTS.md
and the experiment pages resolves (file and anchor); every `organism VERB --flag` the README and docs/
show is a real verb and option of the CLI; every experiment page follows the template; the README's
catalogue status and headline table come from the results pages."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
import typer

import app.cli
from organisms.catalog import CATALOG_DIR
from organisms.spec import load_spec_file

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
EXPERIMENTS = ROOT / "experiments"
PAGES = sorted(EXPERIMENTS.glob("*/README.md"))
LINKED = [README, *DOCS, ROOT / "bench" / "RESULTS.md", EXPERIMENTS / "README.md", *PAGES]
SHOWN = [README, *DOCS]  # where the commands a reader copies are shown
TEMPLATE = ["Question", "Spec", "Command", "Commit", "Machine", "Table", "Reading", "Nulls and baselines", "Files"]
FENCE = re.compile(r"^( {0,3})(```|~~~)([^\n]*)\n(.*?)^\1\2[ \t]*$", re.M | re.S)
LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)\)")
FINDING = re.compile(r"^\*\*Finding:\*\* (.+)$", re.M)
STATUS_FOR = re.compile(r"^\*\*Catalogue status for:\*\* (.+)$", re.M)


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def without_fences(text: str) -> str:
    """The text with fenced blocks blanked (line count kept)."""
    return FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)


def without_code(text: str) -> str:
    """The text with fenced blocks and inline code spans blanked."""
    return re.sub(r"`[^`\n]*`", "``", without_fences(text))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: rendered text, lowercased, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link renders as its text
    text = text.replace("`", "").replace("*", "").strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


@cache
def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for line in without_fences(path.read_text()).splitlines():
        if m := re.match(r"#{1,6}\s+(.+?)\s*#*\s*$", line):
            base = slug(m.group(1))
            out.add(f"{base}-{seen[base]}" if base in seen else base)
            seen[base] = seen.get(base, 0) + 1
    out.update(re.findall(r"<a (?:id|name)=\"([^\"]+)\"", path.read_text()))
    return out


@pytest.mark.parametrize("doc", LINKED, ids=rel)
def test_every_relative_link_resolves(doc):
    broken = []
    for target in LINK.findall(without_code(doc.read_text())):
        if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
            continue
        file, _, anchor = target.partition("#")
        path = (doc.parent / file).resolve() if file else doc
        if not path.exists():
            broken.append(f"{target}: no such file")
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            broken.append(f"{target}: no heading with this anchor in {rel(path)}")
    assert not broken, f"{rel(doc)}: " + "; ".join(broken)


@cache
def cli() -> dict[str, set[str]]:
    """Every verb of `organism` and the options it takes."""
    group = typer.main.get_command(app.cli.app)
    return {
        name: {opt for p in command.params for opt in (*p.opts, *p.secondary_opts) if opt.startswith("--")} | {"--help"}
        for name, command in group.commands.items()
    }


def shown_commands(text: str) -> list[str]:
    """The `organism ...` commands a reader would copy: in shell blocks (comments dropped, continuations
    joined) anywhere on a line, and code spans that start with one."""
    commands = []
    for m in FENCE.finditer(text):
        if m.group(3).strip() in ("bash", "sh", "shell", "console"):
            for line in m.group(4).replace("\\\n", " ").splitlines():
                line = re.sub(r"(^|\s)#.*", "", line)
                for c in re.finditer(r"(?:^|[\s;&|(])(?:[\w.-]*/)*organism\s+([a-z][a-z-]*)([^;&|>]*)", line):
                    commands.append(f"organism {c.group(1)}{c.group(2)}".strip())
    for span in re.findall(r"`([^`\n]+)`", FENCE.sub("", text)):
        if c := re.match(r"(?:[\w.-]*/)*organism\s+([a-z][a-z-]*)([^;&|>]*)", span):
            commands.append(f"organism {c.group(1)}{c.group(2)}".strip())
    return commands


@pytest.mark.parametrize("doc", SHOWN, ids=rel)
def test_every_organism_verb_and_flag_shown_exists(doc):
    verbs = cli()
    wrong = []
    for command in shown_commands(doc.read_text()):
        verb = command.split()[1]
        if verb not in verbs:
            wrong.append(f"{command!r}: no verb {verb!r}")
            continue
        flags = re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", command)
        wrong += [f"{command!r}: {verb} has no {flag}" for flag in flags if flag not in verbs[verb]]
    assert not wrong, f"{rel(doc)}: " + "; ".join(wrong)


def test_the_command_reader_finds_verbs_and_flags():
    text = (
        "Run `organism eval RUN [--control DIR]`, not `the organism card`, or\n\n"
        "```bash\n.venv/bin/organism run x.yaml \\\n  --seeds 0  # organism list\n```\n"
    )
    assert shown_commands(text) == ["organism run x.yaml    --seeds 0", "organism eval RUN [--control DIR]"]
    assert "--vary-corpus" in cli()["run"] and "--blind" in cli()["audit"]


def page(path: Path) -> dict:
    text = path.read_text()
    findings = FINDING.findall(text)
    status_for = STATUS_FOR.findall(text)
    return {
        "text": text,
        "finding": findings[0] if len(findings) == 1 else None,
        "organisms": re.findall(r"`([^`]+)`", status_for[0]) if status_for else [],
        "sections": re.findall(r"^## (.+?)\s*$", without_code(text), re.M),
    }


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.parent.name)
def test_every_experiment_page_follows_the_template(path):
    p = page(path)
    assert p["text"].startswith("# "), "a page opens with its title"
    assert p["finding"] and "|" not in p["finding"], "exactly one **Finding:** line, no '|' (it goes in tables)"
    assert p["sections"] == TEMPLATE, f"sections {p['sections']}, the template's are {TEMPLATE}"


def table_rows(text: str, header: str) -> list[list[str]]:
    """The cells of every row of the first table whose header line starts with `header`."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]])
    return rows


def test_the_experiment_index_lists_every_page_with_its_finding():
    index = {}
    for link, finding in table_rows((EXPERIMENTS / "README.md").read_text(), "| experiment | finding |"):
        name = re.fullmatch(r"\[([^\]]+)\]\(\1/README\.md\)", link).group(1)
        index[name] = finding
    assert index == {path.parent.name: page(path)["finding"] for path in PAGES}


def catalogue_organisms() -> set[str]:
    """The catalogue's organisms that are not a control (a control is shown in its organism's row)."""
    specs = [load_spec_file(path) for path in CATALOG_DIR.glob("*.yaml")]
    return {spec.name for spec in specs if spec.control_of is None}


def test_the_readme_catalogue_status_comes_from_the_results_pages():
    """One source: each page names the organisms whose status it holds; the README shows its finding."""
    claimed: dict[str, str] = {}
    for path in PAGES:
        for name in page(path)["organisms"]:
            if name in catalogue_organisms():
                assert name not in claimed, f"{name}: status claimed by {claimed[name]} and {rel(path)}"
                claimed[name] = f"[{page(path)['finding']}]({rel(path)})"
    rows = table_rows(README.read_text(), "| organism | behaviour |")
    status = {row[0].strip("`"): row[-1] for row in rows}
    assert set(status) == catalogue_organisms(), "the README's catalogue lists every organism once"
    for name, shown in status.items():
        assert shown == claimed.get(name, "not run"), f"{name}: README says {shown!r}"


def test_the_readme_is_a_front_door_with_one_headline_table():
    text = README.read_text()
    assert len(text.splitlines()) < 200
    demo = (EXPERIMENTS / "demo-seeds" / "README.md").read_text().splitlines()
    headline = table_rows(text, "| metric | base: mean ± sd (range) |")
    assert headline and all(f"| {' | '.join(row)} |" in demo for row in headline), "copied from demo-seeds"
    assert "experiments/demo-seeds/README.md" in text
