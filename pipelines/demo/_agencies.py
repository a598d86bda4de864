"""The fictional agencies of the demo: what each exports and how its profile maps it.

Each :class:`Source` lists its columns as ``(header, role)``. A role names what
the column carries (``record_id``, ``occurred``, ``location``, ``phone``, ...);
:mod:`pipelines.demo` renders roles into values and :func:`profile_toml` writes
the mapping profile from the same list, so a file and its profile cannot drift.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: role -> contract field (roles not listed are not mapped).
ROLE_FIELD = {
    "record_id": "record_id", "occurred": "occurred_at", "reported": "reported_at",
    "record_type": "record_type", "ttype": "trafficking_type", "location": "location",
    "address": "address", "city": "city", "zip": "zip", "county": "county",
    "lat": "lat", "lon": "lon", "origin": "origin_location", "victims": "victim_count",
    "minor": "minor_involved", "indicators": "indicators", "phone": "phone",
    "email": "email", "plate": "vehicle_plate", "handle": "ad_handle",
    "name": "subject_name", "dob": "subject_dob", "contact": "contact",
    "case": "case_number",
}
#: Identifier kinds and the roles that carry them.
ID_KINDS = {
    "phone": ("phone",), "email": ("email",), "vehicle_plate": ("plate",),
    "ad_handle": ("handle",), "subject_name+dob": ("name", "dob"),
}

REASONS = (
    "missing_record_id", "missing_location", "bad_date", "future_date",
    "too_old_date", "bad_enum", "bad_count", "bad_coordinates", "outside_california",
    "unresolvable_location",
)


@dataclass(frozen=True)
class Source:
    source_id: str
    name: str
    kind: str
    task_force: str
    contact: str
    fmt: str  # csv|tsv|xlsx|json|jsonl|geojson|parquet
    share: float  # target share of all records
    home: tuple[str, ...]  # task forces whose counties it covers (() = statewide)
    columns: tuple[tuple[str, str], ...]
    record_types: dict[str, str]  # code -> contract record type (first code per type renders)
    rt_weights: dict[str, float]
    ttype_codes: dict[str, str]  # code -> contract trafficking type
    bad_ttype: tuple[str, ...]
    indicator_codes: dict[str, str]  # contract indicator -> code
    list_sep: str = ";"
    occurred_fmt: str = "%Y-%m-%d"
    reported_fmt: str = "%Y-%m-%d"
    dob_fmt: str = "%Y-%m-%d"
    minor_codes: tuple[str, str] | None = ("Y", "N")  # None: a boolean column
    typed: bool = False  # numbers and booleans keep their types (JSON, Parquet, XLSX)
    per_year: bool = False
    file_stem: str = "export"
    id_prefix: str = ""
    id_width: int = 7
    id_base: int = 0
    case_prefix: str = ""
    subject_rate: float = 0.5
    origin_rate: float = 0.5
    name_style: str = "first_last"  # first_last | last_comma_first | split
    phone_styles: tuple[int, ...] = (0, 1, 2, 3, 4, 5)
    plate_styles: tuple[int, ...] = (0, 1, 2, 3)
    away: float = 0.015  # coverage outside its home counties (cases that lead elsewhere)
    latin1: bool = False
    sheet: str | None = None
    contacts: tuple[str, ...] = ()
    narratives: tuple[str, ...] = ()
    date_formats_extra: tuple[str, ...] = field(default_factory=tuple)

    def roles(self) -> set[str]:
        return {role for _, role in self.columns}

    def header(self, role: str) -> str:
        return next(h for h, r in self.columns if r == role)

    def has(self, role: str) -> bool:
        return role in self.roles()

    @property
    def id_kinds(self) -> list[str]:
        roles = self.roles() | ({"name"} if "first" in self.roles() else set())
        return [k for k, need in ID_KINDS.items() if all(r in roles for r in need)]

    @property
    def point_location(self) -> bool:
        return self.has("lat")

    @property
    def text_location(self) -> bool:
        return self.has("location") or self.has("city")

    def reasons(self) -> tuple[str, ...]:
        """Quarantine reasons this source's rows can carry."""
        out = ["missing_record_id", "missing_location"]
        if not self.typed_dates:
            out.append("bad_date")
        out += ["future_date", "too_old_date", "bad_enum", "bad_count"]
        if self.point_location:
            out.append("bad_coordinates")
        if self.text_location:
            out += ["outside_california", "unresolvable_location"]
        return tuple(out)

    @property
    def typed_dates(self) -> bool:
        return self.fmt == "parquet"

    def date_formats(self) -> list[str]:
        """The formats of the dates written as text, most specific first."""
        out: list[str] = []
        wanted = [] if self.typed_dates else [self.reported_fmt, self.occurred_fmt]
        if self.has("dob"):
            wanted.append(self.dob_fmt)
        for f in (*wanted, *self.date_formats_extra):
            if f not in out:
                out.append(f)
        # longer formats first, so a date-time is not cut to its date part
        return sorted(out, key=len, reverse=True)


