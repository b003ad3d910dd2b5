export { type Cidr, type CidrResult, compileSourceMatcher, type IpFamily, parseCidr } from './cidr.js';
export {
  ConfigError,
  type ConfigErrorCode,
  type ConfigProblem,
  type ConfigProblemCode,
  formatProblem,
} from './config-error.js';
export { type ConfigWarning, type ConfigWarningCode, configWarnings } from './config-warnings.js';
export { DEFAULT_CONFIG_SOURCE, DEFAULT_CONFIG_YAML } from './default-config.js';
export { type ConfigKeyDoc, describeConfig, renderConfigTable } from './describe-config.js';
export {
  type CheckResult,
  checkConfigFile,
  ENV_OVERRIDES,
  type LoadOptions,
  loadConfig,
  missingOrigids,
  type ParseOptions,
  parseConfig,
  withOrigids,
} from './load-config.js';
export type * from './types.js';
