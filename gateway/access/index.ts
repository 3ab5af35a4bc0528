// The gateway's access-control module: what the gateway, its middleware and the CLI import.
export { AccessPolicy, ANONYMOUS, decidingRule, describeDecision, type Decision, type RuleSummary, type Subject } from './access-policy.js';
export { ACTIONS, ANY_USER, parsePolicyText, PolicyError, readPolicyDocument, type PolicyDocument, type RuleSpec } from './policy-document.js';
export { compileRepositoryGlob, GlobProblem, type RepositoryGlob } from './repository-glob.js';
export { describeAccessConfig, openPolicySource, readAccessPolicy, type PolicySource, type PolicySourceOptions } from './policy-source.js';
