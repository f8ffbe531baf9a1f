/**
 * Traversal-proof paths (the seed's third practice, for files the site serves
 * itself): `safeJoin` and `resolveInside` join a path from a URL under a root
 * directory only when it is a plain relative path of ordinary names. To serve the
 * files, with symlinks resolved and checked, use `staticFiles` from
 * `rampart/paths/static` (Node).
 *
 * @packageDocumentation
 */

export { resolveInside, safeJoin } from './join.ts';
export type { PathRejection, ResolvedPath, SafeJoinOptions } from './join.ts';
