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


def patient_summary(
    profile: Profile,
    result: Recommendation,
    catalogue: Catalogue,
    today: dt.date,
    reasons: Reasons | None = None,
    referral_reference: str | None = None,
) -> str:
    reasons = reasons or load_reasons()
    work = reasons.label("work_status", profile.work_status) if profile.work_status else "not known"
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
    if profile.ready_to_work:
        lines.append(f"Work readiness: {reasons.label('ready_to_work', profile.ready_to_work)}")
    signposted = "; ".join(f"{m.name} [{m.service_id}]" for m in result.matches) or "none found"
    lines.append(f"Signposted on {today:%-d %b %Y} to: {signposted}")
    lines.append(
        f"Referral: made, reference {referral_reference}" if referral_reference else "Referral: none made yet"
    )
    return "\n".join(lines)
