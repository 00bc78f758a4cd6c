"""The checks of notebook 02 (chain rule): numeric_gradient and Value. The reference passes,
correct alternatives pass, realistic student mistakes fail with a message naming the mistake,
and the expressions the Value check grades have the derivatives that numerics give."""

from __future__ import annotations

import math

import numpy as np
import pytest
from checking import failure, not_implemented
from float32 import in_float32

import nnlib
from autograder import check
from autograder.exercises import chain_rule


@pytest.mark.parametrize("hidden", [False, True], ids=["visible", "hidden"])
@pytest.mark.parametrize("name", ["numeric_gradient", "Value"])
def test_reference_passes(name, hidden):
    check(name, getattr(nnlib, name), hidden=hidden)


# --- numeric_gradient: correct alternatives ---------------------------------------------------
def gradient_nditer(f, x, h=1e-5):
    grad = np.zeros_like(x, dtype=float)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    while not it.finished:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        plus = f(x)
        x[i] = old - h
        minus = f(x)
        x[i] = old
        grad[i] = (plus - minus) / (2 * h)
        it.iternext()
    return grad


def gradient_on_copies(f, x, h=1e-5):
    grad = np.zeros(x.shape)
    for i in range(x.size):
        step = np.zeros(x.size)
        step[i] = h
        step = step.reshape(x.shape)
        grad.flat[i] = (f(x + step) - f(x - step)) / (2 * h)
    return grad


@pytest.mark.parametrize("candidate", [gradient_nditer, gradient_on_copies])
def test_numeric_gradient_alternative_passes(candidate):
    check("numeric_gradient", candidate)
    check("numeric_gradient", candidate, hidden=True)


# --- numeric_gradient: mistakes ---------------------------------------------------------------
def gradient_forward(f, x, h=1e-5):
    grad = np.zeros(x.shape)
    fx = f(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        grad[i] = (f(x) - fx) / h
        x[i] = old
    return grad


def gradient_plus_minus(f, x, h=1e-5):
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        x[i] += h
        plus = f(x)
        x[i] -= 2 * h
        minus = f(x)
        x[i] += h
        grad[i] = (plus - minus) / (2 * h)
    return grad


def gradient_not_restored(f, x, h=1e-5):
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        plus = f(x)
        x[i] = old - h
        minus = f(x)
        grad[i] = (plus - minus) / (2 * h)
    return grad


def gradient_flat_view(f, x, h=1e-5):
    flat = x.reshape(-1)
    grad = np.zeros(flat.size)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        plus = f(x)
        flat[i] = old - h
        minus = f(x)
        flat[i] = old
        grad[i] = (plus - minus) / (2 * h)
    return grad.reshape(x.shape)


def gradient_fixed_step(f, x, h=1e-5):
    step = 1e-5
    return nnlib.numeric_gradient(f, x, step)


def gradient_over_h(f, x, h=1e-5):
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        plus = f(x)
        x[i] = old - h
        minus = f(x)
        x[i] = old
        grad[i] = (plus - minus) / h
    return grad


def gradient_flattened(f, x, h=1e-5):
    return nnlib.numeric_gradient(f, x, h).ravel()


GRADIENT_MISTAKES = [
    (gradient_forward, "forward difference"),
    (gradient_plus_minus, "does not give back exactly the same float"),
    (gradient_not_restored, "x was not restored"),
    (gradient_flat_view, "non-contiguous view"),
    (gradient_fixed_step, "ignored the argument h"),
    (gradient_over_h, "by 2h, not by h"),
    (gradient_flattened, "shaped like x"),
]


@pytest.mark.parametrize("candidate, hint", GRADIENT_MISTAKES,
                         ids=[m[0].__name__ for m in GRADIENT_MISTAKES])
def test_numeric_gradient_mistake(candidate, hint):
    message = failure("numeric_gradient", candidate)
    assert hint in message, message


def test_numeric_gradient_odd_results():
    assert "the gradient is None" in failure("numeric_gradient", lambda f, x, h=1e-5: None)
    assert "has type str" in failure("numeric_gradient", lambda f, x, h=1e-5: "grad")
    assert "not implemented yet" in failure("numeric_gradient", not_implemented)
    message = failure("numeric_gradient", lambda f, x, h=1e-5: np.full(x.shape, np.nan))
    assert "the gradient[0] is nan; expected a finite number" in message
    assert "np.exp overflowed" not in message


def test_numeric_gradient_reports_a_reshaped_call_of_f():
    def candidate(f, x, h=1e-5):
        f(x.reshape(1, -1))
        return np.zeros(x.shape)

    message = failure("numeric_gradient", candidate)
    assert "it raised ValueError: f was called with an array of shape (1, 5); it takes arrays " \
           "shaped like x, (5,) (in candidate, line" in message


# --- Value: a student's micrograd-style engine, and variations on it --------------------------
class BareScalar:
    """A micrograd-style Value without the reflected operators (numbers on the left)."""

    def __init__(self, data, _children=()):
        self.data = data
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = set(_children)

    def _lift(self, other):
        return other if isinstance(other, BareScalar) else type(self)(other)

    def __add__(self, other):
        other = self._lift(other)
        out = type(self)(self.data + other.data, (self, other))

        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = self._lift(other)
        out = type(self)(self.data * other.data, (self, other))

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __pow__(self, n):
        out = type(self)(self.data ** n, (self,))

        def _backward():
            self.grad += n * self.data ** (n - 1) * out.grad
        out._backward = _backward
        return out

    def tanh(self):
        t = math.tanh(self.data)
        out = type(self)(t, (self,))

        def _backward():
            self.grad += (1 - t ** 2) * out.grad
        out._backward = _backward
        return out

    def exp(self):
        out = type(self)(math.exp(self.data), (self,))

        def _backward():
            self.grad += out.data * out.grad
        out._backward = _backward
        return out

    def relu(self):
        out = type(self)(self.data if self.data > 0 else 0.0, (self,))

        def _backward():
            self.grad += (out.data > 0) * out.grad
        out._backward = _backward
        return out

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)

    def __truediv__(self, other):
        return self * other ** -1

    def _order(self):
        order, visited, stack = [], set(), [(self, False)]
        while stack:
            node, done = stack.pop()
            if done:
                order.append(node)
            elif node not in visited:
                visited.add(node)
                stack.append((node, True))
                stack.extend((child, False) for child in node._prev)
        return order

    def backward(self):
        order = self._order()
        for node in order:
            node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):
            node._backward()


