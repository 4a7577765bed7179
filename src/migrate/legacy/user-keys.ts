import type { Queryable } from '../../db/types.js';

/** The legacy tables migration 029 leaves with single-column user keys (their org_id is backfilled after the migrations). */
export const LEGACY_USER_KEY_TABLES = ['conversations', 'messages', 'integrations', 'webhooks'];

/**
 * A legacy insert into users names no org_id (legacy_fill_org_id fills it). Such a user gets a
 * membership in that organization at once, as the upgrade gave the legacy users theirs, so the
 * legacy application's next insert (a conversation for that user) passes the composite keys.
 * Inserts that name org_id (the API, the CLI) make their own memberships and are left alone.
 *
 * Two triggers: BEFORE notes the ids that arrived without org_id in a transaction-local setting;
 * its name sorts before users_legacy_fill_org_id, so it fires first (same-event triggers fire in
 * name order). AFTER, when the row exists, adds the membership (admin for a legacy admin, else
 * member; active as the user is) and takes the id off the list.
 */
const NEW_USER_MEMBERSHIP_SQL = `
CREATE OR REPLACE FUNCTION legacy_note_user_without_org() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $fn$
BEGIN
  IF NEW.org_id IS NULL AND NEW.id IS NOT NULL THEN
    PERFORM set_config('robbieverse.legacy_new_users',
                       coalesce(nullif(current_setting('robbieverse.legacy_new_users', true), ''), ',') || NEW.id::text || ',', true);
  END IF;
  RETURN NEW;
END
$fn$;
COMMENT ON FUNCTION legacy_note_user_without_org() IS
  'Legacy upgrade: notes a users row inserted without org_id (a legacy insert), for legacy_new_user_membership()';

CREATE OR REPLACE FUNCTION legacy_new_user_membership() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
DECLARE
  noted text := coalesce(current_setting('robbieverse.legacy_new_users', true), '');
BEGIN
  IF strpos(noted, ',' || NEW.id::text || ',') = 0 THEN RETURN NULL; END IF;
  PERFORM set_config('robbieverse.legacy_new_users', replace(noted, ',' || NEW.id::text || ',', ','), true);
  INSERT INTO organization_memberships (org_id, user_id, role, is_active)
  VALUES (NEW.org_id, NEW.id, CASE WHEN NEW.role = 'admin' THEN 'admin' ELSE 'member' END, coalesce(NEW.is_active, true))
  ON CONFLICT (org_id, user_id) DO NOTHING;
  RETURN NULL;
END
$fn$;
COMMENT ON FUNCTION legacy_new_user_membership() IS
  'Legacy upgrade: a user the legacy application inserted (without org_id) becomes a member of the organization it was given';

CREATE OR REPLACE TRIGGER users_legacy_a_note_without_org BEFORE INSERT ON users
  FOR EACH ROW EXECUTE FUNCTION legacy_note_user_without_org();
CREATE OR REPLACE TRIGGER users_legacy_new_user_membership AFTER INSERT ON users
  FOR EACH ROW EXECUTE FUNCTION legacy_new_user_membership();`;

/** Users of the legacy tables without a membership in their home organization (added before the trigger existed). */
const CATCH_UP_SQL = `
INSERT INTO organization_memberships (org_id, user_id, role, is_active)
SELECT u.org_id, u.id, CASE WHEN u.role = 'admin' THEN 'admin' ELSE 'member' END, coalesce(u.is_active, true)
  FROM users u
 WHERE u.org_id IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM organization_memberships m WHERE m.org_id = u.org_id AND m.user_id = u.id)
ON CONFLICT (org_id, user_id) DO NOTHING`;

interface UserColumn {
  t: string;
  col: string;
  del: string;
  /** The composite key on (org_id, col) → organization_memberships, if there is one. */
  composite: string | null;
  validated: boolean | null;
}

export interface UserKeyTools {
  /** DDL with a short lock_timeout, retried. */
  ddl: (sql: string) => Promise<void>;
  /** Builds an index unless a valid one of that name exists (concurrently on a server); returns what it built. */
  buildIndex: (name: string, columnsSql: string) => Promise<string[]>;
}

