import { badRequest } from './errors.js';

/** Where a page ended: the sort column's value and the id of the last row, in one listing's order. */
export interface Cursor {
  /** resource path, sort column, order: a cursor only continues the listing it came from */
  r: string;
  s: string;
  o: 'asc' | 'desc';
  /** organization of the listing */
  g: string;
  v: unknown;
  id: string;
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

export function decodeCursor(raw: string, expect: Omit<Cursor, 'v' | 'id' | 'g'>): Cursor {
  let c: Cursor;
  try {
    c = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Cursor;
  } catch {
    throw badRequest('the cursor is not one this API issued; pass next_cursor from the previous page unchanged');
  }
  if (!c || typeof c !== 'object' || typeof c.id !== 'string' || !/^[0-9a-f-]{36}$/i.test(c.id)) {
    throw badRequest('the cursor is not one this API issued; pass next_cursor from the previous page unchanged');
  }
  if (c.r !== expect.r || c.s !== expect.s || c.o !== expect.o) {
    throw badRequest(`the cursor continues another listing (${c.r} sorted by ${c.s} ${c.o}); keep the same sort and order, or start again without a cursor`);
  }
  return c;
}

/** A cursor continues only the listing of the organization it came from. */
export function checkCursorOrg(cursorOrg: string, org: string): void {
  if (cursorOrg !== org) throw badRequest("the cursor belongs to another organization's listing; start again without a cursor");
}
