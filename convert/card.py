"""Render a bundle's model card (markdown) from its manifest, so the figures are never typed by hand.

    ser-convert card models/default --cv benchmarks/cv/shipped-corpus.json [--targets t.json] > models/MODEL_CARD.md
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

from ser_edge.model.bundle import Bundle, load_bundle
from ser_edge.model.circumplex import FIELD as CIRCUMPLEX_FIELD

from .card_sections import cv_section, events_section, parity_section, targets_section

#: what each corpus is, for the training data section
CORPORA = {
    "ravdess": "RAVDESS actors 01-20 (acted read sentences, North American English, studio; 20 of its 24 actors)",
    "tess": "TESS (two Canadian English actresses aged 26 and 64, single words in a carrier phrase)",
    "emovo": "EMOVO (Italian, 6 actors, acted sentences)",
    "turev": "TurEV-DB (Turkish, 6 speakers, single words; angry, calm, happy, sad only)",
    "nemo": "nEMO (Polish, 9 actors, acted sentences; no disgust)",
}


def _circumplex_section(bundle: Bundle) -> list[str]:
    """Arousal and valence: the formula, this model's placement of its labels, and the sources."""
    lines = ["## Arousal and valence",
             "Emotion events, `classify` results and the MQTT state also carry `arousal` and `valence`, "
             "each in [-1, 1]: the class scores p (smoothed in events, the clip's mean in `classify`) weight "
             "each label's place on the circumplex of affect, valence = sum_i p_i v_i and arousal = "
             "sum_i p_i a_i (`ser_edge.model.circumplex`).", ""]
    placement = bundle.circumplex
    if placement is None:
        return lines + ["This model's labels have no place on the circumplex (no `circumplex` in its "
                        "manifest and no built-in default for every label): its arousal and valence are null.", ""]
    origin = ("its manifest" if CIRCUMPLEX_FIELD in bundle.manifest
              else "the built-in default by label name; the manifest predates the field")
    lines += [f"Placement of this model's labels (from {origin}):", "",
              "| label | valence | arousal |", "|---|---|---|"]
    lines += [f"| {label} | {v:+.1f} | {a:+.1f} |" for label, (v, a) in placement.items()]
    return lines + [
        "", "The basic emotions are placed after Russell JA (1980), \"A circumplex model of affect\", "
        "J Pers Soc Psychol 39(6):1161-1178; the arousal sides (high: angry, happy, fearful, surprised; "
        "low: neutral, sad, disgust) are the grouping of Schuller B et al. (2009), \"Acoustic emotion "
        "recognition: a benchmark comparison of performances\", IEEE ASRU, which the binary arousal figure "
        "uses. The placement is fixed, not learned: the two numbers are only as good as the class scores "
        "behind them, and a clip scored as neutral reads as (0, 0).", ""]


def _model_section(bundle: Bundle) -> list[str]:
    m, p = bundle.manifest, bundle.params
    norm = ("normalised with the speaker's statistics, learnt on the device from a population prior "
            "(speaker_cmvn, docs/ADAPTATION.md)" if p.normalisation == "speaker_cmvn"
            else f"each window normalised on its own ({p.normalisation})")
    return [
        "## Model",
        f"- Labels (output order): {', '.join(bundle.labels)}.",
        f"- Input: {p.window_ms / 1000:g} s windows every {p.window_hop_ms / 1000:g} s of {p.n_mfcc} MFCCs "
        f"({p.n_mels} mel bands, {p.fmin_hz:g}-{p.mel_fmax_hz:g} Hz, {p.frame_ms:g} ms frames every {p.hop_ms:g} ms) "
        f"at {p.sample_rate} Hz, {norm}; tensor {m['input']['dtype']} {m['input']['shape']}.",
        f"- A compact Conv1D, full-int8 TFLite: {m['model']['size_bytes'] / 1000:.1f} KB, ops {', '.join(m['model'].get('ops', []))}.",
        *_head_lines(bundle),
        f"- Feature parameter hash {m['feature_params_hash']}; model sha256 {bundle.sha256}.", ""]


def _head_lines(bundle: Bundle) -> list[str]:
    """What decides: the windows alone, or utterances through the bundle's fusion head."""
    head = bundle.utterance
    if head is None:
        return ["- Decisions: the smoothed scores of the windows (no utterance head)."]
    prosody = " and prosody (log F0, voicing, energy, spectral shape)" if bundle.params.prosody else ""
    return [f"- Decisions over utterances (the listener's default; `classify` of a file): each stretch of speech "
            f"(its last {head.max_s:g} s at most, again every {head.every_s:g} s while it lasts) is decided from its "
            f"windows' mean log-scores, weighted {head.network_weight:g}, plus a logistic regression on {head.dims} "
            f"statistics of its MFCC{prosody} normalised by the speaker's own (`--head fusion`, "
            "ser_edge.model.utterance); window decisions remain available (`scope`)."]


