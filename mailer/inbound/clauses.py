"""A person's new text as clauses: spelling made regular, then cut where one thought ends.

What a sentence asks for depends on words near each other ("don't" beside
"register", "if" beside "attend"), so :mod:`mailer.inbound.intents` reads one
clause at a time. This module decides no meaning. It makes texts written in a
hurry look alike (curly apostrophes, no apostrophes at all, non-breaking
spaces, emoji, common typos) and cuts them at sentence ends, line breaks,
commas, semicolons, dashes and the contrast words ("but", "however",
"otherwise", ...), keeping the contrast word that opened each clause.
Everything here is pure.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from functools import lru_cache


@dataclass(frozen=True)
class Clause:
    """One piece of a sentence.

    ``text`` keeps its case, so that a name can be told by its capital letter;
    ``lower`` is for matching (same length, same positions). ``opener`` is the
    contrast word that began the clause ("but", "otherwise", "or", ...);
    ``question`` says the clause ended its sentence with a question mark;
    ``sentence_start`` that it begins a sentence (where every word has a capital).
    """

    text: str
    opener: str = ""
    question: bool = False
    sentence_start: bool = True

    @property
    def lower(self) -> str:
        return self.text.lower()


def split_clauses(text: str) -> list[Clause]:
    """The clauses of ``text``, in order, empty ones left out. A line break where a mail client
    wrapped a long line is no break ("... Hopefully" / "see you in March")."""
    found: list[Clause] = []
    for line in _WRAPPED.sub(" ", normalise(text)).split("\n"):
        for sentence in _sentences(line):
            found.extend(_clauses_of(sentence))
    return found


# --- normalising -------------------------------------------------------------------------------

_INVISIBLE = re.compile("[\u200b-\u200d\u2060\ufeff\ufe0e\ufe0f\U0001f3fb-\U0001f3ff]")
_APOSTROPHES = str.maketrans({c: "'" for c in "\u2019\u2018\u02bc\u2032`\u00b4"})
#: The few symbols that carry an answer; other emoji and symbols say nothing we act on.
_SYMBOL_WORDS = {
    "\U0001f44d": " yes ",  # thumbs up
    "\u2705": " yes ",  # check mark button
    "\u2714": " yes ",
    "\u2611": " yes ",
    "\U0001f44e": " no ",  # thumbs down
    "\u274c": " no ",
    "\u2716": " no ",
    "\U0001f64f": " thanks ",  # folded hands
}
_NOT_ASCII = re.compile(r"[^\x00-\x7f]")
_DASHES = re.compile(r"[\u2010-\u2015\u2212]")
_WORD_HYPHEN = re.compile(r"(?<=[^\W\d_])-(?=[^\W\d_])")
_SPACED_DASH = re.compile(r"(?:^|\s)-+(?=\s|$)")
#: A word, with what follows an apostrophe in it ("can't", "Jo's"), digits allowed ("f2f").
_WORD_RUN = re.compile(r"[^\W_]+(?:'[^\W\d_]+)?")


def normalise(text: str) -> str:
    """``text`` with its spelling made regular; line breaks kept, case kept.

    Outlook's curly apostrophes become straight ones and contractions are
    spelled out, with or without their apostrophe ("can't", "cant" ->
    "cannot"; "Im" -> "I am"), so the readers need one spelling only. Words
    joined by hyphens are separated ("in-person" -> "in person"), and a
    spaced dash becomes a comma, which is how it is used.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
        text = _INVISIBLE.sub("", text)
        text = _NOT_ASCII.sub(_symbol, text)
        text = _DASHES.sub("-", text)
    text = text.translate(_APOSTROPHES)
    if "-" in text:
        text = _SPACED_DASH.sub(" ,", _WORD_HYPHEN.sub(" ", text))
    text = _WORD_RUN.sub(lambda m: _respelled(m.group(0)), text)
    lower = text.lower()
    if "can not" in lower or " form" in lower or "ill " in lower or "id " in lower:
        text = _TWO_WORD_FORM.sub(_two_words_respelled, text)
    return "\n".join(" ".join(line.split()) for line in text.split("\n"))


def _symbol(found: re.Match[str]) -> str:
    char = found.group(0)
    if char in _SYMBOL_WORDS:
        return _SYMBOL_WORDS[char]
    return " " if unicodedata.category(char) in ("So", "Sk", "Cs", "Co") else char


