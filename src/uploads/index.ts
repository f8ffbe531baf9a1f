/**
 * `rampart/uploads`: multipart uploads with finite limits on every dimension, stored
 * under random names, served back only as downloads.
 *
 * @packageDocumentation
 */

export { MultipartParser, type MultipartHandler, type MultipartParserLimits, type PartInfo } from './multipart.ts';
