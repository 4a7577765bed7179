/**
 * The server side of SCRAM-SHA-256 (RFC 5802 / 7677), PostgreSQL's password exchange: the password
 * never crosses the socket, and the client learns the server knew it too.
 */
import crypto from 'node:crypto';

const ITERATIONS = 4096;

const hmac = (key: Buffer, data: string) => crypto.createHmac('sha256', key).update(data).digest();
const sha256 = (data: Buffer) => crypto.createHash('sha256').update(data).digest();

export interface ScramVerifier {
  salt: Buffer;
  iterations: number;
  storedKey: Buffer;
  serverKey: Buffer;
}

export function scramVerifier(password: string, salt = crypto.randomBytes(16), iterations = ITERATIONS): ScramVerifier {
  const salted = crypto.pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
  return { salt, iterations, storedKey: sha256(hmac(salted, 'Client Key')), serverKey: hmac(salted, 'Server Key') };
}

function attributes(msg: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of msg.split(',')) {
    const eq = part.indexOf('=');
    if (eq === 1) out.set(part[0]!, part.slice(2));
  }
  return out;
}

export class ScramExchange {
  private clientFirstBare = '';
  private serverFirst = '';
  private nonce = '';
  private gs2 = '';

  constructor(private readonly v: ScramVerifier) {}

  /** client-first-message → server-first-message; throws on a malformed message. */
  first(clientFirst: string): string {
    const m = /^([ny]|p=[^,]*),([^,]*),(.*)$/.exec(clientFirst);
    if (!m) throw new Error('malformed SCRAM client-first-message');
    if (m[1]!.startsWith('p')) throw new Error('channel binding is not supported on this socket (no TLS)');
    this.gs2 = `${m[1]},${m[2]},`;
    this.clientFirstBare = m[3]!;
    const clientNonce = attributes(this.clientFirstBare).get('r');
    if (!clientNonce || /[^\x21-\x7e]|,/.test(clientNonce)) throw new Error('malformed SCRAM client nonce');
    this.nonce = clientNonce + crypto.randomBytes(18).toString('base64');
    this.serverFirst = `r=${this.nonce},s=${this.v.salt.toString('base64')},i=${this.v.iterations}`;
    return this.serverFirst;
  }

  /** client-final-message → server-final-message, or undefined when the proof is wrong. */
  final(clientFinal: string): string | undefined {
    const attrs = attributes(clientFinal);
    const proofAt = clientFinal.lastIndexOf(',p=');
    if (proofAt < 0 || attrs.get('r') !== this.nonce) return undefined;
    if (attrs.get('c') !== Buffer.from(this.gs2).toString('base64')) return undefined;
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${clientFinal.slice(0, proofAt)}`;
    const proof = Buffer.from(attrs.get('p') ?? '', 'base64');
    const signature = hmac(this.v.storedKey, authMessage);
    if (proof.length !== signature.length) return undefined;
    const clientKey = Buffer.alloc(proof.length);
    for (let i = 0; i < proof.length; i++) clientKey[i] = proof[i]! ^ signature[i]!;
    if (!crypto.timingSafeEqual(sha256(clientKey), this.v.storedKey)) return undefined;
    return `v=${hmac(this.v.serverKey, authMessage).toString('base64')}`;
  }
}
