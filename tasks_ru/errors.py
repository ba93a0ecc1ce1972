"""The one error of tasks_ru. It lives apart from the loaders (darumeru.py, ru_open.py) because lm-eval imports
those by path (a second module object), and the harness must catch the same class the loaders raise."""


class TaskDataError(ValueError):
    """A task file that is missing or does not have the expected schema (the message names both)."""
