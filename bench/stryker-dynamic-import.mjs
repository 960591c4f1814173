// A Stryker ignorer for bench/mutation.sh: the path of a dynamic `import('...')` is not mutated.
// Stryker builds dist/ from the instrumented sources (stryker.config.mjs), and esbuild refuses
// to bundle `import("")`, so one such mutant would fail the whole run; none could survive anyway.
import { declareValuePlugin, PluginKind } from '@stryker-mutator/api/plugin';

export const strykerPlugins = [
  declareValuePlugin(PluginKind.Ignore, 'dynamic-import', {
    shouldIgnore(path) {
      const parent = path.parentPath;
      if (!parent || !(path.isStringLiteral() || path.isTemplateLiteral())) return undefined;
      if (parent.isImport?.() || (parent.isCallExpression() && parent.get('callee').isImport())) return 'the path of a dynamic import';
      if (parent.node?.type === 'ImportExpression') return 'the path of a dynamic import';
      return undefined;
    },
  }),
];
