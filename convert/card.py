"""Render a bundle's model card (markdown) from its manifest, so the figures are never typed by hand.

    ser-convert card models/default [--folds runs/cv/cv.json] > models/MODEL_CARD.md
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from ser_edge.model.bundle import Bundle, load_bundle
from ser_edge.model.circumplex import FIELD as CIRCUMPLEX_FIELD


def _pct(x: Optional[float]) -> str:
    return "n/a" if x is None else f"{100 * x:.1f} %"


def _confusion_table(confusion: dict) -> list[str]:
    labels = confusion["labels"]
    lines = ["| true \\ predicted | " + " | ".join(labels) + " | recall |", "|---" * (len(labels) + 2) + "|"]
    for label, row in zip(labels, confusion["matrix"]):
        total = sum(row)
        recall = row[labels.index(label)] / total if total else None
        lines.append(f"| **{label}** | " + " | ".join(str(v) for v in row) + f" | {_pct(recall)} |")
    return lines


def _cv_section(cv: dict) -> list[str]:
    """The fold table of a `ser-train cv` cv.json: per fold and mean +- sd per fold kind."""
    kinds = {"corpus": "leave one corpus out", "speaker": "speaker folds over all corpora"}
    lines = ["### The recipe, cross-validated (`ser-train cv`)", "",
             "The same recipe trained once per fold; test speakers (and in corpus folds the whole test corpus) "
             "never heard in training or early stopping; float model, clip level. UAR over the classes the test "
             "data has; UAR4 over neutral/happy/sad/angry; arousal: balanced accuracy, high = angry/happy/"
             "fearful/surprised.", "",
             "| fold | test | UAR | UAR4 | macro-F1 | arousal | clips |", "|---|---|---|---|---|---|---|"]
    for f in cv["folds"]:
        t = f["metrics"]
        lines.append(f"| {f['name']} | {', '.join(f['test']['corpora'])} ({len(f['test']['speakers'])} speakers) | "
                     f"{_pct(t['uar'])} | {_pct(t['uar4'])} | {_pct(t['macro_f1'])} | {_pct(t['arousal_bacc'])} | {t['n']} |")
    lines.append("")
    for kind, s in cv["summary"].items():
        figures = ", ".join(f"{name} {_pct(s[key]['mean'])} ± {100 * s[key]['sd']:.1f}" for key, name in
                            (("uar", "UAR"), ("uar4", "UAR4"), ("macro_f1", "macro-F1"), ("arousal_bacc", "arousal")))
        lines.append(f"- {kinds.get(kind, kind)} ({s['uar']['n']} folds): {figures}")
    return lines + ["", f"Measured on {cv.get('machine', '?')}, {cv.get('date', '')}.", ""]


def _folds_section(folds: dict) -> list[str]:
    if "summary" in folds:  # a cv.json of `ser-train cv`
        return _cv_section(folds)
    rows = folds["folds"]
    uars = [r["uar"] for r in rows]
    mean = sum(uars) / len(uars)
    sd = (sum((u - mean) ** 2 for u in uars) / max(1, len(uars) - 1)) ** 0.5
    done = "" if len(rows) == 5 else f"; {len(rows)} of them finished"
    lines = [
        "### The recipe, cross-validated over speakers", "",
        f"`benchmarks/train_folds.py` trains the same recipe once per speaker fold (5 folds of 4 RAVDESS "
        f"actors{done}), each time holding out actors never heard in "
        "training or early stopping; float model, clip level:", "",
        "| fold | held-out actors | UAR | accuracy | macro-F1 | clips |", "|---|---|---|---|---|---|",
    ]
    for r in rows:
        actors = ", ".join(t.split(":")[1] for t in r["test"])
        lines.append(f"| {r['fold']} | {actors} | {_pct(r['uar'])} | {_pct(r['accuracy'])} | {_pct(r['macro_f1'])} | {r['n']} |")
    lines += ["", f"Mean UAR {_pct(mean)} (sd {100 * sd:.1f} points) on {folds.get('machine', '?')}, {folds.get('date', '')}.", ""]
    return lines


def _targets_section(m: dict, metrics: dict, size_kib: float) -> list[str]:
    """The project's targets for the shipped model, each marked met or not, from the manifest."""
    int8, flt = metrics.get("int8") or {}, metrics.get("float") or {}
    drop = (flt.get("uar", 0) - int8.get("uar", 0)) * 100
    rows = [
        ("model file at most 100 KB", f"{m['model']['size_bytes'] / 1000:.1f} KB", m["model"]["size_bytes"] <= 100_000),
        ("int8 UAR on unseen RAVDESS speakers at least 65 %", _pct(int8.get("uar")), int8.get("uar", 0) >= 0.65),
        ("int8 at most 1 point below float", f"{drop:.1f} points below", drop <= 1.0),
        ("int8/float top-1 agreement at least 97 %", _pct(metrics.get("top1_agreement")), metrics.get("top1_agreement", 0) >= 0.97),
    ]
    lines = ["## Targets", "", "| target | this model | met |", "|---|---|---|"]
    lines += [f"| {name} | {value} | {'yes' if ok else '**no**'} |" for name, value, ok in rows]
    return lines + [""]


