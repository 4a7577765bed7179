import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const FILE = path.join(path.dirname(new URL(import.meta.url).pathname), 'RESULTS.md');

/** Replaces one benchmark's section of bench/RESULTS.md, keeping the others. */
export function writeSection(id: string, body: string): void {
  const header =
    '# Benchmark results\n\nLatest figures of `npm run bench`. Each section is rewritten by its own script; ' +
    'ratios are against a baseline measured in the same run, on this project\'s machine kind ' +
    `(${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB).\n`;
  let text = fs.existsSync(FILE) ? fs.readFileSync(FILE, 'utf8') : header;
  if (!text.includes('<!-- section:')) text = header;
  const start = `<!-- section:${id} -->`;
  const end = `<!-- /section:${id} -->`;
  const block = `${start}\n_Run ${new Date().toISOString().slice(0, 10)}._\n\n${body.trim()}\n${end}`;
  const re = new RegExp(`${start}[\\s\\S]*?${end}`);
  text = re.test(text) ? text.replace(re, block) : `${text.trimEnd()}\n\n${block}\n`;
  fs.writeFileSync(FILE, text);
}
