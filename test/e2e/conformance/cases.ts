/**
 * The conformance cases: ordinary Dockerfiles, each with its context, over two bases made here
 * without any network: `plain` (busybox in /bin, a user `app`, /home/app 0750 1000:1000) and
 * `merged`, laid out as Debian 12, Ubuntu and Fedora are (merged /usr: /bin, /sbin and /lib
 * symlinks into usr/).
 */
import type { Case, Spec } from './peers.js';

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n';
const GROUP = 'root:x:0:\nstaff:x:50:\napp:x:1000:\nnogroup:x:65534:\n';
const common: Record<string, Spec> = {
  'etc/passwd': PASSWD,
  'etc/group': GROUP,
  'home/app': { dir: true, mode: 0o750, uid: 1000, gid: 1000 },
  'home/app/.profile': { content: 'export A=1\n', uid: 1000, gid: 1000 },
  tmp: { dir: true, mode: 0o1777 },
  'opt/existing': { dir: true, mode: 0o700, uid: 1000, gid: 1000 },
  'opt/existing/old.txt': 'old\n',
  var: { dir: true },
};

export const BASES = {
  plain: {
    name: 'localhost/conformance/plain:1',
    files: { ...common, 'bin/busybox': { copy: '/bin/busybox' }, 'bin/sh': { symlink: 'busybox' }, 'usr/bin': { dir: true }, 'usr/lib': { dir: true } } as Record<string, Spec>,
  },
  merged: {
    name: 'localhost/conformance/merged:1',
    files: {
      ...common,
      'usr/bin/busybox': { copy: '/bin/busybox' },
      'usr/bin/sh': { symlink: 'busybox' },
      'usr/sbin': { dir: true },
      'usr/lib/libc.so.6': 'not really libc\n',
      bin: { symlink: 'usr/bin' },
      sbin: { symlink: 'usr/sbin' },
      lib: { symlink: 'usr/lib' },
    } as Record<string, Spec>,
  },
};

export const URL_BODY = 'fetched over http\n';

const ctx: Record<string, Spec> = {
  'a.txt': 'a\n',
  'b.txt': 'b\n',
  'c.md': 'c\n',
  'README.md': 'readme\n',
  tool: { content: '#!/bin/sh\necho tool\n', mode: 0o755 },
  'dir/one.conf': 'one\n',
  'dir/two.conf': 'two\n',
  'dir/sub/three.txt': 'three\n',
  'dir/run.sh': { content: '#!/bin/sh\n', mode: 0o755 },
};

const NO_CHMOD = 'the classic builder has no --chmod';
const NO_NEW = 'needs Dockerfile syntax 1.4+: not in 20.10 or buildah 1.28';
const NO_PLATFORM_ARGS = 'the classic builder sets no TARGET*/BUILD* arguments';
export const SCRATCH_WORKDIR = 'FROM scratch has WorkingDir / as in BuildKit';
const COPY_THROUGH_LINK = 'COPY onto a symlink writes through it';
const WORKDIR_OWNER = 'WORKDIR after USER is owned by that user';
const ARG_INHERITED = 'a stage FROM another stage inherits its ARGs';
const ENGINE_SCRATCH = 'through the buildah engine, FROM scratch keeps buildah\'s unset WorkingDir';
const GIT_MODES = 'File modes from the context are the ones git keeps';
const NO_ARG_FROM = 'expands no ARG in COPY --from (20.10, BuildKit 0.8, buildah 1.28)';
const PARAMS = 'Positional and special parameters expand to nothing';
const NOT_A_FOLDER = 'a file on the way to a destination is refused';
const SEVERAL_SOURCES = 'several sources onto a name without a trailing / are refused';
const newSyntax = { buildah: NO_NEW, classic: NO_NEW, buildkit: NO_NEW };

function c(name: string, dockerfile: string, more: Partial<Case> = {}): Case {
  return { name, dockerfile, files: { ...ctx, ...(more.files ?? {}) }, ...Object.fromEntries(Object.entries(more).filter(([k]) => k !== 'files')) };
}
const P = 'FROM {{PLAIN}}\n';
const M = 'FROM {{MERGED}}\n';

