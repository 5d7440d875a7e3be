/**
 * Version of the layout of mlflow-kit's process-wide state. Raise the minor when a part is added, the major
 * when a part changes shape (the global key changes with it, so copies of different majors never meet).
 */
export const GLOBAL_VERSION = '1.0.0';

/** Where the global registry reports refused registrations. */
export interface GlobalReporter {
  error(message: string): void;
  debug(message: string): void;
}

/** What the global key points at: the version of the copy that created it, and every registered part. */
interface GlobalHolder {
  version: string;
  parts: Record<string, unknown>;
}

/** One copy's view of the process-wide state that every copy of mlflow-kit in a process shares. */
export interface GlobalRegistry {
  /** The layout version this copy was built with. */
  readonly version: string;
  /**
   * Registers `value` as the part `name`. Refuses, reports through the reporter and returns `false` when
   * the part is already registered or the registered state comes from an incompatible copy.
   */
  register(name: string, value: unknown): boolean;
  /** The part `name`, or `undefined` when it is not registered or the registered state is incompatible. */
  get<T>(name: string): T | undefined;
  /** Removes the part `name`. */
  unregister(name: string): void;
  /**
   * The part `name`, registered from `create()` on first use. When an incompatible copy holds the global
   * state, this copy keeps a private part instead, and says so once.
   */
  part<T>(name: string, create: () => T): T;
}

function parseVersion(version: string): [number, number] {
  const [major = Number.NaN, minor = Number.NaN] = version.split('.').map(Number);
  return [major, minor];
}

/**
 * Whether state registered by a copy of layout `registered` serves a copy of layout `own`: same major, and
 * the registered copy knows at least the parts this one knows (before 1.0, the same minor).
 */
export function isCompatibleVersion(registered: string, own: string): boolean {
  const [registeredMajor, registeredMinor] = parseVersion(registered);
  const [ownMajor, ownMinor] = parseVersion(own);
  if (registeredMajor !== ownMajor || Number.isNaN(ownMajor)) return false;
  return ownMajor === 0 ? registeredMinor === ownMinor : registeredMinor >= ownMinor;
}

/**
 * A registry for layout `version`, keeping its state under one `Symbol.for` key (carrying the major) on
 * `target`. Tests pass their own `target` and versions to play two copies of the package.
 */
export function createGlobalRegistry(
  version: string,
  reporter: GlobalReporter,
  target: object = globalThis,
): GlobalRegistry {
  const key = Symbol.for(`@mlflow-kit/global/v${parseVersion(version)[0]}`);
  const slots = target as { [key]?: GlobalHolder };
  // Parts this copy keeps to itself because an incompatible copy holds the global state.
  const privateParts = new Map<string, unknown>();

  function compatibleHolder(): GlobalHolder | undefined {
    const holder = slots[key];
    return holder && isCompatibleVersion(holder.version, version) ? holder : undefined;
  }

  const registry: GlobalRegistry = {
    version,
    register(name, value) {
      slots[key] ??= { version, parts: {} };
      const holder = slots[key];
      if (!isCompatibleVersion(holder.version, version)) {
        reporter.error(
          `Refused to register the global ${name}: this copy of mlflow-kit has layout ${version}, the ` +
            `registered state layout ${holder.version}. Install one version of the @mlflow-kit packages.`,
        );
        return false;
      }
      if (Object.hasOwn(holder.parts, name)) {
        reporter.error(`Refused to register the global ${name} twice.`);
        return false;
      }
      holder.parts[name] = value;
      reporter.debug(`Registered the global ${name} (layout ${version}).`);
      return true;
    },
    get<T>(name: string): T | undefined {
      if (privateParts.has(name)) return privateParts.get(name) as T;
      return compatibleHolder()?.parts[name] as T | undefined;
    },
    unregister(name) {
      privateParts.delete(name);
      const holder = compatibleHolder();
      if (holder) delete holder.parts[name];
    },
    part<T>(name: string, create: () => T): T {
      const existing = registry.get<T>(name);
      if (existing !== undefined) return existing;
      const value = create();
      const holder = slots[key];
      if (holder && !isCompatibleVersion(holder.version, version)) {
        // Kept before reporting: the reporter may itself read a part (diag reads its logger).
        privateParts.set(name, value);
        reporter.error(
          `Another copy of mlflow-kit (state layout ${holder.version}) is loaded; this copy (layout ` +
            `${version}) keeps its own ${name}. Install one version of the @mlflow-kit packages.`,
        );
        return value;
      }
      registry.register(name, value);
      return value;
    },
  };
  return registry;
}

// Set by diag when it loads (diag keeps its own state in this registry, so this module cannot import it).
let reporter: GlobalReporter | undefined;

/** Sends the reports of {@link globals} to `target`: the diag logger, which calls this when it loads. */
export function reportGlobalsTo(target: GlobalReporter): void {
  reporter = target;
}

/** The registry of this copy of mlflow-kit, on `globalThis`, reporting through diag. */
export const globals: GlobalRegistry = createGlobalRegistry(GLOBAL_VERSION, {
  error: (message) => reporter?.error(message),
  debug: (message) => reporter?.debug(message),
});

/**
 * The process-wide part `name`, shared by every compatible copy of the mlflow-kit packages loaded in the
 * process and created from `create()` on first use. For mlflow-kit's adapter packages; name parts
 * `<package>.<part>`, for example `tfjs.autolog`.
 *
 * @example
 * ```ts
 * const state = globalPart('tfjs.autolog', () => ({ undo: undefined as (() => void) | undefined }));
 * ```
 */
export function globalPart<T>(name: string, create: () => T): T {
  return globals.part(name, create);
}
