import { PostgresDb } from '/work/main/dist/db/postgres.js';
import { migrate } from '/work/main/dist/migrate/runner.js';
import { embeddedMigrations } from '/work/main/dist/migrate/embedded.js';
import pg from 'pg';
const a = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL }); await a.connect();
await a.query('DROP DATABASE IF EXISTS capb WITH (FORCE)'); await a.query('CREATE DATABASE capb'); await a.end();
const u = new URL(process.env.TEST_DATABASE_URL); u.pathname = '/capb';
const db = await PostgresDb.open(u.toString());
await migrate(db, { files: embeddedMigrations() });
await db.query(`select sync.become_hub()`);
for (let i = 0; i < 5; i++) { const t = Date.now(); await db.exec(`insert into tasks (org_id, title) select '00000000-0000-4000-8000-000000000001', 'x' || g from generate_series(1,5000) g`); console.log('5000 rows', Date.now() - t, 'ms'); }
await db.close();
