/**
 * Makes a helper once per SDK client, so every store of a profile shares what it holds (its
 * connections, the endpoints it resolved), and a client that goes away takes it along.
 */
export function perClient<C extends object, T>(make: (client: C) => T): (client: C) => T {
  const made = new WeakMap<C, T>();
  return (client) => {
    if (!made.has(client)) made.set(client, make(client));
    return made.get(client)!;
  };
}