@lru_cache(maxsize=8192)
def _respelled(word: str) -> str:
    """One word as the readers expect it: a contraction spelled out ("can't", "cant" ->
    "cannot"), a short form or typo corrected ("pls" -> "please", "regster" -> "register")."""
    if "'" in word:
        return _apostrophe_spelled_out(word)
    lower = word.lower()
    if lower in _BARE_CONTRACTIONS:
        return _BARE_CONTRACTIONS[lower]
    if lower in _SHORT_FORMS:
        return _SHORT_FORMS[lower]
    return _corrected(word) if len(word) >= 4 and word.isalpha() else word


_NEGATIVES = {"can": "cannot", "won": "will not", "shan": "shall not", "ain": "is not"}
_SUFFIXES = {"ll": "will", "d": "would", "re": "are", "ve": "have", "m": "am"}
_IS_BEFORE = frozenset("it that there what who where here how when".split())


def _apostrophe_spelled_out(word: str) -> str:
    """ "can't", "I'll", "that's" spelled out; "Jo's" and "o'clock" stay."""
    stem, suffix = word.split("'", 1)
    low, suffix = stem.lower(), suffix.lower()
    if suffix == "t":
        if low in _NEGATIVES:
            return _NEGATIVES[low]
        return f"{stem[:-1]} not" if low.endswith("n") else word
    if suffix == "s":
        if low == "let":
            return "let us"
        return f"{stem} is" if low in _IS_BEFORE else word
    if suffix not in _SUFFIXES or (suffix == "m" and low != "i"):
        return word
    return f"{'I' if low == 'i' else stem} {_SUFFIXES[suffix]}"


#: Contractions without their apostrophe, as typed in a hurry.
_BARE_CONTRACTIONS = {
    "cant": "cannot",
    "wont": "will not",
    "shant": "shall not",
    **{
        f"{verb}nt": f"{verb} not"
        for verb in "do does did is are was were has have had could would should must need"
        " might".split()
    },
    "im": "I am",
    "ive": "I have",
    "youre": "you are",
    "theyre": "they are",
    "thats": "that is",
    "theres": "there is",
    "whats": "what is",
    "heres": "here is",
}
#: Short forms and typos too short for the edit-distance check.
_SHORT_FORMS = {
    **dict.fromkeys(
        "pls plz plse plese pleae pleas pleeze pleasee pleasse pleaes".split(), "please"
    ),
    **dict.fromkeys("thx thnx thanx tnx".split(), "thanks"),
    **dict.fromkeys("attnd atnd atend attd".split(), "attend"),
    **dict.fromkeys("attnding atending atnding".split(), "attending"),
    **dict.fromkeys("regstr regsiter resgister".split(), "register"),
    "unsub": "unsubscribe",
    "u": "you",
    "ur": "your",
    "wil": "will",
    "teh": "the",
    "f2f": "face to face",
    "ftf": "face to face",
    "irl": "in person",
    "wfh": "from home",
}
#: Spellings that need the next word: "can not"; "ill" and "id" are "I will" and "I would"
#: only before a word that settles it; "remove me form" is "from".
_TWO_WORD_FORM = re.compile(
    r"\b(?:(can) not|(ill)(?= (?:be|come|attend|join|dial|need|have|send|see|try|make|call|pop"
    r"|let|confirm|do|register|probably|definitely|still|also|just|not)\b)|(id)(?= (?:like"
    r"|love|prefer|rather|be|appreciate|want|hope|need)\b)|(remove|take|unsubscribe) me (form))\b",
    re.I,
)


def _two_words_respelled(found: re.Match[str]) -> str:
    if found.group(1):
        return "cannot"
    if found.group(2):
        return "I will"
    if found.group(3):
        return "I would"
    return f"{found.group(4)} me from"


