"""Reading a spec: a YAML file or a mapping, validated once; every error names the source and field path."""

from __future__ import annotations

from pathlib import Path

import yaml

from organisms.errors import OrganismError
from organisms.spec.organism import OrganismSpec
from organisms.spec.section import validated


def parse_spec(data: object, source: str) -> OrganismSpec:
    """Validate a mapping as a spec; errors name `source` and the field path."""
    if not isinstance(data, dict):
        raise OrganismError(f"{source}: a spec must be a YAML mapping (got {type(data).__name__})")
    return validated(OrganismSpec, data, source)


def load_spec_file(path: Path) -> OrganismSpec:
    """Read and validate a YAML spec file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise OrganismError(f"{path}: cannot read spec ({exc.strerror}); check the path") from None
    except UnicodeDecodeError as exc:
        raise OrganismError(
            f"{path}: not UTF-8 text (byte {exc.start} is 0x{exc.object[exc.start]:02x}); save the spec as UTF-8"
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise OrganismError(f"{path}: malformed YAML{where}; fix the syntax") from None
    return parse_spec(data, str(path))
