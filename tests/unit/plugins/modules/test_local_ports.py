# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run behind local_ports, against an in-memory kernel and a private sysctl tree.

The real kernel is exercised by tests/integration (network namespaces); here the
two sysctls are a dict behind read_key/write_key, so the logic between them
(validation, ownership across runs, boot-winner checks, restore on failure) is
checked quickly and without privileges.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.portguard.ephemeral.plugins.module_utils import _kernel as _sysctl
from ansible_collections.portguard.ephemeral.plugins.module_utils import _local_ports, _managed_file, _netns, _ports, _state_dir

RES = _sysctl.RESERVED_KEY
RNG = _sysctl.RANGE_KEY
PATH = _managed_file.DEFAULT_PATH


class FakeKernel(object):
    """The two keys as the kernel keeps them: a set and a pair, read back in canonical form."""

    def __init__(self, port_range=(32768, 60999), reserved=frozenset()):
        self.port_range = tuple(port_range)
        self.reserved = frozenset(reserved)
        self.writes = []

    def read_key(self, key, proc_sys=None):
        if key == RES:
            return _ports.format_ports(self.reserved) + '\n'
        if key == RNG:
            return _ports.format_range(self.port_range) + '\n'
        if key == _sysctl.UNPRIVILEGED_KEY:
            return '1024\n'
        raise _sysctl.SysctlError('no such key %s' % key)

    def write_key(self, key, value, proc_sys=None, add_only=False):
        self.writes.append((key, value))
        if key == RES:
            written = _ports.parse_kernel_string(value.rstrip('\n') + '\n')
            self.reserved = (self.reserved | written) if add_only else written
        elif key == RNG:
            low, high = (int(x) for x in value.split())
            if not 1024 <= low <= high <= 65535:
                raise _sysctl.SysctlError('EINVAL')
            self.port_range = (low, high)
        else:
            raise _sysctl.SysctlError('no such key %s' % key)


@pytest.fixture
def kernel(monkeypatch):
    fake = FakeKernel()
    monkeypatch.setattr(_sysctl, 'read_key', fake.read_key)
    monkeypatch.setattr(_sysctl, 'write_key', fake.write_key)
    return fake


@pytest.fixture
def root(tmp_path, monkeypatch):
    monkeypatch.setattr(_local_ports, 'RUN_STATE_DIR', str(tmp_path / 'run-state'))
    for directory in ('etc/sysctl.d', 'run/sysctl.d', 'usr/lib/sysctl.d'):
        (tmp_path / 'root' / directory).mkdir(parents=True)
    return str(tmp_path / 'root')


def run(root, check_mode=False, want_diff=False, **params):
    """One run as owner ``test`` (a named owner: its reserved list is its whole set), unless ``owner`` is given;
    owner=None runs without one."""
    params.setdefault('owner', 'test')
    return _local_ports.run(params, check_mode=check_mode, want_diff=want_diff, root=root)


def read(root, path=PATH):
    with open(os.path.join(root, path.lstrip('/'))) as handle:
        return handle.read()


def file_snapshot(root):
    snapshot = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            full = os.path.join(dirpath, name)
            with open(full) as handle:
                snapshot[full] = handle.read()
    return snapshot


# --------------------------------------------------------------------------- refused before anything is written

