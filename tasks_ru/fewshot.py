"""Few-shot examples chosen and ordered as llmtf (958750c) chooses them, as lm-eval samplers.

llmtf takes the first k rows of the prompt split and prepends each in turn (`shot_i + messages`), so
row 0 sits next to the question and row k-1 comes first. NLPCoreTeam MMLU instead takes the dev rows
of the question's own subject in order, the first carrying the subject headline; those are stored on
each test doc (`shots`), because lm-eval hands a sampler the question only when shots and questions
share a split.
"""

from lm_eval.api.samplers import ContextSampler


class PrependedFirstRows(ContextSampler):
    """The first n docs of the few-shot split, last one first."""

    def sample(self, n: int, eval_doc=None, df=None, **kwargs) -> list[dict]:
        return list(self.fewshot_docs())[:n][::-1]


class OwnSubjectRows(ContextSampler):
    """The question's own `shots` (dev rows of its subject, the first with the headline), in order."""

    def sample(self, n: int, eval_doc=None, df=None, **kwargs) -> list[dict]:
        if eval_doc is None:
            raise ValueError(
                "OwnSubjectRows needs the few-shot split to be the test split (the shots live on each doc)"
            )
        return list(eval_doc["shots"])[:n]
