export { PMap, type TransientPMap } from './pmap.ts';
export { PQueue } from './pqueue.ts';
