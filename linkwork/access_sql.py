"""Who may do what, enforced by PostgreSQL itself: roles, grants, row-level security and
the actor check (a thick client can be bypassed with psql; the database cannot).

Run by ``linkwork db upgrade`` as the deployment's database owner (a superuser, or a role
with CREATEROLE that owns the database): migration ``acc_0001`` first, then again after
every upgrade (``linkwork/migrations/env.py``), so a table a later migration adds gets the
same treatment. Every statement is idempotent.

Roles (all NOLOGIN; a member of staff's own login is made a member of one group role by
``linkwork staff add``):

- ``linkwork_owner`` owns every table, sequence and function: no app role can ALTER, DROP,
  TRUNCATE, disable a trigger or switch off row-level security. The login that runs the
  migrations is made a member (it keeps managing the schema).
- ``linkwork_worker``: reads and writes people's records of its organisations (RLS); audit
  rows: INSERT and SELECT only.
- ``linkwork_datalead``: no privilege on any table holding a person's data (counts come
  through functions that apply disclosure control, issue 16 point 3); INSERT and SELECT on
  audit rows of its organisations (its report exports are audited).
- ``linkwork_admin``: what a worker may, plus reading the staff table and managing staff
  through ``linkwork_staff_add``/``linkwork_staff_remove``.
- ``linkwork_staffer`` (NOLOGIN, CREATEROLE): owns those two SECURITY DEFINER functions,
  which create a login only if it is missing, never change an existing login's password,
  and grant only the three group roles: an admin cannot make itself owner or superuser.

Organisations: the ``staff`` table records each login's organisations (ODS codes); the
SECURITY DEFINER function ``linkwork_orgs()`` gives the current login's (``session_user``).
The organisation code ``*`` (``ALL_ORGS``) grants every organisation (an ICB-wide admin).
Every table with an ``org`` column has row-level security ENABLEd and FORCEd: the app
roles see and write only rows whose ``org`` is one of the login's; the owner role sees all.

Actor: each column naming who did something (``created_by``, ``actor``, ...) must be the
login (``session_user``) when a staff login writes it (trigger ``linkwork_check_actor``,
BEFORE INSERT OR UPDATE, only the columns that change). The database owner (a superuser or a
member of ``linkwork_owner``, outside the staff model: it can do anything anyway) is not
checked.
"""

from __future__ import annotations

from typing import Any

from screening.organisations import ALL_ORGS

OWNER = "linkwork_owner"
STAFFER = "linkwork_staffer"
GROUPS = {"worker": "linkwork_worker", "datalead": "linkwork_datalead", "admin": "linkwork_admin"}
APP_ROLES = tuple(GROUPS.values())
ADMIN = GROUPS["admin"]
# ALL_ORGS ("*", every organisation) is the domain's: screening.organisations
STAFF_TABLE = "staff"
AUDIT_TABLE = "audit_event"
# Disclosure-controlled reports published for data leads (screening.counts.extracts): the
# one table a data lead reads (rows of its organisations, or all for a login granted "*");
# only an admin publishes.
PUBLISHED_TABLE = "published_report"
# Columns naming who did something: checked against session_user for staff logins.
ACTOR_COLUMNS = (
    "actor",
    "created_by",
    "recorded_by",
    "resolved_by",
    "withdrawn_by",
    "by",
    "added_by",
    "updated_by",
    "removed_by",
    "published_by",
)
# Tables a row of which may be deleted by the app (answers replaced when a questionnaire is
# answered again; directory imports replace a service's locations; the deprivation lookup
# and practice list sizes are reloaded whole). Nothing else is ever deleted by linkwork.
DELETABLE = frozenset(
    {
        "answer",
        "service_location",
        "location",
        "postcode_deprivation",
        "practice_population",  # a practice's list sizes, replaced by population import
        "practice_population_ethnicity",  # the same by ethnic category
        "directory_import",
        "count_need",  # a withdrawn need's counting copy (the need itself is kept)
    }
)
NOT_APP_TABLES = frozenset({"alembic_version", STAFF_TABLE})


