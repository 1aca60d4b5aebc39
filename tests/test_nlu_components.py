"""Our Rasa NLU components, on messages as the pipeline hands them over."""

from __future__ import annotations

from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from chatbot.nlu.facts_mean_inform import FactsMeanInform
from chatbot.nlu.risk_detector import CrisisIntentOverride

AMBIGUITY_THRESHOLD = 0.1  # FallbackClassifier's default, as in config.yml


def message(text: str, ranking: list[tuple[str, float]], entities=()) -> Message:
    m = Message({TEXT: text})
    m.set(INTENT, {"name": ranking[0][0], "confidence": ranking[0][1]})
    m.set(INTENT_RANKING_KEY, [{"name": n, "confidence": c} for n, c in ranking])
    m.set(ENTITIES, [{"entity": e, "value": v} for e, v in entities])
    return m


def run(component, m: Message) -> Message:
    return component.process([m])[0]


def test_a_place_alone_is_an_answer_not_a_yes():
    m = run(FactsMeanInform(), message("N7", [("affirm", 0.4), ("inform", 0.3)], [("area_id", "islington")]))
    assert m.get(INTENT)["name"] == "inform"


def test_torn_between_inform_and_correct_is_not_a_reason_to_give_up():
    m = message(
        "actually I live in E14 and I want to get back to work",
        [("correct", 0.423), ("inform", 0.422)],
        [("area_id", "tower-hamlets"), ("ready_to_work", "yes")],
    )
    ranking = run(FactsMeanInform(), m).get(INTENT_RANKING_KEY)
    assert ranking[0]["name"] == "correct"
    assert ranking[0]["confidence"] - ranking[1]["confidence"] >= AMBIGUITY_THRESHOLD


def test_a_real_question_with_facts_stays_a_question():
    m = message(
        "im self employed and off ill, do i get any money",
        [("ask_sick_pay_self_employed", 0.9), ("inform", 0.05)],
        [("work_status", "self_employed"), ("work_status", "off_sick")],
    )
    assert run(FactsMeanInform(), m).get(INTENT)["name"] == "ask_sick_pay_self_employed"


def test_talking_to_someone_who_has_been_through_it_is_not_asking_for_staff():
    m = message(
        "I don't want a job right now, I just want to talk to someone who's been through it",
        [("request_human", 0.7), ("inform", 0.2)],
        [("ready_to_work", "no")],
    )
    assert run(FactsMeanInform(), m).get(INTENT)["name"] == "inform"


def test_a_classifier_only_crisis_is_dropped_but_a_risk_signal_is_not():
    weak = run(CrisisIntentOverride(), message("me myself", [("crisis", 0.95), ("inform", 0.03)]))
    assert weak.get(INTENT)["name"] == "inform"
    real = run(CrisisIntentOverride(), message("i want to end it all", [("greet", 0.6)], [("area_id", "x")]))
    assert real.get(INTENT)["name"] == "crisis" and real.get(ENTITIES) == []


def test_a_question_that_states_the_situation_and_asks_for_help_is_triage():
    m = message(
        "off sick from my job 5 weeks with depression, is there anything in manchester that can help me",
        [("ask_sick_pay_self_employed", 0.315), ("ask_services_in_area", 0.281), ("inform", 0.143)],
        [("work_status", "off_sick"), ("weeks_off_sick", "5"), ("condition_category", "mental_health")],
    )
    ranking = run(FactsMeanInform(), m).get(INTENT_RANKING_KEY)
    assert ranking[0]["name"] == "inform"
    assert ranking[0]["confidence"] - ranking[1]["confidence"] >= AMBIGUITY_THRESHOLD
    one_fact = message(
        "want a part time job but my anxiety is really bad. can anyone help with that?",
        [("ask_about_assistant", 0.347), ("ask_data_who_sees", 0.267)],
        [("condition_category", "mental_health")],
    )
    assert run(FactsMeanInform(), one_fact).get(INTENT)["name"] == "inform"
    unsure_question = message(
        "how long does a fit note last, im off with stress",
        [("ask_fit_note_length", 0.45), ("ask_fit_note_what_is", 0.3)],
        [("condition_category", "mental_health")],
    )
    assert run(FactsMeanInform(), unsure_question).get(INTENT)["name"] == "ask_fit_note_length"


def test_start_again_takes_words_that_ask_for_it():
    not_a_restart = message(
        "student, but about to start the job",
        [("start_again", 0.55), ("inform", 0.3)],
        [("work_status", "in_education")],
    )
    assert run(FactsMeanInform(), not_a_restart).get(INTENT)["name"] == "inform"
    for text in ["can we start over", "restart", "/start_again", "go back to the beginning"]:
        m = run(FactsMeanInform(), message(text, [("start_again", 0.9), ("deny", 0.05)]))
        assert m.get(INTENT)["name"] == "start_again", text
