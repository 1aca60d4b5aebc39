"""Find triage facts in a message with rules built from knowledge/.

spaCy's tokenizer and PhraseMatcher match the everyday phrases of
knowledge/phrases/facts.yaml and every area and surgery name of knowledge/;
small rules read postcodes, ages and durations. A council that adds a town or a
surgery to knowledge/ needs no new training examples: the matcher is rebuilt
from the files whenever the model is loaded.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from chatbot.knowledge import vocab
from chatbot.knowledge.loader import Knowledge, read_knowledge
from chatbot.knowledge.places import Places, load_places

from .durations import find_durations
from .fact import Fact
from .fact_rules import (
    NEVER_WORKED,
    NEVER_WORKED_WEEKS,
    a_job_beside_study,
    hoped_for_work,
    long_term_sick_without_a_job,
    negated_readiness,
    one_condition,
    ready_said,
)

PHRASE_ENTITIES = ("user_role", "work_status", "condition_category", "ready_to_work", "benefits")

# A full postcode ("N7 0JG") or its outward code alone ("N7").
_POSTCODE = re.compile(
    r"\b(?P<district>[A-Z]{1,2}[0-9][0-9A-Z]?)(?P<inward>\s*[0-9][A-Z]{2})?\b", re.IGNORECASE
)
_AGE = re.compile(
    r"\b(?:i'?m|i am|im|aged?|age|is|are|(?:he|she)'?s|patient|pt)\s+(?P<a>\d{1,2})\b"
    r"(?!\s*(?:weeks?|wks?|months?|mths?|days?|years?\s+(?:off|since|out)|%|am|pm|:|/))"
    r"|\b(?P<b>\d{1,2})\s*(?:years?\s*old|yrs?\s*old|y/?o)\b"
    # A number alone between commas in a list of facts: "unemployed, 34, N7".
    r"|(?:^|[,;(:]\s*|\.\s+)(?P<c>\d{2})(?=\s*[,;.)]|\s*$)",
    re.IGNORECASE,
)
# The words around a family word that make the sentence about them (see facts.yaml).
_HELPER_BEFORE = {"for", "help", "helping", "support", "supporting", "about", "behalf", "asking", "on", "its"}
_HELPER_AFTER = {
    "is", "'s", "has", "had", "was", "been", "needs", "who", "ca", "can", "got", "lost", "wants",
    "does", "keeps", "hurt", "struggling", "off", "lives", "works", ",", "of", "suffers",
}  # fmt: skip
_SHORT_MESSAGE_TOKENS = 5
_OFF_BEFORE = re.compile(
    r"\b(?:off|since|signed off|sick for|been off|off work|off sick|absent)\b[\w\s]{0,12}$", re.IGNORECASE
)
# "not ready [to [go] [back] [to] work]": the negative claims the whole phrase.
_OPTIONAL_TO_WORK = [
    {"LOWER": {"IN": ["to", "for"]}, "OP": "?"},
    {"LOWER": {"IN": ["go", "get", "return", "start"]}, "OP": "?"},
    {"LOWER": "back", "OP": "?"},
    {"LOWER": {"IN": ["to", "into"]}, "OP": "?"},
    {"LOWER": {"IN": ["work", "working", "a"]}, "OP": "?"},
    {"LOWER": "job", "OP": "?"},
]
# Misspellings: words of at least 7 letters within one edit, 9 or more within two.
MIN_FUZZY_LENGTH = 7
TWO_EDITS_LENGTH = 9
# Real words one edit from a condition or place word, never taken as misspellings.
COMMON_WORDS = frozenset({"anxious", "stressed", "stresses", "depressed", "hearing"})
_SOMEONE_ELSES = {"his", "her", "their", "has", "have", "had", "sees", "seeing", "saw", "by", "under", "my"}
_SKIP_PATIENT_AFTER = ({"i", "'m", "a"}, {"i", "am", "a"}, {"im", "a"})


@dataclass(frozen=True)
class _AreaTerm:
    ids: tuple[str, ...]
    partial: bool


class FactFinder:
    def __init__(self, phrases: dict, knowledge: Knowledge, places: Places | None = None):
        # spaCy here, not at the top: the action server imports this module's small text
        # helpers, and spaCy brings TensorFlow with it (about 5 s and 400 MB per process).
        import spacy
        from spacy.matcher import Matcher, PhraseMatcher

        self._nlp = spacy.blank("en")
        self._labels: dict[str, tuple[str, str]] = {}
        self._phrases = PhraseMatcher(self._nlp.vocab, attr="LOWER")  # plain phrases, any case
        self._capitals = PhraseMatcher(self._nlp.vocab, attr="ORTH")  # "MS", not "ms"
        self._owned = Matcher(self._nlp.vocab)  # "my [back]", "haven't got a fit note"
        self._followed = Matcher(self._nlp.vocab)  # "[fit note] runs out"
        self._areas: dict[str, _AreaTerm] = {}  # postcode districts
        self._add_everyday_phrases(phrases)
        self._add_phrases_in_context(phrases)
        self._places = places
        self._add_places_and_surgeries(knowledge)
        # "the Working Better thing", "Mental Health Working": a service named is no work status.
        self._service_names = PhraseMatcher(self._nlp.vocab, attr="LOWER")
        self._service_names.add("service", [self._nlp.make_doc(n) for n in _service_names(knowledge)])
        self._helper_family = {w.lower() for w in phrases["role_needs_context"]}
        # "back and neck", "knees": a reply of body parts alone names the condition.
        self._body_parts = {w.lower() for w in phrases["needs_owner"]["words"]["musculoskeletal"]}
        self._known_words, self._misspelt = self._misspellings(phrases, knowledge)

    def _add_everyday_phrases(self, phrases: dict) -> None:
        for entity in PHRASE_ENTITIES:
            for value, words in phrases[entity].items():
                self._add(entity, str(value), words)
        for entity, values in phrases["case_sensitive"].items():
            for value, words in values.items():
                key = f"{entity}={value}"
                self._labels[key] = (entity, value)
                self._capitals.add(key, [self._nlp.make_doc(w) for w in words])

    def _add_phrases_in_context(self, phrases: dict) -> None:
        owners = phrases["needs_owner"]["owners"]
        for value, words in phrases["needs_owner"]["words"].items():
            self._add_owned("condition_category", value, owners, words)
        being_in = phrases["circumstances"]
        for value, words in being_in["words"].items():
            self._add_owned("circumstances", value, being_in["owners"], words)
        for value, words in phrases["circumstances_plain"].items():
            self._add("circumstances", value, words)
        held = phrases["fit_note_held"]
        self._add_owned("has_fit_note", "yes", held["owners"], held["notes"])
        self._followed.add(
            "has_fit_note=yes",
            [[*self._tokens(note), {"LOWER": {"IN": held["followers"]}}] for note in held["notes"]],
        )
        article = {"LOWER": {"IN": ["a", "an", "the", "any"]}, "OP": "?"}
        self._labels["has_fit_note=no"] = ("has_fit_note", "no")
        self._owned.add(
            "has_fit_note=no",
            [[*self._tokens(neg), article, *self._tokens(note)]
             for neg in phrases["fit_note_missing"]["negators"] for note in held["notes"]],
        )  # fmt: skip
        feel = {"LOWER": {"IN": ["feel", "feeling", "quite", "yet", "really", "fully"]}, "OP": "?"}
        self._labels["ready_to_work=no"] = ("ready_to_work", "no")
        self._owned.add(
            "ready_to_work=no",
            [
                [*self._tokens(neg), feel, {"LOWER": "ready"}, *_OPTIONAL_TO_WORK]
                for neg in phrases["ready_negated"]["negators"]
            ],
        )

    def _add_places_and_surgeries(self, knowledge: Knowledge) -> None:
        names: dict[str, set[str]] = {}
        for area in knowledge.areas:
            for name in {area.name, area.id.replace("-", " "), *area.aliases, *area.towns}:
                names.setdefault(name.lower(), set()).add(area.id)
            for district in area.postcode_districts:
                self._areas[district.upper()] = _AreaTerm((area.id,), False)
            for district in area.partial_postcode_districts:
                self._areas.setdefault(district.upper(), _AreaTerm((area.id,), True))
        for name, ids in names.items():
            self._add("area_id", _area_value(tuple(sorted(ids)), partial=False), [name])
        # Every other UK council and town (knowledge/places/): "place:<council>", placed in its
        # covered area or nation by chatbot.triage.questions.read_area.
        self._whole_message_places: dict[str, str] = {}
        if self._places is not None:
            for name, councils in self._places.names().items():
                if name in names or len(name) < 3:
                    continue
                value = "place:" + ",".join(councils)
                if name in self._places.whole_message_only:
                    self._whole_message_places[name] = value
                else:
                    self._add("area_id", value, [name])
        for gp in knowledge.gp_surgeries:
            self._add("gp_surgery_id", gp.id, [gp.name, *gp.aliases])

    def _add(self, entity: str, value: str, words: list[str]) -> None:
        key = f"{entity}={value}"
        self._labels[key] = (entity, value)
        self._phrases.add(key, [self._nlp.make_doc(str(w)) for w in words])

    def _add_owned(self, entity: str, value: str, owners: list[str], words: list[str]) -> None:
        key = f"{entity}={value}"
        self._labels[key] = (entity, value)
        owner_tokens = sorted({t.lower_ for o in owners for t in self._nlp.make_doc(o)})
        patterns = []
        for word in words:
            article = {"LOWER": {"IN": ["a", "an", "the"]}, "OP": "?"}
            patterns.append([{"LOWER": {"IN": owner_tokens}}, article, *self._tokens(word)])
        self._owned.add(key, patterns)

    def _tokens(self, phrase: str) -> list[dict]:
        return [{"LOWER": t.lower_} for t in self._nlp.make_doc(phrase)]

    def _misspellings(
        self, phrases: dict, knowledge: Knowledge
    ) -> tuple[set[str], dict[str, list[tuple[str, str, str]]]]:
        """Correctly spelt words, and the long condition and place words by first letter."""
        words: dict[str, tuple[str, str]] = {}
        for value, listed in phrases["condition_category"].items():
            words.update({w.lower(): ("condition_category", value) for w in listed if " " not in w})
        for area in knowledge.areas:
            if area.id != vocab.NATIONAL_AREA_ID:
                for name in (area.name, *area.towns):
                    if " " not in name and "-" not in name:
                        words[name.lower()] = ("area_id", area.id)
        by_letter: dict[str, list[tuple[str, str, str]]] = {}
        for word, (entity, value) in words.items():
            if len(word) >= MIN_FUZZY_LENGTH:
                by_letter.setdefault(word[0], []).append((word, entity, value))
        return set(words) | COMMON_WORDS, by_letter

    def _misspelt_word(self, token: str) -> tuple[str, str] | None:
        """The condition or place a long unknown word is a near miss of, if exactly one."""
        word = token.lower()
        # A misspelling may be one letter shorter than the word it stands for.
        if len(word) < MIN_FUZZY_LENGTH - 1 or not word.isalpha() or word in self._known_words:
            return None
        hits = {
            (entity, value)
            for known, entity, value in self._misspelt.get(word[0], ())
            if abs(len(known) - len(word)) <= 2
            and _edit_distance(word, known) <= (2 if len(known) >= TWO_EDITS_LENGTH else 1)
        }
        return hits.pop() if len(hits) == 1 else None

    def find(self, text: str, today: dt.date) -> list[Fact]:
        """The facts in `text`, in reading order, never overlapping (longest wins)."""
        text = text.replace("\u2019", "'")
        doc = self._nlp.make_doc(text)
        candidates: list[Fact] = []
        for key, start, end in self._phrases(doc):
            entity, value = self._labels[self._phrases.vocab.strings[key]]
            if entity == "user_role" and not self._role_in_context(doc, start, end, value):
                continue
            span = _without_article(doc[start:end])
            candidates.append(Fact(entity, value, span.start_char, span.end_char))
        for key, start, end in self._followed(doc):
            entity, value = self._labels[self._followed.vocab.strings[key]]
            span = _without_article(doc[start : end - 1])
            candidates.append(Fact(entity, value, span.start_char, span.end_char))
        for token in doc:
            hit = self._misspelt_word(token.text)
            if hit:
                candidates.append(Fact(hit[0], hit[1], token.idx, token.idx + len(token)))
        for key, start, end in self._capitals(doc):
            entity, value = self._labels[self._capitals.vocab.strings[key]]
            candidates.append(Fact(entity, value, doc[start:end].start_char, doc[start:end].end_char))
        for key, start, end in self._owned(doc):
            entity, value = self._labels[self._owned.vocab.strings[key]]
            negative = key == self._owned.vocab.strings["has_fit_note=no"] or entity == "ready_to_work"
            body = doc[start:end] if negative else _without_owner(doc[start:end])
            candidates.append(Fact(entity, value, body.start_char, body.end_char))
        candidates += self._postcodes(text)
        whole = " ".join(text.lower().strip(" .!").split())
        if whole in self._whole_message_places:  # "Sale", "March": a place only as the whole reply
            candidates.append(Fact("area_id", self._whole_message_places[whole], 0, len(text)))
        candidates += self._body_parts_alone(doc)
        for m in _AGE.finditer(text):
            group = next(g for g in "abc" if m.group(g))
            if group == "c" and m.group(group) == text.strip(" .!"):
                continue  # a reply of just a number answers whatever we asked (see actions/)
            if 14 <= int(m.group(group)) <= 99:
                # "a 22 yr old", "im 22 years old": the whole phrase, so it is not also read
                # as 22 years off sick.
                start, end = m.start(group), m.end(group)
                old = _YEARS_OLD_AFTER.match(text, end)
                candidates.append(Fact("age", m.group(group), start, old.end() if old else end))
        durations = find_durations(text, today)
        if len(durations) > 1:
            # "off 12/52, FN for a further 4/52": the time off is the one said beside "off"
            # or "since"; else the first. A slot holds one value, so only that one is kept.
            beside_off = [d for d in durations if _OFF_BEFORE.search(text[max(0, d.start - 25) : d.start])]
            durations = (beside_off or durations)[:1]
        for d in durations:
            candidates.append(Fact("weeks_off_sick", _number(d.weeks), d.start, d.end))
        if not durations and (never := NEVER_WORKED.search(text)):
            # Never in work: as long out of work as any rule asks about (WorkWell is for recent).
            at = never.start()
            candidates.append(Fact("weeks_off_sick", _number(NEVER_WORKED_WEEKS), at, at))
        candidates = negated_readiness([*candidates, *ready_said(text)], text)
        candidates = [c for c in candidates if not hoped_for_work(c, text)]
        named = [doc[start:end] for _, start, end in self._service_names(doc)]
        candidates = [c for c in candidates if not (c.entity == "work_status" and _inside(c, named))]
        candidates = a_job_beside_study(candidates, text)
        candidates = one_condition(candidates)
        candidates = long_term_sick_without_a_job(candidates, text)
        off_sick = any(c.entity == "work_status" and c.value == "off_sick" for c in candidates)
        if off_sick and not says_back_at_work(text):
            # "off sick since october ... i work in a warehouse": off sick from that job.
            candidates = [c for c in candidates if not (c.entity == "work_status" and c.value == "in_work")]
        return _one_place(_longest_without_overlap(candidates), text)

    def _body_parts_alone(self, doc) -> list[Fact]:
        """'back and neck', 'my knees mainly', 'back': a reply of body parts and nothing else
        ("I'm back" or "go back" has other words, so it is not read)."""
        words = [t.lower_ for t in doc if not t.is_punct]
        if not self._body_parts & set(words) or any(
            w not in self._body_parts and w not in _BODY_PART_FILLER for w in words
        ):
            return []
        return [Fact("condition_category", "musculoskeletal", doc[0].idx, len(doc.text.rstrip(" .!")))]

    def _role_in_context(self, doc, start: int, end: int, value: str) -> bool:
        word = doc[start:end].text.lower()
        before = {t.lower_ for t in doc[max(0, start - 3) : start]}
        if value == "patient" and word in ("patient", "patients"):
            return not any(s <= before for s in _SKIP_PATIENT_AFTER)
        if value == "patient" and before & _SOMEONE_ELSES:
            return False  # "he has a care coordinator", "her physio": their professional, not the speaker
        if value != "helper" or word not in self._helper_family:
            return True
        after = {t.lower_ for t in doc[end : end + 2]}
        return len(doc) <= _SHORT_MESSAGE_TOKENS or bool(before & _HELPER_BEFORE or after & _HELPER_AFTER)

    def _postcodes(self, text: str) -> list[Fact]:
        found = []
        for m in _POSTCODE.finditer(text):
            district = m.group("district").upper()
            term = self._areas.get(district)
            full = bool(m.group("inward"))
            if term is not None:
                value = _area_value(term.ids, term.partial)
            elif (full or m.group("district").isupper()) and (
                self._places is None or self._places.is_postcode_district(district)
            ):
                value = district  # a real postcode outside the covered areas: read_area places it
            else:
                continue  # lower-case "b4" is text-speak, not Birmingham
            found.append(Fact("area_id", value, m.start(), m.end()))
        return found


# Words that may sit beside body parts in a reply about them ("my back n neck mostly").
_BODY_PART_FILLER = {
    "my", "his", "her", "their", "the", "and", "n", "&", "+", "or", "mostly", "mainly", "both",
    "bad", "sore", "dodgy", "painful", "injured", "its", "it's", "lower", "upper",
}  # fmt: skip
_YEARS_OLD_AFTER = re.compile(r"\s*(?:years?|yrs?)\s*old\b|\s*y/?o\b", re.IGNORECASE)
def _inside(fact: Fact, spans) -> bool:
    return any(fact.start < span.end_char and fact.end > span.start_char for span in spans)


def _service_names(knowledge: Knowledge) -> set[str]:
    """Each service's name, with and without its bracketed part and a trailing 'pilot'."""
    names = set()
    for service in knowledge.services:
        plain = re.sub(r"\s*\(.*?\)", "", service.name).strip()
        names |= {service.name, plain, re.sub(r"\s+pilot$", "", plain, flags=re.IGNORECASE)}
    return {n for n in names if len(n) > 3}