def _speaker_curve_lines(rows: list) -> list[str]:
    """One limitation line from benchmarks/speaker_curve.py's JSON: fewer speakers, lower UAR."""
    done = [r for r in rows if r.get("uar_all_actors") is not None]
    if not done:
        return []
    parts = "; ".join(f"fold {r['fold']}: {_pct(r['uar'])} with {len(r['kept'])} actors vs "
                      f"{_pct(r['uar_all_actors'])} with {r['n_all_actors']}" for r in done)
    return [f"- Too few speakers is the main limit: trained on half the RAVDESS actors, held-out UAR drops "
            f"({parts}; `benchmarks/speaker_curve.py`). More speakers (e.g. CREMA-D's 91) is the lever."]


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


def render_card(bundle_dir: Path, folds: Optional[dict] = None, speaker_curve: Optional[list] = None) -> str:
    bundle = load_bundle(bundle_dir)
    m, p = bundle.manifest, bundle.params
    metrics = m.get("metrics", {})
    train = m.get("training_data", {})
    size_kib = m["model"]["size_bytes"] / 1024
    held_out = ", ".join(s.split(":")[1] for s in metrics.get("held_out_speakers", []))
    lines = [
        f"# Model card: {bundle.model_id}", "",
        "The default model shipped with ser-edge (`models/default`). This card is generated from its "
        "manifest by `ser-convert card`; regenerate the model and card with `make model`.", "",
        "## Intended use",
        "Prototypes and research on devices: estimating the emotion expressed in short stretches of "
        "speech (a voice assistant's tone, a car's cabin, a call-centre desk), on the device, without a "
        "cloud. Not for decisions about people (hiring, health, policing, surveillance), not for covert "
        "monitoring, and not for commercial use (see Licence).", "",
        "## Model",
        f"- Labels (output order): {', '.join(bundle.labels)}.",
        f"- Input: {p.window_ms / 1000:g} s windows of {p.n_mfcc} MFCCs ({p.n_mels} mel bands, "
        f"{p.fmin_hz:g}-{p.mel_fmax_hz:g} Hz, {p.frame_ms:g} ms frames every {p.hop_ms:g} ms) at "
        f"{p.sample_rate} Hz, " + ("normalised with the speaker's statistics, learnt on the device from a "
                                   "population prior (speaker_cmvn, docs/ADAPTATION.md)" if p.normalisation == "speaker_cmvn"
                                   else f"each window normalised on its own ({p.normalisation})") + "; tensor "
        f"{m['input']['dtype']} {m['input']['shape']}.",
        f"- A compact Conv1D, full-int8 TFLite: {size_kib:.1f} KiB, ops {', '.join(m['model'].get('ops', []))}.",
        f"- Feature parameter hash {m['feature_params_hash']}; model sha256 {bundle.sha256}.", "",
        *_circumplex_section(bundle),
        "## Training data",
    ]
    for part in ("train", "validation", "test"):
        info = train.get(part, {})
        if info:
            corpora = ", ".join(f"{k} {v}" for k, v in info.get("corpora", {}).items())
            lines.append(f"- {part}: {info.get('clips')} clips ({corpora}); speakers {', '.join(info.get('speakers', []))}.")
    lines += [
        "", "RAVDESS actors 01-20 (speech, acted, North American English, 24 professional actors of whom "
        "20 are available to us) and TESS (two Canadian English actresses aged 26 and 64). RAVDESS "
        "`calm` is folded into `neutral`; TESS `pleasant surprise` is `surprised`.", "",
        "## Results on held-out speakers",
        f"The shipped model never heard RAVDESS actors {held_out}. Clip level (a clip's voiced "
        "windows averaged):", "",
        "| model | UAR | accuracy | macro-F1 | clips |", "|---|---|---|---|---|",
    ]
    for name in ("float", "int8"):
        r = metrics.get(name)
        if r:
            lines.append(f"| {name} | {_pct(r['uar'])} | {_pct(r['accuracy'])} | {_pct(r['macro_f1'])} | {r['n']} |")
    if metrics.get("int8"):
        lines += ["", f"int8 and float agree on the top class for {_pct(metrics.get('top1_agreement'))} of "
                  f"{metrics.get('windows')} held-out windows.", "",
                  "Confusion matrix of the int8 model (rows: true label):", "",
                  *_confusion_table(metrics["int8"]["confusion"]), "",
                  "![confusion matrix (float model, held-out speakers)](default/confusion.png)", ""]
    if folds:
        lines += _folds_section(folds)
    lines += _targets_section(m, metrics, size_kib)
    lines += [
        "## Limitations",
        "- Acted emotion, read sentences, studio recordings: spontaneous speech is subtler and mixed.",
        "- English only, few speakers (22), North American accents; TESS's two speakers prove nothing "
        "about unseen voices. Expect lower accuracy on other languages, children, older adults, "
        "accents, far-field or noisy microphones.",
        "- Seven categories do not describe every state; confidence is not calibrated probability.",
        "- Accuracy on unseen speakers is modest (see above): treat outputs as weak, aggregated signals.",
        *_speaker_curve_lines(speaker_curve or []), "",
        "## Licence",
        f"{m.get('licence', {}).get('model_use', '')}",
    ]
    for corpus, terms in m.get("licence", {}).get("training_data", {}).items():
        lines.append(f"- {corpus}: {terms}")
    lines += ["", "The code of ser-edge is Apache-2.0; this model is not: it inherits the data's "
              "non-commercial terms."]
    return "\n".join(lines) + "\n"
