-- PHIS roles on PostgreSQL 15 (docs/operations.md, "PostgreSQL").
-- Run as a superuser:  psql -v ON_ERROR_STOP=1 -f deploy/postgres/roles.sql
-- then, after the first `phis migrate` (run as phis_owner), run it again: the grants on
-- existing tables and the audit REVOKEs need the tables to exist.
--
--   phis_owner  owns the schema; runs `phis migrate`, `phis restore`, `phis audit purge`.
--               Never used by the web or worker processes.
--   phis_app    the web/worker/beat role: reads and writes business tables, appends audit
--               rows, but cannot UPDATE, DELETE or TRUNCATE them.
--   phis_backup read-only, for `phis backup` (pg_dump) and reporting replicas.
-- Passwords: set them with \password in psql (never in this file).

DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'phis_owner') THEN
    CREATE ROLE phis_owner LOGIN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'phis_app') THEN
    CREATE ROLE phis_app LOGIN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'phis_backup') THEN
    CREATE ROLE phis_backup LOGIN;
  END IF;
END $$;

SELECT 'CREATE DATABASE phis OWNER phis_owner ENCODING ''UTF8'' TEMPLATE template0'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'phis') \gexec

\connect phis

REVOKE ALL ON DATABASE phis FROM PUBLIC;
GRANT CONNECT ON DATABASE phis TO phis_app, phis_backup;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO phis_owner;
GRANT USAGE ON SCHEMA public TO phis_app, phis_backup;
-- pg_trgm (code search index) is a trusted extension: created as phis_owner so that it is
-- owned by phis_owner (`phis restore` drops and re-creates it).
SET ROLE phis_owner;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
RESET ROLE;

-- Tables and sequences that phis_owner creates from now on.
ALTER DEFAULT PRIVILEGES FOR ROLE phis_owner IN SCHEMA public
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO phis_app;
ALTER DEFAULT PRIVILEGES FOR ROLE phis_owner IN SCHEMA public
  GRANT USAGE, SELECT ON SEQUENCES TO phis_app;
ALTER DEFAULT PRIVILEGES FOR ROLE phis_owner IN SCHEMA public
  GRANT SELECT ON TABLES TO phis_backup;
ALTER DEFAULT PRIVILEGES FOR ROLE phis_owner IN SCHEMA public
  GRANT SELECT ON SEQUENCES TO phis_backup;

-- Tables that exist already (second run, after migrate / restore).
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO phis_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO phis_app;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO phis_backup;
GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO phis_backup;

-- The audit log is append-only for the application (SECURITY.md §8 item 21): besides the
-- triggers of migration audit.0002, the app role simply lacks the privilege.
DO $$
BEGIN
  IF to_regclass('public.audit_auditlog') IS NOT NULL THEN
    REVOKE UPDATE, DELETE, TRUNCATE ON public.audit_auditlog FROM phis_app;
    RAISE NOTICE 'audit_auditlog: UPDATE/DELETE/TRUNCATE revoked from phis_app';
  ELSE
    RAISE NOTICE 'audit_auditlog does not exist yet: run this file again after migrate';
  END IF;
END $$;