def _training_section(bundle: Bundle) -> list[str]:
    train = bundle.manifest.get("training_data", {})
    lines = ["## Training data"]
    corpora: list[str] = []
    for part in ("train", "validation", "test"):
        info = train.get(part, {})
        if info and info.get("clips"):
            corpora += [c for c in info.get("corpora", {}) if c not in corpora]
            counts = ", ".join(f"{k} {v}" for k, v in info.get("corpora", {}).items())
            lines.append(f"- {part}: {info.get('clips')} clips ({counts}); speakers {', '.join(info.get('speakers', []))}.")
    lines += ["", "; ".join(CORPORA.get(c, c) for c in corpora) + ". RAVDESS and TurEV-DB `calm` are folded "
              "into `neutral`; TESS `pleasant surprise` is `surprised`"
              + ("; clips of other emotions are left out." if len(bundle.labels) < 7 else "."), ""]
    return lines


def _limitations() -> list[str]:
    return [
        "## Limitations",
        "- Acted emotion, mostly read sentences or single words, studio recordings: spontaneous speech is "
        "subtler and mixed, and the cross-corpus figures above are the honest guide to a new room, microphone "
        "or language. They are far below the figures on speakers of the training corpora.",
        "- Few speakers in few languages (the training data above: at most 43 speakers in English, Italian, Turkish "
        "and Polish); TESS's two speakers prove nothing about unseen voices. Expect lower accuracy on other "
        "languages, children, older adults, accents, far-field or noisy microphones.",
        "- A speaker-normalised model starts from a population prior and gets better as it learns its speaker "
        "(cold against adapted above); statistics learnt from a speaker who is nearly always in one mood remove "
        "part of that mood.",
        "- The categories do not describe every state; confidence is not calibrated probability. Treat outputs "
        "as weak signals, aggregated over time, never as a verdict on a person.", ""]


def _read_uar4(bundle: Bundle, trained: str) -> str:
    """For a 4-class bundle beside folds of the 7-class recipe: which column is its figure."""
    if len(bundle.labels) < 7 and trained == "7class":
        return (" These folds trained the 7-class recipe; for this model read UAR4, its four classes scored "
                "by a 7-class model.")
    return ""


def render_card(bundle_dir: Path, cvs: Sequence[tuple[Path, dict]] = (), targets: Optional[list[dict]] = None,
                card_dir: Optional[Path] = None) -> str:
    """The card of ``bundle_dir``: ``cvs`` (path, cv.json) of its recipe, ``targets`` rows of
    benchmarks/targets.py; image links relative to ``card_dir`` (where the card is written)."""
    bundle = load_bundle(bundle_dir)
    m = bundle.manifest
    metrics = m.get("metrics", {})
    lines = [
        f"# Model card: {bundle.model_id}", "",
        f"A model shipped with ser-edge (`models/{Path(bundle_dir).name}`, {len(bundle.labels)} classes). This card is "
        "generated from its manifest and the cross-validation of its recipe by `ser-convert card`; regenerate the "
        "models and cards with `make model`.", "",
        "## Intended use",
        "Prototypes and research on devices: estimating the emotion expressed in short stretches of "
        "speech (a voice assistant's tone, a car's cabin, a call-centre desk), on the device, without a "
        "cloud. Not for decisions about people (hiring, health, policing, surveillance), not for covert "
        "monitoring, and not for commercial use (see Licence).", "",
        *_model_section(bundle), *_circumplex_section(bundle), *_training_section(bundle)]
    for path, cv in cvs:
        trained = (cv.get("recipe") or {}).get("label_set", "7class")
        lines += ["## The recipe, cross-validated (`ser-train cv`)", "",
                  "The same recipe trained once per fold; the test speakers (in corpus folds the whole test corpus) "
                  "never heard in training or early stopping; float model, clip level. UAR over the classes the test "
                  "data has; UAR4 over neutral/happy/sad/angry; arousal: balanced accuracy, high = angry/happy/"
                  f"fearful/surprised. From `{path.name}` ({trained} folds)." + _read_uar4(bundle, trained),
                  "", *cv_section(cv, path, card_dir)]
    lines += ["## This bundle, float against int8", *parity_section(metrics)]
    lines += ["## Events: thresholds and smoothing", *events_section(bundle.thresholds, metrics.get("events"))]
    if targets:
        lines += ["## Targets", *targets_section(targets)]
    lines += _limitations() + ["## Licence", f"{m.get('licence', {}).get('model_use', '')}"]
    for corpus, terms in m.get("licence", {}).get("training_data", {}).items():
        lines.append(f"- {corpus}: {terms}")
    lines += ["", "The code of ser-edge is Apache-2.0; this model is not: it inherits the data's "
              "non-commercial terms."]
    return "\n".join(lines) + "\n"
