"""Every task of every suite, scored by lm-eval with a seeded random model: each resampling procedure's
point estimate equals the score lm-eval reported, and clustered tasks resample whole clusters."""

import hashlib
import json
import random

import numpy as np
import pytest
from lm_eval.api.model import LM

from harness.run.evaluation import PromptSettings, evaluate_task, task_manager
from harness.stats.bootstrap import draw_counts, resample
from harness.stats.estimates import paired_comparison, paired_deltas, score_intervals
from harness.stats.task_statistics import unit_table
from tasks_ru.suites import SUITES, TASKS_DIR, TOTAL, suite_tasks, summarise
from tests.support.darumeru_fixture import write_darumeru_fixture
from tests.support.ifeval_fixture import write_ifeval_fixture


class RandomLM(LM):
    """Log-likelihoods and generations drawn from a seed and the request: half the generations are the gold."""

    def __init__(self, seed: int):
        super().__init__()
        self.seed = seed

    def _rng(self, request) -> random.Random:
        return random.Random(hashlib.sha256(f"{self.seed}|{request.args}".encode()).digest())

    def loglikelihood(self, requests):
        return [(-self._rng(r).random() * 10, False) for r in requests]

    def loglikelihood_rolling(self, requests):
        return [-self._rng(r).random() * 100 for r in requests]

    def generate_until(self, requests):
        out = []
        for r in requests:
            rng, doc = self._rng(r), r.doc
            gold = str(doc.get("source") or (doc.get("golds") or [""])[0])
            out.append(
                gold
                if rng.random() < 0.5
                else " ".join(rng.sample(gold.split() or ["нет"], k=max(1, len(gold.split()) // 2)))
            )
        return out


def _json_items(samples: list[dict]) -> dict[int, object]:
    """Items as the store reads them back from samples/*.jsonl (JSON: tuples become lists)."""
    return {s["doc_id"]: json.loads(json.dumps(s["score"])) for s in samples}


@pytest.fixture(scope="module")
def scored(tmp_path_factory, reference_tokenizer) -> dict[str, dict[str, list[dict]]]:
    """suite -> task -> (reported score, items) for two random models."""
    root = tmp_path_factory.mktemp("units")
    tokenizer = root / "tokenizer"
    reference_tokenizer("openchat-3.5").save_pretrained(tokenizer)
    data = {
        "darumeru": write_darumeru_fixture(root / "darumeru", n=32),
        "ru-open": TASKS_DIR / "demo_data",
        "ifeval": write_ifeval_fixture(root / "ifeval"),
        "likelihood": TASKS_DIR / "demo_data",
    }
    settings = PromptSettings(kind="base", num_fewshot=0, limit=40)
    out: dict[str, dict[str, list[dict]]] = {}
    for suite, data_dir in data.items():
        manager = task_manager(data_dir, tokenizer)
        out[suite] = {}
        for task in suite_tasks(suite):
            runs = [evaluate_task(RandomLM(seed), task, settings, manager) for seed in (1, 2)]
            out[suite][task] = [{"score": r["metrics"]["score"], "items": _json_items(r["samples"])} for r in runs]
    return out


@pytest.mark.parametrize("suite", list(SUITES))
def test_every_procedure_reproduces_the_reported_score(scored, suite):
    runs = scored[suite]
    first = {t: r[0]["items"] for t, r in runs.items()}
    second = {t: r[1]["items"] for t, r in runs.items()}
    groups = {**SUITES[suite], TOTAL[suite]: suite_tasks(suite)}
    reported = [
        summarise(suite, {t: r[i]["score"] for t, r in runs.items()}) | {t: r[i]["score"] for t, r in runs.items()}
        for i in (0, 1)
    ]
    single = score_intervals(first, groups, iterations=50)
    deltas = paired_deltas({"a": first, "b": second}, [("a", "b")], groups, iterations=50)[("a", "b")]
    gate_deltas = paired_comparison(first, second, groups, iterations=50)
    fixed = paired_comparison(first, {t: r[1]["score"] for t, r in runs.items()}, groups, iterations=50)
    assert set(single) == set(reported[0]) == set(deltas)
    for row in reported[0]:
        assert single[row].value == pytest.approx(reported[0][row], abs=1e-12), row
        assert single[row].low <= single[row].value <= single[row].high or single[row].se == 0, row
        for found in (deltas, gate_deltas, fixed):
            assert found[row].delta == pytest.approx(reported[0][row] - reported[1][row], abs=1e-12), row


def test_clustered_tasks_resample_whole_clusters(scored):
    parus = scored["darumeru"]["darumeru_parus"][0]["items"]
    table = unit_table("darumeru_parus", [list(parus.values())])
    assert table.unit.startswith("PARus item")
    assert table.n_docs == 2 * table.n_units
    use = scored["darumeru"]["darumeru_use"][0]["items"]
    assert unit_table("darumeru_use", [list(use.values())]).n_units == len({item[0] for item in use.values()})
    mmlu = scored["darumeru"]["darumeru_nlpcoreteam_rummlu"][0]["items"]
    table = unit_table("darumeru_nlpcoreteam_rummlu", [list(mmlu.values())])
    counts = draw_counts(table.strata, 200, np.random.default_rng(0))
    per_stratum = np.stack([counts[:, table.strata == s].sum(axis=1) for s in np.unique(table.strata)], axis=1)
    assert (per_stratum == np.bincount(table.strata)).all()  # every subject keeps its size in every draw
    # a PARus draw's score is always a multiple of 1/items: whole items, never one ordering
    items = len({item[2] for item in parus.values()})
    draws = resample(unit_table("darumeru_parus", [list(parus.values())]), 200, seed=3)[0] * items
    assert np.allclose(draws, np.round(draws))
