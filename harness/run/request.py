"""A run request: one model × one suite with its backend and prompt settings, and the fingerprint that names
its run dir.

The fingerprint covers everything that can change a score: model, tokenizer and chat-template contents (a
reference tokenizer by the package file and code that build it, a hub model by its snapshot's commit), prompt
and backend settings (the HF device included), the task code and YAMLs, the contents of the data files each
task reads (from --data-dir, else $LEP_DATA_DIR) or the hub dataset commit it is read at, and the versions of
the packages that run and score it (harness/run/fingerprint.py).
"""

import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from harness.run.backends import BackendSettings, resolve_backend
from harness.run.evaluation import PromptSettings
from harness.run.fingerprint import package_versions, scoring_code_hash
from harness.run.model_spec import ModelSpec, fingerprints
from lep.errors import InputError
from lep.validation import check_output_dir, raise_problems
from tasks_ru.data_sources import resolve_data_dir, source_record
from tasks_ru.errors import TaskDataError
from tasks_ru.suites import suite_tasks


@dataclass(frozen=True)
class RunRequest:
    spec: ModelSpec
    suite: str
    backend: BackendSettings
    prompts: PromptSettings
    out: Path = Path("runs")
    data_dir: Path | None = None
    tasks: tuple[str, ...] = ()  # a subset of the suite; empty = all

    @classmethod
    def for_model(
        cls,
        spec: ModelSpec,
        suite: str,
        backend: BackendSettings,
        prompts: PromptSettings,
        out: Path = Path("runs"),
        data_dir: Path | None = None,
        tasks: tuple[str, ...] = (),
    ) -> "RunRequest":
        """The one place a request is made: `backend.backend` may be "auto" (resolved for this model here) and
        the prompts take the model's kind."""
        return cls(
            spec=spec,
            suite=suite,
            backend=replace(backend, backend=resolve_backend(backend.backend, spec)),
            prompts=replace(prompts, kind=spec.kind),
            out=out,
            data_dir=data_dir,
            tasks=tasks,
        )

    def task_list(self) -> list[str]:
        try:
            everything = suite_tasks(self.suite)
        except KeyError as e:
            raise InputError(str(e.args[0])) from None
        unknown = [t for t in self.tasks if t not in everything]
        if unknown:
            raise InputError(
                f"tasks {', '.join(unknown)} are not in suite {self.suite} (it has {', '.join(everything)})"
            )
        return list(self.tasks) or everything

    def data_source(self) -> Path | None:
        """The data folder the tasks read (--data-dir, else $LEP_DATA_DIR), or None for the hub."""
        return resolve_data_dir(self.data_dir)

    def settings_record(self) -> dict[str, Any]:
        """Everything that can change a score; its hash names the run directory."""
        tasks = self.task_list()
        try:
            data = source_record(tasks, self.data_source())
        except TaskDataError as e:
            raise InputError(str(e)) from None
        spec = self.spec.record()
        # the model's files count by their fingerprints, not by where they were read (a folder, a hub cache path,
        # the name of the revision asked)
        for key in ("name", "path", "tokenizer", "chat_template", "sources"):
            spec.pop(key)
        return {
            "suite": self.suite,
            "tasks": tasks,
            "model": spec,
            "fingerprints": fingerprints(self.spec),
            "backend": self.backend.record(self.spec),
            "prompts": self.prompts.record(),
            "data": data,
            "scoring_code": scoring_code_hash(),
            "packages": package_versions(),
        }

    def run_dir(self, settings: dict[str, Any] | None = None) -> Path:
        """runs/<model>/<suite>/<hash of the settings record> (pass the record when it is already made)."""
        record = json.dumps(settings or self.settings_record(), sort_keys=True).encode()
        return self.out / self.spec.name / self.suite / hashlib.sha256(record).hexdigest()[:12]


def check_request(request: RunRequest) -> None:
    """Every setting of the run against its range, all at once, and the output folder, before any loading."""
    raise_problems("run settings", request.backend.problems() + request.prompts.problems())
    check_output_dir(request.out)
