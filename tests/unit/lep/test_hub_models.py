"""Hub ids: which text is one (a local path of that name wins), the snapshot and commit a cache laid out as the hub
client writes it gives, and one line with the fix for a miss offline, an unknown repo or revision."""

from pathlib import Path

import huggingface_hub
import pytest
from huggingface_hub.errors import RepositoryNotFoundError, RevisionNotFoundError

from lep.errors import InputError
from lep.hub_models import hub_id, local_path, resolve
from lep.reference_tokenizers import load_tokenizer
from tests.support.hub_cache import add_snapshot

FIRST, SECOND = "1" * 40, "2" * 40


@pytest.mark.parametrize(
    "text, expected",
    [
        ("org/name", ("org/name", "main")),
        ("HuggingFaceTB/SmolLM2-135M-Instruct@v1.0", ("HuggingFaceTB/SmolLM2-135M-Instruct", "v1.0")),
        ("org/name@refs/pr/3", ("org/name", "refs/pr/3")),  # a revision may hold '/'
        ("name", None),  # no organisation: a local name (a folder, a reference tokenizer)
        ("a/b/c", None),
        ("/abs/dir", None),
        ("./org/name", None),
        ("org/name@", None),
        ("org--x/name", None),  # against the hub's id rules
    ],
)
def test_what_is_a_hub_id(text, expected, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert hub_id(text) == expected


def test_a_local_path_of_the_same_name_wins(tmp_path, monkeypatch, hub_cache, model_files):
    add_snapshot(hub_cache, "org/name", model_files, FIRST)
    (tmp_path / "config" / "org" / "name").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    assert hub_id("org/name", base=tmp_path / "config") is None  # beside the config
    assert resolve("org/name", base=tmp_path / "config") == (str(tmp_path / "config" / "org" / "name"), None)
    assert hub_id("org/name") == ("org/name", "main")  # not in the working dir
    (tmp_path / "org" / "name").mkdir(parents=True)
    assert resolve("org/name") == ("org/name", None)


def test_an_id_is_its_cached_snapshot_at_the_commit_its_revision_names(hub_cache, model_files):
    add_snapshot(hub_cache, "org/name", model_files, FIRST)
    second = add_snapshot(hub_cache, "org/name", model_files, SECOND, refs=("v2",))
    path, hub = resolve("org/name")
    assert Path(path) == hub_cache / "models--org--name" / "snapshots" / FIRST
    assert (Path(path) / "config.json").read_text() == (model_files / "config.json").read_text()  # via its blob
    assert (hub.id, hub.revision, hub.commit) == ("org/name", "main", FIRST)
    assert hub.fingerprint() == f"hub:org/name@{FIRST}"
    assert resolve("org/name@v2") == (str(second), hub.__class__("org/name", "v2", SECOND))
    assert resolve(f"org/name@{SECOND}")[1].commit == SECOND  # a commit needs no ref
    assert local_path("llama-3") == "llama-3"  # no hub id: as it is


def test_a_tokenizer_by_hub_id_loads_from_the_cache(hub_cache, tmp_path, reference_tokenizer):
    reference_tokenizer("openchat-3.5").save_pretrained(tmp_path / "tok")
    add_snapshot(hub_cache, "org/tok", tmp_path / "tok", FIRST)
    assert len(load_tokenizer("org/tok")) == len(reference_tokenizer("openchat-3.5"))


def test_offline_with_no_snapshot_is_one_line_with_the_download_command(hub_cache, model_files):
    add_snapshot(hub_cache, "org/name", model_files, FIRST)
    for text, revision in (("org/other", "main"), ("org/name@v9", "v9")):
        with pytest.raises(InputError) as error:
            resolve(text)
        message = str(error.value)
        assert f"is not in the Hugging Face cache ({hub_cache}) and HF_HUB_OFFLINE=1" in message
        assert f"hf download {text.partition('@')[0]} --revision {revision}" in message
        assert "\n" not in message


class _Missing(RepositoryNotFoundError):
    def __init__(self) -> None:
        Exception.__init__(self, "404 Repository Not Found")


class _NoRevision(RevisionNotFoundError):
    def __init__(self) -> None:
        Exception.__init__(self, "404 Revision Not Found")


@pytest.mark.parametrize(
    "error, text, message",
    [
        (_Missing, "org/nope", "org/nope is neither a local path nor a repo on the Hugging Face hub"),
        (_NoRevision, "org/name@v9", "org/name has no revision 'v9' on the Hugging Face hub"),
    ],
)
def test_online_an_unknown_repo_or_revision_is_one_line(hub_cache, monkeypatch, error, text, message):
    def answer(*args, **kwargs):  # what the hub answers; nothing here reaches the network
        raise error()

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", answer)
    with pytest.raises(InputError, match=message):
        resolve(text)
