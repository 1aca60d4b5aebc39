# ruff: noqa: E501 (the phrase patterns read better whole, one family to a line)
"""Reading a reply to the consent question: only the person can agree.

`read_consent_reply(text, role)` returns one of
- `yes`: the person agrees (a resident for themselves), or a professional or
  helper reports that the person has agreed ("she's agreed", "pt consented");
- `no`: a refusal, or the person said no, or not yet;
- `unclear`: a question back, a maybe, "I haven't asked her yet";
- `not_theirs`: a professional or helper agreeing *for* the person ("on her
  behalf", "as her GP I consent", "I'm happy to", "I agree", "she'd want it"):
  only the person can agree, so we say so kindly and ask them to ask the person now;
- `confirm`: a professional or helper *typed* that the person agreed. Typed words
  can hide a proxy yes no pattern foresees ("her daughter rang and said yes"), so
  for someone else's consent only the button "Yes, they told me themselves" is a
  yes: a typed report gets that one closed question first.
with the reason, in words fit for the consent record. The rule is the same in
every channel; buttons (`/affirm`, `/deny`) are a yes and a no said by the
person the button names ("Yes, the patient agreed").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

YES, NO, UNCLEAR, NOT_THEIRS, CONFIRM = "yes", "no", "unclear", "not_theirs", "confirm"
ON_BEHALF_ROLES = frozenset({"patient", "helper"})  # user_role: who the conversation is about

_PERSON = (
    r"(she|he|they|the patient|patient|pt|my patient|the client|client|my client|mum|dad|"
    r"my (mum|dad|son|daughter|wife|husband|partner|brother|sister|friend|mentee|nan|gran)|"
    r"(the )?(person|lady|man|woman|young person|lad|girl|boy)( i (mentor|support|help|work with|care for))?|"
    r"\w+ herself|\w+ himself)"
)
_REPORTED_AGREEMENT = re.compile(
    rf"\b{_PERSON} (has |have |had |did |does |is )?(just )?(agreed|agrees|consented|consents|said yes|says yes|"
    rf"is happy|was happy|is ok with|is okay with|is fine with|was fine with|gave (consent|permission|her ok|his ok)|"
    rf"signed|confirmed|accepted|is keen|is up for it|is willing|nodded|"
    rf"said (thats|that is|its|it is|that was) (fine|ok|okay|alright|grand)|said (ok|okay|fine|sure|go ahead|yeah|yep)|"
    rf"gave (verbal |written |full |her |his |their |informed )?(consent|permission|agreement))\b"
    r"|\bconsent (from|by|of) (the )?(patient|pt|her|him|them|client)\b"
    rf"|\b{_PERSON} (has |have |had |s |is )?(just )?(wants?|wanted) (them|you|the service|someone) to (ring|call|contact|phone|email|get in touch|text)\b"
    rf"|\b{_PERSON} (has |have |s |is )?given (her |his |their )?(informed |verbal |written |full )?(consent|permission)\b"
    rf"|\b{_PERSON}\b.{{0,30}}\b(says|said|s said) (thats|that is|its|it is) (fine|ok|okay|alright)\b|\b(said|says) (aye|yes|ok|okay|yeah|yep)\b(?<!i said aye)"
    r"|\b(pt|patient|she|he|they)( is| are| s)? (present|here|with me)( and)? (consents|agrees|consenting|agreeing|says yes)\b"
    r"|\b(she|he|they|pt|patient) (is|are|s) (fine|happy|ok|okay) for (it|this|that|the referral|you|them) to\b"
    r"|\b(pt|patient|she|he|they)( is| are| s)? (agreeable|nodding)\b|\b(happy|keen|agreeable) (for|to) (the )?referral\b"
    r"|\b(informed |verbal |written )?consent (documented|recorded|obtained|noted)\b"
    r"|\b(says|said) yes\b(?<!i say yes)(?<!i said yes)"
    r"|\b(verbal|written|informed|patient|pts?|her|his|their|full) consent (given|obtained|gained|taken|received|was given|has been given)\b"
    r"|\bconsent (given|obtained|gained|taken) (by|from|with) (the )?(patient|pt|her|him|them|client)\b"
    r"|\bconsent(ed)? (verbally|in clinic|in person|on the phone|today)\b"
    r"|\b(she|he|they|patient|pt) (is|are|s) (in agreement|agreeable|consenting|happy for|happy to)\b"
    r"|\b(yes|yep|yeah),? (she|he|they) (did|does|has|have|agreed)\b"
    r"|\b(asked|checked with|spoke to|spoken to|talked to) (her|him|them|the patient|pt|patient)\b.{0,40}\b(agreed|yes|happy|fine|ok|okay|consented)\b"
)
# Agreement that is only imagined for the person: still the helper deciding.
_REFUSED = re.compile(
    r"\b(said|says|saying) no\b(?<!say no)|\b(refused|refuses|declined|declines|withdrew|doesnt want|does not want|didnt want|did not want|isnt keen|is not keen|not interested|changed (her|his|their) mind|against it)\b"
    r"|\b(doesnt|does not|didnt|did not) (consent|agree)\b|\bno,? (she|he|they|the patient|patient|pt) (does|do|did|has|have|is|are)(nt| not)\b"
)
_PERSON_UNSURE = re.compile(
    r"\b(she|he|they|pt|patient)( was| is| s)? (not sure|unsure|undecided|wasnt sure|isnt sure)\b|\b(wants?|needs?) (some )?(time )?to think\b|\b(said|says) (she|he|they) (would|will|ll|d) think\b"
)
_NOT_ASKED = re.compile(
    r"\b(not|havent|have not|didnt|did not|yet to) (asked|spoken|checked|talked)\b|\bwants? to think\b|\bthink about it\b"
)
_HYPOTHETICAL = re.compile(
    r"\b(would|wud|wd|d|will|ll|might|should|must) (surely |definitely |probably |certainly )?(agree|want|say yes|be (fine|happy|ok|okay|grateful|glad))\b"
    r"|\b(im|i am) (sure|certain|confident|positive) (she|he|they|the patient|pt)\b"
    r"|\b(she|he|they|patient|pt)(d| would)\b|\bno doubt\b|\bbound to\b|\bwont mind\b|\bwill not mind\b|\bwouldnt mind\b|\bwould not mind\b"
    r"|\b(cant|cannot|unable to|not able to|isnt able to|is not able to|not really able to) (really )?(decide|consent|agree|understand|make (the |this |that )?decision)"
    r"|\blacks? capacity\b|\bno capacity\b"
)
_PROXY = re.compile(
    r"\bon (his|her|their|the patients|the patient s|patients|pts|my patients|the clients|my sons|my daughters|my mums|my dads|[a-z]+s) behalf\b|\bbehalf of\b"
    r"|\b(i|we|me) (hereby |do |will |ll |can |d )?(agree|consent|authori[sz]e|approve|accept|permit|give (my )?(consent|permission|the go ahead|the ok)|ok it|okay it|sign (it )?off|take (full )?responsibility|say yes|vouch|decide|confirm for)\b(?! (too|as well|with (that|him|her|them|it)))"
    r"|\bfrom me\b|\bmy (consent|permission|approval|authorisation|authorization|say so)\b|\bi give\b"
    r"|\bas (her|his|their|the) (gp|doctor|nurse|carer|mum|mother|dad|father|parent|guardian|next of kin|nok|key worker|keyworker|support worker|social worker|mentor|advocate|attorney|husband|wife|partner|daughter|son|clinician)\b"
    r"|\b(power of attorney|lpa|next of kin|nok|guardian|appointee)\b"
    r"|\bmy (name|end|side)\b|\b(i|im|i am) (saying|say) yes\b|\btrusts? me\b|\bleave it (to|with) me\b"
    r"|\bas (her|his|their) (sister|brother|aunt|auntie|uncle|friend|nan|gran|grandma|grandad|cousin|niece|nephew|relative|family|flatmate|landlord|employer|manager|boss)\b"
    r"|\b(im|i am) (her|his|their|the patients) (mum|mother|dad|father|parent|carer|guardian|gp|doctor|nurse|wife|husband|partner|daughter|son|key worker|support worker|social worker|mentor)\b"
    # Deciding for the person: assumed or implied consent, best interests, a team's or a role's say-so.
    r"|\b(assume|assuming|assumed|implied|implicit|presume|presumed)\b|\bbest interests?\b|\b(mdt|team|we|dr|doctor|consultant|clinician|the gp)\b.{0,20}\b(decided|agreed|said)\b"
    r"|\b(lacks?|no|without) (capacity|insight)\b|\b(too unwell|dementia|doesnt (really )?understand|does not (really )?understand|not able to decide)\b"
    r"|\b(im|i am|were|we are) (consenting|agreeing|giving (consent|permission)|authori[sz]ing|saying yes|doing it for|sending it|deciding)\b|\bconsent(ing)? (given )?(by|from) (me|us|the clinician|clinician|the team|gp|the gp|dr|the doctor|staff|the lead)\b"
    r"|\b(safeguarding|practice|duty|named|lead|designated) (lead|manager|gp|nurse|clinician|officer|dsl)\b|\bdsl\b"
    r"|\b(just )?(put|tick|mark|enter|say) (it as )?(yes|me down|it|y)\b|\b(i will|ill) (tell|break it to|let) (her|him|them)\b|\b(tell|break it to) (her|him|them) (later|gently|after)\b"
    r"|\bdnad?\b|\bno need to ask\b"  # not having asked yet, alone, is unclear: asked again
    r"|\b(with|for) me (doing|handling|dealing|sorting|deciding|making|signing|taking|speaking|answering)\b|\bme (handle|handling|deal with|dealing with|sort|sorting|decide|deciding) (it|stuff|things|everything|this|all)\b"
    r"|\b(i|ive|i have|weve|we have) (said|say|told you) yes\b"
    r"|\bby proxy\b|\b(agreed|consented|authorised|authorized|approved) by me\b|\b(have|has|we|team s|teams) decided\b|\bdeputy\b"
    r"|\b(mate|friend|he|she|they|pt|patient) (definitely|really|obviously) wants?\b"
    r"|\b(wont|will not|wouldnt|would not) (mind|object|care)\b|\b(be grateful|thank me|take the blame|go along with|always says yes)\b"
    r"|\b(she|he|they) (is|s) my (wife|husband|partner|son|daughter|mum|mam|mother|dad|twin|sister|brother)\b|\bim (her|his|their) (twin|sister|brother|mam|mum|dad|wife|husband)\b"
    r"|\bi (do|handle|manage|sort) all (his|her|their)\b|\blets me (handle|do|decide|sort)\b|\bi know (what|that) (she|he|they)\b|\b(course|obviously|of course) (she|he|they) (wants?|would)\b"
    r"|\b(i think|i reckon|i feel) (its|it is|it s) (the right|for the best|best)\b|\bfor the best\b|\bclinically indicated\b|\bproceed\b"
)
# Words that decide for the person when nothing says the person agreed ("go ahead",
# "I'm happy to", "for him"); beside "she said yes" they are the helper's own agreement too.
_WEAK_PROXY = re.compile(
    r"\b(im|i am|were|we are) (happy|fine|ok|okay|content|willing|good) (to|with|for)\b|\b(im|i am|were|we are) (happy|fine|ok|okay|willing|content)$"
    r"|\b(for|4) (him|her|them|the patient|my patient|pt)\b"
    r"|\b(go ahead|just send it|send it|do it|crack on|put it through|sort it)\b"
)
_PLAIN_NO_TEXT = r"^(no(?! (way|need|doubt|problem|worries|bother))|nope|nah|naw|na|not now|not yet|not today|no thanks|no thank you|(dont|do not)(?! worry)|never|definitely not|absolutely not|negative)\b"
_PLAIN_NO = re.compile(_PLAIN_NO_TEXT)
_NO = re.compile(
    _PLAIN_NO_TEXT + r"|\bnot right now\b|\brather you (didnt|did not|dont|do not|wouldnt|would not)\b"
    r"|\b(doesnt|does not|dont|do not|didnt|did not) (consent|agree|want)\b"
    r"|\b(said|says|saying) no\b|\b(refused|refuses|declined|declines|decline|withdrew|does not want|doesnt want|dont want|do not want|did not want|didnt want|not want|isnt keen|is not keen|not interested|changed (my|her|his|their) mind|rather not|would rather not|id rather not|not happy|not comfortable|not ok with|not okay with|against it|dont send|do not send|please dont|please do not)\b"
    r"|\bno,? (she|he|they|the patient|patient|pt) (does|do|did|has|have|is|are)(nt| not)\b"
)
_UNCLEAR = re.compile(
    r"\?|^(what|who|why|how|when|where|which|can|could|will|would|is|are|do|does|does it|whats|hows|wots)\b"
    r"|\b(maybe|perhaps|possibly|not sure|unsure|dunno|dont know|do not know|idk|depends|it depends|let me think|need to think|think about it|thinking about it|hang on|wait|hold on|later|not decided|undecided|on the fence|havent decided|have not decided|ill check|i will check|let me check|need to check|need to ask|ill ask|i will ask|have to ask|havent asked|have not asked|not asked|didnt ask|did not ask|not spoken|havent spoken|have not spoken|not had a chance|can i|could i|not sure if)\b"
)
_YES = re.compile(
    r"^(yes|yeah|yea|yep|yup|ya|yh|ye|aye|y|defo|deffo|def|ok|okay|k|sure|fine|alright|all right|go on|go for it|go ahead|please do|please|of course|definitely|absolutely|certainly|i agree|i do|agreed|deal|right|correct|thats fine|that is fine|sounds good|happy to|im happy|i am happy|i consent|consent|yess+|ye)\b"
    r"|\b(i agree|i consent|im happy|i am happy|happy for you|happy for them|you can send|send it|send them|go ahead|fine by me|thats fine|that is fine|sounds good|i want them to|want them to (ring|call|contact|email|phone|get in touch)|please send|yes please)\b"
)


@dataclass(frozen=True)
class ConsentReading:
    decision: str  # yes | no | unclear | not_theirs
    reason: str  # plain words for the consent record and the tests


def read_consent_reply(text: str, role: str | None) -> ConsentReading:
    """What a reply to the consent question says, for a person (`self`) or about someone (`patient`, `helper`)."""
    raw = (text or "").strip()
    if raw == "/affirm":
        return ConsentReading(YES, "pressed the yes button")
    if raw == "/deny":
        return ConsentReading(NO, "pressed the no button")
    normal = _normalise(raw)
    if not normal:
        return ConsentReading(UNCLEAR, "no words")
    if role in ON_BEHALF_ROLES:
        reading = _about_someone_else(normal, role)
        if reading.decision == YES:
            return ConsentReading(CONFIRM, reading.reason + "; to be confirmed with the button")
        return reading
    if _NO.search(normal) and not _YES.match(normal):
        return ConsentReading(NO, "said no")
    if _UNCLEAR.search(normal):
        return ConsentReading(UNCLEAR, "asked a question or was not sure")
    if _YES.search(normal):
        return ConsentReading(YES, "said yes")
    return ConsentReading(UNCLEAR, "neither yes nor no")


def _about_someone_else(normal: str, role: str) -> ConsentReading:
    # In this order: the person's own no, reported, always counts; then any sign that the
    # professional or helper is deciding for the person (their own say-so, a role, an
    # assumption, "she'd want it") outweighs a reported yes in the same message, because a
    # mistake that way only asks again, and a mistake the other way sends without consent.
    hypothetical = bool(_HYPOTHETICAL.search(normal))
    if _REFUSED.search(normal):
        return ConsentReading(NO, "said the person does not agree")
    if _PERSON_UNSURE.search(normal):
        return ConsentReading(UNCLEAR, "said the person is not sure yet")
    if _PROXY.search(normal) or hypothetical:
        return ConsentReading(NOT_THEIRS, "agreed for the person, who has not agreed themselves")
    if _SOMEONE_ELSE_AGREED.search(normal) or (role == "patient" and _FAMILY_AGREED.search(normal)):
        return ConsentReading(NOT_THEIRS, "someone other than the person agreed")
    if _STANDING_CONSENT.search(normal):
        return ConsentReading(NOT_THEIRS, "a standing consent, not this referral")
    if _HEDGED_OR_OLD.search(normal):
        return ConsentReading(UNCLEAR, "not a clear yes from the person, now")
    if _deciding_words_of_their_own(normal):
        return ConsentReading(NOT_THEIRS, "agreed for the person, who has not agreed themselves")
    if _REPORTED_AGREEMENT.search(normal) and not _NOT_ASKED.search(normal):
        return ConsentReading(YES, "said the person has agreed")
    if _PLAIN_NO.search(normal):
        return ConsentReading(NO, "said no, or not yet")
    if _UNCLEAR.search(normal):
        return ConsentReading(UNCLEAR, "asked a question, or the person is not sure or not asked yet")
    if _ANSWERED_YES.match(normal):
        # A bare "yes" answers "Has the patient agreed to this?": a report that they did.
        return ConsentReading(YES, "said the person has agreed")
    if _YES.search(normal):
        # "ok", "fine", "sure", "yes I'm fine with it": the speaker's own approval.
        return ConsentReading(NOT_THEIRS, "agreed for the person, who has not agreed themselves")
    return ConsentReading(UNCLEAR, "neither yes nor no")


# Someone else agreeing: a relative, a carer or another worker is not the person.
_SOMEONE_ELSE_AGREED = re.compile(
    r"\b(his|her|their|the patients|pts) (mum|mom|mam|mother|dad|father|wife|husband|partner|carer|son|daughter|"
    r"family|parents?|sister|brother|nok|next of kin|social worker|key worker|keyworker|support worker|gp|doctor|consultant|team)"
    r"( has| is| s| have| was)? (said|says|agreed|agrees|consented|okayed|ok d|happy|fine|gave)\b"
)
# Consent for something else: a standing or general consent, or agreeing to anything at all.
_STANDING_CONSENT = re.compile(
    r"\b(on file|on record|on (the|our) system|at registration|when (she|he|they) registered|blanket|general consent|standard consent|"
    r"practice consent|data sharing (agreement|consent)|already (have|got|on) (consent|file)|consent form (from|at|when))\b"
    r"|\b(registration|sign up|signup|intake|referral) form\b|\bwhen (she|he|they) (joined|signed up|started)\b|\bsigned (a|our|the|an) (form|consent form|agreement)\b|\brefer (her|him|them) (anywhere|to anything)\b"
    r"|\b(always|usually) (agrees?|says yes|goes along)\b|\b(agrees?|says yes|said yes) to (everything|anything|whatever)\b|\bwhatever i (say|think|decide)\b"
)
# A professional's "mum agreed" is the patient's mother agreeing, not the patient.
_FAMILY_AGREED = re.compile(
    r"\b(mum|mom|mam|mother|dad|father|wife|husband|partner|carer|family|parents?|daughter|son|sister|brother)"
    r"( \w+){0,3}? (said|says|agreed|agrees|consented|okayed|happy|fine|gave)\b"
)
# Agreement that is hedged, or was given some time ago to something else: ask now.
_HEDGED_OR_OLD = re.compile(
    r"\b(i think|i guess|i suppose|pretty sure|fairly sure|probably|kind of|kinda|sort of|sorta|more or less|in principle|i believe)\b"
    r"|\b(last (week|month|year|yr|time)|previously|for something (else|similar)|in the past|ages ago|(weeks|months|years) ago|a while (ago|back)|before now)\b"
)
# A yes that only answers the question asked ("Has the patient agreed?"): "yes", "yes she has".
_ANSWERED_YES = re.compile(
    r"^(yes|yeah|yea|yep|yup|ya|yh|ye|aye|y|yess+)( (she|he|they) (has|have|did|does))?( (yes|agreed|she did|he did|they did))?( thanks| thank you| please)?$"
    r"|^(she|he|they|the patient|patient|pt) (has|have|did)( yes)?$"
)
# "she said go ahead", "he's happy for you to send it": the person's words, reported.
_REPORTED_SPEECH = re.compile(r"(?<!\bi )(?<!\bive )(?<!\bwe )(?<!\bi have )\b(said|says|saying|told me|told us|wants you to|happy for you to|asked (me|us) to)( \w+){0,2} ?$")


def _deciding_words_of_their_own(normal: str) -> bool:
    """A weak sign of deciding ("go ahead", "for him") that is not the person's words reported."""
    return any(
        not _REPORTED_SPEECH.search(normal[: m.start()].strip()) and not normal[: m.start()].strip().endswith("typing")
        for m in _WEAK_PROXY.finditer(normal)
    )


