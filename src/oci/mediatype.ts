/** Media types of the OCI image spec and of Docker's v2 schema 2, and the mapping between them. */

export const MediaType = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  ociLayerNondistributableGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerForeignLayerGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
} as const;

/** The two families of media types. One index never mixes them. */
export type Format = 'oci' | 'docker';

export const FORMATS: readonly Format[] = ['oci', 'docker'];

export function isIndexMediaType(mt: string | undefined): boolean {
  return mt === MediaType.ociIndex || mt === MediaType.dockerManifestList;
}

export function isManifestMediaType(mt: string | undefined): boolean {
  return mt === MediaType.ociManifest || mt === MediaType.dockerManifest;
}

export function isLayerMediaType(mt: string): boolean {
  return mt.startsWith('application/vnd.oci.image.layer.') || mt.startsWith('application/vnd.docker.image.rootfs.');
}

export function isGzipLayer(mt: string): boolean {
  return mt.endsWith('+gzip') || mt.endsWith('.tar.gzip');
}

export function formatOf(mt: string): Format {
  return mt.startsWith('application/vnd.docker.') ? 'docker' : 'oci';
}

/** The media types an image of `format` uses. */
export function mediaTypesFor(format: Format): { manifest: string; index: string; config: string; layerGzip: string } {
  return format === 'oci'
    ? { manifest: MediaType.ociManifest, index: MediaType.ociIndex, config: MediaType.ociConfig, layerGzip: MediaType.ociLayerGzip }
    : {
        manifest: MediaType.dockerManifest,
        index: MediaType.dockerManifestList,
        config: MediaType.dockerConfig,
        layerGzip: MediaType.dockerLayerGzip,
      };
}

const LAYER_TO_DOCKER: Record<string, string> = {
  [MediaType.ociLayerGzip]: MediaType.dockerLayerGzip,
  [MediaType.ociLayerNondistributableGzip]: MediaType.dockerForeignLayerGzip,
};
const LAYER_TO_OCI: Record<string, string> = {
  [MediaType.dockerLayerGzip]: MediaType.ociLayerGzip,
  [MediaType.dockerForeignLayerGzip]: MediaType.ociLayerNondistributableGzip,
};

/**
 * The same layer's media type in the other family; undefined when it has no equivalent there
 * (Docker has no uncompressed or zstd layer type).
 */
export function convertLayerMediaType(mt: string, to: Format): string | undefined {
  if (formatOf(mt) === to) return mt;
  return to === 'docker' ? LAYER_TO_DOCKER[mt] : LAYER_TO_OCI[mt];
}
