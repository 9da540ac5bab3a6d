"""Memory (`--memory K`): the persona's own past replies to messages like the one it answers.

The training split holds what the persona answered to what. For the other side's newest
message, the K most similar messages of the training split are found (TF-IDF over character
n-grams, cosine similarity; scikit-learn) and each, with the persona's reply to it, is put
before the conversation as an earlier exchange: written in the run's own format, so the model
reads them like any earlier turns. Only the training split is searched, so `eval` never shows
the model a held-out reply.
"""

from __future__ import annotations

import threading

from chatclone.speaker_format import OTHER, PERSONA, Dialogue, Turn

MIN_SIMILARITY = 0.1  # below this a "similar" message shares little more than common letters


class Memory:
    def __init__(self, dialogues: list[Dialogue]):
        self.pairs = [
            (a, b)
            for d in dialogues
            for a, b in zip(d.turns, d.turns[1:])
            if a.speaker == OTHER and b.speaker == PERSONA and a.text and b.text
        ]
        self._index = None
        self._lock = threading.Lock()

    def index(self):
        """(vectorizer, matrix), fitted on first use (replies that never ask for memory never
        pay for it)."""
        with self._lock:
            if self._index is None:
                from sklearn.feature_extraction.text import TfidfVectorizer

                vectorizer = TfidfVectorizer(
                    analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, lowercase=True
                )
                self._index = (
                    vectorizer,
                    vectorizer.fit_transform([a.text for a, _ in self.pairs]),
                )
            return self._index

    def recall(self, history: list[Turn], k: int) -> list[Turn]:
        """Up to `k` past exchanges (other side, then persona) whose message is most like the
        other side's newest turn in `history`, the most similar last (next to the
        conversation); none when it has no turn yet or nothing is similar enough."""
        query = next((t.text for t in reversed(history) if t.speaker == OTHER), "")
        if k <= 0 or not query.strip() or not self.pairs:
            return []
        vectorizer, matrix = self.index()
        scores = (matrix @ vectorizer.transform([query]).T).toarray().ravel()
        shown = {t.text for t in history}
        best = [
            i
            for i in scores.argsort()[::-1]
            if scores[i] >= MIN_SIMILARITY and self.pairs[i][1].text not in shown
        ][:k]
        return [turn for i in reversed(best) for turn in self.pairs[i]]
