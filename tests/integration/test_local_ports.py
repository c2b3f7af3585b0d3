# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""portguard.ephemeral.local_ports through ansible-playbook, against the real kernel.

Every run happens inside a Lab (a private network namespace with a private
sysctl.d tree bind-mounted over the real one), except the netns test, which
runs ansible-playbook from the machine's mount namespace inside a throw-away
network namespace and lets the module enter the Lab's namespace.

Several module executions share one playbook run where the steps do not need
the test to look at the kernel in between (playbooks/local_ports_steps.yml):
a later step is a later, separate execution of the module.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import stat
import subprocess
import sys
import tempfile

import pytest

import nslab
import sysctl_oracle
from modrun import FILE, RES_LINE, file_line, file_text, sysctl_files

if nslab.COLLECTIONS not in sys.path:
    sys.path.insert(0, nslab.COLLECTIONS)

from ansible_collections.portguard.ephemeral.plugins.module_utils import _ports  # noqa: E402

PLAYBOOKS = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'playbooks')
ONE = os.path.join(PLAYBOOKS, 'local_ports.yml')
STEPS = os.path.join(PLAYBOOKS, 'local_ports_steps.yml')
HEADER = '# Managed by portguard.ephemeral.local_ports\n'
RANGE_LINE = 'net.ipv4.ip_local_port_range = '


# ----------------------------------------------------------------------------- helpers

def apply_once(lab, args, check=False, diff=False, expect_rc=0, extra_args=()):
    """One execution of the module (playbooks/local_ports.yml); returns its result."""
    run = lab.playbook(ONE, {'lp': args}, check=check, diff=diff, expect_rc=expect_rc, args=extra_args)
    return run.result('Apply')


def step_results(run):
    """The task "Apply each step" of playbooks/local_ports_steps.yml, each item with its "failed" flag.

    ansible-core 2.21 leaves the items' "failed" out of what callbacks see; the
    playbook records the flags in a task of their own.
    """
    result = run.result('Apply each step')
    for item, failed in zip(result['results'], run.result('Record which steps failed')['msg']):
        if failed:
            item['failed'] = True
    return result


def apply_steps(lab, *steps):
    """Several executions in one playbook run; returns (item results, task warnings)."""
    steps = [step if 'args' in step else {'args': step} for step in steps]
    run = lab.playbook(STEPS, {'steps': steps}, expect_rc=0)
    result = step_results(run)
    assert len(result['results']) == len(steps), run
    return result['results'], result.get('warnings', [])


def state(lab):
    """Live values and every file of the lab's sysctl tree (not ansible's own files)."""
    snap = lab.snapshot()
    snap['files'] = sysctl_files(lab)
    return snap


def assert_unchanged(result):
    assert result['changed'] is False and result['live_changed'] is False and result['file_changed'] is False, result


# ----------------------------------------------------------------------------- idempotence, file

def test_changed_then_unchanged_and_kernel_rewritten_string(lab):
    results, _warnings = apply_steps(
        lab,
        {'reserved': [8081, 8080]},
        {'reserved': [8081, 8080]},
        # The kernel reads "8081,8080" back as "8080-8081": the same set, not a change.
        {'reserved': '8081,8080'},
        {'reserved': [8080, '8081-8081', 8080]},
    )
    first = results[0]
    assert first['changed'] and first['live_changed'] and first['file_changed']
    assert (first['reserved']['before']['canonical'], first['reserved']['after']['canonical']) == ('', '8080-8081')
    assert first['added']['canonical'] == '8080-8081' and first['owned']['canonical'] == '8080-8081'
    for again in results[1:]:
        assert_unchanged(again)
        assert (again['reserved']['before']['canonical'], again['reserved']['after']['canonical']) == ('8080-8081', '8080-8081')
        assert again['added']['canonical'] == '' and again['released']['canonical'] == ''
    assert lab.reserved() == '8080-8081\n'
    assert file_line(lab, RES_LINE) == '8080-8081'


