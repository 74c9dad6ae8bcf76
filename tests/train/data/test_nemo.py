"""nEMO (Polish): its names parsed (speaker_emotion_take), its six words through the label sets,
and the real folder against the corpus's own table (data.tsv)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from ser_train.data.corpora import index_folders
from ser_train.data.labels import emotion_of_word, get_label_set
from ser_train.data.summary import count_clips

from .test_corpora import clip, fields, problem


@pytest.mark.parametrize("name, expected", [
    ("nemo/samples/EB0_anger_1.flac", ("nemo", "nemo:EB0", "angry", None)),
    ("nemo/samples/IC0_fear_30.flac", ("nemo", "nemo:IC0", "fearful", None)),
    ("nemo/samples/KD0_happiness_7.flac", ("nemo", "nemo:KD0", "happy", None)),
    ("nemo/samples/KS0_neutral_13.flac", ("nemo", "nemo:KS0", "neutral", None)),
    ("nemo/samples/MP0_sadness_51.flac", ("nemo", "nemo:MP0", "sad", None)),
    ("nemo/samples/WR0_surprised_85.flac", ("nemo", "nemo:WR0", "surprised", None)),
    ("MK0_anger_2.wav", ("nemo", "nemo:MK0", "angry", None)),  # data.tsv's own names end in .wav
    ("SM0_Happiness_03.WAV", ("nemo", "nemo:SM0", "happy", None)),
    ("tp0_sadness_4.flac", ("nemo", "nemo:TP0", "sad", None)),
    ("nemo_EB0_fear_12.flac", ("nemo", "nemo:EB0", "fearful", None)),
])
def test_nemo(name, expected):
    assert fields(name) == expected


def test_nemo_clip_id_is_speaker_emotion_take_whatever_the_spelling():
    assert {clip(n).clip_id for n in ("EB0_anger_1.flac", "eb0_Anger_01.wav", "quirks/nemo_EB0_anger_1.wav")} == {
        "EB0_anger_1"}


@pytest.mark.parametrize("name, reason", [
    ("EB0_disgust_1.flac", "nemo name 'EB0_disgust_1': unknown emotion 'disgust' (known: anger, fear, "
                           "happiness, neutral, sadness, surprised)"),
    ("EB0_happy_1.flac", "unknown emotion 'happy'"),  # an alias word, but not one nEMO uses
    ("EB0_surprise_1.flac", "unknown emotion 'surprise'"),
    ("XY0_anger_1.flac", "nemo name 'XY0_anger_1': unknown speaker 'XY0' (nEMO has EB0, IC0, KD0, KS0, MK0, MP0, "
                         "SM0, TP0, WR0)"),
    ("EB0_anger_0.flac", "take 0 (takes count from 1)"),
    ("EB0_anger.flac", "matches no known corpus"),
    ("EB0_anger_x.flac", "matches no known corpus"),
    ("EBO_anger_1.flac", "matches no known corpus"),  # letter O, not zero
    ("nemo_EB0-anger-1.flac", "prefix 'nemo' but 'EB0-anger-1' is not a nemo name"),
])
def test_nemo_bad_names_are_reported(name, reason):
    assert reason in problem(name)


def test_nemo_emotions_through_the_label_sets():
    seven, four = get_label_set("7class"), get_label_set("4class")
    words = ("anger", "fear", "happiness", "neutral", "sadness", "surprised")
    emotions = [clip(f"EB0_{w}_1.flac").emotion for w in words]
    assert emotions == ["angry", "fearful", "happy", "neutral", "sad", "surprised"]
    assert [seven.label_of(e) for e in emotions] == emotions  # all six are 7class labels
    assert [four.label_of(e) for e in emotions] == ["angry", None, "happy", "neutral", "sad", None]


@pytest.fixture
def nemo_dir(data_dir):
    root = data_dir / "nemo"
    if not (root / "data.tsv").is_file():
        pytest.skip(f"nEMO not found at {root} (the shared data has it under nemo/, with its data.tsv)")
    return root


def nemo_table(nemo_dir) -> list:
    """data.tsv's rows as dicts; its speaker_id column carries leading spaces."""
    lines = (nemo_dir / "data.tsv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"))) for line in lines[1:]]


@pytest.mark.data
def test_real_nemo(nemo_dir):
    index = index_folders(nemo_dir)
    assert index.problems == ()
    assert [p.name for p in index.ignored] == ["LICENSE", "data.tsv"]
    counts = count_clips(index.clips)
    assert counts["speaker"] == Counter({**{f"nemo:{s}": 180 for s in ("EB0", "IC0", "KD0", "KS0", "SM0", "TP0", "WR0")},
                                         "nemo:MK0": 150, "nemo:MP0": 166})
    assert counts["emotion"] == Counter(angry=269, fearful=257, happy=270, neutral=270, sad=270, surprised=240)
    assert counts["left_out"] == Counter()  # 7class has all six
    assert sum(count_clips(index.clips, get_label_set("4class"))["left_out"].values()) == 257 + 240
    assert {c.emotion for c in index.clips if c.speaker == "nemo:MK0"} == {"angry", "fearful", "happy", "neutral", "sad"}


@pytest.mark.data
def test_real_nemo_names_agree_with_its_own_table(nemo_dir):
    rows = nemo_table(nemo_dir)
    assert len(rows) == 1576 and rows[0]["speaker_id"] != rows[0]["speaker_id"].strip()  # the leading spaces
    for row in rows:
        c = clip(str(nemo_dir / "samples" / Path(row["file_id"]).with_suffix(".flac").name))
        assert c.path.is_file(), c.path
        assert (c.speaker, c.emotion) == (f"nemo:{row['speaker_id'].strip()}", emotion_of_word(row["emotion"])), row
