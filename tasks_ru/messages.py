"""A hub row's chat turns as lm-eval doc fields, the roles kept apart as llmtf keeps them.

A Darumeru row carries `messages` ([system] user [bot]) whose `{placeholders}` are filled from `inputs`
(llmtf: `content.format(**inputs)`). The last "bot" turn is the assistant's: in a test row the open
"Ответ:" the model continues, in a prompt row the worked answer ("Ответ: 2"). It becomes lm-eval's
`gen_prefix` (field `prefix`) plus, for a few-shot example, `shot_answer`, so the answer is an assistant
turn and never leaks into the user text.
"""

from tasks_ru.rows import Row

ROLES = ("system", "user", "bot")


def split_bot_turn(content: str) -> tuple[str, str]:
    """("Ответ: ", "2") from "Ответ: 2"; ("Ответ:", "") from the open turn; ("", text) without a label.

    lm-eval writes a shot's assistant turn as prefix + answer (a space between only when neither side
    has one), so the split always reproduces the row's text exactly.
    """
    colon = content.find(":")
    if colon < 0:
        return "", content
    end = colon + 1
    while end < len(content) and content[end].isspace():
        end += 1
    if end == colon + 1 and end < len(content):
        return "", content
    return content[:end], content[end:]


def chat_fields(user: str, bot: str, kind: str, system: str = "") -> dict[str, str]:
    """Doc fields of one turn pair; a base model's plain prompt puts the user text on its own line.

    llmtf's plain template (non_instruct_simple) is "{user}\\n" then "{bot}"; chat templates take the user
    content as it is. The line break is a field of its own (`sep`), so the data hash is one for both kinds.
    """
    prefix, answer = split_bot_turn(bot)
    return {
        "description": system,
        "query": user,
        "sep": "\n" if kind == "base" else "",
        "prefix": prefix,
        "shot_answer": answer,
    }


def row_turns(row: Row, kind: str, inputs: dict | None = None) -> dict[str, str]:
    """The doc fields of a Darumeru row (`inputs` overrides the row's, e.g. PARus with options swapped)."""
    values = row.get("inputs", dict) if inputs is None else inputs
    messages = row.get("messages", list)
    turns: dict[str, str] = {}
    for i, message in enumerate(messages):
        if (
            not isinstance(message, dict)
            or not isinstance(message.get("content"), str)
            or message.get("role") not in ROLES
        ):
            raise row.fail(
                f"field 'messages' item {i} should be "
                f"{{'role': one of {list(ROLES)}, 'content': a string}}, not {message!r:.80}"
            )
        role = message["role"]
        expected = [
            r for r in ROLES if r not in turns and ROLES.index(r) >= max((ROLES.index(t) for t in turns), default=-1)
        ]
        if role not in expected:
            raise row.fail(
                f"field 'messages' should be [system] user [bot]; item {i} is a second or misplaced {role!r} turn"
            )
        try:
            turns[role] = message["content"].format(**values)
        except (KeyError, IndexError, ValueError) as e:
            raise row.fail(f"field 'messages' item {i}: placeholder {e} is not filled by the row's inputs") from None
    if "user" not in turns:
        raise row.fail("field 'messages' has no 'user' turn")
    return chat_fields(turns["user"], turns.get("bot", ""), kind, turns.get("system", ""))