BAD_OPTIONS = [
    # (id, params, text the message starts with or contains)
    ('octal', {'reserved': ['010']}, "reserved: '010' has a leading zero"),
    ('space', {'reserved': '8080, 8081'}, "reserved: ' 8081' contains white space"),
    ('reversed', {'reserved': ['9000-8000']}, "reserved: '9000-8000' is a reversed range"),
    ('zero', {'reserved': [0]}, 'reserved: 0 contains port 0'),
    ('range-reversed', {'range': '60999 32768'}, "range: '60999 32768' is reversed"),
    ('range-privileged', {'range': [80, 60999]}, 'range: [80, 60999] starts below net.ipv4.ip_unprivileged_port_start'),
    ('range-one-number', {'range': '32768'}, "range: '32768' is not two numbers"),
    ('exact-without-reserved', {'range': '32768 60999', 'mode': 'exact'}, 'mode: exact needs reserved'),
    ('min-ports', {'reserved': [8080], 'min_ephemeral': 70000}, 'min_ephemeral: 70000 is outside 0-65535'),
    ('relative-path', {'reserved': [8080], 'path': 'ports.conf'}, "path: 'ports.conf' is not an absolute path"),
    ('nothing-to-do', {'reserved': [8080], 'live': False, 'persist': False}, 'live and persist are both false'),
    ('capacity', {'reserved': ['32768-60000']}, 'only 999 ports would remain'),
    ('empty-path', {'reserved': [8080], 'path': ''}, "path: '' is empty; omit path to use the default"),
    ('blank-path', {'reserved': [8080], 'path': ' '}, "path: ' ' is empty"),
    ('empty-netns', {'reserved': [8080], 'netns': ''}, "netns: '' is empty; omit netns"),
    ('relative-netns', {'reserved': [8080], 'netns': 'app1', 'persist': False}, "netns: 'app1' is not an absolute"),
    ('negative-lock-timeout', {'reserved': [8080], 'lock_timeout': -1}, 'lock_timeout: -1 is negative'),
]


@pytest.mark.parametrize('params, words', [c[1:] for c in BAD_OPTIONS], ids=[c[0] for c in BAD_OPTIONS])
def test_bad_options_fail_and_change_nothing(kernel, root, params, words):
    before = file_snapshot(root)
    with pytest.raises(_local_ports.TaskError) as info:
        run(root, **params)
    assert words in str(info.value)
    assert kernel.writes == []
    assert file_snapshot(root) == before


def test_foreign_file_at_path_is_never_overwritten(kernel, root):
    full = os.path.join(root, PATH.lstrip('/'))
    with open(full, 'w') as handle:
        handle.write('%s = 22\n' % RES)
    with pytest.raises(_local_ports.TaskError) as info:
        run(root, reserved=[8080])
    assert 'was not written by this module' in str(info.value)
    assert kernel.writes == []
    assert read(root) == '%s = 22\n' % RES


# --------------------------------------------------------------------------- runs

def test_first_run_applies_and_persists_then_rerun_is_unchanged(kernel, root):
    result = run(root, reserved=[8082, 8080, 8081, '9000-9001'], range='40000 50001')
    assert result['changed'] and result['live_changed'] and result['file_changed']
    assert kernel.reserved == frozenset([8080, 8081, 8082, 9000, 9001])
    assert kernel.port_range == (40000, 50001)
    assert (result['reserved']['before']['canonical'], result['reserved']['after']['canonical']) == ('', '8080-8082,9000-9001')
    assert result['range'] == {'before': [32768, 60999], 'after': [40000, 50001]}
    assert result['added']['canonical'] == '8080-8082,9000-9001'
    assert result['owned']['canonical'] == '8080-8082,9000-9001'
    assert result['ephemeral_ports'] == {'before': 28232, 'after': 10002}
    info = _managed_file.read(PATH, root)
    assert info.managed
    assert info.values == {RNG: '40000 50001', RES: '8080-8082,9000-9001'}
    assert result['boot'][RES] == {'file': PATH, 'line': 8, 'value': '8080-8082,9000-9001', 'after_boot': {
        'value': '8080-8082,9000-9001', 'file': PATH, 'line': 8, 'profile': None, 'applier': 'systemd-sysctl',
        'note': None}}
    assert [applier['name'] for applier in result['boot_appliers']] == ['systemd-sysctl']
    kernel.writes[:] = []
    again = run(root, reserved=['8080-8082', 9000, 9001], range=[40000, 50001])
    assert not again['changed']
    assert kernel.writes == []


def test_check_mode_reports_and_writes_nothing(kernel, root):
    result = run(root, check_mode=True, want_diff=True, reserved=[8080])
    assert result['changed']
    assert kernel.writes == []
    assert not os.path.exists(os.path.join(root, PATH.lstrip('/')))
    live_diff, file_diff = result['diff']
    assert live_diff['after'].endswith('%s = 8080\n# owner test: 8080\n' % RES)
    assert file_diff['before'] == ''
    assert '%s = 8080\n' % RES in file_diff['after']