_LIVES_BEFORE = re.compile(
    r"\b(?:live|lives|living|lived|based|stays|staying|home is|address|moved|moving|now)\b[\w\s,]{0,20}$",
    re.IGNORECASE,
)


def _one_place(facts: list[Fact], text: str) -> list[Fact]:
    """One area per message, as a slot holds one: the place the person lives, said plainly.

    "lives Archway N19 but registered with us in Kentish Town": where they live, not the
    surgery's place; "bethnal green, E2": the named town settles the shared postcode.
    """
    places = [f for f in facts if f.entity == "area_id"]
    if len(places) < 2:
        return facts
    plain = [f for f in places if not f.value.startswith(("confirm:", "choose:"))]
    lives = [f for f in plain if _LIVES_BEFORE.search(text[max(0, f.start - 30) : f.start])]
    keep = (lives or plain or places)[0]
    return [f for f in facts if f.entity != "area_id" or f is keep]


def _edit_distance(a: str, b: str) -> int:
    """Damerau-Levenshtein distance (adjacent swaps count as one edit)."""
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


def _without_article(span):
    """'the patient' → 'patient', 'a friend' → 'friend' (docs/nlu-conventions.md)."""
    while len(span) > 1 and span[0].lower_ in ("the", "a", "an"):
        span = span[1:]
    return span


