/**
 * For `--dry-run`: what a registry already holds of the plan, found with reads only (HEAD on
 * manifests and blobs). Returns a new plan whose blob steps count what is there and whose
 * tag steps say whether the tag is already on the digest.
 */
import pLimit from 'p-limit';
import type { Descriptor } from '../oci/descriptor.js';
import type { Registries } from '../registry/index.js';
import type { PlanTarget, ReleasePlan, Step } from './release-plan.js';

export async function markExisting(plan: ReleasePlan, registries: Registries): Promise<ReleasePlan> {
  if (plan.destination.kind !== 'registries') return plan;
  const limit = pLimit(registries.jobs * 2);
  const components = await Promise.all(
    plan.components.map(async (c) => {
      const descs = new Map<string, Descriptor>();
      for (const i of c.images) for (const d of [...i.image.manifest.layers, i.image.manifest.config]) descs.set(d.digest, d);
      const targets = await Promise.all(
        c.targets.map(async (t): Promise<PlanTarget> => {
          const client = registries.client(t.registry!);
          const top = await limit(() => client.headManifest(t.path!, t.digest));
          const steps = await Promise.all(
            t.steps.map(async (s): Promise<Step> => {
              if (s.kind === 'blobs') {
                if (top) return { ...s, existing: s.digests.length };
                const there = await Promise.all(s.digests.map((d) => limit(() => client.hasBlob(t.path!, descs.get(d)!))));
                return { ...s, existing: there.filter(Boolean).length };
              }
              if (s.kind === 'tag') return { ...s, existing: (await limit(() => client.headManifest(t.path!, s.tag)))?.digest === s.digest };
              if (s.kind === 'sign') return s;
              return { ...s, existing: top !== undefined };
            }),
          );
          return { ...t, steps };
        }),
      );
      return { ...c, targets };
    }),
  );
  return { ...plan, components };
}
