import { describe, expect, it } from 'vitest';
import { compileConfig, ConfigError } from '../../src/config/index.js';

/** The runner keys worker groups rely on: explicit tags told apart from the default, and the init-command switch. Pure. */

const runner = (raw: object, env: NodeJS.ProcessEnv = {}) => compileConfig(raw, { env }).runner;

function refusal(raw: object, env: NodeJS.ProcessEnv = {}): ConfigError {
  try {
    compileConfig(raw, { env });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  return expect.fail('expected a ConfigError');
}

describe('runner config for worker groups', () => {
  it('tells tags that were set apart from the default', () => {
    expect(runner({})).toMatchObject({ tags: ['default'], ownTags: null });
    expect(runner({ node: { runner: { tags: ['gpu'] } } })).toMatchObject({ tags: ['gpu', 'default'], ownTags: ['gpu'] });
    expect(runner({ node: { runner: { tags: [] } } })).toMatchObject({ tags: ['default'], ownTags: [] });
    expect(runner({ node: { runner: { tags: ['default'] } } })).toMatchObject({ tags: ['default'], ownTags: ['default'] });
    expect(runner({ node: { runner: { tags: ['gpu'] } } }, { WORKER_TAGS: 'a, b,a' })).toMatchObject({ tags: ['a', 'b', 'default'], ownTags: ['a', 'b'] });
    // An empty variable counts as unset.
    expect(runner({}, { WORKER_TAGS: '' })).toMatchObject({ ownTags: null });
  });

  it('allows init commands only when asked, from the file or RUNNER_ALLOW_INIT_COMMAND', () => {
    expect(runner({})).toMatchObject({ allowInitCommand: false, initCommandTimeoutMs: 300_000 });
    expect(runner({ node: { runner: { allow_init_command: true, init_command_timeout_ms: 60_000 } } })).toMatchObject({ allowInitCommand: true, initCommandTimeoutMs: 60_000 });
    for (const [value, allowed] of [['true', true], ['1', true], ['YES', true], ['false', false], ['0', false], ['no', false]] as const) {
      expect(runner({ node: { runner: { allow_init_command: !allowed } } }, { RUNNER_ALLOW_INIT_COMMAND: value }).allowInitCommand, value).toBe(allowed);
    }
  });

  it('refuses bad values with the key and the reason', () => {
    expect(refusal({}, { RUNNER_ALLOW_INIT_COMMAND: 'maybe' }).message).toBe("environment: RUNNER_ALLOW_INIT_COMMAND: 'maybe' must be true or false");
    expect(refusal({ node: { runner: { allow_init_command: 'yes' } } }).message).toBe('built-in default config: node.runner.allow_init_command: must be true or false');
    expect(refusal({ node: { runner: { init_command_timeout_ms: 0 } } }).message).toBe('built-in default config: node.runner.init_command_timeout_ms: init_command_timeout_ms must be positive');
  });
});