def test_range_applied_read_back_and_persisted_0644_with_header(lab):
    results, warnings = apply_steps(
        lab,
        {'range': '40000 50001'},
        {'range': [40000, 50001]},
        {'range': '40000\t50001\n'},
    )
    assert results[0]['changed'] and results[0]['live_changed'] and results[0]['file_changed']
    assert results[0]['range'] == {'before': [32768, 60999], 'after': [40000, 50001]}
    assert results[0]['ephemeral_ports'] == {'before': 28232, 'after': 10002}
    for again in results[1:]:
        assert_unchanged(again)
    assert not [w for w in warnings if 'parity' in w]
    assert lab.read_sysctl(nslab.RANGE) == '40000\t50001\n'
    assert lab.reserved() == '\n'
    full = lab.file(FILE)
    assert stat.S_IMODE(os.stat(full).st_mode) == 0o644
    text = file_text(lab)
    assert text.startswith(HEADER)
    assert file_line(lab, RANGE_LINE) == '40000 50001'
    # Only the key that was given is persisted.
    assert RES_LINE not in text


# ----------------------------------------------------------------------------- check mode, diff

def test_diff_and_check_mode_writes_nothing(lab):
    first = apply_once(lab, {'reserved': [8080]}, diff=True)
    live_diff, file_diff = first['diff']
    assert live_diff['before'] == ('net.ipv4.ip_local_port_range = 32768 60999\n'
                                   'net.ipv4.ip_local_reserved_ports = \n')
    assert live_diff['after'] == ('net.ipv4.ip_local_port_range = 32768 60999\n'
                                  'net.ipv4.ip_local_reserved_ports = 8080\n'
                                  '# owner unnamed: 8080\n')
    assert lab.link in live_diff['before_header']
    assert file_diff['before_header'] == FILE and file_diff['before'] == ''
    assert file_diff['after'] == file_text(lab)

    before = state(lab)
    old_file = file_text(lab)
    result = apply_once(lab, {'reserved': [8080, 9000], 'range': '40000 50001'}, check=True, diff=True)
    # Reports what would change...
    assert result['changed'] and result['live_changed'] and result['file_changed']
    assert (result['reserved']['before']['canonical'], result['reserved']['after']['canonical']) == ('8080', '8080,9000')
    assert result['range'] == {'before': [32768, 60999], 'after': [40000, 50001]}
    assert result['added']['canonical'] == '9000'
    live_diff, file_diff = result['diff']
    assert live_diff['before'].endswith('= 32768 60999\nnet.ipv4.ip_local_reserved_ports = 8080\n'
                                        '# owner unnamed: 8080\n')
    assert live_diff['after'] == ('net.ipv4.ip_local_port_range = 40000 50001\n'
                                  'net.ipv4.ip_local_reserved_ports = 8080,9000\n'
                                  '# owner unnamed: 8080,9000\n')
    assert file_diff['before'] == old_file
    assert RES_LINE + '8080,9000\n' in file_diff['after']
    assert RANGE_LINE + '40000 50001\n' in file_diff['after']
    # ...and writes nothing: live values and every file byte-identical.
    assert state(lab) == before


# ----------------------------------------------------------------------------- merge, exact

