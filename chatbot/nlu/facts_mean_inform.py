"""A message that states triage facts and asks nothing is an answer (`inform`).

The intent classifier sees words, not facts: "N7", "notts" or "no sick note yet"
look like affirm/deny or a question to it. The fact extractor knows better, so
this component, placed after it, turns such messages into `inform`. It leaves
real questions alone ("can I get sick pay if I'm self-employed?").

The rule is here, without Rasa; the Rasa component that applies it is in
facts_mean_inform_component.py, and `FactsMeanInform` is found here too.
"""

from __future__ import annotations

import re

INFORM = "inform"
# Intents a statement of facts is often mistaken for.
SMALL_TALK = {"affirm", "deny", "thank", "greet", "goodbye", "out_of_scope", "bot_challenge"}
# Facts that say something about the person's situation (a role word alone does not:
# "how do I use this with patients?").
SITUATION_FACTS = {"work_status", "weeks_off_sick", "has_fit_note", "condition_category", "area_id",
                   "gp_surgery_id", "age", "ready_to_work"}  # fmt: skip
# "Talk to someone who's been through it" is a wish for peer support, not for our staff.
_ASKS_FOR_OUR_PEOPLE = re.compile(
    r"\b(?:real|actual|proper|live) (?:person|human|people)|\bhuman\b|\bstaff\b|\badvis[oe]r\b|"
    r"\bnot a (?:bot|computer)|\bcall me\b|\bphone me\b|\bring me\b|\boperator\b",
    re.IGNORECASE,
)
# The classifier's confidence for a statement it took for a question, below which facts win.
QUESTION_DOUBT = 0.6
RULE_CONFIDENCE = 0.6
_QUESTION = re.compile(
    r"\?"
    r"|^\s*(?:what|whats|what's|wot|wat|how|hw|can|could|do|does|did|is|are|will|would|should|who|when|where|"
    r"why|which|am|if|any|tell me|explain)\b"
    # a question further on: "self employed, bad back, who pays me when i cant work"
    r"|\b(?:what|how|who|where|when|why)\s+"
    r"(?:do|does|can|could|should|will|would|is|are|am|about|pays|happens to|benefits|money|help)\b"
    r"|\b(?:can|could|should|will|do|am)\s+i\b|\bis there\b|\bare there\b|\bany (?:help|money|support)\b"
    r"|\b(?:wondering|want to know|need to know)\b",
    re.IGNORECASE,
)


def is_question(text: str) -> bool:
    return bool(_QUESTION.search(text or ""))


# Starting again wipes every answer, so it takes words that ask for it: "about to start the
# job" is not "start again".
_RESTART = re.compile(
    r"\b(?:re-?start|reset|redo|afresh|scratch|beginning)\b"
    r"|\b(?:start|begin|go)\s+(?:it\s+|this\s+|all\s+)?(?:again|over|afresh|from)\b"
    r"|\b(?:from|to) the (?:top|start)\b|\bfresh start\b|\bnew (?:chat|conversation)\b"
    r"|\b(?:clear|wipe)\b.{0,20}\b(?:it|everything|all|chat|over)\b",
    re.IGNORECASE,
)


def asks_to_start_again(text: str) -> bool:
    """Whether a message taken for `start_again` really asks for it (a button's payload does)."""
    text = (text or "").strip()
    return text.startswith("/") or bool(_RESTART.search(text))


# "is there anything in manchester that can help me get back", "can anyone help with that?"
_ASKS_FOR_HELP = re.compile(r"\b(?:help|support|anything|anyone|any ?one|services?|advice)\b", re.IGNORECASE)


def question_is_a_request_for_support(text: str, facts: int, confidence: float) -> bool:
    """A question that states the person's situation and asks for help, which the intent
    classifier could not place ("off sick from my job 5 weeks with depression, is there
    anything in manchester that can help me get back"): what triage is for, not a question
    to answer. One the classifier is sure of ("can I get sick pay if I'm self-employed?")
    stays a question."""
    if confidence >= QUESTION_DOUBT or not facts:
        return False
    return facts >= 2 or bool(_ASKS_FOR_HELP.search(text or ""))


def __getattr__(name: str):  # noqa: ANN202 (PEP 562: a module attribute made on first use)
    """The Rasa component, imported only when Rasa asks for it (config.yml names it here).

    The action server imports is_question from this module; importing Rasa with it
    would bring TensorFlow into every action server (about 2 s and 500 MB).
    """
    if name == "FactsMeanInform":
        from chatbot.nlu.facts_mean_inform_component import FactsMeanInform

        return FactsMeanInform
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