# A row the current login may see: its org is one of the login's, or the login has them all.
# The sub-selects are evaluated once per statement (an InitPlan), not once per row.
_MINE = "(SELECT linkwork_orgs())::text[]"
SEES = f"org = ANY ({_MINE}) OR '{ALL_ORGS}' = ANY ({_MINE})"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION linkwork_orgs() RETURNS text[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT COALESCE(array_agg(DISTINCT o), ARRAY[]::text[])
    FROM staff s, json_array_elements_text(s.orgs::json) AS o
    WHERE s.login = session_user AND s.removed_at IS NULL
$$;

CREATE OR REPLACE FUNCTION linkwork_whoami() RETURNS json
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT json_build_object(
        'login', session_user::text,
        'owner', (SELECT rolsuper FROM pg_roles WHERE rolname = session_user)
                 OR pg_has_role(session_user, '{OWNER}', 'MEMBER'),
        'roles', ARRAY(SELECT g FROM unnest(ARRAY{list(APP_ROLES)!r}::text[]) AS g
                       WHERE pg_has_role(session_user, g, 'MEMBER')),
        'orgs', linkwork_orgs(),
        'removed', (SELECT json_build_object('at', removed_at, 'by', removed_by)
                    FROM staff WHERE login = session_user AND removed_at IS NOT NULL
                      AND NOT EXISTS (SELECT 1 FROM staff s2 WHERE s2.login = session_user
                                      AND s2.removed_at IS NULL)
                    ORDER BY removed_at DESC LIMIT 1)
    )
$$;

CREATE OR REPLACE FUNCTION linkwork_held_elsewhere(ref text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    -- Is there a record with exactly this id that the current login may not see? Says
    -- yes or no only (never whose, nor where), and only for a full id (an unguessable
    -- UUID): so a worker is told "no access", not "no such person".
    SELECT length(ref) = 36 AND EXISTS (
        SELECT 1 FROM (
            SELECT org FROM person WHERE id = ref
            UNION ALL SELECT org FROM need WHERE id = ref
            UNION ALL SELECT org FROM referral WHERE id = ref
            UNION ALL SELECT org FROM consent WHERE id = ref
            UNION ALL SELECT org FROM screening WHERE id = ref
            UNION ALL SELECT org FROM outcome WHERE id = ref
        ) AS held
        WHERE NOT (held.org = ANY (linkwork_orgs()) OR '{ALL_ORGS}' = ANY (linkwork_orgs()))
    )
$$;

CREATE OR REPLACE FUNCTION linkwork_check_actor() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    column_name text;
    new_row jsonb := to_jsonb(NEW);
    old_row jsonb := CASE WHEN TG_OP = 'UPDATE' THEN to_jsonb(OLD) ELSE '{{}}'::jsonb END;
    given text;
BEGIN
    IF NOT (pg_has_role(session_user, 'linkwork_worker', 'MEMBER')
            OR pg_has_role(session_user, 'linkwork_datalead', 'MEMBER')
            OR pg_has_role(session_user, 'linkwork_admin', 'MEMBER'))
       OR pg_has_role(session_user, '{OWNER}', 'MEMBER') THEN
        RETURN NEW;  -- the database owner: outside the staff model
    END IF;
    FOREACH column_name IN ARRAY TG_ARGV LOOP
        given := new_row ->> column_name;
        IF given IS NOT NULL AND given <> ''
           AND given IS DISTINCT FROM (old_row ->> column_name)
           AND given <> session_user::text THEN
            RAISE EXCEPTION 'the actor must be your login %, not %', session_user, given
                USING ERRCODE = 'insufficient_privilege';
        END IF;
    END LOOP;
    RETURN NEW;
END
$$;
"""

STAFF_FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION linkwork_staff_add(
    p_login text, p_role text, p_orgs text[], p_verifier text
) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    created boolean := false;
    grp text;
BEGIN
    IF p_role NOT IN ('worker', 'datalead', 'admin') THEN
        RAISE EXCEPTION 'role must be worker, datalead or admin, not %', p_role
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_login ~ '^(pg_|linkwork_)' OR EXISTS (
        SELECT 1 FROM pg_roles WHERE rolname = p_login AND (rolsuper OR rolcreaterole
                                                           OR NOT rolcanlogin)) THEN
        RAISE EXCEPTION 'login % cannot be staff: it is a superuser, manages roles, '
                        'or cannot log in', p_login USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = p_login) THEN
        IF p_verifier IS NULL OR p_verifier = '' THEN
            EXECUTE format('CREATE ROLE %I LOGIN', p_login);
        ELSE
            EXECUTE format('CREATE ROLE %I LOGIN PASSWORD %L', p_login, p_verifier);
        END IF;
        created := true;
    END IF;
    FOREACH grp IN ARRAY ARRAY{list(APP_ROLES)!r}::text[] LOOP
        IF grp = 'linkwork_' || p_role THEN
            EXECUTE format('GRANT %I TO %I', grp, p_login);
        ELSE
            EXECUTE format('REVOKE %I FROM %I', grp, p_login);
        END IF;
    END LOOP;
    UPDATE staff SET removed_at = now(), removed_by = session_user
        WHERE staff.login = p_login AND removed_at IS NULL;
    INSERT INTO staff (login, role, orgs, added_at, added_by)
        VALUES (p_login, p_role, to_json(p_orgs), now(), session_user);
    RETURN CASE WHEN created THEN 'created' ELSE 'existing' END;
END
$$;

CREATE OR REPLACE FUNCTION linkwork_staff_remove(p_login text) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    grp text;
    changed integer;
BEGIN
    UPDATE staff SET removed_at = now(), removed_by = session_user
        WHERE staff.login = p_login AND removed_at IS NULL;
    GET DIAGNOSTICS changed = ROW_COUNT;
    IF changed > 0 THEN
        FOREACH grp IN ARRAY ARRAY{list(APP_ROLES)!r}::text[] LOOP
            EXECUTE format('REVOKE %I FROM %I', grp, p_login);
        END LOOP;
    END IF;
    RETURN changed;
END
$$;
"""


def _script(conn: Any, sql: str) -> None:
    """Several statements holding ``%`` (format strings): sent as they are by the driver,
    in the connection's transaction (no parameters, so nothing is substituted)."""
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.execute(sql)
    finally:
        cursor.close()


def _roles(conn: Any) -> None:
    for role in (OWNER, STAFFER, *APP_ROLES):
        exists = conn.exec_driver_sql("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
        if exists.first() is None:
            # Roles are cluster-wide: two databases of one cluster upgraded at the same time
            # may both find the role missing; the second then waits and finds it made.
            extra = " CREATEROLE" if role == STAFFER else ""
            conn.exec_driver_sql(
                "DO $$ BEGIN "
                f"CREATE ROLE {role} NOLOGIN{extra}; "
                "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; "
                "END $$"
            )
    me = conn.exec_driver_sql("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").scalar()
    if not me:
        # the login running the migrations keeps managing the schema through the owner role
        conn.exec_driver_sql(f"GRANT {OWNER}, {STAFFER} TO current_user")


def _tables(conn: Any) -> dict[str, set[str]]:
    rows = conn.exec_driver_sql(
        "SELECT c.table_name, c.column_name FROM information_schema.columns c "
        "JOIN information_schema.tables t USING (table_schema, table_name) "
        "WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'"
    ).all()
    tables: dict[str, set[str]] = {}
    for table, column in rows:
        tables.setdefault(str(table), set()).add(str(column))
    return tables


def _grants(conn: Any, tables: dict[str, set[str]]) -> None:
    worker, datalead, admin = GROUPS["worker"], GROUPS["datalead"], GROUPS["admin"]
    apps = ", ".join(APP_ROLES)
    conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA public TO {apps}")
    for table, columns in sorted(tables.items()):
        q = _quote(table)
        conn.exec_driver_sql(f"ALTER TABLE {q} OWNER TO {OWNER}")
        conn.exec_driver_sql(f"REVOKE ALL ON {q} FROM PUBLIC, {apps}")
        if table == "alembic_version":
            # any login may see the schema's revision, so that one with no linkwork role
            # (or a removed one) is told so in words, not "cannot use database"
            conn.exec_driver_sql(f"GRANT SELECT ON {q} TO PUBLIC")
        elif table == STAFF_TABLE:
            conn.exec_driver_sql(f"GRANT SELECT ON {q} TO {admin}")
            conn.exec_driver_sql(f"GRANT SELECT, INSERT, UPDATE ON {q} TO {STAFFER}")
        elif table == AUDIT_TABLE:
            conn.exec_driver_sql(f"GRANT SELECT, INSERT ON {q} TO {apps}")
        elif table == PUBLISHED_TABLE:
            conn.exec_driver_sql(f"GRANT SELECT ON {q} TO {apps}")
            conn.exec_driver_sql(f"GRANT INSERT, UPDATE ON {q} TO {admin}")
        else:
            rights = "SELECT, INSERT, UPDATE" + (", DELETE" if table in DELETABLE else "")
            conn.exec_driver_sql(f"GRANT {rights} ON {q} TO {worker}, {admin}")
            if "org" not in columns:
                # the directory, codes and lookups: no person's data
                conn.exec_driver_sql(f"GRANT SELECT ON {q} TO {datalead}")
    for (sequence,) in conn.exec_driver_sql(
        "SELECT sequence_name FROM information_schema.sequences "
        "WHERE sequence_schema = current_schema()"
    ).all():
        q = _quote(str(sequence))
        conn.exec_driver_sql(f"ALTER SEQUENCE {q} OWNER TO {OWNER}")
        conn.exec_driver_sql(f"GRANT USAGE, SELECT ON SEQUENCE {q} TO {apps}, {STAFFER}")


def _row_security(conn: Any, tables: dict[str, set[str]]) -> None:
    apps = ", ".join(APP_ROLES)
    for table, columns in sorted(tables.items()):
        q = _quote(table)
        if "org" in columns:
            conn.exec_driver_sql(f"ALTER TABLE {q} ENABLE ROW LEVEL SECURITY")
            conn.exec_driver_sql(f"ALTER TABLE {q} FORCE ROW LEVEL SECURITY")
            conn.exec_driver_sql(f"DROP POLICY IF EXISTS linkwork_org ON {q}")
            conn.exec_driver_sql(
                f"CREATE POLICY linkwork_org ON {q} TO {apps} USING ({SEES}) WITH CHECK ({SEES})"
            )
            conn.exec_driver_sql(f"DROP POLICY IF EXISTS linkwork_owner ON {q}")
            conn.exec_driver_sql(
                f"CREATE POLICY linkwork_owner ON {q} TO {OWNER} USING (true) WITH CHECK (true)"
            )
        actors = [c for c in ACTOR_COLUMNS if c in columns]
        trigger = _quote(f"linkwork_actor_{table}")
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger} ON {q}")
        if actors and table != STAFF_TABLE:
            arguments = ", ".join(f"'{c}'" for c in actors)
            conn.exec_driver_sql(
                f"CREATE TRIGGER {trigger} BEFORE INSERT OR UPDATE ON {q} FOR EACH ROW "
                f"EXECUTE FUNCTION linkwork_check_actor({arguments})"
            )


def _functions(conn: Any) -> None:
    apps = ", ".join(APP_ROLES)
    _script(conn, FUNCTIONS)
    _script(conn, STAFF_FUNCTIONS)
    for name, signature, owner, callers in (
        ("linkwork_orgs", "()", OWNER, apps),
        ("linkwork_whoami", "()", OWNER, "PUBLIC"),
        ("linkwork_check_actor", "()", OWNER, apps),
        ("linkwork_held_elsewhere", "(text)", OWNER, apps),
        ("linkwork_staff_add", "(text, text, text[], text)", STAFFER, f"{ADMIN}, {OWNER}"),
        ("linkwork_staff_remove", "(text)", STAFFER, f"{ADMIN}, {OWNER}"),
    ):
        conn.exec_driver_sql(f"ALTER FUNCTION {name}{signature} OWNER TO {owner}")
        conn.exec_driver_sql(f"REVOKE ALL ON FUNCTION {name}{signature} FROM PUBLIC")
        conn.exec_driver_sql(f"GRANT EXECUTE ON FUNCTION {name}{signature} TO {callers}")
    # the staffer reads the role catalogue (public) and the staff table (granted above)


def apply(conn: Any) -> None:
    """Roles, ownership, grants, row-level security, actor triggers: idempotent. ``conn``:
    a SQLAlchemy connection to PostgreSQL, as the database owner, inside a transaction."""
    if conn.dialect.name != "postgresql":
        return
    tables = _tables(conn)
    if STAFF_TABLE not in tables:
        return  # before migration acc_0001
    _roles(conn)
    _functions(conn)
    _grants(conn, tables)
    _row_security(conn, tables)


def remove(conn: Any) -> None:
    """Undo :func:`apply` in this database (migration acc_0001's downgrade): policies, row
    security, actor triggers and functions. Roles are cluster-wide (other databases may use
    them) and tables keep their owner."""
    if conn.dialect.name != "postgresql":
        return
    for table, columns in sorted(_tables(conn).items()):
        q = _quote(table)
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {_quote(f'linkwork_actor_{table}')} ON {q}")
        if "org" in columns:
            conn.exec_driver_sql(f"DROP POLICY IF EXISTS linkwork_org ON {q}")
            conn.exec_driver_sql(f"DROP POLICY IF EXISTS linkwork_owner ON {q}")
            conn.exec_driver_sql(f"ALTER TABLE {q} NO FORCE ROW LEVEL SECURITY")
            conn.exec_driver_sql(f"ALTER TABLE {q} DISABLE ROW LEVEL SECURITY")
    for signature in (
        "linkwork_staff_add(text, text, text[], text)",
        "linkwork_staff_remove(text)",
        "linkwork_whoami()",
        "linkwork_held_elsewhere(text)",
        "linkwork_check_actor()",
        "linkwork_orgs()",
    ):
        conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS {signature}")
