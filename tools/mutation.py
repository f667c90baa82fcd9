#!/usr/bin/env python3
# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""Mutation score of a driver module against its own mirror tests.

Used by ``tox -e mutation -- MODULE [MODULE ...]``. For each module
(``subset``, ``cmd/check``: a file under ``nova_dpm/``; ``storage``: a
package, every file of it), cosmic-ray changes the module one small edit
at a time and runs the
module's mirror test file (``nova_dpm/tests/unit/test_<name>.py``, or the
files given with ``--tests``) against each change, stopping at the first
failure. A change the tests notice is *caught*; one they let pass
*survives*.

The edits are the ones a slip of the hand makes (``OPERATORS``): a
condition negated, a comparison, ``in`` or and/or turned round, a number
or True/False changed, ``+``/``-`` swapped, a loop that never runs, an
``except`` that no longer matches, ``return X`` made ``return None`` and
a call statement dropped (log calls aside).

Survivors judged equivalent (no behaviour changes) or log-only are listed
in ``nova_dpm/tests/unit/mutation-equivalents.txt``, one line each::

    <module> | <operator> | <source line, stripped> | <reason>

They do not count. The score is caught / (mutants - listed equivalents).
Sessions are kept in ``.mutation/`` so an interrupted run resumes; use
``--fresh`` after changing the module. The report of each module is
written to ``.mutation/<module>.txt`` with every unlisted survivor and its
diff.
"""

import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.path.join(ROOT, '.mutation')
EQUIVALENTS = os.path.join(ROOT, 'nova_dpm', 'tests', 'unit',
                           'mutation-equivalents.txt')

_COMPARISONS = ('Eq_NotEq', 'NotEq_Eq', 'Lt_GtE', 'GtE_Lt', 'Gt_LtE',
                'LtE_Gt', 'Is_IsNot', 'IsNot_Is')
OPERATORS = (
    ['core/AddNot', 'core/ReplaceUnaryOperator_Delete_Not',
     'core/ReplaceAndWithOr', 'core/ReplaceOrWithAnd',
     'core/ReplaceTrueWithFalse', 'core/ReplaceFalseWithTrue',
     'core/NumberReplacer', 'core/ZeroIterationForLoop',
     'core/ExceptionReplacer', 'core/ReplaceBreakWithContinue',
     'core/ReplaceBinaryOperator_Add_Sub',
     'core/ReplaceBinaryOperator_Sub_Add',
     'core/ReplaceBinaryOperator_Mul_Div',
     'core/ReplaceBinaryOperator_Div_Mul',
     'nova_dpm/DropCall', 'nova_dpm/ReturnNone', 'nova_dpm/SwapIn']
    + ['core/ReplaceComparisonOperator_' + c for c in _COMPARISONS])


def module_file(name):
    """nova_dpm/NAME.py, or the package directory nova_dpm/NAME."""
    path = os.path.join('nova_dpm', name.replace('.', '/'))
    if os.path.isfile(os.path.join(ROOT, path + '.py')):
        return path + '.py'
    if os.path.isfile(os.path.join(ROOT, path, '__init__.py')):
        return path
    raise SystemExit('No module nova_dpm/%s.py or package nova_dpm/%s: '
                     'name one under nova_dpm/, for example "subset", '
                     '"storage" or "cmd/check".'
                     % ((name.replace('.', '/'),) * 2))


def module_sources(path):
    """The Python files of a module path (a file, or a package's)."""
    if path.endswith('.py'):
        return [path]
    found = []
    for folder, _dirs, files in sorted(os.walk(os.path.join(ROOT, path))):
        found.extend(os.path.relpath(os.path.join(folder, name), ROOT)
                     for name in sorted(files) if name.endswith('.py'))
    return found


def mirror_tests(name):
    """The test module named like the product module, as a dotted name."""
    head, _sep, tail = name.replace('.', '/').rpartition('/')
    parts = ['nova_dpm', 'tests', 'unit'] + ([head] if head else [])
    path = os.path.join(ROOT, *parts, 'test_%s.py' % tail)
    if not os.path.isfile(path):
        raise SystemExit('No mirror test file %s: give the tests with '
                         '--tests.' % os.path.relpath(path, ROOT))
    return '.'.join(parts + ['test_' + tail])


def test_command(tests):
    # -f: stop at the first failure; a caught mutant costs one failure.
    return [sys.executable, '-m', 'unittest', '-f', '-q'] + list(tests)


def load_equivalents(path=EQUIVALENTS):
    """{(module, operator, line): reason} from the equivalents file."""
    found = {}
    if not os.path.exists(path):
        return found
    with open(path) as f:
        for number, raw in enumerate(f, 1):
            line = raw.strip()
            if not line or line.startswith('#'):
                continue
            fields = [field.strip() for field in line.split(' | ')]
            if len(fields) != 4 or not all(fields):
                raise SystemExit('%s:%d: expected "module | operator | '
                                 'source line | reason"' % (path, number))
            found[tuple(fields[:3])] = fields[3]
    return found


def cosmic_ray(*args):
    exe = os.path.join(os.path.dirname(sys.executable), 'cosmic-ray')
    subprocess.run([exe, '--verbosity', 'ERROR'] + list(args), cwd=ROOT,
                   check=True)


def write_config(name, path, tests, timeout):
    config = os.path.join(WORK, name.replace('/', '.') + '.toml')
    command = ' '.join(test_command(tests))
    with open(config, 'w') as f:
        f.write('[cosmic-ray]\n'
                'module-path = %s\n'
                'timeout = %.1f\n'
                'excluded-modules = []\n'
                'test-command = %s\n\n'
                '[cosmic-ray.distributor]\n'
                'name = "local"\n'
                % (json.dumps(path), timeout, json.dumps(command)))
    return config


def baseline(tests):
    """Run the mirror tests once unchanged; they must pass."""
    started = time.monotonic()
    result = subprocess.run(test_command(tests), cwd=ROOT,
                            capture_output=True, text=True)
    took = time.monotonic() - started
    if result.returncode != 0:
        sys.stderr.write(result.stderr[-3000:])
        raise SystemExit('The tests fail on the unchanged module: fix '
                         'them first.')
    return took


def prepare(name, path, tests, fresh, sample):
    """Create (or reuse) the session; skip operators not in OPERATORS."""
    from cosmic_ray.work_db import use_db
    from cosmic_ray.work_db import WorkDB
    from cosmic_ray.work_item import WorkerOutcome
    from cosmic_ray.work_item import WorkResult

    db = os.path.join(WORK, name.replace('/', '.') + '.sqlite')
    if fresh and os.path.exists(db):
        os.remove(db)
    took = baseline(tests)
    print('%s: the mirror tests take %.1f s unchanged' % (name, took),
          flush=True)
    config = write_config(name, path, tests, max(60.0, 5 * took))
    if os.path.exists(db):
        return config, db
    cosmic_ray('init', config, db)
    skip = WorkResult(worker_outcome=WorkerOutcome.SKIPPED,
                      output='operator not in tools/mutation.py OPERATORS')
    with use_db(db, WorkDB.Mode.open) as work_db:
        items = sorted(work_db.pending_work_items, key=_position)
        chosen = [item for item in items
                  if item.mutations[0].operator_name in OPERATORS]
        keep = set(id(item) for item in chosen[::sample])
        dropped = [item.job_id for item in items if id(item) not in keep]
        work_db.set_multiple_results(dropped, skip)
    return config, db


def _position(item):
    mutation = item.mutations[0]
    return (tuple(mutation.start_pos), mutation.operator_name,
            mutation.occurrence)


def report(name, path, db, equivalents):
    """Counts, score and the unlisted survivors of one module."""
    from cosmic_ray.work_db import use_db
    from cosmic_ray.work_db import WorkDB
    from cosmic_ray.work_item import TestOutcome
    from cosmic_ray.work_item import WorkerOutcome

    sources = {}
    for source in module_sources(path):
        with open(os.path.join(ROOT, source)) as f:
            sources[os.path.normpath(source)] = f.read().splitlines()
    counts = dict(caught=0, survived=0, equivalent=0)
    survivors = []
    with use_db(db, WorkDB.Mode.open) as work_db:
        done = work_db.completed_work_items
        pending = len(work_db.pending_work_items)
    for item, result in sorted(done, key=lambda pair: _position(pair[0])):
        if result.worker_outcome == WorkerOutcome.SKIPPED:
            continue
        mutation = item.mutations[0]
        source = sources[os.path.normpath(
            os.path.relpath(os.path.join(ROOT, mutation.module_path), ROOT))]
        line = source[mutation.start_pos[0] - 1].strip()
        key = (name, mutation.operator_name, line)
        if result.test_outcome == TestOutcome.SURVIVED:
            if key in equivalents:
                counts['equivalent'] += 1
                continue
            counts['survived'] += 1
            survivors.append((mutation, line, result.diff or ''))
        else:
            counts['caught'] += 1
    counted = counts['caught'] + counts['survived']
    score = 100.0 * counts['caught'] / counted if counted else 0.0
    lines = ['%s: %d mutants, %d caught, %d survived, %d listed '
             'equivalent, %d not yet run; score %.1f%%'
             % (name, counted + counts['equivalent'], counts['caught'],
                counts['survived'], counts['equivalent'], pending, score)]
    for mutation, line, diff in survivors:
        lines.append('\nSURVIVED %s:%d %s\n  %s | %s | %s\n%s'
                     % (mutation.module_path, mutation.start_pos[0],
                        mutation.operator_name,
                        name, mutation.operator_name, line, diff.strip()))
    text = '\n'.join(lines) + '\n'
    with open(os.path.join(WORK, name.replace('/', '.') + '.txt'),
              'w') as f:
        f.write(text)
    return score, lines[0], text


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('modules', nargs='+', metavar='MODULE',
                        help='a module under nova_dpm/ (subset, storage, '
                             'cmd/check)')
    parser.add_argument('--tests', nargs='+', metavar='TEST',
                        help='dotted test modules to run instead of the '
                             'mirror test file (one MODULE only)')
    parser.add_argument('--sample', type=int, default=1, metavar='N',
                        help='run every Nth mutant only (a quick look)')
    parser.add_argument('--fresh', action='store_true',
                        help='start the session again (after the module '
                             'changed)')
    parser.add_argument('--report', action='store_true',
                        help='print the report of the kept sessions; run '
                             'nothing')
    parser.add_argument('--verbose', action='store_true',
                        help='print every unlisted survivor with its diff')
    parser.add_argument('--min-score', type=float, default=0.0,
                        metavar='PERCENT',
                        help='exit 1 when a module scores below this')
    args = parser.parse_args(argv)
    if args.tests and len(args.modules) != 1:
        parser.error('--tests goes with one MODULE')
    os.makedirs(WORK, exist_ok=True)
    equivalents = load_equivalents()
    summary, failed = [], False
    for name in args.modules:
        name = name.replace('.', '/')
        path = module_file(name)
        db = os.path.join(WORK, name.replace('/', '.') + '.sqlite')
        if not args.report:
            tests = args.tests or [mirror_tests(name)]
            config, db = prepare(name, path, tests, args.fresh, args.sample)
            cosmic_ray('exec', config, db)
        elif not os.path.exists(db):
            raise SystemExit('No kept session for %s: run it first.' % name)
        score, first, text = report(name, path, db, equivalents)
        print(text if args.verbose else first, flush=True)
        summary.append(first)
        failed = failed or score < args.min_score
    if len(summary) > 1:
        print('\n' + '\n'.join(summary))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
