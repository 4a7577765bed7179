/** Organization roles, weakest first. Routes name the weakest role they accept. */
export const ROLES = ['viewer', 'member', 'admin', 'owner'] as const;
export type Role = (typeof ROLES)[number];

export function roleRank(role: string): number {
  return ROLES.indexOf(role as Role);
}

export function atLeast(role: string, needed: Role): boolean {
  return roleRank(role) >= roleRank(needed);
}

/** The weaker of two roles (an API key's ceiling and its user's membership). */
export function weaker(a: Role, b: Role | null | undefined): Role {
  if (!b) return a;
  return roleRank(a) <= roleRank(b) ? a : b;
}

export const WRITE_ROLE: Role = 'member';
export const ADMIN_ROLE: Role = 'admin';
