export * from './history-log.ts';
export * from './state-tree.ts';
