/** Well-known annotation and label keys of the OCI image spec. */
export const Annotation = {
  refName: 'org.opencontainers.image.ref.name',
  created: 'org.opencontainers.image.created',
  version: 'org.opencontainers.image.version',
  revision: 'org.opencontainers.image.revision',
  source: 'org.opencontainers.image.source',
  title: 'org.opencontainers.image.title',
  baseName: 'org.opencontainers.image.base.name',
  baseDigest: 'org.opencontainers.image.base.digest',
  /** containerd's and Docker's key for the full image name in an OCI layout's index.json. */
  containerdImageName: 'io.containerd.image.name',
} as const;