def _without_owner(span):
    """The words after the owner and any article: "my [back]", "got a [fit note]"."""
    skip = 1
    while skip < len(span) - 1 and span[skip].lower_ in ("a", "an", "the"):
        skip += 1
    return span[skip:]


def _area_value(ids: tuple[str, ...], partial: bool) -> str:
    """One area id; or 'confirm:<id>' / 'choose:<a>,<b>' when the person must confirm."""
    if len(ids) > 1:
        return "choose:" + ",".join(ids)
    return f"confirm:{ids[0]}" if partial else ids[0]


def _number(weeks: float) -> str:
    return str(int(weeks)) if float(weeks).is_integer() else str(weeks)


def _longest_without_overlap(candidates: list[Fact]) -> list[Fact]:
    kept: list[Fact] = []
    for fact in sorted(candidates, key=lambda f: (-(f.end - f.start), f.start)):
        if all(fact.end <= k.start or fact.start >= k.end for k in kept):
            kept.append(fact)
    return sorted(kept, key=lambda f: f.start)


_FIRST_PERSON = re.compile(r"\b(?:i|i'm|im|i've|ive|i'd|me|my|myself)\b", re.IGNORECASE)
_THIRD_PERSON = re.compile(
    r"\b(?:he|she|they|his|her|their|hes|shes|he's|she's|they're|them)\b", re.IGNORECASE
)
_BARE_NUMBER = re.compile(
    r"^\s*(?:about|around|roughly|nearly|maybe)?\s*(\d{1,3}(?:\.\d)?)\s*[.!]?\s*$", re.IGNORECASE
)
_DONT_KNOW = re.compile(
    r"^\s*(?:i\s+)?(?:not sure|unsure|dunno|don'?t know|do not know|no idea|skip(?: it| this)?|pass|"
    r"(?:i'?d\s+)?(?:prefer|rather) not(?: to)?(?: say)?|can'?t remember|cant say)\s*[.!]?\s*$",
    re.IGNORECASE,
)


