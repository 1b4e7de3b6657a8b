"""Write the shipped example registers (illustrative, not real practices).

Run ``python registers/build_examples.py`` after editing the risks below; it rewrites the
registers (CSV, and .xlsx for the multi-site practice) for quarters 2026Q3 and 2026Q4. The
numbers are assumptions for illustration; where they rest on a published figure, the row's
``notes`` cite its public source (listed in ``docs/sources.md``).
"""
from __future__ import annotations

import csv
from pathlib import Path

HERE = Path(__file__).parent
COLUMNS = [
    "risk_id", "title", "category", "system_owner", "asset", "owner", "review_date", "status",
    "events_per_year", "events_low", "events_high", "likelihood",
    "incident_response_low", "incident_response_high", "incident_response_prob",
    "data_restoration_low", "data_restoration_high", "data_restoration_prob",
    "downtime_hours_low", "downtime_hours_high", "downtime_hours_prob",
    "extortion_low", "extortion_high", "extortion_prob",
    "notification_low", "notification_high", "notification_prob",
    "regulatory_defence_low", "regulatory_defence_high", "regulatory_defence_prob",
    "regulatory_fine_low", "regulatory_fine_high", "regulatory_fine_prob",
    "liability_low", "liability_high", "liability_prob",
    "crime_low", "crime_high", "crime_prob",
    "impact", "controls", "common_shock", "shock_multiplier", "tags", "notes",
]


