"""Fold construction for `ser-train cv`: nobody on both sides, every corpus tested once."""

from __future__ import annotations

from collections import Counter

import pytest

from ser_edge.errors import ConfigError
from ser_train.data.folds import corpus_folds, corpus_of, speaker_folds, speaker_sex, validation_count

# the 43 speakers of the shared data: RAVDESS 01-20, TESS OAF/YAF, EMOVO f1-m3, TurEV-DB, nEMO
NEMO_SPEAKERS = ("EB0", "IC0", "KD0", "KS0", "MK0", "MP0", "SM0", "TP0", "WR0")
SPEAKERS = ([f"ravdess:{i:02d}" for i in range(1, 21)] + ["tess:OAF", "tess:YAF"]
            + [f"emovo:{s}" for s in ("f1", "f2", "f3", "m1", "m2", "m3")]
            + [f"turev:{s}" for s in ("1157", "1234", "1358", "1984", "6783", "7895")]
            + [f"nemo:{s}" for s in NEMO_SPEAKERS])
FULL = {s: {"neutral", "happy", "sad", "angry"} for s in SPEAKERS}
COVERAGE = {**FULL, "turev:1157": {"angry", "sad"}}  # 1157 has no calm or happy clips


def _disjoint(fold) -> None:
    train, val, test = set(fold.train), set(fold.validation), set(fold.test)
    assert not (train & val or train & test or val & test), fold
    assert train | val | test == set(SPEAKERS)
    assert train and val and test


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_corpus_folds_test_every_corpus_once_and_never_train_on_it(seed):
    folds = corpus_folds(SPEAKERS, COVERAGE, seed=seed)
    assert len(SPEAKERS) == 43
    assert [f.name for f in folds] == ["corpus-ravdess", "corpus-tess", "corpus-emovo", "corpus-turev", "corpus-nemo"]
    for fold in folds:
        _disjoint(fold)
        (held_out,) = {corpus_of(s) for s in fold.test}
        assert fold.name == f"corpus-{held_out}"
        assert held_out not in {corpus_of(s) for s in fold.train + fold.validation}
        assert set(fold.test) == {s for s in SPEAKERS if corpus_of(s) == held_out}
        # validation: held-out speakers of each other corpus big enough to spare them; never TESS
        by_corpus = Counter(corpus_of(s) for s in fold.validation)
        want = {"ravdess": 2, "emovo": 1, "turev": 1, "nemo": 1}
        assert by_corpus == Counter({c: n for c, n in want.items() if c != held_out})
        assert "turev:1157" not in fold.validation  # a speaker with every class is preferred
        if held_out != "ravdess":
            assert {speaker_sex(s) for s in fold.validation if s.startswith("ravdess")} == {"m", "f"}
        assert len(fold.train) == 43 - len(fold.test) - len(fold.validation)


def test_fold_to_dict_says_how_it_was_built():
    fold = corpus_folds(SPEAKERS, COVERAGE)[2]
    d = fold.to_dict()
    assert d["name"] == "corpus-emovo" and d["kind"] == "corpus"
    assert d["test"]["corpora"] == ["emovo"] and d["train"]["corpora"] == ["ravdess", "tess", "turev", "nemo"]
    assert d["validation"]["speakers"] == list(fold.validation)


@pytest.mark.parametrize("k", [2, 5, 6])
def test_speaker_folds_test_every_speaker_once_tess_always_trains(k):
    folds = speaker_folds(SPEAKERS, k, COVERAGE, seed=0)
    assert len(folds) == k
    tested = [s for f in folds for s in f.test]
    assert sorted(tested) == sorted(s for s in SPEAKERS if not s.startswith("tess:"))
    for fold in folds:
        _disjoint(fold)
        assert {"tess:OAF", "tess:YAF"} <= set(fold.train)
        # stratified: every fold tests each corpus, and both sexes of RAVDESS
        assert {corpus_of(s) for s in fold.test} == {"ravdess", "emovo", "turev", "nemo"}
        ravdess_sexes = Counter(speaker_sex(s) for s in fold.test if s.startswith("ravdess"))
        assert abs(ravdess_sexes["m"] - ravdess_sexes["f"]) <= 1
        assert Counter(corpus_of(s) for s in fold.validation) == Counter(ravdess=2, emovo=1, turev=1, nemo=1)
        nemo_sexes = Counter(speaker_sex(s) for s in fold.test if s.startswith("nemo"))
        assert abs(nemo_sexes["m"] - nemo_sexes["f"]) <= 1 + (k > 4)  # 4 women, 5 men


def test_speaker_folds_are_seeded():
    assert speaker_folds(SPEAKERS, 5, COVERAGE, seed=3) == speaker_folds(SPEAKERS, 5, COVERAGE, seed=3)
    assert speaker_folds(SPEAKERS, 5, COVERAGE, seed=3) != speaker_folds(SPEAKERS, 5, COVERAGE, seed=4)


def test_invalid_fold_requests_are_config_errors():
    with pytest.raises(ConfigError, match="folds=1 is invalid; allowed: 2 to 41"):
        speaker_folds(SPEAKERS, 1, COVERAGE)
    with pytest.raises(ConfigError, match="at least 2 corpora"):
        corpus_folds([s for s in SPEAKERS if s.startswith("ravdess")], COVERAGE)


def test_validation_counts_and_sexes():
    assert [validation_count(n) for n in (1, 2, 3, 4, 6, 10, 20, 91)] == [0, 0, 0, 1, 1, 1, 2, 9]
    assert [speaker_sex(s) for s in ("ravdess:01", "ravdess:20", "emovo:f2", "emovo:m1", "tess:OAF", "turev:1157",
                                     "nemo:EB0", "nemo:WR0")] == ["m", "f", "f", "m", "f", None, "f", "m"]


@pytest.mark.data
def test_nemo_sexes_agree_with_its_own_table(data_dir):
    table = data_dir / "nemo" / "data.tsv"
    if not table.is_file():
        pytest.skip(f"nEMO's table not found at {table}")
    lines = table.read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    rows = [dict(zip(header, line.split("\t"))) for line in lines[1:]]
    documented = {row["speaker_id"].strip(): row["gender"] for row in rows}  # ids carry leading spaces
    assert sorted(documented) == sorted(NEMO_SPEAKERS)
    assert {s: speaker_sex(f"nemo:{s}") for s in documented} == {s: g[0] for s, g in documented.items()}


def test_a_fifth_corpus_leaves_the_other_corpora_in_their_folds():
    """nEMO comes after the four earlier corpora, so their folds (benchmarks/RESULTS.md) stay as they were."""
    four = [s for s in SPEAKERS if corpus_of(s) != "nemo"]

    def parts(folds):
        return [(f.name, [s for s in f.test if corpus_of(s) != "nemo"], [s for s in f.validation if corpus_of(s) != "nemo"])
                for f in folds if f.name != "corpus-nemo"]

    assert parts(corpus_folds(SPEAKERS, COVERAGE)) == parts(corpus_folds(four, COVERAGE))
    assert parts(speaker_folds(SPEAKERS, 5, COVERAGE)) == parts(speaker_folds(four, 5, COVERAGE))