def test_merge_keeps_foreign_releases_removed_exact_drops_foreign(lab):
    """One named owner next to a foreign port an admin reserved live (sysctl -w)."""
    lab.write_sysctl(nslab.RESERVED, '5000\n')
    results, _warnings = apply_steps(lab, {'owner': 'app', 'reserved': [8080, 8081]},
                                     {'owner': 'app', 'reserved': [8081, 8080]})
    assert (results[0]['reserved']['before']['canonical'], results[0]['reserved']['after']['canonical']) == ('5000', '5000,8080-8081')
    assert results[0]['foreign']['canonical'] == '5000' and results[0]['owned']['canonical'] == '8080-8081'
    assert results[0]['owners'] == {'app': {'canonical': '8080-8081', 'ranges': ['8080-8081'], 'count': 2}}
    assert_unchanged(results[1])
    assert lab.reserved() == '5000,8080-8081\n'
    assert '#   app: 8080-8081\n' in file_text(lab)
    # The admin's live-only port stays reserved live and is not made boot-persistent by our file.
    assert file_line(lab, RES_LINE) == '8080-8081'

    # The next run (a fresh process; ownership comes from the file) releases 8081, keeps 5000.
    result = apply_once(lab, {'owner': 'app', 'reserved': [8080]})
    assert result['changed'] and result['released']['canonical'] == '8081' and result['foreign']['canonical'] == '5000'
    assert lab.reserved() == '5000,8080\n'
    assert file_line(lab, RES_LINE) == '8080'

    results, _warnings = apply_steps(lab, {'owner': 'app', 'reserved': [8080], 'mode': 'exact'},
                                     {'owner': 'app', 'reserved': [8080], 'mode': 'exact'})
    assert results[0]['changed'] and results[0]['released']['canonical'] == '5000' and results[0]['foreign']['canonical'] == ''
    assert_unchanged(results[1])
    assert lab.reserved() == '8080\n'
    assert file_line(lab, RES_LINE) == '8080'


# ----------------------------------------------------------------------------- worst case

def test_worst_case_list_applied_exactly_and_persisted_whole(lab):
    every_other = list(range(1025, 65536, 2))
    # 190 KB of extra vars: too long for one argv string, so through a file.  First as
    # a list of 32256 ints, then the same set as one kernel-syntax string (unchanged).
    steps = [{'args': {'reserved': every_other}}, {'args': {'reserved': ','.join('%d' % p for p in every_other)}}]
    vars_file = lab.put('worst.json', json.dumps({'steps': steps}))
    run = lab.playbook(STEPS, args=('-e', '@' + vars_file), expect_rc=0)
    result = step_results(run)
    first, second = result['results']
    assert first['changed'] and first['live_changed'] and first['file_changed']
    assert_unchanged(second)
    assert any('over 4095' in warning for warning in result['warnings']), result['warnings']

    live = lab.reserved()
    assert live == _ports.format_ports(every_other) + '\n' and len(live) > 180000
    assert _ports.parse_kernel_readback(live) == frozenset(every_other)
    persisted = file_line(lab, RES_LINE)
    assert len(persisted) > 4095
    assert _ports.parse_kernel_string(persisted) == frozenset(every_other)


# ----------------------------------------------------------------------------- overrides

def test_on_override_warn_applies_and_warns(lab):
    lab.put('etc/sysctl.d/zzz-other.conf', '# someone else\nnet.ipv4.ip_local_reserved_ports = 7000\n')
    run = lab.playbook(ONE, {'lp': {'reserved': [8080], 'on_override': 'warn'}}, expect_rc=0)
    result = run.result('Apply')
    assert result['changed'] and result['live_changed'] and result['file_changed']
    assert any('/etc/sysctl.d/zzz-other.conf line 2' in warning for warning in result['warnings']), result
    assert result['boot']['net.ipv4.ip_local_reserved_ports']['file'] == '/etc/sysctl.d/zzz-other.conf'
    # The ports the other file declares are kept too (merge), live and in our file.
    assert lab.reserved() == '7000,8080\n'
    assert file_line(lab, RES_LINE) == '7000,8080'
    assert file_text(lab, '/etc/sysctl.d/zzz-other.conf').endswith('= 7000\n')


def sysctl_system_in_lab(lab, check=True):
    """Run the real procps ``sysctl --system`` in the lab; only when its tree sets per-namespace keys alone."""
    problems = sysctl_oracle.guard(lab.root)
    if problems:
        raise nslab.NamespaceError('refusing sysctl --system on a tree with other keys: %s' % problems)
    return lab.run(['sysctl', '--system'], check=check)


