"""IFEval's 25 instruction checkers, as the authors' code (llmtf_open 504bd7f, `llmtf/tasks/ifeval/`) checks a
response: Google's IFEval rules for English, and the authors' Russian version of the same rules.

One checker per instruction id serves both languages; what differs is a `Language`: how keywords are compared
(Russian: lemmas found anywhere in the lemmatised text), which Punkt model counts sentences, what may follow a
section splitter, how the language of a text is identified, and the constrained answers. Each checker also names
its kwargs, so a data row is checked before any model runs (`kwargs_problem`).

Where the authors' code would pick a random value (a kwarg missing, an English letter that is not a-z) there is no
reproducible reading: a missing kwarg is refused as malformed data, and a letter is counted as given.
"""

import collections
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tasks_ru import ifeval_text

RELATIONS = ("less than", "at least")


@dataclass(frozen=True)
class Language:
    """What the checkers of one language differ in."""

    code: str  # what the identifier must say for the case checks (english_capital / english_lowercase)
    punkt: str  # the Punkt model counting sentences
    identify: Callable[[str], str | None]  # the text's language code; None: cannot tell (counted as followed)
    keyword_form: Callable[[str], str]  # keywords and the response compared in this form
    section_marker: str  # regex of a section start, the splitter in its {}
    answer_options: tuple[str, ...]  # constrained_response


RUSSIAN = Language(
    code="ru",
    punkt="russian",
    identify=ifeval_text.fasttext_language,
    keyword_form=ifeval_text.lemmas,
    section_marker=" ?{} ?(?:[0-9]|[a-zA-Z])",  # "ЧАСТЬ A" counts, a Cyrillic letter after it does not
    answer_options=("Мой ответ — да", "Мой ответ — нет", "Мой ответ — возможно"),
)
ENGLISH = Language(
    code="en",
    punkt="english",
    identify=ifeval_text.langdetect_language,
    keyword_form=lambda text: text,
    section_marker=r"\s?{}\s?\d+\s?",
    answer_options=("My answer is yes.", "My answer is no.", "My answer is maybe."),
)
LANGUAGES = {"ru": RUSSIAN, "en": ENGLISH}


def _compare(count: int, relation: str, threshold: int) -> bool:
    """IFEval's two relations: "less than" is <, "at least" is >=."""
    return count < threshold if relation == "less than" else count >= threshold


# --- the checkers: (response, language, **kwargs) -> followed ---------------------------------------------------


def _keywords_present(text: str, lang: Language, keywords: list[str]) -> bool:
    return all(re.search(lang.keyword_form(k), lang.keyword_form(text), flags=re.IGNORECASE) for k in keywords)


def _keyword_frequency(text: str, lang: Language, keyword: str, frequency: int, relation: str) -> bool:
    found = re.findall(lang.keyword_form(keyword.strip()), lang.keyword_form(text), flags=re.IGNORECASE)
    return _compare(len(found), relation, frequency)


def _no_forbidden_words(text: str, lang: Language, forbidden_words: list[str]) -> bool:
    form = lang.keyword_form(text)
    return not any(re.search(rf"\b{lang.keyword_form(w)}\b", form, flags=re.IGNORECASE) for w in forbidden_words)


def _letter_frequency(text: str, lang: Language, letter: str, let_frequency: int, let_relation: str) -> bool:
    return _compare(collections.Counter(text.lower())[letter.strip().lower()], let_relation, let_frequency)


def _response_language(text: str, lang: Language, language: str) -> bool:
    found = lang.identify(text)
    return found is None or found == language


def _sentence_count(text: str, lang: Language, num_sentences: int, relation: str) -> bool:
    return _compare(len(ifeval_text.sentences(text, lang.punkt)), relation, num_sentences)


def _paragraph_count(text: str, lang: Language, num_paragraphs: int) -> bool:
    """Paragraphs split by a *** divider; an empty one counts against only at either end."""
    paragraphs = re.split(r"\s?\*\*\*\s?", text)
    count = len(paragraphs)
    for i, paragraph in enumerate(paragraphs):
        if not paragraph.strip():
            if 0 < i < len(paragraphs) - 1:
                return False
            count -= 1
    return count == num_paragraphs


def _word_count(text: str, lang: Language, num_words: int, relation: str) -> bool:
    return _compare(ifeval_text.count_words(text), relation, num_words)


