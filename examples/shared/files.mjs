// Uploads and static files of the reference app, the same on every adapter. Node-only
// (disk storage, static files); each route handler returns a Web Response that the
// adapter's app writes its own way.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { staticFiles } from 'rampart/paths/static';
import { uploads } from 'rampart/uploads';
import { diskStorage } from 'rampart/uploads/disk';

/** The directory `GET /files/*` serves. */
export const STATIC_ROOT = fileURLToPath(new URL('../static/', import.meta.url)).replace(/\/$/, '');

/** Uploads (under `directory`: `$UPLOADS_DIR`, or a new temporary directory) and static files. */
export function createFiles(directory = process.env.UPLOADS_DIR ?? mkdtempSync(join(tmpdir(), 'rampart-uploads-'))) {
  return {
    directory,
    uploads: uploads({
      storage: diskStorage({ directory }),
      allowedTypes: ['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'application/pdf', 'text/plain'],
      fileFields: ['file'],
    }),
    statics: staticFiles({ root: STATIC_ROOT }),
  };
}

/** `POST /upload`: stores the form's `file` and answers `{ id }` (201), or 400 when it had none. */
export async function receiveUpload(files, source) {
  const form = await files.uploads.receive(source);
  const file = form.file('file');
  if (!file) return Response.json({ error: 'The form has no file in its "file" field.' }, { status: 400 });
  return Response.json({ id: file.id, name: file.name, type: file.type, size: file.size }, { status: 201, headers: { location: `/uploads/${file.id}` } });
}

/** `GET /uploads/:id`: the stored file, as a sandboxed download (or an inline image). */
export function serveUpload(files, id, request) {
  return files.uploads.serve(id, request);
}

/** `GET /files/*`: `path` is what follows `/files/` in the request's path, still percent-encoded. */
export function serveStatic(files, path, request) {
  return files.statics.serve(path, request);
}

/** What follows `prefix` in a request target, without the query. */
export function pathAfter(target, prefix) {
  const end = target.search(/[?#]/);
  return (end === -1 ? target : target.slice(0, end)).slice(prefix.length);
}
