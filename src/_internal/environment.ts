/**
 * Environment variables where the runtime has them (Node, Bun, Deno's Node
 * compatibility), read without Node's types so the core compiles without them.
 */
export function environmentVariable(name: string): string | undefined {
  return (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[name];
}
