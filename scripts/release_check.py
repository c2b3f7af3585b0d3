# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers for scripts/release-check.sh (controller side, not shipped in the collection).

Subcommands (each exits non-zero with a message naming what is wrong):

  tarball TARBALL --repo ROOT          size, file count, contents; nothing ignored, nothing from the dev tree
  collection-list FQCN DIR             (stdin: `ansible-galaxy collection list --format json`) the only copy
                                       of FQCN on the collections path is the one under DIR
  docs FQCN DIR --require TYPE:NAME..  every module, plugin and role of the installed copy renders with
                                       ansible-doc, from that copy; the required ones exist
  read-sysctl                          the two keys of the current network namespace, read whole (JSON)
  snapshot                             the host's sysctl configuration files, with hashes (JSON)
  importer LOG                         judge a galaxy-importer log: errors fail, warnings are listed
  links TARBALL                        every relative link of every Markdown file in the tarball names a file
                                       in the tarball
  ee COLLECTION_DIR WORKDIR            ansible-builder create on the installed copy's meta/execution-environment.yml
                                       (no build, no pulls): the context installs this collection; the
                                       builder's own introspect script reads the installed copy without error
  versions TARBALL                     galaxy.yml's version (MANIFEST.json) is the newest release in
                                       changelogs/changelog.yaml or the one after it, CHANGELOG.md's newest
                                       entry is that release, and no version_added is newer than the version
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import ast
import fnmatch
import hashlib
import importlib
import json
import os
import re
import subprocess
import sys
import posixpath
import tarfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# What must never be shipped: galaxy.yml's build_ignore (paths and fnmatch patterns, as ansible-galaxy
# reads them), and development-tree names this checkout does not have but a contributor's may.
DEV_ONLY = ('.github', '.tox')
# Names that must not appear at any depth.
FORBIDDEN_ANYWHERE = ('__pycache__', '.pytest_cache', '.hypothesis', '.git', '.ansible', '.mypy_cache')
FORBIDDEN_SUFFIXES = ('.pyc', '.pyo', '.retry', '.orig', '.rej', '.swp', '~')

# plugins/<dir> -> ansible-doc type, for the plugin types a collection of this kind may ship.
PLUGIN_DIRS = {
    'modules': 'module', 'filter': 'filter', 'test': 'test', 'lookup': 'lookup', 'callback': 'callback',
    'inventory': 'inventory', 'connection': 'connection', 'become': 'become', 'cache': 'cache',
    'vars': 'vars', 'strategy': 'strategy', 'action': None, 'module_utils': None, 'plugin_utils': None,
    'doc_fragments': None,
}
RESERVED_KEY = 'net.ipv4.ip_local_reserved_ports'
RANGE_KEY = 'net.ipv4.ip_local_port_range'


class CheckFailed(Exception):
    pass


class Problems(object):
    """Findings grouped by the plugin they are about (a plugin named in a message), in order."""

    def __init__(self):
        self.groups = {}

    def append(self, message):
        key = 'ansible-doc' if message.startswith('ansible-doc') else message.split(':', 1)[0]
        self.groups.setdefault(key, [])
        if message not in self.groups[key]:
            self.groups[key].append(message)

    def __bool__(self):
        return bool(self.groups)

    __nonzero__ = __bool__

    def render(self):
        lines = []
        for key, messages in self.groups.items():
            lines.append('  ' + key)
            lines.extend('      ' + (m[len(key) + 2:] if m.startswith(key + ': ') else m) for m in messages)
        return '\n'.join(lines)


def human(size):
    for unit in ('B', 'KiB', 'MiB'):
        if size < 1024 or unit == 'MiB':
            return '%d %s' % (size, unit) if unit == 'B' else '%.1f %s' % (size, unit)
        size /= 1024.0


# ---- tarball -----------------------------------------------------------------------------------------

