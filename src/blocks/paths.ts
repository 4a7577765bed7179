import fs from 'node:fs';
import path from 'node:path';
import { RobbieverseError } from '../errors.js';

/** The component library directory (`blocks/` at the package root), from src/ or dist/. */
export function libraryDir(): string {
  const here = path.dirname(new URL(import.meta.url).pathname);
  for (const up of ['..', '../..', '../../..']) {
    const dir = path.resolve(here, up, 'blocks');
    if (fs.existsSync(path.join(dir, 'components.json'))) return dir;
  }
  throw new RobbieverseError('E_CONFIG', `the RobbieBlocks component library (blocks/) was not found near ${here}`, {
    hint: 'reinstall the package: blocks/ ships next to dist/',
  });
}

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Node keys and app names become directory names: refuse anything that could escape. */
export function safeSegment(kind: string, s: string): string {
  if (!SEGMENT.test(s) || s.includes('..')) {
    throw new RobbieverseError('E_USAGE', `${kind} "${s}" cannot be used as a directory name`, {
      hint: 'use letters, digits, dot, dash and underscore only',
    });
  }
  return s;
}

export interface SitePaths {
  /** `<deploy_root>/<node_key>/<app>` */
  site: string;
  releases: string;
  /** The `current` symlink: points at `releases/<release_id>`. */
  current: string;
}

export function sitePaths(deployRoot: string, nodeKey: string, app: string): SitePaths {
  const site = path.join(path.resolve(deployRoot), safeSegment('node', nodeKey), safeSegment('app', app));
  return { site, releases: path.join(site, 'releases'), current: path.join(site, 'current') };
}

export const MANIFEST = 'robbieblocks-release.json';
