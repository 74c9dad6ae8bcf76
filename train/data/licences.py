"""The one place where corpus licences are kept: read through a run (`ser_train.fit.run.Run.licence`)
into a bundle's manifest (`ser_convert.manifest`) and its model card. A model trained on a corpus
inherits its terms.

Terms as the data README (../shared/data/README.md) gives them; a corpus missing here is
reported as "unknown: check the corpus's own terms", never assumed free.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Mapping

#: corpus (as `ser_train.data.corpora.CORPORA` names it) -> licence and citation, one line
CORPUS_LICENCES: Mapping[str, str] = MappingProxyType({
    "ravdess": "CC BY-NC-SA 4.0 (Livingstone & Russo 2018, doi:10.1371/journal.pone.0196391)",
    "tess": "CC BY-NC-ND 4.0 (Dupuis & Pichora-Fuller 2010, doi:10.5683/SP2/E8H2MF)",
    "emovo": "distributed by its authors for research use (Costantini, Iaderola, Paoloni & Todisco 2014, "
             "EMOVO Corpus: an Italian Emotional Speech Database, Proc. LREC 2014, pp. 3501-3504)",
    "turev": "CC BY-NC-ND 4.0 (Canpolat, Ormanoğlu & Zeyrek 2020, Turkish Emotion Voice Database (TurEV-DB), "
             "Proc. SLTU-CCURL 2020, pp. 368-375)",
    "cremad": "Open Database License (ODbL) 1.0",
    "savee": "free for research use (University of Surrey)",
    "emodb": "free for research use (TU Berlin)",
    "nemo": "CC BY-NC-SA 4.0 (Christop 2024, nEMO: Dataset of Emotional Speech in Polish, Proc. LREC-COLING 2024, "
            "pp. 12111-12116)",
})

UNKNOWN = "unknown: check the corpus's own terms"


def licence_of(corpus: str) -> str:
    """The terms of ``corpus``; own data and unlisted corpora get `UNKNOWN`."""
    return CORPUS_LICENCES.get(corpus, UNKNOWN)


def is_non_commercial(terms: str) -> bool:
    """True for NC licences and research-only terms."""
    return "NC" in terms or "research" in terms


def licence_block(corpora: list[str]) -> dict[str, Any]:
    """The data licences a model trained on ``corpora`` inherits."""
    terms = {c: licence_of(c) for c in sorted(corpora)}
    non_commercial = any(is_non_commercial(t) for t in terms.values())
    note = ("Non-commercial use only: the training data is licensed non-commercially, and so is this model."
            if non_commercial else "Check the training corpora's terms before use.")
    return {"training_data": terms, "model_use": note}