def speaks_for_self(text: str) -> bool:
    """A message in the first person about nobody else ("I've been off with stress")."""
    return bool(_FIRST_PERSON.search(text or "")) and not _THIRD_PERSON.search(text or "")


_WHERE_THEY_LIVE = re.compile(
    r"\b(?:live|lives|living|moved|moving|based|address|postcode|actually|meant|sorry|wrong|not .{1,30} but|"
    r"now in|i'?m in|im in|(?:he|she|they)'?s in|(?:he|she|they) (?:is|are) in|i'?m from|im from)\b",
    re.IGNORECASE,
)


_BACK_AT_WORK = re.compile(
    r"\b(?:back (?:at|in) work|back to work now|went back|gone back|returned to work|phased)\b", re.IGNORECASE
)


def says_back_at_work(text: str) -> bool:
    """'back at work', 'on a phased return': someone who was off sick is working again."""
    return bool(_BACK_AT_WORK.search(text or ""))


def says_where_they_live(text: str) -> bool:
    """'I live in', 'actually it's NG18', 'sorry I meant Manchester', 'heaton moor, stockport SK4':
    a place meant as home. A postcode is an address: a full one anywhere, or a short reply
    that ends in an outward code in capitals (not "low B12 levels")."""
    text = text or ""
    if _WHERE_THEY_LIVE.search(text):
        return True
    if any(m.group("inward") for m in _POSTCODE.finditer(text)):
        return True
    words = text.strip(" .!").split()
    return 0 < len(words) <= 6 and words[-1].isupper() and bool(_POSTCODE.fullmatch(words[-1]))


