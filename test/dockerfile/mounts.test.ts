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

describe('RUN --mount, the remaining forms', () => {
  it.each([
    // Keys are case-blind; a value keeps its case; a quoted field holds commas (Go's encoding/csv).
    ['Type=bind,TARGET=/x,Source="a,b"', '/', { type: 'bind', target: '/x', source: 'a,b', rw: false }],
    ['target=/x,ro', '/', { type: 'bind', target: '/x', source: '', rw: false }],
    ['target=/x,ro=false', '/', { type: 'bind', target: '/x', source: '', rw: true }],
    ['target=/x,readwrite=1', '/', { type: 'bind', target: '/x', source: '', rw: true }],
    ['target=/x,rw=0,readonly=false', '/', { type: 'bind', target: '/x', source: '', rw: false }],
    ['target=x,,source=.', '/w', { type: 'bind', target: '/w/x', source: '', rw: false }],
    ['target=/x,source=a//b/./c/', '/', { type: 'bind', target: '/x', source: 'a/b/c', rw: false }],
    ['type=cache,target=c,ro,from=base,src=/var/x', '/w', { type: 'cache', target: '/w/c', id: '/w/c', source: 'var/x', from: 'base', sharing: 'shared', mode: 0o755, uid: 0, gid: 0, readonly: true }],
    ['type=cache,target=/c,id=,sharing=private,readonly=0', '/', { type: 'cache', target: '/c', id: '/c', source: '', sharing: 'private', mode: 0o755, uid: 0, gid: 0, readonly: false }],
    ['type=tmpfs,dst=t', '', { type: 'tmpfs', target: '/t' }],
    ['type=tmpfs,destination=/t,size=2K', '/', { type: 'tmpfs', target: '/t', size: 2048 }],
    ['type=tmpfs,target=/t,size=3g', '/', { type: 'tmpfs', target: '/t', size: 3 * 1024 ** 3 }],
    ['type=tmpfs,target=/t,size=512', '/', { type: 'tmpfs', target: '/t', size: 512 }],
    ['type=secret,target=/etc/app/key.pem', '/', { type: 'secret', target: '/etc/app/key.pem', id: 'key.pem', required: false, mode: 0o400, uid: 0, gid: 0 }],
    ['type=secret,id=tok,env=TOKEN', '/', { type: 'secret', target: '', id: 'tok', required: false, mode: 0o400, uid: 0, gid: 0, env: 'TOKEN' }],
    ['type=secret,id=tok,env=TOKEN,target=tok', '/w', { type: 'secret', target: '/w/tok', id: 'tok', required: false, mode: 0o400, uid: 0, gid: 0, env: 'TOKEN' }],
    ['type=secret,id=tok,required=false,uid=10,gid=20,mode=4', '/', { type: 'secret', target: '/run/secrets/tok', id: 'tok', required: false, mode: 0o4, uid: 10, gid: 20 }],
  ])('%s (workdir "%s")', (text, workdir, want) => {
    expect(parseMount(text, workdir)).toEqual(want);
  });

  it.each([
    ['type=cache', '--mount=type=cache: needs target='],
    ['type=tmpfs', '--mount=type=tmpfs: needs target='],
    ['type=tmpfs,target=/t,size=1t', '--mount=type=tmpfs: size=1t is not a size'],
    ['type=tmpfs,target=/t,size=', '--mount=type=tmpfs: size= is not a size'],
    ['type=cache,target=/c,uid=-1', '--mount: uid=-1 is not a number'],
    ['type=secret,id=s,gid=x', '--mount: gid=x is not a number'],
    ['type=secret,id=s,mode=08', '--mount: mode=08 is not an octal mode'],
    ['type=secret,id=s,mode=01234', '--mount: mode=01234 is not an octal mode'],
    ['type=secret,id=s,required=yes', '--mount: required=yes: give true or false'],
    ['type=cache,target=/c,ro=2', '--mount: readonly=2: give true or false'],
    ['type=bind,target=/x,id=a', '--mount=type=bind: unknown key "id"'],
    ['type=secret,id=s,sharing=locked', '--mount=type=secret: unknown key "sharing"'],
    ['type=tmpfs,target=/t,source=a', '--mount=type=tmpfs: unknown key "source"'],
    ['type=cache,target=/c,env=A', '--mount=type=cache: unknown key "env"'],
  ])('refuses %s with its own message', (text, message) => {
    expect(() => parseMount(text, '/')).toThrow(new MountError(message));
  });

  it('takes --network=host and default, --security=sandbox and a mount flag with no value', () => {
    expect(parseRunFlags(['--network=host'], '/')).toEqual({ network: 'host', mounts: [] });
    expect(parseRunFlags(['--network=none', '--network=default', '--security=sandbox'], '/')).toEqual({ network: 'default', mounts: [] });
    expect(parseRunFlags([], '/')).toEqual({ network: 'default', mounts: [] });
    expect(() => parseRunFlags(['--network=bridge'], '/')).toThrow(new MountError('--network=bridge: give default, none or host'));
    expect(() => parseRunFlags(['--network'], '/')).toThrow(new MountError('--network=: give default, none or host'));
    expect(() => parseRunFlags(['--security=insecure'], '/')).toThrow(new MountError('--security=insecure: berth runs RUN sandboxed only'));
    expect(() => parseRunFlags(['--mount'], '/')).toThrow(new MountError('--mount=type=bind: needs target='));
    expect(() => parseRunFlags(['mount=target=/a'], '/')).toThrow(new MountError('unknown flag: --'));
    // Two mounts at one target, after each is made absolute.
    expect(() => parseRunFlags(['--mount=target=a', '--mount=type=cache,target=/w/a'], '/w')).toThrow(new MountError('--mount: two mounts at /w/a'));
    expect(parseRunFlags(['--mount=target=/a', '--mount=type=cache,target=/b'], '/').mounts.map((m) => m.target)).toEqual(['/a', '/b']);
  });
});