def base_risks(scale: float, mfa: str, extra: bool) -> list[dict]:
    """The average practice's risks; ``scale`` multiplies frequencies for practice size."""
    f = lambda x: round(x * scale, 3)
    risks = [
        dict(risk_id="R01", title="Ransomware on practice-managed PCs and server", category="ransomware",
             system_owner="practice", asset="Practice PCs, file server", owner="Practice manager",
             events_low=f(0.02), events_high=f(0.15),
             incident_response_low=8000, incident_response_high=80000,
             data_restoration_low=3000, data_restoration_high=40000, data_restoration_prob=0.9,
             downtime_hours_low=8, downtime_hours_high=160,
             extortion_low=10000, extortion_high=150000, extortion_prob=0.2,
             notification_low=1000, notification_high=15000, notification_prob=0.5,
             regulatory_defence_low=2000, regulatory_defence_high=20000, regulatory_defence_prob=0.3,
             regulatory_fine_low=5000, regulatory_fine_high=40000, regulatory_fine_prob=0.02,
             liability_low=2000, liability_high=50000, liability_prob=0.1,
             controls=f"{mfa}; offline_backups; patching; endpoint_protection (planned); business_continuity_plan",
             notes="Malware and ransomware were 51% of UK cyber claims in 2024 (ABI 2025)"),
        dict(risk_id="R02", title="Phishing and account compromise of NHSmail", category="phishing_bec",
             system_owner="nhs", asset="NHSmail", owner="Practice manager", events_per_year=f(1.5),
             incident_response_low=300, incident_response_high=5000,
             notification_low=200, notification_high=4000, notification_prob=0.3,
             crime_low=1000, crime_high=30000, crime_prob=0.05,
             controls=f"{mfa}; phishing_training",
             notes="Phishing in 85% of breaches (CSBS 2025)"),
        dict(risk_id="R03", title="Misdirected email or letter with patient data", category="misdirected_disclosure",
             system_owner="practice", asset="Correspondence", owner="Caldicott guardian",
             events_low=f(2), events_high=f(8),
             incident_response_low=100, incident_response_high=2000,
             notification_low=100, notification_high=1500, notification_prob=0.5,
             regulatory_defence_low=500, regulatory_defence_high=8000, regulatory_defence_prob=0.05,
             regulatory_fine_low=5000, regulatory_fine_high=40000, regulatory_fine_prob=0.005,
             liability_low=500, liability_high=10000, liability_prob=0.05,
             controls="misdirected_email_checks",
             notes="Commonest ICO incident type (16%); a GP practice was fined £40,000 in 2016 (ICO 2023; ICO penalty 2016)"),
        dict(risk_id="R04", title="Lost or stolen laptop or USB stick", category="lost_stolen_device",
             system_owner="practice", asset="Laptops, removable media", owner="IT lead", events_per_year=f(0.3),
             incident_response_low=300, incident_response_high=5000,
             notification_low=200, notification_high=8000, notification_prob=0.5,
             regulatory_fine_low=5000, regulatory_fine_high=40000, regulatory_fine_prob=0.01,
             liability_low=1000, liability_high=25000, liability_prob=0.1,
             controls="device_encryption", notes="Assumption"),
        dict(risk_id="R05", title="Staff browsing records without a clinical reason", category="insider_misuse",
             system_owner="nhs", asset="Clinical system", owner="Caldicott guardian", likelihood=3, impact=3,
             controls="access_reviews (planned)",
             notes="Unauthorised access was the top health incident type (18.7%, ICO 2023)"),
        dict(risk_id="R06", title="Clinical system supplier outage", category="supplier_outage",
             system_owner="supplier", asset="Clinical system, NHS 111 links", owner="Practice manager",
             events_low=0.05, events_high=0.5,
             downtime_hours_low=8, downtime_hours_high=120,
             incident_response_low=500, incident_response_high=5000, incident_response_prob=0.5,
             controls="business_continuity_plan", common_shock="yes", shock_multiplier=2,
             notes="Supplier events hit many practices at once: Adastra 2022, Synnovis 2024 (Advanced 2022; HSJ and Synnovis 2024)"),
        dict(risk_id="R07", title="Website or contact form compromise", category="website_compromise",
             system_owner="practice", asset="Website, contact form", owner="Practice manager", events_per_year=f(0.2),
             incident_response_low=500, incident_response_high=8000,
             data_restoration_low=300, data_restoration_high=5000, data_restoration_prob=0.7,
             notification_low=200, notification_high=6000, notification_prob=0.3,
             liability_low=1000, liability_high=20000, liability_prob=0.05,
             controls="website_hardening (planned); patching", notes="Practice-funded system (NHS England GP IT operating model, appendix H)"),
        dict(risk_id="R08", title="Telephony fraud (hacked phone system)", category="telephony_fraud",
             system_owner="practice", asset="Telephony", owner="Practice manager", events_per_year=f(0.15),
             crime_low=500, crime_high=20000 if extra else 30000,
             downtime_hours_low=2, downtime_hours_high=24, downtime_hours_prob=0.3,
             controls="telephony_call_barring", notes="Assumption"),
        dict(risk_id="R09", title="Payment diversion by a spoofed supplier invoice", category="payment_diversion",
             system_owner="practice", asset="Finance", owner="Partner (finance)", events_per_year=f(0.1),
             crime_low=2000, crime_high=60000,
             incident_response_low=500, incident_response_high=5000, incident_response_prob=0.5,
             controls="payment_verification", notes="Assumption"),
        dict(risk_id="R10", title="State-backed attack on NHS networks", category="ransomware",
             system_owner="nhs", asset="HSCN, clinical system", owner="ICB", events_low=0.01, events_high=0.05,
             incident_response_low=2000, incident_response_high=30000,
             downtime_hours_low=24, downtime_hours_high=300,
             tags="state_backed", notes="WannaCry (2017) hit 595 GP practices; war exclusion LMA5567 (NAO 2017; Lloyd's Market Association)"),
        dict(risk_id="R11", title="Patient app or NHS login account takeover", category="other",
             system_owner="supplier", asset="Patient app", owner="Practice manager", likelihood=2,
             incident_response_low=200, incident_response_high=3000,
             notification_low=200, notification_high=3000, notification_prob=0.5,
             liability_low=500, liability_high=10000, liability_prob=0.05, notes="Assumption"),
    ]
    if extra:
        risks.append(dict(
            risk_id="R12", title="Payroll and HR data breach at the cloud provider", category="other",
            system_owner="supplier", asset="Payroll, HR", owner="Partner (HR)", events_per_year=0.05,
            incident_response_low=1000, incident_response_high=10000,
            notification_low=500, notification_high=5000,
            liability_low=2000, liability_high=40000, liability_prob=0.2,
            notes="Practice-funded payroll and HR (NHS England GP IT operating model, appendix H); added 2026Q4"))
    for r in risks:
        r.setdefault("review_date", "2026-12-01")
        r.setdefault("status", "open")
        r["notes"] = "ILLUSTRATIVE. " + r.get("notes", "")
    return risks


def write_csv(path: Path, risks: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, COLUMNS)
        w.writeheader()
        for r in risks:
            w.writerow({c: r.get(c, "") for c in COLUMNS})


def write_xlsx(path: Path, risks: list[dict]) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "register"
    sheet.append(COLUMNS)
    for r in risks:
        sheet.append([r.get(c) if r.get(c, "") != "" else None for c in COLUMNS])
    about = book.create_sheet("about")
    about.append(["ILLUSTRATIVE example register for a fictional practice; see registers/README.md"])
    book.save(path)


def main() -> None:
    # (folder, frequency scale, writer)
    practices = [("riverside-rural", 0.4, write_csv, ".csv"),
                 ("meadowbank-average", 1.0, write_csv, ".csv"),
                 ("northgate-multisite", 2.4, write_xlsx, ".xlsx")]
    for folder, scale, writer, suffix in practices:
        d = HERE / folder
        d.mkdir(exist_ok=True)
        writer(d / f"2026Q3{suffix}", base_risks(scale, "mfa (planned)", extra=False))
        writer(d / f"2026Q4{suffix}", base_risks(scale, "mfa", extra=True))


if __name__ == "__main__":
    main()