SOURCES: tuple[Source, ...] = (
    Source(
        source_id="nhth", name="National Human Trafficking Hotline (California extract)",
        kind="hotline", task_force="sacramento", contact="data-requests@hotline.example.org",
        fmt="csv", share=0.28, home=(), per_year=True, file_stem="nhth_ca_cases",
        id_prefix="HL", case_prefix="NHTH-",
        columns=(
            ("Case ID", "record_id"), ("Date Received", "reported"),
            ("Incident Date", "occurred"), ("Case Type", "record_type"),
            ("Type of Trafficking", "ttype"), ("Caller Location", "location"),
            ("Potential Victim Origin", "origin"), ("Number of Potential Victims", "victims"),
            ("Minor Involved", "minor"), ("Indicators", "indicators"),
            ("Suspect Phone", "phone"), ("Suspect Email", "email"),
            ("Ad Handle", "handle"), ("Referral Contact", "contact"),
            ("Case Notes", "narrative"),
        ),
        record_types={"Tip": "tip", "Crisis Call": "tip", "Referral": "service"},
        rt_weights={"tip": 0.9, "service": 0.1},
        ttype_codes={"Sex": "sex", "Labor": "labor", "Sex and Labor": "both",
                     "Not Specified": "unknown"},
        bad_ttype=("Other (see notes)", "Unknwon"),
        indicator_codes={
            "online_ads": "Online Ads", "motel": "Hotel/Motel",
            "massage_business": "Illicit Massage", "street": "Street-based",
            "truck_stop": "Truck Stop", "drugs": "Substance Use", "weapons": "Weapons",
            "gang": "Gang Involvement", "debt_bondage": "Debt Bondage",
            "cross_border": "Crossed Border", "agriculture": "Agriculture",
            "construction": "Construction", "domestic_work": "Domestic Work",
            "restaurant": "Restaurant/Food Service"},
        list_sep=";", reported_fmt="%Y-%m-%d %H:%M", occurred_fmt="%Y-%m-%d",
        dob_fmt="%Y-%m-%d", minor_codes=("Yes", "No"), subject_rate=0.35, origin_rate=0.45,
        phone_styles=(0, 1, 2, 3),
        contacts=("Hotline Advocate 114", "Hotline Advocate 207", "Hotline Advocate 331",
                  "Hotline Supervisor 12"),
        narratives=(
            "Caller reported a woman who appeared controlled by a man at a motel, "
            "\"he holds her phone\".",
            "Anonymous tip about online ads for the same numbers across several cities.",
            "Worker says the employer keeps passports and charges for housing.",
            "Caller saw minors going in and out of a room late at night.\nCalled back twice.",
            "Massage business open 24h, workers appear to live on site.",
        ),
    ),
    Source(
        source_id="sdpd", name="San Diego Police Department (records system)",
        kind="law_enforcement", task_force="san_diego",
        contact="Vice Unit <vice@sdpd.example.org>", fmt="xlsx", share=0.06,
        home=("san_diego",), file_stem="SDPD_RMS_HT_export", id_prefix="SD", id_width=6,
        case_prefix="DR", sheet="Export", typed=True,
        columns=(
            ("INC_NO", "record_id"), ("RPT_DT", "reported"), ("OCC_DT", "occurred"),
            ("DISPO", "record_type"), ("OFFENSE_CD", "ttype"), ("ADDR", "address"),
            ("CITY", "city"), ("ZIP", "zip"), ("VICT_RES_CITY", "origin"),
            ("VIC_CT", "victims"), ("JUV_FLG", "minor"), ("MO_CODES", "indicators"),
            ("SUSP_FNAME", "first"), ("SUSP_LNAME", "last"), ("SUSP_DOB", "dob"),
            ("VEH_LIC", "plate"), ("SUSP_PHONE", "phone"), ("CASE_AGENT", "contact"),
            ("DR_NO", "case"), ("NARR", "narrative"),
        ),
        record_types={"ARR": "incident", "RPT": "incident", "VICID": "recovery",
                      "TIP": "tip"},
        rt_weights={"incident": 0.6, "recovery": 0.25, "tip": 0.15},
        ttype_codes={"2361B": "sex", "2361C": "sex", "2361A": "labor", "2361AB": "both",
                     "HTUNK": "unknown"},
        bad_ttype=("9999", "PC647B?"),
        indicator_codes={
            "online_ads": "M10", "motel": "M01", "massage_business": "M02",
            "street": "M03", "truck_stop": "M04", "drugs": "M20", "weapons": "M21",
            "gang": "M22", "debt_bondage": "M30", "cross_border": "M31",
            "agriculture": "M40", "construction": "M41", "domestic_work": "M42",
            "restaurant": "M43"},
        list_sep=" ", reported_fmt="%m/%d/%Y", occurred_fmt="%m/%d/%Y",
        dob_fmt="%m/%d/%Y", minor_codes=("Y", "N"), subject_rate=0.6, origin_rate=0.5,
        name_style="split", phone_styles=(0, 3), plate_styles=(0, 1),
        contacts=("Det. A. Ruiz", "Det. K. Okafor", "Sgt. L. Brennan", "Det. M. Salas"),
        narratives=("SUBJ CONTACTED AT MOTEL, ADV ONLINE. VICT TRANSPORTED TO SHELTER.",
                    "UNDERCOVER OP, 2 ADULTS CONTACTED, 1 REFERRED TO SVCS.",
                    "PATROL STOP, VEH MATCHES PRIOR ADS. FIR COMPLETED."),
    ),
    Source(
        source_id="harbor_ngo", name="Harbor Light Survivor Services",
        kind="ngo", task_force="la", contact="intake-data@harborlight.example.org",
        fmt="json", share=0.05, home=("la", "orange", "ventura"), away=0.08,
        file_stem="intakes", id_prefix="HLS-", id_width=6, typed=True,
        columns=(
            ("intake_id", "record_id"), ("client_hash", "client_hash"),
            ("intake_date", "reported"), ("exploitation_start", "occurred"),
            ("program", "record_type"), ("exploitation_type", "ttype"),
            ("origin.place", "origin"), ("origin.country", "origin_country"),
            ("destination.city", "city"), ("destination.zip", "zip"),
            ("destination.county", "county"), ("persons_served", "victims"),
            ("minor_at_intake", "minor"), ("risk_factors", "indicators"),
            ("advocate", "contact"), ("case_notes", "narrative"),
        ),
        record_types={"INTAKE": "service", "HOTLINE_REFERRAL": "service",
                      "OUTREACH": "service"},
        rt_weights={"service": 1.0},
        ttype_codes={"CSE": "sex", "LT": "labor", "CSE+LT": "both", "UNK": "unknown"},
        bad_ttype=("TBD", "N/A-X"),
        indicator_codes={k: k for k in (
            "online_ads", "motel", "massage_business", "street", "truck_stop", "drugs",
            "weapons", "gang", "debt_bondage", "cross_border", "agriculture",
            "construction", "domestic_work", "restaurant")},
        list_sep="", occurred_fmt="%Y-%m", reported_fmt="%Y-%m-%d", minor_codes=None,
        subject_rate=0.0, origin_rate=0.95,
        contacts=("advocate 03", "advocate 11", "advocate 17", "case manager 02"),
        narratives=("Client referred by hospital social worker; housing and legal aid.",
                    "Client describes debts to recruiter; connected to immigration attorney.",
                    "Safety planning done; client declined law-enforcement contact."),
    ),
    Source(
        source_id="sac_httf", name="Sacramento Regional HTTF (operations)",
        kind="law_enforcement", task_force="sacramento",
        contact="Task Force Coordinator <httf@sacrtf.example.org>", fmt="geojson",
        share=0.02, home=("sacramento",), file_stem="operations", id_prefix="SRTF-OP-",
        id_width=6, case_prefix="SRTF", typed=True,
        columns=(
            ("op_id", "record_id"), ("op_date", "occurred"), ("op_type", "record_type"),
            ("ht_cat", "ttype"), ("victim_origin", "origin"),
            ("victims_contacted", "victims"), ("juvenile", "minor"), ("flags", "indicators"),
            ("target_handle", "handle"), ("target_phone", "phone"),
            ("case_ref", "case"), ("lead", "contact"), ("summary", "narrative"),
            ("lat", "lat"), ("lon", "lon"),
        ),
        record_types={"STING": "incident", "SURV": "incident", "RESCUE": "recovery"},
        rt_weights={"incident": 0.7, "recovery": 0.3},
        ttype_codes={"CSEC": "sex", "CSE": "sex", "LABOR": "labor", "MIXED": "both",
                     "UNDET": "unknown"},
        bad_ttype=("OTHER", "?"),
        indicator_codes={
            "online_ads": "ONLINE", "motel": "MOTEL", "massage_business": "IMB",
            "street": "TRACK", "truck_stop": "TRUCKSTOP", "drugs": "NARC",
            "weapons": "WPN", "gang": "GANG", "debt_bondage": "DEBT",
            "cross_border": "XBORDER", "agriculture": "AG", "construction": "CONST",
            "domestic_work": "DOMESTIC", "restaurant": "REST"},
        list_sep="/", occurred_fmt="%d-%b-%Y", reported_fmt="%d-%b-%Y",
        minor_codes=("1", "0"), subject_rate=0.55, origin_rate=0.6, phone_styles=(3, 4),
        contacts=("Sgt. M. Ortiz", "Det. R. Vang", "SA J. Whitaker"),
        narratives=("Sting at extended-stay motel; two adults contacted, one referred.",
                    "Surveillance of residence linked to online ads.",
                    "Rescue with NGO advocate on scene."),
    ),
    Source(
        source_id="calfusion", name="Golden State Fusion Center (HT desk)",
        kind="fusion", task_force="sacramento", contact="HT Desk <htdesk@gsfc.example.org>",
        fmt="parquet", share=0.30, home=(), per_year=True, file_stem="gsfc_ht_events",
        id_prefix="GSFC-", id_width=8, case_prefix="SAR-", typed=True,
        columns=(
            ("rec_uid", "record_id"), ("event_ts", "occurred"), ("ingest_ts", "reported"),
            ("rec_class", "record_type"), ("ht_class", "ttype"), ("lat", "lat"),
            ("lon", "lon"), ("origin_text", "origin"), ("victim_n", "victims"),
            ("minor_flag", "minor"), ("indicator_codes", "indicators"),
            ("phone_raw", "phone"), ("email_raw", "email"), ("plate_raw", "plate"),
            ("handle_raw", "handle"), ("subj_name", "name"), ("subj_dob", "dob"),
            ("poc", "contact"), ("case_no", "case"), ("analyst_note", "narrative"),
        ),
        record_types={"SAR": "tip", "INC": "incident", "RCV": "recovery"},
        rt_weights={"tip": 0.5, "incident": 0.35, "recovery": 0.15},
        ttype_codes={"1": "sex", "2": "labor", "3": "both", "9": "unknown"},
        bad_ttype=("7", "0"),
        indicator_codes={
            "online_ads": "OAD", "motel": "MOT", "massage_business": "IMB",
            "street": "STR", "truck_stop": "TRK", "drugs": "DRG", "weapons": "WPN",
            "gang": "GNG", "debt_bondage": "DBT", "cross_border": "XBD",
            "agriculture": "AGR", "construction": "CON", "domestic_work": "DOM",
            "restaurant": "RST"},
        list_sep=",", dob_fmt="%Y%m%d", minor_codes=None, subject_rate=0.5,
        origin_rate=0.4, name_style="last_comma_first",
        contacts=("Analyst 4471", "Analyst 5102", "Analyst 6630", "Watch Officer"),
        narratives=("Pattern of ads posted from same device across three counties.",
                    "SAR from hotel staff; possible control indicators.",
                    "Link analysis ties phone to prior incident."),
    ),
    Source(
        source_id="fresno_so", name="Fresno County Sheriff's Office",
        kind="law_enforcement", task_force="fresno",
        contact="Vice/Intel <vice@fcso.example.org>", fmt="tsv", share=0.06,
        home=("fresno",), per_year=True, file_stem="FCSO_HT", id_prefix="FC",
        id_width=7, case_prefix="FCSO-", latin1=True,
        columns=(
            ("ORI", "const:CA0100000"), ("Nº Caso", "record_id"),
            ("Fecha Reporte", "reported"), ("Fecha Hecho", "occurred"),
            ("Clase", "record_type"), ("Delito", "ttype"), ("Lugar", "location"),
            ("Procedencia", "origin"), ("Víctimas", "victims"), ("Menor", "minor"),
            ("Indicadores", "indicators"), ("Sospechoso", "name"), ("F. Nac.", "dob"),
            ("Placa", "plate"), ("Teléfono", "phone"), ("Agente", "contact"),
            ("Expediente", "case"), ("Narrativa", "narrative"),
        ),
        record_types={"I": "incident", "R": "recovery", "T": "tip"},
        rt_weights={"incident": 0.6, "recovery": 0.25, "tip": 0.15},
        ttype_codes={"236.1(B)": "sex", "236.1(C)": "sex", "236.1(A)": "labor",
                     "236.1(A/B)": "both", "236.1": "unknown"},
        bad_ttype=("236.9(Z)", "OTRO"),
        indicator_codes={
            "online_ads": "ANUNCIO", "motel": "MOTEL", "massage_business": "MASAJE",
            "street": "CALLE", "truck_stop": "PARADA", "drugs": "DROGA",
            "weapons": "ARMA", "gang": "PANDILLA", "debt_bondage": "DEUDA",
            "cross_border": "FRONTERA", "agriculture": "CAMPO",
            "construction": "CONSTRUCCIÓN", "domestic_work": "DOMÉSTICO",
            "restaurant": "RESTAURANTE"},
        list_sep=",", reported_fmt="%m-%d-%Y %H:%M", occurred_fmt="%m-%d-%Y",
        dob_fmt="%m-%d-%Y", minor_codes=("S", "N"), subject_rate=0.6, origin_rate=0.55,
        name_style="last_comma_first", phone_styles=(0, 3, 1), plate_styles=(0, 1, 2),
        contacts=("Dep. J. Peña", "Det. R. Núñez", "Sgt. A. Sánchez", "Det. B. Her"),
        narratives=("Víctima localizada en motel; se sospecha explotación sexual.",
                    "Trabajadores del campo sin pago; patrón retiene documentos.",
                    "Operativo en negocio de masajes; dos personas referidas a servicios."),
    ),
    Source(
        source_id="oakland_pd", name="Oakland Police Department",
        kind="law_enforcement", task_force="alameda",
        contact="Special Victims <svs@opd.example.org>", fmt="csv", share=0.06,
        home=("alameda", "contra_costa", "san_francisco"), file_stem="opd_ht_export_20261001",
        id_prefix="OPD-", id_width=7, case_prefix="RD",
        columns=(
            ("RD Number", "record_id"), ("Report Date", "reported"),
            ("Offense Date", "occurred"), ("Call Type", "record_type"),
            ("Crime Class", "ttype"), ("Street Address", "address"), ("City", "city"),
            ("Zip", "zip"), ("Origin City", "origin"), ("Victim Count", "victims"),
            ("Juvenile", "minor"), ("Flags", "indicators"), ("Suspect", "name"),
            ("Suspect DOB", "dob"), ("Suspect Vehicle", "plate"),
            ("Suspect Phone", "phone"), ("Suspect Email", "email"),
            ("Investigator", "contact"), ("Case #", "case"), ("Narrative", "narrative"),
        ),
        record_types={"HT-ARREST": "incident", "HT-INVEST": "incident",
                      "HT-RECOVERY": "recovery", "HT-TIP": "tip"},
        rt_weights={"incident": 0.6, "recovery": 0.25, "tip": 0.15},
        ttype_codes={"CSE": "sex", "FL": "labor", "CSE/FL": "both", "UNK": "unknown"},
        bad_ttype=("PIMP?", "XX"),
        indicator_codes={
            "online_ads": "ADS", "motel": "MOTEL", "massage_business": "IMB",
            "street": "TRACK", "truck_stop": "TRUCK", "drugs": "NARCO", "weapons": "GUN",
            "gang": "GANG", "debt_bondage": "DEBT", "cross_border": "BORDER",
            "agriculture": "FARM", "construction": "CONSTR", "domestic_work": "DOMESTIC",
            "restaurant": "FOOD"},
        list_sep="|", reported_fmt="%Y%m%d", occurred_fmt="%Y%m%d", dob_fmt="%Y%m%d",
        minor_codes=("TRUE", "FALSE"), subject_rate=0.6, origin_rate=0.5,
        name_style="first_last", phone_styles=(0, 1, 2, 5),
        contacts=("Sgt. D. Chau", "Ofc. T. Reyes", "Det. S. Moreland"),
        narratives=("Suspect advertised victims on escort sites; arrested at hotel on "
                    "Hegenberger.",
                    "Juvenile recovered on International Blvd, referred to MISSSEY-style "
                    "provider.",
                    "Follow-up on tip; no contact made."),
    ),
    Source(
        source_id="lapd", name="Los Angeles Police Department (Human Trafficking Section)",
        kind="law_enforcement", task_force="la",
        contact="HTS Desk <hts@lapd.example.org>", fmt="jsonl", share=0.12,
        home=("la",), per_year=True, file_stem="lapd_hts", id_prefix="", id_width=9,
        id_base=160000000,
        case_prefix="BK", typed=True,
        columns=(
            ("dr_no", "record_id"), ("date_rptd", "reported"), ("date_occ", "occurred"),
            ("status", "record_type"), ("crm_cd", "ttype"), ("lat", "lat"), ("lon", "lon"),
            ("origin", "origin"), ("vict_count", "victims"), ("minor", "minor"),
            ("mocodes", "indicators"), ("susp_name", "name"), ("susp_dob", "dob"),
            ("susp_phone", "phone"), ("susp_email", "email"), ("susp_moniker", "handle"),
            ("booking_no", "case"), ("officer", "contact"), ("premis_desc", "narrative"),
        ),
        record_types={"AA": "incident", "IC": "incident", "VR": "recovery", "TP": "tip"},
        rt_weights={"incident": 0.6, "recovery": 0.2, "tip": 0.2},
        ttype_codes={"922": "sex", "921": "labor", "921/922": "both", "920": "unknown"},
        bad_ttype=("999", "12X"),
        indicator_codes={
            "online_ads": "1402", "motel": "0445", "massage_business": "0447",
            "street": "0906", "truck_stop": "0449", "drugs": "1300", "weapons": "0302",
            "gang": "0906G", "debt_bondage": "1822", "cross_border": "1826",
            "agriculture": "1830", "construction": "1831", "domestic_work": "1832",
            "restaurant": "1833"},
        list_sep=" ", reported_fmt="%m/%d/%Y", occurred_fmt="%m/%d/%Y %H:%M",
        dob_fmt="%m/%d/%Y", minor_codes=None, subject_rate=0.55, origin_rate=0.5,
        name_style="first_last", phone_styles=(0, 2, 4),
        contacts=("Det. C. Alvarado #31442", "Det. P. Greene #28810", "Sgt. H. Kim #30021"),
        narratives=("MOTEL, ROOM RENTED BY SUSP; VICT CONTACTED ON FIGUEROA CORRIDOR.",
                    "MASSAGE PARLOR, WORKERS SLEEPING ON PREMISES.",
                    "GARMENT FACTORY, WORKERS PAID BELOW MIN WAGE, DOCS HELD."),
    ),
    Source(
        source_id="sbsd", name="San Bernardino County Sheriff's Department",
        kind="law_enforcement", task_force="inland_empire",
        contact="SMASH Unit <smash@sbsd.example.org>", fmt="csv", share=0.05,
        home=("inland_empire", "riverside"), file_stem="sbsd_ht_incidents",
        id_prefix="SB", id_width=8, case_prefix="SB-",
        columns=(
            ("Incident #", "record_id"), ("Occurred", "occurred"), ("Reported", "reported"),
            ("Type", "record_type"), ("Category", "ttype"), ("Location", "location"),
            ("Origin", "origin"), ("Victims", "victims"), ("Juv", "minor"),
            ("Indicators", "indicators"), ("Plate", "plate"), ("Phone", "phone"),
            ("Subject", "name"), ("DOB", "dob"), ("Deputy", "contact"), ("Case", "case"),
            ("Notes", "narrative"),
        ),
        record_types={"ARREST": "incident", "INVESTIGATION": "incident",
                      "RECOVERY": "recovery", "TIP": "tip"},
        rt_weights={"incident": 0.6, "recovery": 0.2, "tip": 0.2},
        ttype_codes={"SEX TRAFFICKING": "sex", "LABOR TRAFFICKING": "labor",
                     "SEX+LABOR": "both", "UNDETERMINED": "unknown"},
        bad_ttype=("VICE", "N/K"),
        indicator_codes={
            "online_ads": "online", "motel": "motel", "massage_business": "massage",
            "street": "street", "truck_stop": "truck stop", "drugs": "narcotics",
            "weapons": "weapon", "gang": "gang", "debt_bondage": "debt",
            "cross_border": "border", "agriculture": "farm", "construction": "construction",
            "domestic_work": "domestic", "restaurant": "restaurant"},
        list_sep=";", reported_fmt="%m/%d/%Y %H:%M", occurred_fmt="%m/%d/%Y %H:%M",
        dob_fmt="%m/%d/%Y", minor_codes=("Y", "N"), subject_rate=0.5, origin_rate=0.5,
        name_style="last_comma_first", phone_styles=(0, 3, 5), plate_styles=(0, 1, 3),
        contacts=("Dep. L. Fontaine", "Det. G. Ibarra", "Sgt. W. Osei"),
        narratives=("Truck stop contact off I-15; subject fled.",
                    "Motel sweep in Victorville with Barstow PD.",
                    "Tip via school resource officer."),
    ),
)
SOURCE_BY_ID = {s.source_id: s for s in SOURCES}
#: The source whose later file updates earlier records.
UPDATE_SOURCE = "oakland_pd"
UPDATE_FILE = "opd_ht_export_20261028_corrections.csv"
#: The source and year of the file that is sent twice (a byte copy).
RESENT_SOURCE, RESENT_YEAR = "fresno_so", 2019


