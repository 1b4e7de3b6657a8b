"""The fixed vocabulary of the model: loss components, risk categories and system owners."""
from __future__ import annotations

#: Monetary loss components, each given in a register as ``<component>_low``/``<component>_high``
#: (5th and 95th percentiles of a lognormal, in pounds) and an optional ``<component>_prob``.
MONEY_COMPONENTS: tuple[str, ...] = (
    "incident_response",
    "data_restoration",
    "extortion",
    "notification",
    "regulatory_defence",
    "regulatory_fine",
    "liability",
    "crime",
    "betterment",
)

#: Business interruption: ``downtime_hours_low``/``downtime_hours_high`` times the practice's
#: ``interruption_cost_per_hour``.
BUSINESS_INTERRUPTION = "business_interruption"
DOWNTIME = "downtime_hours"

#: Every component, in report order.
COMPONENTS: tuple[str, ...] = MONEY_COMPONENTS[:2] + (BUSINESS_INTERRUPTION,) + MONEY_COMPONENTS[2:]

#: Column prefix in a register for each component.
COLUMN_PREFIX: dict[str, str] = {c: c for c in MONEY_COMPONENTS} | {BUSINESS_INTERRUPTION: DOWNTIME}

COMPONENT_LABELS: dict[str, str] = {
    "incident_response": "Incident response",
    "data_restoration": "Data restoration",
    "business_interruption": "Business interruption",
    "extortion": "Extortion",
    "notification": "Notification",
    "regulatory_defence": "Regulatory defence",
    "regulatory_fine": "Regulatory fines",
    "liability": "Liability claims",
    "crime": "Cyber crime",
    "betterment": "Betterment",
}

CATEGORIES: dict[str, str] = {
    "ransomware": "Ransomware",
    "phishing_bec": "Phishing and business-email compromise",
    "misdirected_disclosure": "Misdirected disclosure",
    "lost_stolen_device": "Lost or stolen device",
    "insider_misuse": "Insider misuse",
    "supplier_outage": "Supplier outage",
    "website_compromise": "Website or contact-form compromise",
    "telephony_fraud": "Telephony fraud",
    "payment_diversion": "Payment diversion",
    "other": "Other",
}

OWNERS: dict[str, str] = {
    "practice": "Practice-funded system (website, telephony, payroll, HR, finance)",
    "nhs": "NHS-funded system (clinical system, NHSmail, HSCN)",
    "supplier": "Supplier-run system under a supplier contract",
}
