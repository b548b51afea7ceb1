import { createHash } from 'node:crypto';

const networkIds = new Map<string, Buffer>();

/** sha256 of a network passphrase: what transaction and auth-entry signatures commit to. Cached per passphrase. */
export function networkId(passphrase: string): Buffer {
  let id = networkIds.get(passphrase);
  if (!id) {
    id = createHash('sha256').update(passphrase, 'utf8').digest();
    networkIds.set(passphrase, id);
  }
  return id;
}