def test_merge_keeps_foreign_and_releases_only_owned(kernel, root):
    kernel.reserved = frozenset([22, 5432])
    run(root, reserved=[8080, 9000])
    assert kernel.reserved == frozenset([22, 5432, 8080, 9000])
    result = run(root, reserved=[9000])
    assert kernel.reserved == frozenset([22, 5432, 9000])
    assert result['released']['canonical'] == '8080'
    assert result['foreign']['canonical'] == '22,5432'
    assert result['owned']['canonical'] == '9000'
    assert _managed_file.read(PATH, root).holdings.owned == frozenset([9000])


def test_port_asked_for_that_was_foreign_is_not_released(kernel, root):
    kernel.reserved = frozenset([8080])
    run(root, reserved=[8080, 9000])
    result = run(root, reserved=[])
    assert kernel.reserved == frozenset([8080])
    assert result['released']['canonical'] == '9000'


def test_exact_mode_drops_foreign(kernel, root):
    kernel.reserved = frozenset([22, 5432])
    result = run(root, reserved=[8080], mode='exact')
    assert kernel.reserved == frozenset([8080])
    assert result['released']['canonical'] == '22,5432'


def test_live_only_ownership_survives_in_run_state(kernel, root):
    kernel.reserved = frozenset([22])
    run(root, reserved=[8080], persist=False)
    assert not os.path.exists(os.path.join(root, PATH.lstrip('/')))
    result = run(root, reserved=[], persist=False)
    assert kernel.reserved == frozenset([22])
    assert result['released']['canonical'] == '8080'


def test_range_only_leaves_reservations_alone(kernel, root):
    kernel.reserved = frozenset([22])
    result = run(root, range='40000 50001')
    assert kernel.reserved == frozenset([22])
    assert kernel.port_range == (40000, 50001)
    assert _managed_file.read(PATH, root).values == {RNG: '40000 50001'}
    assert result['warnings'] == []


def test_long_list_round_trips(kernel, root):
    ports = list(range(1025, 65536, 2))
    result = run(root, reserved=ports, range='1024 65535', min_ephemeral=0)
    assert kernel.reserved == frozenset(ports)
    assert _ports.parse_kernel_string(_managed_file.read(PATH, root).values[RES]) == frozenset(ports)
    assert any('bytes long' in warning for warning in result['warnings'])
    assert not run(root, reserved=ports, range='1024 65535', min_ephemeral=0)['changed']


# --------------------------------------------------------------------------- boot winner

def test_later_file_overrides_fails_naming_file_and_line(kernel, root):
    with open(os.path.join(root, 'usr/lib/sysctl.d/zzz-vendor.conf'), 'w') as handle:
        handle.write('# vendor\n%s = 7000\n' % RES)
    before = file_snapshot(root)
    with pytest.raises(_local_ports.TaskError) as info:
        run(root, reserved=[8080])
    message = str(info.value)
    assert '/usr/lib/sysctl.d/zzz-vendor.conf line 2 sets %s = 7000' % RES in message
    assert 'nothing was changed' in message
    assert kernel.writes == []
    assert file_snapshot(root) == before


def test_later_file_overrides_warns_when_asked(kernel, root):
    with open(os.path.join(root, 'usr/lib/sysctl.d/zzz-vendor.conf'), 'w') as handle:
        handle.write('%s = 7000\n' % RES)
    result = run(root, reserved=[8080], on_override='warn')
    assert kernel.reserved == frozenset([7000, 8080])  # merge keeps what the vendor file declares
    assert result['foreign']['canonical'] == '7000'
    assert any('zzz-vendor.conf line 1' in warning for warning in result['warnings'])


def test_later_glob_does_not_override_our_explicit_key(kernel, root):
    with open(os.path.join(root, 'etc/sysctl.d/zzzz-glob.conf'), 'w') as handle:
        handle.write('net.ipv4.ip_local_reserved_* = 7000\n')
    result = run(root, reserved=[8080])
    assert result['boot'][RES]['file'] == PATH