def forbidden_patterns(repo):
    """galaxy.yml's build_ignore, plus DEV_ONLY."""
    # Imported here: read-sysctl and snapshot run without PyYAML.
    import yaml  # pylint: disable=import-outside-toplevel
    with open(os.path.join(repo, 'galaxy.yml')) as handle:
        return list(yaml.safe_load(handle).get('build_ignore') or []) + list(DEV_ONLY)


def show_tarball(path, files, dirs, info):
    size = os.path.getsize(path)
    print('tarball: %s' % os.path.basename(path))
    print('collection: %s.%s %s  license: %s' % (info['namespace'], info['name'], info['version'],
                                                 ', '.join(info.get('license') or [info.get('license_file')])))
    print('size: %s (%d bytes)  files: %d  directories: %d' % (human(size), size, len(files), len(dirs)))
    top = {}
    for member in files:
        head = member.name.split('/', 1)[0]
        top[head] = top.get(head, 0) + 1
    print('contents (files per top-level entry): ' + ', '.join('%s=%d' % item for item in sorted(top.items())))


def member_problems(members, forbidden):
    """Paths that leave the collection, links out of it, development-tree, cache and editor files."""
    problems = []
    for member in members:
        name = member.name
        parts = name.split('/')
        if name.startswith('/') or '..' in parts:
            problems.append('%s: path leaves the collection' % name)
        if member.issym() or member.islnk():
            target = os.path.normpath(os.path.join(os.path.dirname(name), member.linkname))
            if target.startswith('..') or os.path.isabs(member.linkname):
                problems.append('%s: link to %s outside the collection' % (name, member.linkname))
        # ansible-galaxy leaves out each file or directory whose path matches a pattern.
        prefixes = ['/'.join(parts[:depth]) for depth in range(1, len(parts) + 1)]
        if any(fnmatch.fnmatch(prefix, pattern) for prefix in prefixes for pattern in forbidden):
            problems.append('%s: development-tree content (build_ignore in galaxy.yml or DEV_ONLY names it)' % name)
        if any(part in FORBIDDEN_ANYWHERE for part in parts):
            problems.append('%s: cache or VCS directory (add it to build_ignore in galaxy.yml)' % name)
        if name.endswith(FORBIDDEN_SUFFIXES):
            problems.append('%s: build or editor leftover' % name)
    return problems


def git_ignored(repo, files):
    """Everything shipped must be something git would commit: a file that .gitignore names (test
    output, caches, local junk) is in the tarball only because build_ignore misses it."""
    problems = []
    shipped = [m.name for m in files if m.name not in ('MANIFEST.json', 'FILES.json')]
    proc = subprocess.run(['git', '-C', repo, 'check-ignore', '--stdin', '-z'],
                          input='\0'.join(shipped).encode(), stdout=subprocess.PIPE, check=False)
    if proc.returncode not in (0, 1):
        problems.append('git check-ignore failed (rc %d)' % proc.returncode)
    for name in filter(None, proc.stdout.decode().split('\0')):
        problems.append('%s: ignored by .gitignore, yet shipped (add it to build_ignore in galaxy.yml)' % name)
    return problems


def cmd_tarball(args):
    with tarfile.open(args.tarball, 'r:gz') as tar:
        members = tar.getmembers()
        manifest = json.load(tar.extractfile('MANIFEST.json'))
    files = [m for m in members if m.isfile() or m.issym()]
    dirs = [m for m in members if m.isdir()]
    info = manifest['collection_info']
    show_tarball(args.tarball, files, dirs, info)
    problems = member_problems(members, forbidden_patterns(args.repo or REPO))

    names = set(m.name for m in members)
    required = ['MANIFEST.json', 'FILES.json', 'meta/runtime.yml']
    if info.get('readme'):
        required.append(info['readme'])
    required.extend(args.require or [])
    required = list(dict.fromkeys(required))
    problems.extend('%s: missing from the tarball' % name for name in required if name not in names)
    if args.repo and os.path.exists(os.path.join(args.repo, '.git')):  # a directory, or a file in a worktree
        problems.extend(git_ignored(args.repo, files))

    if problems:
        raise CheckFailed('the tarball is not clean:\n  ' + '\n  '.join(sorted(set(problems))))
    print('tarball contents: OK (no development-tree, cache or ignored files; %s present)' % ', '.join(required))


