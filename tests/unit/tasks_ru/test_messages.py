"""A hub row split into chat roles as llmtf builds prompts from it."""

from tasks_ru.messages import row_turns, split_bot_turn
from tasks_ru.rows import Row


def test_a_row_is_split_into_roles():
    row = Row(
        {
            "messages": [
                {"role": "system", "content": "Ты бот."},
                {"role": "user", "content": "Вопрос {q}"},
                {"role": "bot", "content": "Ответ: 2"},
            ],
            "inputs": {"q": "один"},
        },
        "f.jsonl:1",
    )
    assert row_turns(row, "instruct") == {
        "description": "Ты бот.",
        "query": "Вопрос один",
        "sep": "",
        "prefix": "Ответ: ",
        "shot_answer": "2",
    }
    assert row_turns(row, "base")["sep"] == "\n"
    assert split_bot_turn("Ответ:") == ("Ответ:", "")
    assert split_bot_turn("TL;DR: Итог: да") == ("TL;DR: ", "Итог: да")
    assert split_bot_turn("2") == ("", "2")
