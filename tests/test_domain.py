"""The domain, rules, NLU data and knowledge/answers stay in step."""

from __future__ import annotations

import re

import yaml

from chatbot.config import PROJECT_ROOT
from chatbot.nlu.training_data import plain_examples

DOMAIN = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())
RULES = (PROJECT_ROOT / "data" / "rules.yml").read_text()
TRAINING = {intent for intent, _ in plain_examples(PROJECT_ROOT / "data" / "nlu")}
HELD_OUT = {intent for intent, _ in plain_examples(PROJECT_ROOT / "tests" / "nlu")}


def _answer_ids(knowledge) -> set[str]:
    return {a.id for a in knowledge.answers}


def test_every_answer_has_a_question_intent_with_examples_and_a_rule(knowledge):
    for answer_id in _answer_ids(knowledge):
        intent = f"ask_{answer_id}"
        assert intent in DOMAIN["intents"], intent
        assert intent in TRAINING, f"{intent} has no training examples"
        assert intent in HELD_OUT, f"{intent} has no held-out examples"
        assert f"intent: {intent}\n" in RULES, f"{intent} is in no rule"


def test_every_question_intent_has_an_answer_or_its_own_action(knowledge):
    own_action = {"ask_services_in_area", "ask_referral_status", "ask_service_status"}
    for intent in DOMAIN["intents"]:
        if intent.startswith("ask_") and intent not in own_action:
            assert intent.removeprefix("ask_") in _answer_ids(knowledge), intent


def test_every_intent_has_training_examples():
    assert set(DOMAIN["intents"]) <= TRAINING


def test_every_form_question_has_a_way_to_ask_it():
    actions = set(DOMAIN["actions"])
    for slot in DOMAIN["forms"]["triage_form"]["required_slots"]:
        assert f"utter_ask_{slot}" in DOMAIN["responses"] or f"action_ask_{slot}" in actions, slot


def test_fact_slots_never_take_free_text():
    # A from_text slot would swallow a question or a crisis typed as an answer.
    for name, slot in DOMAIN["slots"].items():
        assert all(m["type"] != "from_text" for m in slot["mappings"]), name


def test_held_out_set_is_not_copied_from_training():
    training = {text.lower().strip() for _, text in plain_examples(PROJECT_ROOT / "data" / "nlu")}
    held_out = [text.lower().strip() for _, text in plain_examples(PROJECT_ROOT / "tests" / "nlu")]
    copied = [t for t in held_out if t in training and len(t.split()) > 3]
    assert copied == []


def test_button_payloads_use_known_intents_and_slot_values():
    for name, variants in DOMAIN["responses"].items():
        for variant in variants:
            for button in variant.get("buttons") or []:
                if not button["payload"].startswith("/"):
                    # Plain text, read as if typed: the referral form's choices ("phone").
                    assert button["payload"].strip() and name.startswith("utter_ask_"), (name, button)
                    continue
                intent = button["payload"].lstrip("/").split("{")[0]
                assert intent in DOMAIN["intents"], (name, button)


def test_answers_are_plain_and_short(knowledge):
    for answer in knowledge.answers:
        sentences = [s for s in answer.text.replace("?", ".").split(".") if s.strip()]
        average_words = sum(len(s.split()) for s in sentences) / len(sentences)
        assert average_words <= 20, (answer.id, average_words)


def test_responses_are_short_and_plain():
    # Reading age about 9-11: short sentences, few long words.
    for name, variants in DOMAIN["responses"].items():
        for variant in variants:
            text = re.sub(r"\{\w+\}", "", variant.get("text") or "")
            sentences = [s for s in re.split(r"[.?!\n]+", text) if s.split()]
            for sentence in sentences:
                assert len(sentence.split()) <= 25, (name, sentence)
            words = re.findall(r"[A-Za-z]+", text)
            long_words = [w for w in words if len(w) >= 12]
            assert len(long_words) <= max(1, len(words) // 20), (name, long_words)


def test_no_response_promises_what_we_must_never_do():
    # Never diagnose, advise on medication, or say whether someone is fit for work.
    banned = ("you should take", "dose", "you are fit for work", "you are not fit for work", "diagnos")
    for name, variants in DOMAIN["responses"].items():
        for variant in variants:
            text = (variant.get("text") or "").lower()
            assert not any(b in text for b in banned), name


def _settable_facts() -> set[tuple[str, str]]:
    """(slot, value) pairs a button sets, or the fact extractor reads from free text."""
    out = set()
    for variants in DOMAIN["responses"].values():
        for variant in variants:
            for button in variant.get("buttons") or []:
                for slot, value in re.findall(r'"(\w+)":\s*"([^"]*)"', button.get("payload", "")):
                    out.add((slot, value))
    phrases = yaml.safe_load((PROJECT_ROOT / "knowledge" / "phrases" / "facts.yaml").read_text())
    for slot in ("work_status", "condition_category", "ready_to_work", "benefits", "circumstances_plain"):
        out |= {(slot.removesuffix("_plain"), str(v)) for v in phrases[slot]}
    out |= {("circumstances", v) for v in phrases["circumstances"]["words"]}
    return out


def test_every_fact_a_service_needs_can_be_asked_or_read_from_free_text(knowledge):
    """Otherwise the service could never be recommended (issue 18: four services were not)."""
    settable = _settable_facts()
    for s in knowledge.services:
        e = s.eligibility
        needed = [("work_status", v) for v in e.work_statuses]
        needed += [("condition_category", v) for v in e.condition_categories]
        needed += [("ready_to_work", v) for v in e.ready_to_work] + [("benefits", v) for v in e.benefits]
        needed += [("circumstances", v) for v in e.circumstances]
        for fact in needed:
            assert fact in settable, (s.id, fact)
