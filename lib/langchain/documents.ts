// A LangChain Document <-> a collection point's payload. The metadata's keys stay
// at the top level of the payload, so a filter names them as the user wrote them
// ({ key: "source", ... }); the page content rides along under one reserved key.
import { Document, type DocumentInterface } from '@langchain/core/documents';
import { payloadArg } from '../collections/input';
import { COLLECTION_LIMITS } from '../collections/limits';
import type { Hit, Payload } from '../collections/types';
import { FaissError } from '../errors';
import { invalidParameterError, isObject } from '../is';

/** The payload key that holds a document's pageContent (a metadata key of this name is refused). */
export const PAGE_CONTENT_KEY = '_pageContent';

/**
 * The payload stored for one document: a copy of its metadata (checked as JSON
 * here, so an error names the document, and later changes to the caller's object
 * change nothing), plus its page content under PAGE_CONTENT_KEY.
 */
export function payloadOf(doc: DocumentInterface, where: string): Payload {
  if (!isObject(doc)) throw invalidParameterError(where, 'a Document', doc);
  if (typeof doc.pageContent !== 'string') throw invalidParameterError(`${where}.pageContent`, 'a string', doc.pageContent);
  const metadata: unknown = doc.metadata ?? {};
  if (!isObject(metadata)) throw invalidParameterError(`${where}.metadata`, 'an object', metadata);
  if (Object.prototype.hasOwnProperty.call(metadata, PAGE_CONTENT_KEY)) {
    throw new FaissError(
      `${where}.metadata has a key "${PAGE_CONTENT_KEY}", which FaissProxyStore reserves for the page content: rename it`,
      'ERR_INVALID_ARGUMENT',
    );
  }
  // The collection holds the payload to its own size limit; this is the largest any may have.
  const { payload } = payloadArg(metadata, COLLECTION_LIMITS.maxPayloadBytesSetting, `${where}.metadata`);
  return { ...payload, [PAGE_CONTENT_KEY]: doc.pageContent };
}

/** The document a search hit stands for; a point stored without a page content gives "". */
export function documentOf(hit: Hit): Document {
  const { [PAGE_CONTENT_KEY]: pageContent, ...metadata } = hit.payload ?? {};
  return new Document({ pageContent: typeof pageContent === 'string' ? pageContent : '', metadata, id: hit.id });
}
