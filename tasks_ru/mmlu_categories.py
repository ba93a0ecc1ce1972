"""The 57 MMLU subjects: category and Russian headline name, as llmtf (958750c) has them.

The categories are NLPCoreTeam's (github NLP-Core-Team/mmlu_ru), which llmtf copies; they differ from
lm-eval's mmlu split for anatomy (health, so "other"). The Russian names fit the headline
"... по {name}." and are llmtf's map with underscores read as spaces.
"""

SUBJECTS = {
    "abstract_algebra": ("STEM", "абстрактной алгебре"),
    "anatomy": ("other (business, health, misc.)", "анатомии"),
    "astronomy": ("STEM", "астрономии"),
    "business_ethics": ("other (business, health, misc.)", "деловой этике"),
    "clinical_knowledge": ("other (business, health, misc.)", "медицинским знаниям"),
    "college_biology": ("STEM", "биологии в вузе"),
    "college_chemistry": ("STEM", "химии в вузе"),
    "college_computer_science": ("STEM", "компьютерным наукам в вузе"),
    "college_mathematics": ("STEM", "математике в вузе"),
    "college_medicine": ("other (business, health, misc.)", "медицине в вузе"),
    "college_physics": ("STEM", "физике в вузе"),
    "computer_security": ("STEM", "компьютерной безопасности"),
    "conceptual_physics": ("STEM", "теоретической физике"),
    "econometrics": ("social sciences", "эконометрике"),
    "electrical_engineering": ("STEM", "электротехнике"),
    "elementary_mathematics": ("STEM", "элементарной математике"),
    "formal_logic": ("humanities", "формальной логике"),
    "global_facts": ("other (business, health, misc.)", "фактам о мире"),
    "high_school_biology": ("STEM", "биологии в старшей школе"),
    "high_school_chemistry": ("STEM", "химии в старшей школе"),
    "high_school_computer_science": ("STEM", "информатике в старшей школе"),
    "high_school_european_history": ("humanities", "истории Европы в старшей школе"),
    "high_school_geography": ("social sciences", "географии в старшей школе"),
    "high_school_government_and_politics": ("social sciences", "государству и политике в старшей школе"),
    "high_school_macroeconomics": ("social sciences", "макроэкономике в старшей школе"),
    "high_school_mathematics": ("STEM", "математике в старшей школе"),
    "high_school_microeconomics": ("social sciences", "микроэкономике в старшей школе"),
    "high_school_physics": ("STEM", "физике в старшей школе"),
    "high_school_psychology": ("social sciences", "психологии в старшей школе"),
    "high_school_statistics": ("STEM", "статистике в старшей школе"),
    "high_school_us_history": ("humanities", "истории США в старшей школе"),
    "high_school_world_history": ("humanities", "всемирной истории в старшей школе"),
    "human_aging": ("other (business, health, misc.)", "старению человека"),
    "human_sexuality": ("social sciences", "человеческой сексуальности"),
    "international_law": ("humanities", "международному праву"),
    "jurisprudence": ("humanities", "юриспруденции"),
    "logical_fallacies": ("humanities", "логическим ошибкам"),
    "machine_learning": ("STEM", "машинному обучению"),
    "management": ("other (business, health, misc.)", "менеджменту"),
    "marketing": ("other (business, health, misc.)", "маркетингу"),
    "medical_genetics": ("other (business, health, misc.)", "медицинской генетике"),
    "miscellaneous": ("other (business, health, misc.)", "разным темам"),
    "moral_disputes": ("humanities", "нравственным спорам"),
    "moral_scenarios": ("humanities", "нравственным сценариям"),
    "nutrition": ("other (business, health, misc.)", "правильному питанию"),
    "philosophy": ("humanities", "философии"),
    "prehistory": ("humanities", "доисторической эпохе"),
    "professional_accounting": ("other (business, health, misc.)", "профессиональному бухгалтерскому учету"),
    "professional_law": ("humanities", "профессиональному праву"),
    "professional_medicine": ("other (business, health, misc.)", "профессиональной медицине"),
    "professional_psychology": ("social sciences", "профессиональной психологии"),
    "public_relations": ("social sciences", "связям с общественностью"),
    "security_studies": ("social sciences", "исследованиям в области безопасности"),
    "sociology": ("social sciences", "социологии"),
    "us_foreign_policy": ("social sciences", "внешней политике США"),
    "virology": ("other (business, health, misc.)", "вирусологии"),
    "world_religions": ("humanities", "мировым религиям"),
}

HEADLINES = {
    "en": "The following are multiple choice questions (with answers) about",
    "ru": "Ниже приведены вопросы с множественным выбором (с ответами) по",
}
ANSWER_PREFIX = {"en": "Answer:", "ru": "Ответ:"}


def category_of(subject: str) -> str:
    """The category of an MMLU subject; an unknown subject is a data error worth stopping for."""
    try:
        return SUBJECTS[subject][0]
    except KeyError:
        raise ValueError(f"unknown MMLU subject {subject!r}: expected one of the 57 MMLU subjects") from None


def headline(subject: str, lang: str) -> str:
    """The subject headline llmtf puts before the first example: "... about high school physics.\\n\\n"."""
    name = subject.replace("_", " ") if lang == "en" else SUBJECTS[subject][1]
    return f"{HEADLINES[lang]} {name}.\n\n"
