// faiss-proxy/langchain: a LangChain.js vector store over faiss-proxy collections.
// The only entry point that loads @langchain/core (an optional peer dependency).
export { FaissProxyStore } from './store';
export type { AddOptions, DeleteParams } from './store';
export type { FaissProxyStoreOptions } from './options';
export { PAGE_CONTENT_KEY } from './documents';
export type { Filter } from '../collections/types';
