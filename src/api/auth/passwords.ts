/**
 * Password hashing: argon2id (the default of @node-rs/argon2: 19 MiB, 2 passes), a salt per hash.
 * The clear password is never stored or logged.
 */
let dummyHash: string | undefined;

async function argon2() {
  return import('@node-rs/argon2');
}

export const MIN_PASSWORD_LENGTH = 10;

export async function hashPassword(password: string): Promise<string> {
  return (await argon2()).hash(password);
}

/** Verifies in about the same time whether or not there is a hash, so a login does not tell which emails exist. */
export async function verifyPassword(hash: string | undefined | null, password: string): Promise<boolean> {
  const a = await argon2();
  if (!hash || !hash.startsWith('$argon2')) {
    dummyHash ??= await a.hash('not-a-password-of-anyone');
    await a.verify(dummyHash, password).catch(() => false);
    return false;
  }
  return a.verify(hash, password).catch(() => false);
}

export function passwordProblem(password: string): string | undefined {
  if (password.length < MIN_PASSWORD_LENGTH) return `a password needs at least ${MIN_PASSWORD_LENGTH} characters`;
  if (password.length > 1024) return 'a password may have at most 1024 characters';
  return undefined;
}
