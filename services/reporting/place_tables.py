"""The tables of base and stay versions (readmodel_places.py): their DDL with the facts' partial
indexes their refresh reads by, and what `readmodel.checksum` hashes of them. Apart from
readmodel_places so that readmodel's DDL and checksum name them without importing it back."""

from __future__ import annotations

from services.reporting.domain.place_versions import BASE_TYPES, STAY_TYPES

TABLES = ("base_versions", "stay_versions")
# Literals: a partial index's predicate matches only the same condition written out.
BASE_FACTS_WHERE = "event_type IN ({})".format(", ".join(f"'{t}'" for t in BASE_TYPES))
STAY_FACTS_WHERE = "event_type IN ({})".format(", ".join(f"'{t}'" for t in STAY_TYPES))
BASE_COLUMNS = (
    "base_id",
    "valid_from",
    "valid_to",
    "recorded_from",
    "recorded_to",
    "name",
    "level",
    "reporting_unit",
    "established_on",
    "closed_on",
    "meets_hardware_standard",
    "offices",
)
STAY_COLUMNS = (
    "incubation_id",
    "valid_from",
    "valid_to",
    "recorded_from",
    "recorded_to",
    "base_id",
    "uscc",
    "started_on",
    "term_end",
    "local",
    "graduated_on",
    "terminated_on",
    "termination_reason",
)
_KEY = "recorded_from, valid_from"
# What readmodel.checksum hashes of them, as of the agency versions.
HASHED = (
    ("base_versions", ", ".join(BASE_COLUMNS), f'base_id COLLATE "C", {_KEY}'),
    ("stay_versions", ", ".join(STAY_COLUMNS), f'incubation_id COLLATE "C", {_KEY}'),
)


def tables_ddl(g: str) -> str:
    """Each base's and stay's versions: the view a fold as of a day (by occurrence) and a
    recording instant holds, valid [valid_from, valid_to), known [recorded_from, recorded_to)."""
    return f"""
CREATE TABLE IF NOT EXISTS {g}.base_versions (
    base_id                 text NOT NULL,
    valid_from              date NOT NULL,
    valid_to                date,
    recorded_from           timestamptz NOT NULL,
    recorded_to             timestamptz,
    name                    text NOT NULL,
    level                   text NOT NULL,
    reporting_unit          text NOT NULL,
    established_on          date NOT NULL,
    closed_on               date,
    meets_hardware_standard boolean NOT NULL,
    offices                 integer NOT NULL,
    PRIMARY KEY (base_id, recorded_from, valid_from)
);
CREATE TABLE IF NOT EXISTS {g}.stay_versions (
    incubation_id      text NOT NULL,
    valid_from         date NOT NULL,
    valid_to           date,
    recorded_from      timestamptz NOT NULL,
    recorded_to        timestamptz,
    base_id            text NOT NULL,
    uscc               text NOT NULL,
    started_on         date NOT NULL,
    term_end           date NOT NULL,
    local              boolean NOT NULL,
    graduated_on       date,
    terminated_on      date,
    termination_reason text,
    PRIMARY KEY (incubation_id, recorded_from, valid_from)
);
-- Each base's stays by move-in day, every column a stay version has: target 2 reads a base's
-- first-year stays (readmodel_places.first_year_stays) from the index alone instead of a scan
-- of every stay version (1M, as of 2020-12-31: 4 ms instead of 13-23).
CREATE INDEX IF NOT EXISTS stay_versions_first_year ON {g}.stay_versions (base_id, started_on)
    INCLUDE (valid_from, valid_to, recorded_from, recorded_to, local, uscc, incubation_id,
    term_end, graduated_on, terminated_on, termination_reason);
-- The facts of one base, of one stay (a live or catch-up batch's refresh), made with the table
-- as facts_listing: through a bulk load they cost a predicate per row and 63k entries at 1M,
-- where built after it each was a scan of every fact (1M: 0.2 + 0.85 s on the two cores the
-- finish's other index builds and folds share).
CREATE INDEX IF NOT EXISTS facts_base_place ON {g}.facts (base_id) WHERE {BASE_FACTS_WHERE};
CREATE INDEX IF NOT EXISTS facts_stay ON {g}.facts ((data->>'incubation_id'))
    WHERE {STAY_FACTS_WHERE};
"""
