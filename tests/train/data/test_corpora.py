"""Corpus name parsers, and indexing the real shared corpora.

Parser tests use literal file names from the real corpora. Index tests over the
shared corpora only list files (no audio is decoded) and skip without them. Indexing
small made-up trees and the data summary: test_index.py.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from ser_train.data.corpora import Clip, Problem, index_folders, parse_clip
from ser_train.data.labels import get_label_set
from ser_train.data.summary import count_clips, format_summary


def clip(name: str) -> Clip:
    result = parse_clip(name)
    assert isinstance(result, Clip), result
    return result


def problem(name: str) -> str:
    result = parse_clip(name)
    assert isinstance(result, Problem), result
    assert result.path == Path(name)
    return result.reason


def fields(name: str) -> tuple:
    c = clip(name)
    return c.corpus, c.speaker, c.emotion, c.intensity


# --- parsers on real names -------------------------------------------------

@pytest.mark.parametrize("name, expected", [
    ("Actor_01/03-01-01-01-01-01-01.flac", ("ravdess", "ravdess:01", "neutral", "normal")),
    ("Actor_17/03-01-02-02-01-01-17.flac", ("ravdess", "ravdess:17", "calm", "strong")),
    ("03-01-03-01-02-01-20.wav", ("ravdess", "ravdess:20", "happy", "normal")),
    ("03-01-04-02-02-02-09.WAV", ("ravdess", "ravdess:09", "sad", "strong")),
    ("03-01-05-01-01-01-17.aiff", ("ravdess", "ravdess:17", "angry", "normal")),
    ("03-01-06-02-01-01-17.flac", ("ravdess", "ravdess:17", "fearful", "strong")),
    ("03-01-07-02-01-01-17.ogg", ("ravdess", "ravdess:17", "disgust", "strong")),
    ("03-01-08-01-01-01-17.mp3", ("ravdess", "ravdess:17", "surprised", "normal")),
    ("Actor_24/03-01-08-02-02-02-24.wav", ("ravdess", "ravdess:24", "surprised", "strong")),
])
def test_ravdess_speech(name, expected):
    assert fields(name) == expected


@pytest.mark.parametrize("name, reason", [
    ("Audio_Song_Actors_01-24/Actor_01/03-02-01-01-01-01-01.wav", "not used: vocal channel 02 is song"),
    ("03-02-06-02-02-02-12.wav", "not used: vocal channel 02 is song"),
    ("Video_Speech_Actor_01/01-01-01-01-01-01-01.mp4", "not used: modality 01 is full audio-video"),
    ("02-01-05-02-01-01-01.mp4", "not used: modality 02 is video-only"),
    ("02-02-05-02-01-01-01.mp4", "not used: modality 02"),
    ("03-01-09-01-01-01-01.wav", "unknown emotion code '09'"),
    ("03-01-01-02-01-01-01.wav", "neutral has no strong intensity"),
    ("03-01-05-03-01-01-01.wav", "unknown intensity '03'"),
    ("03-01-05-01-01-01-25.wav", "actor 01-24"),
    ("03-01-05-01-03-01-01.wav", "statement and repetition must be 01-02"),
])
def test_ravdess_names_not_used_are_reported(name, reason):
    assert reason in problem(name)


@pytest.mark.parametrize("name, expected", [
    ("OAF_angry/OAF_back_angry.flac", ("tess", "tess:OAF", "angry", None)),
    ("OAF_Fear/OAF_neat_fear.flac", ("tess", "tess:OAF", "fearful", None)),
    ("OAF_Sad/OAF_youth_sad.flac", ("tess", "tess:OAF", "sad", None)),
    ("OAF_Pleasant_surprise/OAF_bite_ps.flac", ("tess", "tess:OAF", "surprised", None)),
    ("YAF_pleasant_surprised/YAF_base_ps.flac", ("tess", "tess:YAF", "surprised", None)),
    ("YAF_fear/YAF_food_fear.flac", ("tess", "tess:YAF", "fearful", None)),
    ("YAF_disgust/YAF_chalk_disgust.wav", ("tess", "tess:YAF", "disgust", None)),
    ("YAF_happy/YAF_yes_happy.wav", ("tess", "tess:YAF", "happy", None)),
    ("OAF_neutral/OAF_witch_neutral.wav", ("tess", "tess:OAF", "neutral", None)),
    ("YAF_BACK_ANGRY.WAV", ("tess", "tess:YAF", "angry", None)),
])
def test_tess(name, expected):
    assert fields(name) == expected


def test_tess_oa_bite_neutral_belongs_to_oaf():
    c = clip("tess/OAF_neutral/OA_bite_neutral.flac")
    assert (c.speaker, c.emotion, c.clip_id) == ("tess:OAF", "neutral", "OAF_bite_neutral")


@pytest.mark.parametrize("name, reason", [
    ("OAF_back_surprise.wav", "unknown emotion 'surprise'"),
    ("OAF_Fear/OAF_back_angry.flac", "name says OAF angry but folder 'OAF_Fear' says OAF fearful"),
    ("YAF_sad/OAF_back_sad.flac", "name says OAF sad but folder 'YAF_sad' says YAF sad"),
    ("MAF_back_angry.wav", "matches no known corpus"),
])
def test_tess_bad_names_and_misfiled_clips_are_reported(name, reason):
    assert reason in problem(name)


@pytest.mark.parametrize("name, expected", [
    ("AudioWAV/1001_DFA_ANG_XX.wav", ("cremad", "cremad:1001", "angry", None)),
    ("1001_IEO_HAP_LO.wav", ("cremad", "cremad:1001", "happy", "low")),
    ("1001_IEO_ANG_HI.wav", ("cremad", "cremad:1001", "angry", "high")),
    ("1020_IEO_DIS_HI.wav", ("cremad", "cremad:1020", "disgust", "high")),
    ("1045_IEO_FEA_MD.wav", ("cremad", "cremad:1045", "fearful", "medium")),
    ("1030_IEO_NEU_XX.wav", ("cremad", "cremad:1030", "neutral", None)),
    ("1091_WSI_SAD_XX.flac", ("cremad", "cremad:1091", "sad", None)),
    ("1001_dfa_ang_xx.wav", ("cremad", "cremad:1001", "angry", None)),
])
def test_cremad(name, expected):
    assert fields(name) == expected


@pytest.mark.parametrize("name, reason", [
    ("1001_DFA_SUR_XX.wav", "unknown emotion code 'SUR'"),
    ("1001_ABC_ANG_XX.wav", "unknown sentence code 'ABC'"),
    ("1092_DFA_ANG_XX.wav", "actor 1092 is outside 1001-1091"),
    ("1001_IEO_ANG_ZZ.wav", "unknown level 'ZZ'"),
])
def test_cremad_bad_names_are_reported(name, reason):
    assert reason in problem(name)


@pytest.mark.parametrize("name, expected", [
    ("DC_a01.wav", ("savee", "savee:DC", "angry", None)),
    ("JE_d15.wav", ("savee", "savee:JE", "disgust", None)),
    ("JK_f03.wav", ("savee", "savee:JK", "fearful", None)),
    ("KL_h10.wav", ("savee", "savee:KL", "happy", None)),
    ("DC_n30.wav", ("savee", "savee:DC", "neutral", None)),
    ("JE_sa01.wav", ("savee", "savee:JE", "sad", None)),
    ("KL_su15.wav", ("savee", "savee:KL", "surprised", None)),
    ("AudioData/DC/a01.wav", ("savee", "savee:DC", "angry", None)),
    ("AudioData/JK/sa15.wav", ("savee", "savee:JK", "sad", None)),
    ("AudioData/kl/su02.wav", ("savee", "savee:KL", "surprised", None)),
])
def test_savee_flat_and_in_speaker_folders(name, expected):
    assert fields(name) == expected
    assert clip(name).clip_id in {"DC_a01", "JE_d15", "JK_f03", "KL_h10", "DC_n30", "JE_sa01", "KL_su15",
                                  "JK_sa15", "KL_su02"}


def test_savee_bare_name_outside_a_speaker_folder_is_not_guessed():
    assert "matches no known corpus" in problem("AudioData/a01.wav")
    assert "unknown emotion code 'x'" in problem("AudioData/DC/x01.wav")


@pytest.mark.parametrize("name, expected", [
    ("wav/03a01Fa.wav", ("emodb", "emodb:03", "happy", None)),
    ("12b01Wa.wav", ("emodb", "emodb:12", "angry", None)),
    ("12b02Ad.wav", ("emodb", "emodb:12", "fearful", None)),
    ("12b02Ea.wav", ("emodb", "emodb:12", "disgust", None)),
    ("12b02Na.wav", ("emodb", "emodb:12", "neutral", None)),
    ("12b03Ta.wav", ("emodb", "emodb:12", "sad", None)),
    ("12b10Ld.wav", ("emodb", "emodb:12", "boredom", None)),
    ("13a01Ec.WAV", ("emodb", "emodb:13", "disgust", None)),
])
def test_emodb(name, expected):
    assert fields(name) == expected


@pytest.mark.parametrize("name, reason", [
    ("03a01Xa.wav", "unknown emotion letter 'X'"),
    ("01a01Fa.wav", "speaker 01 or text a01 is not in EmoDB"),
    ("03c01Fa.wav", "text c01"),
])
def test_emodb_bad_names_are_reported(name, reason):
    assert reason in problem(name)


@pytest.mark.parametrize("name, expected", [
    ("emovo/f1/dis-f1-b1.flac", ("emovo", "emovo:f1", "disgust", None)),
    ("emovo/f2/gio-f2-n5.flac", ("emovo", "emovo:f2", "happy", None)),
    ("emovo/f3/neu-f3-d2.flac", ("emovo", "emovo:f3", "neutral", None)),
    ("emovo/m1/pau-m1-l4.flac", ("emovo", "emovo:m1", "fearful", None)),
    ("emovo/m2/rab-m2-b3.wav", ("emovo", "emovo:m2", "angry", None)),
    ("emovo/m3/sor-m3-l1.flac", ("emovo", "emovo:m3", "surprised", None)),
    ("tri-m3-n1.WAV", ("emovo", "emovo:m3", "sad", None)),
    ("emovo_dis-f1-b1.wav", ("emovo", "emovo:f1", "disgust", None)),
])
def test_emovo(name, expected):
    assert fields(name) == expected
    assert clip(name).clip_id == Path(name).stem.removeprefix("emovo_").lower()


@pytest.mark.parametrize("name, reason", [
    ("dis-f4-b1.flac", "matches no known corpus"),
    ("abc-f1-b1.flac", "unknown emotion code 'abc'"),
    ("dis-f1-b4.flac", "unknown sentence 'b4'"),
    ("neu-m1-n6.flac", "unknown sentence 'n6'"),
])
def test_emovo_bad_names_are_reported(name, reason):
    assert reason in problem(name)


@pytest.mark.parametrize("name, expected", [
    ("turev/Angry/1157_kz_acik.flac", ("turev", "turev:1157", "angry", None)),
    ("turev/Calm/1234_sk_algi.flac", ("turev", "turev:1234", "calm", None)),
    ("turev/Happy/1358_mt_beste.flac", ("turev", "turev:1358", "happy", None)),
    ("turev/Sad/7895_hl_ogul1.flac", ("turev", "turev:7895", "sad", None)),
    ("turev/sad/1984_HL_bugu.wav", ("turev", "turev:1984", "sad", None)),
    ("elsewhere/6783_kz_acik.flac", ("turev", "turev:6783", "angry", None)),  # no emotion folder: name alone
])
def test_turev(name, expected):
    assert fields(name) == expected


@pytest.mark.parametrize("name, reason", [
    ("turev/Calm/1157_kz_acik.flac", "name says angry (kz) but folder 'Calm' says calm"),
    ("turev/Happy/1234_hl_algi.flac", "name says sad (hl) but folder 'Happy' says happy"),
    ("turev/Angry/1157_xx_acik.flac", "unknown emotion code 'xx'"),
])
def test_turev_misfiled_clips_and_bad_codes_are_reported(name, reason):
    assert reason in problem(name)


def test_turev_calm_folds_into_neutral_like_ravdess_calm():
    calm = clip("turev/Calm/1234_sk_algi.flac")
    assert calm.emotion == "calm"
    assert get_label_set("7class").label_of(calm.emotion) == get_label_set("4class").label_of(calm.emotion) == "neutral"


def test_clips_map_through_label_sets():
    seven, four = get_label_set("7class"), get_label_set("4class")
    calm, ps, bored = clip("03-01-02-01-01-02-01.flac"), clip("OAF_bite_ps.flac"), clip("12b10Ld.wav")
    assert seven.label_of(calm.emotion) == four.label_of(calm.emotion) == "neutral"
    assert seven.label_of(ps.emotion) == "surprised" and four.index_of(ps.emotion) is None
    assert seven.index_of(bored.emotion) is None and four.index_of(bored.emotion) is None


# --- corpus prefixes (the shared quirks/ folder) and garbage ----------------

@pytest.mark.parametrize("name, expected", [
    ("quirks/tess_YAF_germ_angry.wav", ("tess", "tess:YAF", "angry", None)),
    ("quirks/tess_YAF_neat_fear.wav", ("tess", "tess:YAF", "fearful", None)),
    ("quirks/tess_OAF_food_fear.wav", ("tess", "tess:OAF", "fearful", None)),
    ("quirks/ravdess_03-01-02-01-01-02-01.wav", ("ravdess", "ravdess:01", "calm", "normal")),
    ("quirks/ravdess_03-01-08-01-02-02-01.wav", ("ravdess", "ravdess:01", "surprised", "normal")),
    ("cremad_1001_DFA_ANG_XX.wav", ("cremad", "cremad:1001", "angry", None)),
    ("CREMA-D_1001_DFA_ANG_XX.wav", ("cremad", "cremad:1001", "angry", None)),
    ("savee_DC_a01.wav", ("savee", "savee:DC", "angry", None)),
    ("emodb_03a01Fa.wav", ("emodb", "emodb:03", "happy", None)),
])
def test_a_corpus_prefix_is_stripped_and_keeps_the_corpus_label(name, expected):
    assert fields(name) == expected


def test_a_prefix_restricts_the_name_to_its_corpus():
    assert "prefix 'tess' but '03-01-02-01-01-02-01' is not a tess name" in problem("tess_03-01-02-01-01-02-01.wav")
    assert "ravdess name '03-02-01-01-01-01-01': not used" in problem("ravdess_03-02-01-01-01-01-01.wav")


@pytest.mark.parametrize("name", [
    "README.wav", "recording.wav", "", "x/.wav", "03-01-05-01-01-01.wav", "OAF_angry.wav",
    "1001_DFA_ANG.wav", "DC-a01.wav", "03a01F.wav", "tess_.wav", "ravdess_tess_OAF_back_angry.wav",
])
def test_garbage_names_are_reported_never_guessed(name):
    assert problem(name)


# --- the real shared corpora -------------------------------------------------

@pytest.mark.data
def test_real_ravdess_and_tess(data_dir):
    index = index_folders([data_dir / "ravdess", data_dir / "tess"])
    assert index.problems == () and index.ignored == ()
    counts = count_clips(index.clips)
    assert counts["corpus"] == Counter(ravdess=1200, tess=2797)
    assert counts["speaker"] == Counter({**{f"ravdess:{a:02d}": 60 for a in range(1, 21)},
                                         "tess:OAF": 1399, "tess:YAF": 1398})
    ravdess = Counter(c.emotion for c in index.clips if c.corpus == "ravdess")
    assert ravdess == Counter(neutral=80, calm=160, happy=160, sad=160, angry=160, fearful=160, disgust=160,
                              surprised=160)
    tess = Counter(c.emotion for c in index.clips if c.corpus == "tess")
    assert tess == Counter(angry=399, fearful=398, disgust=400, happy=400, neutral=400, surprised=400, sad=400)
    # 7 class: calm joins neutral; nothing from these two corpora is left out.
    assert count_clips(index.clips)["label"]["neutral"] == 80 + 160 + 400
    assert sum(1 for c in index.clips if c.path.stem == "OA_bite_neutral") == 1


@pytest.mark.data
def test_real_quirks_parse_with_their_corpus_label(quirks_dir):
    index = index_folders(quirks_dir)
    assert index.problems == ()
    assert Counter(c.corpus for c in index.clips) == Counter(ravdess=5, tess=3)
    assert {c.clip_id: c.emotion for c in index.clips if c.corpus == "tess"} == {
        "OAF_food_fear": "fearful", "YAF_germ_angry": "angry", "YAF_neat_fear": "fearful"}


@pytest.mark.data
def test_real_data_root_counts_quirk_copies_once(data_dir):
    # The 3 TESS quirks are the clips missing from tess/ (2797 + 3 = 2800); the
    # 5 RAVDESS quirks are stereo originals of clips already in ravdess/.
    index = index_folders(data_dir)
    assert Counter(c.corpus for c in index.clips) == Counter(ravdess=1200, tess=2800, emovo=588, turev=1735,
                                                             nemo=1576)
    assert sorted(p.path.parent.name for p in index.problems) == ["quirks"] * 5
    assert all(p.reason.startswith("another copy of ravdess") for p in index.problems)
    assert [p.relative_to(data_dir).as_posix() for p in index.ignored] == ["README.md", "nemo/LICENSE", "nemo/data.tsv"]
    summary = format_summary(index)
    assert "7899 clips, 5 problem files, 3 other files ignored" in summary
    rows = [line.split() for line in summary.splitlines()]
    assert ["tess:OAF", "1400"] in rows and ["nemo", "9", "1576"] in rows and ["total", "43", "7899"] in rows
    assert "calm (ravdess, turev) counts as neutral in 7class" in summary


@pytest.mark.data
def test_real_emovo_and_turev(data_dir):
    index = index_folders([data_dir / "emovo", data_dir / "turev"])
    assert index.problems == () and index.ignored == ()
    counts = count_clips(index.clips)
    assert counts["speaker"] == Counter({**{f"emovo:{s}": 98 for s in ("f1", "f2", "f3", "m1", "m2", "m3")},
                                         "turev:1157": 150, "turev:1234": 328, "turev:1358": 328, "turev:1984": 328,
                                         "turev:6783": 328, "turev:7895": 273})
    emovo = Counter(c.emotion for c in index.clips if c.corpus == "emovo")
    assert emovo == Counter({e: 84 for e in ("disgust", "happy", "neutral", "fearful", "angry", "surprised", "sad")})
    turev = Counter(c.emotion for c in index.clips if c.corpus == "turev")
    assert turev == Counter(angry=487, calm=408, happy=357, sad=483)
    # 1157 has no calm or happy clips (data README)
    assert {c.emotion for c in index.clips if c.speaker == "turev:1157"} == {"angry", "sad"}
    assert counts["label"]["neutral"] == 84 + 408  # TurEV calm joins neutral, as RAVDESS calm does
