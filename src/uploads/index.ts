/**
 * `rampart/uploads`: multipart uploads with finite limits on every dimension, stored
 * under random names, served back only as downloads.
 *
 * @packageDocumentation
 */

export { MultipartParser, type MultipartHandler, type MultipartParserLimits, type PartInfo } from './multipart.ts';
export { memoryStorage, type OpenedUpload, type StoredUpload, type UploadSink, type UploadStorage } from './storage.ts';
export { UPLOAD_TYPES, type UploadType } from './sniff.ts';
export {
  Uploads,
  uploads,
  type NodeReadableRequest,
  type ReceivedForm,
  type ServeOptions,
  type ServeRequest,
  type UploadLimits,
  type UploadSource,
  type UploadsOptions,
} from './uploads.ts';
