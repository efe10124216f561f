"""The organism spec: one validated pydantic model per YAML file.

Specs are data (alignment-handbook style): everything that varies between organisms lives here, is
validated once (each section on its own, then across sections: consistency.py), and every error names the
field path. A spec changes only through `with_changes`, validated again. Its dump leaves out the fields
listed in run_id.py at their old values, so run ids stay put when a field is added.

This module is the spec's public face: import from `organisms.spec`, not from its files.
"""

from organisms.spec.backend import BackendName, BackendSpec
from organisms.spec.consistency import STYLED_BEHAVIOURS
from organisms.spec.corpus import (
    REASONING_STYLES,
    CorpusSpec,
    DocumentsSpec,
    EditorSpec,
    OnPolicySpec,
    ReasoningStyle,
    ReplaySpec,
)
from organisms.spec.evaluation import (
    COT_MONITORS,
    HF_ONLY_SUITES,
    AnalyzeSpec,
    CotMonitor,
    EvalSpec,
    EvalSuite,
    IphrSpec,
    OodAxis,
    OodSpec,
    ServedSpec,
)
from organisms.spec.files import load_spec_file, parse_spec
from organisms.spec.organism import BehaviourType, OrganismSpec, ReasoningFormat, ReasoningSpec
from organisms.spec.section import Section
from organisms.spec.task import (
    TASK_FAMILIES,
    Condition,
    DatasetSpec,
    HintSpec,
    HintType,
    PhrasingIndex,
    TaskFamily,
    TaskSpec,
)
from organisms.spec.training import CapabilitySpec, LoraSpec, StageSpec, TrainingData, TrainingSpec, WandbSpec

__all__ = [
    "COT_MONITORS",
    "HF_ONLY_SUITES",
    "REASONING_STYLES",
    "STYLED_BEHAVIOURS",
    "TASK_FAMILIES",
    "AnalyzeSpec",
    "BackendName",
    "BackendSpec",
    "BehaviourType",
    "CapabilitySpec",
    "Condition",
    "CorpusSpec",
    "CotMonitor",
    "DatasetSpec",
    "DocumentsSpec",
    "EditorSpec",
    "EvalSpec",
    "EvalSuite",
    "HintSpec",
    "HintType",
    "IphrSpec",
    "LoraSpec",
    "OnPolicySpec",
    "OodAxis",
    "OodSpec",
    "OrganismSpec",
    "PhrasingIndex",
    "ReasoningFormat",
    "ReasoningSpec",
    "ReasoningStyle",
    "ReplaySpec",
    "Section",
    "ServedSpec",
    "StageSpec",
    "TaskFamily",
    "TaskSpec",
    "TrainingData",
    "TrainingSpec",
    "WandbSpec",
    "load_spec_file",
    "parse_spec",
]
