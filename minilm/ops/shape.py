"""Ops that move numbers around without changing them: views, indexing, joins.

Their backward moves the gradient back to where each number came from:
reshape reshapes it back, a transpose applies the inverse permutation, an
index scatters it into zeros (adding where an index repeats), a join splits it.
Reshape and transpose return views in forward: no data is copied.
"""
from ..autograd import Function
from ..backend import xp_of


class Reshape(Function):
    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        self.in_shape = x.shape
        try:
            return x.reshape(self.shape)
        except ValueError:
            raise ValueError(f"cannot reshape a tensor of shape {x.shape} ({x.size} elements) "
                             f"into shape {self.shape}") from None

    def backward(self, gy):
        return gy.reshape(self.in_shape)


class Permute(Function):
    """y = x with axes reordered (a view); backward applies the inverse order."""

    def __init__(self, dims):
        self.dims = dims

    def forward(self, x):
        if sorted(d % max(x.ndim, 1) for d in self.dims) != list(range(x.ndim)):
            raise ValueError(f"permute: {self.dims} is not an ordering of the {x.ndim} axes of shape {x.shape}")
        return x.transpose(self.dims)

    def backward(self, gy):
        inverse = [0] * len(self.dims)
        for i, d in enumerate(self.dims):
            inverse[d % len(self.dims)] = i
        return gy.transpose(inverse)


class Transpose(Function):
    """Swap two axes (a view); it is its own inverse."""

    def __init__(self, dim0, dim1):
        self.dim0, self.dim1 = dim0, dim1

    def forward(self, x):
        return xp_of(x).swapaxes(x, self.dim0, self.dim1)

    def backward(self, gy):
        return xp_of(gy).swapaxes(gy, self.dim0, self.dim1)


class Expand(Function):
    """Broadcast x to a larger shape (a view); backward sums the copies."""

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        self.in_shape = x.shape
        return xp_of(x).broadcast_to(x, self.shape)

    def backward(self, gy):
        from .elementwise import sum_to_shape
        return sum_to_shape(gy, self.in_shape)


def _is_basic(index):
    """Slices, ints, None and Ellipsis select without repeats: plain assignment scatters them."""
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, slice)) or i is None or i is Ellipsis for i in items)


class GetItem(Function):
    """y = x[index];  backward scatters gy into zeros at the same positions.

    Integer-array indexing may pick one element several times (x[[0, 0]]), so
    that case adds with `xp.add.at`, which accumulates repeated positions.
    """

    def __init__(self, index):
        self.index = index

    def forward(self, x):
        self.shape, self.dtype = x.shape, x.dtype
        try:
            return x[self.index]
        except IndexError as e:
            raise IndexError(f"{e} (indexing a tensor of shape {x.shape})") from None

    def backward(self, gy):
        xp = xp_of(gy)
        gx = xp.zeros(self.shape, self.dtype)
        if _is_basic(self.index):
            gx[self.index] = gy
        else:
            xp.add.at(gx, self.index, gy)
        return gx


class Cat(Function):
    """Join tensors along an existing axis; backward slices the gradient apart."""

    def __init__(self, dim):
        self.dim = dim

    def forward(self, *xs):
        self.sizes = [x.shape[self.dim] for x in xs]
        try:
            return xp_of(xs[0]).concatenate(xs, axis=self.dim)
        except ValueError:
            raise ValueError(f"cat along dim {self.dim}: shapes {[x.shape for x in xs]} "
                             "differ outside that dim") from None

    def backward(self, gy):
        xp = xp_of(gy)
        cuts = list(_cumsum(self.sizes)[:-1])
        return tuple(xp.split(gy, cuts, axis=self.dim))


class Stack(Function):
    """Join tensors along a new axis; backward takes the slices back."""

    def __init__(self, dim):
        self.dim = dim

    def forward(self, *xs):
        if len({x.shape for x in xs}) > 1:
            raise ValueError(f"stack needs tensors of one shape, got {[x.shape for x in xs]}")
        return xp_of(xs[0]).stack(xs, axis=self.dim)

    def backward(self, gy):
        xp = xp_of(gy)
        return tuple(xp.take(gy, i, axis=self.dim) for i in range(gy.shape[self.dim]))


class Split(Function):
    """Cut x along an axis into pieces (views); backward concatenates their gradients."""

    def __init__(self, sizes, dim):
        self.sizes, self.dim = sizes, dim

    def forward(self, x):
        if sum(self.sizes) != x.shape[self.dim]:
            raise ValueError(f"split sizes {self.sizes} do not add up to {x.shape[self.dim]}, "
                             f"the size of dim {self.dim} of shape {x.shape}")
        cuts = list(_cumsum(self.sizes)[:-1])
        return tuple(xp_of(x).split(x, cuts, axis=self.dim))

    def backward(self, *gys):
        return xp_of(gys[0]).concatenate(gys, axis=self.dim)


class Where(Function):
    """y = a where cond else b;  the gradient goes to whichever input was picked."""

    def __init__(self, condition):
        self.condition = condition

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return xp_of(a).where(self.condition, a, b)

    def backward(self, gy):
        from .elementwise import sum_to_shape
        ga = sum_to_shape(gy * self.condition, self.shapes[0]) if self.needs_input_grad[0] else None
        gb = sum_to_shape(gy * ~self.condition, self.shapes[1]) if self.needs_input_grad[1] else None
        return ga, gb


class MaskedFill(Function):
    """y = value where mask else x (mask broadcasts to x);  dy/dx = 0 where filled, 1 elsewhere."""

    def __init__(self, mask, value):
        self.mask, self.value = mask, value

    def forward(self, x):
        try:
            return xp_of(x).where(self.mask, x.dtype.type(self.value), x)
        except ValueError:
            raise ValueError(f"masked_fill: mask of shape {self.mask.shape} does not broadcast "
                             f"to the tensor's shape {x.shape}") from None

    def backward(self, gy):
        return xp_of(gy).where(self.mask, gy.dtype.type(0), gy)


def _cumsum(sizes):
    total, out = 0, []
    for s in sizes:
        total += s
        out.append(total)
    return out
