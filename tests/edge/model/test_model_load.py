"""One way to a classifier (`ser_edge.model.load`): names, folders, $SER_EDGE_MODEL, None."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ser_edge.errors import BundleError
from ser_edge.model import shipped
from ser_edge.model.bundle import load_bundle
from ser_edge.model.load import bundle_of, bundle_path, load_classifier

DEFAULT = Path(__file__).resolve().parents[3] / "models" / "default"


@pytest.fixture(autouse=True)
def no_env_model(monkeypatch):
    monkeypatch.delenv(shipped.ENV_MODEL, raising=False)


def test_none_empty_and_the_name_default_are_the_shipped_default():
    for model in (None, "", "default", Path("default")):
        assert bundle_path(model).resolve() == DEFAULT
    assert "default" in shipped.shipped_bundles()


def test_any_folder_with_a_manifest_under_models_is_a_shipped_name(tmp_path, monkeypatch):
    shutil.copytree(DEFAULT, tmp_path / "4class")
    (tmp_path / "notes").mkdir()  # no manifest: not a bundle
    monkeypatch.setattr(shipped, "shipped_roots", lambda: [tmp_path])
    assert list(shipped.shipped_bundles()) == ["4class"]
    assert bundle_path("4class") == tmp_path / "4class"
    monkeypatch.chdir(tmp_path / "notes")
    for not_a_bundle in ("notes", "../4class/x"):
        with pytest.raises(BundleError):
            bundle_path(not_a_bundle)


def test_env_model_is_a_folder_or_a_shipped_name(tmp_path, monkeypatch):
    monkeypatch.setenv(shipped.ENV_MODEL, "default")
    assert bundle_path(None).resolve() == DEFAULT
    copy = Path(shutil.copytree(DEFAULT, tmp_path / "mine"))
    monkeypatch.setenv(shipped.ENV_MODEL, str(copy))
    assert bundle_path(None) == copy
    assert bundle_path("default").resolve() == DEFAULT  # a name given is not the environment's


def test_an_existing_folder_wins_over_a_shipped_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "default").mkdir()
    assert bundle_path("default") == Path("default")
    with pytest.raises(BundleError, match="manifest.json is missing"):
        load_classifier("default")


def test_an_unknown_name_is_a_bundle_error_naming_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BundleError, match="no-such-model: no model bundle there.*shipped: .*default"):
        load_classifier("no-such-model")
    with pytest.raises(BundleError, match="no/such: no model bundle there"):
        load_classifier("no/such")


def test_a_classifier_or_bundle_is_used_as_it_is():
    bundle = load_bundle(DEFAULT)
    assert bundle_of(bundle) is bundle
    classifier = load_classifier(bundle, threads=2)
    assert classifier.bundle is bundle
    assert load_classifier(classifier) is classifier
    assert bundle_of(classifier) is bundle


def test_every_caller_takes_a_shipped_name(monkeypatch, tmp_path):
    from ser_edge.listen.pipeline import Pipeline
    from ser_edge.listen.recognizer import Recognizer

    monkeypatch.chdir(tmp_path)
    assert Recognizer("default").bundle.path.resolve() == DEFAULT
    assert Pipeline("default").classifier.bundle.path.resolve() == DEFAULT


@pytest.mark.parametrize("data", [b"", b"abc", bytes(range(256)) * 300])
def test_the_sha256_without_openssl_is_hashlibs(data):
    """Bundles are checked with `ser_edge.config.versioned.sha256` (no libcrypto mapped): the same digests."""
    import hashlib

    from ser_edge.config.versioned import sha256

    ours = sha256(data[:7])
    ours.update(data[7:])
    assert ours.hexdigest() == hashlib.sha256(data).hexdigest()


def test_what_the_runtime_writes_on_stderr_is_logged():
    """`native_stderr_to_log` (a memfd, not a temporary file, catches fd 2): "INFO: x" as INFO x.
    In a fresh process: the capture stands aside while other threads run, as they may in pytest."""
    import subprocess
    import sys

    code = """
import logging, os, sys
from ser_edge.model.interpreter import native_stderr_to_log
records = []
handler = logging.Handler()
handler.emit = lambda r: records.append((r.levelname, r.getMessage()))
logging.getLogger("ser_edge.model.interpreter").addHandler(handler)
logging.getLogger("ser_edge.model.interpreter").setLevel(logging.INFO)
assert native_stderr_to_log(lambda: os.write(2, b"INFO: made it\\nsomething odd\\n") and 7) == 7
print(records)
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[('INFO', 'made it'), ('WARNING', 'something odd')]"
    assert "made it" not in proc.stderr  # caught, not passed through