class Scalar(BareScalar):
    """A correct micrograd-style Value: closures for the local backward, iterative DFS."""

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __rsub__(self, other):
        return other + (-self)

    def __rtruediv__(self, other):
        return self._lift(other) * self ** -1


class KahnValue:
    """A correct alternative: parents and local derivatives stored, Kahn's algorithm."""

    def __init__(self, data, parents=()):
        self.data, self.grad, self.parents = float(data), 0.0, parents  # ((node, local), ...)

    def lift(self, v):
        return v if isinstance(v, KahnValue) else type(self)(v)

    def __add__(self, o):
        o = self.lift(o)
        return type(self)(self.data + o.data, ((self, 1.0), (o, 1.0)))

    __radd__ = __add__

    def __mul__(self, o):
        o = self.lift(o)
        return type(self)(self.data * o.data, ((self, o.data), (o, self.data)))

    __rmul__ = __mul__

    def __neg__(self):
        return type(self)(-self.data, ((self, -1.0),))

    def __sub__(self, o):
        o = self.lift(o)
        return type(self)(self.data - o.data, ((self, 1.0), (o, -1.0)))

    def __rsub__(self, o):
        return self.lift(o) - self

    def __truediv__(self, o):
        o = self.lift(o)
        return type(self)(self.data / o.data, ((self, 1 / o.data), (o, -self.data / o.data**2)))

    def __rtruediv__(self, o):
        return self.lift(o) / self

    def __pow__(self, n):
        return type(self)(self.data ** n, ((self, n * self.data ** (n - 1)),))

    def tanh(self):
        t = math.tanh(self.data)
        return type(self)(t, ((self, 1 - t * t),))

    def exp(self):
        e = math.exp(self.data)
        return type(self)(e, ((self, e),))

    def relu(self):
        return type(self)(max(self.data, 0.0), ((self, float(self.data > 0)),))

    def nodes(self):
        """Every node this one depends on, itself included, by id."""
        seen, todo = {id(self): self}, [self]
        while todo:
            for parent, _ in todo.pop().parents:
                if id(parent) not in seen:
                    seen[id(parent)] = parent
                    todo.append(parent)
        return seen

    def backward(self):
        nodes = self.nodes()
        users = dict.fromkeys(nodes, 0)
        for node in nodes.values():
            node.grad = 0.0
            for parent, _ in node.parents:
                users[id(parent)] += 1
        self.grad, ready = 1.0, [self]
        while ready:
            node = ready.pop()
            for parent, local in node.parents:
                parent.grad += local * node.grad
                users[id(parent)] -= 1
                if users[id(parent)] == 0:
                    ready.append(parent)


