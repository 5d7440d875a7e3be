/**
 * The tags MLflow sets on a run, as a page knows them: the page's address (without query or fragment,
 * which may carry tokens) as the source, and no user (a page cannot know who runs it; pass the
 * `mlflow.user` tag to set one).
 */
export function pageRunTags(): Record<string, string> {
  const location = (globalThis as { location?: { origin: string; pathname: string } }).location;
  return {
    'mlflow.user': 'unknown',
    'mlflow.source.name': location ? `${location.origin}${location.pathname}` : '<browser>',
    'mlflow.source.type': 'LOCAL',
  };
}