def test_sysctl_conf_line_fails_because_sysctl_system_applies_it_last(lab):
    # Issue 11 #13, Debian 12's default layout: 99-sysctl.conf -> ../sysctl.conf sorts before our file,
    # so systemd-sysctl lets ours win at boot, but sysctl --system applies /etc/sysctl.conf again, last.
    lab.put('etc/sysctl.conf', '# admin\nnet.ipv4.ip_local_reserved_ports = 7000\n')
    os.symlink('../sysctl.conf', lab.file('etc/sysctl.d/99-sysctl.conf'))
    before = state(lab)
    result = apply_once(lab, {'reserved': [8080]}, expect_rc=2)
    assert result['failed'] and not result.get('changed')
    assert ('/etc/sysctl.conf line 2 sets net.ipv4.ip_local_reserved_ports = 7000' in result['msg']
            and 'sysctl --system' in result['msg']), result['msg']
    assert state(lab) == before

    result = apply_once(lab, {'reserved': [8080], 'on_override': 'warn'})
    assert result['boot']['net.ipv4.ip_local_reserved_ports']['file'] == FILE
    assert any('/etc/sysctl.conf line 2' in w and 'sysctl --system' in w for w in result['warnings']), result
    assert lab.reserved() == '7000,8080\n'    # merge keeps the ports the other file declares
    # What the warning is about, with the real program: the admin's line replaces our set.
    sysctl_system_in_lab(lab)
    assert lab.reserved() == '7000\n'


def test_sysctl_conf_line_with_a_refused_value_is_not_an_override(lab):
    # procps writes every line; the kernel refuses the quoted value and ours stays.
    lab.put('etc/sysctl.conf', 'net.ipv4.ip_local_reserved_ports = "7000"\n')
    os.symlink('../sysctl.conf', lab.file('etc/sysctl.d/99-sysctl.conf'))
    result = apply_once(lab, {'reserved': [8080]})
    assert result['changed'] and lab.reserved() == '8080\n'
    proc = sysctl_system_in_lab(lab, check=False)
    assert proc.returncode != 0 and 'ip_local_reserved_ports' in proc.stderr     # the refused write
    assert lab.reserved() == '8080\n'


# ----------------------------------------------------------------------------- refused input