# ---- links and versions ---------------------------------------------------------------------------------

_FENCE = re.compile(r'^(```|~~~).*?^\1[^\n]*$', re.M | re.S)
_CODE_SPAN = re.compile(r'(`+)(?!`).*?(?<!`)\1(?!`)', re.S)
_LINK = re.compile(r'!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)')
_REF = re.compile(r'^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s.*)?$', re.M)
_HTML = re.compile(r'<(?:a|img)\s[^>]*?(?:href|src)="([^"]+)"', re.I)


def markdown_links(text):
    """The link targets of a Markdown text, outside code blocks and code spans."""
    text = _CODE_SPAN.sub('', _FENCE.sub('', text))
    return [m.group(1) for pattern in (_LINK, _REF, _HTML) for m in pattern.finditer(text)]


def link_problems(name, text, files):
    """Relative links of the Markdown file ``name`` that do not name a file of ``files``."""
    problems = []
    for target in markdown_links(text):
        if re.match(r'^[a-z][a-z0-9+.-]*:', target, re.I) or target.startswith('#'):
            continue  # https:, mailto:, an anchor in the same file
        path = target.split('#', 1)[0].split('?', 1)[0]
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(name), path))
        if path.startswith('/') or resolved.startswith('../') or resolved not in files:
            problems.append('%s: link %s names %s, which the tarball does not hold as a file' % (name, target, resolved))
    return problems


def cmd_links(args):
    with tarfile.open(args.tarball, 'r:gz') as tar:
        members = [m for m in tar.getmembers() if m.isfile()]
        files = set(m.name for m in members)
        texts = dict((m.name, tar.extractfile(m).read().decode('utf-8')) for m in members if m.name.endswith('.md'))
    problems, count = [], 0
    for name in sorted(texts):
        count += len(markdown_links(texts[name]))
        problems.extend(link_problems(name, texts[name], files))
    if problems:
        raise CheckFailed('broken links in the shipped docs:\n  ' + '\n  '.join(problems))
    print('links: OK (%d Markdown files, %d links, every relative one names a shipped file)' % (len(texts), count))


def version_tuple(text):
    match = re.match(r'^(\d+)\.(\d+)\.(\d+)$', str(text))
    if not match:
        raise CheckFailed('%r is not a version X.Y.Z' % (text,))
    return tuple(int(part) for part in match.groups())


def _version_added(data, where, found):
    if isinstance(data, dict):
        if 'version_added' in data and data.get('version_added_collection', 'portguard.ephemeral') == 'portguard.ephemeral':
            found.append((where, str(data['version_added'])))
        for key, value in data.items():
            _version_added(value, '%s %s' % (where, key), found)
    elif isinstance(data, list):
        for value in data:
            _version_added(value, where, found)


def shipped_docs(name, text):
    """The YAML documents of a shipped file: DOCUMENTATION/RETURN of a plugin, a spec, a filter's docs."""
    # Imported here: read-sysctl runs on the target's Python, which may lack PyYAML.
    import yaml  # pylint: disable=import-outside-toplevel
    if name.endswith('.py'):
        docs = []
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and \
                    any(getattr(target, 'id', None) in ('DOCUMENTATION', 'RETURN') for target in node.targets):
                docs.append(yaml.safe_load(node.value.value))
        return docs
    return [yaml.safe_load(text)]


