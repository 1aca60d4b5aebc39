"""Whether a message is likely written in another language, so the reply can say that the
assistant only reads English. Said to every message it misread, "I only understand English"
told a father typing "i help her, im her dad" that his English was the problem."""

from __future__ import annotations

# Words of the languages most often met in the covered areas (Bengali, Urdu, Polish,
# Romanian, Somali, Arabic and Welsh speakers often type in Latin letters).
_FOREIGN_WORDS = frozenset(
    "hola necesito ayuda trabajo dzien dobry potrzebuje pomocy prace buna ziua ajutor munca "
    "salaam aamin shaqo caawimaad mujhe madad chahiye kaam bonjour besoin aide travail "
    "bore da helo angen gwaith diolch shukran marhaba".split()
)


def looks_like_another_language(text: str) -> bool:
    letters = [c for c in text or "" if c.isalpha()]
    if not letters:
        return False
    if sum(not c.isascii() for c in letters) / len(letters) >= 0.3:
        return True
    words = [w.strip(".,!?").lower() for w in (text or "").split()]
    return sum(w in _FOREIGN_WORDS for w in words) >= 2