@pytest.mark.parametrize('linked', [False, True], ids=['unlinked', 'linked-by-99-sysctl.conf'])
def test_sysctl_conf_line_fails_because_sysctl_system_applies_it_last(kernel, root, linked):
    # procps "sysctl --system" applies /etc/sysctl.conf after every sysctl.d file,
    # even when 99-sysctl.conf (sorting before zz-portguard-ephemeral.conf) links to it.
    with open(os.path.join(root, 'etc/sysctl.conf'), 'w') as handle:
        handle.write('# admin\n%s = 7000\n' % RES)
    if linked:
        os.symlink('../sysctl.conf', os.path.join(root, 'etc/sysctl.d/99-sysctl.conf'))
    with pytest.raises(_local_ports.TaskError) as exc:
        run(root, reserved=[8080])
    message = str(exc.value)
    assert '/etc/sysctl.conf line 2 sets %s = 7000' % RES in message and 'sysctl --system' in message
    assert message.count('/etc/sysctl.conf line 2') == 1
    assert kernel.writes == [] and not os.path.exists(os.path.join(root, PATH.lstrip('/')))

    result = run(root, reserved=[8080], on_override='warn')
    assert result['boot'][RES]['file'] == PATH      # systemd-sysctl at boot: ours wins
    assert any('/etc/sysctl.conf line 2' in w and 'sysctl --system' in w for w in result['warnings'])


def test_refused_sysctl_conf_line_leaves_ours(kernel, root):
    # procps writes every line; a value the kernel refuses leaves the one before it (ours).
    with open(os.path.join(root, 'etc/sysctl.conf'), 'w') as handle:
        handle.write('%s = "7000"\n' % RES)
    result = run(root, reserved=[8080])
    assert not any('sysctl --system' in w and 'line 1' in w for w in result['warnings'])


# --------------------------------------------------------------------------- failures restore

def test_file_write_failure_restores_live_values(kernel, root, monkeypatch):
    kernel.reserved = frozenset([22])

    def refuse(*_args, **_kwargs):
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(_managed_file, 'write_atomic', refuse)
    with pytest.raises(_local_ports.TaskError) as info:
        run(root, reserved=[8080], range='40000 50001')
    message = str(info.value)
    assert 'No space left on device' in message
    assert message.endswith('everything this run changed was undone: the live values were restored'), message
    assert kernel.reserved == frozenset([22])
    assert kernel.port_range == (32768, 60999)


def test_failed_verification_restores(kernel, root, monkeypatch):
    """A kernel that drops part of the value (as procps truncation would) is caught and undone."""
    original = kernel.write_key

    def truncating(key, value, proc_sys=None, **_kwargs):
        if key == RES and value.strip():
            value = value.split(',')[0]
        original(key, value, proc_sys)

    monkeypatch.setattr(_sysctl, 'write_key', truncating)
    kernel.reserved = frozenset([22])
    with pytest.raises(_local_ports.TaskError) as info:
        run(root, reserved=[8080, 9000])
    assert 'read-back verification failed' in str(info.value)
    assert kernel.reserved == frozenset([22])
    assert not os.path.exists(os.path.join(root, PATH.lstrip('/')))


# --------------------------------------------------------------------------- issue 11

def test_symlink_at_path_is_refused(kernel, root):
    os.symlink(os.path.join(root, 'nowhere/x.conf'), os.path.join(root, PATH.lstrip('/')))
    with pytest.raises(_local_ports.TaskError) as info:
        run(root, reserved=[8080])
    assert 'is a symbolic link' in str(info.value) and 'nothing was changed' in str(info.value)
    assert kernel.writes == [] and not os.path.exists(os.path.join(root, 'nowhere'))


def test_read_only_proc_sys_says_nothing_was_changed(kernel, root, monkeypatch):
    def refuse(key, value, proc_sys=None, **_kwargs):
        raise _sysctl.SysctlError(_sysctl._write_advice(key, '/proc/sys/x', OSError(30, 'Read-only file system')))

    monkeypatch.setattr(_sysctl, 'write_key', refuse)
    with pytest.raises(_local_ports.TaskError) as info:
        run(root, reserved=[8080], persist=False)
    assert 'Nothing was changed' in str(info.value) and 'RESTORE FAILED' not in str(info.value)


