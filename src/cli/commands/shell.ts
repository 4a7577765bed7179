import { spawn, spawnSync } from 'node:child_process';
import readline from 'node:readline/promises';
import { Command } from 'commander';
import { socketUrl } from '../../db/open.js';
import { serveSocket } from '../../db/socket.js';
import type { Db } from '../../db/types.js';
import { action, dbOptions, describeTarget, withCommandDatabase, type DbCommandOptions } from '../context.js';
import { formatError, renderTable } from '../output.js';

function hasPsql(): boolean {
  return spawnSync('psql', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** psql on `url`; a password goes through the environment, never the command line. */
function runPsql(url: string, password?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('psql', [url], { stdio: 'inherit', env: password ? { ...process.env, PGPASSWORD: password } : process.env });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

/** A small prompt for machines without psql: statements end with `;`, \q quits. */
async function prompt(db: Db): Promise<number> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout, terminal: process.stdin.isTTY });
  process.stdout.write('robbieverse SQL prompt (psql not found). End statements with ;  — \\q to quit.\n');
  let buf = '';
  rl.setPrompt(buf ? 'robbie-> ' : 'robbie=> ');
  rl.prompt();
  for await (const line of rl) {
    if (!buf && /^\s*\\q\s*$/.test(line)) break;
    buf += line + '\n';
    if (/;\s*$/.test(line)) {
      try {
        const r = await db.exec(buf);
        process.stdout.write((r.fields.length ? renderTable(r.fields.map((f) => f.name), r.rows) : 'OK') + '\n');
      } catch (err) {
        process.stdout.write(formatError(err) + '\n');
      }
      buf = '';
    }
    rl.setPrompt(buf ? 'robbie-> ' : 'robbie=> ');
    rl.prompt();
  }
  rl.close();
  return 0;
}

export function shellCommand(): Command {
  const cmd = new Command('shell')
    .summary('open an interactive SQL shell (psql when installed)')
    .description(
      'On a server: psql with the same URL. On the embedded database: psql through a local socket\n' +
        '(the running `robbieverse up`\'s, or a temporary one), or a built-in prompt when psql is missing.',
    )
    .addHelpText('after', `\nExamples:\n  $ robbieverse db shell\n  $ robbieverse db shell --url postgres://app@localhost/robbie`);
  dbOptions(cmd);
  return cmd.action(
    action(async (o: DbCommandOptions) => {
      return withCommandDatabase(o, { command: 'robbieverse db shell' }, async (opened, cfg) => {
        process.stderr.write(`connected to the ${describeTarget(opened)}\n`);
        const psql = hasPsql();
        const { url, socket } = opened.db.capabilities;
        if (url && psql) {
          const u = new URL(url);
          const password = decodeURIComponent(u.password);
          u.password = '';
          return runPsql(u.toString(), password || undefined);
        }
        if (socket && psql) {
          const sock = await serveSocket(opened.db, cfg.socketHost, 0, { password: opened.socketPassword!, maxConnections: 1, statementTimeoutMs: 0, idleInTransactionTimeoutMs: 0 });
          try {
            return await runPsql(socketUrl(sock), opened.socketPassword);
          } finally {
            await sock.stop();
          }
        }
        return prompt(opened.db);
      });
    }),
  );
}