@pytest.mark.parametrize("candidate", [Scalar, KahnValue])
def test_value_alternative_passes(candidate):
    check("Value", candidate)
    check("Value", candidate, hidden=True)


class AssignGrads(Scalar):
    def __mul__(self, other):
        other = self._lift(other)
        out = type(self)(self.data * other.data, (self, other))

        def _backward():
            self.grad = other.data * out.grad
            other.grad = self.data * out.grad
        out._backward = _backward
        return out


class AssignEverywhere(Scalar):
    """`=` instead of `+=` in every operation: the first expression to show it shares x among
    three terms, and no listed variant of it matches."""

    def __add__(self, other):
        other = self._lift(other)
        out = type(self)(self.data + other.data, (self, other))

        def _backward():
            self.grad = out.grad
            other.grad = out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = self._lift(other)
        out = type(self)(self.data * other.data, (self, other))

        def _backward():
            self.grad = other.data * out.grad
            other.grad = self.data * out.grad
        out._backward = _backward
        return out

    def __pow__(self, n):
        out = type(self)(self.data ** n, (self,))

        def _backward():
            self.grad = n * self.data ** (n - 1) * out.grad
        out._backward = _backward
        return out


class NoReset(Scalar):
    def backward(self):
        self.grad = 1.0
        for node in reversed(self._order()):
            node._backward()


class RecursiveTopo(Scalar):
    def backward(self):
        topo, visited = [], set()

        def build(v):
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    build(child)
                topo.append(v)
        build(self)
        for v in topo:
            v.grad = 0.0
        self.grad = 1.0
        for v in reversed(topo):
            v._backward()


class ReluAtZero(Scalar):
    def relu(self):
        out = type(self)(max(self.data, 0.0), (self,))

        def _backward():
            self.grad += (self.data >= 0) * out.grad
        out._backward = _backward
        return out


class NaiveRecursion(Scalar):
    def backward(self):
        self.grad = 1.0
        self._propagate()

    def _propagate(self):
        self._backward()
        for child in self._prev:
            child._propagate()


class TanhNoSquare(Scalar):
    def tanh(self):
        t = math.tanh(self.data)
        out = type(self)(t, (self,))

        def _backward():
            self.grad += (1 - t) * out.grad
        out._backward = _backward
        return out


class TanhForgetsOutGrad(Scalar):
    def tanh(self):
        t = math.tanh(self.data)
        out = type(self)(t, (self,))

        def _backward():
            self.grad += 1 - t ** 2
        out._backward = _backward
        return out


class RsubLikeSub(Scalar):
    def __rsub__(self, other):
        return self - other


class NoWrap(Scalar):
    def _lift(self, other):
        return other


class NoSeed(Scalar):
    def backward(self):
        for node in reversed(self._order()):
            node._backward()


class ExpTimesX(Scalar):
    def exp(self):
        out = type(self)(math.exp(self.data), (self,))

        def _backward():
            self.grad += self.data * out.grad
        out._backward = _backward
        return out


class DataIsValue(Scalar):
    def __add__(self, other):
        out = super().__add__(other)
        out.data = type(self)(out.data)
        return out


VALUE_MISTAKES = [
    (AssignGrads, "`+=`, not `=`"),
    (AssignEverywhere, "In v = x + x, your x.grad is 1 instead of 2"),
    (NoReset, "reset every node's grad to 0"),
    (RecursiveTopo, "explicit stack"),
    (ReluAtZero, "not `x >= 0`"),
    (NaiveRecursion, "ran more than once"),
    (TanhNoSquare, "1 - tanh(x)**2 (squared)"),
    (TanhForgetsOutGrad, "multiply each local derivative by out.grad"),
    (RsubLikeSub, "__rsub__(self, other) must compute other - self"),
    (BareScalar, "define __radd__, __rsub__, __rmul__ and __rtruediv__"),
    (NoWrap, "wrap plain numbers first"),
    (NoSeed, "self.grad = 1"),
    (ExpTimesX, "exp(x) itself"),
    (DataIsValue, "`.data` must hold a plain number"),
]


