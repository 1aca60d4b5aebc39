"""A short plain-text summary for a patient record (professional mode).

Facts and signposting only: no name, no contact details, no free text from
the conversation, so it is safe to paste into a clinical system.
"""

from __future__ import annotations

import datetime as dt

from .catalogue import Catalogue
from .profile import Profile
from .reasons import Reasons, load_reasons
from .recommend import Recommendation

WORK_STATUS_WORDS = {
    "in_work": "in work",
    "off_sick": "off sick from a job",
    "out_of_work": "out of work",
    "self_employed": "self-employed",
    "in_education": "in education or training",
    "other": "other",
}
READY_WORDS = {
    "yes": "wants to work now or soon",
    "no": "not ready to work yet",
    "not_sure": "not sure about work yet",
}


def patient_summary(
    profile: Profile,
    result: Recommendation,
    catalogue: Catalogue,
    today: dt.date,
    reasons: Reasons | None = None,
) -> str:
    reasons = reasons or load_reasons()
    work = WORK_STATUS_WORDS.get(profile.work_status or "", "not known")
    if profile.work_status == "off_sick":
        weeks = (
            f"{profile.weeks_off_sick:g} weeks" if profile.weeks_off_sick is not None else "time not known"
        )
        note = {True: "has a fit note", False: "no fit note", None: "fit note not known"}[
            profile.has_fit_note
        ]
        work = f"{work} ({weeks}; {note})"
    condition = (
        reasons.label("condition", profile.condition_category) if profile.condition_category else "not given"
    )
    area = catalogue.areas[profile.area_id].name if profile.area_id in catalogue.areas else "not known"
    lines = [f"Work: {work}", f"Main condition: {condition}", f"Lives in: {area}"]
    if profile.gp_surgery_id in catalogue.gp_surgeries:
        lines.append(f"GP surgery: {catalogue.gp_surgeries[profile.gp_surgery_id].name}")
    if profile.ready_to_work in READY_WORDS:
        lines.append(f"Work readiness: {READY_WORDS[profile.ready_to_work]}")
    signposted = "; ".join(f"{m.name} [{m.service_id}]" for m in result.matches) or "none found"
    lines.append(f"Signposted on {today:%-d %b %Y} to: {signposted}")
    if result.unavailable:
        lines.append("Not offered (closed or not open yet): " + "; ".join(u.name for u in result.unavailable))
    lines.append("Referral: none made yet")
    return "\n".join(lines)
