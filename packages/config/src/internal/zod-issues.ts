import { MlflowConfigError } from '@mlflow-kit/core';

/** The fields of a zod issue this package reads. */
export interface IssueLike {
  path: readonly PropertyKey[];
  message: string;
}

/** `model.layers.0.units`; the root is `(root)`. */
export function issuePath(path: readonly PropertyKey[]): string {
  return path.length === 0 ? '(root)' : path.map((segment) => String(segment)).join('.');
}

function issueMessage(message: string): string {
  // zod 4 prefixes its messages ("Invalid input: expected number, received string"); the path says where.
  return message.replace(/^Invalid (input|option|string|number|key|element|value):\s*/i, '');
}

/**
 * Turns zod issues into one {@link MlflowConfigError} listing every bad path, as in
 * `model.depth: expected number, received string`. `describeSource` may add where a value came from.
 */
export function configErrorFromIssues(
  issues: readonly IssueLike[],
  options: { cause?: unknown; describeSource?: (path: string) => string | undefined } = {},
): MlflowConfigError {
  const lines = issues.map((issue) => {
    const path = issuePath(issue.path);
    const source = options.describeSource?.(path);
    return `  - ${path}: ${issueMessage(issue.message)}${source ? ` (from ${source})` : ''}`;
  });
  const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
  const first = issues[0];
  return new MlflowConfigError(
    `Invalid config, ${count}:\n${lines.join('\n')}\nFix these values, or change the schema.`,
    {
      ...(first ? { setting: issuePath(first.path) } : {}),
      cause: options.cause,
    },
  );
}
