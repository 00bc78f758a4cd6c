"""A scalar autodiff engine: each operation records its inputs and its local derivatives.

Following micrograd, every forward operation sits beside its local derivative. ``backward``
walks the graph in reverse topological order (iteratively, so 10,000-node chains work) and
applies the chain rule: each node adds ``local_derivative * out.grad`` to its inputs' grads.
"""

from __future__ import annotations

import math


def topological_order(root) -> list:
    """The nodes ``root`` depends on (itself last), each after all of its parents.

    Works on any node with a ``_parents`` tuple (nnlib's ``Value`` or a student's), iteratively
    (depth-first with an explicit stack), so a 10,000-node chain does not hit Python's
    recursion limit. Parents are visited in their order, so leaves come in order of first use.
    """
    order, visited, stack = [], set(), [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        stack.extend((parent, False) for parent in reversed(tuple(getattr(node, "_parents", ())))
                     if id(parent) not in visited)
    return order


class Value:
    """A scalar in a computational graph. ``.data`` holds the value, ``.grad`` d(output)/d(self)."""

    __slots__ = ("data", "grad", "_parents", "_local_grads", "_op")

    def __init__(self, data, _parents=(), _local_grads=(), _op=""):
        self.data = float(data)
        self.grad = 0.0
        self._parents = tuple(_parents)
        self._local_grads = tuple(_local_grads)  # d self / d parent, one per parent
        self._op = _op

    def __repr__(self):
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g})"

    @staticmethod
    def _lift(other):
        return other if isinstance(other, Value) else Value(other)

    # --- operations, each with its local derivative(s) -------------------------------------
    def __add__(self, other):
        other = Value._lift(other)
        return Value(self.data + other.data, (self, other), (1.0, 1.0), "+")

    def __mul__(self, other):
        other = Value._lift(other)
        return Value(self.data * other.data, (self, other), (other.data, self.data), "*")

    def __pow__(self, exponent):
        if isinstance(exponent, Value):
            raise TypeError("Value ** Value is not supported; the exponent must be a number")
        return Value(self.data**exponent, (self,),
                     (exponent * self.data ** (exponent - 1),), f"**{exponent}")

    def tanh(self):
        t = math.tanh(self.data)
        return Value(t, (self,), (1.0 - t * t,), "tanh")

    def exp(self):
        e = math.exp(self.data)
        return Value(e, (self,), (e,), "exp")

    def relu(self):
        return Value(max(self.data, 0.0), (self,), (1.0 if self.data > 0 else 0.0,), "relu")

    # --- operations built from the ones above -----------------------------------------------
    def __neg__(self):
        return self * -1.0

    def __sub__(self, other):
        return self + (-Value._lift(other))

    def __truediv__(self, other):
        return self * Value._lift(other) ** -1

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __rsub__(self, other):
        return Value._lift(other) - self

    def __rtruediv__(self, other):
        return Value._lift(other) / self

    # --- reverse-mode autodiff -----------------------------------------------------------------
    def _topological_order(self):
        """Nodes that ``self`` depends on, each after all of its parents."""
        return topological_order(self)

    def backward(self):
        """Set ``.grad`` of every node this one depends on to d self / d node (self.grad = 1)."""
        order = self._topological_order()
        for node in order:
            node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):
            for parent, local in zip(node._parents, node._local_grads):
                parent.grad += local * node.grad