FAILING = [
    # (id, module options, strings the message must contain)
    ('port-0', {'reserved': [0]}, ['reserved: 0 ', 'port 0']),
    ('octal-010', {'reserved': '010'}, ["reserved: '010' ", 'octal']),
    ('hex-0x10', {'reserved': '0x10'}, ["reserved: '0x10' ", 'hexadecimal']),
    ('port-65536', {'reserved': [65536]}, ['reserved: 65536 ', 'outside 1-65535']),
    ('port-minus-1', {'reserved': [-1]}, ['reserved: -1 ', 'outside 1-65535']),
    ('reversed-8090-8080', {'reserved': ['8090-8080']}, ["reserved: '8090-8080' ", 'reversed']),
    ('string-with-space', {'reserved': '80 81'}, ["reserved: '80 81' ", 'white space']),
    ('boolean', {'reserved': True}, ['reserved: True ', 'boolean']),
    ('range-below-unprivileged-start', {'range': '1000 2000'},
     ["range: '1000 2000' ", 'ip_unprivileged_port_start (1024)']),
    ('range-reversed', {'range': '50001 40000'}, ["range: '50001 40000' ", 'reversed']),
    ('range-single-number', {'range': '40000'}, ["range: '40000' ", 'not two numbers']),
    ('range-abc', {'range': 'abc'}, ["range: 'abc' ", 'not two numbers']),
    ('min-ephemeral-exceeded', {'reserved': ['32768-55000']},
     ['only 5999 ports would remain', 'min_ephemeral=8192']),
    ('exact-without-reserved', {'mode': 'exact', 'range': '40000 50001'}, ['mode: exact needs reserved']),
    ('netns-with-persist', {'reserved': [8080], 'netns': '/run/netns/pg-any', 'persist': True},
     ['netns: /run/netns/pg-any is live only', 'persist: false']),
    ('unmanaged-file-at-path', {'reserved': [8080], 'path': '/etc/sysctl.d/zz-unmanaged.conf'},
     ['path: /etc/sysctl.d/zz-unmanaged.conf exists and was not written by this module', 'never overwritten']),
    ('later-sorting-file-overrides', {'reserved': [8080, 9000]},
     ['/etc/sysctl.d/zzz-other.conf line 2 sets net.ipv4.ip_local_reserved_ports = 7000', FILE]),
    ('sysctl-conf-via-99-link-overrides', {'range': '40000 50001', 'path': '/etc/sysctl.d/50-portguard.conf'},
     ['/etc/sysctl.d/99-sysctl.conf (a link to /etc/sysctl.conf) line 3 sets net.ipv4.ip_local_port_range = 20000 30001',
      '/etc/sysctl.d/50-portguard.conf']),
    # Not bad input: the live write succeeds, then the file cannot be written (its
    # directory is a file); both keys must be restored.
    ('path-climbs-out', {'reserved': [8080], 'path': '/run/sysctl.d/../pg-escape/zz-pg.conf', 'on_override': 'warn'},
     ["path: '/run/sysctl.d/../pg-escape/zz-pg.conf' climbs with"]),
    ('path-outside-the-sysctl-directories', {'reserved': [8080], 'path': '/tmp/zz-pg.conf', 'on_override': 'warn'},
     ["path: '/tmp/zz-pg.conf' is not a *.conf file directly inside"]),
    ('path-with-a-newline', {'reserved': [8080], 'path': '/etc/sysctl.d/zz\nx.conf', 'on_override': 'warn'},
     ['holds a control character']),
    ('path-is-a-directory', {'reserved': [8080, 9000], 'path': '/etc/sysctl.d/zz-adir.conf', 'on_override': 'warn'},
     ['path: /etc/sysctl.d/zz-adir.conf is a directory, not a file']),
    ('owner-with-a-slash', {'reserved': [8080], 'owner': 'team/app'}, ["owner: 'team/app' has characters unfit"]),
    ('owner-empty', {'reserved': [8080], 'owner': ''}, ["owner: '' is empty"]),
    ('absent-without-ports', {'owner': 'app', 'state': 'absent', 'range': '40000 50001'},
     ['state: absent needs reserved']),
]


@pytest.fixture(scope='module')
def failing_run():
    """One lab: a managed file, a foreign reservation, override files; then every FAILING case."""
    with nslab.Lab() as lab:
        lab.write_sysctl(nslab.RESERVED, '5000\n')
        apply_once(lab, {'reserved': [8080]})
        lab.put('etc/sysctl.d/zzz-other.conf', '# someone else\nnet.ipv4.ip_local_reserved_ports = 7000\n')
        lab.put('etc/sysctl.conf', '# lab /etc/sysctl.conf\n\nnet.ipv4.ip_local_port_range = 20000 30001\n')
        os.symlink('../sysctl.conf', lab.file('etc/sysctl.d/99-sysctl.conf'))
        lab.put('etc/sysctl.d/zz-unmanaged.conf', '# my own file\nvm.swappiness = 10\n')
        os.makedirs(lab.file('etc/sysctl.d/zz-adir.conf'))
        before = state(lab)
        assert before['reserved'] == '5000,8080\n'
        run = lab.playbook(STEPS, {'steps': [{'args': case[1]} for case in FAILING]}, expect_rc=0)
        after = state(lab)
        results = step_results(run)['results']
        assert len(results) == len(FAILING)
        yield dict((case[0], result) for case, result in zip(FAILING, results)), before, after


@pytest.mark.parametrize('args, words', [case[1:] for case in FAILING], ids=[case[0] for case in FAILING])
def test_refused_with_value_and_option_and_nothing_changed(failing_run, request, args, words):
    results, before, after = failing_run
    result = results[request.node.callspec.id]
    assert result.get('failed') is True, result
    assert not result.get('changed')
    for word in words:
        assert word in result['msg'], result['msg']
    # Nothing changed: live values and every file byte-identical (checked after all cases).
    assert after == before