@pytest.mark.parametrize("candidate, hint", VALUE_MISTAKES,
                         ids=[m[0].__name__ for m in VALUE_MISTAKES])
def test_value_mistake(candidate, hint):
    message = failure("Value", candidate)
    assert hint in message, message
    assert "could not be checked" not in message


def test_value_exponential_backward_times_out():
    class EveryPath(KahnValue):
        """Right values, but it pushes the gradient along every path: 2**40 of them here."""

        def backward(self):
            for node in self.nodes().values():
                node.grad = 0.0
            stack = [(self, 1.0)]
            while stack:
                node, upstream = stack.pop()
                node.grad += upstream
                stack.extend((parent, local * upstream) for parent, local in node.parents)

    message = failure("Value", EveryPath)
    assert "case 23/23" in message and "did not finish in time" in message
    assert "2**40 paths" in message


def test_value_odd_classes():
    class AddGivesFloat(Scalar):
        def __add__(self, other):
            return self.data + self._lift(other).data

    assert "x + y gave a float, not a Value" in failure("Value", AddGivesFloat)
    assert "unsupported operand type(s) for +: 'NoneType'" in failure("Value", lambda d: None)

    class Empty:
        def __init__(self, data):
            pass

    message = failure("Value", Empty)
    assert "it raised TypeError: unsupported operand type(s) for +" in message

    class RaisesInBackward(Scalar):
        def backward(self):
            raise NotImplementedError()

    assert "not implemented yet" in failure("Value", RaisesInBackward)

    class NoGrad(Scalar):
        def __init__(self, data, _children=()):
            super().__init__(data, _children)
            del self.grad

        def backward(self):
            pass

    assert "v.grad does not exist" in failure("Value", NoGrad)
    assert "expected your class `Value`, got 3" in failure("Value", 3)


# --- the checker's own accuracy ---------------------------------------------------------------
EXPRESSIONS = (chain_rule._VISIBLE + chain_rule._hidden_expressions()
               + [chain_rule._TWICE, chain_rule._WIDE])
SMOOTH = [e for e in EXPRESSIONS if not ("relu" in e.text and 0.0 in e.values)]
"""relu has no derivative at 0 (the contract fixes it to 0): no numeric check there."""


@pytest.mark.parametrize("expr", SMOOTH, ids=[e.label() for e in SMOOTH])
def test_reference_grads_match_numeric_derivatives(expr):
    """The reference the check compares with agrees with central differences in float64."""
    def value_at(point):
        return expr.build(*[nnlib.Value(float(v)) for v in point]).data

    reference = chain_rule._play(nnlib.Value, expr.build, expr.values)
    numeric = nnlib.numeric_gradient(value_at, np.array(expr.values, dtype=float), h=1e-6)
    assert np.allclose(reference.rounds[0][1:], numeric, rtol=1e-5, atol=1e-6)


def test_wrong_variants_differ_from_the_right_answer():
    """A known mistake must not coincide with the right answer, or its hint would be wrong."""
    for expr in EXPRESSIONS:
        grads = chain_rule._play(nnlib.Value, expr.build, expr.values).rounds[0][1:]
        for hint, wrong in expr.wrong_grads(*expr.values):
            assert not np.allclose(grads, wrong), (expr.text, hint)


def test_numeric_gradient_cases_show_a_forward_difference():
    """Every case's forward difference is far enough from the reference to fail the check."""
    for c in chain_rule._grad_cases(hidden=True):
        x = c.view(c.base.copy())
        h = 1e-5 if c.h is None else c.h
        right = nnlib.numeric_gradient(c.f, x, h)
        forward = chain_rule._differences(c.f, x, h, "forward")
        assert not np.allclose(forward, right, rtol=1e-6, atol=1e-8), c.case.label


# --- float32 ------------------------------------------------------------------------------------
@pytest.mark.parametrize("hidden", [False, True], ids=["visible", "hidden"])
def test_numeric_gradient_returning_float32_passes(hidden):
    """x itself must be stepped in place (and restored), so only the result is float32."""
    check("numeric_gradient", in_float32(nnlib.numeric_gradient, cast_inputs=False),
          hidden=hidden)
