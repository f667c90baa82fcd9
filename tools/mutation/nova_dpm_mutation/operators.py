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

"""Two mutations cosmic-ray's core set lacks.

- ``DropCall``: a call made for its effect (a statement that is only a
  call, such as ``job.delete()``) becomes ``pass``. Calls on the module
  logger (``LOG.*``) are left alone: dropping a log line changes no
  behaviour a test should hold.
- ``ReturnNone``: ``return <expression>`` becomes ``return None``.
- ``SwapIn``: ``in`` becomes ``not in`` and ``not in`` becomes ``in``.
"""

import parso
from parso.python import tree

from cosmic_ray.operators.operator import Example
from cosmic_ray.operators.operator import Operator

LOGGERS = ('LOG', 'logging')


def _is_effect_call(node):
    if node.type != 'atom_expr' or node.parent.type != 'simple_stmt':
        return False
    last = node.children[-1]
    if last.type != 'trailer' or last.children[0].value != '(':
        return False
    first = node.children[0]
    return not (isinstance(first, tree.Name) and first.value in LOGGERS)


class DropCall(Operator):
    """A call statement replaced by ``pass``."""

    def mutation_positions(self, node):
        if _is_effect_call(node):
            yield (node.start_pos, node.end_pos)

    def mutate(self, node, index):
        assert index == 0
        prefix = node.get_first_leaf().prefix
        return parso.parse(prefix + 'pass')

    @classmethod
    def examples(cls):
        return (Example('job.delete()\n', 'pass\n'),
                Example('LOG.info("x")\nf(1)\n', 'LOG.info("x")\npass\n'))


class ReturnNone(Operator):
    """``return <expression>`` replaced by ``return None``."""

    def mutation_positions(self, node):
        if node.type == 'return_stmt' and len(node.children) == 2:
            value = node.children[1]
            if not (value.type == 'keyword' and value.value == 'None'):
                yield (value.start_pos, value.end_pos)

    def mutate(self, node, index):
        assert index == 0
        node.children[1] = parso.parse(' None')
        return node

    @classmethod
    def examples(cls):
        return (Example('def f():\n    return x + 1\n',
                        'def f():\n    return None\n'),)


class SwapIn(Operator):
    """A membership test turned round: ``in`` <-> ``not in``."""

    def mutation_positions(self, node):
        if node.type == 'comparison':
            for op in node.children[1::2]:
                if _membership(op) is not None:
                    yield (op.start_pos, op.end_pos)

    def mutate(self, node, index):
        ops = [(i, op) for i, op in enumerate(node.children)
               if i % 2 and _membership(op) is not None]
        position, op = ops[index]
        prefix = op.get_first_leaf().prefix
        word = 'in' if _membership(op) == 'not in' else 'not in'
        node.children[position] = tree.Keyword(word, op.start_pos, prefix)
        return node

    @classmethod
    def examples(cls):
        return (Example('a in b', 'a not in b'),
                Example('a not in b', 'a in b'))


def _membership(op):
    code = op.get_code(include_prefix=False)
    if code == 'in':
        return 'in'
    if op.type == 'comp_op' and code.split() == ['not', 'in']:
        return 'not in'
    return None


_OPERATORS = {'DropCall': DropCall, 'ReturnNone': ReturnNone,
              'SwapIn': SwapIn}


class OperatorProvider:
    """The ``nova_dpm/*`` operators for cosmic-ray's plugin registry."""

    def __iter__(self):
        return iter(_OPERATORS)

    def __getitem__(self, name):
        return _OPERATORS[name]