def cmd_versions(args):
    import yaml  # pylint: disable=import-outside-toplevel
    with tarfile.open(args.tarball, 'r:gz') as tar:
        version = json.load(tar.extractfile('MANIFEST.json'))['collection_info']['version']
        changes = yaml.safe_load(tar.extractfile('changelogs/changelog.yaml'))
        changelog = tar.extractfile('CHANGELOG.md').read().decode('utf-8')
        found = []
        for member in tar.getmembers():
            if member.isfile() and (member.name.startswith('plugins/') and member.name.endswith(('.py', '.yml'))
                                    or member.name.endswith('meta/argument_specs.yml')):
                for doc in shipped_docs(member.name, tar.extractfile(member).read().decode('utf-8')):
                    _version_added(doc, member.name, found)
    ours = version_tuple(version)
    releases = sorted((changes.get('releases') or {}), key=version_tuple)
    newest = releases[-1] if releases else None
    problems = []
    if newest is not None and ours < version_tuple(newest):
        problems.append('galaxy.yml version %s is older than the newest release %s in changelogs/changelog.yaml'
                        % (version, newest))
    headings = re.findall(r'^## v(\S+)$', changelog.replace('\\', ''), re.M)
    if newest is not None and (not headings or headings[0] != newest):
        problems.append('CHANGELOG.md starts with %s, not the newest release %s of changelogs/changelog.yaml '
                        '(run antsibull-changelog generate)' % (headings[0] if headings else 'no release', newest))
    problems.extend('%s: version_added %s is newer than galaxy.yml version %s' % (where, added, version)
                    for where, added in found if version_tuple(added) > ours)
    if problems:
        raise CheckFailed('versions disagree:\n  ' + '\n  '.join(problems))
    state = 'released' if version == newest else 'pending (newest release %s)' % newest
    print('versions: OK (galaxy.yml %s, %s; %d version_added, none newer)' % (version, state, len(found)))


# ---- execution environment ------------------------------------------------------------------------------

def cmd_ee(args):
    import yaml  # pylint: disable=import-outside-toplevel
    definition = os.path.join(args.collection, 'meta', 'execution-environment.yml')
    context = os.path.join(args.workdir, 'context')
    with open(definition) as handle:
        spec = yaml.safe_load(handle)
    argv = [os.path.join(os.path.dirname(sys.executable), 'ansible-builder'), 'create', '-f', definition,
            '-c', context, '--output-filename', 'Containerfile']
    print('$ ' + ' '.join(argv))
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    print(proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr)
    if proc.returncode != 0:
        raise CheckFailed('ansible-builder create failed (rc=%d): %s' % (proc.returncode, proc.stderr[-2000:]))
    problems = []
    with open(os.path.join(context, 'Containerfile')) as handle:
        containerfile = handle.read()
    base = spec['images']['base_image']['name']
    for needed in ('ARG EE_BASE_IMAGE="%s"' % base, 'ansible-galaxy collection install',
                   '-r requirements.yml', 'introspect.py introspect'):
        if needed not in containerfile:
            problems.append('Containerfile: no %r' % needed)
    with open(os.path.join(context, '_build', 'requirements.yml')) as handle:
        wanted = [entry.get('name') for entry in yaml.safe_load(handle).get('collections', [])]
    if 'portguard.ephemeral' not in wanted:
        problems.append('_build/requirements.yml installs %s, not portguard.ephemeral' % wanted)
    # What the builder does with the collection once it is installed in the image: its introspect script
    # reads meta/execution-environment.yml's python/system files, relative to the collection root.
    collections_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(args.collection))))
    introspect = [sys.executable, os.path.join(context, '_build', 'scripts', 'introspect.py'), 'introspect',
                  collections_root]
    proc = subprocess.run(introspect, capture_output=True, text=True, check=False)
    print('introspect: %s' % ' '.join(proc.stdout.split()))
    if proc.returncode != 0:
        problems.append('the builder\'s introspect script fails on the installed collection: %s' % proc.stderr[-1500:])
    if problems:
        raise CheckFailed('the execution environment context is not right:\n  ' + '\n  '.join(problems))
    print('execution environment: OK (context %s; base %s; installs portguard.ephemeral)' % (context, base))


# ---- collection list ------------------------------------------------------------------------------------

