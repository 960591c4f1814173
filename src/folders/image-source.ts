/**
 * An `ImageSource` file: one image reference to take a platform's image from (MicroShift's
 * side-images). Comments (`#`) and blank lines are allowed around it; CRLF line ends too. A digest pins it; a
 * tag is resolved when the plan is made, and the plan reports what it resolved to.
 */
import { UsageError } from '../errors.js';
import { parseReference, type Reference } from '../oci/reference.js';

export function parseImageSource(text: string, where: string): Reference {
  const lines = text
    .split('\n')
    .map((l, i) => ({ text: l.replace(/#.*/, '').trim(), line: i + 1 }))
    .filter((l) => l.text !== '');
  if (lines.length === 0) throw new UsageError('BAD_IMAGE_FOLDER', `${where}: empty; write one image reference, e.g. quay.io/org/image@sha256:...`);
  if (lines.length > 1) throw new UsageError('BAD_IMAGE_FOLDER', `${where}:${lines[1]!.line}: more than one image reference; an ImageSource names exactly one`);
  const only = lines[0]!;
  try {
    return parseReference(only.text);
  } catch (err) {
    throw new UsageError('BAD_IMAGE_FOLDER', `${where}:${only.line}: ${(err as Error).message}`, { cause: err });
  }
}