def _nth_paragraph_first_word(
    text: str, lang: Language, num_paragraphs: int, nth_paragraph: int, first_word: str
) -> bool:
    """Paragraphs split by a blank line, empty ones not counted (but still indexed); the nth starts with the word
    (lower case, quotes before it and punctuation after it ignored)."""
    paragraphs = re.split(r"\n\n", text)
    count = sum(1 for p in paragraphs if p.strip())
    if nth_paragraph > count or not (paragraph := paragraphs[nth_paragraph - 1].strip()):
        return False
    word = paragraph.split()[0].strip().lstrip("'").lstrip('"')
    first = ""
    for letter in word:
        if letter in ".,?!'\"":
            break
        first += letter.lower()
    return count == num_paragraphs and first == first_word.lower()


def _placeholders(text: str, lang: Language, num_placeholders: int) -> bool:
    return len(re.findall(r"\[.*?\]", text)) >= num_placeholders


def _postscript(text: str, lang: Language, postscript_marker: str) -> bool:
    """A line with the marker (P.S. and P.P.S also spaced out; any other marker as a pattern, lower case)."""
    marker = postscript_marker.strip()
    pattern = {"P.P.S": r"\s*p\.\s?p\.\s?s.*$", "P.S.": r"\s*p\.\s?s\..*$"}.get(marker, r"\s*" + marker.lower() + ".*$")
    return bool(re.findall(pattern, text.lower(), flags=re.MULTILINE))


def _bullet_count(text: str, lang: Language, num_bullets: int) -> bool:
    stars = re.findall(r"^\s*\*[^\*].*$", text, flags=re.MULTILINE)
    dashes = re.findall(r"^\s*-.*$", text, flags=re.MULTILINE)
    return len(stars) + len(dashes) == num_bullets


def _constrained_response(text: str, lang: Language) -> bool:
    return any(option in text.strip() for option in lang.answer_options)


def _highlights(text: str, lang: Language, num_highlights: int) -> bool:
    """*single* and **double** highlights with text inside, on one line (a double one counts twice)."""
    single = [h for h in re.findall(r"\*[^\n\*]*\*", text) if h.strip("*").strip()]
    double = [h for h in re.findall(r"\*\*[^\n\*]*\*\*", text) if h.removeprefix("**").removesuffix("**").strip()]
    return len(single) + len(double) >= num_highlights


def _sections(text: str, lang: Language, section_spliter: str, num_sections: int) -> bool:
    return len(re.split(lang.section_marker.format(section_spliter.strip()), text)) - 1 >= num_sections


def _json(text: str, lang: Language) -> bool:
    value = text.strip()
    for fence in ("```json", "```Json", "```JSON", "```"):
        value = value.removeprefix(fence)
    try:
        json.loads(value.removesuffix("```").strip())
    except ValueError:
        return False
    return True


def _title(text: str, lang: Language) -> bool:
    return any(title.lstrip("<").rstrip(">").strip() for title in re.findall(r"<<[^\n]+>>", text))


def _two_responses(text: str, lang: Language) -> bool:
    """Exactly two different non-empty answers separated by ******; an empty part only at either end."""
    parts = text.split("******")
    answers = []
    for i, part in enumerate(parts):
        if part.strip():
            answers.append(part)
        elif 0 < i < len(parts) - 1:
            return False
    return len(answers) == 2 and answers[0].strip() != answers[1].strip()


def _repeat_prompt(text: str, lang: Language, prompt_to_repeat: str) -> bool:
    return text.strip().lower().startswith(prompt_to_repeat.strip().lower())


def _end_phrase(text: str, lang: Language, end_phrase: str) -> bool:
    return text.strip().strip('"').lower().endswith(end_phrase.strip().lower())


def _capital_word_frequency(text: str, lang: Language, capital_frequency: int, capital_relation: str) -> bool:
    capitals = sum(1 for word in ifeval_text.word_tokens(text) if word.isupper())
    return _compare(capitals, capital_relation, capital_frequency)


def _all_capitals(text: str, lang: Language) -> bool:
    return text.isupper() and lang.identify(text) in (lang.code, None)


def _all_lowercase(text: str, lang: Language) -> bool:
    return text.islower() and lang.identify(text) in (lang.code, None)


def _no_comma(text: str, lang: Language) -> bool:
    return "," not in text


def _quotation(text: str, lang: Language) -> bool:
    value = text.strip()
    return len(value) > 1 and value[0] == '"' and value[-1] == '"'


# --- kwargs: each value checked as the checker reads it -----------------------------------------------------------


def _count(value: Any) -> str | None:
    if type(value) is not int or value < 0:
        return "should be a non-negative integer"
    return None


def _relation(value: Any) -> str | None:
    return None if value in RELATIONS else f"should be one of {list(RELATIONS)}"


def _text(value: Any) -> str | None:
    return None if isinstance(value, str) and value.strip() else "should be a non-empty string"


