import type { Db, Queryable } from '../../db/types.js';
import { RobbieverseError } from '../../errors.js';

/**
 * Platform operators (platform_operators, migration 030): the users who may act on the nodes
 * that serve everyone — queue a manual RobbieBlocks build, roll a site back. Being an owner of
 * some organization is not enough: anyone may found one.
 */
export interface OperatorInfo {
  user_id: string;
  email: string;
  granted_by_email: string | null;
  note: string | null;
  created_at: string;
}

/** Inside an API request (after api_authenticate): is the acting user an operator? */
export async function actingUserIsOperator(tx: Queryable): Promise<boolean> {
  const { rows } = await tx.query<{ yes: boolean }>('SELECT app_is_platform_operator() AS yes');
  return rows[0]?.yes === true;
}

async function userIdByEmail(q: Queryable, email: string): Promise<string> {
  const { rows } = await q.query<{ id: string }>('SELECT id FROM users WHERE lower(email) = lower($1)', [email.trim()]);
  if (!rows[0]) {
    throw new RobbieverseError('E_USAGE', `no account with the e-mail ${email}`, { hint: 'see the accounts with `robbieverse users list`; create one with `robbieverse users create`' });
  }
  return rows[0].id;
}

/** Makes the account an operator; returns false when it already was one. */
export async function addOperator(db: Db, o: { email: string; note?: string; grantedBy?: string | null }): Promise<boolean> {
  return db.transaction(async (tx) => {
    const id = await userIdByEmail(tx, o.email);
    const r = await tx.query(
      `INSERT INTO platform_operators (user_id, granted_by, note) VALUES ($1, $2, $3) ON CONFLICT (user_id) DO NOTHING`,
      [id, o.grantedBy ?? null, o.note ?? null],
    );
    return (r.rowCount ?? 0) > 0;
  });
}

/** Takes operator rights away; returns false when the account was not an operator. */
export async function removeOperator(db: Db, o: { email: string }): Promise<boolean> {
  return db.transaction(async (tx) => {
    const id = await userIdByEmail(tx, o.email);
    const r = await tx.query('DELETE FROM platform_operators WHERE user_id = $1', [id]);
    return (r.rowCount ?? 0) > 0;
  });
}

export async function listOperators(db: Pick<Db, 'query'>): Promise<OperatorInfo[]> {
  const { rows } = await db.query<OperatorInfo>(
    `SELECT o.user_id, u.email, g.email AS granted_by_email, o.note, to_json(o.created_at) #>> '{}' AS created_at
       FROM platform_operators o JOIN users u ON u.id = o.user_id LEFT JOIN users g ON g.id = o.granted_by
      ORDER BY o.created_at, u.email`,
  );
  return rows;
}

/** Within a transaction that already writes as the owner (e.g. creating the first admin). */
export async function grantOperator(tx: Queryable, userId: string, note: string): Promise<void> {
  await tx.query(`INSERT INTO platform_operators (user_id, note) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING`, [userId, note]);
}
