"""Does it sound like its person? Style fidelity by authorship attribution.

"Who wrote this?" is an old question with an established answer: character n-grams and a
linear classifier (they catch spelling, casing, punctuation, emoji and favourite words at
once). We train one on the training split only, the persona's turns against everyone else's
(the people they talk to), and ask it about three sets of replies to the same held-out
contexts: the persona's real replies (the ceiling), the clone's (what we measure) and the
untrained base model's (the floor). Fidelity is where the clone lies between floor and ceiling:

    fidelity = (clone - base) / (real - base)

with a bootstrap interval over the contexts. A second classifier, cross-validated, tries to
tell the real replies from the clone's: its ROC AUC is 0.5 when they cannot be told apart.
Pure functions of text (scikit-learn, no torch), so each has a known-answer test.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass

MAX_TRAIN_TEXTS = 20_000  # per side: enough for a stable classifier, seconds to fit
BOOTSTRAP = 1000
MIN_GAP = 0.05  # a ceiling this close to the floor leaves fidelity undefined


def _classifier(seed: int = 0):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    # Case kept and punctuation kept: habits of writing are the signal, not noise.
    return make_pipeline(
        TfidfVectorizer(analyzer="char", ngram_range=(1, 4), lowercase=False, sublinear_tf=True),
        LogisticRegression(C=4.0, class_weight="balanced", max_iter=2000, random_state=seed),
    )


def _spread(texts: list[str], n: int) -> list[str]:
    if len(texts) <= n:
        return texts
    return [texts[round(k * (len(texts) - 1) / (n - 1))] for k in range(n)]


class Attributor:
    """Persona or not: fitted on the persona's training turns against everyone else's."""

    def __init__(self, persona: list[str], others: list[str], seed: int = 0):
        persona = [t for t in _spread(persona, MAX_TRAIN_TEXTS) if t.strip()]
        others = [t for t in _spread(others, MAX_TRAIN_TEXTS) if t.strip()]
        if not persona or not others:
            raise ValueError("the attribution classifier needs turns of the persona and of others")
        self.model = _classifier(seed).fit(persona + others, [1] * len(persona) + [0] * len(others))

    def persona_probability(self, texts: list[str]) -> list[float]:
        """P(persona) per text; an empty reply is nobody's voice (0)."""
        if not texts:
            return []
        probs = self.model.predict_proba([t or " " for t in texts])[:, 1]
        return [float(p) if t.strip() else 0.0 for p, t in zip(probs, texts)]

    def attributed(self, texts: list[str]) -> list[int]:
        return [int(p > 0.5) for p in self.persona_probability(texts)]


def fidelity_of(real: float, clone: float, base: float) -> float | None:
    gap = real - base
    return None if gap < MIN_GAP else (clone - base) / gap


def bootstrap_interval(
    real: list[int], clone: list[int], base: list[int], rounds: int = BOOTSTRAP, seed: int = 0
) -> tuple[float, float] | None:
    """95% percentile interval of fidelity, resampling contexts (real, clone and base replies
    of one context stay together)."""
    rng = random.Random(seed)
    n = len(real)
    values = []
    for _ in range(rounds):
        idx = [rng.randrange(n) for _ in range(n)]
        f = fidelity_of(*(sum(xs[i] for i in idx) / n for xs in (real, clone, base)))
        if f is not None:
            values.append(f)
    if len(values) < rounds // 2:  # the floor and ceiling overlap too often to say
        return None
    values.sort()
    return values[int(0.025 * len(values))], values[int(0.975 * len(values)) - 1]


def indistinguishability(real: list[str], clone: list[str], seed: int = 0) -> float | None:
    """Cross-validated ROC AUC of a classifier telling real replies from the clone's (0.5:
    it cannot tell them apart; 1.0: always can). The two replies to one context stay in the
    same fold, so a reply is never judged by a classifier that saw its twin. None with too few
    replies to cross-validate."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import GroupKFold, cross_val_predict

    texts = [t or " " for t in real + clone]
    labels = [1] * len(real) + [0] * len(clone)
    groups = list(range(len(real))) + list(range(len(clone)))
    folds = min(5, len(real), len(clone))
    if folds < 2 or len(real) != len(clone):
        return None
    cv = GroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    scores = cross_val_predict(
        _classifier(seed), texts, labels, groups=groups, cv=cv, method="predict_proba"
    )
    return float(roc_auc_score(labels, scores[:, 1]))


@dataclass
class Fidelity:
    contexts: int
    real: float  # share of the persona's real replies attributed to them (the ceiling)
    clone: float
    base: float | None  # the floor (None without a base model)
    fidelity: float | None
    interval: tuple[float, float] | None
    auc: float | None  # real vs clone, cross-validated

    def to_dict(self) -> dict:
        """As eval.json holds it (the interval a list)."""
        d = asdict(self)
        d["interval"] = list(self.interval) if self.interval else None
        return d


def score(
    attributor: Attributor,
    real: list[str],
    clone: list[str],
    base: list[str] | None,
    seed: int = 0,
) -> Fidelity:
    """Fidelity of `clone` replies between the `base` floor and the `real` ceiling; all three
    lists answer the same contexts, in the same order."""
    r, c = attributor.attributed(real), attributor.attributed(clone)
    b = attributor.attributed(base) if base is not None else None
    n = len(real)
    share = lambda xs: sum(xs) / n if n else 0.0  # noqa: E731
    f = interval = None
    if b is not None and n:
        f = fidelity_of(share(r), share(c), share(b))
        interval = bootstrap_interval(r, c, b, seed=seed) if f is not None else None
    return Fidelity(
        contexts=n,
        real=share(r),
        clone=share(c),
        base=share(b) if b is not None else None,
        fidelity=f,
        interval=interval,
        auc=indistinguishability(real, clone, seed) if n else None,
    )