export const CASES: Case[] = [
  // Files and folders, with and without trailing slashes.
  c('file-to-file', `${P}COPY a.txt /dest.txt\n`),
  c('file-to-new-dir-slash', `${P}COPY a.txt /dest/\n`),
  c('file-to-existing-dir-noslash', `${P}COPY a.txt /opt\n`),
  c('file-to-new-name-noslash', `${P}COPY a.txt /newname\n`),
  c('dir-noslash', `${P}COPY dir /d\n`),
  c('dir-slash', `${P}COPY dir/ /d/\n`),
  c('dir-into-existing', `${P}COPY dir /home/app/\n`),
  c('dir-into-existing-noslash', `${P}COPY dir /opt/existing\n`),
  c('dot-into-workdir', `${P}WORKDIR /srv\nCOPY . .\n`),
  c('dot-dir-dest', `${P}WORKDIR /w\nCOPY dir ./\n`),
  c('chown-dot-keeps-workdir', `${P}WORKDIR /home/app\nCOPY --chown=app:app dir/ .\n`),
  c('empty-dir', `${P}COPY empty /e/\n`, { files: { empty: { dir: true } } }),
  c('empty-dir-noslash', `${P}COPY empty /e\n`, { files: { empty: { dir: true, mode: 0o700 } } }),
  c('nested-new-parents', `${P}COPY a.txt /x/y/z/\n`),
  c('dest-relative-no-workdir', `${P}COPY a.txt rel/\n`),
  // Globs and several sources.
  c('glob-star', `${P}COPY *.txt /g/\n`),
  c('glob-question', `${P}COPY ?.txt /g/\n`),
  c('glob-class', `${P}COPY [ab].txt /g/\n`),
  c('glob-negated-class', `${P}COPY [!a].txt /g/\n`),
  c('glob-in-dir', `${P}COPY dir/*.conf /g/\n`),
  c('glob-matches-dir', `${P}COPY di* /g/\n`),
  c('glob-star-dot', `${P}COPY *.* /g/\n`),
  c('several-sources', `${P}COPY a.txt b.txt /m/\n`),
  c('several-with-dir', `${P}COPY a.txt dir /m/\n`),
  c('json-form', `${P}COPY ["a.txt", "b.txt", "/j/"]\n`),
  c('several-sources-noslash', `${P}COPY a.txt b.txt /m\n`, { refused: SEVERAL_SOURCES }),
  c('glob-several-noslash', `${P}COPY *.txt /m\n`, { refused: SEVERAL_SOURCES }),
  c('several-sources-existing-noslash', `${P}COPY a.txt b.txt /opt\n`, { lacks: { classic: 'the classic builder refuses several sources onto a name without /' } }),
  c('glob-one-noslash', `${P}COPY a.* /m\n`),
  c('space-in-name', `${P}COPY ["with space.txt", "/s/"]\n`, { files: { 'with space.txt': 'sp\n' } }),
  // Owners and modes.
  c('chown-name', `${P}COPY --chown=app a.txt /x/\n`),
  c('chown-name-group', `${P}COPY --chown=app:staff a.txt /x/\n`),
  c('chown-numbers-dir', `${P}COPY --chown=1234:5678 dir /x/\n`),
  c('chown-uid-only', `${P}COPY --chown=1234 a.txt /x/\n`),
  c('chown-from-arg', `${P}ARG OWNER=1000:50\nCOPY --chown=$OWNER a.txt /x/\n`),
  c('chmod-file', `${P}COPY --chmod=0600 a.txt /x/\n`, { lacks: { classic: NO_CHMOD } }),
  c('chmod-dir', `${P}COPY --chmod=0640 dir /conf\n`, { lacks: { classic: NO_CHMOD } }),
  c('chmod-exec', `${P}COPY --chmod=755 a.txt /usr/bin/a\n`, { lacks: { classic: NO_CHMOD } }),
  c('context-modes', `${P}COPY tool dir /m/\n`),
  // Flags newer than the peers here.
  c('link', `${P}COPY --link a.txt /l/\n`, { lacks: newSyntax }),
  c('parents', `${P}COPY --parents dir/sub/three.txt dir/one.conf /p/\n`, { lacks: newSyntax }),
  c('exclude', `${P}COPY --exclude=*.conf dir /e/\n`, { lacks: newSyntax }),
  c('chmod-symbolic', `${P}COPY --chmod=u+x,go-r a.txt /x/\n`, { lacks: newSyntax }),
  c('heredoc', `${P}COPY <<EOT /h.txt\nhello\nEOT\n`, { lacks: newSyntax }),
  // Symlinks in the context and in the base.
  c('symlink-named-source', `${P}COPY link /x/\n`, { files: { link: { symlink: 'a.txt' } } }),
  c('symlinks-in-dir', `${P}COPY tree /t/\n`, { files: { 'tree/f': 'f\n', 'tree/l': { symlink: 'f' }, 'tree/abs': { symlink: '/etc/passwd' }, 'tree/dangling': { symlink: 'nowhere' } } }),
  c('hardlinks-in-context', `${P}COPY hl /h/\n`, { files: { 'hl/f': 'f\n', 'hl/g': { hardlink: 'hl/f' } } }),
  c('merged-copy-to-bin', `${M}COPY tool /bin/tool\n`),
  c('merged-copy-to-bin-slash', `${M}COPY tool /bin/\n`),
  c('merged-copy-dir-to-lib', `${M}COPY dir/ /lib/\n`),
  c('merged-copy-dir-to-lib-noslash', `${M}COPY dir /lib\n`),
  c('merged-copy-nested-under-sbin', `${M}COPY tool /sbin/x/tool\n`),
  c('merged-copy-to-usr-bin', `${M}COPY tool /usr/bin/\n`),
  c('merged-workdir-through-link', `${M}WORKDIR /lib/app\nCOPY a.txt .\n`),
  c('plain-copy-onto-symlink', `${P}COPY tool /bin/sh\n`, { deliberate: { buildah: COPY_THROUGH_LINK } }),
  c('copy-into-symlink-to-file', `${P}COPY a.txt /bin/sh/\n`, { refused: NOT_A_FOLDER }),
  c('copy-dir-into-symlink-to-file', `${P}COPY dir /bin/sh/\n`, { refused: NOT_A_FOLDER }),
  c('copy-into-file', `${P}COPY a.txt /etc/passwd/\n`, { refused: NOT_A_FOLDER }),
  c('copy-under-file', `${P}COPY a.txt /etc/passwd/x/y\n`, { refused: NOT_A_FOLDER }),
  c('copy-dir-onto-file', `${P}COPY dir /opt/existing/old.txt\n`, { refused: NOT_A_FOLDER }),
  c('copy-empty-dir-onto-file', `${P}COPY empty /opt/existing/old.txt\n`, { files: { empty: { dir: true } }, refused: NOT_A_FOLDER }),
  c('from-merged-bin', `FROM scratch\nCOPY --from={{MERGED}} /bin/sh /sh\n`),
  c('from-merged-lib-dir', `FROM scratch\nCOPY --from={{MERGED}} /lib/ /l/\n`),
  // Stages and images.
  c('from-stage', `FROM {{PLAIN}} AS b\nCOPY dir /out/\nFROM scratch\nCOPY --from=b /out /o\n`),
  c('from-stage-folder-owner', `FROM {{PLAIN}} AS b\nCOPY --chown=1000:1000 dir /out/\nFROM {{PLAIN}}\nCOPY --from=b /out /new\n`),
  c('from-stage-index', `${P}\nCOPY a.txt /a\nFROM scratch\nCOPY --from=0 /a /b\n`),
  c('from-image', `FROM scratch\nCOPY --from={{PLAIN}} /etc/passwd /p\n`),
  c('from-image-dir', `${P}COPY --from={{MERGED}} /home/app /h\n`),
  c('from-two-hops', `FROM {{PLAIN}} AS a\nCOPY a.txt /a\nFROM a AS b\nCOPY b.txt /b\nFROM scratch\nCOPY --from=b /a /b /\n`),
  c('from-stage-chown', `FROM {{PLAIN}} AS b\nCOPY a.txt /a\nFROM {{PLAIN}}\nCOPY --from=b --chown=app /a /x/\n`),
  c('target-mid', `FROM {{PLAIN}} AS first\nCOPY a.txt /first\nFROM first AS mid\nCOPY b.txt /mid\nFROM mid\nCOPY c.md /last\n`, { target: 'mid' }),
  c('unused-stage-skipped', `FROM scratch AS broken\nCOPY missing /x\nFROM {{PLAIN}}\nCOPY a.txt /\n`, { lacks: { classic: 'the classic builder builds every stage' } }),
  // ADD of local archives and files.
  c('add-tar', `${P}ADD pack.tar /x/\n`, { files: { 'pack.tar': { tar: { compress: 'none', files: { d: { dir: true, uid: 1000, gid: 1000 }, 'd/f': { content: 'f\n', uid: 1000, gid: 50, mode: 0o640 } } } } } }),
  c('add-tar-gz', `${P}ADD pack.tar.gz /x/\n`, { files: { 'pack.tar.gz': { tar: { compress: 'gzip', files: { f: { content: 'f\n', uid: 7, gid: 8 } } } } } }),
  c('add-tar-bz2', `${P}ADD pack.tar.bz2 /x/\n`, { files: { 'pack.tar.bz2': { tar: { compress: 'bzip2', files: { f: 'f\n' } } } } }),
  c('add-tar-xz', `${P}ADD pack.txz /x/\n`, { files: { 'pack.txz': { tar: { compress: 'xz', files: { f: 'f\n', 'g/h': 'h\n' }, order: ['f', 'g', 'g/h'] } } } }),
  c('add-gz-not-tar', `${P}ADD note.gz /n/\n`, { files: { 'note.gz': { gzipOf: 'just text\n' } } }),
  c('add-hardlink-sorts-first', `${P}ADD links.tar /x/\n`, { files: { 'links.tar': { tar: { compress: 'none', files: { 'z-target': 'content\n', 'a-link': { hardlink: 'z-target' } }, order: ['z-target', 'a-link'] } } } }),
  c('add-tar-symlinks', `${P}ADD sl.tar /x/\n`, { files: { 'sl.tar': { tar: { compress: 'none', files: { f: 'f\n', l: { symlink: 'f' } } } } } }),
  c('merged-add-tar-to-lib', `${M}ADD pack.tar /lib/\n`, { files: { 'pack.tar': { tar: { compress: 'none', files: { 'libx.so': 'x\n' } } } } }),
  c('add-plain-file', `${P}ADD a.txt /x/\n`),
  c('add-tar-to-file-name', `${P}ADD pack.tar /x\n`, { files: { 'pack.tar': { tar: { compress: 'none', files: { f: 'f\n' } } } } }),
  c('add-url-checksum', `${P}ADD --checksum=sha256:5682341983eca613a46bfe1cef783ef0fbedce31d74547ab71153500b4950d6f {{URL}}/files/data.txt /u/\n`, { lacks: newSyntax, refused: undefined }),
  c('add-url-no-checksum', `${P}ADD {{URL}}/files/data.txt /u/\n`, { refused: 'ADD of a URL needs --checksum' }),
  // .dockerignore.
  c('ignore-exceptions', `${P}COPY . /c/\n`, { files: { '.dockerignore': '*.md\n!README.md\n**/*.tmp\nsecret/\n', 'secret/key': 'k\n', 'x/y.tmp': 't\n', 'x/z.txt': 'z\n' } }),
  c('ignore-reinclude-in-ignored-dir', `${P}COPY . /c/\n`, { files: { '.dockerignore': 'dir\n!dir/one.conf\n' } }),
  c('ignore-doublestar', `${P}COPY . /c/\n`, { files: { '.dockerignore': '**/node_modules\n**/*.conf\n', 'node_modules/m': 'm\n', 'x/node_modules/n': 'n\n' } }),
  c('ignore-dockerfile-itself', `${P}COPY . /c/\n`, { files: { '.dockerignore': 'Dockerfile\n.dockerignore\n' } }),
  c('ignore-glob-copy', `${P}COPY *.txt /c/\n`, { files: { '.dockerignore': 'b.txt\n' } }),
  // ARG scoping.
  c('arg-before-from', 'ARG BASE={{PLAIN}}\nFROM $BASE\nCOPY a.txt /\n'),
  c('arg-global-redeclared', `ARG V=global\n${P}ARG V\nLABEL v=$V\n`),
  c('arg-stage-default-wins', `ARG V=global\n${P}ARG V=stage\nLABEL v=$V\n`),
  c('arg-global-not-redeclared', `ARG V=global\n${P}LABEL v=x$V\n`),
  c('arg-build-arg', `ARG V=global\n${P}ARG V=stage\nLABEL v=$V\n`, { args: { V: 'cli' } }),
  c('arg-in-second-stage', `ARG V=g\nFROM {{PLAIN}} AS a\nARG V\nLABEL a=$V\nFROM a\nLABEL b=x$V\n`, { deliberate: { buildah: ARG_INHERITED, classic: ARG_INHERITED } }),
  c('arg-env-precedence', `${P}ARG X=arg\nENV X=env\nLABEL x=$X\n`, { args: { X: 'cli' } }),
  // ENV and substitution.
  c('env-modifiers', `${P}ENV A=1\nENV B=\${A:-x} C=\${UNSET:-dflt} D=\${A:+set} E=\${UNSET:+no}\n`),
  c('env-chain', `${P}ENV A=a B=\${A}b\nENV C=\${B}c\n`),
  c('env-same-line-old-value', `${P}ENV A=1\nENV A=2 B=$A\n`),
  c('env-in-dest', `${P}ENV D=/dst\nCOPY a.txt $D/\n`),
  c('env-legacy-form', `${P}ENV K a value with spaces\n`),
  c('env-positional', `${P}ENV A=x$1y C=$12\n`, { deliberate: { buildah: PARAMS } }),
  c('env-positional-braced', `${P}ENV B=x\${1}y D=\${2:-two}\n`),
  c('env-special-params', `${P}ENV A=x$@y B=x$#y C=a$$b D=x$?y E=x$-y F=x$!y G=x$*y H=x$0y\n`, { deliberate: { buildah: PARAMS } }),
  c('exec-form-trailing-text', `${P}CMD ["a"] b\nENTRYPOINT ["x" ]\n`),
  c('expose-json', `${P}EXPOSE ["80"]\n`, { refused: 'EXPOSE takes no JSON array' }),
  c('env-escaped-dollar', `${P}ENV A=x B=\\$A C='$A'\n`),
  // WORKDIR and USER.
  c('workdir-chain', `${P}WORKDIR /a\nWORKDIR b\nWORKDIR ../c\nCOPY a.txt .\n`),
  c('workdir-after-user', `${P}USER app\nWORKDIR /data/deep\n`, { deliberate: { classic: WORKDIR_OWNER } }),
  c('workdir-after-numeric-user', `${P}USER 1234:50\nWORKDIR /data\n`, { deliberate: { classic: WORKDIR_OWNER } }),
  c('workdir-existing', `${P}USER app\nWORKDIR /home/app\n`),
  c('workdir-env', `${P}ENV W=/w\nWORKDIR $W/x\n`),
  c('user-config', `${P}USER app:staff\n`),
  c('scratch-workdir', 'FROM scratch\nCOPY a.txt /\n'),
  // Config instructions.
  c('all-config', `${P}LABEL a=1 "b c"="d e"\nEXPOSE 80 443/tcp 53/udp 8000-8002\nVOLUME /data ["/logs"]\nSTOPSIGNAL SIGINT\nENTRYPOINT ["/bin/sh"]\nCMD ["-c", "echo hi"]\nMAINTAINER someone@example.com\n`, { deliberate: { buildah: 'EXPOSE ranges are expanded' } }),
  c('entrypoint-shell-form', `${P}ENTRYPOINT exec /bin/sh -c 'sleep 1'\n`),
  c('cmd-after-entrypoint', `${P}CMD ["x"]\nENTRYPOINT ["/bin/sh"]\n`),
  c('healthcheck', `${P}HEALTHCHECK --interval=5s --timeout=3s --start-period=1s --retries=2 CMD true\n`),
  c('healthcheck-none', `${P}HEALTHCHECK NONE\n`),
  c('shell-instruction', `${P}SHELL ["/bin/sh", "-ec"]\nCMD echo hi\n`, { deliberate: { buildah: 'CMD and ENTRYPOINT in shell form use SHELL' } }),
  c('onbuild-recorded', `${P}ONBUILD COPY a.txt /onb/\nONBUILD LABEL x=y\n`),
  c('onbuild-triggered', `FROM {{PLAIN}} AS parent\nONBUILD COPY a.txt /onb/\nFROM parent\nLABEL child=1\n`, { lacks: { classic: 'the classic builder of 20.10 fails it here: unknown parent image ID' } }),
  c('labels-multiline', `${P}LABEL one=1 \\\n      two="2 2" \\\n      three=\${UNSET:-3}\n`),
  // Parser directives.
  c('escape-directive', '# escape=`\nFROM {{PLAIN}}\nCOPY a.txt `\n     /e/\n'),
  c('comments-and-blank-lines', `# a comment\n\n${P}\n# another\nCOPY a.txt /\n\n`),
  // Everyday spellings: line endings, case, continuations, quoting.
  c('crlf-line-endings', 'FROM {{PLAIN}}\r\nENV A=1 \\\r\n    B=2\r\nCOPY a.txt /x/\r\nLABEL l="v"\r\n'),
  c('utf8-bom', '\uFEFFFROM {{PLAIN}}\nCOPY a.txt /x/\n'),
  c('lowercase-instructions', 'from {{PLAIN}}\ncopy a.txt /x/\nenv A=1\nworkdir /w\n'),
  c('continuation-trailing-space', `${P}ENV A=1 \\  \n    B=2\nLABEL x=y\n`),
  c('continuation-with-comment-lines', `${P}LABEL a=1 \\\n# a comment inside\n    b=2 \\\n\n    c=3\n`),
  c('tabs-between-words', `${P}COPY\ta.txt\t/x/\nENV\tA=1\n`),
  c('env-quotes', `${P}ENV A="a b" B='c d' C=e\\ f D="x\\"y" E=\n`),
  c('label-quoted-keys', `${P}LABEL "with space"="v v" 'single'='s' key="a=b" "q\\"k"=1\n`),
  c('cmd-json-escapes', `${P}CMD ["a\\"b", "tab\\tx", "\\u00e9"]\n`),
  c('entrypoint-empty-array', `${P}ENTRYPOINT ["/bin/sh"]\nCMD ["x"]\nENTRYPOINT []\n`),
  c('cmd-empty-array', `${P}CMD []\n`),
  c('stopsignal-number', `${P}STOPSIGNAL 9\n`),
  c('expose-duplicates', `${P}EXPOSE 80 80/tcp 53/udp 53\n`),
  c('volume-from-env', `${P}ENV D=/data\nVOLUME $D \${D}2\n`, { deliberate: { buildah: 'VOLUME makes no folder' } }),
  c('user-from-env', `${P}ENV U=app\nUSER $U:staff\n`),
  c('arg-redeclared-in-stage', `${P}ARG V=one\nARG V=two\nLABEL v=$V\n`),
  c('arg-empty-default', `${P}ARG V=\nLABEL v=x\${V:-unset}\n`),
  c('copy-dotdot-inside', `${P}COPY dir/../a.txt /x/\n`),
  c('copy-dot-slash-source', `${P}COPY ./a.txt ./dir/ /x/\n`),
  c('workdir-dotdot', `${P}WORKDIR /a/b\nWORKDIR ../c\nWORKDIR ..\nCOPY a.txt .\n`),
  c('ignore-leading-slash-and-dot', `${P}COPY . /c/\n`, { files: { '.dockerignore': '/a.txt\n./b.txt\n# comment\n  c.md  \n' } }),
  c('ignore-dir-then-file-back', `${P}COPY . /c/\n`, { files: { '.dockerignore': '*\n!dir\ndir/sub\n' } }),
  c('add-tar-dot-slash-members', `${P}ADD dot.tar /x/\n`, { files: { 'dot.tar': { tar: { compress: 'none', files: { './': { dir: true }, './f': 'f\n', './d/': { dir: true }, './d/g': 'g\n' } } } } }),
  c('healthcheck-shell-form', `${P}HEALTHCHECK --interval=1m30s CMD test -f /x || exit 1\n`),
  c('from-platform-arg', 'FROM --platform=$TARGETPLATFORM {{PLAIN}}\nCOPY a.txt /\n', { lacks: { classic: NO_PLATFORM_ARGS } }),
  c('from-platform-arg-redeclared', 'ARG TARGETPLATFORM\nFROM --platform=$TARGETPLATFORM {{PLAIN}}\nCOPY a.txt /\n', { lacks: { classic: NO_PLATFORM_ARGS, buildkit: 'BuildKit 0.8 empties a platform argument declared again before FROM' } }),
  // Owners, modes and sources a little off the usual path.
  c('chown-new-parents', `${P}COPY --chown=app a.txt /new/deep/\n`),
  c('chown-numeric-new-parents-dir', `${P}COPY --chown=1234:5678 dir /made/here/\n`, { deliberate: { classic: 'new parent folders of a COPY --chown get its owner' } }),
  c('context-special-mode-bits', `${P}COPY sticky /st\n`, { files: { sticky: { dir: true, mode: 0o1777 }, 'sticky/f': 'f\n' }, deliberate: { buildah: GIT_MODES, classic: GIT_MODES, buildkit: GIT_MODES } }),
  c('chmod-setuid', `${P}COPY --chmod=4755 tool /usr/bin/tool\n`, { lacks: { classic: NO_CHMOD }, deliberate: { buildkit: '--chmod keeps setuid, setgid and sticky bits' } }),
  c('user-then-copy', `${P}USER 1000\nCOPY a.txt /owned-by-root\n`),
  c('env-path-from-base', `${P}ENV PATH=$PATH:/opt/bin\n`),
  c('workdir-trailing-slash', `${P}WORKDIR /app/\nCOPY a.txt ./\n`),
  c('from-stage-glob', `FROM {{PLAIN}} AS b\nCOPY *.txt /out/\nFROM scratch\nCOPY --from=b /out/*.txt /x/\n`),
  c('from-stage-via-arg', `ARG S=b\nFROM {{PLAIN}} AS b\nCOPY a.txt /a\nFROM scratch\nARG S\nCOPY --from=$S /a /a\n`, { lacks: { classic: NO_ARG_FROM, buildah: NO_ARG_FROM, buildkit: NO_ARG_FROM } }),
  c('from-stage-link-to-dir', `FROM {{MERGED}} AS b\nFROM scratch\nCOPY --from=b /lib/ /l/\nCOPY --from=b /bin /b\n`),
  c('copy-onto-existing-file', `${P}COPY a.txt /opt/existing/old.txt\n`),
  c('context-file-mode-600', `${P}COPY secret /home/app/\n`, { files: { secret: { content: 's\n', mode: 0o600 } }, deliberate: { buildah: GIT_MODES, classic: GIT_MODES, buildkit: GIT_MODES } }),
  // Stages, ARG and ENV as multi-stage Dockerfiles use them.
  c('env-inherited-from-stage', `FROM {{PLAIN}} AS base\nENV A=1 PATH=/x:$PATH\nFROM base\nENV B=$A\n`),
  c('arg-not-inherited-by-env', `${P}ARG V=arg\nENV E=$V\nARG V=again\nLABEL e=$E v=$V\n`),
  c('arg-used-before-declared', `${P}LABEL v=x$V\nARG V=late\nLABEL w=x$V\n`),
  c('arg-default-from-other-arg', `${P}ARG A=one\nARG B=$A-two\nLABEL b=$B\n`),
  c('arg-global-in-stage-default', `ARG G=glob\n${P}ARG G\nARG H=$G-h\nLABEL h=$H\n`),
  c('env-multiple-same-key', `${P}ENV A=1 A=2\n`),
  c('label-overrides-base', `FROM {{PLAIN}} AS b\nLABEL a=1 b=1\nFROM b\nLABEL b=2\n`),
  c('cmd-reset-by-entrypoint-in-child', `FROM {{PLAIN}} AS b\nCMD ["c"]\nFROM b\nENTRYPOINT ["e"]\n`),
  c('stage-name-case', `FROM {{PLAIN}} AS Builder\nCOPY a.txt /a\nFROM scratch\nCOPY --from=builder /a /a\n`, { lacks: { buildah: 'buildah 1.28 matches stage names case-sensitively' } }),
  c('copy-from-scratch-stage', `FROM scratch AS s\nCOPY a.txt /a\nFROM {{PLAIN}}\nCOPY --from=s / /from-s/\n`),
  c('add-tar-into-workdir', `${P}WORKDIR /w\nADD pack.tar .\n`, { files: { 'pack.tar': { tar: { compress: 'none', files: { f: 'f\n', 'd/g': 'g\n' } } } } }),
  c('add-remote-name-kept', `${P}ADD a.txt /x/renamed\n`),
  c('copy-hidden-files', `${P}COPY . /c/\n`, { files: { '.hidden': 'h\n', 'dir/.also': 'a\n' } }),
  c('onbuild-two-levels', `FROM {{PLAIN}} AS p\nONBUILD LABEL from-p=1\nFROM p AS c\nLABEL c=1\nFROM c\nLABEL g=1\n`, { lacks: { classic: 'the classic builder of 20.10 fails it here: unknown parent image ID' } }),
  // Archives and names a little off the usual path.
  c('add-tar-through-own-symlink', `${P}ADD sl.tar /x/\n`, { files: { 'sl.tar': { tar: { compress: 'none', files: { d: { dir: true }, l: { symlink: 'd' }, 'l/f': 'f\n' }, order: ['d', 'l', 'l/f'] } } } }),
  c('add-tar-member-through-base-link', `${M}ADD bin.tar /\n`, { files: { 'bin.tar': { tar: { compress: 'none', files: { 'bin/newtool': { content: 'n\n', mode: 0o755 } }, order: ['bin/newtool'] } } } }),
  c('add-tar-unicode-and-long-names', `${P}ADD names.tar /n/\n`, { files: { 'names.tar': { tar: { compress: 'gzip', files: { 'ünï cødé.txt': 'u\n', [`${'long-'.repeat(30)}name.txt`]: 'l\n' } } } } }),
  c('copy-unicode-name', `${P}COPY ["ünï cødé.txt", "/u/"]\n`, { files: { 'ünï cødé.txt': 'u\n' } }),
  c('copy-dir-with-link-to-dir', `${P}COPY tree /t/\n`, { files: { 'tree/real/f': 'f\n', 'tree/link': { symlink: 'real' } } }),
  c('ignore-nested-file', `${P}COPY dir/ /d/\n`, { files: { '.dockerignore': 'dir/sub/three.txt\n' } }),
  c('add-zstd-file', `${P}ADD note.zst /z/\n`, { files: { 'note.zst': { content: '(\u00b5/\u00fd not really zstd\n' } } }),
  c('copy-to-root-dot', `${P}WORKDIR /\nCOPY a.txt .\n`),
  c('copy-dir-contents-to-root', `FROM scratch\nCOPY dir/ /\n`),
  // Platforms.
  c('platform-arm-v7-args', 'FROM scratch\nARG TARGETPLATFORM\nARG TARGETOS\nARG TARGETARCH\nARG TARGETVARIANT\nLABEL p=$TARGETPLATFORM o=$TARGETOS a=$TARGETARCH v=$TARGETVARIANT\nCOPY ${TARGETARCH}${TARGETVARIANT}.bin /\n', { platforms: ['linux/arm/v7'], files: { 'armv7.bin': 'armv7\n' }, lacks: { classic: NO_PLATFORM_ARGS } }),
  c('platform-arm64-v8-args', 'FROM scratch\nARG TARGETPLATFORM\nARG TARGETARCH\nARG TARGETVARIANT\nLABEL p=$TARGETPLATFORM a=$TARGETARCH v=x$TARGETVARIANT\nCOPY ${TARGETARCH}.bin /\n', { platforms: ['linux/arm64/v8'], files: { 'arm64.bin': 'arm64\n' }, lacks: { classic: NO_PLATFORM_ARGS }, deliberate: { buildah: 'linux/arm64/v8 is linux/arm64' } }),
  c('multi-platform', 'FROM scratch\nARG TARGETARCH\nCOPY ${TARGETARCH}.bin /app\n', { platforms: ['linux/amd64', 'linux/arm64'], files: { 'amd64.bin': 'x86\n', 'arm64.bin': 'arm\n' }, lacks: { classic: NO_PLATFORM_ARGS } }),
  // RUN, through berth's engine.
  c('run-basic', `${P}RUN echo hi > /hi.txt\n`),
  c('run-merged-usr', `${M}RUN echo x > /bin/made && busybox mkdir -p /lib/extra\n`),
  c('run-whiteout', `${P}RUN rm -rf /opt/existing/old.txt\n`),
  c('run-opaque', `${P}RUN rm -rf /opt/existing && busybox mkdir /opt/existing && echo n > /opt/existing/new\n`),
  c('run-then-copy', `${P}RUN busybox mkdir /app\nCOPY a.txt /app/\n`),
  c('run-arg', `${P}ARG X=1\nRUN echo $X > /x\n`, { args: { X: 'two' } }),
  c('run-workdir', `${P}WORKDIR /w\nRUN pwd > p\n`),
  c('run-multistage', `FROM {{PLAIN}} AS build\nRUN echo built > /out\nFROM scratch\nCOPY --from=build /out /out\n`, { deliberate: { buildkit: ENGINE_SCRATCH } }),
];