const ident = (s: string) => '"' + s.replace(/"/g, '""') + '"';

/** Each single-column key to users(id) on the four tables, with the composite membership key of that column if any. */
async function userColumns(s: Queryable): Promise<UserColumn[]> {
  const { rows } = await s.query<UserColumn>(
    `SELECT k.relname::text AS t, a.attname::text AS col, c.confdeltype::text AS del,
            x.conname::text AS composite, x.convalidated AS validated
       FROM pg_constraint c
       JOIN pg_class k ON k.oid = c.conrelid
       JOIN pg_namespace n ON n.oid = k.relnamespace AND n.nspname = 'public'
       JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
       LEFT JOIN LATERAL (
         SELECT x.conname, x.convalidated FROM pg_constraint x
          WHERE x.conrelid = c.conrelid AND x.contype = 'f'
            AND x.confrelid = 'public.organization_memberships'::regclass AND a.attnum = ANY (x.conkey)
          ORDER BY x.conname LIMIT 1) x ON true
      WHERE c.contype = 'f' AND c.confrelid = 'public.users'::regclass AND cardinality(c.conkey) = 1
        AND k.relname = ANY ($1::text[])
        AND EXISTS (SELECT 1 FROM pg_attribute o WHERE o.attrelid = c.conrelid AND o.attname = 'org_id' AND NOT o.attisdropped)
      ORDER BY 1, 2`,
    [LEGACY_USER_KEY_TABLES],
  );
  return rows;
}

/**
 * The upgrade step 'user-keys' (after 'memberships'): what 029 does on a fresh install, for the
 * legacy tables, without long locks. Per user column: the composite key (org_id, col) →
 * organization_memberships (org_id, user_id) with 029's delete rule and name, added NOT VALID (from
 * then on every write is checked); then the rows that name a non-member of their organization are
 * made valid as 029 makes them (a SET NULL reference is nulled, a CASCADE one — the user's own
 * row — gives that user an inactive viewer membership, which grants nothing); then VALIDATE (reads
 * and writes continue) and the (org_id, col) index. Every part is skipped when done, so an
 * interrupted step runs again safely.
 */
export async function addLegacyUserKeys(s: Queryable, tools: UserKeyTools): Promise<Record<string, unknown>> {
  await tools.ddl(NEW_USER_MEMBERSHIP_SQL);
  const caughtUp = (await s.query(CATCH_UP_SQL)).rowCount ?? 0;
  const added: string[] = [];
  const nulled: Record<string, number> = {};
  const viewers: Record<string, number> = {};
  const validated: string[] = [];
  const indexes: string[] = [];
  for (const r of await userColumns(s)) {
    const name = `${r.t}_org_id_${r.col}_fkey`.slice(0, 63);
    if (r.composite && r.composite !== name) continue; // a composite key of its own (as 029 skips it)
    const setNull = r.del === 'n';
    if (!r.composite) {
      const action = setNull ? `SET NULL (${ident(r.col)})` : r.del === 'c' ? 'CASCADE' : r.del === 'r' ? 'RESTRICT' : 'NO ACTION';
      await tools.ddl(
        `ALTER TABLE ${ident(r.t)} ADD CONSTRAINT ${ident(name)} FOREIGN KEY (org_id, ${ident(r.col)})
           REFERENCES organization_memberships (org_id, user_id) ON DELETE ${action} DEFERRABLE INITIALLY IMMEDIATE NOT VALID`,
      );
      added.push(`${r.t}.${name}`);
    }
    if (!r.validated) {
      const bad = `t.${ident(r.col)} IS NOT NULL AND t.org_id IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM organization_memberships m WHERE m.org_id = t.org_id AND m.user_id = t.${ident(r.col)})`;
      if (setNull) {
        await s.exec('BEGIN');
        try {
          await s.exec(`SET LOCAL robbieverse.backfill = 'on'; SET LOCAL lock_timeout = '2s'`);
          const u = await s.query(`UPDATE ${ident(r.t)} t SET ${ident(r.col)} = NULL WHERE ${bad}`);
          await s.exec('COMMIT');
          nulled[`${r.t}.${r.col}`] = u.rowCount ?? 0;
        } catch (err) {
          await s.exec('ROLLBACK').catch(() => {});
          throw err;
        }
      } else {
        const v = await s.query(
          `INSERT INTO organization_memberships (org_id, user_id, role, is_active)
           SELECT DISTINCT t.org_id, t.${ident(r.col)}, 'viewer', false FROM ${ident(r.t)} t WHERE ${bad}
           ON CONFLICT (org_id, user_id) DO NOTHING`,
        );
        viewers[`${r.t}.${r.col}`] = v.rowCount ?? 0;
      }
      await tools.ddl(`ALTER TABLE ${ident(r.t)} VALIDATE CONSTRAINT ${ident(name)}`);
      validated.push(`${r.t}.${name}`);
    }
    const index = `${r.t}_org_id_${r.col}_idx`.slice(0, 63);
    indexes.push(...(await tools.buildIndex(index, `ON ${ident(r.t)} (org_id, ${ident(r.col)})`)));
  }
  return { userKeys: { membershipsCaughtUp: caughtUp, added, nulled, inactiveViewers: viewers, validated, indexes } };
}
