import type { ImageConfig } from '../oci/manifest.js';
import type { Platform } from '../oci/platform.js';

/**
 * berth's `static` base: the equivalent of distroless/static, made by berth itself. Its one
 * layer is the same for every architecture; only the config's platform fields differ.
 */

export const NONROOT = 65532;

export interface StaticBaseFile {
  path: string;
  type: 'file' | 'directory';
  mode: number;
  uid: number;
  gid: number;
  content?: string;
}

const PASSWD = `root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:${NONROOT}:${NONROOT}:nonroot:/home/nonroot:/sbin/nologin
`;

const GROUP = `root:x:0:
tty:x:5:
staff:x:50:
nonroot:x:${NONROOT}:
nobody:x:65534:
`;

const NSSWITCH = `passwd:         files
group:          files
shadow:         files
hosts:          files dns
networks:       files
protocols:      files
services:       files
ethers:         files
rpc:            files
`;

const OS_RELEASE = `PRETTY_NAME="berth static"
NAME="berth static"
ID=berth-static
VERSION_ID="1"
HOME_URL="https://github.com/berth-build/berth"
`;

const dir = (path: string, mode = 0o755, owner = 0): StaticBaseFile => ({ path, type: 'directory', mode, uid: owner, gid: owner });
const file = (path: string, content: string): StaticBaseFile => ({ path, type: 'file', mode: 0o644, uid: 0, gid: 0, content });

export const STATIC_BASE_FILES: readonly StaticBaseFile[] = [
  dir('etc'),
  file('etc/group', GROUP),
  file('etc/nsswitch.conf', NSSWITCH),
  file('etc/os-release', OS_RELEASE),
  file('etc/passwd', PASSWD),
  dir('home'),
  dir('home/nonroot', 0o700, NONROOT),
  dir('root', 0o700),
  dir('tmp', 0o1777),
];

/** The static base's config for a platform, before its layer is added. */
export function staticBaseConfig(platform: Platform): ImageConfig {
  return {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: {
      User: `${NONROOT}:${NONROOT}`,
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      WorkingDir: '/home/nonroot',
    },
    rootfs: { type: 'layers', diff_ids: [] },
    history: [],
  };
}
