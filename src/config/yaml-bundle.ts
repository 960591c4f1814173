/**
 * The part of the `yaml` package berth's lean status bundle uses, bundled on its own into
 * dist/lean/yaml.cjs (see the build script), so the status entry point loads it only when
 * berth.yaml has to be parsed.
 */
export { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, visit } from 'yaml';
