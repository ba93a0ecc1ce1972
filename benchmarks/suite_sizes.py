"""Scored-item counts per task (resampling units), for the statistics benchmarks.

ru-open: counted from the loaders on the offline data (TERRa val 307, RuCoLA in-domain dev 983,
XWinograd-ru 315 less 15 few-shot schemas, RuBQ test 1200, FLORES devtest 1012, copy sets 500/100).
darumeru: its hub data is not reachable here, so these are ASSUMED sizes (the public MERA test sets
for PARus/RCB/RWSD/USE/MultiQ/ruOpenBookQA/ruWorldTree/ruMMLU, NLPCoreTeam MMLU 14,042, RuCoLA dev
983, Gazeta test 6,793, copy sets as ru-open); PARus counts items (each asked twice), USE 900
questions in 30 variants.
"""

RU_OPEN = {
    "ru_open_terra": 307,
    "ru_open_rucola": 983,
    "ru_open_xwinograd": 300,
    "ru_open_rubq": 1200,
    "ru_open_flores_en_ru": 1012,
    "ru_open_flores_ru_en": 1012,
    "ru_open_copy_sent_en": 500,
    "ru_open_copy_para_en": 100,
    "ru_open_copy_sent_ru": 500,
    "ru_open_copy_para_ru": 100,
}
DARUMERU = {
    "darumeru_rummlu": 961,
    "darumeru_nlpcoreteam_rummlu": 14042,
    "darumeru_nlpcoreteam_enmmlu": 14042,
    "darumeru_multiq": 900,
    "darumeru_parus": 500,
    "darumeru_rcb": 438,
    "darumeru_rwsd": 260,
    "darumeru_use": 900,
    "darumeru_ruopenbookqa": 400,
    "darumeru_ruworldtree": 525,
    "darumeru_rucola": 983,
    "darumeru_gazeta_abstractive": 6793,
    "darumeru_gazeta_extractive": 6793,
    "darumeru_cp_sent_en": 500,
    "darumeru_cp_para_en": 100,
    "darumeru_cp_sent_ru": 500,
    "darumeru_cp_para_ru": 100,
}
SIZES = {"ru-open": RU_OPEN, "darumeru": DARUMERU}
