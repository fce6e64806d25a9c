/** `npm run bench -- <name>`: runs one benchmark; each prints JSON lines on stdout. */
const BENCHES: Record<string, () => Promise<unknown>> = {
  copy: () => import('./copy.js'),
  shadow: () => import('./shadow.js'),
  gateway: () => import('./gateway.js'),
  scale: () => import('./scale.js'),
};

const name = process.argv[2];
const load = name ? BENCHES[name] : undefined;
if (!load) {
  console.error(`usage: npm run bench -- <${Object.keys(BENCHES).join('|')}>`);
  process.exit(2);
}
await load();