# ----------------------------------------------------------------------------- netns

def _host_values():
    """The machine's own values (read only)."""
    values = []
    for path in (nslab.RANGE, nslab.RESERVED):
        fd = os.open(path, os.O_RDONLY)
        try:
            values.append(os.read(fd, 1 << 20))
        finally:
            os.close(fd)
    return values


def _playbook_from_host(lab, extra_vars):
    """ansible-playbook in the machine's mount namespace, in a throw-away network namespace.

    The module must enter the lab's namespace itself (netns option); if it did
    not, its writes would land in the throw-away namespace, never the machine's.
    """
    home = tempfile.mkdtemp(prefix='portguard-netns-')
    guard = ('me=$(readlink /proc/self/ns/net); echo "decoy netns: $me" >&2; [ "$me" != "$1" ] || '
             '{ echo "refusing: in the host network namespace" >&2; exit 97; }; shift; exec "$@"')
    argv = (['unshare', '--net', 'sh', '-c', guard, 'guard', nslab.host_ns_link()]
            + nslab.playbook_argv(ONE, ['localhost,'], extra_vars, local=True, python=nslab.TARGET_PYTHON))
    env = dict(os.environ, **nslab.ansible_env(home))
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600, check=False)
    finally:
        subprocess.run(['rm', '-rf', home], check=True)
    assert proc.returncode != 97, proc.stderr
    return nslab.PlaybookRun(proc), re.search(r'decoy netns: net:\[(\d+)\]', proc.stderr).group(1)


def test_netns_applies_live_from_host_mount_namespace(lab):
    host_before = _host_values()
    host_file_existed = os.path.exists(FILE)
    state_dir_existed = os.path.isdir('/run/portguard-ephemeral')
    # Live-only runs record the ports they own under /run, named after the namespace's cookie.
    state_before = set(os.listdir('/run/portguard-ephemeral')) if state_dir_existed else set()
    try:
        run, _decoy_inode = _playbook_from_host(lab, {'lp': {'reserved': [8444, 8443], 'range': '40000 50001',
                                                             'netns': lab.path, 'persist': False}})
        assert run.rc == 0, run
        result = run.result('Apply')
        assert result['changed'] and result['live_changed'] and not result['file_changed']
        assert result['persisted_file'] is None
        assert result['netns']['link'] == lab.link and result['netns']['path'] == lab.path
        assert (result['reserved']['before']['canonical'], result['reserved']['after']['canonical']) == ('', '8443-8444')
        # The values are in the lab's namespace...
        assert lab.reserved() == '8443-8444\n'
        assert lab.port_range() == (40000, 50001)
        # ...and nowhere else: the machine's values and sysctl.d are as they were.
        assert _host_values() == host_before
        assert os.path.exists(FILE) == host_file_existed
        cookie = result['netns']['cookie']
        assert cookie is not None
        assert os.path.exists('/run/portguard-ephemeral/owned-netns-%d' % cookie)
    finally:
        if os.path.isdir('/run/portguard-ephemeral'):
            for name in set(os.listdir('/run/portguard-ephemeral')) - state_before:
                os.unlink(os.path.join('/run/portguard-ephemeral', name))
        if not state_dir_existed and os.path.isdir('/run/portguard-ephemeral'):
            try:
                os.rmdir('/run/portguard-ephemeral')
            except OSError:
                pass  # another test's record is still there


# ----------------------------------------------------------------------------- restore on failure

