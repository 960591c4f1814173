/** Tag computation: specs and templates, semver expansion, CI context, OCI labels. */
export { checkSkippedTags, computeTags, templateValues, DEFAULT_PR_TAG, DEFAULT_PUSH_TAG, type ComputeTagsInput, type ComputedTags, type SkippedTag, type Tag } from './compute.js';
export { collectTagContext, contextLabels, type TagContext, type TagContextOptions } from './context.js';
export { expandSemver } from './semver.js';
export {
  TEMPLATE_FIELDS,
  checkTagSpec,
  missingValues,
  parseTagSpec,
  renderTagSpec,
  tryParseTagSpec,
  type TagSpec,
  type TemplateField,
  type TemplatePart,
  type TemplateValues,
} from './spec.js';
