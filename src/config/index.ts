/** The config module: the only code that reads config files and environment variables. */
export type { NodeConfig } from './node-config.js';
export { loadConfig, compileConfig, ConfigError, type LoadConfigOptions, type CompileConfigOptions } from './load-config.js';
export { formatConfigError } from './check-config.js';
export { embeddedDefaultConfig, examplesModulePath } from './embedded-default.js';
export { splitFuncName, type ConfigProblem } from './config-schema.js';
