export { PMap, type TransientPMap } from './pmap.ts';
export { PQueue } from './pqueue.ts';
export { PHeap } from './pheap.ts';
