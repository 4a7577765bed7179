/** What the builder reports while it works; the CLI renders these, the library never prints. */
export type BlocksEvent =
  | { type: 'worker-start'; builderId: string; nodes: string[] | 'all-branded' }
  | { type: 'worker-stop'; builderId: string }
  | { type: 'planned'; changes: number; deploys: number; deferred: number }
  | { type: 'lease-expired'; deployId: string; nodeKey: string; app: string; reason: string }
  | { type: 'build-start'; deployId: string; nodeKey: string; app: string; triggeredBy: string }
  | { type: 'build-step'; deployId: string; step: BuildStep; ms: number }
  | { type: 'build-retry'; deployId: string; attempt: number; delayMs: number; error: string }
  | {
      type: 'build-done';
      deployId: string;
      nodeKey: string;
      app: string;
      status: 'success' | 'skipped' | 'failed' | 'withdrawn';
      releaseId: string | null;
      hash: string | null;
      ms: number;
      error?: string;
    }
  | { type: 'reconnect' }
  | { type: 'error'; where: string; error: string };

export type BuildStep = 'snapshot' | 'validate' | 'hash' | 'vendor' | 'generate' | 'vite' | 'deploy' | 'record';

export type BlocksEventHandler = (e: BlocksEvent) => void;
