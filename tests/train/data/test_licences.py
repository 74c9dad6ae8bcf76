"""The one place where corpus licences are kept, as the manifest uses it."""

from __future__ import annotations

from ser_train.data.corpora import CORPORA
from ser_train.data.licences import CORPUS_LICENCES, UNKNOWN, licence_block, licence_of


def test_every_parsed_corpus_has_its_licence():
    assert set(CORPUS_LICENCES) == set(CORPORA)
    assert "CC BY-NC-ND 4.0" in licence_of("turev") and "research use" in licence_of("emovo")
    assert licence_of("my-calls") == UNKNOWN


def test_manifest_licence_block_reads_it_and_says_non_commercial():
    block = licence_block(["emovo", "turev", "ravdess", "tess"])
    assert block["training_data"] == {c: CORPUS_LICENCES[c] for c in ("emovo", "ravdess", "tess", "turev")}
    assert block["model_use"].startswith("Non-commercial use only")
    assert licence_block(["my-calls"])["training_data"] == {"my-calls": UNKNOWN}