def speaks_of_someone_else(text: str) -> bool:
    """'he's 41, was a chef': told about another person (read only as an answer to 'Who is this for?')."""
    return bool(_THIRD_PERSON.search(text or ""))


def bare_number(text: str) -> float | None:
    """The number of a reply that is only a number ("6", "about 45")."""
    m = _BARE_NUMBER.match(text or "")
    return float(m.group(1)) if m else None


def says_dont_know(text: str) -> bool:
    return bool(_DONT_KNOW.match(text or ""))


_NO = re.compile(
    r"\b(?:no|nope|nah|not|haven'?t|have not|hasn'?t|don'?t|doesn'?t|never|none)\b", re.IGNORECASE
)
_YES = re.compile(
    r"\b(?:yes|yeah|yep|yup|yh|ya|i have|i've got|ive got|got one|have one|has one|sure)\b", re.I
)
_ME = re.compile(
    r"^\s*(?:it'?s\s+)?(?:for\s+)?(?:me|myself|my ?self|me myself|mine|just me|me please)\s*[.!]?\s*$", re.I
)


def yes_or_no(text: str) -> str | None:
    """A short yes or no reply in everyday words ("haven't got one", "yeah I have")."""
    if len((text or "").split()) > 6:
        return None
    if _NO.search(text or ""):
        return "no"
    return "yes" if _YES.search(text or "") else None


def means_myself(text: str) -> bool:
    """'for me', 'myself', 'it's me': the answer to 'who is this for?'."""
    return bool(_ME.match(text or ""))


@lru_cache(maxsize=2)
def load_fact_finder(knowledge_dir: Path) -> FactFinder:
    phrases = yaml.safe_load((knowledge_dir / "phrases" / "facts.yaml").read_text(encoding="utf-8"))
    return FactFinder(phrases, read_knowledge(knowledge_dir), load_places(knowledge_dir))
