"""Closed vocabularies shared by the knowledge schema, triage and the NLU.

These are the values a Profile can hold; knowledge/SCHEMA.md documents them.
"""

WORK_STATUSES = ("in_work", "off_sick", "out_of_work", "self_employed", "in_education", "other")
CONDITION_CATEGORIES = (
    "mental_health",
    "musculoskeletal",
    "long_term_condition",
    "learning_disability",
    "substance_use",
    "physical_disability",
    "other",
    "prefer_not_to_say",
)
READY_TO_WORK = ("yes", "no", "not_sure")
# "esa" is ESA with its group not said; "jsa" is Jobseeker's Allowance.
BENEFITS = ("esa_wrag", "esa_support_group", "esa", "universal_credit", "pip", "jsa", "none")
CIRCUMSTANCES = (
    "in_talking_therapy",
    "secondary_mental_health_care",
    "substance_misuse_service",
    "several_problems",
    "work_programme_leaver",
    "non_medical_needs",
    "none",  # asked, and none of these
)
STATUSES = ("active", "planned", "ended")
REFERRAL_METHODS = ("email", "webhook", "self_referral", "via_professional", "none")
REFERRERS = ("self", "professional")
AREA_KINDS = ("london_borough", "metropolitan_borough", "county", "unitary", "country")
NATIONAL_AREA_ID = "england"  # the nation of every covered area today, and the default
# The four nations, each an area of kind `country` in knowledge/areas.yaml: national
# services list the nations they cover, and a place outside the covered areas is placed in one.
NATIONS = ("england", "scotland", "wales", "northern_ireland")
