import { describe, expect, it } from 'vitest';
import { setDiagLogger } from '../diag.js';
import { createGlobalRegistry, GLOBAL_VERSION, globals, isCompatibleVersion } from './global.js';

function recorder() {
  const errors: string[] = [];
  return { errors, reporter: { error: (message: string) => errors.push(message), debug: () => {} } };
}

describe('global registry', () => {
  it('shares one part between two copies of the same layout', () => {
    const target = {};
    const first = createGlobalRegistry('1.2.0', recorder().reporter, target);
    const second = createGlobalRegistry('1.2.3', recorder().reporter, target);
    const state = first.part('core.test', () => ({ count: 1 }));
    expect(second.part('core.test', () => ({ count: 2 }))).toBe(state);
    expect(Object.getOwnPropertySymbols(target)).toEqual([Symbol.for('@mlflow-kit/global/v1')]);
  });

  it('refuses to register a part twice and reports it', () => {
    const { errors, reporter } = recorder();
    const registry = createGlobalRegistry('1.0.0', reporter, {});
    expect(registry.register('core.test', 'first')).toBe(true);
    expect(registry.register('core.test', 'second')).toBe(false);
    expect(registry.get('core.test')).toBe('first');
    expect(errors).toEqual(['Refused to register the global core.test twice.']);
  });

  it('reads nothing from a copy whose layout is older than its own, and keeps a private part instead', () => {
    const target = {};
    const older = createGlobalRegistry('1.0.0', recorder().reporter, target);
    const { errors, reporter } = recorder();
    const newer = createGlobalRegistry('1.1.0', reporter, target);
    const shared = older.part('core.test', () => ({ copy: 'older' }));
    expect(newer.get('core.test')).toBeUndefined();
    const own = newer.part('core.test', () => ({ copy: 'newer' }));
    expect(own).toEqual({ copy: 'newer' });
    expect(newer.part('core.test', () => ({ copy: 'again' }))).toBe(own);
    expect(older.get('core.test')).toBe(shared);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('layout 1.0.0');
    expect(newer.register('core.other', 1)).toBe(false);
  });

  it('serves a copy whose layout is older than the registered one', () => {
    const target = {};
    const newer = createGlobalRegistry('1.3.0', recorder().reporter, target);
    const older = createGlobalRegistry('1.1.0', recorder().reporter, target);
    newer.register('core.test', 'shared');
    expect(older.get('core.test')).toBe('shared');
  });

  it('keeps copies of different majors under different keys', () => {
    const target = {};
    createGlobalRegistry('1.0.0', recorder().reporter, target).register('core.test', 'one');
    const two = createGlobalRegistry('2.0.0', recorder().reporter, target);
    expect(two.get('core.test')).toBeUndefined();
    expect(two.register('core.test', 'two')).toBe(true);
    expect(Object.getOwnPropertySymbols(target)).toHaveLength(2);
  });

  it('unregisters a part', () => {
    const registry = createGlobalRegistry('1.0.0', recorder().reporter, {});
    registry.register('core.test', 'value');
    registry.unregister('core.test');
    expect(registry.get('core.test')).toBeUndefined();
  });

  it('judges compatibility by major, then minor (exact minor before 1.0)', () => {
    expect(isCompatibleVersion('1.4.0', '1.2.9')).toBe(true);
    expect(isCompatibleVersion('1.2.0', '1.4.0')).toBe(false);
    expect(isCompatibleVersion('2.0.0', '1.0.0')).toBe(false);
    expect(isCompatibleVersion('0.3.1', '0.3.0')).toBe(true);
    expect(isCompatibleVersion('0.4.0', '0.3.0')).toBe(false);
    expect(isCompatibleVersion('not-a-version', '1.0.0')).toBe(false);
  });

  it('holds every part of this copy under one key on globalThis', () => {
    globals.part('core.diag', () => ({}));
    const holder = (globalThis as Record<symbol, { version: string; parts: Record<string, unknown> }>)[
      Symbol.for(`@mlflow-kit/global/v${GLOBAL_VERSION.split('.')[0]}`)
    ];
    expect(holder?.version).toBe(GLOBAL_VERSION);
    expect(Object.keys(holder?.parts ?? {})).toContain('core.diag');
  });

  it("reports the process registry's refusals through the diag logger", () => {
    const messages: string[] = [];
    const record = (message: string) => messages.push(message);
    setDiagLogger({ error: record, warn: record, info: record, debug: record }, 'error');
    try {
      globals.part('core.test-refusal', () => 1);
      expect(globals.register('core.test-refusal', 2)).toBe(false);
    } finally {
      setDiagLogger(undefined);
      globals.unregister('core.test-refusal');
    }
    expect(messages).toEqual(['[mlflow-kit] Refused to register the global core.test-refusal twice.']);
  });
});