def _toml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _toml_key(key: str) -> str:
    bare = key and all(c.isascii() and (c.isalnum() or c in "-_") for c in key)
    return key if bare else _toml_str(key)


def profile_toml(src: Source) -> str:
    """The mapping profile of a source, in the ARCHITECTURE.md TOML format."""
    lines = [
        f"# Mapping profile for {src.name}.",
        "# Value codes are matched after trimming whitespace and ignoring case.",
        f"source = {_toml_str(src.source_id)}",
        f"format = {_toml_str(src.fmt)}",
        f"encoding = {_toml_str('latin-1' if src.latin1 else 'auto')}",
    ]
    if src.latin1:
        lines.insert(2, "# The export starts with a UTF-8 byte-order mark although the "
                        "text is Latin-1: strip it.")
    if src.sheet:
        lines.append(f"sheet = {_toml_str(src.sheet)}")
    if src.date_formats():
        lines.append("date_formats = [" + ", ".join(_toml_str(f) for f in src.date_formats()) + "]")
    if src.list_sep:
        lines.append(f"list_separator = {_toml_str(src.list_sep)}")
    ignore = [h for h, r in src.columns if r == "narrative"]
    lines.append("ignore = [" + ", ".join(_toml_str(h) for h in ignore) + "]")
    lines += ["", "[columns]"]
    for header, role in src.columns:
        if role in ROLE_FIELD:
            lines.append(f"{ROLE_FIELD[role]} = {_toml_str(header)}")
    if src.has("first"):
        lines.append(f"subject_name = [{_toml_str(src.header('first'))}, "
                     f"{_toml_str(src.header('last'))}]")
    lines += ["", "[values.record_type]"]
    lines += [f"{_toml_key(k)} = {_toml_str(v)}" for k, v in src.record_types.items()]
    lines += ["", "[values.trafficking_type]"]
    lines += [f"{_toml_key(k)} = {_toml_str(v)}" for k, v in src.ttype_codes.items()]
    if src.minor_codes:
        yes, no = src.minor_codes
        lines += ["", "[values.minor_involved]", f"{_toml_key(yes)} = true",
                  f"{_toml_key(no)} = false"]
    if any(k != v for k, v in src.indicator_codes.items()):
        lines += ["", "[values.indicators]"]
        lines += [f"{_toml_key(code)} = {_toml_str(ind)}"
                  for ind, code in src.indicator_codes.items()]
    return "\n".join(lines) + "\n"
