"""`ser-edge info`: a bundle's manifest in human form."""

from __future__ import annotations

from ser_edge.model.bundle import Bundle
from ser_edge.model.circumplex import FIELD as CIRCUMPLEX_FIELD


def _pct(x) -> str:
    return "n/a" if x is None else f"{100 * x:.1f} %"


def _circumplex_line(bundle: Bundle) -> str:
    """Each label's (valence, arousal), and whether the manifest or the built-in default gave it."""
    placement = bundle.circumplex
    if placement is None:
        return "affect     none: not every label has a default place; add 'circumplex' to the manifest"
    origin = "manifest" if CIRCUMPLEX_FIELD in bundle.manifest else "built-in default"
    points = ", ".join(f"{k} ({v:+.1f}, {a:+.1f})" for k, (v, a) in placement.items())
    return f"affect     valence, arousal ({origin}): {points}"


def describe(bundle: Bundle, backend: str | None = None) -> str:
    m, p = bundle.manifest, bundle.params
    model = m["model"]
    lines = [
        f"model      {bundle.model_id}  ({bundle.model_path})",
        f"sha256     {bundle.sha256}  (verified)",
        f"size       {model.get('size_bytes', bundle.model_path.stat().st_size) / 1024:.1f} KiB, created {model.get('created', '?')}",
        f"labels     {', '.join(bundle.labels)}",
        f"input      {m['input']['dtype']} {m['input']['shape']}  scale {m['input'].get('scale')} zero point {m['input'].get('zero_point')}",
        f"output     {m['output']['dtype']} {m['output']['shape']}  scale {m['output'].get('scale')} zero point {m['output'].get('zero_point')}",
        f"front end  {p.sample_rate} Hz, {p.frame_ms:g}/{p.hop_ms:g} ms frames, {p.n_mels} mels {p.fmin_hz:g}-{p.mel_fmax_hz:g} Hz, "
        f"{p.n_mfcc} MFCC, {p.normalisation}; windows {p.window_ms:g} ms every {p.window_hop_ms:g} ms "
        f"(hash {bundle.manifest['feature_params_hash']})",
    ]
    if bundle.adaptive:
        prior = bundle.prior
        lines.append(f"adaptation speaker statistics from a prior over {prior.speakers} speakers ({prior.seconds:.0f} s), "
                     f"weight {p.adapt_prior_s:g} s, time constant {p.adapt_time_constant_s:g} s of speech")
    head = bundle.utterance
    lines.append(f"decisions  windows and utterances (a fusion head on {head.dims} segment statistics; each stretch of "
                 f"speech at its end and every {head.every_s:g} s, its last {head.max_s:g} s at most)" if head is not None
                 else "decisions  windows (no utterance head)")
    if backend:
        lines.append(f"runtime    {backend}")
    lines.append(_circumplex_line(bundle))
    tuned = ", ".join(f"{k} {v:.2f}" for k, v in bundle.thresholds.items())
    lines.append(f"thresholds {tuned} (tuned; other labels: the configured threshold, 0.5 by default)" if tuned
                 else "thresholds none tuned: every label the configured threshold, 0.5 by default")
    metrics = m.get("metrics") or {}
    if metrics.get("int8"):
        lines.append(
            f"held out   {', '.join(metrics.get('held_out_speakers', []))} ({metrics.get('held_out_part')}): "
            f"int8 UAR {_pct(metrics['int8']['uar'])}, accuracy {_pct(metrics['int8']['accuracy'])}; "
            f"float UAR {_pct(metrics['float']['uar'])}; top-1 agreement {_pct(metrics.get('top1_agreement'))}"
        )
    training = m.get("training_data", {}).get("train", {})
    if training:
        corpora = ", ".join(f"{k} {v}" for k, v in training.get("corpora", {}).items())
        lines.append(f"trained on {training.get('clips')} clips ({corpora}), {len(training.get('speakers', []))} speakers")
    licence = m.get("licence", {})
    if licence:
        lines.append(f"licence    {licence.get('model_use', '')}")
        for corpus, terms in licence.get("training_data", {}).items():
            lines.append(f"           {corpus}: {terms}")
    return "\n".join(lines)


def list_bundles() -> str:
    """One line per shipped bundle: name, model id, labels, folder (or why it does not load)."""
    from ser_edge.errors import BundleError
    from ser_edge.model.bundle import load_bundle
    from ser_edge.model.shipped import shipped_bundles

    lines = []
    for name, folder in shipped_bundles().items():
        try:
            bundle = load_bundle(folder)
        except BundleError as exc:
            lines.append(f"{name:<10} not usable: {exc}")
            continue
        lines.append(f"{name:<10} {bundle.model_id}  {len(bundle.labels)} classes: {', '.join(bundle.labels)}"
                     f"  ({folder})")
    return "\n".join(lines) or "no shipped bundles found"

