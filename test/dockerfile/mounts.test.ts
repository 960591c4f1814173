import { describe, expect, it } from '@jest/globals';
import { MountError, parseMount, parseRunFlags } from '../../src/dockerfile/mounts.js';

describe('RUN --mount, as BuildKit reads it', () => {
  it.each([
    ['target=.', '/app', { type: 'bind', target: '/app', source: '', rw: false }],
    ['type=bind,source=./src/,target=/src,rw', '/', { type: 'bind', target: '/src', source: 'src', rw: true }],
    ['type=bind,from=builder,src=/out,dst=out,readonly=false', '/w', { type: 'bind', target: '/w/out', source: 'out', from: 'builder', rw: true }],
    ['type=cache,target=/root/.cache/go-build', '/', { type: 'cache', target: '/root/.cache/go-build', id: '/root/.cache/go-build', source: '', sharing: 'shared', mode: 0o755, uid: 0, gid: 0, readonly: false }],
    ['type=cache,id=gomod,target=/go/pkg/mod,sharing=locked,mode=0777,uid=1000,gid=1000', '/', { type: 'cache', target: '/go/pkg/mod', id: 'gomod', source: '', sharing: 'locked', mode: 0o777, uid: 1000, gid: 1000, readonly: false }],
    ['type=tmpfs,target=/tmp,size=64m', '/', { type: 'tmpfs', target: '/tmp', size: 64 * 1024 * 1024 }],
    ['type=secret,id=npmrc', '/', { type: 'secret', target: '/run/secrets/npmrc', id: 'npmrc', required: false, mode: 0o400, uid: 0, gid: 0 }],
    ['type=secret,id=tok,target=/etc/tok,required,mode=0440', '/', { type: 'secret', target: '/etc/tok', id: 'tok', required: true, mode: 0o440, uid: 0, gid: 0 }],
    ['type=bind,source=../../etc,target=/x', '/', { type: 'bind', target: '/x', source: 'etc', rw: false }],
  ])('%s (workdir %s)', (text, workdir, want) => {
    expect(parseMount(text, workdir)).toEqual(want);
  });

  it.each([
    ['type=ssh', /forwards no SSH agent/],
    ['type=volume,target=/x', /unknown type "volume"/],
    ['type=bind', /needs target=/],
    ['type=cache,target=/x,sharing=sometimes', /sharing=sometimes/],
    ['type=cache,target=/x,mode=rwx', /not an octal mode/],
    ['type=tmpfs,target=/x,colour=blue', /unknown key "colour"/],
    ['type=secret', /needs id= or target=/],
    ['target=/x,rw=maybe', /rw=maybe: give true or false/],
  ])('refuses %s', (text, why) => {
    expect(() => parseMount(text, '/')).toThrow(MountError);
    expect(() => parseMount(text, '/')).toThrow(why);
  });

  it('takes --network and refuses --security=insecure and two mounts at one target', () => {
    expect(parseRunFlags(['--network=none', '--mount=type=tmpfs,target=/t'], '/')).toEqual({ network: 'none', mounts: [{ type: 'tmpfs', target: '/t' }] });
    expect(() => parseRunFlags(['--security=insecure'], '/')).toThrow(/sandboxed only/);
    expect(() => parseRunFlags(['--mount=target=/a', '--mount=type=tmpfs,target=/a'], '/')).toThrow(/two mounts at \/a/);
    expect(() => parseRunFlags(['--device=/dev/x'], '/')).toThrow(/unknown flag: --device/);
  });
});