APPLY_FAILS = r'''
import json, os, sys
collections, lab_link, host_link = sys.argv[1:4]
me = os.readlink('/proc/self/ns/net')
if me == host_link or me != lab_link:
    sys.exit(97)
sys.path.insert(0, collections)
from ansible_collections.portguard.ephemeral.plugins.module_utils import _kernel as _sysctl

out = {}
before = _sysctl.read_live()
# 1. The second key's write fails in the kernel (65536 is EINVAL) after the range was written.
try:
    _sysctl.apply(before, _sysctl.LiveState((40000, 50001), [8080, 65536]))
except _sysctl.SysctlError as exc:
    out['second_write'] = str(exc)
out['after_second_write'] = [_sysctl.read_key(_sysctl.RANGE_KEY), _sysctl.read_key(_sysctl.RESERVED_KEY)]

# 2. The verify step fails: a proc_sys whose range key is the kernel's, and whose reserved
#    key swallows writes and reads back empty.
fake = sys.argv[4]
os.makedirs(os.path.join(fake, 'net/ipv4'))
os.symlink('/proc/sys/net/ipv4/ip_local_port_range', os.path.join(fake, 'net/ipv4/ip_local_port_range'))
os.symlink('/dev/null', os.path.join(fake, 'net/ipv4/ip_local_reserved_ports'))
try:
    _sysctl.apply(before, _sysctl.LiveState((40000, 50001), [8080]), fake)
except _sysctl.SysctlError as exc:
    out['verify'] = str(exc)
out['after_verify'] = [_sysctl.read_key(_sysctl.RANGE_KEY), _sysctl.read_key(_sysctl.RESERVED_KEY)]
print(json.dumps(out))
'''


def test_failed_live_write_restores_both_keys(lab):
    lab.write_sysctl(nslab.RANGE, '30000 60001\n')
    lab.write_sysctl(nslab.RESERVED, '5000,6000-6002\n')
    before = [lab.read_sysctl(nslab.RANGE), lab.reserved()]
    assert before == ['30000\t60001\n', '5000,6000-6002\n']
    proc = lab.python(APPLY_FAILS, nslab.COLLECTIONS, lab.link, nslab.host_ns_link(),
                      os.path.join(lab.root, 'fake-proc-sys'))
    out = json.loads(proc.stdout)
    assert 'EINVAL' in out['second_write'] and 'Both keys were restored' in out['second_write'], out
    assert out['after_second_write'] == before
    assert 'verification failed' in out['verify'] and 'Both keys were restored' in out['verify'], out
    assert out['after_verify'] == before
    assert [lab.read_sysctl(nslab.RANGE), lab.reserved()] == before


def test_examine_reports_ports_in_the_same_call(lab):
    """examine judges the service ports against the values this run leaves, like local_ports_info."""
    lab.write_sysctl(nslab.RANGE, '40000 40009\n')
    with lab.hold_ephemeral_ports() as hold:
        assert hold.held == 10
        run = lab.playbook(ONE, {'lp': {'reserved': [40003], 'examine': [40003, 41000], 'min_ephemeral': 1}},
                           expect_rc=0)
        ports = dict((entry['port'], entry) for entry in run.result('Apply')['ports'])
    # The reservation is in place, but an outgoing connection still holds 40003: a restart fails now.
    assert ports[40003]['reserved_live'] is True and ports[40003]['reserved_boot'] is True
    assert ports[40003]['at_risk'] is True
    assert ports[40003]['reason'].startswith('held by an outgoing connection in ESTABLISHED')
    assert ports[40003]['holder_count'] == 1 and ports[40003]['listener_count'] == 0
    # 41000 is outside the live range, but no file sets the range, so after a reboot the kernel's
    # default 32768-60999 covers it: at risk, and the reason says why.
    assert ports[41000] == dict(ports[41000], in_range=False, reserved_live=False, in_range_boot=True,
                                reserved_boot=False, at_risk=True)
    assert ports[41000]['reason'].startswith('outside the ephemeral range now, but after a reboot')
    # Once the connections are gone the port binds, and the kernel will not hand it out again.
    assert lab.try_listen([40003]) == {40003: None}
    check = lab.playbook(ONE, {'lp': {'reserved': [40003], 'examine': '40003', 'min_ephemeral': 1}},
                         check=True, expect_rc=0).result('Apply')
    assert not check['changed']
    assert check['ports'][0]['at_risk'] is False and check['ports'][0]['reason'] == 'reserved'
