import { BaseSequencer, type TestSpecification } from 'vitest/node';

// The integration files that take minutes at full size, longest first (durations of a full-size CI run on
// 2 cores). Started first, they run beside the many short files instead of after them; a fresh clone has no
// timing cache, and vitest would otherwise start the largest files by size, not by time.
const HEAVY = [
  'test/core/spool-million.test.ts',
  'test/core/fault-matrix.test.ts',
  'test/core/spool.test.ts',
  'test/core/spool-replay.test.ts',
  'test/cli/sync.test.ts',
  'test/core/team-scale.test.ts',
  'test/tfjs/tfjs.test.ts',
];

function rank(spec: TestSpecification): number {
  const index = HEAVY.findIndex((path) => spec.moduleId.endsWith(path));
  return index === -1 ? HEAVY.length : index;
}

/** vitest's order (projects, failed first, cached durations), with the known heavy files moved to the front. */
export default class HeavyFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const position = new Map(sorted.map((spec, index) => [spec, index]));
    return [...sorted].sort(
      (a, b) =>
        (a.project.name === b.project.name ? rank(a) - rank(b) : 0) || position.get(a)! - position.get(b)!,
    );
  }
}
