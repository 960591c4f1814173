/**
 * The `Examples:` section of each command's --help, taken from README's uses. Kept here, in
 * one table, so that every command gets one (a command missing from it fails test/cli/cli-docs.test.ts).
 */
export const EXAMPLES: Record<string, readonly (readonly [string, string])[]> = {
  build: [
    ['berth build --base static -p linux/arm64 --file bin/app-arm64:/app/app:0755 --entrypoint /app/app -t quay.io/org/app:v1 -o out/app-arm64.tar', 'one platform\'s image on berth\'s static base'],
    ['berth build --base oci:dist/base:static -p linux/amd64 --layer layer.tar.gz -o oci:dist/images', 'from a base in an OCI layout, into a layout'],
    ['berth build --dockerfile images/app/Dockerfile -p linux/amd64 -p linux/arm64 --build-context base=berth:static -t quay.io/org/app:v1 -o out/app.tar', 'a Dockerfile for two platforms (an index), natively when it has no RUN'],
  ],
  inspect: [
    ['berth inspect out/app.tar', 'names, platforms, layers and config of an image or index'],
    ['berth inspect --raw quay.io/org/app:v1', 'the manifest bytes as stored'],
    ['berth inspect --json oci:dist/release', 'every name and image as JSON'],
    ['berth inspect --attestations quay.io/org/app:v1', 'signatures, attestations and referrers attached to an image'],
  ],
  base: [['berth base static -o out/static-base.tar -p linux/amd64 -p linux/arm64', "berth's distroless-static equivalent, as an index"]],
  status: [['berth status', 'the workspace status keys Bazel stamps with']],
  tags: [
    ["berth tags -t 'v{{ .Date }}-{{ .ShortSHA }}' --semver", 'the tags this commit gets'],
    ["berth tags -t 'pr-{{ .PRNumber }}' --skip-empty-tags", 'leave out a tag with no value here'],
  ],
  push: [['berth push out/app.tar quay.io/org/app:v1', 'prints the pushed digest']],
  pull: [['berth pull quay.io/org/app:v1 -o out/app.tar -p linux/arm64', "one platform's image into a tarball"]],
  copy: [
    ['berth copy docker-archive:app.tar docker://127.0.0.1:5000/app:v1', 'locations as skopeo writes them'],
    ['berth copy a.tar b.tar -t quay.io/org/app:v2', 're-name a local copy; the digest stays'],
    ['berth copy quay.io/org/app:v1 ghcr.io/org/app:v1 --src-creds user --dest-creds user2:pass2', 'between registries, with credentials'],
  ],
  index: [['berth index --image amd64.tar --image arm64.tar -o multi.tar', 'one local index from per-platform images']],
  release: [
    ['berth release --config release.yaml --dry-run', 'print the plan; touch nothing'],
    ["berth release --component 'app=out/app-*.tar' --registry quay.io/org -t v1.2.3", 'publish one multi-arch index'],
    ["berth release --component 'app=out/app-*.tar' -t v1 -o oci:dist/release", 'into a local OCI layout, no network'],
    ["berth release --component 'app=out/app-*.tar' --registry quay.io/org -t v1 --sign --provenance --key cosign.key", 'signed, with signed SLSA provenance attached'],
  ],
  sign: [
    ['COSIGN_PASSWORD=... berth sign --key cosign.key quay.io/org/app:v1 --recursive', 'sign an index and every image in it'],
    ['berth sign --config berth.yaml europe-docker.pkg.dev/kyma-project/prod/app:v1', "sign-only: berth.yaml's signers (cosign keys, notary services) for this org/repo"],
  ],
  verify: [
    ['berth verify --key cosign.pub quay.io/org/app:v1', 'exit 0 only if a signature verifies'],
    ['berth verify --attestation slsaprovenance --key cosign.pub quay.io/org/app:v1 --require commit=1a2b3c4 --json', 'check the signed provenance; print the statement'],
  ],
  keygen: [['COSIGN_PASSWORD=... berth keygen --output-key-prefix cosign', 'cosign.key and cosign.pub']],
  cache: [
    ['berth cache prune --max-size 2GB', 'keep the most recently used RUN steps and cache mounts that fit in 2 GB'],
    ['berth cache prune --all', 'empty the step cache'],
    ['berth cache prune', 'also removes the work folders of berth runs killed with -9'],
  ],
  images: [
    ['berth images list --registry ghcr.io/org/images --json', 'content-hash tags, platforms, and what the registry has'],
    ['berth images push --all --registry ghcr.io/org/images -p linux/amd64 -p linux/arm64', 'build and push only what the registry lacks'],
    ['berth images load app --into podman', 'pull by hash or build, then load under its local name'],
  ],
  load: [['berth load out/app.tar -p linux/arm64 --into docker', "one platform's image into Docker under its name"]],
  login: [['echo "$PASSWORD" | berth login quay.io -u robot --password-stdin', "store credentials in docker's config.json"]],
  logout: [['berth logout quay.io', 'forget them']],
  version: [['berth version', "berth's version, node's, and the platform"]],
};

/** Short forms given wherever the long flag exists, as docker, skopeo and crane users expect. */
export const SHORT_FLAGS: Record<string, string> = { output: 'o', tag: 't', platform: 'p' };
