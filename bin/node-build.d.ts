// Types of node-build.js (plain JavaScript: the launcher loads it before anything else).
export type NodeBuildFileRecord = { path: string; bytes: number; mtimeMs: number; sha256: string };
export declare const nodeBuildFolder: string;
export declare const nodeBuildEntry: string;
export declare const nodeBuildManifest: string;
export declare const nodeBuildFormat: number;
export declare function fileRecord(
  root: string,
  file: string,
  content?: Uint8Array,
): NodeBuildFileRecord;
export declare function checkNodeBuild(
  root: string,
): { fresh: true; entry: URL } | { fresh: false; reason: string };
export declare function saveNodeBuildManifest(
  root: string,
  records: { inputs: readonly NodeBuildFileRecord[]; outputs: readonly NodeBuildFileRecord[] },
): void;