def test_record_failure_after_applying_undoes_file_and_live(kernel, root, monkeypatch):
    """A live-only owner that starts to persist leaves the record for the file: the record's write fails last."""
    kernel.reserved = frozenset([22])
    run(root, reserved=[7000], persist=False)
    run(root, reserved=[7000], owner='other')
    text = read(root)
    write = _state_dir.StateDir.write

    def full_disk(state, name, text):
        if name.startswith('owned-'):
            raise OSError(28, 'No space left on device')
        return write(state, name, text)

    monkeypatch.setattr(_state_dir.StateDir, 'write', full_disk)
    with pytest.raises(_local_ports.TaskError) as info:
        run(root, reserved=[8080])
    message = str(info.value)
    assert message.startswith('recording the owned ports in ')
    assert 'everything this run changed was undone: %s was put back, the live values were restored' % PATH in message
    assert kernel.reserved == frozenset([22, 7000]) and read(root) == text


def test_without_cookie_the_record_is_keyed_by_inode(kernel, root, monkeypatch):
    monkeypatch.setattr(_netns, 'cookie', lambda: None)
    first = run(root, reserved=[8080], persist=False)
    assert any('no network namespace cookie' in warning for warning in first['warnings'])
    names = os.listdir(_local_ports.RUN_STATE_DIR)
    assert names == ['owned-netns-ino%d-dev%d' % (first['netns']['inode'], first['netns']['dev'])]
    assert run(root, reserved=[], persist=False)['released']['canonical'] == '8080'


def test_path_change_moves_the_file(kernel, root):
    old = '/etc/sysctl.d/50-old.conf'
    run(root, reserved=[8080, 8081], range='40000 50001', path=old)
    result = run(root, want_diff=True, reserved=[8081])
    assert result['released']['canonical'] == '8080' and result['removed_files'] == [old]
    assert not os.path.exists(os.path.join(root, old.lstrip('/')))
    assert _managed_file.read(PATH, root).values == {RNG: '40000 50001', RES: '8081'}
    assert result['diff'][-1]['after_header'] == old + ' (removed)' and result['diff'][-1]['after'] == ''
    assert not run(root, reserved=[8081])['changed']


@pytest.mark.parametrize('rebooted', [False, True], ids=['admin-in-the-same-boot', 'after-a-reboot'])
def test_live_false_ports_are_pending_until_a_boot_applies_them(kernel, root, monkeypatch, rebooted):
    monkeypatch.setattr(_sysctl, 'boot_id', lambda: 'boot-1')
    result = run(root, reserved=[8080], live=False)
    assert result['owned']['canonical'] == '' and result['pending']['canonical'] == '8080'
    assert run(root, range='40000 50001', live=False)['pending']['canonical'] == '8080'  # a range-only run keeps it
    # 8080 becomes live: by an admin's hand in this boot, or by systemd-sysctl from our file at the next.
    kernel.reserved = frozenset([8080])
    if rebooted:
        monkeypatch.setattr(_sysctl, 'boot_id', lambda: 'boot-2')
    result = run(root, reserved=[])
    if rebooted:
        assert result['released']['canonical'] == '8080' and result['foreign']['canonical'] == ''
    else:
        assert result['released']['canonical'] == '' and result['foreign']['canonical'] == '8080'


def test_lock_timeout_names_the_holder(kernel, root):
    state = _state_dir.StateDir(_local_ports.RUN_STATE_DIR).open()
    identity = _netns.identity()
    holder = _state_dir.Lock(state, _state_dir.netns_lock_name(identity), {'task': 'the other run'}, 'x')
    holder.acquire(0)
    try:
        with pytest.raises(_local_ports.TaskError) as info:
            run(root, reserved=[8080], lock_timeout=0)
    finally:
        holder.release()
        state.close()
    assert 'held by pid %d' % os.getpid() in str(info.value) and 'task the other run' in str(info.value)
    assert kernel.writes == []
