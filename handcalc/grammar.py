"""A small English-like language built around subject-verb agreement, with every token labelled.

Four constructions, each a sentence after a <bos> token:

    simple    the cat runs .
    pp        the cat near the dogs runs .             (a distractor noun of any number)
    subj_rel  the cat that sees the dogs runs .        (the relative verb agrees with "cat")
    obj_rel   the cat that the dogs see runs .         (the relative verb agrees with "dogs")

The main verb is intransitive ("runs") or "is"/"are" with an adjective. It always agrees with
the subject, the first noun, however many nouns of the other number stand in between. Nouns come
in three categories (animals, people, things). `labels` says at every token which properties
hold there, so that every SAE feature can be scored against a ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NOUNS = {  # singular, plural
    "animal": [("cat", "cats"), ("dog", "dogs"), ("bird", "birds"), ("horse", "horses")],
    "person": [("teacher", "teachers"), ("doctor", "doctors"), ("child", "children")],
    "thing": [("car", "cars"), ("robot", "robots"), ("clock", "clocks"), ("key", "keys")],
}
VERBS = [("runs", "run"), ("sleeps", "sleep"), ("waits", "wait"), ("falls", "fall")]
BE = ("is", "are")
ADJECTIVES = ["old", "new", "small", "happy"]
TRANSITIVE = [("sees", "see"), ("likes", "like"), ("chases", "chase"), ("helps", "help")]
PREPOSITIONS = ["near", "behind", "with", "beside"]
CONSTRUCTIONS = ("simple", "pp", "subj_rel", "obj_rel")
SPECIAL = ["<pad>", "<bos>", "the", "that", "."]

VOCAB = [
    *SPECIAL,
    *(form for pairs in NOUNS.values() for pair in pairs for form in pair),
    *(form for pair in [*VERBS, BE, *TRANSITIVE] for form in pair),
    *ADJECTIVES,
    *PREPOSITIONS,
]
ID = {word: i for i, word in enumerate(VOCAB)}
CONTEXT = 11  # the longest sentence, obj_rel with "is"/"are", is 10 tokens after <bos>
SINGULAR_VERBS = [ID[s] for s, _ in [*VERBS, BE]]  # the main verb's forms, by number
PLURAL_VERBS = [ID[p] for _, p in [*VERBS, BE]]

PROPERTIES = (
    "subject singular",  # from the subject noun up to the token before the main verb
    "subject plural",
    "singular verb may follow",  # the main verb may come next, and it must be singular
    "plural verb may follow",
    "inside relative clause",
    "inside prepositional phrase",
    "noun",
    "verb",
    "animal noun",
    "person noun",
    "thing noun",
    "before main verb",  # the position where the main verb must be predicted
    "end of sentence",
)


@dataclass
class Corpus:
    """tokens: (n, CONTEXT) ids, <pad> after the sentence; labels: (n, CONTEXT, properties)
    booleans in PROPERTIES order; construction: index into CONSTRUCTIONS; plural: the subject's
    number; other_plural: the other noun's (pp and relative clauses); verb_at: the position of
    the main verb."""

    tokens: np.ndarray
    labels: np.ndarray
    construction: np.ndarray
    plural: np.ndarray
    other_plural: np.ndarray
    verb_at: np.ndarray

    @property
    def mismatch(self) -> np.ndarray:
        """Sentences with a noun of the other number between the subject and its verb."""
        return (self.construction != 0) & (self.other_plural != self.plural)

    def text(self, i: int) -> str:
        return " ".join(VOCAB[t] for t in self.tokens[i] if t != ID["<pad>"])


def _sentence(rng: np.random.Generator, construction: str, plural: bool):
    """Words and per-word properties of one sentence (without <bos>)."""
    category = list(NOUNS)[rng.integers(len(NOUNS))]
    nouns = NOUNS[category]
    subject = nouns[rng.integers(len(nouns))][int(plural)]
    other_category = list(NOUNS)[rng.integers(len(NOUNS))]
    other_nouns = NOUNS[other_category]
    other_plural = bool(rng.integers(2))
    other = other_nouns[rng.integers(len(other_nouns))][int(other_plural)]
    words: list[tuple[str, set[str]]] = [("the", set()), (subject, {"noun", f"{category} noun"})]
    distractor = ("the", set()), (other, {"noun", f"{other_category} noun"})
    transitive = TRANSITIVE[rng.integers(len(TRANSITIVE))]
    if construction == "pp":
        preposition = PREPOSITIONS[rng.integers(len(PREPOSITIONS))]
        phrase = [(preposition, set()), *distractor]
        words += [(w, p | {"inside prepositional phrase"}) for w, p in phrase]
    elif construction == "subj_rel":
        clause = [("that", set()), (transitive[int(plural)], {"verb"}), *distractor]
        words += [(w, p | {"inside relative clause"}) for w, p in clause]
    elif construction == "obj_rel":
        clause = [("that", set()), *distractor, (transitive[int(other_plural)], {"verb"})]
        words += [(w, p | {"inside relative clause"}) for w, p in clause]
    number = "subject plural" if plural else "subject singular"
    for _, properties in words[1:]:  # from the subject noun on ("the" does not tell)
        properties.add(number)
    # Where the main verb may come next, in the subject's number: at the subject noun ("the
    # cat" may go on "runs") and just before the main verb.
    verb_next = "plural verb may follow" if plural else "singular verb may follow"
    words[1][1].add(verb_next)
    words[-1][1].update({verb_next, "before main verb"})
    if rng.random() < 0.25:
        words += [(BE[int(plural)], {"verb"}), (ADJECTIVES[rng.integers(len(ADJECTIVES))], set())]
    else:
        verb = VERBS[rng.integers(len(VERBS))]
        words.append((verb[int(plural)], {"verb"}))
    words.append((".", {"end of sentence"}))
    return words, other_plural


def corpus(n: int, seed: int = 0) -> Corpus:
    """n sentences, constructions and subject numbers drawn uniformly, all from `seed`."""
    rng = np.random.default_rng(seed)
    tokens = np.full((n, CONTEXT), ID["<pad>"], dtype=np.int64)
    labels = np.zeros((n, CONTEXT, len(PROPERTIES)), dtype=bool)
    construction = rng.integers(len(CONSTRUCTIONS), size=n)
    plural = rng.integers(2, size=n).astype(bool)
    verb_at = np.zeros(n, dtype=np.int64)
    other_plural = np.zeros(n, dtype=bool)
    column = {name: j for j, name in enumerate(PROPERTIES)}
    for i in range(n):
        words, other_plural[i] = _sentence(rng, CONSTRUCTIONS[construction[i]], bool(plural[i]))
        tokens[i, 0] = ID["<bos>"]
        for position, (word, properties) in enumerate(words, start=1):
            tokens[i, position] = ID[word]
            for name in properties:
                labels[i, position, column[name]] = True
            if "before main verb" in properties:
                verb_at[i] = position + 1
    return Corpus(tokens, labels, construction, plural, other_plural, verb_at)