def _normalise(text: str) -> str:
    text = text.lower().replace("\u2019", "'").replace("'", "")
    text = re.sub(r"[^\w\s?]", " ", text)
    text = re.sub(r"\bu\b", "you", text)
    text = re.sub(r"\b(shes)\b", "she is", text)
    text = re.sub(r"\b(hes)\b", "he is", text)
    text = re.sub(r"\b(theyre)\b", "they are", text)
    text = re.sub(r"\b(theyve)\b", "they have", text)
    text = re.sub(r"\b(wld|wud)\b", "would", text)
    text = re.sub(r"\b(def|defo|deffo)\b", "definitely", text)
    text = re.sub(r"\b(shes|she s)\b", "she is", text)
    text = re.sub(r"\b(shed|she d)\b", "she would", text)
    text = re.sub(r"\b(hed|he d)\b", "he would", text)
    text = re.sub(r"\b(theyd|they d)\b", "they would", text)
    text = re.sub(r"\b(id|i d)\b", "i would", text)
    text = re.sub(r"\b(ill|i ll)\b", "i will", text)
    text = re.sub(r"\b(shell|she ll)\b", "she will", text)
    text = re.sub(r"\b(he ll)\b", "he will", text)
    text = re.sub(r"\b(theyll|they ll)\b", "they will", text)
    return re.sub(r"\s+", " ", text).strip()
