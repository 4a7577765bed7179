import { RobbieverseError } from '../errors.js';

/** The reasons the hub gives when it refuses a batch whole (sync.reject in 031). */
export type RefusalReason = 'schema_mismatch' | 'malformed' | 'wrong_origin' | 'table_not_synced' | 'out_of_scope' | 'reseed_required';

export function refusalError(reason: string, detail: string, side: 'hub' | 'node' = 'hub'): RobbieverseError {
  if (reason === 'schema_mismatch') {
    return new RobbieverseError('E_SYNC_SCHEMA_MISMATCH', `schema mismatch between this node and the hub (${detail}); no data moved`, {
      hint: 'upgrade the hub first (`robbieverse db migrate --url MASTER`), then this node (`robbieverse db migrate`); queued changes are kept and move once both match',
      details: { reason, detail },
    });
  }
  if (reason === 'reseed_required') {
    return new RobbieverseError('E_SYNC_RESEED', `this node is behind the hub's purge horizon and must re-seed (${detail}); nothing was pulled`, {
      hint: 'run `robbieverse sync join --master URL --node KEY --reseed`: it pushes this node\'s pending changes first, then replaces the synced tables with a fresh snapshot',
      details: { reason, detail },
    });
  }
  return new RobbieverseError('E_SYNC_REFUSED', `the ${side} refused the batch: ${reason}: ${detail}`, {
    hint: 'nothing of the batch was applied; the refusal is recorded on the hub (sync.rejections)',
    details: { reason, detail },
  });
}