#: Words people misspell that decide what a message asks for. A word one edit away from one of
#: these (a letter missing, added, changed, or two swapped) is read as it.
_KEY_WORDS = (
    "register",
    "registering",
    "registration",
    "attend",
    "attending",
    "attendance",
    "unsubscribe",
    "apologies",
    "decline",
    "remotely",
    "unavailable",
    "colleague",
    "available",
    "person",
    "please",
    "change",
    "switch",
    "swap",
)
#: Real words one edit away from a key word, which must stay as written.
_REAL_WORDS = frozenset(
    """attends attended attender registers registered registrar resister recline declined
    declines apology apologise apologised apologize colleagues unsubscribed persons parson
    prison pleased pleases lease charge chance changed changes changer stitch snitch swatch snap
    slap soap swab swag swam swan swat sway swamp swaps""".split()
)


@lru_cache(maxsize=4096)
def _corrected(word: str) -> str:
    """``word``, or the key word it misspells (lower case)."""
    lower = word.lower()
    if lower in _KEY_WORDS or lower in _REAL_WORDS:
        return word
    for key in _KEY_WORDS:
        if key[0] == lower[0] and abs(len(key) - len(lower)) <= 1 and _one_edit_apart(lower, key):
            return key
    return word


def _one_edit_apart(a: str, b: str) -> bool:
    """Whether ``a`` becomes ``b`` by one insertion, deletion, substitution or swap of two
    neighbouring letters."""
    if len(a) == len(b):
        diffs = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        if len(diffs) == 1:
            return True
        return (
            len(diffs) == 2
            and diffs[1] == diffs[0] + 1
            and a[diffs[0]] == b[diffs[1]]
            and (a[diffs[1]] == b[diffs[0]])
        )
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long[i]:
        i += 1
    return short[i:] == long[i + 1 :]


# --- cutting -----------------------------------------------------------------------------------

#: A long line that ends no sentence, followed by one that goes on in lower case: a sentence
#: wrapped by a mail client.
#: (The line break is matched first and the line before it checked after: much faster to search.)
_WRAPPED = re.compile(r"\n(?<=[^\n]{39}[^\n.!?]\n)(?=[a-z])")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
#: Words after which a full stop ends no sentence.
_ABBREVIATIONS = frozenset("e.g i.e etc dr mr mrs ms st approx vs cf a.m p.m no".split())
_PUNCTUATION_BREAK = re.compile(r",(?!\d)|;|:(?=\s)")
_CONTRAST_WORDS = frozenset("but however although though otherwise or".split())
_CONTRAST_BREAK = re.compile(
    r"\b(?=(?:but|however|although|though|otherwise)\b)"
    r"|\b(?=or (?:is|are|will|would|do|does|should|can|could|shall|must) (?:it|there|i|we|this"
    r"|that|you)\b)",  # "Can I dial in, or is it in person only?"
    re.I,
)
_OPENER = re.compile(
    r"^(but|however|although|though|otherwise|instead(?! of\b)|failing that|if not|or else"
    r"|alternatively|or)\b\s*",
    re.I,
)
_TRAILING = " .!?,;:'\"()[]*_~"


def _sentences(line: str) -> list[str]:
    """The sentences of a line; "e.g." and "10 a.m." end none."""
    sentences: list[str] = []
    for piece in _SENTENCE_END.split(line):
        last = sentences[-1].rsplit(None, 1)[-1].lower().rstrip(".") if sentences else ""
        if last in _ABBREVIATIONS:
            sentences[-1] += " " + piece
        else:
            sentences.append(piece)
    return [s for s in sentences if s.strip(_TRAILING)]


def _pieces(sentence: str) -> list[str]:
    """A sentence cut at commas, semicolons, colons and before contrast words."""
    pieces = _PUNCTUATION_BREAK.split(sentence) if any(c in sentence for c in ",;:") else [sentence]
    if _CONTRAST_WORDS.isdisjoint(sentence.lower().split()):
        return pieces
    return [cut for piece in pieces for cut in _CONTRAST_BREAK.split(piece)]


def _clauses_of(sentence: str) -> list[Clause]:
    kept: list[Clause] = []
    opener = ""  # a contrast word standing alone ("However, ...") opens the next piece
    for piece in _pieces(sentence):
        piece = piece.strip()
        found = _OPENER.match(piece)
        if found:
            opener, piece = found.group(1).lower(), piece[found.end() :]
        body = piece.strip(_TRAILING)
        if body:
            kept.append(Clause(body, opener=opener, sentence_start=not kept))
            opener = ""
    if kept and sentence.rstrip(" .!*)\"'").endswith("?"):
        kept[-1] = replace(kept[-1], question=True)
    return kept
