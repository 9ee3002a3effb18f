-- The city's digital-government programmes (issue 8).
-- Business dossiers that reused data of the national business-registration database: a dossier
-- flag of its own (data reuse in general is `reused_data`).
ALTER TABLE dossier ADD COLUMN registry_reused BOOLEAN NOT NULL DEFAULT false;

-- Identification papers for special populations: one row per case (natural key source, case_id).
-- full_name, birth_date and id_number are personal data: read them only through
-- metrics.id_cases.cases_for(role, unit_scope), which masks them outside the justice role.
CREATE TABLE id_case (
    source VARCHAR NOT NULL, case_id VARCHAR NOT NULL,
    ward_code VARCHAR NOT NULL,          -- the ward/commune handling the case
    group_code VARCHAR NOT NULL,         -- population group (children without guardians, ...)
    age_group VARCHAR NOT NULL,          -- 0-5 | 6-11 | 12-15 | 16-17 | 18+
    status VARCHAR NOT NULL,             -- new | verifying | proposed | in_progress | resolved | closed
    proposed_solution VARCHAR,
    owner VARCHAR,                       -- the officer or office in charge (a role, not a citizen)
    opened_on DATE NOT NULL, due_on DATE NOT NULL, resolved_on DATE,
    full_name VARCHAR, birth_date DATE, id_number VARCHAR,
    updated_at TIMESTAMPTZ,
    batch_id BIGINT NOT NULL
);