def cmd_collection_list(args):
    data = json.load(sys.stdin)
    want = os.path.realpath(os.path.join(args.dir, 'ansible_collections'))
    found = sorted(path for path, colls in data.items() if args.fqcn in colls)
    if found != [path for path in found if os.path.realpath(path) == want] or not found:
        raise CheckFailed('%s must be found only under %s; ansible-galaxy sees it in: %s'
                          % (args.fqcn, want, ', '.join(found) or 'nowhere'))
    version = data[found[0]][args.fqcn]['version']
    print('the only %s on the collections path is %s in %s' % (args.fqcn, version, found[0]))


# ---- ansible-doc ----------------------------------------------------------------------------------------

def ansible_doc(argv):
    proc = subprocess.run(['ansible-doc'] + argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def noise_free(stderr):
    """stderr lines that are warnings or errors (ansible-doc reports a missing plugin as a warning, rc 0)."""
    return [line for line in stderr.splitlines() if line.strip() and not line.startswith('[DEPRECATION WARNING]')]


def tree_plugins(coll_dir, fqcn):
    """{(type, fqcn.name)} found by looking at the installed files."""
    found = set()
    plugins = os.path.join(coll_dir, 'plugins')
    # Let Python import the installed copy as ansible_collections.* (for filter and test plugins,
    # whose names are only known from the FilterModule/TestModule class).
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder
    finder = _AnsibleCollectionFinder(paths=[os.path.dirname(os.path.dirname(os.path.dirname(coll_dir)))],
                                      scan_sys_paths=False)
    finder._install()
    for sub in sorted(os.listdir(plugins)) if os.path.isdir(plugins) else []:
        if sub not in PLUGIN_DIRS:
            raise CheckFailed('plugins/%s: unknown plugin directory (teach scripts/release_check.py its type)' % sub)
        ptype = PLUGIN_DIRS[sub]
        if ptype is None:
            continue
        for root, _dirs, files in os.walk(os.path.join(plugins, sub)):
            rel = os.path.relpath(root, os.path.join(plugins, sub))
            prefix = '' if rel == '.' else rel.replace(os.sep, '.') + '.'
            for name in sorted(files):
                if not name.endswith('.py') or name == '__init__.py':
                    continue
                base = name[:-3]
                if ptype in ('filter', 'test'):
                    modname = 'ansible_collections.%s.plugins.%s.%s%s' % (fqcn, sub, prefix, base)
                    try:
                        module = importlib.import_module(modname)
                    except Exception as exc:  # report any import failure as a finding
                        raise CheckFailed('plugins/%s/%s: cannot be imported: %r' % (sub, name, exc))
                    cls = getattr(module, 'FilterModule' if ptype == 'filter' else 'TestModule', None)
                    if cls is None:
                        raise CheckFailed('plugins/%s/%s: no %s class' % (sub, name, 'FilterModule' if ptype == 'filter'
                                                                          else 'TestModule'))
                    table = cls().filters() if ptype == 'filter' else cls().tests()
                    for plugin in table:
                        found.add((ptype, '%s.%s' % (fqcn, plugin)))
                else:
                    found.add((ptype, '%s.%s%s' % (fqcn, prefix, base)))
    roles = os.path.join(coll_dir, 'roles')
    for role in sorted(os.listdir(roles)) if os.path.isdir(roles) else []:
        if os.path.isdir(os.path.join(roles, role)):
            found.add(('role', '%s.%s' % (fqcn, role)))
    return found


def docs_listed(fqcn, types, problems):
    """{(type, fqcn.name)} that ansible-doc -t TYPE -l lists; UNDOCUMENTED ones are problems."""
    from_doc = set()
    for ptype in types:
        rc, out, err = ansible_doc(['-t', ptype, '-l', '--json', fqcn])
        if rc != 0:
            problems.append('ansible-doc -t %s -l %s failed (rc %d): %s' % (ptype, fqcn, rc, err.strip()))
            continue
        for name, short in json.loads(out).items():
            from_doc.add((ptype, name))
            if short in ('UNDOCUMENTED', '', None):
                problems.append('%s %s: listed as UNDOCUMENTED' % (ptype, name))
    return from_doc


def metadata_dump(fqcn, problems):
    """One --metadata-dump of the whole collection (what antsibull-docs and the docs site use): every
    plugin's and role's documentation as JSON, with the file it came from; {type: {name: entry}}."""
    rc, out, err = ansible_doc(['--metadata-dump', fqcn])
    if rc != 0:
        problems.append('ansible-doc --metadata-dump %s failed (rc %d): %s' % (fqcn, rc, err.strip()))
        return {}
    for line in noise_free(err):
        # "[WARNING]: filter ns.coll.name Missing documentation ..." -> filed under that plugin.
        match = re.match(r'\[(?:WARNING|ERROR)\]: (\w+) (%s\.\S+) (.*)' % re.escape(fqcn), line)
        if match:
            problems.append('%s %s: ansible-doc --metadata-dump: %s' % match.groups())
        else:
            problems.append('ansible-doc --metadata-dump: %s' % line)
    return json.loads(out)['all']


def check_dumped(ptype, names, docs, coll_dir, problems):
    """Each name has documentation in the dump, read from the installed copy (roles: a main entry point)."""
    coll_real = os.path.realpath(coll_dir) + os.sep
    for name in names:
        entry = docs.get(name)
        if not entry:
            # Ask for this one alone, to show ansible-doc's own error.
            rc1, out1, err1 = ansible_doc(['-t', ptype, '--json', name])
            detail = err1.strip() or ('rc %d, %s' % (rc1, 'empty' if not json.loads(out1 or '{}') else 'has docs'))
            problems.append('%s %s: no documentation in ansible-doc --metadata-dump (%s)' % (ptype, name, detail))
            continue
        if ptype == 'role':
            origin = entry.get('path', '')
            if not entry.get('entry_points', {}).get('main'):
                problems.append('role %s: no main entry point in meta/argument_specs.yml' % name)
        else:
            origin = (entry.get('doc') or {}).get('filename', '')
        if not (os.path.realpath(origin) + os.sep).startswith(coll_real):
            problems.append('%s %s: documented from %s, not from the installed copy %s'
                            % (ptype, name, origin, coll_dir))


def check_rendered(ptype, names, problems):
    """ansible-doc renders the text, as a user reads it, of every name given."""
    if not names:
        return
    rc, out, err = ansible_doc(['-t', ptype] + names)
    if rc != 0:
        problems.append('ansible-doc -t %s %s failed (rc %d): %s' % (ptype, ' '.join(names), rc, err.strip()))
    for line in noise_free(err):
        problems.append('ansible-doc -t %s: %s' % (ptype, line))
    missing = [name for name in names if name not in out]
    for name in missing:
        problems.append('%s %s: not in the rendered text' % (ptype, name))
    if rc == 0 and not missing:
        print('rendered %-7s %s (%d lines of text)' % (ptype, ', '.join(names), len(out.splitlines())))


def cmd_docs(args):
    fqcn = args.fqcn
    coll_dir = os.path.join(args.dir, 'ansible_collections', *fqcn.split('.'))
    if not os.path.isdir(coll_dir):
        raise CheckFailed('%s is not installed under %s' % (fqcn, args.dir))
    problems = Problems()

    from_tree = tree_plugins(coll_dir, fqcn)
    types = sorted(set(t for t, _n in from_tree) | set(r.split(':', 1)[0] for r in args.require))
    from_doc = docs_listed(fqcn, types, problems)
    everything = from_tree | from_doc
    for ptype, name in sorted(from_tree - from_doc):
        problems.append('%s %s: in the installed files but not listed by ansible-doc -t %s -l' % (ptype, name, ptype))
    for ptype, name in sorted(from_doc - from_tree):
        problems.append('%s %s: listed by ansible-doc but not found in the installed files' % (ptype, name))
    for req in args.require:
        ptype, short = req.split(':', 1)
        if (ptype, '%s.%s' % (fqcn, short)) not in everything:
            problems.append('%s %s.%s: REQUIRED, but the collection does not have it' % (ptype, fqcn, short))
            everything.add((ptype, '%s.%s' % (fqcn, short)))

    dump = metadata_dump(fqcn, problems)
    for ptype in sorted(set(t for t, _n in everything)):
        names = sorted(n for t, n in everything if t == ptype)
        docs = dict((name, entry) for name, entry in dump.get(ptype, {}).items() if name in names)
        check_dumped(ptype, names, docs, coll_dir, problems)
        check_rendered(ptype, [name for name in names if docs.get(name)], problems)

    if problems:
        raise CheckFailed('ansible-doc:\n' + problems.render())
    print('ansible-doc: OK, %d items from %s' % (len(everything), coll_dir))


# ---- sysctl reads and host snapshot ----------------------------------------------------------------------

def read_key(key):
    fd = os.open('/proc/sys/' + key.replace('.', '/'), os.O_RDONLY)
    try:
        # One read of 1 MiB: the kernel returns the whole value on the first read and EOF after it.
        return os.read(fd, 1 << 20).decode()
    finally:
        os.close(fd)


def cmd_read_sysctl(_args):
    ino = os.stat('/proc/self/ns/net').st_ino
    print(json.dumps({'netns_inode': ino, RESERVED_KEY: read_key(RESERVED_KEY), RANGE_KEY: read_key(RANGE_KEY)},
                     sort_keys=True))


def cmd_snapshot(_args):
    snap = {}
    for base in ('/etc/sysctl.d', '/run/sysctl.d', '/usr/local/lib/sysctl.d', '/usr/lib/sysctl.d',
                 '/lib/sysctl.d', '/etc/sysctl.conf'):
        paths = [base] if not os.path.isdir(base) else [os.path.join(base, n) for n in sorted(os.listdir(base))]
        for path in paths:
            if os.path.islink(path):
                snap[path] = 'link -> ' + os.readlink(path)
            elif os.path.isfile(path):
                with open(path, 'rb') as handle:
                    snap[path] = hashlib.sha256(handle.read()).hexdigest()
            elif os.path.exists(path):
                snap[path] = 'other'
    print(json.dumps(snap, sort_keys=True, indent=1))


# ---- galaxy-importer -------------------------------------------------------------------------------------

def cmd_importer(args):
    with open(args.log) as handle:
        lines = handle.read().splitlines()
    errors = [line for line in lines if line.startswith(('ERROR', 'CRITICAL')) or 'Traceback (most recent' in line]
    warnings = [line for line in lines if line.startswith('WARNING')]
    done = any('Importer processing completed successfully' in line for line in lines)
    print('galaxy-importer: %d error(s), %d warning(s)' % (len(errors), len(warnings)))
    for line in warnings:
        print('  ' + line)
    if errors or not done:
        raise CheckFailed('galaxy-importer did not accept the tarball:\n  ' + '\n  '.join(
            errors or ['no "Importer processing completed successfully" line']))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest='command')
    sub.required = True
    p = sub.add_parser('tarball')
    p.add_argument('tarball')
    p.add_argument('--repo')
    p.add_argument('--require', action='append', help='a path that must be in the tarball')
    p.set_defaults(func=cmd_tarball)
    p = sub.add_parser('collection-list')
    p.add_argument('fqcn')
    p.add_argument('dir')
    p.set_defaults(func=cmd_collection_list)
    p = sub.add_parser('docs')
    p.add_argument('fqcn')
    p.add_argument('dir')
    p.add_argument('--require', action='append', default=[], help='TYPE:NAME that must exist and render')
    p.set_defaults(func=cmd_docs)
    # Subcommands that take positional arguments only.
    for name, func, positional in (('read-sysctl', cmd_read_sysctl, ()), ('snapshot', cmd_snapshot, ()),
                                   ('importer', cmd_importer, ('log',)), ('ee', cmd_ee, ('collection', 'workdir')),
                                   ('links', cmd_links, ('tarball',)), ('versions', cmd_versions, ('tarball',))):
        p = sub.add_parser(name)
        for argument in positional:
            p.add_argument(argument)
        p.set_defaults(func=func)
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except CheckFailed as exc:
        sys.stdout.flush()
        print('FAILED: %s' % exc)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
