import type { Config } from '../../../src/config/index.js';
import { parseConfig } from '../../../src/config/index.js';
import type { ControlStore } from '../../../src/control/control-store.js';
import { ControlDb } from '../../../src/control/sqlite-control-store.js';

/** A configuration with one customer (`acme`, origid fixed) on one originating trunk (`pbx`). */
export function controlConfig(): Config {
  return parseConfig(
    `
listen: [{ transport: udp, address: 127.0.0.1, port: 5060 }]
trunks:
  - { name: pbx, match: { sources: [127.0.0.2/32] }, role: originating, route: next }
routes:
  - { name: next, next_hops: [{ address: 127.0.0.1, port: 5070, transport: udp }] }
customers:
  - { name: acme, trunks: [pbx], numbers: ["1202555*"], origid: 0b6c1f3e-2b7a-4c1e-9a7e-3f0d2c1b4a5e }
data_dir: /tmp/unused
`,
    'test',
    { version: 'test' },
  );
}

/** The SQLite control store in this thread, behind the async interface (the store thread's shape). */
export function inProcessStore(file: string): ControlStore & { readonly db: ControlDb } {
  const db = ControlDb.open(file);
  return {
    db,
    load: async () => db.load(),
    addBlock: async (b, r) => db.addBlock(b, r),
    removeBlock: async (id, r) => db.removeBlock(id, r),
    expireBlocks: async (now) => db.expireBlocks(now),
    setLimits: async (c, o, ch) => db.setLimits(c, o, ch),
    appendAudit: async (e) => db.appendAudit(e),
    listBlocks: async (all) => db.listBlocks(all),
    audit: async (q) => db.audit(q),
    close: async () => db.close(),
  };
}
