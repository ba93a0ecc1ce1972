"""Errors that a user can fix. The CLI prints them as one line and exits 2, never a traceback."""


class LepError(Exception):
    """A user-facing problem: the message says what is wrong and what to do."""


class InputError(LepError):
    """A path, file or corpus that cannot be used as given."""


class TokenizerError(LepError):
    """A tokenizer that cannot be found, built or used for the requested job."""
