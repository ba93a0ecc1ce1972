"""The demo's profiles (`lep-bench compare --profile NAME`): which models each builds first, and its pipeline and
experiment YAMLs under configs/demo/. Nothing here imports torch, so the CLI lists the profiles at once
(harness/demo/build.py builds them)."""

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

# the repository's configs/demo: the demo runs from a checkout (./setup.sh installs lep-bench in place)
CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "demo"


@dataclass(frozen=True)
class DemoProfile:
    """A demo: what is built before its pipeline runs, then the pipeline and the experiment (under CONFIGS)."""

    models: Literal["smollm2", "synthetic"]  # smollm2: the imported model + Latin-free Russian text; synthetic: a
    # 4M-parameter base and its stand-in instruct model
    pipeline: str
    experiment: str
    summary: str  # one line for --help


DEMO_PROFILES = {
    "smollm2": DemoProfile(
        "smollm2", "smollm2/pipeline.yaml", "smollm2/experiment.yaml", "the real SmolLM2-135M-Instruct, minutes"
    ),
    "smollm2-long": DemoProfile(
        "smollm2",
        "smollm2/pipeline-long.yaml",
        "smollm2/experiment.yaml",
        "the same with 100x the training tokens: a GPU, or hours of CPU",
    ),
    "synthetic": DemoProfile(
        "synthetic",
        "synthetic/pipeline.yaml",
        "synthetic/experiment.yaml",
        "a demo-scale base/instruct pair, every propagation mode",
    ),
}
DEFAULT_PROFILE = "smollm2"