def _pattern(value: Any) -> str | None:
    """A string the checker uses as a regular expression."""
    if problem := _text(value):
        return problem
    try:
        re.compile(value)
    except re.error as e:
        return f"is not a valid pattern ({e})"
    return None


def _patterns(value: Any) -> str | None:
    if not isinstance(value, list) or not value:
        return "should be a non-empty list of strings"
    return next((f"item {i} {p}" for i, v in enumerate(value) if (p := _pattern(v))), None)


def _letter(value: Any) -> str | None:
    return None if isinstance(value, str) and len(value) == 1 and value.strip() else "should be one character"


@dataclass(frozen=True)
class Instruction:
    """A checker and the kwargs it reads, each with the check its value must pass before a run starts."""

    check: Callable[..., bool]  # (response, language, **kwargs) -> followed
    kwargs: dict[str, Callable[[Any], str | None]]  # each kwarg's check: None, or what is wrong with the value


INSTRUCTIONS: dict[str, Instruction] = {
    "keywords:existence": Instruction(_keywords_present, {"keywords": _patterns}),
    "keywords:frequency": Instruction(
        _keyword_frequency, {"keyword": _pattern, "frequency": _count, "relation": _relation}
    ),
    "keywords:forbidden_words": Instruction(_no_forbidden_words, {"forbidden_words": _patterns}),
    "keywords:letter_frequency": Instruction(
        _letter_frequency, {"letter": _letter, "let_frequency": _count, "let_relation": _relation}
    ),
    "language:response_language": Instruction(_response_language, {"language": _text}),
    "length_constraints:number_sentences": Instruction(
        _sentence_count, {"num_sentences": _count, "relation": _relation}
    ),
    "length_constraints:number_paragraphs": Instruction(_paragraph_count, {"num_paragraphs": _count}),
    "length_constraints:number_words": Instruction(_word_count, {"num_words": _count, "relation": _relation}),
    "length_constraints:nth_paragraph_first_word": Instruction(
        _nth_paragraph_first_word, {"num_paragraphs": _count, "nth_paragraph": _count, "first_word": _text}
    ),
    "detectable_content:number_placeholders": Instruction(_placeholders, {"num_placeholders": _count}),
    "detectable_content:postscript": Instruction(_postscript, {"postscript_marker": _pattern}),
    "detectable_format:number_bullet_lists": Instruction(_bullet_count, {"num_bullets": _count}),
    "detectable_format:constrained_response": Instruction(_constrained_response, {}),
    "detectable_format:number_highlighted_sections": Instruction(_highlights, {"num_highlights": _count}),
    "detectable_format:multiple_sections": Instruction(
        _sections, {"section_spliter": _pattern, "num_sections": _count}
    ),
    "detectable_format:json_format": Instruction(_json, {}),
    "detectable_format:title": Instruction(_title, {}),
    "combination:two_responses": Instruction(_two_responses, {}),
    "combination:repeat_prompt": Instruction(_repeat_prompt, {"prompt_to_repeat": _text}),
    "startend:end_checker": Instruction(_end_phrase, {"end_phrase": _text}),
    "change_case:capital_word_frequency": Instruction(
        _capital_word_frequency, {"capital_frequency": _count, "capital_relation": _relation}
    ),
    "change_case:english_capital": Instruction(_all_capitals, {}),
    "change_case:english_lowercase": Instruction(_all_lowercase, {}),
    "punctuation:no_comma": Instruction(_no_comma, {}),
    "startend:quotation": Instruction(_quotation, {}),
}


def kwargs_problem(instruction_id: str, kwargs: Any) -> str | None:
    """What is wrong with an instruction's kwargs as a data row gives them (None: nothing)."""
    if not isinstance(kwargs, dict):
        return f"should be an object, not {type(kwargs).__name__}"
    expected = INSTRUCTIONS[instruction_id].kwargs
    if unknown := sorted(set(kwargs) - set(expected)):
        return f"has {unknown}, which {instruction_id} does not take (it takes {sorted(expected) or 'none'})"
    if missing := sorted(set(expected) - set(kwargs)):
        return f"lacks {missing}"
    for name, check in expected.items():
        if problem := check(kwargs[name]):
            return f"'{name}' {problem}, not {kwargs[name]!r:.60}"
    if instruction_id == "length_constraints:nth_paragraph_first_word" and not (
        1 <= kwargs["nth_paragraph"] <= kwargs["num_paragraphs"]
    ):
        return "'nth_paragraph' should be between 1 and 'num_paragraphs'"
    return None


def follows(instruction_id: str, kwargs: dict[str, Any], response: str, lang: Language) -> bool:
    """Whether a non-blank response follows the instruction (a blank one never does)."""
    return bool(response.strip()) and INSTRUCTIONS[instruction_id].check(response, lang, **kwargs)
